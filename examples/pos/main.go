// Command pos is a POS purchase with automatic top-up (自动圈存) against the
// simulated card and the simulated issuer host, or against a card in a PC/SC
// reader.
//
//	go run ./examples/pos [--amount 4.50] [--card FILE] [--reader NAME] [--pin 123456] [--account 2000.00]
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
// --reader NAME runs the purchase on the card in that PC/SC reader and prints
// what the kernel reports. The simulated issuer can only serve a card whose
// keys it knows: with --card FILE it is built from that profile, and the card
// in the reader is expected to be that simulated card, served by
// `pboc serve-card --profile FILE`:
//
//	go run ./cmd/pboc serve-card --profile testdata/cards/low-balance.json &
//	go run ./examples/pos --reader "Virtual PCD" --test-ca --card testdata/cards/low-balance.json
//
// Without --card there is no issuer host, and a sale that must go online
// ends online_required.
//
// The online request goes to the acquirer over ISO 8583, as a POS does: by
// default the example starts the loopback acquirer simulator (package
// acquirer/acquirersim) in front of the simulated issuer, and the kernel's
// host is an acquirer.Link to it over TCP — sign-in with working keys under
// the terminal master key, the PIN enciphered under the PIK, the 0200 with
// its MAC, the script result advice after it; the program prints the
// messages the acquirer received. --acquirer HOST:PORT sends them to
// another acquirer (pboc serve-acquirer); --acquirer direct calls the
// simulated issuer in process, without the link.
//
// Exit status: 0 when the transaction ran (a decline is still a result), 1
// when it could not run (bad flags, unreadable card profile, no card in the
// reader, terminated).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/examples/internal/demo"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// defaultCard is the profile used when --card is not given, relative to the
// repository root.
const defaultCard = "testdata/cards/low-balance.json"

// inserted, when set, is called with the simulated card (nil when the card
// is in a reader) and the host (nil when there is none) before the
// transaction runs. Tests use it to check the state behind the printout.
var inserted func(card *cardsim.Card, host *hostsim.Host)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pos:", err)
		os.Exit(1)
	}
}

