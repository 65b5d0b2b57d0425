// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Counter is the terminal's durable numbering: the system trace audit
// number (STAN, field 11) of every message and the batch number (field
// 60.2) that settlement closes. File and Memory implement it; the kernel
// needs only NextSTAN (kernel.Counter).
//
// Rules: a STAN is 1 to 999999 and follows the previous one (999999 is
// followed by 1); a STAN handed out is never handed out again in the same
// batch, across restarts and crashes (after a restart some STANs may be
// skipped, never repeated); a batch holds at most 999999 STANs (then
// NextSTAN fails with ErrBatchFull until the batch is closed).
type Counter interface {
	// NextSTAN returns the next STAN and the batch it belongs to. When it
	// returns, the STAN is durably used.
	NextSTAN(ctx context.Context) (stan, batch uint32, err error)
	// OpenBatch returns the number of the batch being filled.
	OpenBatch(ctx context.Context) (uint32, error)
	// SetBatch makes batch (1-999999) the open batch, as an acquirer's
	// sign-in reply asks (field 60.2). It fails with ErrBatchInUse when
	// the open batch already holds records, or batch was closed before.
	SetBatch(ctx context.Context, batch uint32) error
	// CloseBatch closes the open batch with what the settlement reported
	// and opens the next one, whose number it returns. Closing a batch
	// that is already closed returns the batch opened then (a retry);
	// closing any other batch fails with ErrBatch.
	CloseBatch(ctx context.Context, c BatchClose) (next uint32, err error)
	// Batches returns the closed batches, oldest first.
	Batches(ctx context.Context) ([]BatchClose, error)
}

// Counter errors.
var (
	// ErrBatchFull: the open batch has used every STAN; close it.
	ErrBatchFull = errors.New("journal: every STAN of the batch is used; settle the batch")
	// ErrBatchInUse: SetBatch while the open batch holds records, or to a
	// batch closed before.
	ErrBatchInUse = errors.New("journal: batch holds records or was closed")
	// ErrBatch: CloseBatch of a batch that is neither open nor closed.
	ErrBatch = errors.New("journal: not the open batch")
)

// BatchClose is the settlement of one batch, as CloseBatch keeps it.
type BatchClose struct {
	// Batch is the batch closed.
	Batch uint32 `json:"batch"`
	// Time is when it was settled (zero: CloseBatch sets the time of the call).
	Time time.Time `json:"time"`
	// Totals are what the settlement request reported (field 48).
	Totals Totals `json:"totals"`
	// Result is the acquirer's verdict as the caller words it, e.g.
	// "balanced" or "unbalanced, batch uploaded". At most 256 bytes.
	Result string `json:"result,omitempty"`
	// Next is the batch CloseBatch opened after this one.
	Next uint32 `json:"next"`
}

// Totals are the counts and amounts of one batch as the settlement request
// (0500) reports them in field 48: debits and credits, once for domestic
// cards and once for foreign ones.
type Totals struct {
	Batch    uint32 `json:"batch"`
	Domestic Side   `json:"domestic"`
	Foreign  Side   `json:"foreign"`
}

// Side is one half of field 48.
type Side struct {
	DebitCount   uint64 `json:"debit_count"`
	DebitAmount  uint64 `json:"debit_amount"`
	CreditCount  uint64 `json:"credit_count"`
	CreditAmount uint64 `json:"credit_amount"`
}

// ridUnionPay is the RID of China UnionPay: its cards are domestic.
const ridUnionPay = "A000000333"

// BatchTotals adds up the records of one batch. What counts, following the
// UnionPay POS programs the project's notes cite: a sale the card or the
// issuer approved (EC offline, online, offline by default action codes) is
// a debit; a cash load (9C 63) is a credit (the merchant took the cash); a
// load from an account (9C 60, 62) moves no merchant money and is not
// counted, nor is a format-1 load record, whose load kind is unknown, nor
// anything not Clearable (torn and discrepancy records ask for no money).
// A card is domestic when its AID's RID is UnionPay's (A000000333),
// foreign otherwise.
func BatchTotals(recs []Record, batch uint32) Totals {
	t := Totals{Batch: batch}
	for i := range recs {
		r := &recs[i]
		if r.Batch != batch {
			continue
		}
		side := &t.Foreign
		if strings.HasPrefix(strings.ToUpper(r.AID), ridUnionPay) {
			side = &t.Domestic
		}
		switch {
		case r.Kind == KindLoad && r.TransactionType == "63":
			side.CreditCount++
			side.CreditAmount += r.Amount
		case r.Kind == KindECOfflineSale || r.Kind == KindOnlineSale || r.Kind == KindOfflineSale:
			side.DebitCount++
			side.DebitAmount += r.Amount
		}
	}
	return t
}

// Field 48 sizes: amount n12, count n3, settlement code n1.
const (
	maxField48Count  = 999
	maxField48Amount = 999_999_999_999
	field48SideLen   = 12 + 3 + 12 + 3 + 1
)

// Field48 formats the totals as the settlement request's field 48: for
// domestic then foreign cards, debit amount n12, debit count n3, credit
// amount n12, credit count n3 and a settlement code n1 ("0" in a request):
// 62 digits. More than 999 entries or 9999999999.99 on one side do not fit
// and are an error: settle more often.
func (t Totals) Field48() (string, error) {
	var b strings.Builder
	for _, s := range []Side{t.Domestic, t.Foreign} {
		if s.DebitCount > maxField48Count || s.CreditCount > maxField48Count ||
			s.DebitAmount > maxField48Amount || s.CreditAmount > maxField48Amount {
			return "", fmt.Errorf("%w: batch %d totals do not fit field 48 (n3 counts, n12 amounts)", ErrInvalid, t.Batch)
		}
		fmt.Fprintf(&b, "%012d%03d%012d%03d0", s.DebitAmount, s.DebitCount, s.CreditAmount, s.CreditCount)
	}
	return b.String(), nil
}

// ParseField48 reads a settlement field 48 (request or reply) back into
// totals, with each side's settlement code (in a reply, '1' balanced and
// '2' unbalanced). The batch is not part of field 48 and is left 0.
func ParseField48(s string) (t Totals, domestic, foreign byte, err error) {
	if len(s) != 2*field48SideLen || !digits(s, len(s)) {
		return Totals{}, 0, 0, fmt.Errorf("%w: field 48 %q: want %d digits", ErrInvalid, s, 2*field48SideLen)
	}
	var codes [2]byte
	for i, side := range []*Side{&t.Domestic, &t.Foreign} {
		p := s[i*field48SideLen:]
		side.DebitAmount, _ = strconv.ParseUint(p[0:12], 10, 64)
		side.DebitCount, _ = strconv.ParseUint(p[12:15], 10, 64)
		side.CreditAmount, _ = strconv.ParseUint(p[15:27], 10, 64)
		side.CreditCount, _ = strconv.ParseUint(p[27:30], 10, 64)
		codes[i] = p[30]
	}
	return t, codes[0], codes[1], nil
}
