// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/internal/atomicfile"
	"github.com/go-pboc/pboc/purse"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// cmdPurse implements "pboc purse balance|records|load|unload|purchase|dispense".
func cmdPurse(ctx context.Context, e *env, args []string) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	p, ok := purseCommands[sub]
	if !ok && sub != "" {
		return badInput("unknown purse subcommand %q (want balance, records, load, unload, purchase or dispense)", sub)
	}
	if !ok { // pboc purse -h: every subcommand, every flag
		p = purseCommand{usage: "balance|records|load|unload|purchase|dispense [flags]", about: purseAbout(), amount: true}
	}
	f := newFlags(e, strings.TrimSpace("purse "+sub), p.usage, p.about)
	var pf purseFlags
	pf.register(f, p.amount)
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	if p.run == nil {
		return badInput("balance, records, load, unload, purchase or dispense needed (pboc purse -h)")
	}
	if err := pf.check(p.amount); err != nil {
		return err
	}
	return pf.run(ctx, e, p.run)
}

// purseAbout describes pboc purse and its subcommands.
func purseAbout() string {
	var b strings.Builder
	b.WriteString("Fuel cards: the PBOC electronic deposit / electronic purse (ED/EP) with the\n")
	b.WriteString("PSAM and the grey lock, against the simulated fuel card, PSAM and reserve host\n")
	b.WriteString("(or --reader and --psam-reader). pboc purse SUBCOMMAND -h lists its flags.\n")
	for _, n := range []string{"balance", "records", "load", "unload", "purchase", "dispense"} {
		fmt.Fprintf(&b, "\n%s%s\n", n, strings.ReplaceAll(purseCommands[n].about, "\n", "\n  "))
	}
	return b.String()
}

// purseCommand is one subcommand of pboc purse.
type purseCommand struct {
	usage, about string
	amount       bool // takes --amount
	run          func(ctx context.Context, pf *purseFlags, t *purse.Terminal, card apdu.Transport) (*purse.Result, *purse.Inquiry, error)
}

var purseCommands = map[string]purseCommand{
	"balance": {"[flags]", `
Reads the fuel card's wallets (the EP, and the ED after the PIN) and its grey
status. Open records of the card at this terminal are settled on the way.`, false,
		func(ctx context.Context, _ *purseFlags, t *purse.Terminal, c apdu.Transport) (*purse.Result, *purse.Inquiry, error) {
			return t.Inquire(ctx, c, false)
		}},
	"records": {"[flags]", `
Reads the fuel card's balances, grey status, cardholder file (masked) and its
EF18 transaction records, newest first.`, false,
		func(ctx context.Context, _ *purseFlags, t *purse.Terminal, c apdu.Transport) (*purse.Result, *purse.Inquiry, error) {
			return t.Inquire(ctx, c, true)
		}},
	"load": {"--amount 100 [flags]", `
圈存: moves AMOUNT from the card's reserve account (备付金) at the simulated
issuer into the card's wallet: VERIFY, INITIALIZE FOR LOAD, the host checks
MAC1 and debits the reserve, CREDIT FOR LOAD with its MAC2, the card's TAC
back to the host.`, true,
		func(ctx context.Context, pf *purseFlags, t *purse.Terminal, c apdu.Transport) (*purse.Result, *purse.Inquiry, error) {
			r, err := t.Load(ctx, c, pf.amount)
			return r, nil, err
		}},
	"unload": {"--amount 50 [flags]", `
圈提: moves AMOUNT from the card's ED (the only wallet PBOC unloads) back to
its reserve account: VERIFY, INITIALIZE FOR UNLOAD, the host's MAC2, DEBIT FOR
UNLOAD, the card's MAC3 to the host, which credits the reserve on it.`, true,
		func(ctx context.Context, pf *purseFlags, t *purse.Terminal, c apdu.Transport) (*purse.Result, *purse.Inquiry, error) {
			r, err := t.Unload(ctx, c, pf.amount)
			return r, nil, err
		}},
	"purchase": {"--amount 12.34 [flags]", `
An offline purchase with the PSAM: INITIALIZE FOR PURCHASE, PSAM MAC1 (80
70), DEBIT FOR PURCHASE, the PSAM checks the card's MAC2 (80 72); the TAC is
kept in the record for clearing.`, true,
		func(ctx context.Context, pf *purseFlags, t *purse.Terminal, c apdu.Transport) (*purse.Result, *purse.Inquiry, error) {
			r, err := t.Purchase(ctx, c, pf.amount)
			return r, nil, err
		}},
	"dispense": {"[--preset 300] [--deliver 250] [--price 7.85] [--pull-card] [flags]", `
A fuel sale under the grey lock (灰锁): GET GREY STATUS (a card grey from this
pump is completed, 补扣; from elsewhere, unlocked online), INITIALIZE FOR GREY
LOCK, PSAM E0 40, GREY LOCK, PSAM E0 42, the pump up to min(preset, balance),
PSAM GMAC (E0 44), DEBIT FOR UNLOCK, the TAC-unread flag cleared. The
simulated pump meters the fuel in centilitres and charges the volume at the
price (rounded to the fen), stopping before the charge would pass --deliver
(default: the preset, else 50.00), the preset or the balance. --pull-card
pulls the card out while the fuel flows: the card stays grey and the escape
record (逃卡) is in --journal; the next presentation of the card settles it.`, false,
		func(ctx context.Context, pf *purseFlags, t *purse.Terminal, c apdu.Transport) (*purse.Result, *purse.Inquiry, error) {
			r, err := t.Dispense(ctx, c, purse.DispenseRequest{Preset: pf.preset, Nozzle: pf.pump(c)})
			return r, nil, err
		}},
}

