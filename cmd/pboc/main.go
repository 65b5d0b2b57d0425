// Command pboc runs PBOC electronic-cash transactions against the built-in
// simulated card (or a card profile file) and decodes card data.
//
//	pboc purchase --amount 12.34 [--contactless] [--card FILE [--save]] [--json [--trace]]
//	pboc balance  [--card FILE] [--json]
//	pboc log      [--card FILE] [--json]
//	pboc load     --amount 100 [--type designated|non-designated|cash] [--card FILE [--save]] [--json]
//	pboc capk     list|check [FILE]
//	pboc capk     import FILE [--out PATH] | export [--test-ca] [--binary] [--out PATH]
//	pboc params   show|import FILE [--out PATH] | export [--out PATH]
//	pboc decode   HEX
//	pboc serve-card [--profile FILE] [--addr 127.0.0.1:35963]
//	pboc journal  list|export|batch [--file PATH] [--data-key-file PATH]
//	pboc scenario run DIR|FILE...
//
// --reader NAME talks to a card in a PC/SC reader instead of the simulated
// card (serve-card makes the simulated card available to any PC/SC tool).
//
// Online steps (automatic top-up, loads, sales the card sends online) go to
// a simulated issuer host holding a back-office account for the card
// (--account, default 2000.00) with the cardholder PIN --pin (default
// 123456), entered on a simulated PIN pad; --offline runs without a host.
//
// Exit status: 0 when the command ran (a declined sale is still a result),
// 1 when the transaction was terminated or failed, 2 for bad input.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

// usageError is bad input: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage:
  pboc purchase --amount 12.34 [--contactless] [--card FILE [--save]] [--json [--trace]]
  pboc balance  [--card FILE] [--json]
  pboc log      [--card FILE] [--json]
  pboc load     --amount 100 [--type designated|non-designated|cash] [--card FILE [--save]] [--json]
  pboc capk     list|check [FILE]
  pboc capk     import FILE [--out PATH] | export [--test-ca] [--binary] [--out PATH]
  pboc params   show|import FILE [--out PATH] [--asi 00-exact|00-partial] [--allow-unknown]
  pboc params   export [--binary] [--out PATH]
  pboc decode   HEX
  pboc serve-card [--profile FILE] [--addr 127.0.0.1:35963] [--t1] [--trace]
  pboc journal  list|export|batch [--file PATH] [--data-key-file PATH] [--batch N]
  pboc scenario run DIR|FILE...
card flags: --reader NAME (a PC/SC reader instead of the simulated card; with --card
FILE the simulated issuer uses that profile's keys), --pin PIN (simulated PIN pad, default 123456), --account AMOUNT (simulated
issuer account, default 2000.00), --offline (no online host)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "purchase":
		err = cmdPurchase(ctx, args[1:], stdout, stderr)
	case "balance":
		err = cmdBalance(ctx, args[1:], stdout)
	case "log":
		err = cmdLog(ctx, args[1:], stdout)
	case "load":
		err = cmdLoad(ctx, args[1:], stdout, stderr)
	case "capk":
		err = cmdCAPK(args[1:], stdout)
	case "decode":
		err = cmdDecode(args[1:], stdout)
	case "serve-card":
		err = cmdServeCard(ctx, args[1:], stdout)
	case "journal":
		err = cmdJournal(ctx, args[1:], stdout)
	case "params":
		err = cmdParams(args[1:], stdout)
	case "scenario":
		err = cmdScenario(ctx, args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pboc: %s\n%s", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "pboc: %v\n", err)
		return 1
	}
}

// cardFlags are the flags every card command shares.
type cardFlags struct {
	trace   bool
	reader  string
	sim     *cardsim.Card
	card    string
	save    bool
	json    bool
	pin     string
	account string
	offline bool
	testCA  bool
	profile *cardsim.Profile
}

// trustsTestCA reports whether offline data authentication trusts the
// simulator's test CA: always for the simulated card, with --reader only
// when --test-ca asks for it (a simulated card served by serve-card).
func (c *cardFlags) trustsTestCA() bool { return c.reader == "" || c.testCA }

