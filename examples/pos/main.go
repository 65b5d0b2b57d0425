// SPDX-License-Identifier: Apache-2.0

// Command pos is a POS purchase with automatic top-up (自动圈存), written
// as a vendor integrates the kernel: the acquirer link over ISO 8583 (this
// module's acquirer.Link is the kernel.Host), its own PIN pad (the PED: a
// kernel.PINPad and the link's acquirer.SecurityModule), a durable journal
// of clearing records and a durable torn log, against the simulated card or
// a card in a PC/SC reader. It depends on nothing of this repository's examples: copy this
// file and replace the simulated parts (marked "simulated") with yours.
//
//	go run ./examples/pos [--amount 4.50] [--card FILE | --reader NAME [--test-ca] [--card FILE]]
//	                      [--pin 123456] [--account 2000.00] [--data-dir DIR] [--acquirer HOST:PORT]
//
// The default card holds 5.00 of electronic cash with a reset threshold of
// 1.00 and a balance limit of 1000.00. A purchase of 4.50 would leave 0.50,
// below the threshold, so the kernel does not approve it offline: it asks
// the PIN pad for the cardholder's online PIN and goes online with a top-up
// request. The issuer approves, charges the purchase and the refill to the
// back-office account, and sends a script (PUT DATA 9F79 with its MAC) that
// sets the EC balance back to the limit. The program prints each step: the
// balance before, the outcome and its reason, the script result (9F5B), the
// EC balance as the card reports it afterwards, the back-office account and
// the journal. A purchase that leaves the balance at or above the
// threshold is approved offline by the card, without a top-up.
//
// What the terminal keeps: the journal (every approval, written before the
// result is shown) and the torn log (a sale the card was pulled from, kept
// until the same card comes back), both in --data-dir with the key of
// their PAN hashes. Without --data-dir they go to a new temporary
// directory, removed at the end: the simulated card starts afresh every
// run, and a journal that outlived it would see its ATCs again.
//
// --reader NAME runs the purchase on the card in that PC/SC reader and
// prints what the kernel reports. The terminal then trusts the published
// CA keys only, unless --test-ca adds the simulator's test CA (for a
// simulated card served by `pboc serve-card`). The simulated issuer can
// only serve a card whose keys it knows: with --card FILE it is built from
// that profile, and the card in the reader is expected to be that
// simulated card, served by `pboc serve-card --profile FILE`:
//
//	go run ./cmd/pboc serve-card --profile testdata/cards/low-balance.json &
//	go run ./examples/pos --reader "Virtual PCD" --test-ca --card testdata/cards/low-balance.json
//
// Without --card there is no acquirer link, and a sale that must go
// online ends online_required.
//
// The acquirer: by default a loopback simulator (acquirer/acquirersim) on
// 127.0.0.1, in front of the simulated issuer, which the link reaches over
// TCP: sign-in (working keys under the terminal master key), the 0200 with
// its MAC and the PIN enciphered under the PIK, the script result advice
// after it; the program prints what the acquirer received. --acquirer
// HOST:PORT dials another (pboc serve-acquirer, whose test TMK this uses).
//
// Exit status: 0 when the transaction ran (a decline is still a result), 1
// when it could not run (bad flags, unreadable card profile, no card in the
// reader, terminated).
package main

import (
	"context"
	"crypto/des"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// inserted, when set (by the tests), is called with the simulated card
// (nil when the card is in a reader) and the simulated issuer (nil when
// there is none) before the transaction runs.
var inserted func(card *cardsim.Card, issuer *hostsim.Host)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pos:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	amount   kernel.Amount
	card     string // --card: a card profile file
	reader   string // --reader: a PC/SC reader
	testCA   bool   // --test-ca
	pin      string // what the cardholder types
	account  kernel.Amount
	dataDir  string
	acquirer string // --acquirer: "" starts the loopback simulator
	cardSet  bool   // --card was given
	readerIn bool   // the card is in a reader
}

func parseOptions(args []string, w io.Writer) (*options, error) {
	fs := flag.NewFlagSet("pos", flag.ContinueOnError)
	fs.SetOutput(w)
	amount := fs.String("amount", "4.50", "purchase amount in yuan")
	o := &options{}
	fs.StringVar(&o.card, "card", "", "card profile JSON file (default: the built-in seed card with 5.00); with --reader, the profile of the simulated card in the reader, whose keys the simulated issuer then uses")
	fs.StringVar(&o.reader, "reader", "", "PC/SC reader name (part of it is enough) holding the card, instead of the simulated card")
	fs.BoolVar(&o.testCA, "test-ca", false, "with --reader, also trust the simulator's test CA keys (a card served by pboc serve-card; never in production)")
	fs.StringVar(&o.pin, "pin", "123456", "PIN the cardholder types on the PIN pad (empty: bypass PIN entry)")
	account := fs.String("account", "2000.00", "balance of the card's back-office account at the simulated issuer, in yuan")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory of the journal, the torn log, the acquirer link's state and their keys (default: a new temporary directory, removed at the end)")
	fs.StringVar(&o.acquirer, "acquirer", "", "the acquirer's HOST:PORT (default: a loopback simulator in front of the simulated issuer)")
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
		return nil, errors.New("--amount: a purchase must be at least 0.01")
	}
	if o.account, err = kernel.ParseAmount(*account); err != nil {
		return nil, fmt.Errorf("--account: %w", err)
	}
	fs.Visit(func(f *flag.Flag) { o.cardSet = o.cardSet || f.Name == "card" })
	o.readerIn = o.reader != ""
	return o, nil
}

