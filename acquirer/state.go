// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// State is the link's durable memory: the financial requests with where
// each stands — the reversal queue, the script advices still owed — and
// the trace-number and batch counters (the offline uploads' marks are kept
// by the Clearing, the journal). Every change is an event appended to a journal.Log (fsync'd before
// the link acts on it), so a crash at any point leaves a state the next
// OpenState rebuilds exactly. Full PANs, which a reversal needs for field
// 2, are stored only sealed under the terminal's data key (the journal's
// journal.DataKey, so that one key, wherever the vendor keeps it, protects
// every PAN at rest).
//
// The log is compacted (Compact): its history replaced by the few events
// that rebuild the live state — the counters, every request still open
// (sent, approved, a reversal owed, unresolved, an advice owed) and every
// request of a batch not yet settled — so that it does not grow with every
// sale for the terminal's life. It runs by itself after each settlement
// the acquirer acknowledges (Link.Settle), and at OpenState when the log
// holds at least 1000 events and more than twice the snapshot's. The
// finished requests of settled batches are what it drops: Status, Reverse
// and Complete no longer know them. The upload marks are not in this log,
// so compaction never touches them.
//
// A State belongs to one Link at a time; it is safe for concurrent use.
type State struct {
	log eventLog
	key journal.DataKey

	wmu    sync.Mutex // held across a write and its apply, and by Compact
	events int        // events in the log

	mu      sync.Mutex
	stan    uint32 // last trace number used
	upto    uint32 // reserved up to (inclusive) in the log
	batch   uint32
	txns    map[string]*txn
	seq     int               // arming order
	open    map[string]*txn   // not yet final, or owing an advice
	batches map[uint32][]*txn // by batch, in arming order
	cards   map[string]*txn   // by card transaction (cardKey)
}

// eventLog is what State needs of journal.Log.
type eventLog interface {
	Append(ctx context.Context, payload []byte) error
	Payloads(ctx context.Context) ([][]byte, error)
	Rewrite(ctx context.Context, payloads [][]byte) error
	Close() error
}

// ErrState reports a state log that cannot be used: unreadable, or holding
// events this version does not know.
var ErrState = errors.New("acquirer: state log")

// stanReserve is how many trace numbers one durable reservation covers: a
// crash skips at most that many, and never reuses one.
const stanReserve = 100

// OpenState opens (or creates) the state log at path; key seals the full
// PANs it keeps (journal.NewAESGCMKey, or the vendor's). The Log gives the
// journal's guarantees: a torn last frame is cut, damage elsewhere is
// journal.ErrCorrupt.
func OpenState(ctx context.Context, path string, key journal.DataKey) (*State, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: a data key is required (full PANs are stored only sealed)", ErrState)
	}
	l, err := journal.OpenLog(path, stateLogOptions...)
	if err != nil {
		return nil, err
	}
	st, err := newState(ctx, l, key)
	if err == nil && st.worthCompacting() {
		err = st.Compact(ctx)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return st, nil
}

