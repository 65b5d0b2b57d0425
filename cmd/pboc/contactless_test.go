// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
)

func TestPurchaseContactless(t *testing.T) {
	card, err := cardsim.New(cardsim.DefaultProfile())
	require.NoError(t, err)
	cfg := kernel.DefaultConfig()
	cfg.CAPK = capk.Builtin()
	cfg.CAPK.Merge(capk.TestKeys())
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	res, err := purchaseContactless(context.Background(), k, card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.True(t, res.Contactless)
	assert.Equal(t, 7, res.APDUs)
	assert.Equal(t, uint64(50000-1234), card.Balance("A000000333010101"))

	res, err = purchaseContactless(context.Background(), k, card, 100000)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeTryAnotherInterface, res.Outcome)
}
