// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package kernel_test

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

	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// The durable torn log's crash test, like the journal's: a child process
// runs a sequence of adds and removes on a FileTornLog and is SIGKILLed at
// every step of every write; the parent reopens the file and checks that
// the pending records are those of the acknowledged operations, plus at
// most the one in flight, each exactly as written: no record lost, none
// invented.

const (
	envTornChild = "PBOC_TORN_CRASH_CHILD"
	envTornPath  = "PBOC_TORN_PATH"
	envTornKill  = "PBOC_TORN_KILL" // "op:step"
)

// tornOps is the child's sequence: adds of records 0..3, interleaved with
// removes.
var tornOps = []struct {
	add bool
	rec int
}{{true, 0}, {true, 1}, {false, 0}, {true, 2}, {true, 3}, {false, 2}}

func tornRec(i int) kernel.TornRecord {
	r := kernel.TornRecord{Kind: kernel.TornKind(i % 3), PAN: "622202*********6781", AID: []byte{0xA0, 0, 0, 3, 0x33, 1, 1, 1},
		Amount: kernel.Amount(1000 + i), BalanceBefore: 50000, Date: [3]byte{0x26, 0x11, 0x30}, Time: [3]byte{0x10, 0x30, byte(i)},
		ATC: uint16(i + 1), Created: fixedNow.UTC()}
	r.PANHash[0] = byte(i)
	r.ID = fmt.Sprintf("rec-%d", i)
	return r
}

func TestTornLogHelperProcess(t *testing.T) {
	if os.Getenv(envTornChild) != "1" {
		t.Skip("child process of TestTornLogCrashAtEveryWriteStep")
	}
	killOp, killStep := -2, ""
	if at := os.Getenv(envTornKill); at != "" {
		op, step, _ := strings.Cut(at, ":")
		killOp, _ = strconv.Atoi(op)
		killStep = step
	}
	cur := -1
	die := func(step string) {
		fmt.Printf("KILL %s\n", step)
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	hook := journal.WithWriteHook(func(step string) {
		if cur == killOp && step == killStep {
			die(step)
		}
	})
	f, err := kernel.OpenTornLog(os.Getenv(envTornPath), hook)
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	for i, op := range tornOps {
		cur = i
		r := tornRec(op.rec)
		if op.add {
			err = f.Add(context.Background(), r)
		} else {
			err = f.Remove(context.Background(), r)
		}
		if err != nil {
			fmt.Printf("ERR %v\n", err)
			os.Exit(3)
		}
		fmt.Printf("ACK %d\n", i)
		if i == killOp && killStep == "after-ack" {
			die("after-ack")
		}
	}
	fmt.Println("DONE")
	os.Exit(0)
}

// runTornChild runs the child with a kill point and returns how many
// operations it acknowledged and whether it was killed.
func runTornChild(t *testing.T, path, killAt string) (acked int, killed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTornLogHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envTornChild+"=1", envTornPath+"="+path, envTornKill+"="+killAt)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "ACK "):
			acked++
		case strings.HasPrefix(line, "KILL "):
			killed = true
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		case strings.HasPrefix(line, "ERR "):
			t.Errorf("child (kill at %q): %s", killAt, line)
		}
	}
	_ = cmd.Wait()
	return acked, killed
}

// pendingAfter is the set of pending record IDs after the first n
// operations.
func pendingAfter(n int) []string {
	n = min(n, len(tornOps))
	var ids []string
	for _, op := range tornOps[:n] {
		id := tornRec(op.rec).ID
		if op.add {
			ids = append(ids, id)
			continue
		}
		for i, x := range ids {
			if x == id {
				ids = append(ids[:i], ids[i+1:]...)
				break
			}
		}
	}
	return ids
}

func TestTornLogCrashAtEveryWriteStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	steps := []string{journal.StepBeforeWrite, journal.StepTornWrite, journal.StepBeforeSync, journal.StepAfterSync, "after-ack"}
	for op := range tornOps {
		for _, step := range steps {
			t.Run(fmt.Sprintf("op%d/%s", op, step), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "torn.log")
				acked, killed := runTornChild(t, path, fmt.Sprintf("%d:%s", op, step))
				require.True(t, killed)
				f, err := kernel.OpenTornLog(path)
				require.NoError(t, err, "a killed writer leaves a log that opens")
				defer f.Close()
				var got []string
				for _, r := range f.Records() {
					got = append(got, r.ID)
					var want kernel.TornRecord
					for i := range 4 {
						if tornRec(i).ID == r.ID {
							want = tornRec(i)
						}
					}
					assert.Equal(t, want, r, "a record is exactly what was written")
				}
				// The acknowledged operations have happened; the one in
				// flight may have (its frame may be whole on disk).
				ok := fmt.Sprint(got) == fmt.Sprint(pendingAfter(acked)) || fmt.Sprint(got) == fmt.Sprint(pendingAfter(acked+1))
				assert.True(t, ok, "after %d acknowledged operations: pending %v, want %v or %v", acked, got, pendingAfter(acked), pendingAfter(acked+1))
			})
		}
	}
	t.Run("killed while cutting a torn tail", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "torn.log")
		acked, _ := runTornChild(t, path, "3:"+journal.StepTornWrite)
		_, killed := runTornChild(t, path, "-1:"+journal.StepRecover)
		require.True(t, killed)
		f, err := kernel.OpenTornLog(path)
		require.NoError(t, err)
		defer f.Close()
		var got []string
		for _, r := range f.Records() {
			got = append(got, r.ID)
		}
		assert.Equal(t, fmt.Sprint(pendingAfter(acked)), fmt.Sprint(got))
	})
}

// A durable torn log carries a torn sale across a restart and settles it
// when the card comes back; it holds no PAN, no PIN block; and a kernel
// refuses one without a stable PAN hash key.
func TestFileTornLogAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "torn.log")
	cfg := testConfig()
	cfg.PANHashKey = []byte("a terminal secret, kept across restarts")
	f, err := kernel.OpenTornLog(path)
	require.NoError(t, err)
	_, err = kernel.New(testConfig(), kernel.WithTornLog(f))
	require.ErrorIs(t, err, kernel.ErrConfig, "a durable torn log needs a stable PAN hash key")

	// A torn top-up script (its request has the PAN and the PIN block) and
	// a torn sale.
	b := newBank(t, "low-balance.json", 200000)
	k := kernelFrom(t, cfg, kernel.WithHost(scriptBreaker{b.host}), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(f))
	res, err := k.Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	require.True(t, res.Torn, res.Detail)
	require.NoError(t, f.Close())

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), b.pan, "no PAN on disk")
	assert.NotContains(t, string(raw), "PINBlock\":\"", "no PIN block on disk")

	// The process restarts; the card comes back.
	f, err = kernel.OpenTornLog(path)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, 1, f.Len())
	k = kernelFrom(t, cfg, kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(f))
	res, err = k.Purchase(context.Background(), b.card, 100)
	require.NoError(t, err)
	require.Len(t, res.Settled, 1, res.Detail)
	assert.True(t, res.Settled[0].Reversed, "the refill came back on the card's evidence")
	assert.Zero(t, f.Len())
}

// A log whose frames are sound but hold something other than torn-log
// events (another store's file, named by mistake) is corrupt, said with
// the offset of the frame at fault, as the journal says its own damage.
func TestFileTornLogOfOtherEventsIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "torn.log")
	l, err := journal.OpenLog(path)
	require.NoError(t, err)
	first := []byte(`{"op":"remove","id":"nothing pending"}`)
	require.NoError(t, l.Append(context.Background(), first))
	require.NoError(t, l.Append(context.Background(), []byte(`{"event":"stan","stan":7}`)))
	require.NoError(t, l.Close())

	_, err = kernel.OpenTornLog(path)
	require.ErrorIs(t, err, journal.ErrCorrupt)
	var ce *journal.CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, int64(len(first)+journal.FrameOverhead), ce.Offset, "the second frame's offset")
	assert.Equal(t, `event 1 is not a torn-log event (op "")`, ce.Reason)
	assert.Equal(t, path, ce.Path)
}
