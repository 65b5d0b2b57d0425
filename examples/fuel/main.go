// SPDX-License-Identifier: Apache-2.0

// Command fuel is an unattended fuel dispenser. It serves both card kinds:
// a fuel card with the PBOC ED/EP purse (the default, fuelcard.go), sold
// under the grey lock, and, with --ec first, a PBOC bank card paid with
// electronic cash.
//
//	go run ./examples/fuel [--litres 30] [--price 7.85] [--preset AMOUNT] [--pin 123456]
//	                       [--card FILE] [--reader NAME] [--psam-reader NAME]
//	                       [--store FILE] [--bill FILE]
//
// For a fuel card the pump checks the card's grey status (a card left grey
// by this pump is completed from its record, 补扣; one grey from elsewhere
// goes to the station's online unlock), locks the card for its balance
// with the PSAM's MAC1, checks the card's MAC2, releases the pump up to
// min(preset, balance), and when the nozzle is hung up has the PSAM compute
// the GMAC with which the card pays exactly what was delivered (DEBIT FOR
// UNLOCK). The dispenser bill (one JSON line, ASN masked) is appended to
// --bill or printed last.
//
// With --ec the dispenser is paid with electronic cash,
// written as a vendor integrates the kernel: a durable journal of clearing
// records and a durable torn log (a sale whose card was pulled after the
// fuel flowed is the dispenser's worst case), against the simulated card
// or a card in a PC/SC reader. It depends on nothing of this repository's
// examples: copy this directory (main.go and fuelcard.go, the fuel-card
// mode) and replace the simulated parts (marked "simulated") with yours.
//
//	go run ./examples/fuel --ec [--litres 30] [--price 7.85] [--card FILE | --reader NAME [--test-ca]]
//	                       [--ec-limit 1000.00] [--bill FILE] [--data-dir DIR]
//
// The dispenser is an offline terminal (EMV terminal type 26): it never
// talks to the issuer — it has no kernel.Host and no PIN pad, since an
// offline EC sale needs neither (the POS and kiosk examples show both) —
// so it may only release fuel the card can pay offline. At card insertion
// it reads the EC balance (9F79) and the single-transaction limit (9F78)
// and authorises dispensing up to min(balance, single limit, the
// terminal's EC transaction limit 9F7B). It then "dispenses" --litres at
// --price per litre, stopping at the authorised amount, and buys the final
// amount from the card offline: the card's TC approves the sale and the
// card deducts exactly that amount. The kernel journals the sale's
// clearing record before it returns, numbered (STAN and batch, the journal
// is the kernel's counter) and with the PAN encrypted under the terminal's
// data key: the acquirer upload is built from that record. The dispenser's
// own bill of the sale (one JSON line: the litres and the price beside the
// card's data, the masked PAN, and the STAN and batch that name the journal
// record) is appended to --bill, or printed last on standard output when
// --bill is "-" (the default).
//
// The electronic-cash refuelling is one function (refuelEC); a dispenser
// that also takes the fuel card's electronic purse (with its grey lock)
// puts the purse flow beside it.
//
// The journal, the torn log, the key of their PAN hashes and the data key
// live in --data-dir; without it, in a new temporary directory removed at the end
// (the simulated card starts afresh every run).
//
// --reader NAME takes the card in that PC/SC reader instead of the
// simulated one and prints what the kernel reports. The terminal then
// trusts the published CA keys only, unless --test-ca adds the simulator's
// test CA (for the simulated card served by `pboc serve-card`). The
// dispenser has no issuer, so it needs no card profile: --card and
// --reader exclude each other.
//
// Exit status: 0 when the fuel was paid for (or none was taken), 1 when the
// card cannot pay anything, the flags are wrong, or the card did not approve
// the final amount offline.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// Errors run returns (wrapped) after printing what happened.
var (
	// errCannotPay: the card cannot pay any fuel offline; nothing was dispensed.
	errCannotPay = errors.New("the card cannot pay for fuel offline")
	// errNotPaid: fuel was dispensed but the card did not approve the sale.
	errNotPaid = errors.New("fuel dispensed but not paid")
)

// inserted, when set (by the tests), is called with the simulated card (nil
// when the card is in a reader) before the dispenser reads it.
var inserted func(card *cardsim.Card)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fuel:", err)
		os.Exit(1)
	}
}