// run parses the flags, opens the card, the terminal's stores and the
// kernel, and runs one purchase, printing the steps to w. It returns an
// error only when the purchase could not run; a decline is printed, not
// returned.
func run(ctx context.Context, args []string, w io.Writer) error {
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
	cfg.CAPK, cfg.PANHashKey = trustedKeys(o), st.panKey
	pad := &ped{pin: o.pin, tmk: testTMK}
	opts := []kernel.Option{kernel.WithPINPad(pad), kernel.WithJournal(st.journal), kernel.WithCounter(st.journal),
		kernel.WithDataKey(st.dataKey), kernel.WithTornLog(st.torn)}
	var acq *acquirerLink
	if issuer != nil || o.acquirer != "" {
		if acq, err = openAcquirer(ctx, o.acquirer, issuer, cfg, pad, st); err != nil {
			return err
		}
		defer acq.close()
		opts = append(opts, kernel.WithHost(acq.Link)) // the whole integration
	}
	k, err := kernel.New(cfg, opts...)
	if err != nil {
		return err
	}
	if inserted != nil {
		inserted(card.sim, issuer)
	}
	fmt.Fprintln(w, "POS purchase with automatic top-up (自动圈存)")
	field(w, "card", "%s", card.describe())
	field(w, "CA keys", "%s", trustNote(o))
	printIssuer(w, card, issuer)
	if acq != nil {
		field(w, "acquirer", "%s", acq.describe)
	}
	field(w, "journal", "%s", st.journal.Path())
	if st.temp {
		field(w, "terminal data", "a temporary directory, removed at the end (--data-dir keeps it)")
	}
	res, err := purchaseEC(ctx, w, k, card, issuer, o.amount)
	if err != nil {
		return err
	}
	if acq != nil {
		acq.finish(ctx, w, res)
	}
	return printJournal(ctx, w, st.journal)
}

// purchaseEC is the electronic-cash sale: read what decides the path, run
// the purchase (the kernel chooses offline, online or top-up), and print
// what happened as the card and the issuer report it.
func purchaseEC(ctx context.Context, w io.Writer, k *kernel.Kernel, card *card, issuer *hostsim.Host, amount kernel.Amount) (*kernel.Result, error) {
	// 1. Card inserted: the EC parameters that decide the path.
	bal, err := k.ReadBalance(ctx, card)
	if err != nil {
		return nil, fmt.Errorf("read balance: %w", err)
	}
	field(w, "EC balance", "%s (limit %s, single limit %s, reset threshold %s)",
		amountOrDash(bal.Balance), amountOrDash(bal.Limit), amountOrDash(bal.SingleLimit), amountOrDash(bal.ResetThreshold))
	field(w, "back-office account", "%s", accountBalance(issuer, card.pan()))

	// 2. The purchase.
	field(w, "purchase", "%s", amount)
	res, err := k.Purchase(ctx, card, amount)
	if errors.Is(err, kernel.ErrJournal) {
		// The sale stands (the card has been charged) but its clearing
		// record is not durable: keep the result and raise the alarm.
		field(w, "ALERT", "the sale is approved but its journal record was not written: %v", err)
	} else if err != nil {
		return nil, fmt.Errorf("purchase %s: %w", res.Outcome, err)
	}
	printResult(w, res)
	field(w, "back-office account", "%s", accountBalance(issuer, card.pan()))
	printLedger(w, issuer)
	return res, nil
}

