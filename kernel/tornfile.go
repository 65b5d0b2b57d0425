// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/go-pboc/pboc/journal"
)

// FileTornLog is the durable TornLog: every Add and Remove is an event
// appended to a journal.Log (one frame, one write, fsync'd before the call
// returns), so a torn record survives a crash or a power cut with the
// journal's guarantees — a process killed at any step of a write loses no
// record it acknowledged and invents none — and Open replays the events.
//
// What it keeps of a card: the masked PAN and the keyed PAN hash
// (Config.PANHashKey must then be set and stable, or the records would not
// match the card after a restart: New refuses a FileTornLog without it).
// A torn script's request is kept without the PAN (taken from the card at
// settlement) and without the PIN block; nothing else in a record is card
// secret.
type FileTornLog struct {
	log  *journal.Log
	mu   sync.Mutex
	recs []TornRecord // pending, oldest first
}

var _ TornLog = (*FileTornLog)(nil)

// tornEvent is one frame of a FileTornLog.
type tornEvent struct {
	Op     string      `json:"op"` // "add" or "remove"
	Record *TornRecord `json:"record,omitempty"`
	ID     string      `json:"id,omitempty"`
}

// OpenTornLog opens (or creates) the durable torn log at path and replays
// it. The options are the journal's (journal.ReadOnly, WithFileMode,
// WithWriteHook); a damaged log fails with an error wrapping
// journal.ErrCorrupt.
func OpenTornLog(path string, opts ...journal.Option) (*FileTornLog, error) {
	l, err := journal.OpenLog(path, opts...)
	if err != nil {
		return nil, err
	}
	f := &FileTornLog{log: l}
	if err := f.replay(); err != nil {
		l.Close()
		return nil, err
	}
	return f, nil
}

// replay rebuilds the pending records from the events.
func (f *FileTornLog) replay() error {
	payloads, err := f.log.Payloads(context.Background())
	if err != nil {
		return err
	}
	// off is the frame's offset: the frames lie end to end, each
	// journal.FrameOverhead bytes more than its payload.
	var off int64
	for i, p := range payloads {
		var e tornEvent
		if err := json.Unmarshal(p, &e); err != nil {
			return &journal.CorruptError{Path: f.log.Path(), Offset: off, Reason: notTornEvent(i, err)}
		}
		switch {
		case e.Op == "add" && e.Record != nil && e.Record.ID != "":
			if f.index(e.Record.ID) < 0 {
				f.recs = append(f.recs, *e.Record)
			}
		case e.Op == "remove" && e.ID != "":
			if j := f.index(e.ID); j >= 0 {
				f.recs = append(f.recs[:j], f.recs[j+1:]...)
			}
		default:
			return &journal.CorruptError{Path: f.log.Path(), Offset: off, Reason: fmt.Sprintf("event %d is not a torn-log event (op %q)", i, e.Op)}
		}
		off += int64(len(p) + journal.FrameOverhead)
	}
	return nil
}

// notTornEvent says why payload i, a sound frame, is not an event of a
// torn log (another store's file named as one): which field is of the
// wrong kind, or not JSON at all.
func notTornEvent(i int, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("event %d is not a torn-log event (%q is a %s)", i, te.Field, te.Value)
	}
	return fmt.Sprintf("event %d is not a torn-log event (not JSON)", i)
}

func (f *FileTornLog) index(id string) int {
	for i, r := range f.recs {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// durable marks a TornLog whose records outlive the process.
func (f *FileTornLog) durable() {}

// Add keeps r durably (a record already kept is not written again).
func (f *FileTornLog) Add(ctx context.Context, r TornRecord) error {
	if r.ID == "" {
		r.ID = tornID(r)
	}
	if r.Request != nil {
		req := *r.Request
		req.PAN, req.PINBlock, req.Evidence = "", nil, nil // never on disk
		r.Request = &req
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.index(r.ID) >= 0 {
		return nil
	}
	if err := f.append(ctx, tornEvent{Op: "add", Record: &r}); err != nil {
		return err
	}
	f.recs = append(f.recs, r)
	return nil
}

// Pending returns the records of one card application.
func (f *FileTornLog) Pending(_ context.Context, panHash [32]byte, aid []byte) ([]TornRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []TornRecord
	for _, r := range f.recs {
		if r.PANHash == panHash && bytes.Equal(r.AID, aid) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Remove forgets a settled record durably.
func (f *FileTornLog) Remove(ctx context.Context, r TornRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.index(r.ID)
	if j < 0 {
		return nil
	}
	if err := f.append(ctx, tornEvent{Op: "remove", ID: r.ID}); err != nil {
		return err
	}
	f.recs = append(f.recs[:j], f.recs[j+1:]...)
	return nil
}

func (f *FileTornLog) append(ctx context.Context, e tornEvent) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("kernel: torn log: %w", err)
	}
	if err := f.log.Append(context.WithoutCancel(ctx), b); err != nil {
		return fmt.Errorf("kernel: torn log: %w", err)
	}
	return nil
}

// Records returns every pending record, oldest first: what the back office
// reconciles.
func (f *FileTornLog) Records() []TornRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]TornRecord(nil), f.recs...)
}

// Len is the number of pending records.
func (f *FileTornLog) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.recs)
}

// Close closes the file.
func (f *FileTornLog) Close() error { return f.log.Close() }
