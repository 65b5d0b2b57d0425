// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

var faultKinds = []cardsim.FaultKind{
	cardsim.FaultRemove, cardsim.FaultReaderError, cardsim.FaultTimeout, cardsim.FaultSW,
	cardsim.FaultTruncate, cardsim.FaultCorrupt, cardsim.FaultTorn,
}

// faultSWs are the status words injected with FaultSW.
var faultSWs = []uint16{0x6985, 0x6A82, 0x6F00}

type faultCase struct {
	at   int
	kind cardsim.FaultKind
	sw   uint16
}

func (f faultCase) String() string {
	if f.kind == cardsim.FaultSW {
		return fmt.Sprintf("apdu%02d/%s-%04X", f.at, f.kind, f.sw)
	}
	return fmt.Sprintf("apdu%02d/%s", f.at, f.kind)
}

// everyFault lists every fault at every APDU of a clean run of n APDUs.
func everyFault(n int) []faultCase {
	var out []faultCase
	for at := 0; at < n; at++ {
		for _, k := range faultKinds {
			if k == cardsim.FaultSW {
				for _, sw := range faultSWs {
					out = append(out, faultCase{at, k, sw})
				}
				continue
			}
			out = append(out, faultCase{at, k, 0})
		}
	}
	return out
}

func withDeadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func approved(o kernel.Outcome) bool {
	return o == kernel.OutcomeApprovedOffline || o == kernel.OutcomeApprovedOnline
}

// TestOfflinePurchaseFaultAtEveryAPDU walks every APDU of an offline EC sale
// with every fault, honest and with a relay that answers GET DATA 9F79 with
// the balance before, then presents the card again: the sale is charged
// once if the card completed it and not at all otherwise, the terminal's
// record agrees with the card, and the journal clears nothing without a TC.
func TestOfflinePurchaseFaultAtEveryAPDU(t *testing.T) {
	const amount = 1234
	for _, variant := range []string{"honest", "stale-balance", "offline-PIN"} {
		card, k := faultWalkCard(t, variant), faultWalkKernel(t, variant)
		clean, err := k.Purchase(context.Background(), card, amount)
		require.NoError(t, err)
		require.Equal(t, kernel.OutcomeApprovedOffline, clean.Outcome, clean.Detail)
		for _, fc := range everyFault(clean.APDUs) {
			t.Run(variant+"/"+fc.String(), func(t *testing.T) { offlineFaultCase(t, fc, variant) })
		}
	}
}

// faultWalkCard is the card of a fault walk variant: the default card, or
// (offline-PIN) one whose CVM list asks for an enciphered offline PIN, so
// that GET DATA 9F17, GET CHALLENGE and VERIFY are walked too.
func faultWalkCard(t *testing.T, variant string) *cardsim.Card {
	if variant != "offline-PIN" {
		return loadCard(t, "default.json")
	}
	return newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.CVMList = "00000000000000000400" }))
}

func faultWalkKernel(t *testing.T, variant string, opts ...kernel.Option) *kernel.Kernel {
	if variant == "offline-PIN" {
		opts = append(opts, kernel.WithOfflinePINPad(hostsim.OfflinePINPad{PIN: testPIN}))
	}
	return newKernel(t, opts...)
}

