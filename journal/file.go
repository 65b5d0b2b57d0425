package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

var (
	// ErrLocked is wrapped by the error Open returns when another open File
	// (in this or another process) is writing the journal.
	ErrLocked = errors.New("journal: file is locked by another writer")
	// ErrReadOnly is returned by Append on a File opened with ReadOnly.
	ErrReadOnly = errors.New("journal: opened read-only")
	// ErrBroken is wrapped by the error Append returns after an earlier
	// write or fsync failed: whether that record reached the disk is
	// unknown, so the File refuses further writes. Close it and Open the
	// path again; Open finds out what is on disk, and appending the failed
	// record again is safe because Append is idempotent.
	ErrBroken = errors.New("journal: an earlier write failed; close and reopen")
)

// crashHook, when set (only by the crash test's child process), is called
// at each step of a write so that the test can kill the process there.
var crashHook func(step string)

// The steps crashHook sees.
const (
	stepBeforeWrite = "before-write" // nothing of the frame written yet
	stepTornWrite   = "torn-write"   // the first half of the frame written
	stepBeforeSync  = "before-sync"  // the whole frame written, not synced
	stepAfterSync   = "after-sync"   // synced, Append not yet returned
	stepRecover     = "recover"      // Open: torn tail saved, not yet cut off
)

func hook(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// Option configures Open.
type Option func(*options)

type options struct {
	readOnly bool
	perm     os.FileMode
}

// ReadOnly opens the journal for reading only, for example to export it
// while the terminal keeps writing: no lock is taken, nothing is created or
// cut off, and an unfinished last frame is ignored (Recovered counts it).
// Append returns ErrReadOnly.
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// WithFileMode sets the permissions of a journal file Open creates
// (default 0600: the journal is card data).
func WithFileMode(perm os.FileMode) Option { return func(o *options) { o.perm = perm } }

// File is the embedded Journal: an append-only file of CRC-checked frames
// (see the package documentation for the format), each fsync'd before
// Append returns. It is safe for concurrent use by many goroutines: appends
// are serialised, and a flock keeps a second process (or a second File in
// this one) from writing the same path.
type File struct {
	sem       chan struct{} // held while using f; a channel so waiting honours ctx
	f         *os.File
	path      string
	readOnly  bool
	size      int64 // end of the last complete frame (writer)
	ids       map[string]fingerprint
	recovered int
	closed    bool
	broken    error
}

// Open opens the journal at path, creating it if needed, and scans it. A
// torn tail (an unfinished last frame) is copied to path+".torn" and cut
// off; Recovered says how many bytes. Damage anywhere else fails with an
// error wrapping ErrCorrupt, and a journal another writer holds with one
// wrapping ErrLocked.
func Open(path string, opts ...Option) (*File, error) {
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
	j := &File{sem: make(chan struct{}, 1), f: f, path: path, readOnly: o.readOnly}
	if err := j.load(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// load locks, scans and repairs a freshly opened file.
func (j *File) load() error {
	if !j.readOnly {
		if err := lockFile(j.f); errors.Is(err, ErrLocked) {
			return fmt.Errorf("%w: %s", err, j.path)
		} else if err != nil {
			return fmt.Errorf("journal: lock %s: %w", j.path, err)
		}
	}
	data, err := io.ReadAll(j.f)
	if err != nil {
		return fmt.Errorf("journal: read %s: %w", j.path, err)
	}
	res, err := scan(data, j.path)
	if err != nil {
		return err
	}
	j.ids, j.size, j.recovered = res.ids, int64(res.end), len(data)-res.end
	if j.readOnly {
		return nil
	}
	if j.recovered > 0 {
		if err := saveTorn(j.path+".torn", data[res.end:]); err != nil {
			return err
		}
		hook(stepRecover)
		if err := j.f.Truncate(j.size); err != nil {
			return fmt.Errorf("journal: cut torn tail of %s: %w", j.path, err)
		}
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("journal: fsync %s: %w", j.path, err)
		}
	}
	// The file may have just been created (here, or by a run that crashed
	// before this point): make its directory entry durable.
	return syncDir(filepath.Dir(j.path))
}

// saveTorn appends the bytes cut from the journal to the side file, for
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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: open directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: fsync directory %s: %w", dir, err)
	}
	return nil
}

