// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pursePrinted is what pboc purse --json prints, as far as these tests read it.
type pursePrinted struct {
	Outcome       string  `json:"outcome"`
	TTC           uint32  `json:"ttc"`
	ReserveBefore *string `json:"reserve_before"`
	ReserveAfter  *string `json:"reserve_after"`
}

func pursePrint(t *testing.T, args ...string) pursePrinted {
	t.Helper()
	code, out, errOut := runCLI(t, append(append([]string{"purse"}, args...), "--json")...)
	require.Equal(t, 0, code, "%v: %s", args, errOut)
	var p pursePrinted
	require.NoError(t, json.Unmarshal([]byte(out), &p), out)
	require.Equal(t, "approved", p.Outcome)
	return p
}

// With --state the simulated PSAM and reserve go on across runs: each
// purchase gets the next TTC and each load draws on what the last one
// left in the reserve. Without it every run starts afresh (TTC 1, the
// --reserve balance), as before.
func TestPurseStateCarriesTheTTCAndTheReserve(t *testing.T) {
	dir := t.TempDir()
	card := writeFuelCard(t, dir)
	args := []string{"--card", card, "--save", "--journal", filepath.Join(dir, "purse.log"), "--state", filepath.Join(dir, "state.json")}
	with := func(op ...string) pursePrinted { return pursePrint(t, append(op, args...)...) }

	first, second := with("purchase", "--amount", "1"), with("purchase", "--amount", "1")
	assert.Equal(t, uint32(1), first.TTC)
	assert.Equal(t, uint32(2), second.TTC, "the second run's purchase does not repeat the first's TTC")
	l1, l2 := with("load", "--amount", "100"), with("load", "--amount", "100")
	assert.Equal(t, "2000.00", *l1.ReserveBefore)
	assert.Equal(t, "1900.00", *l1.ReserveAfter)
	assert.Equal(t, "1900.00", *l2.ReserveBefore, "the reserve balance carries over")
	assert.Equal(t, "1800.00", *l2.ReserveAfter)
	assert.Equal(t, uint32(3), with("purchase", "--amount", "1").TTC)

	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(b), seedASN, "the card number is not in the state")

	fresh := []string{"purchase", "--amount", "1"}
	assert.Equal(t, uint32(1), pursePrint(t, fresh...).TTC)
	assert.Equal(t, uint32(1), pursePrint(t, fresh...).TTC, "without --state each run starts afresh")
}

// A state file cut short (torn, truncated) is refused with a clear message
// (bad input, 2) before the card is touched, and left as it is: never
// taken for a first run, which would hand out the same TTCs again.
func TestPurseStateTornIsRefused(t *testing.T) {
	dir := t.TempDir()
	card := writeFuelCard(t, dir)
	state := filepath.Join(dir, "state.json")
	args := []string{"purchase", "--amount", "1", "--card", card, "--save", "--journal", filepath.Join(dir, "purse.log"), "--state", state}
	pursePrint(t, args...)
	b, err := os.ReadFile(state)
	require.NoError(t, err)
	for _, cut := range []int{len(b) / 2, 0} {
		require.NoError(t, os.WriteFile(state, b[:cut], 0o644))
		cardBefore, err := os.ReadFile(card)
		require.NoError(t, err)
		code, out, errOut := runCLI(t, append([]string{"purse"}, args...)...)
		assert.Equal(t, 2, code, "cut at %d: %s", cut, out)
		want := ": not a whole state file ("
		if cut == 0 {
			want = ": empty file: " // not encoding/json's "EOF"
		}
		assert.Contains(t, errOut, "pboc purse: --state "+state+want)
		assert.Contains(t, errOut, "a torn or damaged state is not reset")
		after, err := os.ReadFile(state)
		require.NoError(t, err)
		assert.Equal(t, b[:cut], after, "the state is not rewritten")
		cardAfter, err := os.ReadFile(card)
		require.NoError(t, err)
		assert.Equal(t, cardBefore, cardAfter, "nor the card")
	}

	code, _, errOut := runCLI(t, "purse", "purchase", "--amount", "1", "--state", state)
	assert.Equal(t, 2, code)
	assert.Equal(t, "pboc purse: --state needs --journal FILE, so that the terminal's records go on with the PSAM and the reserve\n", errOut)
}

