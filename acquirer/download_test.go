// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/params"
)

// The CA keys and IC parameters come down from the acquirer, a page at a
// time (field 62 continuation), into part 1's readers: every CA key's
// checksum verifies (params.ParseCAKey), every AID record becomes a
// kernel.Application (params.ParseAID), and the kernel runs a purchase
// trusting only what was downloaded.
func TestDownloadsFeedTheParameterReaders(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOptions{page: 2})

	store := capk.NewStore()
	n, err := r.link.DownloadCAKeys(ctx, func(_ context.Context, rec []byte) error {
		k, err := params.ParseCAKey(rec, params.Format{})
		if err != nil {
			return err
		}
		return store.Add(k)
	})
	require.NoError(t, err)
	served := acquirersim.CAKeyRecords(capk.TestKeys())
	assert.Equal(t, len(served), n, "the sample and the test CA keys")
	assert.Equal(t, len(served), store.Len())
	sample, ok := store.Lookup(capk.RID{0xA0, 0, 0, 0x03, 0x33}, 0x01)
	require.True(t, ok, "the notes' sample record")
	assert.Equal(t, 2009, sample.Expiry.Year())

	var apps []kernel.Application
	n, err = r.link.DownloadICParams(ctx, func(_ context.Context, rec []byte) error {
		a, err := params.ParseAID(rec, params.Format{})
		if err != nil {
			return err
		}
		apps = append(apps, a)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	assert.Equal(t, "A000000333010101", upper(apps[0].AID))
	assert.Equal(t, "A000000333010106", upper(apps[1].AID))

	// The queries went in pages of 2: the CA key list (the sample and 3
	// test keys) in two, the AID list in one; then one download each.
	var queries, downloads int
	for _, m := range r.sim.Received() {
		switch m.Network {
		case "372", "382":
			queries++
		case "370", "380":
			downloads++
		}
	}
	assert.Equal(t, len(served)+2, downloads)
	assert.Equal(t, 3, queries)

	// A kernel that trusts only the downloaded keys approves the card.
	cfg := kernel.DefaultConfig()
	cfg.CAPK = store
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	res, err := k.Purchase(ctx, r.card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
}

func upper(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0x0F])
	}
	return string(out)
}
