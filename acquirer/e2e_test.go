package acquirer_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/kernel"
)

func TestTopUpThroughTheLink(t *testing.T) {
	r := newRig(t, rigOptions{ecBalance: "5.00"})
	res := r.purchase(450)
	t.Logf("%s %s %s", res.Outcome, res.Reason, res.Detail)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome)
	assert.Equal(t, kernel.Amount(100000), r.ecBalance())
	st := r.link.Status()
	t.Logf("%+v", st)
	for _, rc := range r.sim.Received() {
		t.Logf("%+v", rc)
	}
}