func (c *cardFlags) register(fs *flag.FlagSet, withSave bool) {
	fs.StringVar(&c.card, "card", "", "card profile JSON file (default: the built-in default card)")
	fs.StringVar(&c.reader, "reader", "", "PC/SC reader name (part of it is enough) instead of the simulated card")
	fs.BoolVar(&c.json, "json", false, "print one JSON object instead of the trace")
	if withSave {
		fs.BoolVar(&c.trace, "trace", false, "with --json, also print the APDU trace (to standard error)")
	}
	if withSave {
		fs.BoolVar(&c.save, "save", false, "write the card's state back to the --card file afterwards")
		fs.StringVar(&c.pin, "pin", "123456", "PIN the cardholder types on the simulated PIN pad (the issuer expects 123456; empty: bypass)")
		fs.StringVar(&c.account, "account", "2000.00", "balance of the card's back-office account at the simulated issuer")
		fs.BoolVar(&c.offline, "offline", false, "no online host: sales that need one end as online_required")
		fs.BoolVar(&c.testCA, "test-ca", false, "with --reader, also trust the simulator's test CA keys (a card served by serve-card; never in production)")
	}
}

// cardholderPIN is the PIN the simulated issuer holds for every simulated
// card; --pin is what the cardholder types.
const cardholderPIN = "123456"

// newKernel builds the kernel with the simulated issuer host for the card.
func (c *cardFlags) newKernel() (*kernel.Kernel, error) {
	cfg := kernel.DefaultConfig()
	cfg.Trace = !c.json || c.trace // the trace is printed unless only JSON is asked for
	if c.trustsTestCA() {
		// The simulated card is signed by the test CA, whose private keys
		// anyone can regenerate: trusted here by explicit choice only.
		cfg.CAPK = capk.Builtin()
		cfg.CAPK.Merge(capk.TestKeys())
	}
	if c.offline || c.profile == nil {
		return kernel.New(cfg)
	}
	balance, err := kernel.ParseAmount(c.account)
	if err != nil {
		return nil, usageError{"--account: " + err.Error()}
	}
	h := hostsim.New()
	for _, app := range c.profile.Applications {
		acc, err := hostsim.AccountFromProfile(app, balance, cardholderPIN)
		if err != nil {
			return nil, err
		}
		if err := h.AddAccount(acc); err != nil {
			return nil, err
		}
	}
	return kernel.New(cfg, kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: c.pin}))
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// openCard opens the card: a PC/SC reader with --reader, else the simulated
// card from --card or the built-in profile. The returned function releases
// the reader.
func (c *cardFlags) openCard(ctx context.Context) (apdu.Transport, func() error, error) {
	if c.save && (c.card == "" || c.reader != "") {
		return nil, nil, usageError{"--save needs --card FILE and the simulated card"}
	}
	p := cardsim.DefaultProfile()
	if c.card != "" {
		var err error
		if p, err = cardsim.LoadProfile(c.card); err != nil {
			return nil, nil, usageError{err.Error()}
		}
	}
	c.profile = p
	if c.reader != "" {
		if c.card == "" {
			c.profile = nil // a real card: the simulated issuer does not know its keys
		}
		return openReader(ctx, c.reader)
	}
	card, err := cardsim.New(p)
	if err != nil {
		return nil, nil, err
	}
	c.sim = card
	return card, func() error { return nil }, nil
}

func (c *cardFlags) saveCard() error {
	if !c.save || c.sim == nil {
		return nil
	}
	b, err := c.sim.Snapshot().Marshal()
	if err != nil {
		return err
	}
	tmp := c.card + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, c.card)
}

func newKernel() (*kernel.Kernel, error) { return kernel.New(kernel.DefaultConfig()) }

func cmdPurchase(ctx context.Context, args []string, w, ew io.Writer) error {
	var amountText string
	var contactless bool
	cf, card, release, err := cardCommand(ctx, "purchase", args, true, func(fs *flag.FlagSet) {
		fs.StringVar(&amountText, "amount", "", "amount in yuan, e.g. 12.34")
		fs.BoolVar(&contactless, "contactless", false, "tap the card (qPBOC, 闪付) instead of inserting it")
	})
	if err != nil {
		return err
	}
	defer release()
	amount, err := parseAmountFlag(amountText)
	if err != nil {
		return err
	}
	k, err := cf.newKernel()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var res *kernel.Result
	var txErr error
	if contactless {
		res, txErr = purchaseContactless(ctx, k, card, amount)
	} else {
		res, txErr = k.Purchase(ctx, card, amount)
	}
	return cf.finish(w, ew, res, txErr)
}

