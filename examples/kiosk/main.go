// Command kiosk is a fuel-card self-service kiosk that loads electronic cash
// onto the card (圈存), against the simulated card and issuer host.
//
//	go run ./examples/kiosk [--amount 200.00] [--type designated|non-designated|cash]
//	                        [--card FILE] [--pin 123456] [--account 2000.00]
//
// The kiosk reads the card's EC balance and balance limit, refuses a load
// that would take the balance above the limit before anything goes online,
// and otherwise runs the load through the issuer: a designated load
// (指定账户圈存) draws on the cardholder's back-office account and needs the
// online PIN, a non-designated load (非指定账户圈存) is funded by another
// account, a cash load (现金圈存) is paid into the kiosk. The issuer's script
// sets the new EC balance on the card. The program prints the balance before
// and after as the card reports them, and the back-office side.
//
// Exit status: 0 when the load ran (a decline is still a result), 1 when the
// kiosk refused the amount or the load could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// defaultCard is the profile used when --card is not given, relative to the
// repository root.
const defaultCard = "testdata/cards/default.json"

// cardholderPIN is the online PIN the issuer holds for the card's account.
const cardholderPIN = "123456"

// errRefused is returned when the kiosk refuses the requested load before
// going online; the reason has already been printed.
var errRefused = errors.New("load refused")

// inserted, when set, is called with the simulated card and host before the
// load runs. Tests use it to check the state behind the printout.
var inserted func(card *cardsim.Card, host *hostsim.Host)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, errRefused):
		os.Exit(1) // the refusal is on the screen already
	case err != nil:
		fmt.Fprintln(os.Stderr, "kiosk:", err)
		os.Exit(1)
	}
}

// run parses the flags, personalises the simulated card, opens its account
// at the simulated issuer and runs one load, printing the steps to w. A
// load the kiosk refuses returns an error wrapping errRefused; a load the
// issuer or the card declines is printed and returns nil.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("kiosk", flag.ContinueOnError)
	fs.SetOutput(w)
	amountFlag := fs.String("amount", "200.00", "amount to load in yuan")
	typeFlag := fs.String("type", "designated", "load type: designated, non-designated or cash")
	cardFlag := fs.String("card", defaultCard, "card profile JSON file (relative paths are also tried from the repository root)")
	pinFlag := fs.String("pin", cardholderPIN, "PIN the cardholder types for a designated load (empty: bypass PIN entry)")
	accountFlag := fs.String("account", "2000.00", "balance of the card's back-office account at the issuer, in yuan")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	amount, err := kernel.ParseAmount(*amountFlag)
	if err != nil {
		return fmt.Errorf("--amount: %w", err)
	}
	if amount == 0 {
		return fmt.Errorf("--amount: a load must be at least 0.01")
	}
	kind, err := kernel.ParseLoadKind(*typeFlag)
	if err != nil {
		return fmt.Errorf("--type: %w", err)
	}
	backOffice, err := kernel.ParseAmount(*accountFlag)
	if err != nil {
		return fmt.Errorf("--account: %w", err)
	}
	profile, source, err := loadProfile(*cardFlag, *cardFlag == defaultCard)
	if err != nil {
		return err
	}
	card, err := cardsim.New(profile)
	if err != nil {
		return err
	}
	app := profile.Applications[0]
	host := hostsim.New()
	acc, err := hostsim.AccountFromProfile(app, backOffice, cardholderPIN)
	if err != nil {
		return err
	}
	if err := host.AddAccount(acc); err != nil {
		return err
	}
	if inserted != nil {
		inserted(card, host)
	}
	cfg := kernel.DefaultConfig()
	cfg.MerchantName = "GO-PBOC FUEL CARD KIOSK"
	cfg.TerminalID = "KIOSK001"
	k, err := kernel.New(cfg, kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: *pinFlag}))
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "fuel-card kiosk: %s load (圈存)\n", kind)
	field(w, "card", "%s (%s)", profile.Name, source)

	// 1. Read the card: balance and limit decide what can be loaded.
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return fmt.Errorf("read balance: %w", err)
	}
	if bal.Limit == nil {
		return fmt.Errorf("the card does not report its EC balance limit (9F77): cannot load")
	}
	field(w, "EC balance", "%s (limit %s)", *bal.Balance, *bal.Limit)
	room := kernel.Amount(0)
	if *bal.Limit > *bal.Balance {
		room = *bal.Limit - *bal.Balance
	}
	field(w, "can be loaded", "up to %s", room)
	printBackOffice(w, host, app.PAN, kind)

	// 2. Refuse, before going online, what the card cannot hold.
	field(w, "load", "%s", amount)
	if amount > room {
		field(w, "REFUSED", "loading %s would bring the EC balance to %s, above the card's limit of %s; at most %s can be loaded. Nothing was charged.",
			amount, *bal.Balance+amount, *bal.Limit, room)
		return fmt.Errorf("%w: %s is more than the %s the card can take", errRefused, amount, room)
	}

	// 3. The load, online.
	res, err := k.Load(ctx, card, kernel.LoadRequest{Kind: kind, Amount: amount})
	if err != nil {
		return fmt.Errorf("load %s: %w", res.Outcome, err)
	}
	field(w, "PAN", "%s (AID %X)", res.PAN, []byte(res.AID))
	field(w, "balance before", "%s (as the card reported it)", amountOrDash(res.BalanceBefore))
	if res.TVR.Has(kernel.TVROnlinePINEntered) {
		field(w, "online PIN", "entered")
	}
	field(w, "outcome", "%s", res.Outcome)
	field(w, "reason", "%s", res.Reason)
	field(w, "detail", "%s", res.Detail)
	if res.ResponseCode != "" {
		field(w, "response code", "%s", res.ResponseCode)
	}
	for _, e := range host.Ledger() {
		field(w, fmt.Sprintf("issuer ledger #%d", e.Seq), "%s %s, response %s: %s", e.Kind, e.Amount, dash(e.ResponseCode), dash(e.Note))
	}
	if len(res.ScriptResults) > 0 {
		field(w, "script result 9F5B", "%X", []byte(res.ScriptResults))
	}
	field(w, "balance after", "%s (as the card reports it)", amountOrDash(res.BalanceAfter))
	printBackOffice(w, host, app.PAN, kind)
	if res.Reason == kernel.ReasonScriptFailed {
		field(w, "WARNING", "the card's EC balance was not updated as the issuer approved")
	}
	if res.Reversed {
		field(w, "WARNING", "the issuer reversed the load")
	}
	return nil
}

