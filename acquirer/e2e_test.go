// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// A terminal's day through TCP on loopback against the acquirer simulator:
// sign-in, an automatic top-up (with its script advice), an offline EC
// sale, a sale with online PIN (the offline sale is uploaded before it), a
// designated load, and the settlement with the TC uploads and the batch
// end. At the end the acquirer's records, the issuer's account, the card
// and the journal tell the same story.
func TestTerminalDayAgainstTheAcquirer(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOptions{ecBalance: "5.00"})
	require.True(t, r.link.Status().SignedIn, "signed in at power-up")

	// Automatic top-up: 5.00 − 4.50 is below the 1.00 threshold.
	topUp := r.purchase(450)
	require.Equal(t, kernel.OutcomeApprovedOnline, topUp.Outcome, topUp.Detail)
	require.True(t, topUp.TopUp)
	assert.Equal(t, kernel.Amount(100000), r.ecBalance(), "the script set the EC balance to the limit")
	require.NoError(t, r.link.Complete(ctx, topUp)) // its script results go in a 0620
	assert.Len(t, r.link.Status().Advices, 1)

	// An offline EC sale: no message yet.
	before := len(r.sim.Received())
	offline := r.purchase(1234)
	require.Equal(t, kernel.OutcomeApprovedOffline, offline.Outcome, offline.Detail)
	assert.Len(t, r.sim.Received(), before, "an offline sale sends nothing")

	// A sale above the EC single limit: online, with the online PIN the
	// CVM list asks for. Before it: the advice, then the offline upload.
	sale := r.purchase(35000)
	require.Equal(t, kernel.OutcomeApprovedOnline, sale.Outcome, sale.Detail)
	require.True(t, sale.TVR.Has(kernel.TVROnlinePINEntered))
	msgs := r.sim.Received()[before:]
	require.Len(t, msgs, 3)
	assert.Equal(t, []string{"0620", "0200", "0200"}, []string{msgs[0].MTI, msgs[1].MTI, msgs[2].MTI})
	assert.Equal(t, "36", msgs[1].Type60, "the offline EC upload")
	assert.Equal(t, "22", msgs[2].Type60, "then the sale")
	assert.Empty(t, r.link.Status().Advices, "the advice was taken")

	// A designated-account load of 10.00.
	load, err := r.kernel.Load(ctx, r.card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 1000})
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, load.Outcome, load.Detail)

	// Settlement.
	s, err := r.link.Settle(ctx)
	require.NoError(t, err)
	assert.True(t, s.Balanced)
	// The designated load moves no merchant money: not in the totals.
	want := journal.Totals{Batch: 1, Domestic: journal.Side{DebitCount: 3, DebitAmount: 450 + 1234 + 35000}}
	assert.Equal(t, want, s.Totals)
	assert.Equal(t, 2, s.TCUploads, "the final TCs of the two online sales")

	// The acquirer's records.
	batches := r.sim.Batches()
	require.Len(t, batches, 1)
	assert.True(t, batches[0].Balanced)
	assert.Equal(t, want, batches[0].Acquirer)
	assert.Equal(t, 2, batches[0].TCUploads)
	auths := r.sim.Auths()
	require.Len(t, auths, 3)
	for _, a := range auths { // in trace-number order: the top-up, the sale, the load
		assert.Equal(t, "00", a.Response)
		assert.False(t, a.Reversed)
	}
	assert.True(t, auths[0].TopUp)
	assert.Equal(t, 1, auths[0].Advices)
	assert.True(t, auths[0].TC && auths[1].TC, "TCs uploaded for both online sales")
	uploads := r.sim.Uploads()
	require.Len(t, uploads, 1)
	assert.Equal(t, kernel.Amount(1234), uploads[0].Amount)
	assert.Equal(t, 1, uploads[0].Copies)
	assert.Equal(t, offline.ATC, uploads[0].ATC)
	assert.Equal(t, []byte(offline.Cryptogram), uploads[0].TC)

	// The card, the issuer and the journal agree with them.
	assert.Equal(t, kernel.Amount(100000-1234+1000), r.ecBalance())
	refill := kernel.Amount(100000 - 500)
	assert.Equal(t, kernel.Amount(200000-450-refill-35000-1000), r.account())
	recs, err := r.journal.Records(ctx)
	require.NoError(t, err)
	kinds := map[journal.Kind]int{}
	for _, rec := range recs {
		kinds[rec.Kind]++
	}
	assert.Equal(t, map[journal.Kind]int{journal.KindOnlineSale: 2, journal.KindECOfflineSale: 1, journal.KindLoad: 1}, kinds)
	for _, rec := range recs {
		if rec.Kind == journal.KindECOfflineSale {
			assert.Equal(t, strings.ToUpper(hex.EncodeToString(uploads[0].TC)), strings.ToUpper(rec.Cryptogram))
		}
	}
	st := r.link.Status()
	assert.Empty(t, st.Reversals)
	assert.Empty(t, st.Unresolved)
	assert.Equal(t, uint32(2), st.Batch, "the next batch")
	for _, x := range st.Txns {
		assert.Equal(t, acquirer.TxnStood, x.State, x.ID)
	}
}
