package demotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/vpcd"
	"github.com/go-pboc/pboc/cardsim/vpcd/vpcdtest"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// RequireEnv is the environment variable that, set to 1, turns a missing
// pcscd or vpcd reader into a test failure instead of a skip.
const RequireEnv = "PBOC_REQUIRE_PCSC"

// ReaderTimeout is how long ServePCSC waits for pcscd to see the card
// (it holds vpcdtest.Lock meanwhile, so no other test's card is in the way).
const ReaderTimeout = 60 * time.Second

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
// reader ("Virtual PCD 00 00", fed on vpcd.DefaultAddr) and waits until
// pcscd shows it there. It skips the test when pcscd or the reader is
// missing (fails with PBOC_REQUIRE_PCSC=1). The card stays in the reader,
// and the vpcd lock is held, until the test ends.
func ServePCSC(t *testing.T, p *cardsim.Profile) *Served {
	t.Helper()
	reader := requirePCSC(t)
	unlock := vpcdtest.Lock(t)
	t.Cleanup(unlock) // cleanups run last-in first-out: after the card left

	card, err := cardsim.New(p)
	require.NoError(t, err)
	atr := uniqueATR(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &vpcd.Server{Addr: vpcd.DefaultAddr, Card: card, ATR: atr, Logger: testLogger(t), RetryInterval: 50 * time.Millisecond}
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "vpcd.Serve ends with ctx's error")
		waitReader(t, reader, atr, false)
	})
	waitReader(t, reader, atr, true)
	return &Served{Reader: reader, ATR: atr, Card: card}
}

// requirePCSC skips (or, with PBOC_REQUIRE_PCSC=1, fails) the test when
// pcscd or the vpcd reader is missing, and returns the name of the vpcd
// reader fed on vpcd.DefaultAddr.
func requirePCSC(t *testing.T) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf(RequireEnv+"=1 but "+format, args...)
		}
		t.Skipf("skipping the --reader test: "+format+" (run .ci/pcsc.sh; "+RequireEnv+"=1 makes this a failure)", args...)
	}
	sock := pcsc.SocketPath()
	if _, err := os.Stat(sock); err != nil {
		unavailable("pcscd socket %s absent: %v", sock, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := pcsc.Readers(ctx)
	if err != nil {
		unavailable("pcscd does not answer on %s: %v", sock, err)
	}
	for _, n := range names {
		// The first vpcd reader, "Virtual PCD 00 00", is the one on port 35963.
		if strings.HasPrefix(n, "Virtual PCD") && strings.HasSuffix(n, " 00") {
			return n
		}
	}
	unavailable("pcscd has no vpcd reader (readers: %q): install vsmartcard-vpcd and restart pcscd", names)
	return ""
}

// uniqueATR is vpcd's default T=0 ATR (which has no check byte) with its
// last three historical bytes random.
func uniqueATR(t *testing.T) []byte {
	t.Helper()
	atr := vpcd.DefaultATR()
	_, err := rand.Read(atr[len(atr)-3:])
	require.NoError(t, err)
	return atr
}

// waitReader polls pcscd until reader holds a card with atr (present) or
// holds none (!present), failing the test after ReaderTimeout.
func waitReader(t *testing.T, reader string, atr []byte, present bool) {
	t.Helper()
	deadline := time.Now().Add(ReaderTimeout)
	var last pcsc.ReaderState
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		states, err := pcsc.ReaderStates(ctx)
		cancel()
		require.NoError(t, err)
		for _, s := range states {
			if s.Name != reader {
				continue
			}
			last = s
			if present && s.CardPresent && bytes.Equal(s.ATR, atr) {
				t.Logf("pcscd sees the card in %q: ATR %X", reader, s.ATR)
				return
			}
			if !present && (!s.CardPresent || !bytes.Equal(s.ATR, atr)) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("reader %q: card present=%v with ATR %X not seen within %s; last state %+v "+
		"(is another virtual card, e.g. a running `pboc serve-card`, holding vpcd's port?)", reader, present, atr, ReaderTimeout, last)
}

// logWriter sends log lines to t.Log.
type logWriter struct {
	t  *testing.T
	mu sync.Mutex
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(&logWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