// purseFlags are the flags of every purse subcommand.
type purseFlags struct {
	card, reader, psamReader string
	save, json, trace        bool
	offline, pull            bool
	pin, walletText, journal string
	state                    string // --state
	reserveText              string
	amountText               string
	presetText, deliverText  string
	priceText                string

	amount, preset, deliver, price purse.Amount
	wallet                         purse.Wallet
	reserve                        purse.Amount
	profile                        *cardsim.PurseProfile
	sim                            *cardsim.PurseCard
	simSAM                         *psam.PSAM    // the simulated PSAM, nil with --psam-reader
	st                             *purseState   // --state, read before the PSAM and the host are made
	acq                            acquirerFlags // --acquirer: the host is the link (acquirer.go)
}

func (pf *purseFlags) register(f *flags, amount bool) {
	fs := f.fs
	fs.StringVar(&pf.card, "card", "", "fuel-card profile JSON `FILE` (default: the built-in seed fuel card); with --reader, the profile of the simulated card in the reader, for the simulated issuer and PSAM")
	fs.StringVar(&pf.reader, "reader", "", "PC/SC reader `NAME` holding the fuel card instead of the simulated one")
	fs.StringVar(&pf.psamReader, "psam-reader", "", "PC/SC reader `NAME` holding the PSAM (a second slot) instead of the simulated PSAM")
	fs.BoolVar(&pf.save, "save", false, "write the simulated card's state back to the --card file afterwards")
	fs.BoolVar(&pf.json, "json", false, "print one JSON object instead of the readable form")
	fs.BoolVar(&pf.trace, "trace", false, "with --json, also print the decoded APDU trace (to standard error)")
	fs.BoolVar(&pf.offline, "offline", false, "no host: loads and unloads are declined, a card grey from elsewhere stays grey")
	fs.StringVar(&pf.pin, "pin", cardholderPIN, "`PIN` the cardholder types on the simulated PIN pad (the seed card's is 123456; empty: cancelled)")
	fs.StringVar(&pf.walletText, "wallet", "ep", "`WALLET` for loads, purchases and the grey lock: ep or ed (unloads always use the ED)")
	fs.StringVar(&pf.journal, "journal", "", "keep the terminal's durable purse records in `FILE` (created if missing): every load, unload, purchase and fuel sale, the records of lost answers and the grey lock's escape record, each written before the step it guards; an open record of the card is settled when the card comes back (default: a temporary file, removed afterwards)")
	fs.StringVar(&pf.reserveText, "reserve", "2000.00", "the card's reserve account (备付金) at the simulated issuer, in yuan (`AMOUNT`); with --state, the opening balance of an account the state does not hold yet")
	fs.StringVar(&pf.state, "state", "", "keep the simulated PSAM's TTC and the simulated reserve's accounts in `FILE` between runs (created if missing, written atomically after each run; needs --journal, so that the terminal's records go on with them)")
	if amount {
		fs.StringVar(&pf.amountText, "amount", "", "`AMOUNT` in yuan, e.g. 100.00")
	}
	fs.StringVar(&pf.presetText, "preset", "", "dispense: the most the customer asks for, in yuan (`AMOUNT`; default: up to the balance)")
	fs.StringVar(&pf.deliverText, "deliver", "", "dispense: what the simulated pump delivers before the nozzle is hung up (`AMOUNT`; default: the preset, else 50.00)")
	fs.StringVar(&pf.priceText, "price", "7.85", "dispense: the price per litre (`AMOUNT`)")
	fs.BoolVar(&pf.pull, "pull-card", false, "dispense: the customer pulls the simulated card out while the fuel flows (the card stays grey; the escape record is kept in --journal)")
	pf.acq.register(f)
}

