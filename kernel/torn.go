package kernel

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// TornRecord remembers an offline EC sale whose outcome the terminal does not
// know: the card went away (or its answer was lost) after GENERATE AC was
// sent, so the card may or may not have deducted its balance.
type TornRecord struct {
	// Kind is TornSale (an offline sale) or TornScript (an issuer's
	// balance script whose effect on the card is unknown).
	Kind TornKind
	// PANHash is the keyed hash of the PAN digits (see Config.PANHashKey);
	// the PAN itself is not kept.
	PANHash [32]byte
	// PAN is the masked PAN, for people.
	PAN string
	AID []byte
	// Amount, BalanceBefore and the terminal's date and time (9A, 9F21, as
	// sent to the card and written into the card's log) identify the sale.
	Amount        Amount
	BalanceBefore Amount
	Date, Time    [3]byte
	// ATC is the card's ATC for the torn sale when known (0 otherwise).
	ATC     uint16
	Created time.Time
	// For TornScript: the balance the card holds if the script took
	// effect, and the approved request to reverse at the host if it did
	// not. The request holds the PAN: a durable TornLog must protect it.
	Expected Amount
	Request  *AuthRequest
}

// TornKind says what a torn record is about.
type TornKind int

// The torn kinds.
const (
	TornSale TornKind = iota
	TornScript
)

// Settlement is how a torn sale was settled when the card came back.
type Settlement struct {
	Record TornRecord
	// Happened reports that the card completed the sale (it is in the
	// card's log): it must be recorded once. Otherwise nothing was charged.
	Happened bool
	// ATC is the ATC of the card's log entry when Happened.
	ATC uint16
	// Reversed reports, for a TornScript that did not take effect, that
	// the host gave the money back.
	Reversed bool
}

// TornLog keeps torn records until the card is presented again. An
// implementation must be safe for concurrent use; a vendor may make it
// durable (the journal package can).
type TornLog interface {
	Add(ctx context.Context, r TornRecord) error
	// Pending returns the records for one card application.
	Pending(ctx context.Context, panHash [32]byte, aid []byte) ([]TornRecord, error)
	// Remove forgets a settled record.
	Remove(ctx context.Context, r TornRecord) error
}

// MemoryTornLog is an in-memory TornLog (lost when the process ends).
type MemoryTornLog struct {
	mu   sync.Mutex
	recs []TornRecord
}

// Add keeps r.
func (m *MemoryTornLog) Add(_ context.Context, r TornRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	return nil
}

