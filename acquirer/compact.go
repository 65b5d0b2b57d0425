// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Compaction: the state log's history replaced by a snapshot of what is
// live (see State). Money rule: a request is dropped only when nothing can
// be owed for it any more — its batch settled, its state final (declined,
// unsent, stood, reversed) and no advice owed; anything else, and any
// request whose card transaction a kept one shares (so that a card's
// lookup finds the same request after a reopen), is kept whole.

// When OpenState compacts by itself: the log holds at least compactMin
// events and more than compactRatio times those of the snapshot.
const (
	compactMin   = 1000
	compactRatio = 2
)

// txnImage is a request as Compact writes it: its armed record and what its
// later events set, in one event ("txn"), which rebuilds the same request.
type txnImage struct {
	txnRecord
	txnProgress
	Settled bool `json:"settled,omitempty"`
}

func (t *txn) image() *txnImage {
	return &txnImage{txnRecord: t.txnRecord, txnProgress: t.txnProgress, Settled: t.settled}
}

func (m *txnImage) txn() *txn {
	return &txn{txnRecord: m.txnRecord, txnProgress: m.txnProgress, settled: m.Settled}
}

// droppable reports whether nothing can be owed for t any more.
func (t *txn) droppable() bool { return t.settled && !t.isOpen() }

// Compact replaces the state log with a snapshot of the live state (see
// State): the trace numbers reserved, the batch number, and each request
// kept as one event, in arming order; the finished requests of settled
// batches are left out. The rewrite is atomic (journal.Log.Rewrite): a
// crash at any point leaves the old log or the new one, and either reopens
// to the same state. Writes wait while it runs.
func (st *State) Compact(ctx context.Context) error {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.mu.Lock()
	events, keep := st.compacted()
	st.mu.Unlock()
	payloads, err := encodeEvents(events)
	if err != nil {
		return err
	}
	stepHook("before:compact")
	if err := st.log.Rewrite(context.WithoutCancel(ctx), payloads); err != nil {
		return fmt.Errorf("acquirer: state: compact: %w", err)
	}
	stepHook("after:compact")
	st.mu.Lock()
	defer st.mu.Unlock()
	st.forget(keep)
	st.events = len(payloads)
	return nil
}

// compacted returns the events that rebuild the live state and the
// requests they keep. The caller holds st.mu.
func (st *State) compacted() ([]event, map[*txn]bool) {
	at := time.Now().UTC()
	var events []event
	if st.upto != 0 {
		events = append(events, event{T: evReserve, N: st.upto, At: at})
	}
	if st.batch != 1 {
		events = append(events, event{T: evBatch, N: st.batch, At: at})
	}
	all := make([]*txn, 0, len(st.txns))
	cards := map[string]bool{} // card transactions of the requests that must stay
	for _, t := range st.txns {
		all = append(all, t)
		if !t.droppable() {
			cards[t.card().key()] = true
		}
	}
	slices.SortFunc(all, func(a, b *txn) int { return a.seq - b.seq })
	keep := make(map[*txn]bool, len(cards))
	for _, t := range all {
		if t.droppable() && !cards[t.card().key()] {
			continue
		}
		keep[t] = true
		events = append(events, event{T: evImage, Image: t.image(), At: at})
	}
	return events, keep
}

// forget removes from the indexes the requests Compact left out; those it
// kept stay the same values, so a caller holding one sees its next change.
// The caller holds st.mu.
func (st *State) forget(keep map[*txn]bool) {
	for id, t := range st.txns {
		if keep[t] {
			continue
		}
		delete(st.txns, id)
		delete(st.open, id)
		if k := t.card().key(); st.cards[k] == t {
			delete(st.cards, k)
		}
	}
	for b, ts := range st.batches {
		ts = slices.DeleteFunc(ts, func(t *txn) bool { return !keep[t] })
		if len(ts) == 0 {
			delete(st.batches, b)
		} else {
			st.batches[b] = ts
		}
	}
}

// encodeEvents returns the events as the log stores them.
func encodeEvents(events []event) ([][]byte, error) {
	out := make([][]byte, len(events))
	for i := range events {
		p, err := json.Marshal(&events[i])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrState, err)
		}
		out[i] = p
	}
	return out, nil
}

// worthCompacting reports whether OpenState should compact: the log holds
// at least compactMin events and more than compactRatio times the
// snapshot's.
func (st *State) worthCompacting() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.events < compactMin {
		return false
	}
	live := 2 // the counters
	for _, t := range st.txns {
		if !t.droppable() {
			live++
		}
	}
	return st.events > compactRatio*live
}

// settledBatch records that the acquirer settled batch (numbered by
// another Counter than the State's, whose CloseBatch records it itself),
// so that a compaction may drop its finished requests.
func (st *State) settledBatch(ctx context.Context, batch uint32) error {
	return st.append(ctx, event{T: evSettled, N: batch})
}
