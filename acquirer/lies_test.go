// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
)

// lie is a reply the acquirer sends MAC'd but false.
func lie(mti, type60 string, edit func(*iso8583.Message)) acquirersim.Fault {
	return acquirersim.Fault{MTI: mti, Type60: type60, Kind: acquirersim.Lie, Edit: edit}
}

func set(id int, v string) func(*iso8583.Message) {
	return func(m *iso8583.Message) { _ = m.Field(id, v) }
}

func setBytes(id int, v []byte) func(*iso8583.Message) {
	return func(m *iso8583.Message) { _ = m.BinaryField(id, v) }
}

// What if the acquirer's answer to a sale is a lie? Each row's reply is
// MAC'd by the acquirer (or stripped of its MAC) and false in one field;
// the link must not give it to the kernel as an approval, and whatever the
// issuer did must be undone (the reversal) or stand as the evidence says.
func TestSaleReplyLies(t *testing.T) {
	const amount = kernel.Amount(35000)
	rows := []struct {
		name     string
		edit     func(*iso8583.Message)
		outcome  kernel.Outcome
		reversal string
	}{
		{"an approval for another amount", set(4, "000000000001"), kernel.OutcomeDeclined, "06"},
		{"an approval for another merchant", set(42, "999999999999999"), kernel.OutcomeDeclined, "06"},
		{"an approval for another processing code (a load)", set(3, "600000"), kernel.OutcomeDeclined, "06"},
		{"an approval whose field 55 does not parse", setBytes(55, []byte{0x91, 0x20, 0x01}), kernel.OutcomeDeclined, "06"},
		{"an approval carrying two issuer authentication data", setBytes(55, []byte{0x91, 0x02, 0x30, 0x30, 0x91, 0x02, 0x30, 0x30}),
			kernel.OutcomeDeclined, "06"},
		{"an approval without a MAC", func(m *iso8583.Message) { m.UnsetField(64) }, kernel.OutcomeDeclined, "A0"},
		// The issuer approved; the reply says 51 and carries no MAC. The
		// decline is believed (it approves nothing) but a reversal goes
		// anyway: the unauthenticated decline could hide the approval.
		{"a decline without a MAC over a real approval", func(m *iso8583.Message) { _ = m.Field(39, "51"); m.UnsetField(64) },
			kernel.OutcomeDeclined, "A0"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			acct := r.account()
			r.sim.Inject(lie("0200", "22", tc.edit))
			res := r.purchase(amount)
			assert.Equal(t, tc.outcome, res.Outcome, res.Detail)
			assert.NotEqual(t, kernel.OutcomeApprovedOnline, res.Outcome, "never an approval on a reply that does not fit")
			require.NoError(t, r.link.Flush(context.Background()))
			assert.Contains(t, r.reversalsReceived(), tc.reversal)
			assert.Equal(t, acct, r.account(), "whatever the issuer did was undone")
			assert.Empty(t, r.link.Status().Reversals)
		})
	}
}

// What if the sign-in reply lies? Keys whose check values do not match,
// a key block of the wrong length, or a refusal: the terminal is not
// signed in and no MAC'd message goes out.
func TestSignInLies(t *testing.T) {
	flip := func(m *iso8583.Message) {
		b, _ := m.GetBytes(62)
		b = append([]byte(nil), b...)
		b[8] ^= 0x01 // the PIK's check value
		_ = m.BinaryField(62, b)
	}
	rows := []struct {
		name string
		edit func(*iso8583.Message)
		want error
	}{
		{"a PIK check value that does not match", flip, acquirer.ErrCheckValue},
		{"a key block of the wrong length", setBytes(62, make([]byte, 23)), acquirer.ErrMessage},
		{"a refusal", set(39, "99"), &acquirer.ResponseError{}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			r.sim.Inject(lie("0800", "00", tc.edit))
			err := r.link.SignIn(context.Background())
			var re *acquirer.ResponseError
			if errors.As(tc.want, &re) {
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "99", re.Code)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			// Signed in at power-up with the previous keys; the failed
			// sign-in leaves the link asking for a new one.
			assert.False(t, r.link.Status().SignedIn)
		})
	}
}

