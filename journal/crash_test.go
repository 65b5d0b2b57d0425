// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package journal

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash test re-runs this test binary as a child process that appends
// records and stops at a chosen step of a chosen Append; the parent then
// kills it with SIGKILL, reopens the journal and checks that every record
// the child was told is durable is there exactly once, and that nothing
// half-written became a record.

const (
	envChild  = "PBOC_JOURNAL_CRASH_CHILD"
	envPath   = "PBOC_JOURNAL_PATH"
	envCount  = "PBOC_JOURNAL_N"
	envKillAt = "KILL_AT" // "record:step", e.g. "2:before-sync"; empty: no kill
	stepAck   = "after-ack"
)

// TestHelperProcess is the child. It reports "ACK id" on stdout after each
// Append returns nil, "KILL step" when it reaches the kill point (then waits
// for the parent's SIGKILL) and "DONE" after closing the journal.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("child process of TestCrashAtEveryWriteStep")
	}
	killRec, killStep := -1, ""
	if at := os.Getenv(envKillAt); at != "" {
		rec, step, _ := strings.Cut(at, ":")
		killRec, _ = strconv.Atoi(rec)
		killStep = step
	}
	n, _ := strconv.Atoi(os.Getenv(envCount))
	cur := -1 // record being appended; -1 during Open
	die := func(step string) {
		fmt.Printf("KILL %s\n", step)
		time.Sleep(time.Minute) // the parent's SIGKILL arrives here
		os.Exit(4)
	}
	crashHook = func(step string) {
		if cur == killRec && step == killStep {
			die(step)
		}
	}
	j, err := Open(os.Getenv(envPath))
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	for i := range n {
		cur = i
		r := testRecord(i)
		if err := j.Append(context.Background(), r); err != nil {
			fmt.Printf("ERR %v\n", err)
			os.Exit(3)
		}
		fmt.Printf("ACK %s\n", r.ID)
		if i == killRec && killStep == stepAck {
			die(stepAck)
		}
	}
	if err := j.Close(); err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	fmt.Println("DONE")
	os.Exit(0)
}

// childResult is what the parent saw of one child run.
type childResult struct {
	acked  []string
	killed string // the step it was killed at, "" if it finished
}

// runChild runs the child on path with n records and kill point killAt and
// SIGKILLs it when it reports the kill point.
func runChild(t *testing.T, path string, n int, killAt string) childResult {
	t.Helper()
	c := spawn(t, "TestHelperProcess", envChild+"=1", envPath+"="+path, envCount+"="+strconv.Itoa(n), envKillAt+"="+killAt)
	return childResult{acked: c.acks, killed: c.killed}
}

// child is what the parent saw of a child process.
type child struct {
	acks   []string // "ACK …" lines, without "ACK "
	killed string   // the step of the "KILL step" line, "" if none
	other  []string // the other lines
}

// spawn runs this test binary's test as a child with env added, collects
// its lines, SIGKILLs it when it says "KILL", reports its "ERR" lines and
// checks that it ended by the SIGKILL or, without one, cleanly.
func spawn(t *testing.T, test string, env ...string) child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	// GORACE: a race-enabled child otherwise sleeps a second at exit.
	cmd.Env = append(append(os.Environ(), env...), "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var c child
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "ACK "):
			c.acks = append(c.acks, strings.TrimPrefix(line, "ACK "))
		case strings.HasPrefix(line, "KILL "):
			c.killed = strings.TrimPrefix(line, "KILL ")
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		case strings.HasPrefix(line, "ERR "):
			t.Errorf("child %s %q: %s", test, env, line)
		default:
			c.other = append(c.other, line)
		}
	}
	err = cmd.Wait()
	if c.killed != "" {
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.True(t, ok)
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child ended by %v, want SIGKILL", err)
	} else {
		require.NoError(t, err, "child without a kill point")
	}
	return c
}

