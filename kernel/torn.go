// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// TornRecord remembers a transaction whose outcome on the card the
// terminal does not know: the card went away (or its answer was lost) after
// a command that moves money, so the card may or may not have done it.
//
// A torn record is kept until evidence settles it (see settleTorn and
// settleScripts): never dropped because another card tapped, because time
// passed, because the card's log rolled over or logs no time.
type TornRecord struct {
	// ID identifies the record in its TornLog; Add assigns one when empty.
	ID string
	// Kind is TornSale, TornTap or TornScript.
	Kind TornKind
	// PANHash is the keyed hash of the PAN digits (see Config.PANHashKey);
	// the PAN itself is not kept. Zero for a tap torn before the card said
	// its PAN.
	PANHash [32]byte
	// PAN is the masked PAN, for people.
	PAN string
	AID []byte
	// Amount, BalanceBefore and the terminal's date and time (9A, 9F21, as
	// sent to the card and written into the card's log) identify the sale.
	Amount        Amount
	BalanceBefore Amount
	Date, Time    [3]byte
	// ATC is the card's ATC of the torn transaction when known (0
	// otherwise): a TornScript always has it (from the online request).
	ATC     uint16
	Created time.Time
	// For TornScript: the balance the card holds if the script took
	// effect, and the approved request to reverse at the host if it did
	// not. The request is kept without the PAN (Request.PAN is empty): at
	// settlement it is taken from the card, whose PAN hash matched.
	Expected Amount
	Request  *AuthRequest
	// ECCurrency is, for a TornScript, the currency of the EC wallet the
	// script refills when it is the card's second EC currency (DF71: the
	// balance is DF79); zero for the first (9F79). Only the first
	// currency's balance is MACed into a cryptogram's IAD, so a script of
	// the second stays pending for the issuer: evidence of one wallet
	// never settles the other.
	ECCurrency uint16 `json:",omitempty"`
	// For a TornScript of a load: the clearing data of the load's
	// completion (the card's TC), journaled as a load once the card's
	// authenticated balance shows that the script took effect.
	Cryptogram HexBytes
	CID        byte
	Field55    HexBytes
}

// TornKind says what a torn record is about.
type TornKind int

// The torn kinds.
const (
	// TornSale is a contact offline sale whose GENERATE AC answer was lost.
	TornSale TornKind = iota
	// TornScript is an issuer's balance script (top-up refill, load) whose
	// effect on the card is not proven.
	TornScript
	// TornTap is a contactless tap whose GPO answer (or what followed) was
	// lost; PANHash is zero when the card left before saying its PAN.
	TornTap
)

// Settlement is how a torn record was settled when the card came back.
type Settlement struct {
	Record TornRecord
	// Happened reports that the card completed the torn operation: for a
	// sale, its log shows it (unauthenticated: the sale is journaled as a
	// discrepancy, never as an approval); for a script, its authenticated
	// balance shows it.
	Happened bool
	// ATC and Time are the card's log entry's ATC and time when a sale
	// Happened (Time zero when the log keeps no time).
	ATC  uint16
	Time time.Time `json:",omitzero"`
	// Reversed reports, for a TornScript that did not take effect, that
	// the host gave the money back on the card's authenticated evidence.
	Reversed bool
	// Evidence says what settled the record.
	Evidence string
}

// TornLog keeps torn records until evidence settles them. An
// implementation must be safe for concurrent use; OpenTornLog is the
// durable one.
type TornLog interface {
	// Add keeps r (assigning r.ID when it is empty).
	Add(ctx context.Context, r TornRecord) error
	// Pending returns the records for one card application (panHash zero:
	// the torn taps whose PAN is unknown).
	Pending(ctx context.Context, panHash [32]byte, aid []byte) ([]TornRecord, error)
	// Remove forgets a settled record (by ID).
	Remove(ctx context.Context, r TornRecord) error
}

