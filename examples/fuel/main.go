// Command fuel is an unattended fuel dispenser. It serves both card kinds:
// a fuel card with the PBOC ED/EP purse (the default), sold under the grey
// lock, and, with --ec first, a PBOC bank card paid with electronic cash.
//
//	go run ./examples/fuel [--litres 30] [--price 7.85] [--preset AMOUNT] [--pin 123456]
//	                       [--card testdata/fuelcards/fuel.json] [--reader NAME] [--psam-reader NAME]
//	                       [--store FILE] [--bill FILE]
//
// For a fuel card (fuelcard.go) the pump checks the card's grey status (a
// card left grey by this pump is completed from its record, 补扣; one grey
// from elsewhere goes to the station's online unlock), locks the card for
// its balance with the PSAM's MAC1, checks the card's MAC2, releases the
// pump up to min(preset, balance), and when the nozzle is hung up has the
// PSAM compute the GMAC with which the card pays exactly what was
// delivered (DEBIT FOR UNLOCK). The dispenser bill (one JSON line, ASN
// masked) is appended to --bill or printed last.
//
//	go run ./examples/fuel --ec [--litres 30] [--price 7.85] [--card FILE | --reader NAME]
//	                       [--ec-limit 1000.00] [--clearing FILE]
//
// For an EC card the dispenser is an offline terminal: it never talks to the issuer, so it
// may only release fuel the card can pay offline. At card insertion it reads
// the EC balance (9F79) and the single-transaction limit (9F78) and
// authorises dispensing up to min(balance, single limit, the terminal's EC
// transaction limit 9F7B). It then "dispenses" --litres at --price per
// litre, stopping at the authorised amount, and buys the final amount from
// the card offline: the card's TC approves the sale and the card deducts
// exactly that amount. The clearing record (one JSON line with what a
// clearing upload needs) is appended to --clearing, or printed last on
// standard output when --clearing is "-" (the default).
//
// --reader NAME takes the card in that PC/SC reader instead of the simulated
// one (for instance the simulated card served by `pboc serve-card`, with
// --test-ca so that its test CA is trusted) and
// prints what the kernel reports. The dispenser has no issuer, so it needs
// no card profile: --card and --reader exclude each other.
//
// Exit status: 0 when the fuel was paid for (or none was taken), 1 when the
// card cannot pay anything, the flags are wrong, or the card did not approve
// the final amount offline.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/examples/internal/demo"
	"github.com/go-pboc/pboc/kernel"
)

// defaultCard is the profile used when --card is not given, relative to the
// repository root.
const defaultCard = "testdata/cards/default.json"

// Errors run returns (wrapped) after printing what happened.
var (
	// errCannotPay: the card cannot pay any fuel offline; nothing was dispensed.
	errCannotPay = errors.New("the card cannot pay for fuel offline")
	// errNotPaid: fuel was dispensed but the card did not approve the sale.
	errNotPaid = errors.New("fuel dispensed but not paid")
)

// inserted, when set, is called with the simulated card (nil when the card
// is in a reader) before the dispenser reads it. Tests use it to check the state behind the printout.
var inserted func(card *cardsim.Card)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fuel:", err)
		os.Exit(1)
	}
}

// ClearingRecord is the data a clearing upload needs for one offline EC sale
// (the TC batch upload to the acquirer). It is written as one JSON line.
type ClearingRecord struct {
	// Time is when the transaction started (9A/9F21), RFC 3339.
	Time time.Time `json:"time"`
	// TerminalID and MerchantID identify the dispenser (9F1C, 9F16).
	TerminalID string `json:"terminal_id"`
	MerchantID string `json:"merchant_id"`
	// PAN is the masked PAN; AID the application used.
	PAN string          `json:"pan"`
	AID kernel.HexBytes `json:"aid"`
	// ATC is the card's transaction counter (9F36).
	ATC uint16 `json:"atc"`
	// Amount is the sale amount (9F02), Currency its ISO 4217 code (5F2A).
	Amount   kernel.Amount `json:"amount"`
	Currency uint16        `json:"currency"`
	// Cryptogram is the card's TC (9F26) and CID its type (9F27, hex).
	Cryptogram kernel.HexBytes `json:"cryptogram"`
	CID        string          `json:"cid"`
	// IAD is the issuer application data (9F10) the issuer checks the TC with.
	IAD kernel.HexBytes `json:"iad,omitempty"`
	// UnpredictableNumber is 9F37, part of the TC's input.
	UnpredictableNumber kernel.HexBytes `json:"unpredictable_number,omitempty"`
	// TVR and TSI are 95 and 9B.
	TVR kernel.TVR `json:"tvr"`
	TSI kernel.TSI `json:"tsi"`
	// Field55 is the ICC data (ISO 8583 field 55) when the kernel built it.
	Field55 kernel.HexBytes `json:"field55,omitempty"`
	// BalanceAfter is the EC balance the card reported after the sale.
	BalanceAfter *kernel.Amount `json:"balance_after,omitempty"`
	// Litres and UnitPrice describe the fuel sold (two decimals each).
	Litres    string        `json:"litres"`
	UnitPrice kernel.Amount `json:"unit_price"`
}