// check validates the flags before any APDU.
func (pf *purseFlags) check(needAmount bool) error {
	if pf.save && (pf.card == "" || pf.reader != "") {
		return badInput("--save needs --card FILE and the simulated card")
	}
	if pf.journal != "" && pf.reader == "" && !pf.save {
		// Without --save each run starts the simulated card afresh: its
		// counters and grey lock gone, an open record could not meet the
		// card it was made with.
		return badInput("--journal with the simulated card needs --card FILE --save, so that the card keeps its counters and grey lock between runs")
	}
	if pf.state != "" && pf.journal == "" {
		// The host knows the terminal's requests by their record IDs, which
		// a temporary store would number from 1 again: duplicates.
		return badInput("--state needs --journal FILE, so that the terminal's records go on with the PSAM and the reserve")
	}
	if pf.state != "" && sameFile(pf.state, pf.journal) {
		return badInput("--journal and --state name the same file %s: each needs its own", pf.state)
	}
	if pf.pull && pf.reader != "" {
		return badInput("--pull-card pulls the simulated card: not with --reader")
	}
	if err := pf.acq.check(); err != nil {
		return err
	}
	pin, err := parsePIN(pf.pin)
	if err != nil {
		return err
	}
	pf.pin = pin
	if pf.wallet, err = purse.ParseWallet(pf.walletText); err != nil {
		return badInput("--wallet %q: want ep or ed", pf.walletText)
	}
	if needAmount {
		if pf.amount, err = pursePositive("amount", pf.amountText); err != nil {
			return err
		}
	}
	return pf.checkAmounts()
}

func (pf *purseFlags) checkAmounts() error {
	var err error
	for _, a := range []struct {
		name, text string
		dst        *purse.Amount
	}{{"reserve", pf.reserveText, &pf.reserve}, {"preset", pf.presetText, &pf.preset}, {"price", pf.priceText, &pf.price}} {
		if a.text == "" {
			continue
		}
		if *a.dst, err = purseAmount(a.name, a.text); err != nil {
			return err
		}
	}
	switch {
	case pf.deliverText != "":
		pf.deliver, err = purseAmount("deliver", pf.deliverText)
	case pf.preset > 0:
		pf.deliver = pf.preset
	default:
		pf.deliver = 5000
	}
	return err
}

