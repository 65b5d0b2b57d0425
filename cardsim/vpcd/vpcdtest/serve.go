// SPDX-License-Identifier: Apache-2.0

package vpcdtest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim/vpcd"
)

// Served is a card in vpcd's first reader, put there by Serve.
type Served struct {
	// Reader is the name pcscd shows the reader under, for --reader.
	Reader string
	// ATR is the card's answer to reset: the default T=0 ATR with its
	// last three historical bytes random, so that the test recognises its
	// own card.
	ATR []byte
}

// Serve puts card into vpcd's first reader ("Virtual PCD 00 00", fed on
// vpcd.DefaultAddr) and waits (up to ReaderTimeout, holding Lock, so that
// no other test's card is in the way) until pcscd shows it there; the
// card's Reset() method, if it has one, runs at every power cycle. It
// skips the test when pcscd or the reader is missing (fails it with
// PBOC_REQUIRE_PCSC=1). The card stays in the reader, and the lock is
// held, until the test ends.
func Serve(t *testing.T, card apdu.Transport) *Served {
	t.Helper()
	reader := Reader(t, "the --reader test")
	unlock := Lock(t)
	t.Cleanup(unlock) // cleanups run last-in first-out: after the card left

	atr := UniqueATR(t, vpcd.DefaultATR(), false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &vpcd.Server{Addr: vpcd.DefaultAddr, Card: card, ATR: atr, Logger: Logger(t, slog.LevelInfo), RetryInterval: 50 * time.Millisecond}
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "vpcd.Serve ends with ctx's error")
		WaitReader(t, reader, atr, false)
	})
	WaitReader(t, reader, atr, true)
	return &Served{Reader: reader, ATR: atr}
}