// printResult prints the kernel's result of the purchase.
func printResult(w io.Writer, res *kernel.Result) {
	field(w, "PAN", "%s (AID %X)", res.PAN, []byte(res.AID))
	field(w, "balance before", "%s (as the card reported it)", amountOrDash(res.BalanceBefore))
	field(w, "top-up requested", "%s", yesNo(res.TopUp))
	if res.TVR.Has(kernel.TVROnlinePINEntered) {
		field(w, "online PIN", "entered")
	}
	field(w, "outcome", "%s", res.Outcome)
	field(w, "reason", "%s", res.Reason)
	field(w, "detail", "%s", res.Detail)
	if len(res.Cryptogram) > 0 {
		field(w, "cryptogram", "%X (CID %02X)", []byte(res.Cryptogram), res.CID)
	}
	if res.ResponseCode != "" {
		field(w, "response code", "%s", res.ResponseCode)
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
	if res.Reason == kernel.ReasonScriptFailed {
		field(w, "WARNING", "the EC balance was not topped up as the issuer approved")
	}
	if res.Reversed {
		field(w, "WARNING", "the issuer reversed the EC part of the request")
	}
}

// ---- The terminal's acquirer link: acquirer.Link is the kernel.Host ----

// testTMK is the terminal master key the terminal shares with its acquirer
// (injected at the factory into the PED): here the simulator's published
// test key, which pboc serve-acquirer uses too. Never a real key.
var testTMK = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}

// acquirerLink is the terminal's link to its acquirer over ISO 8583
// (acquirer.Link: sale, the reversal queue, script advices, the offline
// uploads before each online request, settlement), with its durable state
// and, in this program, the loopback acquirer it talks to.
type acquirerLink struct {
	*acquirer.Link
	state    *acquirer.State
	sim      *acquirersim.Sim // simulated: the acquirer; nil with --acquirer
	describe string
}

// openAcquirer signs the terminal in with the acquirer at addr, or with a
// loopback simulator in front of issuer when addr is "". The link numbers
// its messages from the journal, as the kernel does; it uploads the
// journal's offline sales (their PANs opened with the data key) and, after
// a crash, settles an approval from the journal's record.
func openAcquirer(ctx context.Context, addr string, issuer *hostsim.Host, cfg kernel.Config, pad *ped, st *stores) (*acquirerLink, error) {
	a := &acquirerLink{describe: "ISO 8583 (UnionPay POS) at " + addr}
	if addr == "" { // simulated
		sim, err := acquirersim.New(acquirersim.Config{Host: issuer, TMK: testTMK})
		if err != nil {
			return nil, err
		}
		if err := sim.Start("127.0.0.1:0"); err != nil {
			return nil, err
		}
		a.sim, addr = sim, sim.Addr()
		a.describe = "loopback simulator at " + addr + " (ISO 8583, UnionPay POS), in front of the simulated issuer"
	}
	var err error
	if a.state, err = acquirer.OpenState(ctx, filepath.Join(st.dir, "acquirer.state"), st.dataKey); err != nil {
		a.close()
		return nil, err
	}
	lc := acquirer.Config{Addr: addr, TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID, Timeout: 30 * time.Second}
	a.Link, err = acquirer.Open(ctx, lc, pad, a.state, acquirer.WithCounter(st.journal),
		acquirer.WithClearing(acquirer.JournalClearing(st.journal, st.dataKey)), acquirer.WithEvidence(acquirer.JournalEvidence(st.journal)))
	if err != nil {
		a.close()
		return nil, err
	}
	if err := a.SignIn(ctx); err != nil { // new working keys into the PED
		a.close()
		return nil, fmt.Errorf("acquirer %s: sign-in: %w", addr, err)
	}
	return a, nil
}

// finish reports the transaction's script results to the acquirer (a
// script result advice), sends what is owed now rather than before the
// next sale, and prints what the loopback acquirer received.
func (a *acquirerLink) finish(ctx context.Context, w io.Writer, res *kernel.Result) {
	if err := a.Complete(ctx, res); err != nil {
		field(w, "WARNING", "the acquirer link: %v", err)
	}
	if err := a.Flush(ctx); err != nil {
		field(w, "WARNING", "not yet sent to the acquirer (goes before the next sale): %v", err)
	}
	if a.sim == nil {
		return
	}
	for _, m := range a.sim.Received() {
		field(w, "acquirer received", "%s stan %s 60.1 %s 60.3 %s, answered %s", m.MTI, m.STAN, m.Type60, m.Network, dash(m.Response))
	}
}

