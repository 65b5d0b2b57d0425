// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
)

// syncBuffer is a bytes.Buffer the server goroutine writes while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveAcquirer runs pboc serve-acquirer on a free port until the test
// ends and returns its address and output.
func serveAcquirer(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, append([]string{"serve-acquirer", "--addr", "127.0.0.1:0"}, args...), &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		assert.Equal(t, 0, <-done, out.String())
	})
	var addr string
	require.Eventually(t, func() bool {
		line, _, ok := strings.Cut(out.String(), "; Ctrl-C")
		if !ok {
			return false
		}
		addr = line[strings.LastIndex(line, " ")+1:]
		return true
	}, 5*time.Second, 10*time.Millisecond, out.String())
	return addr, &out
}

// pboc purchase --acquirer ADDR: the automatic top-up goes to the acquirer
// over ISO 8583 (sign-in, 0200, the script advice after it); the simulated
// card ends at its limit.
func TestPurchaseThroughServeAcquirer(t *testing.T) {
	addr, served := serveAcquirer(t)
	dir := t.TempDir()
	card := filepath.Join(dir, "card.json")
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "low-balance.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o600))
	state := filepath.Join(dir, "acquirer.state")

	p := purchase(t, "--amount", "4.50", "--card", card, "--save", "--acquirer", addr, "--acquirer-state", state)
	assert.Equal(t, "approved_online", p.Outcome)
	require.NotNil(t, p.BalanceAfter)
	assert.Equal(t, "1000.00", *p.BalanceAfter)
	require.Eventually(t, func() bool { return strings.Contains(served.String(), "0620") }, 5*time.Second, 20*time.Millisecond)
	log := served.String()
	for _, want := range []string{"0800 stan", "0200 stan", "60.1 22", "0620 stan", "622202*********6781"} {
		assert.Contains(t, log, want)
	}
	assert.NotContains(t, log, "6222021000123456781", "the PAN is masked in the acquirer's log")
	_, err = os.Stat(state + ".key")
	assert.NoError(t, err, "the state's PAN key beside it")

	// A second run with the same state: the link goes on where it left.
	p = purchase(t, "--amount", "12.34", "--card", card, "--save", "--acquirer", addr, "--acquirer-state", state)
	assert.Equal(t, "approved_offline", p.Outcome)
}

// Without an acquirer listening, an offline EC sale still runs; an online
// one cannot go online and is declined, nothing charged; the failed
// sign-in is a note.
func TestPurchaseAcquirerUnreachable(t *testing.T) {
	state := filepath.Join(t.TempDir(), "s")
	code, out, errOut := runCLI(t, "purchase", "--json", "--amount", "12.34", "--acquirer", "127.0.0.1:1", "--acquirer-state", state)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"approved_offline"`)
	assert.Contains(t, errOut, "note: --acquirer 127.0.0.1:1: sign-in failed")
	code, out, errOut = runCLI(t, "purchase", "--json", "--amount", "350", "--acquirer", "127.0.0.1:1", "--acquirer-state", state)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"unable_to_go_online"`)
}

func TestServeAcquirerFlags(t *testing.T) {
	code, _, errOut := runCLI(t, "serve-acquirer", "--tmk", "00")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--tmk")
	code, out, _ := runCLI(t, "serve-acquirer", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "--addr HOST:PORT")
}

// pboc purse load and unload --acquirer ADDR: the 圈存 and the 圈提 go to
// the acquirer over ISO 8583 (0200 60.1 48 and 49, each confirmed by a
// 0220) and the reserve account is the acquirer's; the card, saved, keeps
// what the reserve gave and took, and the log masks the ASN.
func TestPurseThroughServeAcquirer(t *testing.T) {
	addr, served := serveAcquirer(t, "--reserve", "300.00")
	dir := t.TempDir()
	card := filepath.Join(dir, "fuel.json")
	b, err := cardsim.DefaultPurseProfile().Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o644))
	state, store := filepath.Join(dir, "acquirer.state"), filepath.Join(dir, "purse.log")
	type purseOut struct {
		Outcome       string  `json:"outcome"`
		BalanceAfter  string  `json:"balance_after"`
		HostConfirmed bool    `json:"host_confirmed"`
		ReserveAfter  *string `json:"reserve_after"`
	}
	run := func(args ...string) purseOut {
		t.Helper()
		args = append(append([]string{"purse"}, args...), "--card", card, "--save", "--journal", store, "--json",
			"--wallet", "ed", "--acquirer", addr, "--acquirer-state", state)
		code, out, errOut := runCLI(t, args...)
		require.Equal(t, 0, code, errOut)
		var r purseOut
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		return r
	}
	r := run("load", "--amount", "200")
	assert.Equal(t, "approved", r.Outcome)
	assert.True(t, r.HostConfirmed, "the TAC reached the acquirer's reserve")
	assert.Nil(t, r.ReserveAfter, "no local reserve is printed: the acquirer keeps it")
	edAfterLoad := r.BalanceAfter
	r = run("unload", "--amount", "50")
	assert.Equal(t, "approved", r.Outcome)
	assert.True(t, r.HostConfirmed)
	assert.NotEqual(t, edAfterLoad, r.BalanceAfter)

	// The acquirer's reserve had 300.00: a second load of 200.00 needs
	// the 50.00 the unload paid back (300 - 200 + 50 = 150 < 200): declined.
	_, out, _ := runCLI(t, "purse", "load", "--amount", "200", "--card", card, "--save", "--journal", store, "--json",
		"--wallet", "ed", "--acquirer", addr, "--acquirer-state", state)
	assert.Contains(t, out, `"outcome": "declined"`)
	assert.Contains(t, out, "declined by the host (51)", "the reserve's insufficient funds, through the acquirer")

	require.Eventually(t, func() bool { return strings.Count(served.String(), "0220 stan") == 2 }, 5*time.Second, 20*time.Millisecond)
	log := served.String()
	for _, want := range []string{"0200 stan", "60.1 48", "60.1 49", "100000**********0001"} {
		assert.Contains(t, log, want)
	}
	assert.NotContains(t, log, seedASN, "the ASN is masked in the acquirer's log")
}
