// SPDX-License-Identifier: Apache-2.0

// Package integration_test holds the PC/SC integration test, apart from
// package pcsc so that pcsc's own tests do not depend on the kernel. It runs
// the whole chain a real terminal uses:
//
//	kernel → transport/pcsc → pcscd (UNIX socket) → vpcd reader driver
//	       → TCP → cardsim/vpcd → cardsim.Card
//
// It needs pcscd running with vsmartcard's vpcd driver (.ci/pcsc.sh sets
// that up). Without them it skips, unless PBOC_REQUIRE_PCSC=1.
package integration_test

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/vpcd"
	"github.com/go-pboc/pboc/cardsim/vpcd/vpcdtest"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// testCard is the cardsim card behind vpcd, counting what reaches it.
type testCard struct {
	*cardsim.Card
	mu     sync.Mutex
	apdus  int
	resets int
}

func (c *testCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	c.apdus++
	c.mu.Unlock()
	return c.Card.Transmit(ctx, cmd)
}

func (c *testCard) Reset() {
	c.mu.Lock()
	c.resets++
	c.mu.Unlock()
	c.Card.Reset()
}

func (c *testCard) counts() (apdus, resets int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apdus, c.resets
}

// served is a cardsim card served to vpcd until stop.
type served struct {
	card *testCard
	stop func()
}

func serveCard(t *testing.T, atr []byte) *served {
	t.Helper()
	c, err := cardsim.New(cardsim.DefaultProfile())
	require.NoError(t, err)
	card := &testCard{Card: c}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &vpcd.Server{Addr: vpcd.DefaultAddr, Card: card, ATR: atr, Logger: vpcdtest.Logger(t, slog.LevelInfo), RetryInterval: 50 * time.Millisecond}
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled, "vpcd.Serve ends with ctx's error")
		})
	}
	t.Cleanup(stop)
	return &served{card: card, stop: stop}
}

// purchase runs a kernel purchase of 12.34 through card and checks it went
// through to the simulated card.
func purchase(t *testing.T, card *pcsc.Card, sim *testCard) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := kernel.DefaultConfig()
	cfg.CAPK = capk.Builtin()
	cfg.CAPK.Merge(capk.TestKeys()) // the card behind pcscd is the simulated one
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	before, _ := sim.counts()
	traced := apdu.NewTracer(card, vpcdtest.Logger(t, slog.LevelDebug).With("via", "pcscd"))
	res, err := k.Purchase(ctx, traced, kernel.Amount(1234))
	require.NoError(t, err, "the transport must carry the whole transaction")
	after, _ := sim.counts()

	bal := func(a *kernel.Amount) string {
		if a == nil {
			return "-"
		}
		return a.String()
	}
	t.Logf("purchase 12.34 over %s (%s): outcome %s, reason %s (%s); EC balance %s -> %s; ODA %v %s; %d APDUs sent, %d reached the card",
		card.Reader(), card.Protocol(), res.Outcome, res.Reason, res.Detail,
		bal(res.BalanceBefore), bal(res.BalanceAfter), res.ODA, res.ODAError, res.APDUs, after-before)

	assert.NotEqual(t, "unknown", res.Outcome.String(), "a defined outcome")
	assert.NotEqual(t, kernel.ReasonTransport, res.Reason, "no transport failure")
	assert.Greater(t, res.APDUs, 3, "select, GPO, read records and GENERATE AC at least")
	assert.Equal(t, res.APDUs, after-before, "every APDU the kernel sent reached the card through pcscd and vpcd")
	if res.Outcome != kernel.OutcomeApprovedOffline {
		t.Logf("NOTE: not approved offline (%s: %s); only the transport path is asserted", res.Reason, res.Detail)
		return
	}
	require.NotNil(t, res.BalanceBefore)
	require.NotNil(t, res.BalanceAfter)
	assert.Equal(t, *res.BalanceBefore-1234, *res.BalanceAfter, "the balance the card reports after the sale")
	assert.Equal(t, uint64(*res.BalanceAfter), sim.Balance(hex.EncodeToString(res.AID)), "the simulated card deducted the amount")
}