func offlineFaultCase(t *testing.T, fc faultCase, variant string) {
	const amount = 1234
	stale := variant == "stale-balance"
	card := faultWalkCard(t, variant)
	before := card.Balance(debitAID)
	faulty := cardsim.NewFaulty(card, cardsim.Fault{At: fc.at, Kind: fc.kind, SW: fc.sw})
	var first apdu.Transport = faulty
	if stale {
		first = hostile.NewCard(faulty, hostile.GetData(0x9F79, bcdN(before, 6)))
	}
	torn := &kernel.MemoryTornLog{}
	jr := journal.NewMemory()
	k := faultWalkKernel(t, variant, kernel.WithTornLog(torn), kernel.WithJournal(jr))
	res, _ := k.Purchase(withDeadline(t), first, amount)
	require.NotNil(t, res)
	after := card.Balance(debitAID)
	charged := after != before
	if charged {
		require.Equal(t, before-amount, after, "the card deducts exactly the amount or nothing")
	}
	switch {
	case res.Outcome == kernel.OutcomeApprovedOffline:
		assert.True(t, charged, "never approved without the card's deduction")
		assert.Equal(t, byte(0x40), res.CID&0xC0, "never approved without a TC")
		if res.BalanceAfter != nil {
			assert.Equal(t, after, uint64(*res.BalanceAfter))
		}
	case charged:
		// The card completed the sale but the terminal did not see
		// the TC: it is settled now or kept as torn.
		// The card completed the sale but the terminal did not accept
		// its answer: a discrepancy now (its balance changed) or a
		// torn record settled at the next presentation.
		assert.True(t, res.Discrepancy || res.Torn, "a deduction the terminal missed is a discrepancy or torn: %s", res.Detail)
	default:
		assert.False(t, approved(res.Outcome))
	}
	if res.BalanceAfter != nil && !stale {
		assert.Equal(t, after, uint64(*res.BalanceAfter), "never a balance the card did not report")
	}
	// Present the card again (reinserted): a torn sale settles to
	// exactly what the card did.
	// recorded counts the sales of `amount` in the journal.
	recorded := func() int {
		recs, err := jr.Records(context.Background())
		require.NoError(t, err)
		n := 0
		for _, r := range recs {
			if r.Amount == amount {
				n++
			}
		}
		return n
	}
	if !res.Torn {
		assert.Zero(t, torn.Len())
		want := 0
		if charged {
			want = 1
		}
		assert.Equal(t, want, recorded(), "the journal holds the sale once if the card made it, else not at all")
		assertNoClearingWithoutTC(t, jr)
		return
	}
	assert.Zero(t, recorded(), "a torn sale is not recorded before it is settled")
	faulty.Reinsert()
	res2, err := k.Purchase(withDeadline(t), faulty, 100)
	require.NoError(t, err)
	require.Len(t, res2.Settled, 1, res2.Detail)
	assert.Equal(t, charged, res2.Settled[0].Happened, "settled from the card's log")
	assert.Equal(t, kernel.Amount(amount), res2.Settled[0].Record.Amount)
	assert.Zero(t, torn.Len(), "settled once")
	want := 0
	if charged {
		want = 1
	}
	assert.Equal(t, want, recorded(), "recorded once if it happened, not at all if it did not")
	assertNoClearingWithoutTC(t, jr)
	res3, err := k.Purchase(withDeadline(t), faulty, 100)
	require.NoError(t, err)
	assert.Empty(t, res3.Settled, "never settled twice")
}

