package demotest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/vpcd"
	"github.com/go-pboc/pboc/cardsim/vpcd/vpcdtest"
)

// Served is a simulated card in vpcd's first reader.
type Served struct {
	// Reader is the name of the reader pcscd shows the card in, for
	// --reader.
	Reader string
	// ATR is the card's answer to reset: the default T=0 ATR with its last
	// three historical bytes random, so that the test recognises its own
	// card.
	ATR []byte
	// Card is the simulated card behind the reader; the test may read its
	// state (the example with --reader must not).
	Card *cardsim.Card
}

// ServePCSC puts a simulated card personalised from p into vpcd's first
// reader ("Virtual PCD 00 00", fed on vpcd.DefaultAddr) and waits (up to
// vpcdtest.ReaderTimeout, holding vpcdtest.Lock, so that no other test's
// card is in the way) until pcscd shows it there. It skips the test when
// pcscd or the reader is missing (fails with PBOC_REQUIRE_PCSC=1). The
// card stays in the reader, and the vpcd lock is held, until the test
// ends.
func ServePCSC(t *testing.T, p *cardsim.Profile) *Served {
	t.Helper()
	reader := vpcdtest.Reader(t, "the --reader test")
	unlock := vpcdtest.Lock(t)
	t.Cleanup(unlock) // cleanups run last-in first-out: after the card left

	card, err := cardsim.New(p)
	require.NoError(t, err)
	atr := vpcdtest.UniqueATR(t, vpcd.DefaultATR(), false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &vpcd.Server{Addr: vpcd.DefaultAddr, Card: card, ATR: atr, Logger: vpcdtest.Logger(t, slog.LevelInfo), RetryInterval: 50 * time.Millisecond}
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "vpcd.Serve ends with ctx's error")
		vpcdtest.WaitReader(t, reader, atr, false)
	})
	vpcdtest.WaitReader(t, reader, atr, true)
	return &Served{Reader: reader, ATR: atr, Card: card}
}