func cmdLoad(ctx context.Context, args []string, w, ew io.Writer) error {
	var amountText, kindText string
	cf, card, release, err := cardCommand(ctx, "load", args, true, func(fs *flag.FlagSet) {
		fs.StringVar(&amountText, "amount", "", "amount to load in yuan, e.g. 100.00")
		fs.StringVar(&kindText, "type", "designated", "designated, non-designated or cash")
	})
	if err != nil {
		return err
	}
	defer release()
	amount, err := parseAmountFlag(amountText)
	if err != nil {
		return err
	}
	kind, err := kernel.ParseLoadKind(kindText)
	if err != nil {
		return usageError{err.Error()}
	}
	k, err := cf.newKernel()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, txErr := k.Load(ctx, card, kernel.LoadRequest{Kind: kind, Amount: amount})
	return cf.finish(w, ew, res, txErr)
}

// cardCommand parses a card command's flags and opens its card and kernel.
// extra registers the command's own flags.
func cardCommand(ctx context.Context, name string, args []string, withSave bool, extra func(*flag.FlagSet)) (*cardFlags, apdu.Transport, func() error, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cf := &cardFlags{}
	cf.register(fs, withSave)
	if extra != nil {
		extra(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, nil, err
	}
	card, release, err := cf.openCard(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return cf, card, release, nil
}

// parseAmountFlag checks a required, non-zero --amount.
func parseAmountFlag(text string) (kernel.Amount, error) {
	if text == "" {
		return 0, usageError{"--amount is required"}
	}
	amount, err := kernel.ParseAmount(text)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	if amount == 0 {
		return 0, usageError{"--amount must be more than 0"}
	}
	return amount, nil
}

// finish saves the card if asked and prints the result.
func (c *cardFlags) finish(w, ew io.Writer, res *kernel.Result, txErr error) error {
	if err := c.saveCard(); err != nil {
		return fmt.Errorf("saving the card: %w", err)
	}
	if c.trustsTestCA() {
		fmt.Fprintln(ew, "note: offline data authentication trusts the simulator's test CA (A000000333 F1-F3), never a production key set")
	}
	if c.json {
		if c.trace {
			printTrace(ew, res.Trace)
		}
		if err := writeJSON(w, res); err != nil {
			return err
		}
	} else {
		printTrace(w, res.Trace)
		printResult(w, res)
	}
	return txErr
}

func cmdCAPK(args []string, w io.Writer) error {
	if len(args) > 0 && (args[0] == "import" || args[0] == "export") {
		return cmdCAKeyRecords(args, w) // params.go
	}
	if len(args) == 0 || (args[0] != "list" && args[0] != "check") || len(args) > 2 {
		return usageError{"capk needs list [FILE] or check FILE"}
	}
	store := capk.Builtin()
	if len(args) == 2 {
		var err error
		if store, err = capk.LoadFile(args[1]); err != nil {
			if args[0] == "check" {
				return fmt.Errorf("%s: %w", args[1], err)
			}
			return usageError{err.Error()}
		}
	} else if args[0] == "check" {
		return usageError{"capk check needs FILE"}
	}
	bad := 0
	for _, f := range capk.Check(store, time.Now()) {
		fmt.Fprintln(w, f.String())
		if !f.OK() {
			bad++
		}
	}
	if args[0] == "check" && bad > 0 {
		return fmt.Errorf("%d of %d keys failed the check", bad, store.Len())
	}
	return nil
}

func cmdBalance(ctx context.Context, args []string, w io.Writer) error {
	cf, card, release, err := cardCommand(ctx, "balance", args, false, nil)
	if err != nil {
		return err
	}
	defer release()
	k, err := newKernel()
	if err != nil {
		return err
	}
	b, err := k.ReadBalance(ctx, card)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(w, b)
	}
	fmt.Fprintf(w, "application      %X %s\n", []byte(b.AID), b.Label)
	fmt.Fprintf(w, "EC balance       %s\n", amountOrDash(b.Balance))
	fmt.Fprintf(w, "balance limit    %s\n", amountOrDash(b.Limit))
	fmt.Fprintf(w, "single limit     %s\n", amountOrDash(b.SingleLimit))
	fmt.Fprintf(w, "reset threshold  %s\n", amountOrDash(b.ResetThreshold))
	return nil
}

func cmdLog(ctx context.Context, args []string, w io.Writer) error {
	cf, card, release, err := cardCommand(ctx, "log", args, false, nil)
	if err != nil {
		return err
	}
	defer release()
	k, err := newKernel()
	if err != nil {
		return err
	}
	entries, err := k.ReadTransactionLog(ctx, card)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(w, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(w, "the card's transaction log is empty")
	}
	for i, e := range entries {
		when := "-"
		if !e.Time.IsZero() {
			when = e.Time.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "%2d  %s  %12s  ATC %5d  %s\n", i+1, when, e.Amount, e.ATC, e.Merchant)
	}
	return nil
}

func cmdDecode(args []string, w io.Writer) error {
	if len(args) == 0 {
		return usageError{"decode needs HEX"}
	}
	s := strings.Join(args, "")
	s = strings.NewReplacer(" ", "", ":", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		return usageError{fmt.Sprintf("not hex: %v", err)}
	}
	if err := tlv.Dump(w, b); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func amountOrDash(a *kernel.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

// printTrace prints every APDU with its name and the response's TLV tree.
func printTrace(w io.Writer, trace []kernel.Exchange) {
	for _, e := range trace {
		name := "?"
		if c, err := apdu.ParseCommand(e.Command); err == nil {
			name = c.Name()
		}
		fmt.Fprintf(w, "→ %-22s %X\n", name, e.Command)
		if e.Err != nil {
			fmt.Fprintf(w, "← error: %v\n", e.Err)
			continue
		}
		r, err := apdu.ParseResponse(e.Response)
		if err != nil {
			fmt.Fprintf(w, "← %X (%v)\n", e.Response, err)
			continue
		}
		fmt.Fprintf(w, "← %s\n", r.SW)
		if len(r.Data) > 0 {
			var sb strings.Builder
			if err := tlv.Dump(&sb, r.Data); err != nil {
				fmt.Fprintf(w, "    (%d bytes, not TLV)\n", len(r.Data))
				continue
			}
			for _, line := range strings.Split(strings.TrimRight(sb.String(), "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
	}
}

func printResult(w io.Writer, r *kernel.Result) {
	fmt.Fprintf(w, "\noutcome          %s\n", r.Outcome)
	fmt.Fprintf(w, "reason           %s: %s\n", r.Reason, r.Detail)
	fmt.Fprintf(w, "amount           %s\n", r.Amount)
	if r.PAN != "" {
		fmt.Fprintf(w, "card             %s %X %s\n", r.PAN, []byte(r.AID), r.Label)
	}
	fmt.Fprintf(w, "balance before   %s\n", amountOrDash(r.BalanceBefore))
	fmt.Fprintf(w, "balance after    %s\n", amountOrDash(r.BalanceAfter))
	fmt.Fprintf(w, "ATC              %d\n", r.ATC)
	if len(r.Cryptogram) > 0 {
		fmt.Fprintf(w, "cryptogram       %X (CID %02X)\n", []byte(r.Cryptogram), r.CID)
	}
	if r.ResponseCode != "" {
		fmt.Fprintf(w, "response code    %s\n", r.ResponseCode)
	}
	for _, s := range r.Scripts {
		fmt.Fprintf(w, "issuer script    %X ok=%t sw=%s %s\n", []byte(s.ID), s.OK, s.SW, s.Err)
	}
	fmt.Fprintf(w, "ODA              %s %s\n", r.ODA, r.ODAError)
	fmt.Fprintf(w, "TVR              %s\n", r.TVR)
	fmt.Fprintf(w, "TSI              %s\n", r.TSI)
	fmt.Fprintf(w, "APDUs            %d\n", r.APDUs)
}
