// Command kiosk is a fuel-card self-service kiosk that loads electronic cash
// onto the card (圈存), against the simulated card and issuer host, or
// against a card in a PC/SC reader.
//
//	go run ./examples/kiosk [--amount 200.00] [--type designated|non-designated|cash]
//	                        [--card FILE] [--reader NAME] [--pin 123456] [--account 2000.00]
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
// --reader NAME loads the card in that PC/SC reader and prints what the
// kernel reports. The simulated issuer can only serve a card whose keys it
// knows: with --card FILE it is built from that profile, and the card in the
// reader is expected to be that simulated card, served by
// `pboc serve-card --profile FILE`:
//
//	go run ./cmd/pboc serve-card --profile testdata/cards/default.json &
//	go run ./examples/kiosk --reader "Virtual PCD" --test-ca --card testdata/cards/default.json
//
// Without --card there is no issuer host: the load cannot be authorised and
// ends online_required.
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
	"strings"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/examples/internal/demo"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// defaultCard is the profile used when --card is not given, relative to the
// repository root.
const defaultCard = "testdata/cards/default.json"

// errRefused is returned when the kiosk refuses the requested load before
// going online; the reason has already been printed.
var errRefused = errors.New("load refused")

// inserted, when set, is called with the simulated card (nil when the card
// is in a reader) and the host (nil when there is none) before the load
// runs. Tests use it to check the state behind the printout.
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

// run parses the flags, opens the card (the simulated one, personalised
// from the profile, or the one in the reader), opens its account at the
// simulated issuer when its keys are known and runs one load, printing the
// steps to w. A load the kiosk refuses returns an error wrapping
// errRefused; a load the issuer or the card declines is printed and
// returns nil.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("kiosk", flag.ContinueOnError)
	fs.SetOutput(w)
	amountFlag := fs.String("amount", "200.00", "amount to load in yuan")
	typeFlag := fs.String("type", "designated", "load type: designated, non-designated or cash")
	var cf demo.CardFlags
	cf.Register(fs, defaultCard, true)
	pinFlag := fs.String("pin", demo.CardholderPIN, "PIN the cardholder types for a designated load (empty: bypass PIN entry)")
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
	cfg.MerchantName = "GO-PBOC CARD KIOSK"
	cfg.TerminalID = "KIOSK001"
	cfg.CAPK = cf.CAPK()
	k, err := kernel.New(cfg, demo.Terminal(host, *pinFlag)...)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "fuel-card kiosk: %s load (圈存)\n", kind)
	demo.Field(w, "card", "%s", card.Describe())
	demo.Field(w, "CA keys", "%s", cf.TrustNote())
	demo.PrintIssuer(w, card, host)

	// 1. Read the card: balance and limit decide what can be loaded.
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return fmt.Errorf("read balance: %w", err)
	}
	if bal.Balance == nil {
		return fmt.Errorf("the card does not report its EC balance (9F79): cannot load")
	}
	if bal.Limit == nil {
		return fmt.Errorf("the card does not report its EC balance limit (9F77): cannot load")
	}
	demo.Field(w, "EC balance", "%s (limit %s)", *bal.Balance, *bal.Limit)
	room := kernel.Amount(0)
	if *bal.Limit > *bal.Balance {
		room = *bal.Limit - *bal.Balance
	}
	demo.Field(w, "can be loaded", "up to %s", room)
	printBackOffice(w, host, pan, kind)

	// 2. Refuse, before going online, what the card cannot hold.
	demo.Field(w, "load", "%s", amount)
	if amount > room {
		demo.Field(w, "REFUSED", "loading %s would bring the EC balance to %s, above the card's limit of %s; at most %s can be loaded. Nothing was charged.",
			amount, *bal.Balance+amount, *bal.Limit, room)
		return fmt.Errorf("%w: %s is more than the %s the card can take", errRefused, amount, room)
	}

	// 3. The load, online.
	res, err := k.Load(ctx, card, kernel.LoadRequest{Kind: kind, Amount: amount})
	if err != nil {
		return fmt.Errorf("load %s: %w", res.Outcome, err)
	}
	demo.Field(w, "PAN", "%s (AID %X)", res.PAN, []byte(res.AID))
	demo.Field(w, "balance before", "%s (as the card reported it)", demo.AmountOrDash(res.BalanceBefore))
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
	if len(res.ScriptResults) > 0 {
		demo.Field(w, "script result 9F5B", "%X", []byte(res.ScriptResults))
	}
	demo.Field(w, "balance after", "%s (as the card reports it)", demo.AmountOrDash(res.BalanceAfter))
	printBackOffice(w, host, pan, kind)
	if res.Reason == kernel.ReasonScriptFailed {
		demo.Field(w, "WARNING", "the card's EC balance was not updated as the issuer approved")
	}
	if res.Reversed {
		demo.Field(w, "WARNING", "the issuer reversed the load")
	}
	return nil
}

// printBackOffice prints where the money of a load of kind comes from: the
// cardholder's account, the cash taken by the kiosk or the non-designated
// accounts' total; without a host, that there is none.
func printBackOffice(w io.Writer, h *hostsim.Host, pan string, kind kernel.LoadKind) {
	demo.Field(w, "back-office account", "%s", demo.AccountBalance(h, pan))
	if h == nil {
		return
	}
	switch kind {
	case kernel.LoadCash:
		demo.Field(w, "cash taken", "%s", h.CashTotal())
	case kernel.LoadNonDesignated:
		demo.Field(w, "non-designated funds", "%s", h.NonDesignatedTotal())
	}
}
