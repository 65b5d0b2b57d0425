// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-pboc/pboc/internal/atomicfile"
)

// Log is the durable primitive under File: an append-only file of
// CRC-checked frames (the format in the package documentation) whose
// payloads are opaque bytes. Every payload is durable when Append returns,
// a torn last write is cut off on Open (and kept in PATH.torn), and damage
// anywhere else is ErrCorrupt. Other durable stores of the terminal (torn
// records, purse records, a reversal queue, counters) keep their events in
// a Log with the journal's crash guarantees; File adds clearing records and
// their idempotence on top. Rewrite replaces the whole log atomically, for a
// store that compacts its events into a snapshot.
//
// A Log is safe for concurrent use, and a flock keeps a second writer
// (process or Log) off the same path.
type Log struct {
	sem       chan struct{} // held while using f; a channel so waiting honours ctx
	f         *os.File
	path      string
	readOnly  bool
	size      int64 // end of the last complete frame (writer)
	recovered int
	closed    bool
	broken    error
	hook      func(step string) // WithWriteHook
}

// step reports a write step to the crash hooks.
func (l *Log) step(s string) {
	hook(s)
	if l.hook != nil {
		l.hook(s)
	}
}

// OpenLog opens the log at path, creating it if needed, and scans it. A
// torn tail (an unfinished last frame) is copied to path+".torn" and cut
// off; Recovered says how many bytes. Damage anywhere else fails with an
// error wrapping ErrCorrupt, and a log another writer holds with one
// wrapping ErrLocked. The options are those of Open.
func OpenLog(path string, opts ...Option) (*Log, error) {
	return openLog(path, opts, nil)
}

// openLog opens the log. check, when set, is given the bytes of the
// complete frames before anything is repaired, so that File decodes its
// records from the same read and a file whose records are damaged is left
// as it is.
func openLog(path string, opts []Option, check func([]byte) error) (*Log, error) {
	o := options{perm: 0o600}
	for _, opt := range opts {
		opt(&o)
	}
	flag := os.O_RDWR | os.O_CREATE
	if o.readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, o.perm)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	l := &Log{sem: make(chan struct{}, 1), f: f, path: path, readOnly: o.readOnly, hook: o.hook}
	if err := l.load(check); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// load locks, scans, checks and repairs a freshly opened file.
func (l *Log) load(check func([]byte) error) error {
	if !l.readOnly {
		if err := lockFile(l.f); errors.Is(err, ErrLocked) {
			return fmt.Errorf("%w: %s", err, l.path)
		} else if err != nil {
			return fmt.Errorf("journal: lock %s: %w", l.path, err)
		}
		// A Rewrite may have renamed a new file over the path between the
		// open and the lock: the lock taken is then the old file's, which
		// nobody reads any more, and the new one is another writer's.
		if same, err := isFileAt(l.f, l.path); err != nil {
			return err
		} else if !same {
			return fmt.Errorf("%w: %s was replaced while opening", ErrLocked, l.path)
		}
		if err := removeStaleCopy(l.path); err != nil {
			return err
		}
	}
	data, err := io.ReadAll(l.f)
	if err != nil {
		return fmt.Errorf("journal: read %s: %w", l.path, err)
	}
	_, end, err := scanFrames(data, l.path)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(data[:end]); err != nil {
			return err
		}
	}
	l.size, l.recovered = int64(end), len(data)-end
	if l.readOnly {
		return nil
	}
	if l.recovered > 0 {
		if err := saveTorn(l.path+".torn", data[end:]); err != nil {
			return err
		}
		l.step(stepRecover)
		if err := l.f.Truncate(l.size); err != nil {
			return fmt.Errorf("journal: cut torn tail of %s: %w", l.path, err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("journal: fsync %s: %w", l.path, err)
		}
	}
	// The file may have just been created (here, or by a run that crashed
	// before this point): make its directory entry durable.
	return syncDir(filepath.Dir(l.path))
}

// saveTorn appends the bytes cut from the log to the side file, for
// whoever wants to look at them; they are never read back as records.
func saveTorn(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: save torn tail: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: save torn tail to %s: %w", path, err)
	}
	return nil
}

// isFileAt reports whether f is the file now at path.
func isFileAt(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	pi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	return os.SameFile(fi, pi), nil
}

func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Recovered returns the number of bytes of an unfinished last frame that
// Open found: cut off for a writer, ignored for ReadOnly. 0 for a clean file.
func (l *Log) Recovered() int { return l.recovered }

// Path returns the log's file name.
func (l *Log) Path() string { return l.path }