// tornID names a record by what identifies it: two records of the same
// kind, card application, amount, ATC and terminal date and time are the
// same torn operation.
func tornID(r TornRecord) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%X|%X|%d|%d|%X|%X", r.Kind, r.PANHash, r.AID, r.Amount, r.ATC, r.Date, r.Time)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// MemoryTornLog is an in-memory TornLog (lost when the process ends).
type MemoryTornLog struct {
	mu   sync.Mutex
	recs []TornRecord
}

// Add keeps r.
func (m *MemoryTornLog) Add(_ context.Context, r TornRecord) error {
	if r.ID == "" {
		r.ID = tornID(r)
	}
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
		if x.ID == r.ID {
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

// Records returns a copy of every pending record.
func (m *MemoryTornLog) Records() []TornRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]TornRecord(nil), m.recs...)
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
	r := TornRecord{Kind: TornSale, PANHash: ph, PAN: t.res.PAN, AID: append([]byte(nil), t.aid...), Amount: amount,
		BalanceBefore: *t.res.BalanceBefore, Created: t.now}
	t.addTorn(ctx, r, "torn record", "; kept as a torn sale: present the card again to settle it")
}

// addTorn stamps r with the date and time sent to the card (9A, 9F21: the
// card's log entry carries them), keeps it in the TornLog and says so in
// the result: note on success, the failure otherwise (what names the
// record in that sentence).
func (t *txn) addTorn(ctx context.Context, r TornRecord, what, note string) {
	copy(r.Date[:], t.term.val(0x9A))
	copy(r.Time[:], t.term.val(0x9F21))
	if err := t.k.torn.Add(ctx, r); err != nil {
		t.res.Detail += "; the " + what + " could not be kept: " + err.Error()
		return
	}
	t.res.Torn = true
	t.res.Detail += note
}

// recordTornScript keeps an approved top-up or load whose script outcome
// the card has not proven: the card went away, refused the script, or
// reports a balance that is neither. It is settled at a later presentation
// from the card's authenticated balance (settleScripts).
func (t *txn) recordTornScript(ctx context.Context, req *AuthRequest, expected Amount) {
	tl := t.k.torn
	ph, ok := t.panHash()
	if tl == nil || !ok || t.res.BalanceBefore == nil {
		t.res.Detail += "; no torn log: the issuer must reconcile the script"
		return
	}
	kept := *req
	kept.PAN, kept.PINBlock = "", nil // the PAN is taken from the card at settlement; the PIN block is never kept
	r := TornRecord{Kind: TornScript, PANHash: ph, PAN: t.res.PAN, AID: append([]byte(nil), t.aid...),
		Amount: t.res.Amount, BalanceBefore: *t.res.BalanceBefore, Expected: expected, Request: &kept,
		ATC: t.res.ATC, Created: t.now, ECCurrency: t.res.ECCurrency}
	if req.Kind != RequestPurchase && t.res.CID&0xC0 == 0x40 {
		r.Cryptogram, r.CID, r.Field55 = t.res.Cryptogram, t.res.CID, t.res.Field55
	}
	t.addTorn(ctx, r, "torn record", "; kept as pending: present the card again to settle the script")
}

// settleTorn settles the torn records of this card after offline data
// authentication. Torn sales are settled from the card's log (settleSales):
// what the log shows happened becomes a discrepancy record whatever the
// card; what it shows absent is forgotten only for a card that
// authenticated itself dynamically (an emulator carrying a real card's PAN
// cannot make the terminal forget money). Torn scripts wait for this
// transaction's first cryptogram, whose IAD carries the balance the card
// MACs (settleScripts).
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
	var sales []TornRecord
	for _, p := range pending {
		if p.Kind == TornScript {
			t.scriptsDue = append(t.scriptsDue, p)
		} else {
			sales = append(sales, p)
		}
	}
	if len(sales) == 0 {
		return nil
	}
	return t.settleSales(ctx, sales)
}
