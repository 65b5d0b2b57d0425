// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package acquirer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
)

const (
	envCompactChild = "PBOC_ACQUIRER_COMPACT_CHILD"
	envCompactPath  = "PBOC_ACQUIRER_COMPACT_PATH"
	envCompactKill  = "PBOC_ACQUIRER_COMPACT_KILL" // a journal.StepRewrite… step
)

// TestCompactChild is the terminal process the compaction crash test
// kills: it opens the state and compacts it, and prints "KILL step" at its
// kill point inside the Rewrite, where it waits for SIGKILL.
func TestCompactChild(t *testing.T) {
	if os.Getenv(envCompactChild) != "1" {
		t.Skip("child process of TestCrashAtEveryCompactionStep")
	}
	kill := os.Getenv(envCompactKill)
	stateLogOptions = []journal.Option{journal.WithWriteHook(func(step string) {
		if step == kill {
			fmt.Printf("KILL %s\n", step)
			time.Sleep(time.Minute)
			os.Exit(4)
		}
	})}
	key, err := journal.NewAESGCMKey(compactKey)
	if err == nil {
		var st *State
		if st, err = OpenState(context.Background(), os.Getenv(envCompactPath), key); err == nil {
			err = st.Compact(context.Background())
		}
	}
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// A crash at every step of a compaction, then OpenState: the state is the
// uncompacted one until the rename, the compacted one from it on — the
// same counters, reversals, advices and open batch either way — and the
// left-over copy is gone.
func TestCrashAtEveryCompactionStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := filepath.Join(t.TempDir(), "acquirer.state")
	st := openCompactState(t, seed)
	kept, dropped := pendingOfEachKind(t, st)
	full := dumpState(st)
	require.NoError(t, st.Close())
	full.STAN = full.Upto // as a reopen reads it
	for _, s := range []struct {
		step      string
		compacted bool
	}{
		{journal.StepRewriteWrite, false}, {journal.StepRewriteTorn, false}, {journal.StepRewriteSync, false},
		{journal.StepRewriteRename, false}, {journal.StepRewriteDirSync, true}, {journal.StepRewriteDone, true},
	} {
		t.Run(s.step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "acquirer.state")
			copyFile(t, seed, path)
			require.Equal(t, s.step, runCompactChild(t, path, s.step))
			st := openCompactState(t, path)
			defer st.Close()
			want := full
			if s.compacted {
				want = full.without(dropped)
			}
			got := dumpState(st)
			assert.Equal(t, want, got)
			assert.Len(t, st.txnsIn(TxnReversalPending), 1, "the reversal still owed")
			assert.Equal(t, len(kept), len(full.without(dropped).Txns))
			assert.NoFileExists(t, path+".rewrite")
			next, err := st.reserveSTAN(context.Background())
			require.NoError(t, err)
			assert.Equal(t, full.Upto+1, next, "the next trace number, never one reserved before")
		})
	}
}

// runCompactChild runs TestCompactChild on path and SIGKILLs it at kill;
// it returns the step the child said it reached.
func runCompactChild(t *testing.T, path, kill string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCompactChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCompactChild+"=1", envCompactPath+"="+path, envCompactKill+"="+kill,
		"GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		switch line := sc.Text(); {
		case strings.HasPrefix(line, "KILL "):
			killed = strings.TrimPrefix(line, "KILL ")
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		case strings.HasPrefix(line, "ERR "):
			t.Errorf("child: %s", line)
		}
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child ended by %v, want SIGKILL", err)
	return killed
}
