// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
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

// One Terminal serves pumps concurrently: the SAM session of each
// operation is its own (no MAC1 of one card checked against another's).
func TestConcurrentOperations(t *testing.T) {
	s := newStation(t, nil)
	const n = 6
	cards := make([]*cardsim.PurseCard, n)
	for i := range cards {
		p := cardsim.DefaultPurseProfile()
		p.ASN = fmt.Sprintf("100000010000000000%02d", i+10)
		c, err := cardsim.NewPurseCard(p)
		require.NoError(t, err)
		cards[i] = c
	}
	var wg sync.WaitGroup
	results := make([]*purse.Result, n)
	for i, c := range cards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				results[i], _ = s.term.Purchase(context.Background(), c, 100)
			} else {
				results[i], _ = s.term.Dispense(context.Background(), c, purse.DispenseRequest{Nozzle: &pump{want: 200}})
			}
		}()
	}
	wg.Wait()
	for i, r := range results {
		require.NotNil(t, r)
		assert.Equal(t, purse.OutcomeApproved, r.Outcome, "%d: %s", i, r.Detail)
		assert.Equal(t, uint32(50000-100-100*uint32(i%2)), cards[i].Balance(2))
	}
	assert.Len(t, s.store.Records(), n)
}