// What if a download lies? A query that says "more" and lists nothing
// would make a terminal that trusts it ask forever; a record that is not
// the one asked for would install a key under another name.
func TestDownloadLies(t *testing.T) {
	ctx := context.Background()
	sink := func(context.Context, []byte) error { return nil }
	t.Run("more, and nothing listed", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		r.sim.Inject(lie("0820", "00", setBytes(62, []byte("2"))))
		_, err := r.link.DownloadCAKeys(ctx, sink)
		require.ErrorIs(t, err, acquirer.ErrMismatch)
	})
	t.Run("a record that is not the one asked for", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		other := acquirersim.CAKeyRecords(nil)[0]
		other = append([]byte(nil), other...)
		other[11] = 0x77 // 9F22 01 → 77
		r.sim.Inject(lie("0800", "00", setBytes(62, append([]byte("1"), other...))))
		n, err := r.link.DownloadCAKeys(ctx, sink)
		require.ErrorIs(t, err, acquirer.ErrMismatch)
		assert.Zero(t, n)
	})
	t.Run("a settlement reply without its reconciliation code", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		r.sim.Inject(lie("0500", "00", set(48, string(make([]byte, 0))+"00000000000000000000000000000000000000000000000000000000000000")))
		_, err := r.link.Settle(ctx)
		require.ErrorIs(t, err, acquirer.ErrMismatch)
	})
	t.Run("a balance field that says nothing", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		r.sim.Inject(lie("0200", "01", set(54, "garbage")))
		block, err := r.module.PINPad(cardholderPIN).OnlinePIN(ctx, r.pan, 0)
		require.NoError(t, err)
		_, err = r.link.BalanceInquiry(ctx, acquirer.BalanceRequest{PAN: r.pan, PSN: 1, PINBlock: block})
		require.ErrorIs(t, err, acquirer.ErrMismatch)
	})
}

// A reversal whose reply does not verify is kept, and goes again.
func TestReversalReplyWithBadMACIsKept(t *testing.T) {
	r := newRig(t, rigOptions{timeout: time.Second})
	acct := r.account()
	r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.BadMAC})
	// The link tries at once, and again when the kernel asks: both replies lie.
	r.sim.Inject(acquirersim.Fault{MTI: "0400", Kind: acquirersim.BadMAC})
	r.sim.Inject(acquirersim.Fault{MTI: "0400", Kind: acquirersim.BadMAC})
	res := r.purchase(35000)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome)
	st := r.link.Status()
	require.Len(t, st.Reversals, 1, "the reversal's replies did not verify: still owed")
	assert.Equal(t, "A0", st.Reversals[0].Reason)
	assert.Equal(t, acct, r.account(), "the acquirer did reverse; the terminal cannot know it")
	require.NoError(t, r.link.Flush(context.Background()))
	assert.Empty(t, r.link.Status().Reversals)
	assert.Equal(t, []string{"A0", "A0", "A0"}, r.reversalsReceived(), "sent again; the acquirer takes it thrice, undoing once")
	assert.Equal(t, acct, r.account())
}

// scriptFailsAt returns the index of the issuer script's PUT DATA in a
// clean run of the same transaction: the command after the second
// GENERATE AC (template 72 runs after it).
func scriptFailsAt(t *testing.T, run func(r *rig) *kernel.Result) int {
	t.Helper()
	probe := newRig(t, rigOptions{ecBalance: "5.00"})
	clean := run(probe)
	require.Equal(t, kernel.OutcomeApprovedOnline, clean.Outcome, clean.Detail)
	return clean.APDUs - 2 // ... PUT DATA, then the balance read back
}

