// Package journal keeps the terminal's clearing records: every offline
// electronic-cash approval is money the merchant must still collect, so the
// kernel writes its record to a Journal before it returns the result.
//
// Journal is an interface a vendor can replace (a database, a secure element,
// a remote service). The package provides two implementations: File, the
// embedded default, an append-only file made durable with fsync; and Memory,
// for tests.
//
// Log is the primitive under File: the same frames with opaque payloads.
// The terminal's other durable stores (torn records, purse records, the
// acquirer's reversal queue and counters) keep their events in a Log and
// so share the journal's crash guarantees.
//
// # Rules every Journal follows
//
//   - Append is durable when it returns nil.
//   - Append is idempotent: a record whose ID is already in the journal is
//     not written again and Append returns nil. If the stored record differs
//     in kind, amount, currency or cryptogram, Append returns an error
//     wrapping ErrConflict instead: a card never uses an ATC twice, so that
//     is a bug or a forged card, not a retry.
//   - Records returns every record once, in the order written.
//   - No record holds a full PAN (see Record.Validate).
//
// # File format
//
// A File is a sequence of frames and nothing else (an empty file is an empty
// journal). Each frame is
//
//	offset  size  field
//	0       2     magic "PJ" (0x50 0x4A)
//	2       1     version, 1
//	3       1     flags, 0
//	4       4     payload length N, big-endian, 1 ≤ N ≤ MaxPayload
//	8       N     payload: the Record as JSON (encoding/json)
//	8+N     4     CRC-32C (Castagnoli) of bytes 0 … 8+N−1, big-endian
//
// A frame is written with one write and followed by fsync before Append
// returns. Open scans the file: a damaged frame at the end, with no valid
// frame after it, is a write the process did not finish; it is cut off (its
// bytes are first copied to PATH.torn) and counted by Recovered. A damaged
// frame followed by a valid one is real damage and Open fails with
// ErrCorrupt rather than skip data.
package journal

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Journal stores clearing records durably.
type Journal interface {
	// Append stores r. When it returns nil the record survives a crash or
	// power loss. Appending a record whose ID is already stored is a no-op
	// returning nil (ErrConflict if it is a different sale).
	Append(ctx context.Context, r Record) error
	// Records returns every stored record once, oldest first.
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
)

// Memory is a Journal held in memory, for tests and simulations. It keeps
// nothing across restarts. It is safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	recs   []Record
	ids    map[string]fingerprint
	closed bool
}

// NewMemory returns an empty in-memory journal.
func NewMemory() *Memory { return &Memory{ids: make(map[string]fingerprint)} }

// Append stores a copy of r, with the same validation and idempotence as
// File.Append.
func (m *Memory) Append(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal: append %s: %w", r.ID, err)
	}
	if err := r.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if fp, ok := m.ids[r.ID]; ok {
		return checkDuplicate(fp, &r)
	}
	m.ids[r.ID] = fingerprintOf(&r)
	m.recs = append(m.recs, copyRecord(r))
	return nil
}

// Records returns copies of the stored records, oldest first.
func (m *Memory) Records(ctx context.Context) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	out := make([]Record, len(m.recs))
	for i, r := range m.recs {
		out[i] = copyRecord(r)
	}
	return out, nil
}

// Close marks the journal closed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
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