// DispenserBill is the dispenser's bill of one offline EC sale: what the
// station's back office keeps of the fuel sold, beside the card's data,
// written as one JSON line. It is not the clearing record — the kernel's
// journal holds that, with the encrypted PAN the acquirer upload needs —
// but names it by its STAN and batch.
type DispenserBill struct {
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
	// STAN and Batch are the sale's trace number and batch (the journal
	// record's, fields 11 and 60.2 of its upload).
	STAN  uint32 `json:"stan"`
	Batch uint32 `json:"batch"`
	// Amount is the sale amount (9F02), Currency its ISO 4217 numeric code
	// (5F2A) as the journal writes it, four digits: "0156".
	Amount   kernel.Amount `json:"amount"`
	Currency string        `json:"currency"`
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

// options are the command line.
type options struct {
	litres   uint64 // centilitres wanted
	price    kernel.Amount
	ecLimit  kernel.Amount // 0: the kernel's default
	bill     string
	card     string // --card: a card profile file
	reader   string // --reader: a PC/SC reader
	testCA   bool   // --test-ca
	dataDir  string
	cardSet  bool // --card was given
	readerIn bool // the card is in a reader
}

func parseOptions(args []string, w io.Writer) (*options, error) {
	fs := flag.NewFlagSet("fuel", flag.ContinueOnError)
	fs.SetOutput(w)
	litres := fs.String("litres", "30", "litres the customer wants (two decimals)")
	price := fs.String("price", "7.85", "price per litre in yuan")
	limit := fs.String("ec-limit", "", "the terminal's EC transaction limit (9F7B) in yuan (default: the kernel's default, 1000.00)")
	o := &options{}
	fs.StringVar(&o.bill, "bill", "-", `file the dispenser bill is appended to ("-": standard output)`)
	fs.StringVar(&o.card, "card", "", "card profile JSON file for the simulated card (default: the built-in seed card)")
	fs.StringVar(&o.reader, "reader", "", "PC/SC reader name (part of it is enough) holding the card, instead of the simulated card")
	fs.BoolVar(&o.testCA, "test-ca", false, "with --reader, also trust the simulator's test CA keys (a card served by pboc serve-card; never in production)")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory of the journal, the torn log, their PAN-hash key and the data key (default: a new temporary directory, removed at the end)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	fs.Visit(func(f *flag.Flag) { o.cardSet = o.cardSet || f.Name == "card" })
	o.readerIn = o.reader != ""
	if o.readerIn && o.cardSet {
		return nil, errors.New("--card and --reader: the dispenser has no issuer, so a card in a reader needs no profile")
	}
	var err error
	if o.litres, err = parseCentilitres(*litres); err != nil {
		return nil, err
	}
	if o.price, err = kernel.ParseAmount(*price); err != nil {
		return nil, fmt.Errorf("--price: %w", err)
	}
	if o.price == 0 {
		return nil, errors.New("--price: must be at least 0.01")
	}
	if *limit != "" {
		if o.ecLimit, err = kernel.ParseAmount(*limit); err != nil {
			return nil, fmt.Errorf("--ec-limit: %w", err)
		}
	}
	return o, nil
}

// terminalConfig is the dispenser's configuration: an unattended terminal
// without a host link (EMV terminal type 26). It can only take what the
// card approves offline, and with no online top-up the reset threshold
// does not send the sale online.
func terminalConfig(o *options, panKey []byte) kernel.Config {
	cfg := kernel.DefaultConfig()
	cfg.TerminalType = 0x26
	cfg.OnlineCapable = false
	cfg.MerchantName, cfg.TerminalID = "GO-PBOC FUEL STATION", "PUMP0001"
	cfg.CAPK, cfg.PANHashKey = trustedKeys(o), panKey
	if o.ecLimit != 0 {
		for i := range cfg.Applications {
			cfg.Applications[i].ECTransactionLimit = o.ecLimit
		}
	}
	return cfg
}

// run sells fuel against a fuel card (fuelcard.go) or, with --ec first,
// against an EC card.
func run(ctx context.Context, args []string, w io.Writer) error {
	if len(args) > 0 && (args[0] == "--ec" || args[0] == "-ec") {
		return runEC(ctx, args[1:], w)
	}
	return runFuelCard(ctx, args, w)
}

// runEC parses the flags, opens the sale record, the card, the terminal's
// stores and the kernel, and runs one refuelling paid with electronic cash,
// printing the steps to w.
func runEC(ctx context.Context, args []string, w io.Writer) error {
	o, err := parseOptions(args, w)
	if err != nil {
		return err
	}
	// Open the bill before any fuel flows: a sale whose bill cannot be
	// kept must not happen.
	out, err := openBill(o.bill)
	if err != nil {
		return err
	}
	defer out.Close() // on the early returns; closed and checked after a sale
	card, err := openCard(ctx, o)
	if err != nil {
		return err
	}
	defer card.Close()
	st, err := openStores(o.dataDir)
	if err != nil {
		return err
	}
	defer st.close()
	cfg := terminalConfig(o, st.panKey)
	// The journal is also the counter (STAN, batch) and the data key
	// seals the PAN in each record, as in examples/pos.
	k, err := kernel.New(cfg, kernel.WithJournal(st.journal), kernel.WithCounter(st.journal),
		kernel.WithDataKey(st.dataKey), kernel.WithTornLog(st.torn))
	if err != nil {
		return err
	}
	if inserted != nil {
		inserted(card.sim)
	}
	fmt.Fprintf(w, "fuel dispenser %s (offline, electronic cash)\n", cfg.TerminalID)
	field(w, "card", "%s", card.describe())
	field(w, "CA keys", "%s", trustNote(o))
	field(w, "journal", "%s", st.journal.Path())
	if st.temp {
		field(w, "terminal data", "a temporary directory, removed at the end (--data-dir keeps it)")
	}
	rec, err := refuelEC(ctx, w, k, card, o)
	if err != nil {
		return err
	}
	if err := printJournal(ctx, w, st.journal); err != nil {
		return err
	}
	if rec == nil {
		return nil // no fuel taken, no sale
	}
	return out.write(w, *rec)
}

// refuelEC is the electronic-cash refuelling: authorise what the card can
// pay offline, dispense up to it, and buy the final amount from the card.
// It returns the sale's bill, nil when no fuel was taken.
func refuelEC(ctx context.Context, w io.Writer, k *kernel.Kernel, card *card, o *options) (*DispenserBill, error) {
	authorised, err := authorise(ctx, w, k, card)
	if err != nil {
		return nil, err
	}
	field(w, "price", "%s per litre", o.price)
	field(w, "requested", "%s L (%s)", litres(o.litres), cost(o.litres, o.price))
	dispensed, amount := dispense(o.litres, o.price, authorised)
	note := ""
	if dispensed < o.litres {
		note = " (stopped at the authorised amount)"
	}
	field(w, "dispensed", "%s L = %s%s", litres(dispensed), amount, note)
	if amount == 0 {
		field(w, "sale", "none: no fuel taken")
		return nil, nil
	}
	res, err := pay(ctx, w, k, card, amount)
	if err != nil {
		return nil, err
	}
	bill := saleBill(k.Config(), res, dispensed, o.price)
	return &bill, nil
}

// authorise reads what the card can pay offline at this terminal:
// min(EC balance, single-transaction limit, terminal EC limit).
func authorise(ctx context.Context, w io.Writer, k *kernel.Kernel, card *card) (kernel.Amount, error) {
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errCannotPay, err)
	}
	field(w, "EC balance", "%s (single-transaction limit %s)", amountOrDash(bal.Balance), amountOrDash(bal.SingleLimit))
	cfg := k.Config()
	termLimit, ok := cfg.ECLimit(bal.AID)
	if !ok {
		return 0, fmt.Errorf("%w: the terminal does not accept electronic cash for AID %X", errCannotPay, []byte(bal.AID))
	}
	field(w, "terminal EC limit", "%s", termLimit)
	authorised := offlineCapacity(bal, termLimit)
	field(w, "authorised", "%s (the most the card can pay offline)", authorised)
	if authorised == 0 {
		field(w, "REFUSED", "the card cannot pay for any fuel offline: nothing dispensed")
		return 0, errCannotPay
	}
	return authorised, nil
}

