// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// Settlement is the outcome of Settle.
type Settlement struct {
	Batch uint32
	// Totals are what the terminal reported (journal.BatchTotals of its
	// records); Balanced whether the acquirer agreed (reply code 1 on both
	// sides). Next is the batch opened after it.
	Totals   journal.Totals
	Balanced bool
	Next     uint32
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
	batch, err := l.counter.OpenBatch(ctx)
	if err != nil {
		return nil, err
	}
	s := &Settlement{Batch: batch}
	if s.Totals, err = l.totals(ctx, batch); err != nil {
		return nil, err
	}
	f48, err := s.Totals.Field48()
	if err != nil {
		return nil, err
	}
	// 49 as the recorded settlement (soloicesky/ISO8583Decoder) carries it.
	reply, err := l.manageIn(ctx, msgSettlement, batch, "", fields{fAdditional: f48, fCurrency: l.cfg.Currency, fPrivate63: []byte(l.cfg.Operator)})
	if err != nil {
		return nil, err
	}
	// What if the reply lies? Its totals are not ours to take: only its
	// reconciliation codes are read, and one that is neither 1 nor 2 is no
	// answer.
	_, dom, foreign, err := journal.ParseField48(str(reply, fAdditional))
	switch {
	case err != nil || dom < '1' || dom > '2' || foreign < '1' || foreign > '2':
		return nil, fmt.Errorf("%w: settlement reply field 48 has no reconciliation code", ErrMismatch)
	case dom == '1' && foreign == '1':
		s.Balanced = true
	}
	if err := l.uploadTCs(ctx, s); err != nil {
		return nil, err
	}
	end := "207"
	if !s.Balanced && !l.cfg.Variant.BatchEnd207Always {
		end = "202"
	}
	if _, err := l.manageIn(ctx, msgBatchEnd, batch, end, fields{fAdditional: fmt.Sprintf("%04d", s.TCUploads%10000)}); err != nil {
		return nil, err
	}
	result := "balanced"
	if !s.Balanced {
		result = "unbalanced, TCs uploaded again"
	}
	s.Next, err = l.counter.CloseBatch(ctx, journal.BatchClose{Batch: batch, Time: l.now(), Totals: s.Totals, Result: result})
	if err != nil {
		return s, err
	}
	l.compactAfter(ctx, batch)
	return s, nil
}

// compactAfter compacts the state once the acquirer has settled batch: its
// finished requests are dropped from the log (see State). The settlement
// stands whatever happens here, so a failure is logged, not returned: the
// log is left as it was (or, when even that is unknown, refuses the next
// write, which reports it).
func (l *Link) compactAfter(ctx context.Context, batch uint32) {
	if _, own := l.counter.(stateCounter); !own {
		// Another Counter closed the batch: the State learns of it here.
		if err := l.st.settledBatch(ctx, batch); err != nil {
			l.log("state: the settlement not recorded; its requests stay in the log", "batch", batch, "err", err)
			return
		}
	}
	if err := l.st.Compact(ctx); err != nil {
		l.log("state: not compacted after the settlement", "batch", batch, "err", err)
	}
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
		if r.Batch != s.Batch {
			continue // another batch's: its settlement uploads it
		}
		if r.TVR[4]&0x40 != 0 {
			// Issuer authentication failed: not uploaded [LY; TW]. It stays
			// pending in the journal, for the back office to see.
			s.Skipped++
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

// totals are what the terminal reports for a batch: its clearing records'
// (journal.BatchTotals), or without a Clearing the state's own count of
// the same rule — the sales that stood are debits, the cash loads that
// stood credits.
func (l *Link) totals(ctx context.Context, batch uint32) (journal.Totals, error) {
	if l.clearing != nil {
		return l.clearing.Totals(ctx, batch)
	}
	t := journal.Totals{Batch: batch}
	for _, x := range l.st.txnsInBatch(batch) {
		switch {
		case x.State != TxnStood:
		case x.Kind == kernel.RequestPurchase:
			t.Domestic.DebitCount++
			t.Domestic.DebitAmount += uint64(x.Amount)
		case x.Kind == kernel.RequestLoadCash:
			t.Domestic.CreditCount++
			t.Domestic.CreditAmount += uint64(x.Amount)
		}
	}
	return t, nil
}

// Totals returns the open batch's totals as the terminal reports them.
func (l *Link) Totals(ctx context.Context) (journal.Totals, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	batch, err := l.counter.OpenBatch(ctx)
	if err != nil {
		return journal.Totals{}, err
	}
	return l.totals(ctx, batch)
}
