// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// DefaultPIN is the PIN the simulated issuer holds and the cardholder types
// unless the scenario says otherwise.
const DefaultPIN = "123456"

// ErrUnsupported is reported when the kernel lacks what a scenario needs.
var ErrUnsupported = errors.New("scenario: not supported by this kernel")

// contactless is the method a contactless-capable kernel offers.
type contactless interface {
	PurchaseContactless(ctx context.Context, card apdu.Transport, amount kernel.Amount) (*kernel.Result, error)
}

// env is the world of one scenario run: the card, the host and the kernel.
type env struct {
	card    *cardsim.Card
	host    *hostsim.Host
	k       *kernel.Kernel
	answers []CardAnswer
}

// outcome is what one transaction produced.
type outcome struct {
	res     *kernel.Result
	bal     *kernel.Balance
	log     []kernel.LogEntry
	loadLog []kernel.LoadLogEntry
	err     error
	apdu    []string
	pdol    dolData
	cdol2   dolData
}

// Run runs the scenario and compares what happened with its expectations.
// It never panics on a scenario that Parse or Load accepted; problems
// running it (the card cannot be personalised, a "before" transaction
// fails) are differences in the report.
func Run(ctx context.Context, s *Scenario) *Report {
	start := time.Now()
	r := &Report{Name: s.Name, Path: s.Path, KnownIssue: s.KnownIssue}
	defer func() { r.Duration = time.Since(start) }()
	if s.Purse != nil && s.Purse.profile != nil {
		s.runPurse(ctx, r)
		r.finish()
		return r
	}
	if s.profile == nil {
		r.Diffs = append(r.Diffs, Diff{Field: "scenario", Want: "a scenario from Parse or Load", Got: "an unchecked scenario"})
		r.finish()
		return r
	}
	e, err := s.newEnv()
	if err != nil {
		r.Diffs = append(r.Diffs, Diff{Field: "setup", Want: "a usable card, host and terminal", Got: err.Error()})
		r.finish()
		return r
	}
	for i, b := range s.Before {
		o := e.run(ctx, &b, b.Faults)
		if errors.Is(o.err, ErrUnsupported) {
			r.Status, r.Err = StatusUnsupported, o.err
			return r
		}
		if o.err != nil && len(b.Faults) == 0 {
			r.Diffs = append(r.Diffs, Diff{Field: fmt.Sprintf("before[%d]", i), Want: b.Type + " without error", Got: o.err.Error()})
			r.finish()
			return r
		}
	}
	o := e.run(ctx, &s.Transaction, s.Faults)
	r.Result, r.Err, r.APDUs = o.res, o.err, o.apdu
	if errors.Is(o.err, ErrUnsupported) {
		r.Status = StatusUnsupported
		return r
	}
	r.Diffs = s.compare(e, o)
	r.finish()
	return r
}

// finish sets Pass and Status from the differences.
func (r *Report) finish() {
	r.Pass = len(r.Diffs) == 0
	switch {
	case r.Pass && r.KnownIssue != "":
		r.Status = StatusFixed
	case r.Pass:
		r.Status = StatusPass
	case r.KnownIssue != "":
		r.Status = StatusKnown
	default:
		r.Status = StatusFail
	}
}