// run sells fuel against a fuel card, or with --ec first against an EC
// card.
func run(ctx context.Context, args []string, w io.Writer) error {
	if len(args) > 0 && (args[0] == "--ec" || args[0] == "-ec") {
		return runEC(ctx, args[1:], w)
	}
	return runFuelCard(ctx, args, w)
}

// runEC parses the flags, opens the card (the simulated one, personalised
// from the profile, or the one in the reader) and runs one refuelling paid
// with electronic cash, printing the steps to w and writing the clearing
// record.
func runEC(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("fuel", flag.ContinueOnError)
	fs.SetOutput(w)
	litresFlag := fs.String("litres", "30", "litres the customer wants (two decimals)")
	priceFlag := fs.String("price", "7.85", "price per litre in yuan")
	var cf demo.CardFlags
	cf.Register(fs, defaultCard, false)
	limitFlag := fs.String("ec-limit", "", "the terminal's EC transaction limit (9F7B) in yuan (default: the kernel's default, 1000.00)")
	clearingFlag := fs.String("clearing", "-", `file the clearing record is appended to ("-": standard output)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if cf.Reader != "" && cf.CardSet() {
		return fmt.Errorf("--card and --reader: the dispenser has no issuer, so a card in a reader needs no profile")
	}
	wanted, err := parseCentilitres(*litresFlag)
	if err != nil {
		return err
	}
	price, err := kernel.ParseAmount(*priceFlag)
	if err != nil {
		return fmt.Errorf("--price: %w", err)
	}
	if price == 0 {
		return fmt.Errorf("--price: must be at least 0.01")
	}
	cfg := kernel.DefaultConfig()
	// An unattended dispenser without a host link (EMV terminal type 26):
	// it can only take what the card approves offline, and with no online
	// top-up the reset threshold does not send the sale online.
	cfg.TerminalType = 0x26
	cfg.OnlineCapable = false
	cfg.MerchantName = "GO-PBOC FUEL STATION"
	cfg.TerminalID = "PUMP0001"
	cfg.CAPK = cf.CAPK()
	if *limitFlag != "" {
		limit, err := kernel.ParseAmount(*limitFlag)
		if err != nil {
			return fmt.Errorf("--ec-limit: %w", err)
		}
		for i := range cfg.Applications {
			cfg.Applications[i].ECTransactionLimit = limit
		}
	}
	k, err := kernel.New(cfg)
	if err != nil {
		return err
	}
	// Open the clearing file before any fuel flows: a sale whose record
	// cannot be kept must not happen.
	var clearingFile *os.File
	if *clearingFlag != "-" {
		if clearingFile, err = os.OpenFile(*clearingFlag, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err != nil {
			return fmt.Errorf("--clearing: %w", err)
		}
		defer clearingFile.Close() // on the early returns; closed and checked below after a sale
	}
	card, err := cf.Open(ctx)
	if err != nil {
		return err
	}
	defer card.Close()
	if inserted != nil {
		inserted(card.Sim)
	}

	fmt.Fprintf(w, "fuel dispenser %s (offline, electronic cash)\n", cfg.TerminalID)
	demo.Field(w, "card", "%s", card.Describe())
	demo.Field(w, "CA keys", "%s", cf.TrustNote())

	// 1. Card insertion: what can the card pay offline?
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return fmt.Errorf("%w: %w", errCannotPay, err)
	}
	demo.Field(w, "EC balance", "%s (single-transaction limit %s)", demo.AmountOrDash(bal.Balance), demo.AmountOrDash(bal.SingleLimit))
	termLimit, ok := terminalECLimit(cfg, bal.AID)
	if !ok {
		return fmt.Errorf("%w: the terminal does not accept electronic cash for AID %X", errCannotPay, []byte(bal.AID))
	}
	demo.Field(w, "terminal EC limit", "%s", termLimit)
	authorised := offlineCapacity(bal, termLimit)
	demo.Field(w, "authorised", "%s (the most the card can pay offline)", authorised)
	if authorised == 0 {
		demo.Field(w, "REFUSED", "the card cannot pay for any fuel offline: nothing dispensed")
		return errCannotPay
	}

	// 2. Dispense, stopping at the authorised amount.
	demo.Field(w, "price", "%s per litre", price)
	demo.Field(w, "requested", "%s L (%s)", litres(wanted), cost(wanted, price))
	dispensed, amount := dispense(wanted, price, authorised)
	note := ""
	if dispensed < wanted {
		note = " (stopped at the authorised amount)"
	}
	demo.Field(w, "dispensed", "%s L = %s%s", litres(dispensed), amount, note)
	if amount == 0 {
		demo.Field(w, "sale", "none: no fuel taken")
		return nil
	}

	// 3. Buy the final amount from the card, offline.
	res, err := k.Purchase(ctx, card, amount)
	if err != nil {
		return fmt.Errorf("%w: purchase %s: %w", errNotPaid, amount, err)
	}
	demo.Field(w, "PAN", "%s (AID %X)", res.PAN, []byte(res.AID))
	demo.Field(w, "outcome", "%s", res.Outcome)
	demo.Field(w, "reason", "%s", res.Reason)
	demo.Field(w, "detail", "%s", res.Detail)
	demo.Field(w, "balance before", "%s (as the card reported it)", demo.AmountOrDash(res.BalanceBefore))
	demo.Field(w, "balance after", "%s (as the card reports it)", demo.AmountOrDash(res.BalanceAfter))
	if res.Outcome != kernel.OutcomeApprovedOffline {
		demo.Field(w, "ALERT", "%s of fuel dispensed but the card did not approve the sale offline", amount)
		return fmt.Errorf("%w: %s (%s)", errNotPaid, res.Outcome, res.Reason)
	}

	// 4. The clearing record.
	rec := ClearingRecord{
		Time: res.TransactionTime, TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID,
		PAN: res.PAN, AID: res.AID, ATC: res.ATC, Amount: res.Amount, Currency: cfg.CurrencyCode,
		Cryptogram: res.Cryptogram, CID: fmt.Sprintf("%02X", res.CID), IAD: res.IAD,
		UnpredictableNumber: res.UnpredictableNumber, TVR: res.TVR, TSI: res.TSI,
		Field55: res.Field55, BalanceAfter: res.BalanceAfter,
		Litres: litres(dispensed), UnitPrice: price,
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if clearingFile == nil {
		demo.Field(w, "clearing record", "(next line)")
		_, err := w.Write(line)
		return err
	}
	if _, err := clearingFile.Write(line); err != nil {
		return fmt.Errorf("clearing record: %w", err)
	}
	if err := clearingFile.Close(); err != nil {
		return fmt.Errorf("clearing record: %w", err)
	}
	demo.Field(w, "clearing record", "appended to %s", *clearingFlag)
	return nil
}

// offlineCapacity is the most the card can pay offline at this terminal:
// min(EC balance, EC single-transaction limit, terminal EC limit). A missing
// balance means nothing; a missing single limit does not limit.
func offlineCapacity(b *kernel.Balance, terminalLimit kernel.Amount) kernel.Amount {
	if b.Balance == nil {
		return 0
	}
	m := min(*b.Balance, terminalLimit)
	if b.SingleLimit != nil {
		m = min(m, *b.SingleLimit)
	}
	return m
}

// terminalECLimit is the terminal's EC transaction limit for the card
// application aid, found as the kernel finds it: the matching terminal
// application (exact AID or allowed partial match), its 9F7B or, when that
// is zero, its floor limit. ok is false when EC is not offered for the AID.
func terminalECLimit(cfg kernel.Config, aid []byte) (kernel.Amount, bool) {
	for _, a := range cfg.Applications {
		if !bytes.Equal(a.AID, aid) && !(a.PartialMatch && len(aid) > len(a.AID) && bytes.HasPrefix(aid, a.AID)) {
			continue
		}
		limit := a.ECTransactionLimit
		if limit == 0 {
			limit = a.FloorLimit
		}
		return limit, a.EC && limit > 0
	}
	return 0, false
}

// dispense simulates the nozzle: the customer wants cl centilitres at price
// per litre; the pump meters in centilitres and closes the valve before the
// amount due would pass the authorised amount. It returns the centilitres
// dispensed and the amount due for them.
func dispense(cl uint64, price, authorised kernel.Amount) (uint64, kernel.Amount) {
	if due := cost(cl, price); due <= authorised {
		return cl, due
	}
	// cost(n) ≤ authorised ⇔ (n·price + 50) / 100 ≤ authorised
	//                       ⇔ n·price ≤ 100·authorised + 49.
	n := (100*uint64(authorised) + 49) / uint64(price)
	return n, cost(n, price)
}

// cost is the amount due for cl centilitres at price per litre, rounded to
// the fen (half up).
func cost(cl uint64, price kernel.Amount) kernel.Amount {
	return kernel.Amount((cl*uint64(price) + 50) / 100)
}

// parseCentilitres parses a volume in litres with up to two decimals.
func parseCentilitres(s string) (uint64, error) {
	v, err := kernel.ParseAmount(s) // the same fixed-point format: 12.34
	if err != nil {
		return 0, fmt.Errorf("--litres %q: want litres with up to two decimals", s)
	}
	if v > 100000_00 {
		return 0, fmt.Errorf("--litres %q: more than 100000 litres", s)
	}
	return uint64(v), nil
}

// litres formats centilitres as litres with two decimals.
func litres(cl uint64) string { return kernel.Amount(cl).String() }
