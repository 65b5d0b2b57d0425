// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package journal

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecondWriterIsLockedOut(t *testing.T) {
	j, path := openTemp(t)
	_, err := Open(path)
	require.ErrorIs(t, err, ErrLocked)
	assert.Contains(t, err.Error(), path)

	require.NoError(t, j.Close())
	j2, err := Open(path)
	require.NoError(t, err, "the lock goes with Close")
	require.NoError(t, j2.Close())
}