// Pending returns the records of one card application.
func (m *MemoryTornLog) Pending(_ context.Context, panHash [32]byte, aid []byte) ([]TornRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []TornRecord
	for _, r := range m.recs {
		if r.PANHash == panHash && bytes.Equal(r.AID, aid) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Remove forgets r.
func (m *MemoryTornLog) Remove(_ context.Context, r TornRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.recs {
		if x.Kind == r.Kind && x.PANHash == r.PANHash && bytes.Equal(x.AID, r.AID) && x.Date == r.Date && x.Time == r.Time && x.Amount == r.Amount {
			m.recs = append(m.recs[:i], m.recs[i+1:]...)
			return nil
		}
	}
	return nil
}

// Len is the number of pending records.
func (m *MemoryTornLog) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

// recordTorn keeps a torn record for the sale in progress.
func (t *txn) recordTorn(ctx context.Context, amount Amount) {
	tl := t.k.torn
	if tl == nil || t.res.BalanceBefore == nil {
		return
	}
	ph, ok := t.panHash()
	if !ok {
		return
	}
	r := TornRecord{PANHash: ph, PAN: t.res.PAN, AID: append([]byte(nil), t.aid...), Amount: amount,
		BalanceBefore: *t.res.BalanceBefore, Created: t.now}
	t.addTorn(ctx, r, "torn record", "; kept as a torn sale: present the card again to settle it")
}

// addTorn stamps r with the date and time sent to the card (9A, 9F21: the
// card's log entry carries them), keeps it in the TornLog and says so in
// the result: note on success, the failure otherwise (what names the
// record in that sentence).
func (t *txn) addTorn(ctx context.Context, r TornRecord, what, note string) {
	copy(r.Date[:], t.term[0x9A])
	copy(r.Time[:], t.term[0x9F21])
	if err := t.k.torn.Add(ctx, r); err != nil {
		t.res.Detail += "; the " + what + " could not be kept: " + err.Error()
		return
	}
	t.res.Torn = true
	t.res.Detail += note
}

// settleTorn settles the torn sales of this card: a sale is in the card's
// transaction log (same amount, date and time as the terminal sent) if and
// only if the card completed it.
func (t *txn) settleTorn(ctx context.Context) error {
	tl := t.k.torn
	if tl == nil {
		return nil
	}
	ph, ok := t.panHash()
	if !ok {
		return nil
	}
	pending, err := tl.Pending(ctx, ph, t.aid)
	if err != nil || len(pending) == 0 {
		return nil
	}
	var log []LogEntry
	logRead := false
	for _, p := range pending {
		if p.Kind == TornScript {
			if err := t.settleScript(ctx, p); err != nil {
				return err
			}
			continue
		}
		if !logRead {
			if log, err = t.readLog(ctx, 0); err != nil {
				if ctx.Err() != nil {
					return err
				}
				return nil // cannot settle now: keep the records
			}
			logRead = true
		}
		s := Settlement{Record: p}
		for _, e := range log {
			if e.Amount == p.Amount && bytes.Equal(e.Fields["9A"], p.Date[:]) && bytes.Equal(e.Fields["9F21"], p.Time[:]) {
				s.Happened, s.ATC = true, e.ATC
				break
			}
		}
		if s.Happened {
			if err := t.journalSettled(ctx, s); err != nil {
				return err
			}
		}
		if err := tl.Remove(ctx, p); err != nil {
			return fmt.Errorf("kernel: torn log: %w", err)
		}
		t.res.Settled = append(t.res.Settled, s)
	}
	return nil
}

// settleScript settles a balance script whose effect was unknown: the card's
// balance now says whether it took effect; if it did not, the approved
// request is reversed at the host. A balance that is neither (the card was
// used in between) leaves the record pending for the issuer to reconcile.
func (t *txn) settleScript(ctx context.Context, p TornRecord) error {
	delete(t.data, 0x9F79)
	bal, err := t.ecAmount(ctx, 0x9F79, true)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return nil
	}
	delete(t.data, 0x9F79) // the purchase reads it again
	s := Settlement{Record: p}
	switch *bal {
	case p.Expected:
		s.Happened = true
	case p.BalanceBefore:
		rev, ok := t.k.host.(ScriptReverser)
		if !ok || p.Request == nil {
			return nil
		}
		if err := rev.ReverseScript(ctx, p.Request); err != nil {
			return nil // try again at the next presentation
		}
		s.Reversed = true
	default:
		return nil
	}
	if err := t.k.torn.Remove(ctx, p); err != nil {
		return fmt.Errorf("kernel: torn log: %w", err)
	}
	t.res.Settled = append(t.res.Settled, s)
	return nil
}

// recordTornScript keeps an approved top-up or load whose script outcome is
// unknown because the card went away.
func (t *txn) recordTornScript(ctx context.Context, req *AuthRequest, expected Amount) {
	tl := t.k.torn
	ph, ok := t.panHash()
	if tl == nil || !ok || t.res.BalanceBefore == nil {
		return
	}
	r := TornRecord{Kind: TornScript, PANHash: ph, PAN: t.res.PAN, AID: append([]byte(nil), t.aid...),
		Amount: t.res.Amount, BalanceBefore: *t.res.BalanceBefore, Expected: expected, Request: req, Created: t.now}
	t.addTorn(ctx, r, "torn record", "; kept as torn: present the card again to settle the script")
}