// lock waits for the file, or for ctx.
func (l *Log) lock(ctx context.Context) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Log) unlock() { <-l.sem }

// Append writes payload as one frame with a single write and fsyncs the
// file. When it returns nil the payload is durable. Once the write has
// started, ctx no longer stops it.
func (l *Log) Append(ctx context.Context, payload []byte) error {
	if len(payload) == 0 || len(payload) > MaxPayload {
		return fmt.Errorf("%w: payload of %d bytes (1 to %d)", ErrInvalid, len(payload), MaxPayload)
	}
	frame := appendFrame(make([]byte, 0, len(payload)+frameOver), payload)
	if err := l.lock(ctx); err != nil {
		return fmt.Errorf("journal: append: %w", err)
	}
	defer l.unlock()
	if err := l.writable(); err != nil {
		return err
	}
	return l.write(frame, "payload")
}

// writable says why the log cannot take a write now (nil if it can). The
// caller holds the lock.
func (l *Log) writable() error {
	switch {
	case l.closed:
		return ErrClosed
	case l.readOnly:
		return ErrReadOnly
	case l.broken != nil:
		return fmt.Errorf("%w: %w", ErrBroken, l.broken)
	}
	return nil
}

// write appends one frame at the end and fsyncs; what names the frame in
// errors. The caller holds the lock.
func (l *Log) write(frame []byte, what string) error {
	l.step(stepBeforeWrite)
	if crashHook != nil || l.hook != nil {
		// Test only: leave half a frame on disk for the crash test to kill
		// the process on; if the hook returns, the full write overwrites it.
		_, _ = l.f.WriteAt(frame[:len(frame)/2], l.size)
		l.step(stepTornWrite)
	}
	if _, err := l.f.WriteAt(frame, l.size); err != nil {
		// Take the partial frame back off; if even that fails, the file's
		// end is unknown and the next frame would land after garbage.
		if terr := l.f.Truncate(l.size); terr != nil {
			l.broken = err
		}
		return fmt.Errorf("journal: append %s: %w", what, err)
	}
	l.step(stepBeforeSync)
	if err := l.f.Sync(); err != nil {
		// After a failed fsync the page cache cannot be trusted (the kernel
		// may have dropped the dirty pages): refuse further writes.
		l.broken = err
		return fmt.Errorf("journal: fsync %s: %w", what, err)
	}
	l.step(stepAfterSync)
	l.size += int64(len(frame))
	return nil
}

// Payloads reads the log back from disk and returns every payload, oldest
// first. On a ReadOnly Log, an unfinished last frame (a write in progress
// in another process) is left out.
func (l *Log) Payloads(ctx context.Context) ([][]byte, error) {
	data, err := l.read(ctx)
	if err != nil {
		return nil, err
	}
	frames, _, err := scanFrames(data, l.path)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(frames))
	for i, fr := range frames {
		out[i] = fr.payload
	}
	return out, nil
}

// read returns the bytes of the log's complete frames, read from disk.
func (l *Log) read(ctx context.Context) ([]byte, error) {
	if err := l.lock(ctx); err != nil {
		return nil, err
	}
	defer l.unlock()
	if l.closed {
		return nil, ErrClosed
	}
	size := l.size
	if l.readOnly {
		if err := l.follow(); err != nil {
			return nil, err
		}
		st, err := l.f.Stat()
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		size = st.Size()
	}
	data := make([]byte, size)
	n, err := l.f.ReadAt(data, 0)
	if err != nil && !(l.readOnly && errors.Is(err, io.EOF)) { // a writer may cut a torn tail meanwhile
		return nil, fmt.Errorf("journal: read %s: %w", l.path, err)
	}
	data = data[:n]
	_, end, err := scanFrames(data, l.path)
	if err != nil {
		return nil, err
	}
	if !l.readOnly && end != len(data) {
		return nil, &CorruptError{Path: l.path, Offset: int64(end), Reason: "log changed under its writer"}
	}
	return data[:end], nil
}

// follow makes a ReadOnly Log read the file now at its path, which a
// writer's Rewrite may have replaced since the last read. The caller holds
// the lock.
func (l *Log) follow() error {
	same, err := isFileAt(l.f, l.path)
	if err != nil || same {
		return err
	}
	f, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	l.f.Close()
	l.f = f
	return nil
}

// Close closes the file and releases its lock. Appends in progress finish
// first.
func (l *Log) Close() error {
	l.sem <- struct{}{}
	defer l.unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("journal: close %s: %w", l.path, err)
	}
	return nil
}