// TestOnlineMoneyPathsFaultAtEveryAPDU walks every APDU of an automatic
// top-up and of a load with every fault: the card's balance and the
// issuer's account always agree with each other and with the result.
func TestOnlineMoneyPathsFaultAtEveryAPDU(t *testing.T) {
	type path struct {
		name    string
		profile string
		run     func(k *kernel.Kernel, ctx context.Context, card apdu.Transport) (*kernel.Result, error)
		// valid lists the allowed (account spent, card balance) pairs
		// with whether the outcome is an approval.
		valid map[[2]kernel.Amount]bool
	}
	const acct = 200000
	paths := []path{
		{
			name: "top-up", profile: "low-balance.json",
			run: func(k *kernel.Kernel, ctx context.Context, card apdu.Transport) (*kernel.Result, error) {
				return k.Purchase(ctx, card, 450)
			},
			valid: map[[2]kernel.Amount]bool{
				{0, 500}:              false, // nothing happened
				{450, 500}:            true,  // sale approved, top-up failed and reversed
				{450 + 99500, 100000}: true,  // sale and top-up
			},
		},
	}
	for _, kind := range []kernel.LoadKind{kernel.LoadDesignated, kernel.LoadNonDesignated, kernel.LoadCash} {
		paths = append(paths, path{
			name: "load-" + kind.String(), profile: "default.json",
			run: func(k *kernel.Kernel, ctx context.Context, card apdu.Transport) (*kernel.Result, error) {
				return k.Load(ctx, card, kernel.LoadRequest{Kind: kind, Amount: 10000})
			},
			valid: map[[2]kernel.Amount]bool{
				{0, 50000}:     false, // nothing happened
				{10000, 60000}: true,  // loaded: the money taken and the card credited
			},
		})
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			b := newBank(t, p.profile, acct)
			clean, err := p.run(b.kernel(t, testPIN, nil), context.Background(), b.card)
			require.NoError(t, err)
			require.Equal(t, kernel.OutcomeApprovedOnline, clean.Outcome, clean.Detail)
			for _, fc := range everyFault(clean.APDUs) {
				t.Run(fc.String(), func(t *testing.T) {
					b := newBank(t, p.profile, acct)
					faulty := cardsim.NewFaulty(b.card, cardsim.Fault{At: fc.at, Kind: fc.kind, SW: fc.sw})
					k := newKernel(t, kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}),
						kernel.WithTornLog(&kernel.MemoryTornLog{}))
					res, _ := p.run(k, withDeadline(t), faulty)
					require.NotNil(t, res)
					var later kernel.Amount
					if res.Torn {
						// The card comes back: a 1.00 EC sale settles the
						// torn script first (from the card's balance).
						faulty.Reinsert()
						res2, err := k.Purchase(withDeadline(t), faulty, 100)
						require.NoError(t, err)
						require.Len(t, res2.Settled, 1, res2.Detail)
						require.Equal(t, kernel.OutcomeApprovedOffline, res2.Outcome, res2.Detail)
						later = 100
					}
					// What the issuer took: from the account, or counted as
					// non-designated or cash funds.
					spent := acct - b.account(t) + b.host.NonDesignatedTotal() + b.host.CashTotal()
					card := kernel.Amount(b.card.Balance(debitAID)) + later
					wantApproved, ok := p.valid[[2]kernel.Amount{spent, card}]
					require.True(t, ok, "account spent %s, card holds %s: %s / %s", spent, card, res.Outcome, res.Detail)
					if spent == 0 {
						assert.False(t, approved(res.Outcome), "nothing charged is never an approval: %s", res.Detail)
					}
					if approved(res.Outcome) {
						assert.True(t, wantApproved)
					}
					if res.BalanceAfter != nil && !res.Torn {
						assert.Equal(t, card-later, *res.BalanceAfter, "the result's balance is what the card holds")
					}
					if approved(res.Outcome) && p.name != "top-up" {
						assert.Equal(t, kernel.Amount(60000), card-later, "never a load reported that the card did not apply")
					}
				})
			}
		})
	}
}

// assertNoClearingWithoutTC checks the journal asks the acquirer for no
// money it cannot prove: every clearable record holds a TC (CID 40), every
// other one is a discrepancy kept for reconciliation.
func assertNoClearingWithoutTC(t *testing.T, jr journal.Journal) {
	t.Helper()
	recs, err := jr.Records(context.Background())
	require.NoError(t, err)
	for _, r := range recs {
		if r.Kind.Clearable() {
			assert.True(t, isTC(r.CID), "clearable record %s without a TC (CID %s)", r.ID, r.CID)
			assert.Len(t, r.Cryptogram, 16, "clearable record %s without a cryptogram", r.ID)
			continue
		}
		assert.Equal(t, journal.KindDiscrepancy, r.Kind, r.ID)
		assert.NotEmpty(t, r.Note, "a discrepancy says what the card showed")
	}
}