// crashAt runs pboc purse with args in a goroutine that ends at step, as
// a killed process would: nothing after it runs (the deferred closes do,
// and write nothing).
func crashAt(t *testing.T, step string, args ...string) {
	t.Helper()
	purseStep = func(s string) {
		if s == step {
			runtime.Goexit()
		}
	}
	defer func() { purseStep = func(string) {} }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runCLI(t, append([]string{"purse"}, args...)...)
		t.Errorf("the run went past %s", step)
	}()
	<-done
}

// A run that ends after its purchase but before --state is written (killed
// between the card's file and the state's, or the state's write failing)
// does not make the next run use its TTC again: the journal's purse
// records, applied, keep distinct TTCs, which the acquirer needs (a TTC
// seen twice is a duplicate, refused).
func TestPurseStateCrashNeverRepeatsATTC(t *testing.T) {
	dir := t.TempDir()
	card := writeFuelCard(t, dir)
	journalPath := filepath.Join(dir, "purse.log")
	args := []string{"purchase", "--amount", "1", "--card", card, "--save", "--journal", journalPath, "--state", filepath.Join(dir, "state.json")}
	first := pursePrint(t, args...)
	crashAt(t, "card-saved", args...)
	third := pursePrint(t, args...)
	assert.Greater(t, third.TTC, first.TTC)

	code, out, errOut := runCLI(t, "journal", "export", "--journal", journalPath)
	require.Equal(t, 0, code, errOut)
	seen := map[uint32]int{}
	applied := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Flow  string `json:"record"`
			State string `json:"state"`
			TTC   uint32 `json:"ttc"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		if r.Flow != "purse" || r.State != "applied" {
			continue
		}
		applied++
		seen[r.TTC]++
		assert.Equal(t, 1, seen[r.TTC], "TTC %d on two applied purchases", r.TTC)
	}
	assert.Equal(t, 3, applied, "the crashed run's purchase stands too (the card was saved)")
}

// A second run started while one runs reads --state only once it holds
// the journal (whose lock refuses it), never before: a state read before
// the first run wrote its own would give the second run the first's TTCs
// and reserve again.
func TestPurseStateIsReadUnderTheJournalLock(t *testing.T) {
	dir := t.TempDir()
	card := writeFuelCard(t, dir)
	journalPath := filepath.Join(dir, "purse.log")
	args := []string{"purchase", "--amount", "1", "--card", card, "--save", "--journal", journalPath, "--state", filepath.Join(dir, "state.json")}
	pursePrint(t, args...)
	purseStep = func(s string) {
		if s == "store-open" {
			purseStep = func(string) {}
			code, _, errOut := runCLI(t, append([]string{"purse"}, args...)...) // the other terminal process
			assert.Equal(t, 1, code, "the run started meanwhile is refused by the journal's lock")
			assert.Contains(t, errOut, "locked by another writer")
		}
	}
	defer func() { purseStep = func(string) {} }()
	code, _, errOut := runCLI(t, append([]string{"purse"}, args...)...)
	require.Equal(t, 0, code, errOut)

	code, out, errOut := runCLI(t, "journal", "export", "--journal", journalPath)
	require.Equal(t, 0, code, errOut)
	seen := map[uint32]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			State string `json:"state"`
			TTC   uint32 `json:"ttc"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		if r.State == "applied" {
			assert.False(t, seen[r.TTC], "TTC %d on two applied purchases", r.TTC)
			seen[r.TTC] = true
		}
	}
}