// purseAmount reads an amount flag into the purse's 4 bytes.
func purseAmount(name, typed string) (purse.Amount, error) {
	a, err := parseAmount(name, typed)
	if err != nil {
		return 0, err
	}
	if a > 0xFFFFFFFF {
		return 0, badInput("--%s %q: more than the purse's 42949672.95", name, typed)
	}
	return purse.Amount(a), nil
}

func pursePositive(name, typed string) (purse.Amount, error) {
	a, err := purseAmount(name, typed)
	if err == nil && a == 0 {
		return 0, badInput("--%s %q: must be more than 0", name, typed)
	}
	return a, err
}

// simPump is the simulated dispenser: it meters the fuel in centilitres
// and charges the volume at the price, rounded to the fen, closing the
// valve before the charge would pass what the customer takes (--deliver)
// or the limit the terminal sets (the preset and the card's balance).
// With --pull-card the card is pulled out while the fuel flows.
type simPump struct {
	deliver, price purse.Amount
	card           *pullableCard // nil: the card stays in
}

func (p simPump) Fuel(_ context.Context, limit purse.Amount) (purse.Fill, error) {
	if p.card != nil {
		p.card.pulled = true
	}
	cl, due := meter(min(p.deliver, limit), p.price)
	return purse.Fill{Amount: due, Volume: uint32(cl), Price: p.price, Grade: 92, Nozzle: 1}, nil
}

// meter is what the pump delivers for at most most at price per litre:
// the most centilitres whose charge, round(centilitres × price / 100) half
// up, is not above most, and that charge. A price of 0 delivers nothing.
func meter(most, price purse.Amount) (uint64, purse.Amount) {
	if price == 0 {
		return 0, 0
	}
	// (n·price + 50) / 100 ≤ most  ⇔  n·price ≤ 100·most + 49.
	n := (100*uint64(most) + 49) / uint64(price)
	return n, purse.Amount((n*uint64(price) + 50) / 100)
}

func (pf *purseFlags) pump(card apdu.Transport) purse.Nozzle {
	p := simPump{deliver: pf.deliver, price: pf.price}
	if pc, ok := card.(*tracedTransport); ok && pf.pull {
		p.card, _ = pc.t.(*pullableCard)
	}
	return p
}

// pullableCard is the simulated card in its reader, pulled out by the
// pump with --pull-card: every command after fails as a card removed.
type pullableCard struct {
	card   *cardsim.PurseCard
	pulled bool
}

func (p *pullableCard) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if p.pulled {
		return nil, fmt.Errorf("the customer pulled the card out: %w", cardsim.ErrCardRemoved)
	}
	return p.card.Transmit(ctx, b)
}

// purseStep is called between the steps of a run that write files; only
// the --state crash test sets it, to end a run there as a crash would.
var purseStep = func(string) {}

// run opens the card, the PSAM, the host and the store, runs the
// subcommand and prints what it did.
func (pf *purseFlags) run(ctx context.Context, e *env, op func(context.Context, *purseFlags, *purse.Terminal, apdu.Transport) (*purse.Result, *purse.Inquiry, error)) error {
	ctx, cancel := context.WithTimeout(ctx, transactionTimeout)
	defer cancel()
	tr := &purseTrace{}
	card, release, err := pf.openCard(ctx, tr)
	if err != nil {
		return err
	}
	defer release()
	st, closeStore, err := pf.openStore()
	if err != nil {
		return err
	}
	defer closeStore()
	purseStep("store-open")
	if pf.st, err = loadPurseState(pf.state); err != nil {
		return err
	}
	sam, closeSAM, err := pf.openSAM(ctx, tr)
	if err != nil {
		return err
	}
	defer closeSAM()
	local, err := pf.host()
	if err != nil {
		return err
	}
	ph, host, closeHost, err := pf.acq.purseHost(ctx, pf.offline, local)
	if err != nil {
		return err
	}
	defer closeHost()
	t, err := pf.terminal(st, sam, ph)
	if err != nil {
		return err
	}
	reserveBefore := pf.reserveBalance(host)
	res, q, txErr := op(ctx, pf, t, card)
	if err := pf.saveCard(); err != nil {
		return err
	}
	purseStep("card-saved")
	if err := pf.saveState(host); err != nil {
		return err
	}
	pf.print(e, tr, res, q, st, host, reserveBefore)
	switch {
	case txErr != nil:
		return txErr
	case res.Outcome == purse.OutcomeTerminated || res.Outcome == purse.OutcomePending:
		return fmt.Errorf("%s: %s", res.Outcome, res.Detail)
	}
	return nil
}