// pay buys the final amount from the card, offline: only the card's TC
// pays for the fuel.
func pay(ctx context.Context, w io.Writer, k *kernel.Kernel, card *card, amount kernel.Amount) (*kernel.Result, error) {
	res, err := k.Purchase(ctx, card, amount)
	if errors.Is(err, kernel.ErrJournal) {
		field(w, "ALERT", "the sale is approved but its journal record was not written: %v", err)
	} else if err != nil {
		return nil, fmt.Errorf("%w: purchase %s: %w", errNotPaid, amount, err)
	}
	field(w, "PAN", "%s (AID %X)", res.PAN, []byte(res.AID))
	field(w, "outcome", "%s", res.Outcome)
	field(w, "reason", "%s", res.Reason)
	field(w, "detail", "%s", res.Detail)
	field(w, "balance before", "%s (as the card reported it)", amountOrDash(res.BalanceBefore))
	field(w, "balance after", "%s (as the card reports it)", amountOrDash(res.BalanceAfter))
	if res.Outcome != kernel.OutcomeApprovedOffline {
		field(w, "ALERT", "%s of fuel dispensed but the card did not approve the sale offline", amount)
		if res.Torn {
			field(w, "torn sale", "kept in the torn log until the card comes back")
		}
		return nil, fmt.Errorf("%w: %s (%s)", errNotPaid, res.Outcome, res.Reason)
	}
	return res, nil
}

