// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The clearing crash test: a child runs a terminal's day against the
// journal — for each sale a STAN (one write each: WithSTANBlock(1)), the
// record with that STAN, its upload marked sent and, for every other sale,
// acknowledged; a settlement after the second sale — and is SIGKILLed at
// one step of one write. The parent reopens the journal and checks that
// everything acknowledged is there once, that nothing half-written became
// state, and that a restarted terminal never hands out a STAN of the batch
// again. Every write of the script is killed at every step.

const (
	envClearing = "PBOC_JOURNAL_CLEARING_CHILD" // "day" or "resume"
	envWrite    = "PBOC_JOURNAL_KILL_WRITE"     // the write (0-based) to kill at
	envStep     = "PBOC_JOURNAL_KILL_STEP"
	clearingN   = 4 // sales in the day
	resumeN     = 3 // sales after the restart
)

// clearingRecord is the i-th sale of the script, with its STAN.
func clearingRecord(i int, stan, batch uint32) Record {
	r := testRecord(i)
	r.STAN, r.Batch, r.EntryMode, r.TerminalID = stan, batch, "052", "PBOC0001"
	return r
}

// TestHelperClearingProcess is the child. It prints "ACK ..." after each
// operation returns nil: "STAN stan batch", "REC id", "MARK id state",
// "CLOSE batch next".
func TestHelperClearingProcess(t *testing.T) {
	mode := os.Getenv(envClearing)
	if mode == "" {
		t.Skip("child process of TestCrashClearingAtEveryWriteStep")
	}
	killWrite, _ := strconv.Atoi(os.Getenv(envWrite))
	killStep := os.Getenv(envStep)
	writes := 0
	die := func(step string) {
		fmt.Printf("KILL %s\n", step)
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	crashHook = func(step string) {
		if step == stepBeforeWrite {
			writes++
		}
		if writes-1 == killWrite && step == killStep {
			die(step)
		}
	}
	fail := func(err error) {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	j, err := Open(os.Getenv(envPath), WithSTANBlock(1))
	if err != nil {
		fail(err)
	}
	// ack reports an operation done, and dies there when the write to
	// kill at was part of it.
	ack := func(before int, line string) {
		fmt.Println("ACK " + line)
		if killStep == stepAck && before <= killWrite && killWrite < writes {
			die(stepAck)
		}
	}
	ctx := context.Background()
	sale := func(i int, marks ...UploadState) {
		w := writes
		stan, batch, err := j.NextSTAN(ctx)
		if err != nil {
			fail(err)
		}
		ack(w, fmt.Sprintf("STAN %d %d", stan, batch))
		r := clearingRecord(i, stan, batch)
		w = writes
		if err := j.Append(ctx, r); err != nil {
			fail(err)
		}
		ack(w, "REC "+r.ID)
		for _, m := range marks {
			w = writes
			if err := j.Mark(ctx, r.ID, UploadEvent{State: m, Time: at}); err != nil {
				fail(err)
			}
			ack(w, "MARK "+r.ID+" "+string(m))
		}
	}
	if mode == "resume" {
		for i := range resumeN {
			sale(100 + i)
		}
	} else {
		for i := range clearingN {
			marks := []UploadState{UploadSent}
			if i%2 == 0 {
				marks = append(marks, UploadAcknowledged)
			}
			sale(i, marks...)
			if i == 1 {
				w := writes
				recs, err := j.Records(ctx)
				if err != nil {
					fail(err)
				}
				next, err := j.CloseBatch(ctx, BatchClose{Batch: 1, Time: at, Totals: BatchTotals(recs, 1)})
				if err != nil {
					fail(err)
				}
				ack(w, fmt.Sprintf("CLOSE 1 %d", next))
			}
		}
	}
	if err := j.Close(); err != nil {
		fail(err)
	}
	fmt.Printf("WRITES %d\n", writes)
	os.Exit(0)
}

// clearingRun is what the parent saw of one child run.
type clearingRun struct {
	acks   []string
	killed string
	writes int
}

func runClearingChild(t *testing.T, path, mode string, write int, step string) clearingRun {
	t.Helper()
	c := spawn(t, "TestHelperClearingProcess", envClearing+"="+mode, envPath+"="+path, envWrite+"="+strconv.Itoa(write), envStep+"="+step)
	run := clearingRun{acks: c.acks, killed: c.killed}
	for _, line := range c.other {
		if n, ok := strings.CutPrefix(line, "WRITES "); ok {
			run.writes, _ = strconv.Atoi(n)
		}
	}
	return run
}

// checkClearing reopens the journal after a killed day and a resumed one
// and checks the invariants; it returns the number of acknowledged
// operations that are missing (must be 0) and of STANs repeated in a batch
// (must be 0).
func checkClearing(t *testing.T, path string, day, resume clearingRun) (lost, repeated int) {
	t.Helper()
	j, err := Open(path, ReadOnly())
	require.NoError(t, err, "the journal opens after the crash")
	defer j.Close()
	recs, err := j.Records(ctx)
	require.NoError(t, err)
	byID := map[string]Record{}
	for _, r := range recs {
		_, dup := byID[r.ID]
		assert.False(t, dup, "record %s once", r.ID)
		byID[r.ID] = r
	}
	closed, err := j.Batches(ctx)
	require.NoError(t, err)
	stans := map[string]bool{} // "batch/stan" handed out
	for _, run := range []clearingRun{day, resume} {
		for _, a := range run.acks {
			f := strings.Fields(a)
			switch f[0] {
			case "STAN":
				key := f[2] + "/" + f[1]
				if stans[key] {
					repeated++
				}
				stans[key] = true
			case "REC":
				if _, ok := byID[f[1]]; !ok {
					lost++
				}
			case "MARK":
				r, ok := byID[f[1]]
				if !ok || !hasState(r.Upload, UploadState(f[2])) {
					lost++
				}
			case "CLOSE":
				if len(closed) != 1 || strconv.Itoa(int(closed[0].Next)) != f[2] {
					lost++
				}
			}
		}
	}
	for _, r := range recs {
		// Nothing is state that was not written whole: a record's STAN is
		// one the child drew; its marks are the script's, in order.
		assert.True(t, stans[fmt.Sprintf("%d/%d", r.Batch, r.STAN)], "record %s has a STAN the child drew", r.ID)
		if r.Upload != nil {
			assert.Equal(t, UploadSent, r.Upload.History[0].State)
		}
	}
	return lost, repeated
}

func hasState(u *Upload, s UploadState) bool {
	if u == nil {
		return s == UploadPending
	}
	for _, e := range u.History {
		if e.State == s {
			return true
		}
	}
	return false
}

func TestCrashClearingAtEveryWriteStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	clean := runClearingChild(t, filepath.Join(t.TempDir(), "journal.dat"), "day", -1, "")
	require.Positive(t, clean.writes)
	steps := []string{stepBeforeWrite, stepTornWrite, stepBeforeSync, stepAfterSync, stepAck}
	var runs, lost, repeated int
	for w := range clean.writes {
		for _, step := range steps {
			path := filepath.Join(t.TempDir(), "journal.dat")
			day := runClearingChild(t, path, "day", w, step)
			require.Equal(t, step, day.killed, "kill at write %d %s reached", w, step)
			resume := runClearingChild(t, path, "resume", -1, "")
			require.Len(t, resume.acks, 2*resumeN, "the restarted terminal works")
			l, r := checkClearing(t, path, day, resume)
			runs++
			lost += l
			repeated += r
		}
	}
	t.Logf("%d writes × %d kill points = %d crashes: %d acknowledged operations lost, %d STANs repeated in a batch",
		clean.writes, len(steps), runs, lost, repeated)
	assert.Zero(t, lost)
	assert.Zero(t, repeated)
}
