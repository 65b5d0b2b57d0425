package acquirer

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// Totals are a batch's sums as the settlement reports them (field 48):
// debits are the sales that stood (online) and the offline sales the
// acquirer acknowledged; credits are the EC loads that stood. Reversed
// and unresolved requests are not counted.
type Totals struct {
	DebitCount   int
	DebitAmount  kernel.Amount
	CreditCount  int
	CreditAmount kernel.Amount
}

// field48 encodes the totals for a 0500: debit amount n12, count n3,
// credit amount n12, count n3, code 0, for domestic cards, then zeros for
// foreign ones.
func (t Totals) field48() string {
	return fmt.Sprintf("%012d%03d%012d%03d0", uint64(t.DebitAmount), t.DebitCount%1000, uint64(t.CreditAmount), t.CreditCount%1000) +
		"000000000000000000000000000000" + "0"
}

// Settlement is the outcome of Settle.
type Settlement struct {
	Batch uint32
	// Totals are what the terminal reported; Balanced whether the acquirer
	// agreed (settlement reply code 1).
	Totals   Totals
	Balanced bool
	// TCUploads counts the final TCs uploaded (60.3 203, or 205 after an
	// unbalanced settlement); Skipped those left out because issuer
	// authentication had failed (TVR byte 5 bit 7) [LY; TW].
	TCUploads, Skipped int
}

// Settle closes the batch: the script advices, reversals and offline
// uploads owed go first (a reversal or an upload that cannot go stops the
// settlement: the totals would not agree), then the 0500 with the
// terminal's totals, the final TC of every online approval (0320), and the
// batch end (0320, 60.3 207 balanced, 202 not) with the number of
// messages uploaded. The next batch number follows.
func (l *Link) Settle(ctx context.Context) (*Settlement, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.beforeOnline(ctx, true); err != nil {
		return nil, err
	}
	if n, err := l.uploadOffline(ctx); err != nil {
		return nil, fmt.Errorf("acquirer: settlement: offline uploads (%d sent): %w", n, err)
	}
	batch := l.st.Batch()
	s := &Settlement{Batch: batch, Totals: l.st.totals(batch)}
	reply, err := l.manage(ctx, msgSettlement, "", fields{fAdditional: s.Totals.field48(), fPrivate63: []byte(l.cfg.Operator)})
	if err != nil {
		return nil, err
	}
	switch f48 := str(reply, fAdditional); {
	case len(f48) >= 31 && f48[30] == '1':
		s.Balanced = true
	case len(f48) >= 31 && f48[30] == '2':
	default:
		return nil, fmt.Errorf("%w: settlement reply field 48 %q has no reconciliation code", ErrMismatch, f48)
	}
	if err := l.uploadTCs(ctx, s); err != nil {
		return nil, err
	}
	end := "207"
	if !s.Balanced && !l.cfg.Variant.BatchEnd207Always {
		end = "202"
	}
	if _, err := l.manage(ctx, msgBatchEnd, end, fields{fAdditional: fmt.Sprintf("%04d", s.TCUploads%10000)}); err != nil {
		return nil, err
	}
	return s, l.st.append(ctx, event{T: evSettled, N: batch})
}

// uploadTCs sends the final TC of every online approval not yet
// acknowledged (IC TC upload: 2 4 11 22 23 41 42 55 60 62).
func (l *Link) uploadTCs(ctx context.Context, s *Settlement) error {
	if l.clearing == nil {
		return nil
	}
	recs, err := l.clearing.Pending(ctx)
	if err != nil {
		l.log("clearing records left out of the TC upload", "err", err)
		if recs == nil {
			return err
		}
	}
	net := "203"
	if !s.Balanced {
		net = "205"
	}
	for i := range recs {
		r := &recs[i]
		if r.Kind != journal.KindOnlineSale {
			continue
		}
		if r.TVR[4]&0x40 != 0 { // issuer authentication failed: not uploaded [LY; TW]
			s.Skipped++
			if err := l.clearing.Mark(ctx, r.ID, UploadSkipped, r.STAN, ""); err != nil {
				return err
			}
			continue
		}
		// 62: "61", card organisation 00 (CUP), 00, the amount, the currency.
		f62 := fmt.Sprintf("610000%012d%s", uint64(r.Amount), l.cfg.Currency)
		if err := l.upload(ctx, r, msgTCUpload, net, fields{fPrivate62: []byte(f62)}); err != nil {
			return fmt.Errorf("acquirer: TC upload %s: %w", r.ID, err)
		}
		s.TCUploads++
	}
	return nil
}

// totals are the batch's totals from the state.
func (st *State) totals(batch uint32) Totals {
	var t Totals
	for _, x := range st.txnsInBatch(batch) {
		if x.State != TxnStood {
			continue
		}
		if x.Kind == kernel.RequestPurchase {
			t.DebitCount++
			t.DebitAmount += x.Amount
		} else {
			t.CreditCount++
			t.CreditAmount += x.Amount
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if o := st.offline[batch]; o != nil {
		t.DebitCount += o.DebitCount
		t.DebitAmount += o.DebitAmount
	}
	return t
}

// Totals returns the open batch's totals as the terminal counts them.
func (l *Link) Totals() Totals {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.totals(l.st.Batch())
}