func newState(ctx context.Context, l eventLog, key journal.DataKey) (*State, error) {
	st := &State{log: l, key: key, batch: 1, txns: make(map[string]*txn), open: make(map[string]*txn),
		batches: make(map[uint32][]*txn), cards: make(map[string]*txn)}
	payloads, err := l.Payloads(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.replay(payloads); err != nil {
		return nil, err
	}
	st.stan = st.upto // whatever was reserved may have been used
	return st, nil
}

// replay applies the stored events to a new State.
func (st *State) replay(payloads [][]byte) error {
	for i, p := range payloads {
		var e event
		if err := json.Unmarshal(p, &e); err != nil {
			return fmt.Errorf("%w: event %d: %v", ErrState, i, err)
		}
		if err := st.apply(&e); err != nil {
			return fmt.Errorf("%w: event %d: %w", ErrState, i, err)
		}
	}
	st.events = len(payloads)
	return nil
}

// Close closes the log.
func (st *State) Close() error { return st.log.Close() }

// event is one change of the state, as stored.
type event struct {
	T      string     `json:"t"`
	ID     string     `json:"id,omitempty"`
	Txn    *txnRecord `json:"txn,omitempty"`
	Code   string     `json:"code,omitempty"`
	Auth   string     `json:"auth,omitempty"`
	RRN    string     `json:"rrn,omitempty"`
	Reason string     `json:"reason,omitempty"`
	N      uint32     `json:"n,omitempty"`
	Data   []byte     `json:"data,omitempty"`
	Stood  []string   `json:"stood,omitempty"` // armed: earlier approvals settled as stood
	// Evidence (reverse, advice) is the card's authenticated state that
	// supports a script reversal (kernel.Evidence.Field55); Y1 says its
	// cryptogram was an offline EC approval that deducted 9F02.
	Evidence []byte    `json:"evidence,omitempty"`
	Y1       bool      `json:"y1,omitempty"`
	Image    *txnImage `json:"image,omitempty"` // txn: a request as Compact wrote it
	At       time.Time `json:"at"`
}

// The event types.
const (
	evReserve      = "stan"      // N: trace numbers reserved up to N
	evBatch        = "batch"     // N: the current batch number
	evArmed        = "armed"     // Txn: a financial request about to be sent; Stood: approvals settled
	evReply        = "reply"     // Code, Auth, RRN: its valid reply; Data: script ids
	evUnsent       = "unsent"    // the request could not be packed: never sent
	evReverse      = "reverse"   // Reason: a reversal is owed; Data: script results of a load's, Evidence
	evStood        = "stood"     // the card completed an approved request
	evReversed     = "reversed"  // Code: the acquirer took the reversal
	evReversalFail = "rev_fail"  // Code: the acquirer refused the reversal (kept, reason 06)
	evUnresolved   = "unresolv"  // outcome unknown after a crash; kept for the issuer
	evAdvice       = "advice"    // Data: script results (DF31) owed in a 0620; Evidence
	evAdviceDone   = "advice_ok" // Code: the acquirer answered the advice (taken or refused, not sent again)
	evSettled      = "settled"   // N: the batch closed (its requests settled), the next one opened
	evImage        = "txn"       // Image: a request and where it stands, written by Compact
)

// append makes e durable, then applies it. The hook lets the crash test
// stop the process on either side of the write.
func (st *State) append(ctx context.Context, e event) error {
	e.At = time.Now().UTC()
	p, err := json.Marshal(&e)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	// wmu keeps a Compact from snapshotting between the write and the
	// apply, which would leave the event out of the new log.
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if err := st.fits(&e); err != nil {
		return err
	}
	stepHook("before:" + e.T)
	if err := st.log.Append(context.WithoutCancel(ctx), p); err != nil {
		return fmt.Errorf("acquirer: state: %w", err)
	}
	stepHook("after:" + e.T)
	st.events++
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.apply(&e)
}

// fits checks, before an event is written, what its apply would refuse
// and a caller can cause, either of which would leave the log unreadable
// at the next open: a request armed with the ID (batch and trace number)
// of an earlier one, and an event for a request the state no longer holds
// (one a concurrent Compact dropped between the caller's lookup and this
// write). The caller holds st.wmu, which Compact holds throughout.
func (st *State) fits(e *event) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch e.T {
	case evReserve, evBatch, evSettled, evImage:
		return nil
	case evArmed:
		if e.Txn == nil || e.Txn.ID == "" {
			return fmt.Errorf("%w: armed event without a request", ErrState)
		}
		if _, used := st.txns[e.Txn.ID]; used {
			return fmt.Errorf("%w: %06d in batch %06d", ErrTraceNumberUsed, e.Txn.STAN, e.Txn.Batch)
		}
		return nil
	}
	if _, ok := st.txns[e.ID]; !ok {
		return fmt.Errorf("%w: %s event for request %s, which the state no longer holds (compacted after its batch settled)", ErrState, e.T, e.ID)
	}
	return nil
}

