// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package vpcdtest

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// While a test holds the vpcd lock, nobody else can take it (another open
// file description stands for another test binary); once released, it is
// free.
func TestLockVPCDExcludes(t *testing.T) {
	tryLock := func() error {
		f, err := os.OpenFile(LockPath(), os.O_RDWR|os.O_CREATE, 0o666)
		require.NoError(t, err)
		defer f.Close()
		return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	unlock := Lock(t)
	err := tryLock()
	assert.True(t, errors.Is(err, syscall.EWOULDBLOCK), "held: %v", err)
	unlock()
	assert.NoError(t, tryLock(), "released")
}
