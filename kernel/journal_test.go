// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

func TestOfflineSaleIsJournaledBeforeTheResult(t *testing.T) {
	jr := journal.NewMemory()
	k := newKernel(t, kernel.WithJournal(jr))
	card := loadCard(t, "default.json")
	res, err := k.Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
	recs, err := jr.Records(context.Background())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, journal.KindECOfflineSale, r.Kind)
	assert.Equal(t, uint64(1234), r.Amount)
	assert.Equal(t, res.ATC, r.ATC)
	assert.Equal(t, res.PAN, r.MaskedPAN)
	assert.Equal(t, strings.ToUpper(r.Cryptogram), upperHex(res.Cryptogram))
	assert.NotEmpty(t, r.Field55)
	require.NotNil(t, r.BalanceAfter)
	assert.Equal(t, uint64(50000-1234), *r.BalanceAfter)
	assert.NotContains(t, r.Field55, "6222021000123456781", "no PAN in the clearing data")

	// A second sale is a second record.
	_, err = k.Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	recs, err = jr.Records(context.Background())
	require.NoError(t, err)
	assert.Len(t, recs, 2)
}

type failingJournal struct{ journal.Journal }

func (failingJournal) Append(context.Context, journal.Record) error { return errors.New("disk full") }

func TestJournalFailureIsNotHidden(t *testing.T) {
	k := newKernel(t, kernel.WithJournal(failingJournal{journal.NewMemory()}))
	card := loadCard(t, "default.json")
	res, err := k.Purchase(context.Background(), card, 1234)
	require.ErrorIs(t, err, kernel.ErrJournal)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, "the card approved: the sale stands")
	assert.Equal(t, uint64(50000-1234), card.Balance(debitAID))
}