// apply changes the in-memory state for one event; the caller holds st.mu
// (or is replaying). Replay and run share it, so both see the same state.
func (st *State) apply(e *event) error {
	switch e.T {
	case evReserve:
		st.upto = e.N
		return nil
	case evBatch:
		st.batch = e.N
		return nil
	case evSettled:
		for _, t := range st.batches[e.N] {
			t.settled = true
		}
		st.batch = e.N%999999 + 1
		return nil
	case evImage:
		if e.Image == nil || e.Image.ID == "" {
			return errors.New("txn event without a transaction")
		}
		return st.add(e.Image.txn())
	case evArmed:
		if e.Txn == nil || e.Txn.ID == "" {
			return errors.New("armed event without a transaction")
		}
		for _, id := range e.Stood {
			if err := st.apply(&event{T: evStood, ID: id}); err != nil {
				return err
			}
		}
		return st.add(&txn{txnRecord: *e.Txn, txnProgress: txnProgress{State: TxnSent}})
	}
	t, ok := st.txns[e.ID]
	if !ok {
		return fmt.Errorf("event %q for unknown transaction %q", e.T, e.ID)
	}
	if err := t.apply(e); err != nil {
		return err
	}
	if t.isOpen() {
		st.open[t.ID] = t
	} else {
		delete(st.open, t.ID)
	}
	return nil
}

// add indexes a new request, the next in arming order.
func (st *State) add(t *txn) error {
	if _, dup := st.txns[t.ID]; dup {
		return fmt.Errorf("transaction %s armed twice", t.ID)
	}
	st.seq++
	t.seq = st.seq
	st.txns[t.ID] = t
	if t.isOpen() {
		st.open[t.ID] = t
	}
	st.batches[t.Batch] = append(st.batches[t.Batch], t)
	st.cards[t.card().key()] = t
	return nil
}

// reserveSTAN returns the next trace number (000001 to 999999), making a
// new reservation durable when the last one is used up.
func (st *State) reserveSTAN(ctx context.Context) (uint32, error) {
	st.mu.Lock()
	next := st.stan%999999 + 1
	need := next > st.upto || st.upto-next >= stanReserve // wrapped
	st.mu.Unlock()
	if need {
		if err := st.append(ctx, event{T: evReserve, N: next + stanReserve - 1}); err != nil {
			return 0, err
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if need {
		st.upto = next + stanReserve - 1
	}
	st.stan = next
	return next, nil
}

// Batch returns the current batch number.
func (st *State) Batch() uint32 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.batch
}

// txnByID returns the transaction (under st.mu).
func (st *State) txnByID(id string) (*txn, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t, ok := st.txns[id]
	return t, ok
}

// txnsIn returns the open transactions in one of the states (all open
// ones when none is named), in arming order.
func (st *State) txnsIn(states ...TxnState) []*txn {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*txn
	for _, t := range st.open {
		if len(states) == 0 || slices.Contains(states, t.State) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *txn) int { return a.seq - b.seq })
	return out
}

// txnsInBatch returns the transactions of one batch, in arming order.
func (st *State) txnsInBatch(batch uint32) []*txn {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.batches[batch])
}

// findByCard returns the transaction of the card transaction c: the same
// masked PAN, ATC and unpredictable number (a card never repeats an ATC;
// the terminal's random number tells apart two cards whose masks and ATCs
// agree).
func (st *State) findByCard(c CardTxn) (*txn, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t, ok := st.cards[c.key()]
	return t, ok && t.card().same(c)
}

// snapshot returns the open transactions and those of the current batch,
// in arming order.
func (st *State) snapshot() []Txn {
	st.mu.Lock()
	defer st.mu.Unlock()
	var all []*txn
	for _, t := range st.open {
		if t.Batch != st.batch {
			all = append(all, t)
		}
	}
	all = append(all, st.batches[st.batch]...)
	slices.SortFunc(all, func(a, b *txn) int { return a.seq - b.seq })
	out := make([]Txn, len(all))
	for i, t := range all {
		out[i] = t.view()
	}
	return out
}