func (s *Scenario) newEnv() (*env, error) {
	card, err := cardsim.New(s.profile)
	if err != nil {
		return nil, fmt.Errorf("card: %w", err)
	}
	e := &env{card: card, answers: s.CardAnswers}
	var opts []kernel.Option
	if s.Host != nil {
		pin := s.Host.PIN
		if pin == "" {
			pin = DefaultPIN
		}
		e.host = hostsim.New()
		for _, app := range s.profile.Applications {
			acc, err := hostsim.AccountFromProfile(app, s.account, pin)
			if err != nil {
				return nil, fmt.Errorf("host account: %w", err)
			}
			if err := e.host.AddAccount(acc); err != nil {
				return nil, fmt.Errorf("host account: %w", err)
			}
		}
		e.host.SetUnreachable(s.Host.Unreachable)
		for _, app := range s.profile.Applications {
			for _, u := range s.Host.updates {
				if err := e.host.QueueUpdate(app.PAN, u.tag, u.value); err != nil {
					return nil, fmt.Errorf("host update %04X: %w", u.tag, err)
				}
			}
		}
		var h kernel.Host = e.host
		if s.Host.CorruptScript {
			h = corruptingHost{e.host}
		}
		opts = append(opts, kernel.WithHost(h))
	}
	if !s.NoPINPad {
		typed := DefaultPIN
		if s.PINEntered != nil {
			typed = *s.PINEntered
		}
		opts = append(opts, kernel.WithPINPad(hostsim.PINPad{PIN: typed}))
	}
	if s.OfflinePINEntered != nil {
		var pins []string
		if *s.OfflinePINEntered != "" {
			pins = strings.Split(*s.OfflinePINEntered, ",")
		}
		opts = append(opts, kernel.WithOfflinePINPad(hostsim.NewOfflinePINSequence(pins...)))
	}
	if s.CardholderID != nil {
		verdict := *s.CardholderID
		opts = append(opts, kernel.WithCardholderIDVerifier(kernel.CardholderIDVerifierFunc(
			func(context.Context, kernel.CardholderID) (bool, error) { return verdict, nil })))
	}
	opts = append(opts, kernel.WithTornLog(&kernel.MemoryTornLog{}))
	if e.k, err = kernel.New(s.cfg, opts...); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	return e, nil
}

// run powers the card up afresh and runs one transaction through a
// recorder and the fault injector.
func (e *env) run(ctx context.Context, t *Transaction, faults []Fault) outcome {
	e.card.Reset()
	rec := &recorder{inner: &faultInjector{inner: e.answered(e.card), faults: faults}}
	var o outcome
	switch t.Type {
	case "purchase":
		o.res, o.err = e.k.Purchase(ctx, rec, t.amount)
	case "purchase_contactless":
		c, ok := any(e.k).(contactless)
		if !ok {
			o.err = fmt.Errorf("%w: kernel.Kernel has no PurchaseContactless", ErrUnsupported)
			break
		}
		// The same card, seen through the contactless interface.
		rec.inner = &faultInjector{inner: e.answered(cardsim.NewContactless(e.card)), faults: faults}
		o.res, o.err = c.PurchaseContactless(ctx, rec, t.amount)
	case "load":
		o.res, o.err = e.k.Load(ctx, rec, kernel.LoadRequest{Kind: t.loadKind, Amount: t.amount})
	case "balance":
		o.bal, o.err = e.k.ReadBalance(ctx, rec)
	case "log":
		o.log, o.err = e.k.ReadTransactionLog(ctx, rec)
	case "load_log":
		o.loadLog, o.err = e.k.ReadLoadLog(ctx, rec)
	}
	o.apdu = rec.names()
	o.pdol, o.cdol2 = rec.pdol, rec.cdol2
	return o
}

// answered is the card with the scenario's card answers over it.
func (e *env) answered(card apdu.Transport) apdu.Transport {
	if len(e.answers) == 0 {
		return card
	}
	return &answerer{inner: card, answers: e.answers}
}

// answerer gives the scenario's card answers (CardAnswer) in place of the
// card's own.
type answerer struct {
	inner   apdu.Transport
	answers []CardAnswer
	mu      sync.Mutex
	seen    []int // per answer, the commands that matched its prefix
}

