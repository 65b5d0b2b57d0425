// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// CardTxn names one transaction of one card: the masked PAN, the card's
// ATC (9F36) and the terminal's unpredictable number (9F37), which the
// request and the clearing record both carry.
type CardTxn struct {
	MaskedPAN           string
	ATC                 uint16
	UnpredictableNumber []byte
	// STAN and Batch are the request's numbers (0 when the kernel gave
	// none): with them a journal record names its request exactly.
	STAN, Batch uint32
}

// key indexes card transactions.
func (c CardTxn) key() string {
	return fmt.Sprintf("%s|%d|%X", c.MaskedPAN, c.ATC, c.UnpredictableNumber)
}

func (c CardTxn) same(o CardTxn) bool {
	return c.MaskedPAN == o.MaskedPAN && c.ATC == o.ATC && len(c.UnpredictableNumber) == 4 &&
		bytes.Equal(c.UnpredictableNumber, o.UnpredictableNumber)
}

// cardTxn reads the card transaction of a field 55.
func cardTxn(maskedPAN string, f55 []byte) CardTxn {
	c := CardTxn{MaskedPAN: maskedPAN, UnpredictableNumber: findTag(f55, 0x9F37)}
	if atc := findTag(f55, 0x9F36); len(atc) == 2 {
		c.ATC = uint16(atc[0])<<8 | uint16(atc[1])
	}
	return c
}

// card is the card transaction of t's request.
func (t *txn) card() CardTxn {
	c := cardTxn(t.MaskedPAN, t.Field55)
	c.STAN, c.Batch = t.STAN, t.Batch
	return c
}

// Evidence answers, after a crash, whether the card completed an approved
// request: a journal holds the clearing record of every approval the
// kernel finished, written before it returned.
type Evidence interface {
	// Completed reports whether the card transaction c ended approved on
	// the card.
	Completed(ctx context.Context, c CardTxn) (bool, error)
}

// JournalEvidence is the Evidence of a journal the kernel writes
// (kernel.WithJournal): a record of kind online_sale or load of the same
// card transaction (masked PAN, ATC, and 9F37 in its field 55), and, when
// both carry one, the same STAN and batch.
func JournalEvidence(j journal.Journal) Evidence { return journalEvidence{j} }

type journalEvidence struct{ j journal.Journal }

// Completed reports whether the journal holds a record of the card
// transaction c (Evidence).
func (e journalEvidence) Completed(ctx context.Context, c CardTxn) (bool, error) {
	recs, err := e.j.Records(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if r.Kind != journal.KindOnlineSale && r.Kind != journal.KindLoad {
			continue
		}
		f55, err := hex.DecodeString(r.Field55)
		if err != nil {
			continue
		}
		if c.STAN != 0 && r.STAN != 0 && (c.STAN != r.STAN || c.Batch != r.Batch) {
			continue
		}
		if c.same(CardTxn{MaskedPAN: r.MaskedPAN, ATC: r.ATC, UnpredictableNumber: findTag(f55, 0x9F37)}) {
			return true, nil
		}
	}
	return false, nil
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
	done, err := l.evidence.Completed(ctx, t.card())
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