func TestPurchaseThroughPCSC(t *testing.T) {
	defer vpcdtest.Lock(t)() // one card at a time in vpcd's reader, across test binaries
	reader := vpcdtest.Reader(t, "the PC/SC integration test")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("T=0", func(t *testing.T) {
		atr := vpcdtest.UniqueATR(t, vpcd.DefaultATR(), false)
		srv := serveCard(t, atr)
		vpcdtest.WaitReader(t, reader, atr, true)

		card, err := pcsc.Open(ctx, reader)
		require.NoError(t, err)
		defer func() { assert.NoError(t, card.Close()) }()
		assert.Equal(t, atr, card.ATR())
		assert.Equal(t, pcsc.T0, card.Protocol())
		assert.NoError(t, card.Status(ctx))

		purchase(t, card, srv.card)

		t.Run("reset by another application", func(t *testing.T) {
			other, err := pcsc.Open(ctx, "virtual pcd 00 00") // substring, any case
			require.NoError(t, err)
			defer func() { assert.NoError(t, other.Close()) }()
			_, resetsBefore := srv.card.counts()

			require.NoError(t, other.Reset(ctx))
			_, resets := srv.card.counts()
			assert.Greater(t, resets, resetsBefore, "pcscd reset the card through vpcd")
			assert.ErrorIs(t, card.Status(ctx), pcsc.ErrCardReset)

			// A SELECT starts afresh: sent again after reconnecting.
			resp, err := card.Transmit(ctx, apdu.Select([]byte("1PAY.SYS.DDF01")).Bytes())
			require.NoError(t, err)
			assert.Equal(t, []byte{0x90, 0x00}, resp[len(resp)-2:])

			// Anything else would rely on lost state: reported, then usable.
			require.NoError(t, other.Reset(ctx))
			getData := []byte{0x80, 0xCA, 0x9F, 0x79, 0x00}
			_, err = card.Transmit(ctx, getData)
			require.ErrorIs(t, err, pcsc.ErrCardReset)
			var perr *pcsc.Error
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, pcsc.CodeResetCard, perr.Code)
			t.Logf("after a reset: %v", err)
			resp, err = card.Transmit(ctx, getData)
			require.NoError(t, err)
			assert.Len(t, resp, 2, "GET DATA without a selected application answers a bare status word")
			t.Logf("next command answered %X", resp)
		})

		t.Run("exclusive", func(t *testing.T) {
			_, err := pcsc.Open(ctx, reader, pcsc.Exclusive())
			require.ErrorIs(t, err, pcsc.CodeSharingViolation, "the test's shared connection is open")
			t.Logf("exclusive open while shared: %v", err)
		})

		t.Run("card removed", func(t *testing.T) {
			srv.stop()
			vpcdtest.WaitReader(t, reader, nil, false)
			_, err := card.Transmit(ctx, apdu.Select([]byte("1PAY.SYS.DDF01")).Bytes())
			require.ErrorIs(t, err, pcsc.ErrCardRemoved)
			t.Logf("transmit after removal: %v", err)
			assert.ErrorIs(t, card.Status(ctx), pcsc.ErrCardRemoved)

			_, err = pcsc.Open(ctx, reader)
			assert.ErrorIs(t, err, pcsc.ErrCardRemoved, "empty reader")
			_, err = pcsc.Open(ctx, "no such reader")
			assert.ErrorIs(t, err, pcsc.ErrNoReader)

			// Inserted again: Reconnect picks the new card up.
			atr2 := vpcdtest.UniqueATR(t, vpcd.DefaultATR(), false)
			srv2 := serveCard(t, atr2)
			vpcdtest.WaitReader(t, reader, atr2, true)
			require.NoError(t, card.Reconnect(ctx))
			assert.Equal(t, atr2, card.ATR())
			resp, err := card.Transmit(ctx, apdu.Select([]byte("1PAY.SYS.DDF01")).Bytes())
			require.NoError(t, err)
			assert.Equal(t, []byte{0x90, 0x00}, resp[len(resp)-2:])
			srv2.stop()
		})
	})

	t.Run("T=1", func(t *testing.T) {
		atr := vpcdtest.UniqueATR(t, vpcd.T1ATR(), true)
		srv := serveCard(t, atr)
		vpcdtest.WaitReader(t, reader, atr, true)
		card, err := pcsc.Open(ctx, reader, pcsc.Exclusive())
		require.NoError(t, err)
		defer func() { assert.NoError(t, card.Close()) }()
		assert.Equal(t, pcsc.T1, card.Protocol())
		purchase(t, card, srv.card)
	})

	t.Run("cancelled", func(t *testing.T) {
		atr := vpcdtest.UniqueATR(t, vpcd.DefaultATR(), false)
		serveCard(t, atr)
		vpcdtest.WaitReader(t, reader, atr, true)
		card, err := pcsc.Open(ctx, reader)
		require.NoError(t, err)
		defer func() { assert.NoError(t, card.Close()) }()
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		_, err = card.Transmit(cctx, apdu.Select([]byte("1PAY.SYS.DDF01")).Bytes())
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, errors.Is(err, pcsc.ErrCardRemoved))
	})
}
