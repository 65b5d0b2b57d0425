// SPDX-License-Identifier: Apache-2.0

// Command kiosk is the self-service 圈存 kiosk (自助圈存机) of the mission's
// seed: a fuel card with the PBOC ED/EP purse is inserted, the cardholder
// types the PIN and chooses an amount or all of the card's reserve account
// (备付金), and the kiosk loads it into the card's wallet (圈存); it also
// unloads (圈提) and reads the card's balances and records. That is
// fuelcard.go, against the simulated fuel card, PSAM and reserve host, or a
// card (and a PSAM) in PC/SC readers:
//
//	go run ./examples/kiosk [--action load|unload|balance|records] [--amount 200.00|all]
//	                        [--pin 123456] [--reserve 2000.00] [--card FILE]
//	                        [--reader NAME] [--psam-reader NAME] [--store FILE] [--wallet ep|ed]
//
// The receipt shows the card's balance before and after as the card
// reports them and the reserve account before and after: the card gains
// exactly what the reserve loses.
//
// With --ec first, the kiosk loads electronic cash onto a PBOC debit card
// instead (圈存 of EC), written as a vendor integrates the kernel: its
// own acquirer link (a kernel.Host), its own PIN pad (a kernel.PINPad), a
// durable journal of clearing records and a durable torn log, against the
// simulated card or a card in a PC/SC reader. It depends on nothing of
// this repository's examples: copy this directory (main.go and
// fuelcard.go, the fuel-card mode) and replace the simulated parts (marked
// "simulated") with yours.
//
//	go run ./examples/kiosk --ec [--amount 200.00] [--type designated|non-designated|cash]
//	                        [--card FILE | --reader NAME [--test-ca] [--card FILE]]
//	                        [--pin 123456] [--account 2000.00] [--data-dir DIR]
//
// The kiosk reads the card's EC balance and balance limit, refuses a load
// that would take the balance above the limit before anything goes online,
// and otherwise runs the load through the issuer: a designated load
// (指定账户圈存) draws on the cardholder's back-office account and needs the
// online PIN, a non-designated load (非指定账户圈存) is funded by another
// account, a cash load (现金圈存) is paid into the kiosk. The issuer's script
// sets the new EC balance on the card. The program prints the balance before
// and after as the card reports them, the back-office side and the journal.
//
// The electronic-cash load is one function (loadEC); a kiosk that also
// serves the fuel card's electronic purse puts its purse load beside it.
//
// What the terminal keeps: the journal (every load, written before the
// result is shown, numbered with its STAN and batch, the PAN sealed under
// the terminal's data key) and the torn log (a load whose script outcome
// was lost with the card, kept until the same card comes back), both in
// --data-dir with the key of their PAN hashes and the data key. Without --data-dir they go to a new
// temporary directory, removed at the end: the simulated card starts
// afresh every run, and a journal that outlived it would see its ATCs
// again.
//
// --reader NAME loads the card in that PC/SC reader and prints what the
// kernel reports. The terminal then trusts the published CA keys only,
// unless --test-ca adds the simulator's test CA (for a simulated card
// served by `pboc serve-card`). The simulated issuer can only serve a card
// whose keys it knows: with --card FILE it is built from that profile, and
// the card in the reader is expected to be that simulated card, served by
// `pboc serve-card --profile FILE`:
//
//	go run ./cmd/pboc serve-card --profile testdata/cards/default.json &
//	go run ./examples/kiosk --reader "Virtual PCD" --test-ca --card testdata/cards/default.json
//
// Without --card there is no acquirer link: the load cannot be authorised
// and ends online_required.
//
// Exit status: 0 when the load ran (a decline is still a result), 1 when the
// kiosk refused the amount or the load could not run.
package main

import (
	"context"
	"crypto/rand"
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
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// errRefused is returned when the kiosk refuses the requested load before
// going online; the reason has already been printed.
var errRefused = errors.New("load refused")

// inserted, when set (by the tests), is called with the simulated card
// (nil when the card is in a reader) and the simulated issuer (nil when
// there is none) before the load runs.
var inserted func(card *cardsim.Card, issuer *hostsim.Host)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, errRefused), errors.Is(err, errDeclined):
		os.Exit(1) // the refusal is on the screen already
	case err != nil:
		fmt.Fprintln(os.Stderr, "kiosk:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	amount   kernel.Amount
	kind     kernel.LoadKind
	card     string // --card: a card profile file
	reader   string // --reader: a PC/SC reader
	testCA   bool   // --test-ca
	pin      string // what the cardholder types
	account  kernel.Amount
	dataDir  string
	cardSet  bool // --card was given
	readerIn bool // the card is in a reader
}