// openCard opens the fuel card: the one in --reader, else the simulated
// card from --card or the seed profile. Every command goes through the trace.
func (pf *purseFlags) openCard(ctx context.Context, tr *purseTrace) (apdu.Transport, func(), error) {
	if pf.card != "" {
		b, err := readInput("card", pf.card, cardsim.MaxProfileSize)
		if err != nil {
			return nil, nil, err
		}
		if pf.profile, err = cardsim.ParsePurseProfile(b); err != nil {
			return nil, nil, profileError("card", pf.card, err)
		}
	}
	if pf.reader != "" {
		c, err := pcsc.Open(ctx, pf.reader)
		if err != nil {
			return nil, nil, err
		}
		return tr.wrap("card", c), func() { c.Close() }, nil
	}
	if pf.profile == nil {
		pf.profile = cardsim.DefaultPurseProfile()
	}
	c, err := cardsim.NewPurseCard(pf.profile)
	if err != nil {
		return nil, nil, profileError("card", pf.card, err)
	}
	pf.sim = c
	return tr.wrap("card", &pullableCard{card: c}), func() {}, nil
}

// openSAM opens the PSAM: in --psam-reader, else the simulated PSAM with
// the purchase and TAC master keys of the card's profile.
func (pf *purseFlags) openSAM(ctx context.Context, tr *purseTrace) (*purse.PSAM, func(), error) {
	var t apdu.Transport
	release := func() {}
	if pf.psamReader != "" {
		c, err := pcsc.Open(ctx, pf.psamReader)
		if err != nil {
			return nil, nil, err
		}
		t, release = c, func() { c.Close() }
	} else {
		p := psam.DefaultProfile()
		if pf.profile != nil {
			p = psam.ForCard(pf.profile, "")
		}
		if err := pf.st.psamProfile(p, pf.state); err != nil {
			return nil, nil, err
		}
		s, err := psam.New(p)
		if err != nil {
			return nil, nil, err
		}
		t, pf.simSAM = s, s
		if pf.st != nil {
			t = &ttcReserver{sam: s, upto: s.TTC(), save: pf.reserveTTC}
		}
	}
	sam, err := purse.OpenPSAM(ctx, tr.wrap("PSAM", t))
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("the PSAM: %w", err)
	}
	return sam, release, nil
}

// host is the simulated reserve with the card's master keys and account
// (from --state when it holds them), or nil (--offline, or a card whose
// keys are unknown).
func (pf *purseFlags) host() (*hostsim.Reserve, error) {
	if pf.offline || pf.profile == nil {
		return nil, nil
	}
	r, _, err := hostsim.ReserveFor(pf.profile, pf.reserve)
	if err != nil {
		return nil, nil
	}
	return r, pf.st.restoreReserve(r, pf.state)
}

// saveState writes --state: the simulated PSAM's TTC and the simulated
// reserve's state (h, nil when the host was not the simulated one), each
// part not simulated in this run kept as it was.
func (pf *purseFlags) saveState(h *hostsim.Reserve) error {
	if pf.st == nil {
		return nil
	}
	if s := pf.simSAM; s != nil {
		pf.st.PSAM = &psamState{Serial: s.Snapshot().Serial, TTC: s.TTC()}
	}
	if h != nil {
		rs := h.State()
		pf.st.Reserve = &rs
	}
	return pf.st.save(pf.state)
}

