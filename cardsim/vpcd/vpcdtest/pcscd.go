// SPDX-License-Identifier: Apache-2.0

package vpcdtest

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

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/transport/pcsc"
)

// RequireEnv is the environment variable that, set to 1, turns a missing
// pcscd or vpcd reader into a test failure instead of a skip (CI sets it).
const RequireEnv = "PBOC_REQUIRE_PCSC"

// ReaderTimeout is how long WaitReader waits for pcscd to see a card
// arrive or leave.
const ReaderTimeout = 60 * time.Second

// Reader returns the name of vpcd's first reader ("Virtual PCD 00 00",
// fed on vpcd.DefaultAddr) as pcscd lists it. When pcscd or the reader is
// missing it skips the test, or fails it with PBOC_REQUIRE_PCSC=1; what
// names the test in the skip message.
func Reader(t *testing.T, what string) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf(RequireEnv+"=1 but "+format, args...)
		}
		t.Skipf("skipping "+what+": "+format+" (run .ci/pcsc.sh; "+RequireEnv+"=1 makes this a failure)", args...)
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
			t.Logf("pcscd readers: %q; using %q", names, n)
			return n
		}
	}
	unavailable("pcscd has no vpcd reader (readers: %q): install vsmartcard-vpcd and restart pcscd", names)
	return ""
}

// UniqueATR returns base with its last three historical bytes random (and
// the check byte TCK, when hasTCK, recomputed), so that a test recognises
// its own card in the reader and never talks to a card another process
// serves to vpcd.
func UniqueATR(t testing.TB, base []byte, hasTCK bool) []byte {
	t.Helper()
	atr := bytes.Clone(base)
	end := len(atr)
	if hasTCK {
		end--
	}
	_, err := rand.Read(atr[end-3 : end])
	require.NoError(t, err)
	if hasTCK {
		var tck byte
		for _, b := range atr[1:end] {
			tck ^= b
		}
		atr[end] = tck
	}
	return atr
}

// WaitReader polls pcscd until reader holds a card with atr (present), or
// holds no card, or another card than atr (!present; atr may be nil),
// failing the test after ReaderTimeout.
func WaitReader(t *testing.T, reader string, atr []byte, present bool) {
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
				t.Logf("pcscd sees the card in %q: ATR %X, powered %v", reader, s.ATR, s.Powered)
				return
			}
			if !present && (!s.CardPresent || (atr != nil && !bytes.Equal(s.ATR, atr))) {
				t.Logf("pcscd sees %q without the card", reader)
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("reader %q: card present=%v with ATR %X not seen within %s; last state %+v "+
		"(is another virtual card, e.g. a running `pboc serve-card`, holding vpcd's port?)", reader, present, atr, ReaderTimeout, last)
}

// Logger is a logger at level whose lines go to t.Log.
func Logger(t *testing.T, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(&logWriter{t: t}, &slog.HandlerOptions{Level: level}))
}

// logWriter sends log lines to t.Log (serialised: a server logs from its
// own goroutines).
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
