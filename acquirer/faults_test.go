// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// queueState is what a row shows of the terminal's debts: the reversals
// owed (with their reasons) and the offline sales not yet acknowledged.
type queueState struct {
	Reversals string // reasons of the owed reversals, comma-separated
	Uploads   int
}

func (q queueState) String() string {
	var parts []string
	if q.Reversals != "" {
		parts = append(parts, "reversal "+q.Reversals)
	}
	if q.Uploads > 0 {
		parts = append(parts, fmt.Sprintf("%d upload", q.Uploads))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func (r *rig) queue() queueState {
	r.t.Helper()
	var q queueState
	var reasons []string
	for _, x := range r.link.Status().Reversals {
		reasons = append(reasons, x.Reason)
	}
	q.Reversals = strings.Join(reasons, ",")
	pending, err := acquirer.JournalClearing(r.journal, r.dataKey).Pending(context.Background())
	require.NoError(r.t, err)
	for _, p := range pending {
		if p.Kind != journal.KindOnlineSale {
			q.Uploads++
		}
	}
	return q
}

// The network faults and lies of the issue, end to end through TCP. Each
// row runs one transaction with the fault, shows the reversal queue and the
// uploads owed right after it and after the terminal has drained them
// (Flush, with the acquirer reachable again), and checks that the issuer's
// account, the card, the journal and the acquirer's records then agree.
func TestNetworkFaultsAndLies(t *testing.T) {
	const online = kernel.Amount(35000) // above the EC single limit: online with PIN
	type row struct {
		name string
		// fault prepares the fault; between runs after the transaction
		// (the acquirer or the terminal restarts).
		fault, between func(r *rig)
		amount         kernel.Amount
		before, after  queueState
		// reversal is the reason the acquirer received, "" when none.
		reversal string
		// stood says the sale was charged in the end (online approval).
		stood bool
		// ignored says a reply came that nobody waited for.
		ignored bool
		// txn replaces the purchase of amount.
		txn func(r *rig) *kernel.Result
	}
	rows := []row{
		{name: "connection refused: nothing sent, nothing owed",
			fault: func(r *rig) { r.sim.Close(); r.idle() }, between: func(r *rig) { require.NoError(r.t, r.sim.Start(r.simAddr)) },
			amount: online},
		{name: "dropped while idle, before the request: the link dials again",
			fault: func(r *rig) { require.NoError(r.t, r.sim.Restart()); r.idle() }, amount: online, stood: true},
		{name: "dropped on arrival, never forwarded: reversal 98, the acquirer has no original",
			fault: func(r *rig) {
				r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.DropBeforeForward})
			},
			amount: online, reversal: "98"},
		{name: "dropped after the request was sent: reversal 98 undoes the debit",
			fault: func(r *rig) {
				r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.DropAfterForward})
			},
			amount: online, reversal: "98"},
		{name: "late reply: reversal 98, the late 0210 is ignored",
			fault: func(r *rig) {
				r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.Late, Delay: 1500 * time.Millisecond})
			},
			amount: online, reversal: "98", ignored: true},
		{name: "reply with a bad MAC: not believed, reversal A0",
			fault:  func(r *rig) { r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.BadMAC}) },
			amount: online, reversal: "A0"},
		{name: "reply for another trace number: no reply, reversal 98",
			fault:  func(r *rig) { r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.WrongSTAN}) },
			amount: online, reversal: "98", ignored: true},
		{name: "duplicate reply: the first answers, the second is ignored",
			fault: func(r *rig) { r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.Duplicate}) },
			// The second reply is never acted on; whether it reaches the
			// link's handler depends on a race inside iso8583-connection (a
			// reply arriving while the first Send returns is handed to the
			// finished request's channel and its goroutine blocks), so the
			// row does not ask for it.
			amount: online, stood: true},
		{name: "the card refuses the second GENERATE AC after the approval: reversal 06",
			txn: func(r *rig) *kernel.Result { return r.purchaseCardFailsLast(online) }, reversal: "06"},
		// The kernel asks for the reversal itself once the link reports no
		// valid answer: the second attempt goes at once.
		{name: "the acquirer refuses the reversal: kept, sent again as 06",
			fault: func(r *rig) {
				r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.BadMAC})
				r.sim.Inject(acquirersim.Fault{MTI: "0400", Kind: acquirersim.Refuse, Code: "96"})
			},
			amount: online, reversal: "06"},
		{name: "acquirer restart between sale and reversal: the reversal waits and goes first",
			fault: func(r *rig) {
				r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.CrashAfterForward})
			},
			between: func(r *rig) { r.waitDown(); require.NoError(r.t, r.sim.Start(r.simAddr)) },
			amount:  online, before: queueState{Reversals: "98"}, reversal: "98"},
		{name: "terminal crash with a reversal pending: the restarted terminal sends it",
			fault: func(r *rig) {
				r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.CrashAfterForward})
			},
			between: func(r *rig) { r.waitDown(); r.restart(); require.NoError(r.t, r.sim.Start(r.simAddr)) },
			amount:  online, before: queueState{Reversals: "98"}, reversal: "98"},
		{name: "terminal crash with an upload pending: uploaded once after the restart",
			between: func(r *rig) { r.restart() },
			amount:  1234, before: queueState{Uploads: 1}},
		{name: "upload dropped after the acquirer took it: sent again, counted once",
			fault: func(r *rig) {
				r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "36", Kind: acquirersim.DropAfterForward})
			},
			between: func(r *rig) {
				_ = r.link.Flush(context.Background()) // the upload reaches the acquirer; its reply does not
				r.restart()
			},
			amount: 1234, before: queueState{Uploads: 1}},
	}
	var report []string
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			// A reply timeout a loaded machine does not reach on an honest
			// exchange: the rows expect the immediate reversal to go through.
			r := newRig(t, rigOptions{timeout: time.Second})
			r.simAddr = r.sim.Addr()
			ec, acct := r.ecBalance(), r.account()
			if tc.fault != nil {
				tc.fault(r)
			}
			var res *kernel.Result
			if tc.txn != nil {
				res = tc.txn(r)
			} else {
				res = r.purchase(tc.amount)
			}
			before := r.queue()
			if tc.between != nil {
				tc.between(r)
			}
			require.NoError(t, r.link.Flush(context.Background()), "the queue drains once the acquirer is back")
			after := r.queue()
			assert.Equal(t, tc.before, before, "queue right after the transaction")
			assert.Equal(t, tc.after, after, "queue after the drain")
			if tc.ignored {
				assert.Eventually(t, func() bool { return r.link.Status().Ignored > 0 }, 2*time.Second, 10*time.Millisecond,
					"the stray reply arrives and is ignored")
			}
			reversals := r.reversalsReceived()
			if tc.reversal == "" {
				assert.Empty(t, reversals, "no reversal for a sale that stood")
			} else {
				assert.Contains(t, reversals, tc.reversal)
			}
			r.checkAgreement(ec, acct, res, tc.stood)
			agree := "agree"
			if t.Failed() {
				agree = "DISAGREE"
			}
			report = append(report, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", tc.name, res.Outcome, before, after, strings.Join(reversals, " "), agree))
		})
	}
	t.Log("| row | outcome | owed after it | owed after the drain | reversals the acquirer got | account, card, journal, acquirer |")
	for _, l := range report {
		t.Log(l)
	}
}

