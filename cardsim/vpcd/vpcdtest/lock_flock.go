// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package vpcdtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim/vpcd"
)

// LockTimeout bounds the wait for another test to release the reader.
const LockTimeout = 3 * time.Minute

// LockPath is the file whose flock serialises the tests that serve a card
// on vpcd.DefaultAddr, across test binaries (go test ./... runs packages in
// parallel).
func LockPath() string {
	return filepath.Join(os.TempDir(), "pboc-vpcd-"+strings.ReplaceAll(vpcd.DefaultAddr, ":", "-")+".lock")
}

// Lock takes the exclusive lock on LockPath, waiting up to LockTimeout for
// another test to release it, and returns the function releasing it. The
// operating system releases the lock too if the test binary dies.
func Lock(t testing.TB) func() {
	t.Helper()
	f, err := os.OpenFile(LockPath(), os.O_RDWR|os.O_CREATE, 0o666)
	require.NoError(t, err, "vpcd lock file")
	deadline := time.Now().Add(LockTimeout)
	logged := false
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			require.NoError(t, err, "flock %s", LockPath())
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("another test has held the vpcd lock %s for more than %s", LockPath(), LockTimeout)
		}
		if !logged {
			t.Logf("waiting for another test to release vpcd's reader (lock %s)", LockPath())
			logged = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() {
		// Closing the file releases the lock.
		if err := f.Close(); err != nil {
			t.Errorf("vpcd lock: %v", err)
		}
	}
}