// A top-up whose script fails on the card: the sale stands; the refill is
// not given back on the terminal's word (a GET DATA proves nothing). At
// the card's next presentation, the MACed balance in its cryptogram shows
// the script without effect; the advice carries that cryptogram, the
// issuer verifies it, and the refill goes back to the account.
func TestFailedTopUpScriptIsAdvisedWithTheCardsEvidence(t *testing.T) {
	ctx := context.Background()
	topUp := func(r *rig) *kernel.Result { return r.purchase(450) }
	at := scriptFailsAt(t, topUp)
	r := newRig(t, rigOptions{ecBalance: "5.00"})
	acct := r.account()
	card := cardsim.NewFaulty(r.card, cardsim.Fault{At: at, Kind: cardsim.FaultSW, SW: 0x6985})
	res, err := r.kernel.Purchase(ctx, card, 450)
	require.NoError(t, err)
	assert.Equal(t, kernel.ReasonScriptFailed, res.Reason, res.Detail)
	assert.Equal(t, kernel.Amount(500), r.ecBalance(), "the card kept its balance")
	assert.Less(t, r.account(), acct-450, "the refill is still held: nothing proves the script failed")
	assert.Empty(t, r.advicesReceived())

	// The next presentation: an offline EC sale of 1.00, whose TC carries
	// the card's MACed balance.
	next := r.purchase(100)
	require.Equal(t, kernel.OutcomeApprovedOffline, next.Outcome, next.Detail)
	require.Len(t, next.Settled, 1, next.Detail)
	assert.True(t, next.Settled[0].Reversed)
	require.Len(t, r.advicesReceived(), 1)
	assert.Equal(t, acct-450, r.account(), "the sale stands, the refill came back")
	assert.Empty(t, r.reversalsReceived(), "the sale is not reversed")
}

// A designated load whose script fails on the card is kept until the card
// proves it, then reversed whole with that proof.
func TestFailedLoadScriptIsReversedWithTheCardsEvidence(t *testing.T) {
	ctx := context.Background()
	load := func(r *rig, card apdu.Transport) (*kernel.Result, error) {
		return r.kernel.Load(ctx, card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 1000})
	}
	at := scriptFailsAt(t, func(r *rig) *kernel.Result {
		res, err := load(r, r.card)
		require.NoError(t, err)
		return res
	})
	r := newRig(t, rigOptions{ecBalance: "5.00"})
	acct, ec := r.account(), r.ecBalance()
	res, err := load(r, cardsim.NewFaulty(r.card, cardsim.Fault{At: at, Kind: cardsim.FaultSW, SW: 0x6985}))
	require.NoError(t, err)
	assert.NotEqual(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.Equal(t, ec, r.ecBalance())
	assert.Equal(t, acct-1000, r.account(), "held until the card proves the load did not happen")
	assert.Empty(t, r.reversalsReceived())

	next := r.purchase(100)
	require.Equal(t, kernel.OutcomeApprovedOffline, next.Outcome, next.Detail)
	require.Len(t, next.Settled, 1, next.Detail)
	assert.True(t, next.Settled[0].Reversed)
	assert.Equal(t, []string{"06"}, r.reversalsReceived())
	assert.Equal(t, acct, r.account(), "the load was given back")
	assert.Equal(t, ec-100, r.ecBalance())
	assert.Empty(t, r.link.Status().Reversals)
}

// advicesReceived lists the script advices the acquirer got.
func (r *rig) advicesReceived() []acquirersim.Received {
	var out []acquirersim.Received
	for _, m := range r.sim.Received() {
		if m.MTI == "0620" {
			out = append(out, m)
		}
	}
	return out
}

// TestARepeatedTraceNumberIsNotSent retries an AuthRequest with the
// kernel's trace number: the retry is refused before it is written or
// sent, and the state still opens (a second armed event of one ID would
// have made the log unreadable, with the reversals it holds).
func TestARepeatedTraceNumberIsNotSent(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	req := captureSale(t, nil).Req
	req.STAN, req.Batch = 4242, 1
	first := req
	_, err := r.link.Authorize(ctx, &first)
	require.NoError(t, err, "the first request gets the acquirer's answer")
	sent := len(r.sim.Received())

	again := req
	_, err = r.link.Authorize(ctx, &again)
	require.ErrorIs(t, err, acquirer.ErrTraceNumberUsed)
	assert.Len(t, r.sim.Received(), sent, "the retry never reached the acquirer")

	r.restart() // requires OpenState to succeed
	next := req
	next.STAN = 4243
	_, err = r.link.Authorize(ctx, &next)
	require.NoError(t, err, "the next trace number goes out")
	assert.Greater(t, len(r.sim.Received()), sent)
}