// saleBill is the dispenser's bill of an approved sale.
func saleBill(cfg kernel.Config, res *kernel.Result, dispensed uint64, price kernel.Amount) DispenserBill {
	return DispenserBill{
		Time: res.TransactionTime, TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID,
		PAN: res.PAN, AID: res.AID, ATC: res.ATC, STAN: res.STAN, Batch: res.Batch,
		Amount: res.Amount, Currency: fmt.Sprintf("%04d", cfg.CurrencyCode),
		Cryptogram: res.Cryptogram, CID: fmt.Sprintf("%02X", res.CID), IAD: res.IAD,
		UnpredictableNumber: res.UnpredictableNumber, TVR: res.TVR, TSI: res.TSI,
		Field55: res.Field55, BalanceAfter: res.BalanceAfter,
		Litres: litres(dispensed), UnitPrice: price,
	}
}

// billOut is where the dispenser bills go: a file, or standard output.
type billOut struct {
	file *os.File // nil: standard output (w)
	path string
}

func openBill(path string) (*billOut, error) {
	if path == "-" {
		return &billOut{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("--bill: %w", err)
	}
	return &billOut{file: f, path: path}, nil
}

// write appends the bill as one JSON line and closes the file, checking
// the close.
func (c *billOut) write(w io.Writer, bill DispenserBill) error {
	line, err := json.Marshal(bill)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if c.file == nil {
		field(w, "dispenser bill", "(next line)")
		_, err := w.Write(line)
		return err
	}
	if _, err := c.file.Write(line); err != nil {
		return fmt.Errorf("dispenser bill: %w", err)
	}
	err = c.file.Close()
	c.file = nil
	if err != nil {
		return fmt.Errorf("dispenser bill: %w", err)
	}
	field(w, "dispenser bill", "appended to %s", c.path)
	return nil
}

// Close closes the file if write did not.
func (c *billOut) Close() error {
	if c.file == nil {
		return nil
	}
	return c.file.Close()
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

// ---- What the terminal keeps: journal, torn log, PAN-hash key, data key ----

// stores are the terminal's durable files.
type stores struct {
	dir     string
	temp    bool // dir is ours to remove
	journal *journal.File
	torn    *kernel.FileTornLog
	panKey  []byte
	dataKey journal.DataKey // encrypts the PAN in each journal record
}

// openStores opens the journal (journal.dat), the torn log (torn.dat), the
// key of their PAN hashes (pan-hash.key) and the data key that encrypts
// the PANs the journal keeps (data.key), 32 random bytes each made with
// the directory, in dir, or in a new temporary directory when dir is "".
// The keys must stay the same for the life of the files: records are
// matched to a card by the first and their PANs read back with the second.
// A real terminal keeps them in its secure storage.
func openStores(dir string) (*stores, error) {
	s := &stores{dir: dir}
	if dir == "" {
		d, err := os.MkdirTemp("", "pboc-fuel-")
		if err != nil {
			return nil, err
		}
		s.dir, s.temp = d, true
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	var err error
	if s.panKey, err = loadOrCreateKey(filepath.Join(s.dir, "pan-hash.key")); err != nil {
		return nil, s.fail(err)
	}
	raw, err := loadOrCreateKey(filepath.Join(s.dir, "data.key"))
	if err != nil {
		return nil, s.fail(err)
	}
	if s.dataKey, err = journal.NewAESGCMKey(raw); err != nil {
		return nil, s.fail(err)
	}
	if s.journal, err = journal.Open(filepath.Join(s.dir, "journal.dat")); err != nil {
		return nil, s.fail(err)
	}
	if s.torn, err = kernel.OpenTornLog(filepath.Join(s.dir, "torn.dat")); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

func (s *stores) fail(err error) error {
	s.close()
	return fmt.Errorf("terminal data in %s: %w", s.dir, err)
}

func (s *stores) close() {
	if s.torn != nil {
		s.torn.Close()
	}
	if s.journal != nil {
		s.journal.Close()
	}
	if s.temp {
		os.RemoveAll(s.dir)
	}
}

// loadOrCreateKey reads the 32-byte key at path, creating it (mode 0600)
// when it does not exist.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) == 32:
		return key, nil
	case err == nil:
		return nil, fmt.Errorf("%s: %d bytes, want 32", path, len(key))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, key, 0o600)
}

// printJournal prints what the journal holds: what the acquirer will be
// asked to clear.
func printJournal(ctx context.Context, w io.Writer, j *journal.File) error {
	recs, err := j.Records(ctx)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for _, r := range recs {
		field(w, "journal record", "%s %s ATC %d CID %s %s, STAN %06d batch %06d%s", r.Kind, kernel.Amount(r.Amount), r.ATC, strings.ToUpper(r.CID), r.Outcome, r.STAN, r.Batch, sealedNote(r))
	}
	field(w, "journal records", "%d", len(recs))
	return nil
}

// sealedNote says whether the record keeps the PAN encrypted.
func sealedNote(r journal.Record) string {
	if r.EncryptedPAN == nil {
		return ""
	}
	return ", PAN sealed"
}

// ---- The card and the CA keys ----

// card is the card the terminal talks to: the simulated one or the one in
// a PC/SC reader.
type card struct {
	apdu.Transport
	sim     *cardsim.Card    // the simulated card; nil with a reader
	reader  *pcsc.Card       // the card in the reader; nil for the simulated card
	profile *cardsim.Profile // the simulated card's profile (with a reader: --card's, or nil)
	source  string           // where the profile came from
}

// openCard opens the card in --reader, or personalises the simulated card
// from --card (the built-in seed card by default).
func openCard(ctx context.Context, o *options) (*card, error) {
	c := &card{}
	if o.cardSet {
		p, err := cardsim.LoadProfile(o.card)
		if err != nil {
			return nil, fmt.Errorf("--card: %w", err)
		}
		c.profile, c.source = p, o.card
	}
	if o.readerIn {
		r, err := pcsc.Open(ctx, o.reader)
		if err != nil {
			return nil, fmt.Errorf("--reader %q: %w", o.reader, err)
		}
		c.reader, c.Transport = r, r
		return c, nil
	}
	if c.profile == nil {
		c.profile, c.source = cardsim.DefaultProfile(), "built-in"
	}
	sim, err := cardsim.New(c.profile)
	if err != nil {
		return nil, err
	}
	c.sim, c.Transport = sim, sim
	return c, nil
}

func (c *card) Close() error {
	if c.reader != nil {
		return c.reader.Close()
	}
	return nil
}

func (c *card) describe() string {
	if c.reader != nil {
		return fmt.Sprintf("in reader %q (ATR %X, %s)", c.reader.Reader(), c.reader.ATR(), c.reader.Protocol())
	}
	return fmt.Sprintf("%s (%s)", c.profile.Name, c.source)
}

// trustedKeys is the CA key store: the published keys, and the simulator's
// test CA — whose private keys anyone can regenerate — only for the
// simulated card or with --test-ca. Never in production.
func trustedKeys(o *options) *capk.Store {
	s := capk.Builtin()
	if !o.readerIn || o.testCA {
		s.Merge(capk.TestKeys())
	}
	return s
}

func trustNote(o *options) string {
	if !o.readerIn || o.testCA {
		return "published keys + the simulator's test CA (A000000333 F1-F3; never in production)"
	}
	return "published keys only (capk.Builtin)"
}

// ---- The receipt ----

// field prints one receipt line: the label and a colon padded to 23
// columns, then the value.
func field(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "%-23s%s\n", label+":", fmt.Sprintf(format, args...))
}

// amountOrDash is a's value in yuan ("12.34"), or "-" when the card did not
// report it.
func amountOrDash(a *kernel.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}