// Transmit answers a command a fixed answer names, else asks the card and
// drops the tags named for the command's answers.
func (a *answerer) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	a.mu.Lock()
	if a.seen == nil {
		a.seen = make([]int, len(a.answers))
	}
	for i, x := range a.answers {
		if x.command == nil || !bytes.HasPrefix(cmd, x.command) {
			continue
		}
		a.seen[i]++
		if x.Nth == 0 || x.Nth == a.seen[i] {
			a.mu.Unlock()
			return bytes.Clone(x.answer), nil
		}
	}
	a.mu.Unlock()
	rsp, err := a.inner.Transmit(ctx, cmd)
	if err != nil {
		return rsp, err
	}
	name := commandName(cmd)
	for _, x := range a.answers {
		if x.On != "" && strings.EqualFold(x.On, name) {
			rsp = dropTag(rsp, x.drop)
		}
	}
	return rsp, nil
}

// dropTag removes tag from the template (70, 77, ...) of a response; an
// answer that is not one template comes back as it was.
func dropTag(rsp []byte, tag tlv.Tag) []byte {
	if len(rsp) < 2 {
		return rsp
	}
	data, sw := rsp[:len(rsp)-2], rsp[len(rsp)-2:]
	o, err := tlv.ParseSingle(data)
	if err != nil || !o.Tag.Constructed() {
		return rsp
	}
	objs, err := tlv.Parse(o.Value)
	if err != nil {
		return rsp
	}
	var inner []byte
	for _, x := range objs {
		if x.Tag != tag {
			inner = tlv.Append(inner, x.Tag, x.Value)
		}
	}
	return append(tlv.Append(nil, o.Tag, inner), sw...)
}

// dolData is what the terminal sent in a command whose data a DOL of the
// card's lays out: the DOL and the data.
type dolData struct {
	sent bool
	dol  []byte
	data []byte
}

// recorder notes the name of every command sent, the PDOL data of the last
// GET PROCESSING OPTIONS and the CDOL2 data of the second GENERATE AC.
type recorder struct {
	inner apdu.Transport
	mu    sync.Mutex
	cmds  []string
	name  func([]byte) string // nil: commandName
	pdol  dolData
	cdol2 dolData
	last  []byte // the PDOL of the last SELECT answer
	cdol  []byte // the CDOL2 (8D) of the records read
	genAC int    // GENERATE ACs since the last GET PROCESSING OPTIONS
}

// Transmit records the command's name and passes it on.
func (r *recorder) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	r.mu.Lock()
	r.cmds = append(r.cmds, nameOf(r.name, cmd))
	r.mu.Unlock()
	rsp, err := r.inner.Transmit(ctx, cmd)
	r.mu.Lock()
	defer r.mu.Unlock()
	c, perr := apdu.ParseCommand(cmd)
	switch {
	case perr != nil:
	case c.INS == 0xA4 && err == nil && len(rsp) >= 2:
		r.last = nil
		if v, ok, _ := tlv.Find(rsp[:len(rsp)-2], 0x9F38); ok {
			r.last = bytes.Clone(v)
		}
	case c.INS == 0xA8:
		r.pdol, r.cdol2, r.cdol, r.genAC = dolData{sent: true, dol: r.last}, dolData{}, nil, 0
		if o, err := tlv.ParseSingle(c.Data); err == nil && o.Tag == 0x83 {
			r.pdol.data = bytes.Clone(o.Value)
		}
	case c.INS == 0xB2 && err == nil && len(rsp) >= 2:
		if v, ok, _ := tlv.Find(rsp[:len(rsp)-2], 0x8D); ok {
			r.cdol = bytes.Clone(v)
		}
	case c.INS == 0xAE:
		if r.genAC++; r.genAC == 2 {
			r.cdol2 = dolData{sent: true, dol: r.cdol, data: bytes.Clone(c.Data)}
		}
	}
	return rsp, err
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cmds...)
}

// nameOf names cmd with name, or with commandName when name is nil.
func nameOf(name func([]byte) string, cmd []byte) string {
	if name != nil {
		return name(cmd)
	}
	return commandName(cmd)
}

func commandName(cmd []byte) string {
	if c, err := apdu.ParseCommand(cmd); err == nil {
		return c.Name()
	}
	return "?"
}