// purchaseCardFailsLast runs a purchase whose last command (the second
// GENERATE AC, after the issuer's approval) the card answers 6985.
func (r *rig) purchaseCardFailsLast(amount kernel.Amount) *kernel.Result {
	r.t.Helper()
	probe := newRig(r.t, rigOptions{})
	clean := probe.purchase(amount)
	require.Equal(r.t, kernel.OutcomeApprovedOnline, clean.Outcome)
	card := cardsim.NewFaulty(r.card, cardsim.Fault{At: clean.APDUs - 1, Kind: cardsim.FaultSW, SW: 0x6985})
	res, err := r.kernel.Purchase(context.Background(), card, amount)
	require.Error(r.t, err, "the card failed the second GENERATE AC")
	return res
}

// idle lets the terminal notice that the acquirer hung up, as it does
// between two customers. (A hang-up at the very moment of a request is the
// row "dropped on arrival".)
func (r *rig) idle() {
	require.Eventually(r.t, func() bool { return !r.link.Connected() }, 5*time.Second, 5*time.Millisecond)
}

// reversalsReceived lists the reasons of the reversals the acquirer got.
func (r *rig) reversalsReceived() []string {
	var out []string
	for _, m := range r.sim.Received() {
		if m.MTI == "0400" {
			out = append(out, m.Reason)
		}
	}
	return out
}

