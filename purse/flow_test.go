package purse_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/purse"
)

func TestLoadHappy(t *testing.T) {
	s := newStation(t, nil)
	res, err := s.term.Load(context.Background(), s.card, 20000)
	require.NoError(t, err, "%+v", res)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.Equal(t, uint32(70000), s.card.Balance(2))
	assert.Equal(t, purse.Amount(180000), s.reserve.Balance(s.asn))
	assert.True(t, res.HostConfirmed)
	t.Logf("%d APDUs, %s", res.APDUs, res.Detail)
}

func TestUnloadHappy(t *testing.T) {
	s := newStation(t, nil)
	res, err := s.term.Unload(context.Background(), s.card, 5000)
	require.NoError(t, err, "%+v", res)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.Equal(t, uint32(5000), s.card.Balance(1))
	assert.Equal(t, purse.Amount(205000), s.reserve.Balance(s.asn))
	assert.True(t, res.HostConfirmed)
}

func TestPurchaseHappy(t *testing.T) {
	s := newStation(t, nil)
	res, err := s.term.Purchase(context.Background(), s.card, 1234)
	require.NoError(t, err, "%+v", res)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.Equal(t, uint32(50000-1234), s.card.Balance(2))
}

func TestDispenseHappy(t *testing.T) {
	s := newStation(t, nil)
	p := &pump{want: 25000}
	res, err := s.term.Dispense(context.Background(), s.card, purse.DispenseRequest{Preset: 30000, Nozzle: p})
	require.NoError(t, err, "%+v", res)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.Equal(t, uint32(25000), s.card.Balance(2))
	assert.Equal(t, byte(0), s.card.Grey())
	assert.Equal(t, res.TAC, res.PSAMTAC, "the PSAM-TAC is the TAC the card answers")
	t.Logf("%d APDUs", res.APDUs)
}
