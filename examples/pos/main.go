// Command pos is a POS purchase with automatic top-up (自动圈存) against the
// simulated card and the simulated issuer host.
//
//	go run ./examples/pos [--amount 4.50] [--card FILE] [--pin 123456] [--account 2000.00]
//
// The default card holds 5.00 of electronic cash with a reset threshold of
// 1.00 and a balance limit of 1000.00. A purchase of 4.50 would leave 0.50,
// below the threshold, so the kernel does not approve it offline: it asks
// for the cardholder's online PIN and goes online with a top-up request. The
// issuer approves, charges the purchase and the refill to the back-office
// account, and sends a script (PUT DATA 9F79 with its MAC) that sets the EC
// balance back to the limit. The program prints each step: the balance
// before, the outcome and its reason, the script result (9F5B), the EC
// balance as the card reports it afterwards, and the back-office account.
//
// A purchase that leaves the balance at or above the threshold is approved
// offline by the card, without a top-up.
//
// Exit status: 0 when the transaction ran (a decline is still a result), 1
// when it could not run (bad flags, unreadable card profile, terminated).
package main

import (
	"context"
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
const defaultCard = "testdata/cards/low-balance.json"

// cardholderPIN is the online PIN the issuer holds for the card's account.
const cardholderPIN = "123456"

// inserted, when set, is called with the simulated card and host before the
// transaction runs. Tests use it to check the state behind the printout.
var inserted func(card *cardsim.Card, host *hostsim.Host)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pos:", err)
		os.Exit(1)
	}
}

// run parses the flags, personalises the simulated card, opens an account
// for it at the simulated issuer and runs one purchase, printing the steps
// to w. It returns an error only when the purchase could not run; a decline
// is printed, not returned.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("pos", flag.ContinueOnError)
	fs.SetOutput(w)
	amountFlag := fs.String("amount", "4.50", "purchase amount in yuan")
	cardFlag := fs.String("card", defaultCard, "card profile JSON file (relative paths are also tried from the repository root)")
	pinFlag := fs.String("pin", cardholderPIN, "PIN the cardholder types on the PIN pad (empty: bypass PIN entry)")
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
	k, err := kernel.New(kernel.DefaultConfig(), kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: *pinFlag}))
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "POS purchase with automatic top-up (自动圈存)\n")
	field(w, "card", "%s (%s)", profile.Name, source)

	// 1. Card inserted: the EC parameters that decide the path.
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return fmt.Errorf("read balance: %w", err)
	}
	field(w, "EC balance", "%s (limit %s, single limit %s, reset threshold %s)",
		amountOrDash(bal.Balance), amountOrDash(bal.Limit), amountOrDash(bal.SingleLimit), amountOrDash(bal.ResetThreshold))
	field(w, "back-office account", "%s", accountBalance(host, app.PAN))

	// 2. The purchase; the kernel decides offline, online or top-up.
	field(w, "purchase", "%s", amount)
	res, err := k.Purchase(ctx, card, amount)
	if err != nil {
		return fmt.Errorf("purchase %s: %w", res.Outcome, err)
	}
	field(w, "PAN", "%s (AID %X)", res.PAN, []byte(res.AID))
	field(w, "balance before", "%s (as the card reported it)", amountOrDash(res.BalanceBefore))
	field(w, "top-up requested", "%s", yesNo(res.TopUp))
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
	for _, s := range res.Scripts {
		status := "ok"
		if !s.OK {
			status = fmt.Sprintf("failed at command %d", s.Failed)
			if s.Err != "" {
				status += ": " + s.Err
			}
		}
		field(w, "issuer script", "%X template %X, SW %04X, %s", []byte(s.ID), s.Template, uint16(s.SW), status)
	}
	if len(res.ScriptResults) > 0 {
		field(w, "script result 9F5B", "%X", []byte(res.ScriptResults))
	}
	field(w, "balance after", "%s (as the card reports it)", amountOrDash(res.BalanceAfter))
	field(w, "back-office account", "%s", accountBalance(host, app.PAN))
	if res.Reason == kernel.ReasonScriptFailed {
		field(w, "WARNING", "the EC balance was not topped up as the issuer approved")
	}
	if res.Reversed {
		field(w, "WARNING", "the issuer reversed the EC part of the request")
	}
	return nil
}

// loadProfile reads the card profile at path. A relative path that does not
// exist from the working directory is tried from the module root (the
// nearest directory above holding go.mod), so the example runs both from
// the repository root (go run) and from its own directory (go test). When
// the default profile is asked for and cannot be found at all (the program
// runs outside the repository), the built-in seed card is used with the
// same EC balance of 5.00. It returns the profile and where it came from.
func loadProfile(path string, isDefault bool) (*cardsim.Profile, string, error) {
	if found, ok := findFile(path); ok {
		p, err := cardsim.LoadProfile(found)
		return p, path, err
	}
	if !isDefault {
		return nil, "", fmt.Errorf("card profile %s: %w", path, os.ErrNotExist)
	}
	p := cardsim.DefaultProfile()
	p.Name = "built-in seed card with EC balance 5.00"
	p.Applications[0].EC.Balance = "5.00"
	return p, "built-in", nil
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

// accountBalance is the back-office balance of the account for pan.
func accountBalance(h *hostsim.Host, pan string) string {
	a, ok := h.Account(pan)
	if !ok {
		return "-"
	}
	return a.Balance.String()
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