func (pf *purseFlags) reserveBalance(h *hostsim.Reserve) *purse.Amount {
	if h == nil {
		return nil
	}
	asn, err := purse.ParseASN(pf.profile.ASN)
	if err != nil {
		return nil
	}
	b := h.Balance(asn)
	return &b
}

// openStore opens the --journal (its ASN-hash and sealing key in
// FILE.key, as pboc purchase keeps the journal's), or a temporary store
// removed afterwards.
func (pf *purseFlags) openStore() (*purse.Store, func(), error) {
	path, cleanup := pf.journal, func() {}
	if path == "" {
		dir, err := os.MkdirTemp("", "pboc-purse")
		if err != nil {
			return nil, nil, err
		}
		path, cleanup = filepath.Join(dir, "purse.log"), func() { os.RemoveAll(dir) }
	}
	if err := checkStoreFile("--journal", path); err != nil {
		cleanup()
		return nil, nil, err
	}
	key, err := panHashKey("--journal", path)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	st, err := purse.OpenStore(path, key)
	if err != nil {
		cleanup()
		return nil, nil, openError("--journal", path, err)
	}
	return st, func() { st.Close(); cleanup() }, nil
}

func (pf *purseFlags) terminal(st *purse.Store, sam *purse.PSAM, h purse.Host) (*purse.Terminal, error) {
	opts := []purse.Option{purse.WithStore(st), purse.WithSAM(sam), purse.WithPINPad(hostsim.PursePINPad{PIN: pf.pin})}
	if h != nil {
		opts = append(opts, purse.WithHost(h))
	}
	return purse.New(purse.Config{Wallet: pf.wallet}, opts...)
}

func (pf *purseFlags) saveCard() error {
	if !pf.save || pf.sim == nil {
		return nil
	}
	b, err := pf.sim.Snapshot().Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(pf.card, b, 0o644)
}

// purseTrace records the card's and the PSAM's commands in order.
type purseTrace struct{ entries []purseTraceEntry }

type purseTraceEntry struct {
	dev       string
	cmd, resp []byte
	err       error
}

type tracedTransport struct {
	t   apdu.Transport
	dev string
	tr  *purseTrace
}

func (tr *purseTrace) wrap(dev string, t apdu.Transport) apdu.Transport {
	return &tracedTransport{t: t, dev: dev, tr: tr}
}

func (t *tracedTransport) Transmit(ctx context.Context, c []byte) ([]byte, error) {
	r, err := t.t.Transmit(ctx, c)
	t.tr.entries = append(t.tr.entries, purseTraceEntry{t.dev, append([]byte(nil), c...), append([]byte(nil), r...), err})
	return r, err
}

// printTo prints the trace, each command named and decoded, card data
// masked.
func (tr *purseTrace) printTo(w io.Writer) {
	for _, x := range tr.entries {
		resp := x.resp
		if x.err != nil {
			resp = nil
		}
		d := purse.Describe(x.cmd, resp)
		// The PSAM's commands are named "PSAM …": the device column says so.
		name := strings.TrimPrefix(d.Name, x.dev+" ")
		fmt.Fprintf(w, "→ %-4s %-28s %s\n", x.dev, name, d.Command)
		if d.Sent != "" {
			fmt.Fprintf(w, "       %s\n", d.Sent)
		}
		switch {
		case x.err != nil:
			fmt.Fprintf(w, "←      error: %v\n", x.err)
		case d.Answer != "":
			fmt.Fprintf(w, "←      %s  %s\n", d.SW, d.Answer)
		default:
			fmt.Fprintf(w, "←      %s\n", d.SW)
		}
	}
}

// purseJSON is what --json prints.
type purseJSON struct {
	*purse.Result
	Inquiry       *purse.Inquiry `json:"inquiry,omitempty"`
	ReserveBefore *purse.Amount  `json:"reserve_before,omitempty"`
	ReserveAfter  *purse.Amount  `json:"reserve_after,omitempty"`
	Store         []purse.Record `json:"store_records,omitempty"`
}

