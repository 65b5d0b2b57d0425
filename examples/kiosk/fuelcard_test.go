// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/examples/internal/exampletest"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
)

// fuelSession is one run of the fuel-card kiosk and the devices behind it.
type fuelSession struct {
	exampletest.Session
	card    *cardsim.PurseCard
	reserve *hostsim.Reserve
}

func runFuelKiosk(t *testing.T, args ...string) (fuelSession, error) {
	t.Helper()
	var s fuelSession
	fuelInserted = func(c *cardsim.PurseCard, r *hostsim.Reserve) { s.card, s.reserve = c, r }
	t.Cleanup(func() { fuelInserted = nil })
	var err error
	s.Session, err = exampletest.Run(t, run, args...)
	return s, err
}

func (s fuelSession) reserveBalance(t *testing.T) string {
	asn, err := purse.ParseASN("10000001000000000001")
	require.NoError(t, err)
	return s.reserve.Balance(asn).String()
}

// The seed: go run ./examples/kiosk loads 200.00 from the reserve account
// into the fuel card's EP; the card gains exactly what the reserve loses.
func TestFuelCardLoad(t *testing.T) {
	s, err := runFuelKiosk(t)
	require.NoError(t, err)
	t.Log("\n" + s.Out)
	assert.Equal(t, "transaction successful", s.Field("交易成功"))
	assert.Equal(t, "500.00 (as the card reported it)", s.Field("balance before"))
	assert.Equal(t, "700.00 (as the card reports it)", s.Field("balance after"))
	assert.Equal(t, "2000.00 → 1800.00", s.Field("reserve account"))
	assert.Equal(t, uint32(70000), s.card.Balance(2), "the card's EP really holds 700.00")
	assert.Equal(t, "1800.00", s.reserveBalance(t))
	assert.Equal(t, "ASN 100000**********0001", s.Fields["card"][0])
	assert.NotContains(t, s.Out, "10000001000000000001", "the ASN is masked")
	assert.NotContains(t, s.Out, "123456", "the PIN is never printed")
}

func TestFuelCardLoadAll(t *testing.T) {
	s, err := runFuelKiosk(t, "--amount", "all", "--reserve", "1234.56")
	require.NoError(t, err)
	assert.Equal(t, "1234.56", s.Field("圈存 load"))
	assert.Equal(t, uint32(50000+123456), s.card.Balance(2))
	assert.Equal(t, "0.00", s.reserveBalance(t))
}

func TestFuelCardUnloadAndInquiries(t *testing.T) {
	s, err := runFuelKiosk(t, "--action", "unload", "--amount", "all")
	require.NoError(t, err)
	assert.Equal(t, "100.00 (from the ED)", s.Field("圈提 unload"))
	assert.Equal(t, uint32(0), s.card.Balance(1))
	assert.Equal(t, "2100.00", s.reserveBalance(t))
	assert.NotEmpty(t, s.Field("MAC3"))

	s, err = runFuelKiosk(t, "--action", "balance")
	require.NoError(t, err)
	assert.Equal(t, "500.00", s.Field("EP balance"))
	assert.Equal(t, "100.00", s.Field("ED balance"))
	assert.Equal(t, "none", s.Field("grey status"))
}

func TestFuelCardRefusals(t *testing.T) {
	s, err := runFuelKiosk(t, "--pin", "654321")
	assert.ErrorIs(t, err, errDeclined)
	assert.Contains(t, s.Field("交易失败"), "wrong PIN")
	assert.Equal(t, "2000.00", s.reserveBalance(t))

	s, err = runFuelKiosk(t, "--amount", "all", "--reserve", "20000.00")
	assert.ErrorIs(t, err, errDeclined, "10000.00 is the card's limit")
	assert.Contains(t, s.Field("交易失败"), "card_refused")
	assert.Equal(t, uint32(50000), s.card.Balance(2))
	assert.Equal(t, "20000.00", s.reserveBalance(t), "nothing debited")
}