// faultInjector strikes each fault at its APDU: when a fault's command
// comes, a cardsim.Faulty with that fault at index 0 is layered over the
// transport, and every later command goes through it (so a removed card
// stays removed).
type faultInjector struct {
	inner  apdu.Transport
	faults []Fault
	name   func([]byte) string // nil: commandName
	mu     sync.Mutex
	n      int
	seen   map[string]int
	done   []bool
}

// Transmit applies the faults due at this command and passes it on.
func (f *faultInjector) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	f.mu.Lock()
	if f.seen == nil {
		f.seen = make(map[string]int)
		f.done = make([]bool, len(f.faults))
	}
	name := nameOf(f.name, cmd)
	f.seen[name]++
	for i, fl := range f.faults {
		if f.done[i] {
			continue
		}
		due := (fl.At != nil && *fl.At == f.n) || (fl.On != "" && strings.EqualFold(fl.On, name) && f.seen[name] == fl.Nth)
		if due {
			f.done[i] = true
			f.inner = cardsim.NewFaulty(f.inner, cardsim.Fault{At: 0, Kind: fl.kind, SW: fl.sw})
			break // one fault per command; Faulty counts from here
		}
	}
	f.n++
	inner := f.inner
	f.mu.Unlock()
	return inner.Transmit(ctx, cmd)
}

// corruptingHost is the simulated issuer with the MAC of every script
// command spoilt on the way to the terminal.
type corruptingHost struct{ h *hostsim.Host }

// Authorize asks the host and flips the last byte of every script command.
func (c corruptingHost) Authorize(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	resp, err := c.h.Authorize(ctx, req)
	if err != nil || resp == nil || len(resp.Scripts) == 0 {
		return resp, err
	}
	out := *resp
	out.Scripts = corruptScripts(resp.Scripts)
	return &out, nil
}

// Reverse passes the reversal on.
func (c corruptingHost) Reverse(ctx context.Context, req *kernel.AuthRequest) error {
	return c.h.Reverse(ctx, req)
}

// ReverseScript passes the script reversal on.
func (c corruptingHost) ReverseScript(ctx context.Context, req *kernel.AuthRequest) error {
	return c.h.ReverseScript(ctx, req)
}

func corruptScripts(scripts []byte) []byte {
	templates, err := tlv.Parse(scripts)
	if err != nil {
		return scripts
	}
	var out []byte
	for _, t := range templates {
		objs, err := tlv.Parse(t.Value)
		if err != nil {
			out = tlv.Append(out, t.Tag, t.Value)
			continue
		}
		var body []byte
		for _, o := range objs {
			v := o.Value
			if o.Tag == 0x86 && len(v) > 0 {
				v = bytes.Clone(v)
				v[len(v)-1] ^= 0xFF
			}
			body = tlv.Append(body, o.Tag, v)
		}
		out = tlv.Append(out, t.Tag, body)
	}
	return out
}

