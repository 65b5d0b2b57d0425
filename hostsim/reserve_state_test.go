// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/purse"
)

// A reserve restored from its state (through JSON, as a file keeps it)
// goes on where it stopped: the balance after the load, the load's retry
// answered the same without a second debit, its ID under other data
// declined, the ledger numbered on; the card number is not in the state.
func TestReserveStateCarriesOver(t *testing.T) {
	ctx := context.Background()
	r, req := reserveAndRequest(t)
	first, err := r.Authorize(ctx, req)
	require.NoError(t, err)
	b, err := json.Marshal(r.State())
	require.NoError(t, err)
	assert.NotContains(t, string(b), "10000001000000000001", "the ASN is not in the state")
	assert.Contains(t, string(b), "100000**********0001")

	var st ReserveState
	require.NoError(t, json.Unmarshal(b, &st))
	next, _ := reserveAndRequest(t) // opening balance 1000.00 again
	require.NoError(t, next.Restore(st))
	assert.Equal(t, purse.Amount(80000), next.Balance(req.ASN), "the balance after the load, not the opening one")
	again, err := next.Authorize(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first, again, "a retry of the earlier run's request: the same MAC2")
	assert.Equal(t, purse.Amount(80000), next.Balance(req.ASN), "and no second debit")
	other := *req
	other.Amount++
	_, err = next.Authorize(ctx, &other)
	var de *purse.DeclineError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "94", de.Code, "the earlier run's ID with other data is a duplicate")
	stranger := *req
	stranger.ID, stranger.ASN = "T-load-2", purse.ASN{9}
	_, err = next.Authorize(ctx, &stranger) // declined "14", and logged
	require.ErrorAs(t, err, &de)
	led := next.Ledger()
	require.NotEmpty(t, led)
	assert.Equal(t, st.Ledger+1, led[0].Seq, "the ledger numbering goes on")
}

// A state whose authorisation does not verify under the reserve's keys is
// refused and changes nothing; an account of a card the reserve does not
// know is carried through as it was.
func TestReserveRestoreRefusesAForgedAuthorisation(t *testing.T) {
	ctx := context.Background()
	r, req := reserveAndRequest(t)
	_, err := r.Authorize(ctx, req)
	require.NoError(t, err)
	st := r.State()
	require.Len(t, st.Accounts, 1)
	st.Accounts[0].Auths[0].Request.Amount = 1 // MAC1 covers the amount
	st.Accounts = append(st.Accounts, AccountState{ID: "ffff", Card: "999999**********9999", Balance: 5})

	next, _ := reserveAndRequest(t)
	err = next.Restore(st)
	require.ErrorIs(t, err, ErrAccount)
	assert.Equal(t, purse.Amount(100000), next.Balance(req.ASN), "unchanged")

	st.Accounts[0].Auths = nil
	require.NoError(t, next.Restore(st))
	assert.Equal(t, purse.Amount(80000), next.Balance(req.ASN))
	assert.Contains(t, next.State().Accounts, st.Accounts[1], "the unknown card's account is kept")
}