// txnRecord is what is stored of a financial request when it is armed:
// enough to build its reversal and its advice, the PAN sealed.
type txnRecord struct {
	ID          string             `json:"id"` // batch:stan
	Kind        kernel.RequestKind `json:"kind"`
	TopUp       bool               `json:"top_up,omitempty"`
	Contactless bool               `json:"contactless,omitempty"`
	STAN        uint32             `json:"stan"`
	Batch       uint32             `json:"batch"`
	Time        time.Time          `json:"time"`
	MaskedPAN   string             `json:"masked_pan"`
	SealedPAN   []byte             `json:"sealed_pan"` // under the data key, bound to the ID
	PSN         byte               `json:"psn"`
	Expiry      string             `json:"expiry,omitempty"` // YYMM, field 14, as the request sent it
	Amount      kernel.Amount      `json:"amount"`
	Processing  string             `json:"processing"` // field 3
	Condition   string             `json:"condition"`  // field 25
	EntryMode   string             `json:"entry_mode"` // field 22
	Field60     string             `json:"field60"`
	// Field55 is the kernel's field 55 as given (the ARQC request).
	Field55 []byte `json:"field55"`
}

// TxnState is where a financial request stands.
type TxnState string

// The states of a financial request.
const (
	// TxnSent: armed and (maybe) sent, no valid reply yet. After a crash
	// this becomes a reversal (reason 98).
	TxnSent TxnState = "sent"
	// TxnUnsent: the request could not be packed and never left.
	TxnUnsent TxnState = "unsent"
	// TxnDeclined: the acquirer's valid reply declined; nothing to undo.
	TxnDeclined TxnState = "declined"
	// TxnApproved: approved; the card has not yet completed (second
	// GENERATE AC).
	TxnApproved TxnState = "approved"
	// TxnStood: approved and completed by the card: never reversed.
	TxnStood TxnState = "stood"
	// TxnReversalPending: a reversal is owed and not yet taken.
	TxnReversalPending TxnState = "reversal_pending"
	// TxnReversed: the acquirer took the reversal.
	TxnReversed TxnState = "reversed"
	// TxnUnresolved: an approved load or top-up whose completion a crash
	// hid; neither reversed nor counted, kept for the issuer to settle
	// from the card's next online transaction.
	TxnUnresolved TxnState = "unresolved"
)

// txn is a financial request with its life so far.
type txn struct {
	txnRecord
	txnProgress
	seq int
	// settled: its batch was settled (evSettled) after it was armed.
	settled bool
}

// txnProgress is where a request stands: what its events set after it
// was armed. Compact's image (txnImage) carries it whole.
type txnProgress struct {
	State       TxnState `json:"state"`
	Reason      string   `json:"reason,omitempty"`   // reversal reason (field 39 of the 0400)
	Response    string   `json:"response,omitempty"` // field 39 of the reply
	AuthCode    string   `json:"auth,omitempty"`
	RRN         string   `json:"rrn,omitempty"`
	ScriptIDs   []byte   `json:"script_ids,omitempty"`   // 9F18 of each script in the reply, 4 bytes each
	ReversalTry int      `json:"reversal_try,omitempty"` // reversals the acquirer refused so far
	Advice      []byte   `json:"advice,omitempty"`       // DF31 owed in a 0620 (nil: none)
	AdviceSent  bool     `json:"advice_sent,omitempty"`
	AdviceCode  string   `json:"advice_code,omitempty"` // the acquirer's answer to the advice
	// Scripts is DF31 of a load's script reversal (nil for a plain one);
	// Evidence and Y1 the card's authenticated state behind a script
	// reversal or advice (kernel.Evidence), nil when none of the
	// request's scripts reached the card.
	Scripts  []byte `json:"scripts,omitempty"`
	Evidence []byte `json:"evidence,omitempty"`
	Y1       bool   `json:"y1,omitempty"`
}