// compare checks the expectations, in a fixed order.
func (s *Scenario) compare(e *env, o outcome) []Diff {
	x := &s.Expect
	var d []Diff
	add := func(field, want, got string) {
		if want != got {
			d = append(d, Diff{Field: field, Want: want, Got: got})
		}
	}
	errText := "none"
	if o.err != nil {
		errText = o.err.Error()
	}
	read := s.Transaction.Type == "balance" || s.Transaction.Type == "log" || s.Transaction.Type == "load_log"
	switch {
	case x.Error == "none" || (x.Error == "" && read):
		if o.err != nil {
			d = append(d, Diff{Field: "error", Want: "none", Got: quote(errText)})
		}
	case x.Error != "" && !strings.Contains(errText, x.Error):
		d = append(d, Diff{Field: "error", Want: "containing " + quote(x.Error), Got: quote(errText)})
	}
	if res := o.res; res != nil {
		if x.Outcome != "" {
			add("outcome", x.Outcome, res.Outcome.String())
		}
		if x.Reason != "" {
			add("reason", x.Reason, string(res.Reason))
		}
		if x.DetailContains != "" && !strings.Contains(res.Detail, x.DetailContains) {
			d = append(d, Diff{Field: "detail", Want: "containing " + quote(x.DetailContains), Got: quote(res.Detail)})
		}
		d = append(d, compareTVR(x, res.TVR)...)
		d = append(d, compareTSI(x, res.TSI)...)
		if x.BalanceBefore.Set {
			add("balance_before", x.BalanceBefore.String(), amountString(res.BalanceBefore))
		}
		if x.BalanceAfter.Set {
			add("balance_after", x.BalanceAfter.String(), amountString(res.BalanceAfter))
		}
		if x.ODA != "" {
			add("oda", x.ODA, res.ODA.String())
		}
		if x.CID != "" {
			add("cid", x.CID, cidName(res))
		}
		if x.ResponseCode != "" {
			add("response_code", x.ResponseCode, res.ResponseCode)
		}
		if x.AID != "" {
			add("aid", strings.ToUpper(x.AID), strings.ToUpper(hex.EncodeToString(res.AID)))
		}
		for _, f := range []struct {
			name string
			want *bool
			got  bool
		}{{"ec_path", x.ECPath, res.ECPath}, {"top_up", x.TopUp, res.TopUp}, {"reversed", x.Reversed, res.Reversed}, {"torn", x.Torn, res.Torn}} {
			if f.want != nil {
				add(f.name, fmt.Sprint(*f.want), fmt.Sprint(f.got))
			}
		}
		if x.CVMResults != "" {
			got := strings.ToUpper(hex.EncodeToString(tlvValue(res.Field55, 0x9F34)))
			add("cvm_results", strings.ToUpper(x.CVMResults), got)
		}
		if x.SignatureRequired != nil {
			add("signature_required", fmt.Sprint(*x.SignatureRequired), fmt.Sprint(res.SignatureRequired))
		}
		if x.Settled != nil {
			add("settled", fmt.Sprint(*x.Settled), fmt.Sprint(len(res.Settled)))
		}
		if x.ScriptsOK != nil {
			ok := len(res.Scripts) > 0
			for _, sr := range res.Scripts {
				ok = ok && sr.OK
			}
			if ok != *x.ScriptsOK {
				d = append(d, Diff{Field: "scripts_ok", Want: fmt.Sprint(*x.ScriptsOK), Got: fmt.Sprint(ok),
					Note: fmt.Sprintf("%d scripts, 9F5B %X", len(res.Scripts), []byte(res.ScriptResults))})
			}
		}
	} else if !read {
		d = append(d, Diff{Field: "result", Want: "a result", Got: "none (" + errText + ")"})
	}
	if b := o.bal; b != nil {
		for _, f := range []struct {
			name string
			want OptAmount
			got  *kernel.Amount
		}{{"balance", x.Balance, b.Balance}, {"balance_limit", x.BalanceLimit, b.Limit}, {"single_limit", x.SingleLimit, b.SingleLimit}, {"reset_threshold", x.ResetThreshold, b.ResetThreshold}} {
			if f.want.Set {
				add(f.name, f.want.String(), amountString(f.got))
			}
		}
	} else if s.Transaction.Type == "balance" && (x.Balance.Set || x.BalanceLimit.Set || x.SingleLimit.Set || x.ResetThreshold.Set) {
		d = append(d, Diff{Field: "balance", Want: "a balance read", Got: "none (" + errText + ")"})
	}
	if s.Transaction.Type == "log" {
		if x.LogCount != nil {
			add("log_count", fmt.Sprint(*x.LogCount), fmt.Sprint(len(o.log)))
		}
		if x.LogAmounts != nil {
			got := make([]string, len(o.log))
			for i, le := range o.log {
				got[i] = le.Amount.String()
			}
			want := make([]string, len(x.LogAmounts))
			for i, a := range x.LogAmounts {
				v, _ := kernel.ParseAmount(a)
				want[i] = v.String()
			}
			add("log_amounts", "["+strings.Join(want, " ")+"]", "["+strings.Join(got, " ")+"]")
		}
	}
	if s.Transaction.Type == "load_log" {
		if x.LogCount != nil {
			add("log_count", fmt.Sprint(*x.LogCount), fmt.Sprint(len(o.loadLog)))
		}
		if x.LoadLog != nil {
			want := make([]string, len(x.LoadLog))
			for i, l := range x.LoadLog {
				b, _ := kernel.ParseAmount(l.Before)
				a, _ := kernel.ParseAmount(l.After)
				want[i] = LoadLogExpect{Tag: strings.ToUpper(l.Tag), Before: b.String(), After: a.String()}.String()
			}
			got := make([]string, len(o.loadLog))
			for i, le := range o.loadLog {
				got[i] = LoadLogExpect{Tag: le.Tag, Before: le.Before.String(), After: le.After.String()}.String()
			}
			add("load_log", "["+strings.Join(want, ", ")+"]", "["+strings.Join(got, ", ")+"]")
		}
	}
	d = append(d, compareDOL("pdol_data", "GET PROCESSING OPTIONS", x.PDOLData, o.pdol)...)
	d = append(d, compareDOL("cdol2_data", "second GENERATE AC", x.CDOL2Data, o.cdol2)...)
	app := s.appUsed(o.res)
	if x.CardBalance.Set {
		got := kernel.Amount(e.card.Balance(app.AID))
		add("card_balance", x.CardBalance.String(), got.String())
	}
	if x.PINTries != nil {
		add("pin_tries", fmt.Sprint(*x.PINTries), fmt.Sprint(e.card.PINTries(app.AID)))
	}
	if x.AccountBalance.Set && e.host != nil {
		got := "none"
		if acc, ok := e.host.Account(app.PAN); ok {
			got = acc.Balance.String()
		}
		add("account_balance", x.AccountBalance.String(), got)
	}
	if x.APDUs != nil {
		add("apdus", fmt.Sprint(*x.APDUs), fmt.Sprint(len(o.apdu)))
	}
	if x.APDUSequence != nil {
		want := make([]string, len(x.APDUSequence))
		for i, n := range x.APDUSequence {
			want[i] = strings.ToUpper(strings.TrimSpace(n))
		}
		if strings.Join(want, ",") != strings.Join(o.apdu, ",") {
			d = append(d, Diff{Field: "apdu_sequence", Want: "[" + strings.Join(want, ", ") + "]", Got: "[" + strings.Join(o.apdu, ", ") + "]"})
		}
	}
	return d
}

