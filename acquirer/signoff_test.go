// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/kernel"
)

// Echo and sign-off are 0820s with 60.1 00 and the network management
// code in 60.3 (ACQUIRER-NOTES §3: 301 echo, 002 sign-off), without a MAC,
// as the acquirer decodes them from the wire. Sign-off clears the signed-in
// state, and the next sale signs in again (0800, new working keys) before
// its 0200, which the acquirer then approves under the new MAK.
func TestEchoAndSignOffOnTheWire(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	require.True(t, r.link.Status().SignedIn, "signed in at power-up")

	n := len(r.sim.Received())
	require.NoError(t, r.link.Echo(ctx))
	assert.True(t, r.link.Status().SignedIn, "an echo changes nothing")
	require.NoError(t, r.link.SignOff(ctx))
	assert.False(t, r.link.Status().SignedIn, "signed off")
	got := r.sim.Received()[n:]
	require.Len(t, got, 2)
	for i, want := range []string{"301", "002"} {
		m := got[i]
		assert.Equal(t, "0820", m.MTI, "message %d", i)
		assert.Equal(t, "00", m.Type60, "60.1 of %s", want)
		assert.Equal(t, want, m.Network, "60.3")
		assert.Equal(t, terminalID, m.TerminalID)
		assert.Equal(t, acquirer.MACAbsent, m.MAC, "management messages carry no MAC")
		assert.Equal(t, "00", m.Response)
	}

	// The kernel asks for the PIN before it goes online: the PIN pad
	// enciphers it under the PIK of the keys just signed off. The link
	// signs in (new keys) and does not send that block, which the issuer
	// would read as a wrong PIN; the next sale, whose PIN is entered
	// under the new PIK, is approved.
	n = len(r.sim.Received())
	first := r.purchase(35000)
	assert.NotEqual(t, kernel.OutcomeApprovedOnline, first.Outcome, first.Detail)
	t.Logf("the first sale: %s (%s)", first.Outcome, first.Detail)
	assert.True(t, r.link.Status().SignedIn, "the sale signed in again")
	sale := r.purchase(35000)
	require.Equal(t, kernel.OutcomeApprovedOnline, sale.Outcome, sale.Detail)
	var seq []string
	for _, m := range r.sim.Received()[n:] {
		seq = append(seq, m.MTI+"/"+m.Network+" -> "+m.Response)
	}
	assert.Equal(t, []string{"0800/001 -> 00", "0200/000 -> 00"}, seq, "sign-in, then only the sale whose PIN block is under the new PIK")
}

// A sign-off the acquirer does not answer still leaves the link signed
// off: the keys it held may no longer be the acquirer's.
func TestSignOffWithoutAnswerStillSignsOff(t *testing.T) {
	r := newRig(t, rigOptions{timeout: 300e6})
	r.sim.Close()
	require.Error(t, r.link.SignOff(context.Background()))
	assert.False(t, r.link.Status().SignedIn)
}