// isOpen reports whether t may still need the link: not in a final state,
// or owing a script advice.
func (t *txn) isOpen() bool {
	switch t.State {
	case TxnDeclined, TxnUnsent, TxnStood, TxnReversed:
		return t.Advice != nil && !t.AdviceSent
	}
	return true
}

// apply moves t for one event.
func (t *txn) apply(e *event) error {
	switch e.T {
	case evUnsent:
		t.State = TxnUnsent
	case evReply:
		t.Response, t.AuthCode, t.RRN, t.ScriptIDs = e.Code, e.Auth, e.RRN, e.Data
		t.State = TxnDeclined
		if approved(e.Code) {
			t.State = TxnApproved
			if t.Contactless { // qPBOC: no second GENERATE AC; the approval is the end
				t.State = TxnStood
			}
		}
	case evReverse:
		t.State, t.Reason = TxnReversalPending, e.Reason
		if e.Data != nil {
			t.Scripts, t.Evidence, t.Y1 = e.Data, e.Evidence, e.Y1
		}
	case evStood:
		t.State = TxnStood
	case evReversed:
		t.State = TxnReversed
	case evReversalFail:
		t.ReversalTry++
		t.Reason = "06" // a reversal the acquirer refused goes again as "other" [LY]
	case evUnresolved:
		t.State = TxnUnresolved
	case evAdvice:
		t.Advice, t.AdviceSent = e.Data, false
		if e.Evidence != nil || t.Evidence == nil {
			t.Evidence, t.Y1 = e.Evidence, e.Y1
		}
	case evAdviceDone:
		t.AdviceSent, t.AdviceCode = true, e.Code
	default:
		return fmt.Errorf("unknown event %q", e.T)
	}
	return nil
}

// approved reports an approving response code.
func approved(code string) bool { return code == "00" || code == "10" || code == "11" }

// Txn is a financial request as Status reports it: masked, no key or PIN.
type Txn struct {
	ID         string
	Kind       kernel.RequestKind
	TopUp      bool
	STAN       uint32
	Batch      uint32
	PAN        string // masked
	Amount     kernel.Amount
	State      TxnState
	Reason     string // reversal reason, when one is owed or was sent
	Response   string
	AuthCode   string
	AdviceOwed bool
}

func (t *txn) view() Txn {
	return Txn{ID: t.ID, Kind: t.Kind, TopUp: t.TopUp, STAN: t.STAN, Batch: t.Batch, PAN: t.MaskedPAN,
		Amount: t.Amount, State: t.State, Reason: t.Reason, Response: t.Response, AuthCode: t.AuthCode,
		AdviceOwed: t.Advice != nil && !t.AdviceSent}
}

// stateLogOptions open the state log; only the compaction crash test sets
// them (journal.WithWriteHook, to kill the process inside a Rewrite).
var stateLogOptions []journal.Option

// stepHook is called on either side of every state write and after every
// message sent; only the crash test sets it, to kill the process there.
var stepHook = func(string) {}

// statePANAAD binds a sealed PAN to its request.
func statePANAAD(id string) []byte { return []byte("pboc acquirer pan\x00" + id) }

// sealPAN seals a request's PAN under the data key.
func (st *State) sealPAN(ctx context.Context, id, pan string) ([]byte, error) {
	b, err := st.key.Seal(ctx, []byte(pan), statePANAAD(id))
	if err != nil {
		return nil, fmt.Errorf("acquirer: seal the PAN of %s: %w", id, err)
	}
	return b, nil
}

// openPAN opens the PAN of t; the caller clears it after use.
func (st *State) openPAN(ctx context.Context, t *txn) ([]byte, error) {
	b, err := st.key.Open(ctx, t.SealedPAN, statePANAAD(t.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: the sealed PAN of %s does not open: %v", ErrState, t.ID, err)
	}
	return b, nil
}
