// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
)

// Purse is a fuel-card scenario (package purse): a simulated fuel card,
// PSAM and reserve host, the operations, the faults, and the money that
// must come out, on the card, at the reserve and in the terminal's store.
// A scenario with "purse" has no other top-level field than name,
// description and known_issue.
//
//	"purse": {
//	  "card": "../fuelcards/fuel.json",      a fuel-card profile path or object
//	                                     (default: the seed fuel card)
//	  "card_patch": {...},               merged as for "card"
//	  "wallet": "ep",                    ep (default) or ed
//	  "reserve": "2000.00",              the card's reserve account; the
//	  "no_host": false,                  terminal has the reserve host unless
//	  "pin_entered": "123456",           no_host; the PIN typed
//	  "unlock_counters": "next",         terminal switches (Config):
//	  "grey_lock_sam_type": "91",        next or same; 91 or 92
//	  "before": [{"type": "dispense", "deliver": "80.00",
//	              "faults": [...], "station": "other", "upload_bills": true}],
//	  "operation": {"type": "load", "amount": "200.00"},
//	                                     load, unload, purchase, dispense
//	                                     (preset, deliver), balance, records
//	  "faults": [{"on": "CREDIT FOR LOAD", "kind": "torn"},
//	             {"device": "psam", "on": "PSAM GMAC", "kind": "remove"}],
//	  "expect": {...},                   see PurseExpect
//	  "then": {"operation": {...}, "expect": {...}}
//	                                     the card presented again, to a
//	                                     restarted terminal on the same store
//	}
//
// Names in "on" are purse.CommandName's. "station": "other" runs the
// operation at a second station (another PSAM, TID 000000000002, its own
// store, the same reserve); "upload_bills" has the first station upload
// its escape bills to the reserve before.
type Purse struct {
	Card            json.RawMessage `json:"card,omitempty"`
	CardPatch       json.RawMessage `json:"card_patch,omitempty"`
	Wallet          string          `json:"wallet,omitempty"`
	Reserve         string          `json:"reserve,omitempty"`
	NoHost          bool            `json:"no_host,omitempty"`
	PINEntered      *string         `json:"pin_entered,omitempty"`
	UnlockCounters  string          `json:"unlock_counters,omitempty"`
	GreyLockSAMType string          `json:"grey_lock_sam_type,omitempty"`
	Before          []PurseOp       `json:"before,omitempty"`
	Operation       PurseOp         `json:"operation"`
	Faults          []PurseFault    `json:"faults,omitempty"`
	Expect          PurseExpect     `json:"expect"`
	Then            *PurseThen      `json:"then,omitempty"`

	profile *cardsim.PurseProfile
	reserve purse.Amount
	cfg     purse.Config
}

// PurseOp is one purse operation.
type PurseOp struct {
	Type        string       `json:"type"`
	Amount      string       `json:"amount,omitempty"`
	Preset      string       `json:"preset,omitempty"`
	Deliver     string       `json:"deliver,omitempty"`
	Faults      []PurseFault `json:"faults,omitempty"`
	Station     string       `json:"station,omitempty"`
	UploadBills bool         `json:"upload_bills,omitempty"`

	amount, preset, deliver purse.Amount
}

// PurseFault is a fault on the card (default) or the PSAM.
type PurseFault struct {
	Device string `json:"device,omitempty"`
	Fault
}

// PurseThen is the card's next presentation and what it must settle.
type PurseThen struct {
	Operation PurseOp     `json:"operation"`
	Expect    PurseExpect `json:"expect"`
}