// waitDown waits until the simulator stopped listening (a crash fault stops
// it from its own goroutine).
func (r *rig) waitDown() {
	require.Eventually(r.t, func() bool { return !r.sim.Listening() }, 2*time.Second, 5*time.Millisecond)
}

// checkAgreement checks that the issuer's account, the card, the journal
// and the acquirer's records agree once the queue has drained.
func (r *rig) checkAgreement(ec0, acct0 kernel.Amount, res *kernel.Result, stood bool) {
	t := r.t
	ctx := context.Background()
	recs, err := r.journal.Records(ctx)
	require.NoError(t, err)
	var onlineSales, offlineSales kernel.Amount
	offline := map[uint16]journal.Record{}
	for _, rec := range recs {
		switch rec.Kind {
		case journal.KindOnlineSale:
			onlineSales += kernel.Amount(rec.Amount)
		case journal.KindECOfflineSale, journal.KindOfflineSale:
			offlineSales += kernel.Amount(rec.Amount)
			offline[rec.ATC] = rec
		}
	}
	// Issuer: the account paid exactly the online sales the terminal journaled.
	assert.Equal(t, acct0-onlineSales, r.account(), "issuer account = before − the online sales journaled")
	if stood {
		assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome)
		assert.Equal(t, res.Amount, onlineSales)
	}
	// Acquirer: every approval it still holds is a sale the journal has;
	// every offline sale was uploaded exactly once.
	var held kernel.Amount
	for _, a := range r.sim.Auths() {
		if a.Response == "00" && !a.Reversed {
			held += a.Amount
		}
	}
	assert.Equal(t, onlineSales, held, "the acquirer holds the sales that stood, no more")
	uploads := r.sim.Uploads()
	assert.Len(t, uploads, len(offline), "each offline sale uploaded")
	for _, u := range uploads {
		rec, ok := offline[u.ATC]
		assert.True(t, ok, "upload of ATC %d is a journaled sale", u.ATC)
		assert.Equal(t, kernel.Amount(rec.Amount), u.Amount)
		assert.Positive(t, u.Copies) // received maybe twice; counted once (the totals below)
	}
	// Card: the EC balance dropped by the EC offline sales only.
	var ecSales kernel.Amount
	for _, rec := range offline {
		if rec.Kind == journal.KindECOfflineSale {
			ecSales += kernel.Amount(rec.Amount)
		}
	}
	assert.Equal(t, ec0-ecSales, r.ecBalance(), "card EC balance = before − the EC sales journaled")
	// Terminal: nothing owed, nothing unresolved, and the same totals.
	st := r.link.Status()
	assert.Empty(t, st.Reversals)
	assert.Empty(t, st.Unresolved)
	tot, err := r.link.Totals(ctx)
	require.NoError(t, err)
	assert.Equal(t, tot, r.sim.Totals(terminalID, st.Batch), "terminal and acquirer totals")
}