func parseOptions(args []string, w io.Writer) (*options, error) {
	fs := flag.NewFlagSet("kiosk", flag.ContinueOnError)
	fs.SetOutput(w)
	amount := fs.String("amount", "200.00", "amount to load in yuan")
	kind := fs.String("type", "designated", "load type: designated, non-designated or cash")
	o := &options{}
	fs.StringVar(&o.card, "card", "", "card profile JSON file (default: the built-in seed card); with --reader, the profile of the simulated card in the reader, whose keys the simulated issuer then uses")
	fs.StringVar(&o.reader, "reader", "", "PC/SC reader name (part of it is enough) holding the card, instead of the simulated card")
	fs.BoolVar(&o.testCA, "test-ca", false, "with --reader, also trust the simulator's test CA keys (a card served by pboc serve-card; never in production)")
	fs.StringVar(&o.pin, "pin", "123456", "PIN the cardholder types for a designated load (empty: bypass PIN entry)")
	account := fs.String("account", "2000.00", "balance of the card's back-office account at the simulated issuer, in yuan")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory of the journal, the torn log, their PAN-hash key and the data key (default: a new temporary directory, removed at the end)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var err error
	if o.amount, err = kernel.ParseAmount(*amount); err != nil {
		return nil, fmt.Errorf("--amount: %w", err)
	}
	if o.amount == 0 {
		return nil, errors.New("--amount: a load must be at least 0.01")
	}
	if o.kind, err = kernel.ParseLoadKind(*kind); err != nil {
		return nil, fmt.Errorf("--type: %w", err)
	}
	if o.account, err = kernel.ParseAmount(*account); err != nil {
		return nil, fmt.Errorf("--account: %w", err)
	}
	fs.Visit(func(f *flag.Flag) { o.cardSet = o.cardSet || f.Name == "card" })
	o.readerIn = o.reader != ""
	return o, nil
}

// run runs the fuel-card kiosk (fuelcard.go) or, with --ec first, the
// electronic-cash load.
func run(ctx context.Context, args []string, w io.Writer) error {
	if len(args) > 0 && (args[0] == "--ec" || args[0] == "-ec") {
		return runEC(ctx, args[1:], w)
	}
	return runFuelCard(ctx, args, w)
}

// runEC parses the flags, opens the card, the terminal's stores and the
// kernel, and runs one electronic-cash load, printing the steps to w. A load the kiosk
// refuses returns an error wrapping errRefused; a load the issuer or the
// card declines is printed and returns nil.
func runEC(ctx context.Context, args []string, w io.Writer) error {
	o, err := parseOptions(args, w)
	if err != nil {
		return err
	}
	card, err := openCard(ctx, o)
	if err != nil {
		return err
	}
	defer card.Close()
	issuer, err := newIssuer(card.profile, o.account)
	if err != nil {
		return err
	}
	st, err := openStores(o.dataDir)
	if err != nil {
		return err
	}
	defer st.close()
	cfg := kernel.DefaultConfig()
	cfg.MerchantName, cfg.TerminalID = "GO-PBOC CARD KIOSK", "KIOSK001"
	cfg.CAPK, cfg.PANHashKey = trustedKeys(o), st.panKey
	// The journal is also the counter (STAN, batch) and the data key
	// seals the PAN in each record, as in examples/pos.
	opts := []kernel.Option{kernel.WithPINPad(&pinPad{pin: o.pin, key: hostsim.DefaultPINKey()}),
		kernel.WithJournal(st.journal), kernel.WithCounter(st.journal), kernel.WithDataKey(st.dataKey), kernel.WithTornLog(st.torn)}
	if issuer != nil {
		opts = append(opts, kernel.WithHost(&acquirerLink{network: issuer, timeout: 30 * time.Second}))
	}
	k, err := kernel.New(cfg, opts...)
	if err != nil {
		return err
	}
	if inserted != nil {
		inserted(card.sim, issuer)
	}
	fmt.Fprintf(w, "fuel-card kiosk: %s load (圈存)\n", o.kind)
	field(w, "card", "%s", card.describe())
	field(w, "CA keys", "%s", trustNote(o))
	printIssuer(w, card, issuer)
	field(w, "journal", "%s", st.journal.Path())
	if st.temp {
		field(w, "terminal data", "a temporary directory, removed at the end (--data-dir keeps it)")
	}
	if err := loadEC(ctx, w, k, card, issuer, kernel.LoadRequest{Kind: o.kind, Amount: o.amount}); err != nil {
		return err
	}
	return printJournal(ctx, w, st.journal)
}

