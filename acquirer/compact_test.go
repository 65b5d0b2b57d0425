// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/kernel"
)

// compactRun is what a terminal did after its power-up, as the acquirer,
// the issuer and the card saw it.
type compactRun struct {
	Owed                  queueState // after the power-up, before the flush
	Advices               int        // owed after the power-up
	Reversals             []string   // reasons the acquirer received, in order
	AdvicesTaken, Uploads int
	UploadCopies          []int
	Account, EC           kernel.Amount
	After                 queueState // after the flush
	AdvicesAfter          int
	NextSale              string
}

// The same day twice, once with the state compacted before the power-up:
// an offline sale uploaded, a top-up whose script advice the acquirer has
// not taken, a sale whose reversal it has not taken, an offline sale not
// yet uploaded. Both terminals then do exactly the same: the reversal goes
// once more and is taken once, the advice is taken once, the uploaded sale
// is not sent again, the pending one is, and the next sale's trace number
// is a new one. The settlement then compacts by itself: the file shrinks
// and nothing is owed after another power-up.
func TestCompactedStateBehavesAsTheUncompacted(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for timeouts")
	}
	runs := map[bool]compactRun{}
	for _, compact := range []bool{false, true} {
		runs[compact] = compactDay(t, compact)
	}
	assert.Equal(t, runs[false], runs[true])
	run := runs[true]
	assert.Equal(t, queueState{Reversals: "98", Uploads: 1}, run.Owed)
	assert.Equal(t, 1, run.Advices)
	assert.Equal(t, []string{"98", "98", "98"}, run.Reversals, "refused twice before the power-up, taken once after")
	assert.Equal(t, kernel.Amount(450+99500+35000), run.Account, "the top-up, its refill and the next sale; the reversed sale given back")
	assert.Equal(t, 1, run.AdvicesTaken, "the advice taken once")
	assert.Equal(t, []int{1, 1}, run.UploadCopies, "each offline sale received once")
	assert.Equal(t, queueState{}, run.After)
	assert.Zero(t, run.AdvicesAfter)
}

func compactDay(t *testing.T, compact bool) compactRun {
	ctx := context.Background()
	r := newRig(t, rigOptions{ecBalance: "5.00", timeout: 500 * time.Millisecond})
	acct0 := r.account()
	topUp := r.purchase(450)
	require.Equal(t, kernel.OutcomeApprovedOnline, topUp.Outcome, topUp.Detail)
	require.True(t, topUp.TopUp)
	require.NoError(t, r.link.Complete(ctx, topUp)) // its advice is owed
	offline := r.purchase(1234)
	require.Equal(t, kernel.OutcomeApprovedOffline, offline.Outcome, offline.Detail)
	drop0620 := acquirersim.Fault{MTI: "0620", Kind: acquirersim.DropBeforeForward}
	r.sim.Inject(drop0620)
	_ = r.link.Flush(ctx) // the upload goes; the advice is lost on the way
	require.Len(t, r.sim.Uploads(), 1)
	r.sim.Inject(drop0620)
	r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.DropAfterForward})
	r.sim.Inject(acquirersim.Fault{MTI: "0400", Kind: acquirersim.BadMAC})
	r.sim.Inject(acquirersim.Fault{MTI: "0400", Kind: acquirersim.BadMAC})
	sale := r.purchase(35000)
	require.NotEqual(t, kernel.OutcomeApprovedOnline, sale.Outcome)
	offline2 := r.purchase(100)
	require.Equal(t, kernel.OutcomeApprovedOffline, offline2.Outcome, offline2.Detail)

	statePath := filepath.Join(r.dir, "acquirer.state")
	if compact {
		require.NoError(t, r.state.Compact(ctx))
	}
	r.restart()
	run := compactRun{Owed: r.queue(), Advices: len(r.link.Status().Advices)}
	require.NoError(t, r.link.Flush(ctx))
	next := r.purchase(35000)
	require.Equal(t, kernel.OutcomeApprovedOnline, next.Outcome, next.Detail)
	run.Reversals = r.reversalsReceived()
	stans := map[string]int{}
	for _, a := range r.sim.Auths() {
		stans[a.STAN]++
		if a.TopUp {
			run.AdvicesTaken = a.Advices
		}
		if a.Amount == 35000 && a.Response == "00" && !a.Reversed {
			run.NextSale = a.STAN
		}
	}
	for stan, n := range stans {
		assert.Equal(t, 1, n, "trace number %s used once", stan)
	}
	for _, u := range r.sim.Uploads() {
		run.UploadCopies = append(run.UploadCopies, u.Copies)
	}
	run.Account, run.EC = acct0-r.account(), r.ecBalance()
	run.After, run.AdvicesAfter = r.queue(), len(r.link.Status().Advices)

	// The settlement compacts: the settled batch's requests leave the file.
	before := fileSize(t, statePath)
	s, err := r.link.Settle(ctx)
	require.NoError(t, err)
	require.True(t, s.Balanced)
	assert.Less(t, fileSize(t, statePath), before/2, "compacted after the settlement")
	assert.Empty(t, r.link.Status().Txns, "the settled requests are gone")
	r.restart()
	assert.Equal(t, queueState{}, r.queue())
	assert.Empty(t, r.link.Status().Txns)
	return run
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}