// compareDOL checks the values the terminal sent for a DOL's tags.
func compareDOL(field, command string, want map[string]string, p dolData) []Diff {
	if len(want) == 0 {
		return nil
	}
	if !p.sent {
		return []Diff{{Field: field, Want: "a " + command, Got: "none sent"}}
	}
	dol, err := tlv.ParseDOL(p.dol)
	var fields map[tlv.Tag][]byte
	if err == nil {
		fields, err = dol.Split(p.data)
	}
	if err != nil {
		return []Diff{{Field: field, Want: "data split by the DOL " + strings.ToUpper(hex.EncodeToString(p.dol)),
			Got: strings.ToUpper(hex.EncodeToString(p.data)), Note: err.Error()}}
	}
	tags := make([]string, 0, len(want))
	for tag := range want {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	var d []Diff
	for _, tag := range tags {
		t, _ := tlv.ParseTag(tag)
		got := "absent from the DOL"
		if v, ok := fields[t]; ok {
			got = strings.ToUpper(hex.EncodeToString(v))
		}
		if w := strings.ToUpper(want[tag]); w != got {
			d = append(d, Diff{Field: field + "." + strings.ToUpper(tag), Want: w, Got: got})
		}
	}
	return d
}

// appUsed is the card application the transaction used: the selected
// one, else the first.
func (s *Scenario) appUsed(res *kernel.Result) cardsim.Application {
	if res != nil && len(res.AID) > 0 {
		aid := strings.ToUpper(hex.EncodeToString(res.AID))
		for _, a := range s.profile.Applications {
			if strings.EqualFold(a.AID, aid) {
				return a
			}
		}
	}
	return s.profile.Applications[0]
}

func compareTVR(x *Expect, tvr kernel.TVR) []Diff {
	var d []Diff
	note := "TVR " + strings.ToUpper(hex.EncodeToString(tvr[:]))
	if x.TVR != "" && !strings.EqualFold(x.TVR, hex.EncodeToString(tvr[:])) {
		want, _ := hex.DecodeString(x.TVR)
		var w kernel.TVR
		copy(w[:], want)
		d = append(d, Diff{Field: "tvr", Want: strings.ToUpper(x.TVR), Got: strings.ToUpper(hex.EncodeToString(tvr[:])),
			Note: bitDelta(TVRBits{w}.Names(), TVRBits{tvr}.Names())})
	}
	for _, b := range tvrBits {
		if x.TVRSet != nil && x.TVRSet.Mask.Has(b.bit) && !tvr.Has(b.bit) {
			d = append(d, Diff{Field: "tvr", Want: b.name + " set", Got: "clear", Note: note})
		}
		if x.TVRClear != nil && x.TVRClear.Mask.Has(b.bit) && tvr.Has(b.bit) {
			d = append(d, Diff{Field: "tvr", Want: b.name + " clear", Got: "set", Note: note})
		}
	}
	return d
}

func compareTSI(x *Expect, tsi kernel.TSI) []Diff {
	var d []Diff
	note := "TSI " + strings.ToUpper(hex.EncodeToString(tsi[:]))
	if x.TSI != "" && !strings.EqualFold(x.TSI, hex.EncodeToString(tsi[:])) {
		want, _ := hex.DecodeString(x.TSI)
		var w kernel.TSI
		copy(w[:], want)
		d = append(d, Diff{Field: "tsi", Want: strings.ToUpper(x.TSI), Got: strings.ToUpper(hex.EncodeToString(tsi[:])),
			Note: bitDelta(TSIBits{w}.Names(), TSIBits{tsi}.Names())})
	}
	for _, b := range tsiBits {
		if x.TSISet != nil && x.TSISet.Mask.Has(b.mask) && !tsi.Has(b.mask) {
			d = append(d, Diff{Field: "tsi", Want: b.name + " set", Got: "clear", Note: note})
		}
		if x.TSIClear != nil && x.TSIClear.Mask.Has(b.mask) && tsi.Has(b.mask) {
			d = append(d, Diff{Field: "tsi", Want: b.name + " clear", Got: "set", Note: note})
		}
	}
	return d
}

// bitDelta names the bits only one side has: "extra: A; missing: B".
func bitDelta(want, got []string) string {
	in := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	var extra, missing []string
	for _, g := range got {
		if !in(want, g) {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if !in(got, w) {
			missing = append(missing, w)
		}
	}
	var parts []string
	if len(extra) > 0 {
		parts = append(parts, "unexpected: "+strings.Join(extra, ", "))
	}
	if len(missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(missing, ", "))
	}
	return strings.Join(parts, "; ")
}

func cidName(res *kernel.Result) string {
	if len(res.Cryptogram) == 0 && res.CID == 0 {
		return "none"
	}
	switch res.CID & 0xC0 {
	case apdu.ACTypeTC:
		return "TC"
	case apdu.ACTypeARQC:
		return "ARQC"
	}
	return "AAC"
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// tlvValue is the value of tag in a list of TLV objects (field 55), or nil.
func tlvValue(b []byte, tag tlv.Tag) []byte {
	v, _, _ := tlv.Find(b, tag)
	return v
}