// Recovered returns the number of bytes of an unfinished last frame that
// Open found: cut off for a writer, ignored for ReadOnly. 0 for a clean file.
func (j *File) Recovered() int { return j.recovered }

// Path returns the journal's file name.
func (j *File) Path() string { return j.path }

// lock waits for the file, or for ctx.
func (j *File) lock(ctx context.Context) error {
	select {
	case j.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (j *File) unlock() { <-j.sem }

// Append validates r, writes it as one frame with a single write and
// fsyncs the file. When it returns nil the record is durable. A record whose
// ID is already in the journal is not written again (nil, or ErrConflict if
// it is a different sale). Once the write has started, ctx no longer stops
// it.
func (j *File) Append(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal: append %s: %w", r.ID, err)
	}
	if err := r.Validate(); err != nil {
		return err
	}
	frame, err := encodeRecord(&r)
	if err != nil {
		return err
	}
	if err := j.lock(ctx); err != nil {
		return fmt.Errorf("journal: append %s: %w", r.ID, err)
	}
	defer j.unlock()
	switch {
	case j.closed:
		return ErrClosed
	case j.readOnly:
		return ErrReadOnly
	case j.broken != nil:
		return fmt.Errorf("%w: %w", ErrBroken, j.broken)
	}
	if fp, ok := j.ids[r.ID]; ok {
		return checkDuplicate(fp, &r)
	}
	hook(stepBeforeWrite)
	if crashHook != nil {
		// Test only: leave half a frame on disk for the crash test to kill
		// the process on; if the hook returns, the full write overwrites it.
		_, _ = j.f.WriteAt(frame[:len(frame)/2], j.size)
		hook(stepTornWrite)
	}
	if _, err := j.f.WriteAt(frame, j.size); err != nil {
		// Take the partial frame back off; if even that fails, the file's
		// end is unknown and the next frame would land after garbage.
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = err
		}
		return fmt.Errorf("journal: append %s: %w", r.ID, err)
	}
	hook(stepBeforeSync)
	if err := j.f.Sync(); err != nil {
		// After a failed fsync the page cache cannot be trusted (the kernel
		// may have dropped the dirty pages): refuse further writes.
		j.broken = err
		return fmt.Errorf("journal: fsync %s: %w", r.ID, err)
	}
	hook(stepAfterSync)
	j.size += int64(len(frame))
	j.ids[r.ID] = fingerprintOf(&r)
	return nil
}

// Records reads the journal back from disk and returns every record once,
// oldest first. On a ReadOnly File, an unfinished last frame (a write in
// progress in another process) is left out.
func (j *File) Records(ctx context.Context) ([]Record, error) {
	if err := j.lock(ctx); err != nil {
		return nil, err
	}
	defer j.unlock()
	if j.closed {
		return nil, ErrClosed
	}
	size := j.size
	if j.readOnly {
		st, err := j.f.Stat()
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		size = st.Size()
	}
	data := make([]byte, size)
	n, err := j.f.ReadAt(data, 0)
	if err != nil && !(j.readOnly && errors.Is(err, io.EOF)) { // a writer may cut a torn tail meanwhile
		return nil, fmt.Errorf("journal: read %s: %w", j.path, err)
	}
	data = data[:n]
	res, err := scan(data, j.path)
	if err != nil {
		return nil, err
	}
	if !j.readOnly && res.end != len(data) {
		return nil, &CorruptError{j.path, int64(res.end), "journal changed under its writer"}
	}
	return res.recs, nil
}

// Close closes the file and releases its lock. Appends in progress finish
// first.
func (j *File) Close() error {
	j.sem <- struct{}{}
	defer j.unlock()
	if j.closed {
		return ErrClosed
	}
	j.closed = true
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("journal: close %s: %w", j.path, err)
	}
	return nil
}