// loadEC is the electronic-cash load: read the balance and the limit,
// refuse before going online what the card cannot hold, run the load
// through the issuer, and print the balance the card reports afterwards.
func loadEC(ctx context.Context, w io.Writer, k *kernel.Kernel, card *card, issuer *hostsim.Host, req kernel.LoadRequest) error {
	// 1. Read the card: balance and limit decide what can be loaded.
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return fmt.Errorf("read balance: %w", err)
	}
	if bal.Balance == nil || bal.Limit == nil {
		return errors.New("the card does not report its EC balance (9F79) and limit (9F77): cannot load")
	}
	field(w, "EC balance", "%s (limit %s)", *bal.Balance, *bal.Limit)
	room := kernel.Amount(0)
	if *bal.Limit > *bal.Balance {
		room = *bal.Limit - *bal.Balance
	}
	field(w, "can be loaded", "up to %s", room)
	printBackOffice(w, issuer, card.pan(), req.Kind)

	// 2. Refuse, before going online, what the card cannot hold. (The card
	// refuses too; this spares the cardholder a charge to be reversed.)
	field(w, "load", "%s", req.Amount)
	if req.Amount > room {
		field(w, "REFUSED", "loading %s would bring the EC balance to %s, above the card's limit of %s; at most %s can be loaded. Nothing was charged.",
			req.Amount, *bal.Balance+req.Amount, *bal.Limit, room)
		return fmt.Errorf("%w: %s is more than the %s the card can take", errRefused, req.Amount, room)
	}

	// 3. The load, online.
	res, err := k.Load(ctx, card, req)
	if errors.Is(err, kernel.ErrJournal) {
		field(w, "ALERT", "the load is done but its journal record was not written: %v", err)
	} else if err != nil {
		return fmt.Errorf("load %s: %w", res.Outcome, err)
	}
	printLoad(w, res)
	printBackOffice(w, issuer, card.pan(), req.Kind)
	printLedger(w, issuer)
	return nil
}

// printLoad prints the kernel's result of the load.
func printLoad(w io.Writer, res *kernel.Result) {
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
	if len(res.ScriptResults) > 0 {
		field(w, "script result 9F5B", "%X", []byte(res.ScriptResults))
	}
	field(w, "balance after", "%s (as the card reports it)", amountOrDash(res.BalanceAfter))
	if res.Reason == kernel.ReasonScriptFailed {
		field(w, "WARNING", "the card's EC balance was not updated as the issuer approved")
	}
	if res.Reversed {
		field(w, "WARNING", "the issuer reversed the load")
	}
}

// printBackOffice prints where the money of a load of kind comes from: the
// cardholder's account, the cash taken by the kiosk or the non-designated
// accounts' total; without an issuer, that there is none.
func printBackOffice(w io.Writer, issuer *hostsim.Host, pan string, kind kernel.LoadKind) {
	field(w, "back-office account", "%s", accountBalance(issuer, pan))
	if issuer == nil {
		return
	}
	switch kind {
	case kernel.LoadCash:
		field(w, "cash taken", "%s", issuer.CashTotal())
	case kernel.LoadNonDesignated:
		field(w, "non-designated funds", "%s", issuer.NonDesignatedTotal())
	}
}

// ---- The terminal's acquirer link: a kernel.Host ----

// acquirerLink is this terminal's kernel.Host: the adapter a vendor writes
// around its link to the acquirer. The kernel hands it an authorisation
// request (the ARQC in field 55, the enciphered PIN block, the PAN — masked
// when printed) and takes back the response code, the issuer
// authentication data and the scripts. A real link sends an ISO 8583
// message to the acquirer (see this module's acquirer package) over its
// own connection; here the "network" is the simulated issuer.
//
// Rules the kernel relies on: an error means "unable to go online" (the
// terminal action codes decide, and a top-up or load is never completed
// without the issuer), so every failure of the link — timeout, refused
// connection, a malformed answer — is an error, never a made-up decline.
// Reverse and ReverseScript let the kernel undo an approval the card did
// not complete, or a refill the card did not take.
type acquirerLink struct {
	network *hostsim.Host // simulated: the acquirer's side of the link
	timeout time.Duration // per request; a real link has its own
}

