// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/examples/internal/exampletest"
)

type fuelSession struct {
	exampletest.Session
	card *cardsim.PurseCard
}

func runPump(t *testing.T, args ...string) (fuelSession, error) {
	t.Helper()
	var s fuelSession
	fuelInserted = func(c *cardsim.PurseCard) { s.card = c }
	t.Cleanup(func() { fuelInserted = nil })
	var err error
	s.Session, err = exampletest.Run(t, run, args...)
	return s, err
}

// billOf parses the dispenser bill printed last.
func billOf(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var b map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &b))
	return b
}

// The seed: go run ./examples/fuel dispenses 30 L against the fuel card
// under the grey lock and the card pays exactly their price.
func TestFuelCardSale(t *testing.T) {
	s, err := runPump(t)
	require.NoError(t, err)
	t.Log("\n" + s.Out)
	assert.Equal(t, "approved", s.Field("outcome"))
	assert.Equal(t, "30.00 L = 235.50", s.Field("dispensed"))
	assert.Equal(t, "264.50 (as the card reports it)", s.Field("balance after"))
	assert.Equal(t, uint32(26450), s.card.Balance(2))
	assert.Equal(t, byte(0), s.card.Grey(), "not left grey")
	assert.Contains(t, s.Field("grey lock"), "checked by the PSAM")
	b := billOf(t, s.Out)
	assert.Equal(t, "235.50", b["amount"])
	assert.Equal(t, "264.50", b["balance"])
	assert.Equal(t, "100000**********0001", b["asn"])
	assert.Equal(t, float64(0), b["t_type"], "a normal bill")
	assert.NotContains(t, s.Out, "10000001000000000001")
}

func TestFuelCardPresetAndBalance(t *testing.T) {
	s, err := runPump(t, "--preset", "100.00")
	require.NoError(t, err)
	assert.Equal(t, "12.73 L = 99.93", s.Field("dispensed"), "the valve closes before the preset")
	assert.Equal(t, uint32(50000-9993), s.card.Balance(2))

	dir := t.TempDir()
	card := filepath.Join(dir, "low.json")
	p := cardsim.DefaultPurseProfile()
	p.Wallets.EP.Balance = "80.00"
	b, err := p.Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o644))
	bill := filepath.Join(dir, "bills.jsonl")
	s, err = runPump(t, "--card", card, "--bill", bill)
	require.NoError(t, err)
	assert.Equal(t, "10.19 L = 79.99", s.Field("dispensed"), "up to the balance")
	assert.Equal(t, uint32(1), s.card.Balance(2))
	raw, err := os.ReadFile(bill)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(raw), "\n"), "one bill appended")
}

func TestFuelCardWrongPIN(t *testing.T) {
	s, err := runPump(t, "--pin", "654321")
	require.NoError(t, err, "a declined card is a result")
	assert.Equal(t, "declined", s.Field("outcome"))
	assert.Equal(t, "pin_incorrect", s.Field("reason"))
	assert.Empty(t, s.Field("dispensed"), "no fuel")
	assert.Equal(t, uint32(50000), s.card.Balance(2))
}
