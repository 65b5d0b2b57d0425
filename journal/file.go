// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
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

	// The steps of a Rewrite, in order.
	stepRewriteWrite   = "rewrite-write"   // the copy created and locked, empty
	stepRewriteTorn    = "rewrite-torn"    // half the copy written
	stepRewriteSync    = "rewrite-sync"    // the whole copy written, not synced
	stepRewriteRename  = "rewrite-rename"  // the copy synced, not yet renamed over the log
	stepRewriteDirSync = "rewrite-dirsync" // renamed, the directory not yet synced
	stepRewriteDone    = "rewrite-done"    // durable, Rewrite not yet returned
)

// The write steps a WithWriteHook hook sees, in order: those of an append
// (and of Open's repair), then those of a Log.Rewrite.
const (
	StepBeforeWrite = stepBeforeWrite
	StepTornWrite   = stepTornWrite
	StepBeforeSync  = stepBeforeSync
	StepAfterSync   = stepAfterSync
	StepRecover     = stepRecover

	StepRewriteWrite   = stepRewriteWrite
	StepRewriteTorn    = stepRewriteTorn
	StepRewriteSync    = stepRewriteSync
	StepRewriteRename  = stepRewriteRename
	StepRewriteDirSync = stepRewriteDirSync
	StepRewriteDone    = stepRewriteDone
)

func hook(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// Option configures Open.
type Option func(*options)

type options struct {
	readOnly  bool
	perm      os.FileMode
	hook      func(step string)
	stanBlock uint32
}

// ReadOnly opens the journal for reading only, for example to export it
// while the terminal keeps writing: no lock is taken, nothing is created or
// cut off, and an unfinished last frame is ignored (Recovered counts it).
// Append returns ErrReadOnly.
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// WithSTANBlock sets how many STANs one write reserves ahead (default
// 100; 1 to 999999). A larger block writes less often; after a restart the
// STANs reserved but not handed out are skipped (a gap in the numbering,
// never a repeat). OpenLog ignores it.
func WithSTANBlock(n uint32) Option {
	return func(o *options) { o.stanBlock = min(max(n, 1), maxSTAN) }
}

// WithWriteHook calls hook at each step of every write to this journal or
// log (before the write, after half a frame is on disk, before the fsync,
// after it; on Open between saving and cutting a torn tail; and each step
// of a Log.Rewrite): the seam
// through which a crash test in another package kills its child process at
// every step. A hook that returns lets the write go on. Never set in
// production.
func WithWriteHook(hook func(step string)) Option { return func(o *options) { o.hook = hook } }

// WithFileMode sets the permissions of a journal file Open creates
// (default 0600: the journal is card data).
func WithFileMode(perm os.FileMode) Option { return func(o *options) { o.perm = perm } }

// File is the embedded Journal and Counter: a Log whose frames hold the
// clearing records (each one Record as JSON, see the package
// documentation) and the events that change them (upload states, STAN
// reservations, batches opened and closed), each fsync'd before the call
// returns. It is safe for concurrent use by many goroutines: writes are
// serialised, and a flock keeps a second process (or a second File in this
// one) from writing the same path.
type File struct {
	book
	log   *Log
	block uint32
}

// Recovered returns the number of bytes of an unfinished last frame that
// Open found: cut off for a writer, ignored for ReadOnly. 0 for a clean file.
func (j *File) Recovered() int { return j.log.Recovered() }

// Path returns the journal's file name.
func (j *File) Path() string { return j.log.Path() }

// Close closes the file and releases its lock. Appends in progress finish
// first.
func (j *File) Close() error { return j.log.Close() }

// Open opens the journal at path, creating it if needed, and replays it.
// A torn tail (an unfinished last frame) is copied to path+".torn" and cut
// off; Recovered says how many bytes. Damage anywhere else fails with an
// error wrapping ErrCorrupt (and ErrNewerFormat for entries of a newer
// version of this package), and a journal another writer holds with one
// wrapping ErrLocked. A new journal's open batch is 1.
func Open(path string, opts ...Option) (*File, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	j := &File{block: o.stanBlock}
	l, err := openLog(path, opts, func(data []byte) error {
		st, _, err := scan(data, path, j.block)
		j.st = st
		return err
	})
	if err != nil {
		return nil, err
	}
	j.log, j.sink = l, l
	return j, nil
}

// replay reads the journal back from disk. On a ReadOnly File, an
// unfinished last frame (a write in progress in another process) is left
// out.
func (j *File) replay(ctx context.Context) (*state, error) {
	data, err := j.log.read(ctx)
	if err != nil {
		return nil, err
	}
	st, _, err := scan(data, j.log.path, j.block)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Records reads the journal back from disk and returns every record once,
// oldest first, with its upload state.
func (j *File) Records(ctx context.Context) ([]Record, error) {
	st, err := j.replay(ctx)
	if err != nil {
		return nil, err
	}
	return st.records(), nil
}

// OpenBatch returns the open batch, as read from disk.
func (j *File) OpenBatch(ctx context.Context) (uint32, error) {
	st, err := j.replay(ctx)
	if err != nil {
		return 0, err
	}
	return st.batch, nil
}

// Batches returns the closed batches, oldest first, as read from disk.
func (j *File) Batches(ctx context.Context) ([]BatchClose, error) {
	st, err := j.replay(ctx)
	if err != nil {
		return nil, err
	}
	return st.batches(), nil
}

// Payloads reads the journal back from disk and returns the payloads of
// the entries of kind (another flow's, such as RecordPurse), oldest first,
// as they were written: the journal keeps them without reading them. The
// clearing entries are read with Records; kind RecordClearing is an
// error wrapping ErrInvalid.
func (j *File) Payloads(ctx context.Context, kind RecordKind) ([][]byte, error) {
	if kind == RecordClearing {
		return nil, fmt.Errorf("%w: Payloads of clearing entries (Records reads them)", ErrInvalid)
	}
	st, err := j.replay(ctx)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, o := range st.others {
		if o.kind == kind {
			out = append(out, o.payload)
		}
	}
	return out, nil
}
