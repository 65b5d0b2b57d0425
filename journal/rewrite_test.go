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

// payloads returns n payloads named prefix0, prefix1, …
func payloads(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(prefix + strconv.Itoa(i))
	}
	return out
}

// A Rewrite replaces every frame at once; the Log then appends to the new
// file, which a reopen reads back, and which keeps a second writer out.
func TestRewriteReplacesTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.log")
	l, err := OpenLog(path, WithFileMode(0o640))
	require.NoError(t, err)
	for _, p := range payloads("old", 50) {
		require.NoError(t, l.Append(ctx, p))
	}
	before := readFile(t, path)

	require.NoError(t, l.Rewrite(ctx, payloads("new", 2)))
	require.NoError(t, l.Append(ctx, []byte("after")))
	got, err := l.Payloads(ctx)
	require.NoError(t, err)
	want := append(payloads("new", 2), []byte("after"))
	assert.Equal(t, want, got)
	after := readFile(t, path)
	assert.Less(t, len(after), len(before))
	assert.Equal(t, appendFrame(appendFrame(appendFrame(nil, []byte("new0")), []byte("new1")), []byte("after")), after,
		"the file is exactly the new frames")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "the log's permissions are kept")
	assert.NoFileExists(t, path+rewriteSuffix)

	_, err = OpenLog(path)
	require.ErrorIs(t, err, ErrLocked, "the new file is locked too")
	require.NoError(t, l.Close())
	l, err = OpenLog(path)
	require.NoError(t, err)
	got, err = l.Payloads(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// Rewriting to nothing leaves an empty, usable log.
	require.NoError(t, l.Rewrite(ctx, nil))
	got, err = l.Payloads(ctx)
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Empty(t, readFile(t, path))
	require.NoError(t, l.Close())
	require.ErrorIs(t, l.Rewrite(ctx, payloads("x", 1)), ErrClosed)
}

// A payload no frame can hold refuses the whole Rewrite before anything is
// written; so does a read-only Log.
func TestRewriteRefusesBadPayloads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.log")
	l, err := OpenLog(path)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Append(ctx, []byte("kept")))
	for _, bad := range [][][]byte{{[]byte("a"), nil}, {make([]byte, MaxPayload+1)}} {
		require.ErrorIs(t, l.Rewrite(ctx, bad), ErrInvalid)
	}
	got, err := l.Payloads(ctx)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("kept")}, got)
	assert.NoFileExists(t, path+rewriteSuffix)

	ro, err := OpenLog(path, ReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	require.ErrorIs(t, ro.Rewrite(ctx, payloads("x", 1)), ErrReadOnly)
}

// A reader opened before a Rewrite reads the new file afterwards, not the
// old one it had open.
func TestReadOnlyLogFollowsARewrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.log")
	l, err := OpenLog(path)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Append(ctx, []byte("old")))
	ro, err := OpenLog(path, ReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	require.NoError(t, l.Rewrite(ctx, payloads("new", 1)))
	require.NoError(t, l.Append(ctx, []byte("more")))
	got, err := ro.Payloads(ctx)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("new0"), []byte("more")}, got)
}

// What a crashed Rewrite left beside the log is never read, and the next
// writer's Open deletes it.
func TestOpenDeletesAnInterruptedRewrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.log")
	l, err := OpenLog(path)
	require.NoError(t, err)
	require.NoError(t, l.Append(ctx, []byte("real")))
	require.NoError(t, l.Close())
	require.NoError(t, os.WriteFile(path+rewriteSuffix, appendFrame(nil, []byte("half")), 0o600))
	l, err = OpenLog(path)
	require.NoError(t, err)
	defer l.Close()
	got, err := l.Payloads(ctx)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("real")}, got)
	assert.NoFileExists(t, path+rewriteSuffix)
}

// The rewrite crash test: a child appends the old payloads, then rewrites
// the log to the new ones and is killed at one step of the Rewrite.
const (
	envRewriteChild = "PBOC_JOURNAL_REWRITE_CHILD"
	envRewriteKill  = "PBOC_JOURNAL_REWRITE_KILL" // a step; empty: no kill
	rewriteOld      = 40
	rewriteNew      = 3
)

// TestRewriteHelperProcess is the child: it prints "KILL step" at its kill
// point and waits there for the parent's SIGKILL.
func TestRewriteHelperProcess(t *testing.T) {
	if os.Getenv(envRewriteChild) != "1" {
		t.Skip("child process of TestCrashAtEveryRewriteStep")
	}
	kill := os.Getenv(envRewriteKill)
	fail := func(err error) {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	ctx := context.Background()
	l, err := OpenLog(os.Getenv(envPath), WithWriteHook(func(step string) {
		if step == kill && strings.HasPrefix(step, "rewrite-") {
			fmt.Printf("KILL %s\n", step)
			time.Sleep(time.Minute) // the parent's SIGKILL arrives here
			os.Exit(4)
		}
	}))
	if err != nil {
		fail(err)
	}
	for _, p := range payloads("old", rewriteOld) {
		if err := l.Append(ctx, p); err != nil {
			fail(err)
		}
	}
	if err := l.Rewrite(ctx, payloads("new", rewriteNew)); err != nil {
		fail(err)
	}
	fmt.Println("ACK rewrite")
	if err := l.Close(); err != nil {
		fail(err)
	}
	os.Exit(0)
}

// A crash at every step of a Rewrite leaves the old log or the new one,
// complete: before the rename the old, from it on the new; the next Open
// deletes the left-over copy and the log takes appends.
func TestCrashAtEveryRewriteStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	steps := []struct {
		step string
		new  bool
	}{
		{stepRewriteWrite, false}, {stepRewriteTorn, false}, {stepRewriteSync, false},
		{stepRewriteRename, false}, {stepRewriteDirSync, true}, {stepRewriteDone, true},
	}
	for _, s := range steps {
		t.Run(s.step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.log")
			c := spawn(t, "TestRewriteHelperProcess", envRewriteChild+"=1", envPath+"="+path, envRewriteKill+"="+s.step)
			require.Equal(t, s.step, c.killed)
			assert.Empty(t, c.acks, "killed inside the Rewrite")

			l, err := OpenLog(path)
			require.NoError(t, err)
			defer l.Close()
			assert.Zero(t, l.Recovered(), "nothing torn at the log's path")
			got, err := l.Payloads(ctx)
			require.NoError(t, err)
			want := payloads("old", rewriteOld)
			if s.new {
				want = payloads("new", rewriteNew)
			}
			assert.Equal(t, want, got, "the whole of one log, nothing of the other")
			assert.NoFileExists(t, path+rewriteSuffix)
			require.NoError(t, l.Append(ctx, []byte("next")))
			got, err = l.Payloads(ctx)
			require.NoError(t, err)
			assert.Equal(t, append(want, []byte("next")), got)
		})
	}
	// Without a kill, the child's Rewrite returns.
	path := filepath.Join(t.TempDir(), "events.log")
	c := spawn(t, "TestRewriteHelperProcess", envRewriteChild+"=1", envPath+"="+path)
	assert.Equal(t, []string{"rewrite"}, c.acks)
}