// run parses the flags, opens the card (the simulated one, personalised
// from the profile, or the one in the reader), opens an account for it at
// the simulated issuer when its keys are known, and runs one purchase,
// printing the steps to w. It returns an error only when the purchase could
// not run; a decline is printed, not returned.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("pos", flag.ContinueOnError)
	fs.SetOutput(w)
	amountFlag := fs.String("amount", "4.50", "purchase amount in yuan")
	var cf demo.CardFlags
	cf.Register(fs, defaultCard, true)
	cf.Fallback = seedCard
	pinFlag := fs.String("pin", demo.CardholderPIN, "PIN the cardholder types on the PIN pad (empty: bypass PIN entry)")
	accountFlag := fs.String("account", "2000.00", "balance of the card's back-office account at the issuer, in yuan")
	acquirerFlag := fs.String("acquirer", "", `the acquirer: "" starts the loopback simulator, HOST:PORT is another (pboc serve-acquirer), "direct" calls the simulated issuer without the link`)
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
	card, err := cf.Open(ctx)
	if err != nil {
		return err
	}
	defer card.Close()
	host, err := demo.NewIssuer(card.Profile, backOffice)
	if err != nil {
		return err
	}
	pan := ""
	if card.Profile != nil {
		pan = card.Profile.Applications[0].PAN
	}
	if inserted != nil {
		inserted(card.Sim, host)
	}
	cfg := kernel.DefaultConfig()
	cfg.CAPK = cf.CAPK()
	opts := demo.Terminal(host, *pinFlag)
	var acq *link
	if *acquirerFlag != "direct" && (host != nil || *acquirerFlag != "") {
		if acq, err = openLink(ctx, *acquirerFlag, host, cfg); err != nil {
			return err
		}
		defer acq.close()
		// The whole integration: the link is the kernel's host, and the
		// PIN pad enciphers under the PIK the sign-in installed.
		opts = []kernel.Option{kernel.WithHost(acq.Link), kernel.WithPINPad(acq.module.PINPad(*pinFlag))}
	}
	k, err := kernel.New(cfg, opts...)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "POS purchase with automatic top-up (自动圈存)\n")
	demo.Field(w, "card", "%s", card.Describe())
	demo.Field(w, "CA keys", "%s", cf.TrustNote())
	demo.PrintIssuer(w, card, host)
	if acq != nil {
		demo.Field(w, "acquirer", "%s", acq.describe)
	}

	// 1. Card inserted: the EC parameters that decide the path.
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return fmt.Errorf("read balance: %w", err)
	}
	demo.Field(w, "EC balance", "%s (limit %s, single limit %s, reset threshold %s)",
		demo.AmountOrDash(bal.Balance), demo.AmountOrDash(bal.Limit), demo.AmountOrDash(bal.SingleLimit), demo.AmountOrDash(bal.ResetThreshold))
	demo.Field(w, "back-office account", "%s", demo.AccountBalance(host, pan))

	// 2. The purchase; the kernel decides offline, online or top-up.
	demo.Field(w, "purchase", "%s", amount)
	res, err := k.Purchase(ctx, card, amount)
	if err != nil {
		return fmt.Errorf("purchase %s: %w", res.Outcome, err)
	}
	demo.Field(w, "PAN", "%s (AID %X)", res.PAN, []byte(res.AID))
	demo.Field(w, "balance before", "%s (as the card reported it)", demo.AmountOrDash(res.BalanceBefore))
	demo.Field(w, "top-up requested", "%s", yesNo(res.TopUp))
	if res.TVR.Has(kernel.TVROnlinePINEntered) {
		demo.Field(w, "online PIN", "entered")
	}
	demo.Field(w, "outcome", "%s", res.Outcome)
	demo.Field(w, "reason", "%s", res.Reason)
	demo.Field(w, "detail", "%s", res.Detail)
	if res.ResponseCode != "" {
		demo.Field(w, "response code", "%s", res.ResponseCode)
	}
	demo.PrintLedger(w, host)
	for _, s := range res.Scripts {
		status := "ok"
		if !s.OK {
			status = fmt.Sprintf("failed at command %d", s.Failed)
			if s.Err != "" {
				status += ": " + s.Err
			}
		}
		demo.Field(w, "issuer script", "%X template %X, SW %04X, %s", []byte(s.ID), s.Template, uint16(s.SW), status)
	}
	if len(res.ScriptResults) > 0 {
		demo.Field(w, "script result 9F5B", "%X", []byte(res.ScriptResults))
	}
	demo.Field(w, "balance after", "%s (as the card reports it)", demo.AmountOrDash(res.BalanceAfter))
	demo.Field(w, "back-office account", "%s", demo.AccountBalance(host, pan))
	if acq != nil {
		if err := acq.Complete(ctx, res); err != nil { // the script results go in an advice
			return err
		}
		if err := acq.Flush(ctx); err != nil {
			demo.Field(w, "WARNING", "not yet sent to the acquirer: %v", err)
		}
		acq.printMessages(w)
	}
	if res.Reason == kernel.ReasonScriptFailed {
		demo.Field(w, "WARNING", "the EC balance was not topped up as the issuer approved")
	}
	if res.Reversed {
		demo.Field(w, "WARNING", "the issuer reversed the EC part of the request")
	}
	return nil
}

// seedCard is the card used when the default profile cannot be found (the
// program runs outside the repository): the built-in seed card with the
// same EC balance of 5.00.
func seedCard() *cardsim.Profile {
	p := cardsim.DefaultProfile()
	p.Name = "built-in seed card with EC balance 5.00"
	p.Applications[0].EC.Balance = "5.00"
	return p
}

// yesNo is b for the receipt.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
