// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"fmt"
	"time"
)

// state is what a journal holds, built by applying its entries in order:
// the records, their upload events, the STAN reservations and the batch
// changes. File replays its frames into a state on Open (and on every read
// from disk); Memory keeps one. Changes are made in two steps so that both
// stores share the rules: a producer (appendRecord, markEvent, ...) checks
// a change against the state and returns the entry to write, or nil when
// the change is a no-op; apply then makes it part of the state. A File
// applies an entry only after writing it.
type state struct {
	recs    []Record
	ids     map[string]int // record ID → index in recs
	fps     []fingerprint  // per record
	uploads []*Upload      // per record; nil: pending, never marked
	inBatch map[uint32]int // records per batch number

	batch uint32 // the open batch
	// top is the last STAN durably reserved and topCount the STANs of the
	// open batch up to it; last and lastCount are the same for the STANs
	// handed out (in memory only: after a restart the reserved STANs are
	// skipped, see load).
	top, topCount   uint32
	last, lastCount uint32
	block           uint32 // STANs reserved per write

	closed []BatchClose
	closes map[uint32]int // batch → index in closed

	others []otherEntry // the entries of other flows, in order
}

// otherEntry is a payload another flow wrote into the same file.
type otherEntry struct {
	kind    RecordKind
	payload []byte
}

// defaultSTANBlock is how many STANs one reservation writes ahead.
const defaultSTANBlock = 100

func newState(block uint32) *state {
	if block == 0 {
		block = defaultSTANBlock
	}
	return &state{ids: make(map[string]int), inBatch: make(map[uint32]int), closes: make(map[uint32]int), batch: 1, block: block}
}

// entry is one change: a record or an event; or, with kind set, a
// payload of another flow (RecordPurse), kept as written.
type entry struct {
	rec   *Record
	ev    *event
	kind  RecordKind
	other []byte
}

// event is a durable change other than a record. Event names which, and
// which other fields matter: "upload" (ID, Upload), "stan" (Batch, STAN,
// Count: STANs up to STAN are reserved, Count of them in Batch), "batch"
// (Batch opened by SetBatch; STAN the last handed out) and "close" (Close;
// STAN the last handed out).
type event struct {
	Event  string       `json:"event"`
	ID     string       `json:"id,omitempty"`
	Upload *UploadEvent `json:"upload,omitempty"`
	Batch  uint32       `json:"batch,omitempty"`
	STAN   uint32       `json:"stan,omitempty"`
	Count  uint32       `json:"count,omitempty"`
	Close  *BatchClose  `json:"close,omitempty"`
}

// applyEvent is the table of event kinds.
var applyEvent = map[string]func(*state, *event) error{
	"upload": (*state).applyUpload,
	"stan":   (*state).applySTAN,
	"batch":  (*state).applyBatch,
	"close":  (*state).applyClose,
}

// apply makes e part of the state. An entry a producer returned always
// applies; an error means entries read from disk that no producer could
// have written in that order (corruption).
func (s *state) apply(e *entry) error {
	if e.other != nil {
		s.others = append(s.others, otherEntry{e.kind, e.other})
		return nil
	}
	if e.rec != nil {
		return s.applyRecord(e.rec)
	}
	f, ok := applyEvent[e.ev.Event]
	if !ok {
		return fmt.Errorf("%w: unknown event %q", ErrNewerFormat, e.ev.Event)
	}
	return f(s, e.ev)
}

// loaded ends a replay: STANs reserved but perhaps not handed out before
// the restart are skipped, never handed out again.
func (s *state) loaded() { s.last, s.lastCount = s.top, s.topCount }

func (s *state) applyRecord(r *Record) error {
	if fp, ok := s.ids[r.ID]; ok {
		// Written twice (a retry that crashed between write and index):
		// the same sale is one record; a different one is damage.
		return checkDuplicate(s.fps[fp], r)
	}
	s.ids[r.ID] = len(s.recs)
	s.recs = append(s.recs, *r)
	s.fps = append(s.fps, fingerprintOf(r))
	s.uploads = append(s.uploads, nil)
	s.inBatch[r.Batch]++
	return nil
}

// appendRecord checks a new record: nil for a record already stored.
func (s *state) appendRecord(r Record) (*entry, error) {
	if i, ok := s.ids[r.ID]; ok {
		return nil, checkDuplicate(s.fps[i], &r)
	}
	r = copyRecord(r)
	r.Format, r.Upload = FormatVersion, nil
	return &entry{rec: &r}, nil
}

