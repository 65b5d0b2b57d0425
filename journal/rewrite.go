// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// rewriteSuffix names the file a Rewrite builds beside the log. It is
// only ever a copy being written: the rename that would make it the log
// removes the name, so whatever Open finds under it is a rewrite a crash
// interrupted, and is deleted.
const rewriteSuffix = ".rewrite"

// Rewrite replaces the whole log with payloads (oldest first), atomically:
// the frames are written to PATH.rewrite in the same directory, which is
// fsync'd and locked, renamed over the log, and the directory fsync'd;
// then the Log appends to the new file. A crash at any step leaves at
// PATH either the old log or the new one, each complete (the rename is the
// one moment it changes), never a mix and never nothing; a left-over
// PATH.rewrite is deleted by the next Open.
//
// Rewrite is for a store that compacts its own events (a snapshot of the
// live state in place of its history): what the payloads mean is the
// caller's. It waits for appends in progress and holds them off until it
// returns. A failure before the rename leaves the Log on the old file, as
// it was; a failure to fsync the directory after it leaves the Log refusing
// writes (ErrBroken): the rename may not survive a power cut, so appends to
// the new file might not either — close and reopen.
//
// A ReadOnly Log of the same path in another process notices the new file
// at its next read.
func (l *Log) Rewrite(ctx context.Context, payloads [][]byte) error {
	size := 0
	for i, p := range payloads {
		if len(p) == 0 || len(p) > MaxPayload {
			return fmt.Errorf("%w: rewrite payload %d of %d bytes (1 to %d)", ErrInvalid, i, len(p), MaxPayload)
		}
		size += len(p) + frameOver
	}
	buf := make([]byte, 0, size)
	for _, p := range payloads {
		buf = appendFrame(buf, p)
	}
	if err := l.lock(ctx); err != nil {
		return fmt.Errorf("journal: rewrite: %w", err)
	}
	defer l.unlock()
	if err := l.writable(); err != nil {
		return err
	}
	tmp := l.path + rewriteSuffix
	f, err := l.writeCopy(tmp, buf)
	if err != nil {
		return err
	}
	l.step(stepRewriteRename)
	if err := os.Rename(tmp, l.path); err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("journal: rewrite %s: %w", l.path, err)
	}
	// From here PATH is the new file, and its lock (taken in writeCopy)
	// keeps other writers off it; the old file's goes with its Close.
	old := l.f
	l.f, l.size = f, int64(len(buf))
	_ = old.Close()
	l.step(stepRewriteDirSync)
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		l.broken = err
		return fmt.Errorf("journal: rewrite %s: %w", l.path, err)
	}
	l.step(stepRewriteDone)
	return nil
}

// writeCopy creates the file a Rewrite renames over the log: locked, with
// the log's permissions, holding buf, fsync'd. On failure it is removed.
func (l *Log) writeCopy(tmp string, buf []byte) (*os.File, error) {
	perm := os.FileMode(0o600)
	if st, err := l.f.Stat(); err == nil {
		perm = st.Mode().Perm()
	}
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, fmt.Errorf("journal: rewrite: %w", err)
	}
	err = l.fillCopy(f, buf)
	if err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("journal: rewrite %s: %w", tmp, err)
	}
	return f, nil
}

// fillCopy locks f, writes buf to it and fsyncs it, reporting each step to
// the crash hooks.
func (l *Log) fillCopy(f *os.File, buf []byte) error {
	// The copy is locked before it becomes the log, so that no writer
	// opening PATH right after the rename finds it free.
	if err := lockFile(f); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	l.step(stepRewriteWrite)
	if crashHook != nil || l.hook != nil {
		// Test only: half the copy on disk for a crash test to kill on.
		_, _ = f.WriteAt(buf[:len(buf)/2], 0)
		l.step(stepRewriteTorn)
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		return err
	}
	l.step(stepRewriteSync)
	return f.Sync()
}

// removeStaleCopy deletes what a crashed Rewrite left beside the log at
// path. The caller holds the log's lock, so no Rewrite is running.
func removeStaleCopy(path string) error {
	err := os.Remove(path + rewriteSuffix)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("journal: remove an interrupted rewrite: %w", err)
	}
	return nil
}
