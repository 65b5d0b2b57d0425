// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/purse"
)

// reserveAndRequest builds a reserve for the seed fuel card and a load
// request whose MAC1 is the card's (computed here as the card would).
func reserveAndRequest(t *testing.T) (*Reserve, *purse.HostRequest) {
	t.Helper()
	k := cardsim.DefaultPurseProfile().Keys
	rk, err := ReserveKeysFromHex(k.Load, k.Unload, k.TAC, k.Unlock)
	require.NoError(t, err)
	r := NewReserve(rk)
	r.SetClock(func() time.Time { return time.Date(2026, 3, 15, 10, 30, 0, 0, time.UTC) })
	asn, err := purse.ParseASN("10000001000000000001")
	require.NoError(t, err)
	r.AddAccount(asn, 100000)
	req := &purse.HostRequest{ID: "T-load-1", Kind: purse.KindLoad, ASN: asn, Wallet: purse.EP, Type: purse.TypeEPLoad,
		Amount: 20000, Balance: 50000, OnlineSN: 3, Random: [4]byte{1, 2, 3, 4}}
	dlk, err := cardKey(rk.Load, asn)
	require.NoError(t, err)
	sk, _ := keys.PurseSessionKey(dlk, keys.OnlineSessionInput(req.Random, req.OnlineSN))
	mac1, _ := keys.PurseMAC(sk, keys.OnlineMAC1Data(50000, 20000, 2, req.TID[:]))
	req.MAC1 = purse.MAC(mac1)
	return r, req
}

func TestReserveLoadIsIdempotent(t *testing.T) {
	r, req := reserveAndRequest(t)
	ctx := context.Background()
	a, err := r.Authorize(ctx, req)
	require.NoError(t, err)
	b, err := r.Authorize(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, a, b, "a retry gets the same MAC2")
	assert.Equal(t, purse.Amount(80000), r.Balance(req.ASN), "debited once")
	other := *req
	other.Amount++
	_, err = r.Authorize(ctx, &other)
	var de *purse.DeclineError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "94", de.Code, "the same ID with other data")
}

func TestReserveRefusals(t *testing.T) {
	ctx := context.Background()
	r, req := reserveAndRequest(t)
	bad := *req
	bad.MAC1[0] ^= 1
	_, err := r.Authorize(ctx, &bad)
	var de *purse.DeclineError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "05", de.Code)
	assert.Equal(t, purse.Amount(100000), r.Balance(req.ASN), "a wrong MAC1 moves nothing")

	big := *req
	big.ID = "T-load-2"
	r.AddAccount(req.ASN, 100)
	_, err = r.Authorize(ctx, &big)
	require.ErrorAs(t, err, &de)
	assert.Contains(t, []string{"05", "51"}, de.Code) // the MAC1 covers 200.00: valid; the reserve holds 1.00
	assert.Equal(t, "51", de.Code)

	r.SetUnreachable(true)
	_, err = r.Authorize(ctx, req)
	assert.True(t, errors.Is(err, ErrUnreachable))
	assert.True(t, errors.Is(r.Confirm(ctx, &purse.HostConfirmation{ID: "x"}), ErrUnreachable))
}

func TestReserveEvidence(t *testing.T) {
	ctx := context.Background()
	r, req := reserveAndRequest(t)
	_, err := r.Authorize(ctx, req)
	require.NoError(t, err)
	err = r.Confirm(ctx, &purse.HostConfirmation{ID: req.ID, Kind: purse.KindLoad, ASN: req.ASN, Applied: true, TAC: purse.MAC{1, 2, 3, 4}})
	assert.ErrorIs(t, err, purse.ErrEvidence, "a TAC that is not the card's")
	err = r.Confirm(ctx, &purse.HostConfirmation{ID: req.ID, Kind: purse.KindLoad, ASN: req.ASN})
	assert.ErrorIs(t, err, purse.ErrEvidence, "a reversal without the card's proof")
	assert.Equal(t, purse.Amount(80000), r.Balance(req.ASN))
	err = r.Confirm(ctx, &purse.HostConfirmation{ID: "never", Kind: purse.KindLoad, ASN: req.ASN})
	assert.NoError(t, err, "nothing authorised: nothing to give back")
	assert.NotEmpty(t, r.Ledger())
}

func TestReserveOnlineUnlockNeedsABill(t *testing.T) {
	r, _ := reserveAndRequest(t)
	asn, _ := purse.ParseASN("10000001000000000001")
	req := &purse.HostRequest{ID: "u1", Kind: purse.KindOnlineUnlock, ASN: asn, Type: purse.TypeOnlineUnlock, Balance: 50000,
		OnlineSN: 1, CTC: 4, Grey: &purse.GreyStatus{Status: purse.GreyLocked, TID: purse.TID{0, 0, 0, 0, 0, 9}, CTC: 3}}
	k, _ := cardKey(r.masters.Unlock, asn)
	sk, _ := keys.PurseSessionKey(k, keys.OnlineSessionInput(req.Random, 1))
	mac1, _ := keys.PurseMAC(sk, keys.UnlockMAC1Data(50000, 4, 0x95, req.TID[:]))
	req.MAC1 = purse.MAC(mac1)
	_, err := r.Authorize(context.Background(), req)
	var de *purse.DeclineError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "25", de.Code)
	r.AddEscapeBill(EscapeBill{ASN: asn, TID: req.Grey.TID, CTC: 3, Amount: 1234})
	resp, err := r.Authorize(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, purse.Amount(1234), resp.Amount, "the bill's amount")
}
