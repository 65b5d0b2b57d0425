package acquirer

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// Evidence answers, after a crash, whether the card completed an approved
// request: a journal holds the clearing record of every approval the
// kernel finished, written before it returned.
type Evidence interface {
	// Completed reports whether the request whose field 55 (as the kernel
	// sent it) is f55 ended approved on the card.
	Completed(ctx context.Context, f55 []byte) (bool, error)
}

// JournalEvidence is the Evidence of a journal the kernel writes
// (kernel.WithJournal): a record of kind online_sale or load whose field 55
// is the request's.
func JournalEvidence(j journal.Journal) Evidence { return journalEvidence{j} }

type journalEvidence struct{ j journal.Journal }

func (e journalEvidence) Completed(ctx context.Context, f55 []byte) (bool, error) {
	recs, err := e.j.Records(ctx)
	if err != nil {
		return false, err
	}
	want := hex.EncodeToString(f55)
	for _, r := range recs {
		if (r.Kind == journal.KindOnlineSale || r.Kind == journal.KindLoad) && equalFold(r.Field55, want) {
			return true, nil
		}
	}
	return false, nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}

// recover settles what a crash left open, before the link sends anything:
//
//   - a request armed but without a recorded reply may have reached the
//     acquirer: its reversal is owed (98);
//   - an approval the card may not have completed is settled by the
//     journal: its record there means the sale stood; without one, a sale
//     is reversed (06: the kernel never told the merchant it was
//     approved), while a load or top-up — which may have put money on the
//     card — is kept unresolved for the issuer, never refunded on no
//     evidence; with no Evidence configured, every such approval is kept
//     unresolved.
func (l *Link) recover(ctx context.Context) error {
	for _, t := range l.st.txnsIn(TxnSent) {
		if err := l.st.append(ctx, event{T: evReverse, ID: t.ID, Reason: "98"}); err != nil {
			return err
		}
	}
	for _, t := range l.st.txnsIn(TxnApproved) {
		e, err := l.settleAfterCrash(ctx, t)
		if err != nil {
			return err
		}
		if err := l.st.append(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func (l *Link) settleAfterCrash(ctx context.Context, t *txn) (event, error) {
	if l.evidence == nil {
		return event{T: evUnresolved, ID: t.ID}, nil
	}
	done, err := l.evidence.Completed(ctx, t.Field55)
	if err != nil {
		return event{}, fmt.Errorf("acquirer: settling %s after a restart: %w", t.ID, err)
	}
	switch {
	case done:
		return event{T: evStood, ID: t.ID}, nil
	case t.Kind == kernel.RequestPurchase && !t.TopUp:
		return event{T: evReverse, ID: t.ID, Reason: "06"}, nil
	default:
		return event{T: evUnresolved, ID: t.ID}, nil
	}
}