func (pf *purseFlags) print(e *env, tr *purseTrace, res *purse.Result, q *purse.Inquiry, st *purse.Store, h *hostsim.Reserve, before *purse.Amount) {
	if res == nil {
		return
	}
	after := pf.reserveBalance(h)
	if pf.json {
		if pf.trace {
			tr.printTo(e.stderr)
		}
		_ = writeJSON(e.stdout, purseJSON{Result: res, Inquiry: q, ReserveBefore: before, ReserveAfter: after, Store: st.Records()})
		return
	}
	w := e.stdout
	tr.printTo(w)
	printPurseResult(w, res, q)
	if h != nil {
		fmt.Fprintf(w, "reserve account  %s → %s (the simulated issuer's 备付金)\n", purseAmountText(before), purseAmountText(after))
	}
	for _, r := range st.Records() {
		fmt.Fprintf(w, "record           %s %s %s %s%s\n", r.ID, r.Kind, r.State, r.Amount, hostNote(r))
	}
}

func hostNote(r purse.Record) string {
	if r.Host == purse.HostNone {
		return ""
	}
	return ", host " + string(r.Host)
}

func purseAmountText(a *purse.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

func printPurseResult(w io.Writer, r *purse.Result, q *purse.Inquiry) {
	fmt.Fprintf(w, "\noutcome          %s\n", r.Outcome)
	fmt.Fprintf(w, "reason           %s: %s\n", r.Reason, r.Detail)
	if r.ASN != "" {
		fmt.Fprintf(w, "card             ASN %s, AID %X, wallet %s\n", r.ASN, []byte(r.AID), r.Wallet)
	}
	if q != nil {
		printInquiry(w, q)
	} else {
		fmt.Fprintf(w, "amount           %s\n", r.Amount)
		fmt.Fprintf(w, "balance          %s → %s (as the card reported them)\n", purseAmountText(r.BalanceBefore), purseAmountText(r.BalanceAfter))
		fmt.Fprintf(w, "serial           %d (TTC %d, TID %s)\n", r.Serial, r.TTC, r.TID)
		for _, m := range []struct {
			name string
			v    purse.MAC
		}{{"MAC1", r.MAC1}, {"MAC2", r.MAC2}, {"MAC3", r.MAC3}, {"TAC", r.TAC}, {"GTAC", r.GTAC}, {"GMAC", r.GMAC}, {"PSAM-TAC", r.PSAMTAC}} {
			if !m.v.IsZero() {
				fmt.Fprintf(w, "%-16s %s\n", m.name, m.v)
			}
		}
		if r.Fill != nil {
			fmt.Fprintf(w, "fuel             %s: %d.%02d L at %s/L, grade %d, nozzle %d\n", r.Fill.Amount, r.Fill.Volume/100, r.Fill.Volume%100, r.Fill.Price, r.Fill.Grade, r.Fill.Nozzle)
		}
	}
	for _, s := range r.Settled {
		fmt.Fprintf(w, "settled          %s %s %s %s: %s\n", s.RecordID, s.Kind, s.State, s.Amount, s.Detail)
	}
	fmt.Fprintf(w, "APDUs            %d to the card\n", r.APDUs)
}

func printInquiry(w io.Writer, q *purse.Inquiry) {
	for _, b := range q.Balances {
		fmt.Fprintf(w, "%-16s %s\n", b.Wallet.String()+" balance", b.Balance)
	}
	if q.Grey != nil {
		fmt.Fprintf(w, "grey status      %s\n", q.Grey.StatusName())
	}
	if h := q.Cardholder; h != nil {
		fmt.Fprintf(w, "cardholder       card type %02X, ID %s\n", h.CardType, h.MaskedID())
	}
	for i, r := range q.Records {
		fmt.Fprintf(w, "%2d  %s  %-18s %10s  serial %5d  TID %s\n", i+1, r.Time, r.Type, r.Amount, r.Serial, r.TID)
	}
}