// PurseExpect is what a purse operation must produce; only the fields
// given are checked.
type PurseExpect struct {
	// Outcome and Reason are purse.Outcome and purse.Reason.
	Outcome string `json:"outcome,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// EP and ED are the simulated card's real wallet balances afterwards.
	EP OptAmount `json:"ep_balance"`
	ED OptAmount `json:"ed_balance"`
	// BalanceAfter is the balance the Result reports.
	BalanceAfter OptAmount `json:"balance_after"`
	// Reserve is the reserve account afterwards.
	Reserve OptAmount `json:"reserve"`
	// Grey is the card's grey status: none, grey or tac_unread.
	Grey string `json:"grey,omitempty"`
	// States lists the store's record states, oldest first.
	States []string `json:"states,omitempty"`
	// Settled is the number of earlier records settled by the operation.
	Settled *int `json:"settled,omitempty"`
	// APDUs and APDUSequence check the card's commands.
	APDUs        *int     `json:"apdus,omitempty"`
	APDUSequence []string `json:"apdu_sequence,omitempty"`
}

// checkPurse validates a purse scenario.
func (s *Scenario) checkPurse(dir string) error {
	if len(bytes.TrimSpace(s.Card)) > 0 || s.Host != nil || s.Transaction.Type != "" || len(s.Before) > 0 || len(s.Faults) > 0 {
		return fieldErr("purse", "a purse scenario has only name, description, known_issue and purse")
	}
	p := s.Purse
	if err := p.resolveCard(dir); err != nil {
		return err
	}
	if err := p.resolveTerminal(); err != nil {
		return err
	}
	for i := range p.Before {
		if err := p.Before[i].check(fmt.Sprintf("purse.before[%d]", i)); err != nil {
			return err
		}
	}
	if err := p.Operation.check("purse.operation"); err != nil {
		return err
	}
	if err := checkPurseFaults("purse.faults", p.Faults); err != nil {
		return err
	}
	if p.Then != nil {
		if err := p.Then.Operation.check("purse.then.operation"); err != nil {
			return err
		}
	}
	return nil
}

func (p *Purse) resolveCard(dir string) error {
	b := []byte(nil)
	raw := bytes.TrimSpace(p.Card)
	switch {
	case len(raw) == 0:
		var err error
		if b, err = cardsim.DefaultPurseProfile().Marshal(); err != nil {
			return fieldErr("purse.card", "%w", err)
		}
	case raw[0] == '"':
		var rel string
		if err := json.Unmarshal(raw, &rel); err != nil || rel == "" {
			return fieldErr("purse.card", "want a profile path or object")
		}
		var err error
		if b, err = readLimited(relTo(dir, rel)); err != nil {
			return fieldErr("purse.card", "%w", err)
		}
	default:
		b = raw
	}
	if patch := bytes.TrimSpace(p.CardPatch); len(patch) > 0 {
		var base, pt any
		if err := json.Unmarshal(b, &base); err != nil {
			return fieldErr("purse.card", "%w", err)
		}
		if err := json.Unmarshal(patch, &pt); err != nil {
			return fieldErr("purse.card_patch", "%w", err)
		}
		merged, err := mergePatch(base, pt, 0)
		if err != nil {
			return fieldErr("purse.card_patch", "%w", err)
		}
		if b, err = json.Marshal(merged); err != nil {
			return fieldErr("purse.card_patch", "%w", err)
		}
	}
	prof, err := cardsim.ParsePurseProfile(b)
	if err != nil {
		return fieldErr("purse.card", "%w", err)
	}
	p.profile = prof
	return nil
}

func (p *Purse) resolveTerminal() error {
	p.cfg = purse.Config{Now: func() time.Time { return defaultNow }}
	if p.Wallet != "" {
		w, err := purse.ParseWallet(p.Wallet)
		if err != nil {
			return fieldErr("purse.wallet", "%q: want ep or ed", p.Wallet)
		}
		p.cfg.Wallet = w
	}
	switch p.UnlockCounters {
	case "", "next":
	case "same":
		p.cfg.UnlockCounters = purse.UnlockCountersSame
	default:
		return fieldErr("purse.unlock_counters", "%q: want next or same", p.UnlockCounters)
	}
	switch p.GreyLockSAMType {
	case "", "91":
	case "92":
		p.cfg.GreyLockSAMType = 0x92
	default:
		return fieldErr("purse.grey_lock_sam_type", "%q: want 91 or 92", p.GreyLockSAMType)
	}
	p.reserve = 200000
	if p.Reserve != "" {
		a, err := purse.ParseAmount(p.Reserve)
		if err != nil {
			return fieldErr("purse.reserve", "%w", err)
		}
		p.reserve = a
	}
	return nil
}

func (o *PurseOp) check(field string) error {
	amounts := []struct {
		name, text string
		dst        *purse.Amount
	}{{"amount", o.Amount, &o.amount}, {"preset", o.Preset, &o.preset}, {"deliver", o.Deliver, &o.deliver}}
	for _, a := range amounts {
		if a.text == "" {
			continue
		}
		v, err := purse.ParseAmount(a.text)
		if err != nil {
			return fieldErr(field+"."+a.name, "%w", err)
		}
		*a.dst = v
	}
	switch o.Type {
	case "load", "unload", "purchase":
		if o.amount == 0 {
			return fieldErr(field+".amount", "required for a %s", o.Type)
		}
	case "dispense":
		if o.Deliver == "" {
			o.deliver = o.preset
			if o.deliver == 0 {
				o.deliver = 5000
			}
		}
	case "balance", "records":
	default:
		return fieldErr(field+".type", "%q: want load, unload, purchase, dispense, balance or records", o.Type)
	}
	if o.Station != "" && o.Station != "other" {
		return fieldErr(field+".station", "%q: only \"other\"", o.Station)
	}
	return checkPurseFaults(field+".faults", o.Faults)
}

func checkPurseFaults(field string, fs []PurseFault) error {
	plain := make([]Fault, len(fs))
	for i := range fs {
		if d := fs[i].Device; d != "" && d != "card" && d != "psam" {
			return fieldErr(fmt.Sprintf("%s[%d].device", field, i), "%q: want card or psam", d)
		}
		plain[i] = fs[i].Fault
	}
	if err := checkFaults(field, plain); err != nil {
		return err
	}
	for i := range fs {
		fs[i].Fault = plain[i]
	}
	return nil
}

// purseStation is one terminal with its PSAM and store.
type purseStation struct {
	psam  *psam.PSAM
	path  string
	store *purse.Store
	term  *purse.Terminal
}

// purseEnv is a running purse scenario: the card, the reserve, the two
// stations.
type purseEnv struct {
	p       *Purse
	card    *cardsim.PurseCard
	reserve *hostsim.Reserve
	dir     string
	home    *purseStation
	other   *purseStation
}

var scenarioStoreKey = []byte("scenario store key, not a secret")

func (p *Purse) newEnv() (*purseEnv, error) {
	card, err := cardsim.NewPurseCard(p.profile)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pboc-scenario")
	if err != nil {
		return nil, err
	}
	e := &purseEnv{p: p, card: card, dir: dir}
	if e.reserve, _, err = hostsim.ReserveFor(p.profile, p.reserve); err != nil {
		return nil, err
	}
	e.reserve.SetClock(func() time.Time { return defaultNow })
	if e.home, err = e.station("000000000001", "home"); err != nil {
		return nil, err
	}
	if e.other, err = e.station("000000000002", "other"); err != nil {
		return nil, err
	}
	return e, nil
}

// station builds a PSAM for the card's keys and its terminal.
func (e *purseEnv) station(tid, name string) (*purseStation, error) {
	ps, err := psam.New(psam.ForCard(e.p.profile, tid))
	if err != nil {
		return nil, err
	}
	st := &purseStation{psam: ps, path: filepath.Join(e.dir, name+".log")}
	return st, e.restart(st)
}

// restart builds the station's terminal again on its store (the PSAM
// reopened: its session is lost, as in a restart).
func (e *purseEnv) restart(st *purseStation) error {
	if st.store != nil {
		st.store.Close()
	}
	var err error
	if st.store, err = purse.OpenStore(st.path, scenarioStoreKey); err != nil {
		return err
	}
	st.psam.Reset()
	sam, err := purse.OpenPSAM(context.Background(), st.psam)
	if err != nil {
		return err
	}
	pin := "123456"
	if e.p.PINEntered != nil {
		pin = *e.p.PINEntered
	}
	opts := []purse.Option{purse.WithSAM(sam), purse.WithStore(st.store), purse.WithPINPad(hostsim.PursePINPad{PIN: pin})}
	if !e.p.NoHost {
		opts = append(opts, purse.WithHost(e.reserve))
	}
	st.term, err = purse.New(e.p.cfg, opts...)
	return err
}

func (e *purseEnv) close() {
	for _, st := range []*purseStation{e.home, e.other} {
		if st != nil && st.store != nil {
			st.store.Close()
		}
	}
	os.RemoveAll(e.dir)
}

// purseRun is what one operation produced.
type purseRun struct {
	res  *purse.Result
	err  error
	apdu []string
}

// run runs op at its station with its faults.
func (e *purseEnv) run(ctx context.Context, op *PurseOp, faults []PurseFault) purseRun {
	st := e.home
	if op.Station == "other" {
		st = e.other
	}
	if op.UploadBills {
		e.uploadBills()
	}
	e.card.Reset()
	var cardFaults, samFaults []Fault
	for _, f := range faults {
		if f.Device == "psam" {
			samFaults = append(samFaults, f.Fault)
		} else {
			cardFaults = append(cardFaults, f.Fault)
		}
	}
	if len(samFaults) > 0 {
		sam, err := purse.OpenPSAM(ctx, &faultInjector{inner: st.psam, faults: samFaults, name: purseName})
		if err != nil {
			return purseRun{err: err}
		}
		opts := []purse.Option{purse.WithSAM(sam), purse.WithStore(st.store), purse.WithPINPad(hostsim.PursePINPad{PIN: "123456"})}
		if !e.p.NoHost {
			opts = append(opts, purse.WithHost(e.reserve))
		}
		t, err := purse.New(e.p.cfg, opts...)
		if err != nil {
			return purseRun{err: err}
		}
		st.term = t
	}
	rec := &recorder{inner: &faultInjector{inner: e.card, faults: cardFaults, name: purseName}, name: purseName}
	var r purseRun
	r.res, r.err = op.do(ctx, st.term, rec)
	r.apdu = rec.names()
	return r
}

func purseName(cmd []byte) string {
	if c, err := apdu.ParseCommand(cmd); err == nil {
		return purse.CommandName(c)
	}
	return "?"
}

func (o *PurseOp) do(ctx context.Context, t *purse.Terminal, card apdu.Transport) (*purse.Result, error) {
	switch o.Type {
	case "load":
		return t.Load(ctx, card, o.amount)
	case "unload":
		return t.Unload(ctx, card, o.amount)
	case "purchase":
		return t.Purchase(ctx, card, o.amount)
	case "dispense":
		return t.Dispense(ctx, card, purse.DispenseRequest{Preset: o.preset, Nozzle: scenarioPump{o.deliver}})
	}
	r, _, err := t.Inquire(ctx, card, o.Type == "records")
	return r, err
}

// scenarioPump delivers what the customer takes, up to the limit.
type scenarioPump struct{ deliver purse.Amount }

// Fuel delivers min(what the customer takes, the limit).
func (p scenarioPump) Fuel(_ context.Context, limit purse.Amount) (purse.Fill, error) {
	a := min(p.deliver, limit)
	return purse.Fill{Amount: a, Volume: uint32(uint64(a) * 100 / 785), Price: 785, Grade: 92, Nozzle: 1}, nil
}

// uploadBills is the home station's daily upload of its escape bills.
func (e *purseEnv) uploadBills() {
	for _, r := range e.home.store.EscapeBills() {
		if asn, err := e.home.store.OpenASN(r); err == nil {
			e.reserve.AddEscapeBill(hostsim.EscapeBill{ASN: asn, TID: r.TID, CTC: r.Serial, Amount: r.Amount})
		}
	}
}

// runPurse runs a purse scenario.
func (s *Scenario) runPurse(ctx context.Context, r *Report) {
	p := s.Purse
	e, err := p.newEnv()
	if err != nil {
		r.Diffs = append(r.Diffs, Diff{Field: "setup", Want: "a usable fuel card, PSAM and reserve", Got: err.Error()})
		return
	}
	defer e.close()
	for i := range p.Before {
		b := &p.Before[i]
		if o := e.run(ctx, b, b.Faults); o.err != nil && len(b.Faults) == 0 {
			r.Diffs = append(r.Diffs, Diff{Field: fmt.Sprintf("purse.before[%d]", i), Want: b.Type + " without error", Got: o.err.Error()})
			return
		}
	}
	o := e.run(ctx, &p.Operation, p.Faults)
	r.Err, r.APDUs = o.err, o.apdu
	r.Diffs = append(r.Diffs, e.compare("", &p.Expect, o)...)
	if p.Then == nil {
		return
	}
	if err := e.restart(e.home); err != nil {
		r.Diffs = append(r.Diffs, Diff{Field: "then", Want: "the terminal restarted", Got: err.Error()})
		return
	}
	o = e.run(ctx, &p.Then.Operation, nil)
	r.Diffs = append(r.Diffs, e.compare("then.", &p.Then.Expect, o)...)
}

// compare checks one operation's expectations.
func (e *purseEnv) compare(prefix string, x *PurseExpect, o purseRun) []Diff {
	var d []Diff
	add := func(field, want, got string) {
		if want != got {
			d = append(d, Diff{Field: prefix + field, Want: want, Got: got})
		}
	}
	res := o.res
	if res == nil {
		res = &purse.Result{}
	}
	if x.Outcome != "" {
		add("outcome", x.Outcome, string(res.Outcome))
	}
	if x.Reason != "" {
		add("reason", x.Reason, string(res.Reason))
	}
	amounts := []struct {
		name string
		want OptAmount
		got  *purse.Amount
	}{{"ep_balance", x.EP, ptrAmount(e.card.Balance(2))}, {"ed_balance", x.ED, ptrAmount(e.card.Balance(1))},
		{"balance_after", x.BalanceAfter, res.BalanceAfter}, {"reserve", x.Reserve, e.reserveBalance()}}
	for _, a := range amounts {
		if a.want.Set {
			add(a.name, a.want.String(), optAmountText(a.got))
		}
	}
	if x.Grey != "" {
		add("grey", x.Grey, map[byte]string{0: "none", 1: "grey", 0x10: "tac_unread"}[e.card.Grey()])
	}
	if x.States != nil {
		var got []string
		for _, rec := range e.home.store.Records() {
			got = append(got, string(rec.State))
		}
		add("states", strings.Join(x.States, ","), strings.Join(got, ","))
	}
	if x.Settled != nil {
		add("settled", fmt.Sprint(*x.Settled), fmt.Sprint(len(res.Settled)))
	}
	if x.APDUs != nil {
		add("apdus", fmt.Sprint(*x.APDUs), fmt.Sprint(len(o.apdu)))
	}
	if x.APDUSequence != nil {
		add("apdu_sequence", strings.Join(x.APDUSequence, ", "), strings.Join(o.apdu, ", "))
	}
	return d
}

func ptrAmount(v uint32) *purse.Amount { a := purse.Amount(v); return &a }

func optAmountText(a *purse.Amount) string {
	if a == nil {
		return "none"
	}
	return a.String()
}

func (e *purseEnv) reserveBalance() *purse.Amount {
	asn, err := purse.ParseASN(e.p.profile.ASN)
	if err != nil || e.p.NoHost {
		return nil
	}
	b := e.reserve.Balance(asn)
	return &b
}
