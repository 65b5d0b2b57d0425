// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"fmt"
)

// Journal stores clearing records durably.
type Journal interface {
	// Append stores r. When it returns nil the record survives a crash or
	// power loss. Appending a record whose ID is already stored is a no-op
	// returning nil (ErrConflict if it is a different sale).
	Append(ctx context.Context, r Record) error
	// Mark records a change of a stored record's upload state (see
	// UploadState for the changes allowed: ErrTransition otherwise,
	// ErrNotFound for an unknown ID). It is durable when it returns nil;
	// marking a record with the state it is already in is a no-op, except
	// sent.
	Mark(ctx context.Context, id string, e UploadEvent) error
	// Records returns every stored record once, oldest first, with its
	// upload state and history.
	Records(ctx context.Context) ([]Record, error)
	// Close releases the journal. Append fails after Close.
	Close() error
}

var (
	// ErrClosed is returned by a Journal used after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrConflict is wrapped by the error Append returns for a record whose
	// ID is stored with a different kind, amount, currency or cryptogram.
	ErrConflict = errors.New("journal: record id already stored with different data")
)

var (
	_ Journal = (*File)(nil)
	_ Journal = (*Memory)(nil)
	_ Counter = (*File)(nil)
	_ Counter = (*Memory)(nil)
)

// sink is where a book's entries go: a Log for File, nowhere for Memory.
type sink interface {
	lock(ctx context.Context) error
	unlock()
	writable() error
	write(frame []byte, what string) error
}

// book is a journal's state and its sink: File and Memory are books, the
// same rules with and without a disk.
type book struct {
	sink sink
	st   *state
}

// commit makes one change under the sink's lock: change checks it against
// the state and returns the entry to write (nil: nothing to do); the entry
// is encoded, written and then applied; after, if set, runs last, still
// under the lock (NextSTAN hands its STAN out there).
func (b *book) commit(ctx context.Context, what string, change func(*state) (*entry, error), after func(*state)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal: %s: %w", what, err)
	}
	if err := b.sink.lock(ctx); err != nil {
		return fmt.Errorf("journal: %s: %w", what, err)
	}
	defer b.sink.unlock()
	if err := b.sink.writable(); err != nil {
		return err
	}
	e, err := change(b.st)
	if err != nil {
		return err
	}
	if e != nil {
		frame, err := encodeEntry(e)
		if err != nil {
			return err
		}
		if err := b.sink.write(frame, what); err != nil {
			return err
		}
		if err := b.st.apply(e); err != nil {
			return fmt.Errorf("journal: %s: %w", what, err) // a producer's entry always applies
		}
	}
	if after != nil {
		after(b.st)
	}
	return nil
}

// Append validates r and stores it as one entry: when it returns nil the
// record is durable (File: one write and fsync). A record whose ID is
// already stored is not written again (nil, or ErrConflict if it is a
// different sale). Once a File's write has started, ctx no longer stops
// it.
func (b *book) Append(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal: append %s: %w", r.ID, err)
	}
	if err := r.Validate(); err != nil {
		return err
	}
	return b.commit(ctx, "append "+r.ID, func(s *state) (*entry, error) { return s.appendRecord(r) }, nil)
}

// Mark stores an upload state change of a stored record (see Journal).
func (b *book) Mark(ctx context.Context, id string, e UploadEvent) error {
	return b.commit(ctx, "mark "+id, func(s *state) (*entry, error) { return s.markEvent(id, e) }, nil)
}

// NextSTAN hands out the next STAN of the open batch (see Counter). A
// File writes only when the STANs reserved so far are used up
// (WithSTANBlock).
func (b *book) NextSTAN(ctx context.Context) (stan, batch uint32, err error) {
	err = b.commit(ctx, "reserve STANs", (*state).stanEvent, func(s *state) { stan, batch = s.handOut() })
	return stan, batch, err
}

// SetBatch opens batch n (see Counter).
func (b *book) SetBatch(ctx context.Context, n uint32) error {
	return b.commit(ctx, "set batch", func(s *state) (*entry, error) { return s.setBatchEvent(n) }, nil)
}

// CloseBatch closes the open batch with what the settlement reported and
// opens the next (see Counter).
func (b *book) CloseBatch(ctx context.Context, c BatchClose) (next uint32, err error) {
	err = b.commit(ctx, fmt.Sprintf("close batch %06d", c.Batch), func(s *state) (*entry, error) {
		e, n, err := s.closeEvent(c)
		next = n
		return e, err
	}, nil)
	return next, err
}

// Memory is a Journal and a Counter held in memory, for tests and
// simulations: the same rules as File, nothing kept across restarts. It is
// safe for concurrent use.
type Memory struct {
	book
	mem *memSink
}

// memSink is Memory's sink: a lock and a closed flag.
type memSink struct {
	sem    chan struct{}
	closed bool
}

func (m *memSink) lock(ctx context.Context) error {
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (m *memSink) unlock() { <-m.sem }
func (m *memSink) writable() error {
	if m.closed {
		return ErrClosed
	}
	return nil
}
func (m *memSink) write([]byte, string) error { return nil }

// NewMemory returns an empty in-memory journal; its open batch is 1.
func NewMemory() *Memory {
	s := &memSink{sem: make(chan struct{}, 1)}
	return &Memory{book: book{sink: s, st: newState(0)}, mem: s}
}

// view runs f on the state under the lock.
func (m *Memory) view(ctx context.Context, f func(*state)) error {
	if err := m.mem.lock(ctx); err != nil {
		return err
	}
	defer m.mem.unlock()
	if m.mem.closed {
		return ErrClosed
	}
	f(m.st)
	return nil
}

// Records returns copies of the stored records, oldest first.
func (m *Memory) Records(ctx context.Context) (recs []Record, err error) {
	err = m.view(ctx, func(s *state) { recs = s.records() })
	return recs, err
}

// OpenBatch returns the open batch.
func (m *Memory) OpenBatch(ctx context.Context) (b uint32, err error) {
	err = m.view(ctx, func(s *state) { b = s.batch })
	return b, err
}

// Batches returns the closed batches, oldest first.
func (m *Memory) Batches(ctx context.Context) (c []BatchClose, err error) {
	err = m.view(ctx, func(s *state) { c = s.batches() })
	return c, err
}

// Close marks the journal closed.
func (m *Memory) Close() error {
	m.mem.sem <- struct{}{}
	defer m.mem.unlock()
	m.mem.closed = true
	return nil
}

func copyRecord(r Record) Record {
	if r.BalanceBefore != nil {
		v := *r.BalanceBefore
		r.BalanceBefore = &v
	}
	if r.BalanceAfter != nil {
		v := *r.BalanceAfter
		r.BalanceAfter = &v
	}
	if r.EncryptedPAN != nil {
		v := *r.EncryptedPAN
		r.EncryptedPAN = &v
	}
	return r
}

// checkDuplicate is the answer to an Append of an ID already stored with
// fingerprint fp.
func checkDuplicate(fp fingerprint, r *Record) error {
	if fp == fingerprintOf(r) {
		return nil
	}
	return fmt.Errorf("%w: %s (stored: %s %d %s %s; new: %s %d %s %s)", ErrConflict, r.ID,
		fp.kind, fp.amount, fp.currency, fp.crypto, r.Kind, r.Amount, r.Currency, r.Cryptogram)
}