// printBackOffice prints where the money of a load of kind comes from: the
// cardholder's account, the cash taken by the kiosk or the non-designated
// accounts' total.
func printBackOffice(w io.Writer, h *hostsim.Host, pan string, kind kernel.LoadKind) {
	a, ok := h.Account(pan)
	if !ok {
		field(w, "back-office account", "-")
		return
	}
	field(w, "back-office account", "%s", a.Balance)
	switch kind {
	case kernel.LoadCash:
		field(w, "cash taken", "%s", h.CashTotal())
	case kernel.LoadNonDesignated:
		field(w, "non-designated funds", "%s", h.NonDesignatedTotal())
	}
}

// loadProfile reads the card profile at path. A relative path that does not
// exist from the working directory is tried from the module root (the
// nearest directory above holding go.mod), so the example runs both from
// the repository root (go run) and from its own directory (go test). When
// the default profile is asked for and cannot be found at all (the program
// runs outside the repository), the built-in seed card is used. It returns
// the profile and where it came from.
func loadProfile(path string, isDefault bool) (*cardsim.Profile, string, error) {
	if found, ok := findFile(path); ok {
		p, err := cardsim.LoadProfile(found)
		return p, path, err
	}
	if !isDefault {
		return nil, "", fmt.Errorf("card profile %s: %w", path, os.ErrNotExist)
	}
	return cardsim.DefaultProfile(), "built-in", nil
}

// findFile resolves path against the working directory, then against the
// module root above it.
func findFile(path string) (string, bool) {
	if _, err := os.Stat(path); err == nil {
		return path, true
	}
	if filepath.IsAbs(path) {
		return "", false
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, path)
			_, err := os.Stat(p)
			return p, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// field prints one labelled line of the receipt.
func field(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "%-23s%s\n", label+":", fmt.Sprintf(format, args...))
}

func amountOrDash(a *kernel.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