func (a *acquirerLink) close() {
	if a.Link != nil {
		a.Link.Close()
	}
	if a.state != nil {
		a.state.Close()
	}
	if a.sim != nil {
		a.sim.Close()
	}
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

// ---- The PIN pad: a kernel.PINPad and the link's acquirer.SecurityModule ----

// ped is this terminal's PIN entry device. A real one is tamper-resistant
// hardware: the terminal master key was injected into it, it deciphers the
// working keys of each sign-in, computes the MAC of every message to the
// acquirer, and enciphers the PIN the cardholder types under the PIK; no
// key and no PIN ever leaves it. This one is simulated in memory: the
// "typed" PIN is given. Nothing here is logged or printed.
type ped struct {
	pin      string // simulated: what the cardholder types; empty = bypass
	tmk      []byte // injected at the factory
	mu       sync.Mutex
	pik, mak []byte // the working keys of the last sign-in
}

var (
	_ kernel.PINPad           = (*ped)(nil)
	_ acquirer.SecurityModule = (*ped)(nil)
)

// LoadWorkingKeys deciphers the sign-in's PIK and MAK under the TMK (triple
// DES, ECB) and installs them only when both check values match.
func (p *ped) LoadWorkingKeys(_ context.Context, w acquirer.WorkingKeys) error {
	tmk, err := des.NewTripleDESCipher(append(append([]byte(nil), p.tmk...), p.tmk[:8]...))
	if err != nil {
		return err
	}
	clearKey := func(enc []byte, cv [acquirer.CheckValueLen]byte) ([]byte, error) {
		if len(enc) == 0 || len(enc)%8 != 0 {
			return nil, acquirer.ErrKey
		}
		k := make([]byte, len(enc))
		for i := 0; i < len(enc); i += 8 {
			tmk.Decrypt(k[i:i+8], enc[i:i+8])
		}
		got, err := acquirer.CheckValue(k)
		if err != nil || subtle.ConstantTimeCompare(got[:], cv[:]) != 1 {
			clear(k)
			return nil, acquirer.ErrCheckValue
		}
		return k, nil
	}
	pik, err := clearKey(w.PIK, w.PIKCheck)
	if err != nil {
		return err
	}
	mak, err := clearKey(w.MAK, w.MAKCheck)
	if err != nil {
		clear(pik)
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pik, p.mak = pik, mak
	return nil
}

// MAC computes field 64 (the UnionPay POS "CUP ECB" MAC) under the MAK.
func (p *ped) MAC(_ context.Context, mab []byte) ([acquirer.MACLen]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mak == nil {
		return [acquirer.MACLen]byte{}, acquirer.ErrNoKeys
	}
	return acquirer.CUPMAC(p.mak, mab)
}

// OnlinePIN returns the format-0 PIN block for pan enciphered under the
// PIK, or kernel.ErrPINBypass when the cardholder presses "bypass".
func (p *ped) OnlinePIN(ctx context.Context, pan string, _ kernel.Amount) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.pin == "" {
		return nil, kernel.ErrPINBypass
	}
	p.mu.Lock()
	pik := append([]byte(nil), p.pik...)
	p.mu.Unlock()
	if len(pik) == 8 {
		pik = append(pik, pik...) // a single-length PIK is triple DES with K1 = K2
	}
	defer clear(pik)
	if len(pik) != 16 {
		return nil, fmt.Errorf("%w: no PIK (sign in first)", kernel.ErrPINPadUnavailable)
	}
	block, err := keys.PINBlock(p.pin, pan)
	if err != nil {
		return nil, fmt.Errorf("PIN pad: %w", err)
	}
	defer clear(block) // the clear block lives no longer than needed
	return keys.EncryptPINBlock(keys.TDES, pik, block)
}

// ---- What the terminal keeps: journal, torn log, PAN-hash key ----

// stores are the terminal's durable files.
type stores struct {
	dir     string
	temp    bool // dir is ours to remove
	journal *journal.File
	torn    *kernel.FileTornLog
	panKey  []byte
	dataKey journal.DataKey // encrypts the PANs the journal and the link keep
}

// openStores opens the journal (journal.dat), the torn log (torn.dat), the
// key of their PAN hashes (pan-hash.key) and the data key that encrypts
// the PANs they and the acquirer link keep (data.key), 32 random bytes each
// made with the directory, in dir, or in a new temporary directory when dir
// is "".
// The key must stay the same for the life of the files: records are
// matched to a card by it. A real terminal keeps it in its secure storage.
func openStores(dir string) (*stores, error) {
	s := &stores{dir: dir}
	if dir == "" {
		d, err := os.MkdirTemp("", "pboc-pos-")
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
		field(w, "journal record", "%s %s ATC %d CID %s %s", r.Kind, kernel.Amount(r.Amount), r.ATC, strings.ToUpper(r.CID), r.Outcome)
	}
	field(w, "journal records", "%d", len(recs))
	return nil
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
// from --card (the built-in seed card with 5.00 by default).
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
		c.profile, c.source = seedCard(), "built-in"
	}
	sim, err := cardsim.New(c.profile)
	if err != nil {
		return nil, err
	}
	c.sim, c.Transport = sim, sim
	return c, nil
}

// seedCard is the built-in card: the seed card with an EC balance of 5.00.
func seedCard() *cardsim.Profile {
	p := cardsim.DefaultProfile()
	p.Name = "seed card with EC balance 5.00"
	p.Applications[0].EC.Balance = "5.00"
	return p
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
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