// checkJournal reopens path and checks the crash invariants: it opens (no
// ErrCorrupt), every acknowledged record is there exactly once, every record
// there is one the child wrote, byte for byte, and nothing else. It returns
// the records and the bytes Open cut off.
func checkJournal(t *testing.T, path string, acked []string, n int) ([]Record, int) {
	t.Helper()
	j, err := Open(path)
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(context.Background())
	require.NoError(t, err)
	count := map[string]int{}
	for _, r := range recs {
		count[r.ID]++
	}
	for _, id := range acked {
		assert.Equal(t, 1, count[id], "acknowledged record %s", id)
	}
	want := map[string]Record{}
	for i := range n {
		want[testRecord(i).ID] = testRecord(i)
	}
	for i, r := range recs {
		assert.Equal(t, 1, count[r.ID], "record %s duplicated", r.ID)
		assert.Equal(t, want[r.ID], r, "record %d is exactly what the child wrote", i)
		if i < len(recs)-1 {
			assert.Contains(t, acked, r.ID, "only the last record can be unacknowledged")
		}
	}
	return recs, j.Recovered()
}

func TestCrashAtEveryWriteStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 5
	steps := []string{stepBeforeWrite, stepTornWrite, stepBeforeSync, stepAfterSync, stepAck}
	type row struct {
		step                                   string
		runs, acked, present, unacked, dropped int
		lost, dup                              int
	}
	var table []row
	for _, step := range steps {
		rw := row{step: step}
		for k := range n {
			path := filepath.Join(t.TempDir(), "journal.dat")
			res := runChild(t, path, n, fmt.Sprintf("%d:%s", k, step))
			require.Equal(t, step, res.killed, "kill point %d:%s reached", k, step)
			require.Len(t, res.acked, map[bool]int{true: k + 1, false: k}[step == stepAck])
			recs, dropped := checkJournal(t, path, res.acked, n)

			rw.runs++
			rw.acked += len(res.acked)
			rw.present += len(recs)
			rw.unacked += len(recs) - len(res.acked)
			rw.dropped += dropped
			got := map[string]int{}
			for _, r := range recs {
				got[r.ID]++
			}
			for _, id := range res.acked {
				if got[id] == 0 {
					rw.lost++
				}
			}
			for _, c := range got {
				rw.dup += c - 1
			}
			switch step {
			case stepTornWrite:
				assert.Positive(t, dropped, "half a frame is cut off")
				assert.Len(t, recs, k, "and is not a record")
			case stepBeforeWrite, stepAck:
				assert.Zero(t, dropped)
				assert.Len(t, recs, len(res.acked))
			case stepBeforeSync, stepAfterSync:
				// The whole frame is in the page cache, which a process
				// kill does not lose: the unacknowledged sale is kept (the
				// card did debit itself).
				assert.Zero(t, dropped)
				assert.Len(t, recs, k+1)
			}

			// The restarted terminal retries the whole batch: nothing is
			// written twice and nothing is missing.
			res2 := runChild(t, path, n, "")
			require.Len(t, res2.acked, n)
			recs, dropped = checkJournal(t, path, res2.acked, n)
			assert.Len(t, recs, n)
			assert.Zero(t, dropped)
		}
		table = append(table, rw)
	}
	t.Logf("%-13s %5s %6s %8s %9s %8s %5s %4s", "kill point", "runs", "acked", "present", "unacked", "dropped", "lost", "dup")
	for _, r := range table {
		t.Logf("%-13s %5d %6d %8d %9d %8d %5d %4d", r.step, r.runs, r.acked, r.present, r.unacked, r.dropped, r.lost, r.dup)
		assert.Zero(t, r.lost)
		assert.Zero(t, r.dup)
	}
}

// A crash while Open is repairing a torn tail (saved aside, not yet cut)
// leaves a journal the next Open repairs the same way.
func TestCrashDuringRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 4
	path := filepath.Join(t.TempDir(), "journal.dat")
	res := runChild(t, path, n, "2:"+stepTornWrite)
	require.Len(t, res.acked, 2)
	before := readFile(t, path)

	res2 := runChild(t, path, n, "-1:"+stepRecover)
	require.Equal(t, stepRecover, res2.killed)
	assert.Empty(t, res2.acked)
	assert.Equal(t, before, readFile(t, path), "killed before the cut: file unchanged")

	recs, dropped := checkJournal(t, path, res.acked, n)
	assert.Len(t, recs, 2)
	assert.Positive(t, dropped)
	torn := readFile(t, path+".torn")
	assert.Equal(t, before[len(before)-dropped:], torn[len(torn)-dropped:])
}
