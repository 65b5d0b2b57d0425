// SPDX-License-Identifier: Apache-2.0

package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/internal/atomicfile"
)

// Write replaces the content, leaves no temporary file, and gives a new
// file the permissions asked for.
func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, atomicfile.Write(path, []byte("first"), 0o600))
	require.NoError(t, atomicfile.Write(path, []byte("second, longer"), 0o600))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "second, longer", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// A Write that cannot complete leaves the old content and no temporary
// file: here the target is a directory, which the rename cannot replace.
func TestWriteFailureKeepsTheOldContent(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "card.json")
	require.NoError(t, os.Mkdir(target, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(target, "x"), []byte("kept"), 0o644))
	assert.Error(t, atomicfile.Write(target, []byte("new"), 0o644))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the temporary file is removed")
	b, err := os.ReadFile(filepath.Join(target, "x"))
	require.NoError(t, err)
	assert.Equal(t, "kept", string(b))
	assert.Error(t, atomicfile.Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644), "no such directory")
}