// markEvent checks an upload state change.
func (s *state) markEvent(id string, e UploadEvent) (*entry, error) {
	i, ok := s.ids[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	from := UploadPending
	if u := s.uploads[i]; u != nil {
		from = u.State
	}
	noop, err := checkTransition(id, from, e)
	if err != nil || noop {
		return nil, err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	return &entry{ev: &event{Event: "upload", ID: id, Upload: &e}}, nil
}

func (s *state) applyUpload(e *event) error {
	i, ok := s.ids[e.ID]
	if !ok || e.Upload == nil {
		return fmt.Errorf("upload event for unknown record %q", e.ID)
	}
	u := s.uploads[i]
	if u == nil {
		u = &Upload{State: UploadPending}
		s.uploads[i] = u
	}
	if noop, err := checkTransition(e.ID, u.State, *e.Upload); err != nil {
		return err
	} else if noop {
		return fmt.Errorf("upload event repeats state %s of %s", u.State, e.ID)
	}
	u.State = e.Upload.State
	u.History = append(u.History, *e.Upload)
	return nil
}

// nextSTAN returns the STAN after s.
func nextSTAN(s uint32) uint32 { return s%maxSTAN + 1 }

// stanEvent checks that a STAN can be handed out and returns the
// reservation to write first when none is left (nil otherwise).
func (s *state) stanEvent() (*entry, error) {
	if s.lastCount >= maxSTAN {
		return nil, fmt.Errorf("%w: batch %06d", ErrBatchFull, s.batch)
	}
	if s.last != s.top {
		return nil, nil
	}
	n := min(s.block, maxSTAN-s.lastCount)
	top := (s.last+n-1)%maxSTAN + 1
	return &entry{ev: &event{Event: "stan", Batch: s.batch, STAN: top, Count: s.lastCount + n}}, nil
}

// handOut takes the next reserved STAN.
func (s *state) handOut() (stan, batch uint32) {
	s.last = nextSTAN(s.last)
	s.lastCount++
	return s.last, s.batch
}

func (s *state) applySTAN(e *event) error {
	if e.Batch != s.batch || e.STAN == 0 || e.STAN > maxSTAN || e.Count > maxSTAN || e.Count < s.topCount {
		return fmt.Errorf("STAN reservation %d (%d in batch %d) does not follow %d (%d in batch %d)", e.STAN, e.Count, e.Batch, s.top, s.topCount, s.batch)
	}
	s.top, s.topCount = e.STAN, e.Count
	return nil
}

// openBatch starts batch b after the last STAN handed out; STANs reserved
// beyond it are dropped (a gap, never a repeat).
func (s *state) openBatch(b, last uint32) {
	s.batch = b
	s.top, s.last = last, last
	s.topCount, s.lastCount = 0, 0
}

// setBatchEvent checks SetBatch: nil when b is already open.
func (s *state) setBatchEvent(b uint32) (*entry, error) {
	switch _, closed := s.closes[b]; {
	case b == 0 || b > maxSTAN:
		return nil, fmt.Errorf("%w: batch %d is not 1-%d", ErrInvalid, b, maxSTAN)
	case b == s.batch:
		return nil, nil
	case s.inBatch[s.batch] > 0:
		return nil, fmt.Errorf("%w: batch %06d holds %d records; settle it first", ErrBatchInUse, s.batch, s.inBatch[s.batch])
	case closed || s.inBatch[b] > 0:
		return nil, fmt.Errorf("%w: batch %06d was used before", ErrBatchInUse, b)
	}
	return &entry{ev: &event{Event: "batch", Batch: b, STAN: s.last}}, nil
}

func (s *state) applyBatch(e *event) error {
	if e.Batch == 0 || e.Batch > maxSTAN || e.STAN > maxSTAN {
		return fmt.Errorf("batch event %d after STAN %d out of range", e.Batch, e.STAN)
	}
	s.openBatch(e.Batch, e.STAN)
	return nil
}

// closeEvent checks CloseBatch. For a batch closed before it returns nil
// and the batch opened then.
func (s *state) closeEvent(c BatchClose) (*entry, uint32, error) {
	if c.Batch != s.batch {
		if i, ok := s.closes[c.Batch]; ok {
			return nil, s.closed[i].Next, nil
		}
		return nil, 0, fmt.Errorf("%w: batch %06d (open: %06d)", ErrBatch, c.Batch, s.batch)
	}
	if len(c.Result) > maxDetail {
		return nil, 0, fmt.Errorf("%w: settlement result longer than %d bytes", ErrInvalid, maxDetail)
	}
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	c.Next = nextSTAN(s.batch)
	return &entry{ev: &event{Event: "close", Close: &c, STAN: s.last}}, c.Next, nil
}

func (s *state) applyClose(e *event) error {
	c := e.Close
	if c == nil || c.Batch != s.batch || c.Next != nextSTAN(c.Batch) || e.STAN > maxSTAN {
		return fmt.Errorf("close event does not close the open batch %d", s.batch)
	}
	s.closes[c.Batch] = len(s.closed)
	s.closed = append(s.closed, *c)
	s.openBatch(c.Next, e.STAN)
	return nil
}

// records returns copies of the records with their upload state.
func (s *state) records() []Record {
	out := make([]Record, len(s.recs))
	for i, r := range s.recs {
		r = copyRecord(r)
		if u := s.uploads[i]; u != nil {
			r.Upload = &Upload{State: u.State, History: append([]UploadEvent(nil), u.History...)}
		}
		out[i] = r
	}
	return out
}

// batches returns copies of the closed batches.
func (s *state) batches() []BatchClose { return append([]BatchClose(nil), s.closed...) }