var (
	_ kernel.Host           = (*acquirerLink)(nil)
	_ kernel.Reverser       = (*acquirerLink)(nil)
	_ kernel.ScriptReverser = (*acquirerLink)(nil)
)

// Authorize sends the request and waits for the answer, at most timeout.
func (a *acquirerLink) Authorize(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	resp, err := a.network.Authorize(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("acquirer: authorise %s: %w", req, err)
	}
	return resp, nil
}

// Reverse asks the acquirer to undo an approved request the card did not
// complete.
func (a *acquirerLink) Reverse(ctx context.Context, req *kernel.AuthRequest) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.network.Reverse(ctx, req)
}

// ReverseScript asks the acquirer to undo the refill of an approved
// request whose balance script did not take effect on the card.
func (a *acquirerLink) ReverseScript(ctx context.Context, req *kernel.AuthRequest) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.network.ReverseScript(ctx, req)
}

// newIssuer is the simulated issuer behind the link, with a back-office
// account holding balance for every application of p (cardholder PIN
// 123456). A nil p (a card in a reader whose keys are unknown) means no
// issuer and no link.
func newIssuer(p *cardsim.Profile, balance kernel.Amount) (*hostsim.Host, error) {
	if p == nil {
		return nil, nil
	}
	h := hostsim.New()
	for _, app := range p.Applications {
		acc, err := hostsim.AccountFromProfile(app, balance, "123456")
		if err != nil {
			return nil, err
		}
		if err := h.AddAccount(acc); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// ---- The PIN pad: a kernel.PINPad ----

// pinPad is this terminal's kernel.PINPad. A real one is a secure PIN
// entry device: the cardholder types on it, it builds the ISO 9564 PIN
// block and enciphers it under the PIN key it shares with the acquirer,
// and only the enciphered block ever leaves it. This one is simulated:
// the "typed" PIN is given, and the key is the simulated issuer's test
// key. The block is never logged or printed.
type pinPad struct {
	pin string // simulated: what the cardholder types; empty = bypass
	key []byte // the PIN encryption key (TDES), shared with the acquirer
}

var _ kernel.PINPad = (*pinPad)(nil)

// OnlinePIN returns the enciphered format-0 PIN block for pan, or
// kernel.ErrPINBypass when the cardholder presses "bypass".
func (p *pinPad) OnlinePIN(ctx context.Context, pan string, _ kernel.Amount) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.pin == "" {
		return nil, kernel.ErrPINBypass
	}
	block, err := keys.PINBlock(p.pin, pan)
	if err != nil {
		return nil, fmt.Errorf("PIN pad: %w", err)
	}
	defer clear(block) // the clear block lives no longer than needed
	return keys.EncryptPINBlock(keys.TDES, p.key, block)
}

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
		d, err := os.MkdirTemp("", "pboc-kiosk-")
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

// pan is the PAN of the profile's first application (the simulated
// issuer's account), "" when unknown.
func (c *card) pan() string {
	if c.profile == nil {
		return ""
	}
	return c.profile.Applications[0].PAN
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printIssuer says which issuer the terminal reaches, and what having none
// means.
func printIssuer(w io.Writer, c *card, issuer *hostsim.Host) {
	switch {
	case issuer == nil:
		field(w, "issuer host", "none: the card is in a reader and no --card profile gives the simulated issuer its keys; "+
			"online steps end online_required")
	case c.reader != nil:
		field(w, "issuer host", "simulated, with the keys of %s (the reader's card is expected to be that simulated card)", c.source)
	default:
		field(w, "issuer host", "simulated")
	}
}

// accountBalance is the back-office balance of the account for pan at the
// simulated issuer.
func accountBalance(issuer *hostsim.Host, pan string) string {
	if issuer == nil {
		return "- (no issuer host)"
	}
	a, ok := issuer.Account(pan)
	if !ok {
		return "-"
	}
	return a.Balance.String()
}

// printLedger prints the simulated issuer's ledger, one line per request.
func printLedger(w io.Writer, issuer *hostsim.Host) {
	if issuer == nil {
		return
	}
	for _, e := range issuer.Ledger() {
		field(w, fmt.Sprintf("issuer ledger #%d", e.Seq), "%s %s, response %s: %s", e.Kind, e.Amount, dash(e.ResponseCode), dash(e.Note))
	}
}
