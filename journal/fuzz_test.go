// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"errors"
	"testing"
	"time"
)

// fuzzSeed is a journal with every kind of entry: records, upload events,
// STAN reservations, a batch set and a batch closed.
func fuzzSeed(f *testing.F) []byte {
	f.Helper()
	var out []byte
	st := newState(2)
	add := func(e *entry, err error) {
		f.Helper()
		if err != nil || e == nil {
			f.Fatalf("seed entry: %v", err)
		}
		fr, err := encodeEntry(e)
		if err != nil {
			f.Fatal(err)
		}
		if err := st.apply(e); err != nil {
			f.Fatal(err)
		}
		out = append(out, fr...)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	add(st.setBatchEvent(7))
	for i := range 2 {
		if e, err := st.stanEvent(); e != nil || err != nil {
			add(e, err)
		}
		st.handOut()
		r := testRecord(i)
		r.STAN, r.Batch = st.last, st.batch
		add(st.appendRecord(r))
		add(st.markEvent(r.ID, UploadEvent{State: UploadSent, Time: at}))
	}
	add(st.markEvent(testRecord(0).ID, UploadEvent{State: UploadAcknowledged, Time: at, Detail: "00"}))
	e, _, err := st.closeEvent(BatchClose{Batch: 7, Time: at, Totals: BatchTotals(st.recs, 7), Result: "balanced"})
	add(e, err)
	return out
}

// FuzzScan feeds arbitrary bytes to the decoder Open and Records use. It must
// never panic, and whatever it accepts must be self-consistent: records have
// IDs and are unique, the torn tail it reports is short and within the
// input, and the state it rebuilds re-encodes into a journal that replays
// to the same records, upload states, batches and STAN position.
func FuzzScan(f *testing.F) {
	var valid []byte
	for i := range 2 {
		r := testRecord(i)
		fr, err := encodeRecord(&r)
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, fr...)
	}
	f.Add([]byte{})
	f.Add(valid)
	f.Add(valid[:len(valid)-7])
	f.Add(append(append([]byte(nil), valid...), make([]byte, 64)...))
	f.Add(appendFrame(nil, []byte(`{"id":"x","kind":"load"}`)))
	f.Add(appendFrame(nil, []byte(`{"id":"x","kind":"load","format":3}`)))
	f.Add(appendFrame(nil, []byte(`{"event":"stan","batch":1,"stan":5,"count":5}`)))
	f.Add([]byte(`{"id":"not a journal"}`))
	f.Add(fuzzSeed(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, end, err := scan(b, "fuzz", 3)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error is not a *CorruptError: %v", err)
			}
			if ce.Offset < 0 || ce.Offset >= int64(len(b)) {
				t.Fatalf("corrupt offset %d outside %d bytes", ce.Offset, len(b))
			}
			return
		}
		if end < 0 || end > len(b) {
			t.Fatalf("end %d outside %d bytes", end, len(b))
		}
		if torn := len(b) - end; torn > MaxPayload+frameOver {
			t.Fatalf("%d-byte torn tail is longer than a frame", torn)
		}
		seen := map[string]bool{}
		for _, r := range st.recs {
			if r.ID == "" || seen[r.ID] {
				t.Fatalf("record id %q empty or repeated", r.ID)
			}
			seen[r.ID] = true
		}
		// Every entry encodes back to one that replays to the same state.
		frames, _, _ := scanFrames(b[:end], "fuzz")
		var again []byte
		for _, fr := range frames {
			e, _ := decodeEntry(fr.payload)
			enc, err := encodeEntry(e)
			if err != nil {
				return // e.g. JSON that re-encodes larger than MaxPayload
			}
			again = append(again, enc...)
		}
		st2, end2, err := scan(again, "fuzz", 3)
		if err != nil || end2 != len(again) || len(st2.recs) != len(st.recs) || st2.batch != st.batch ||
			st2.last != st.last || st2.lastCount != st.lastCount || len(st2.closed) != len(st.closed) {
			t.Fatalf("re-encoded entries do not replay the same: %v", err)
		}
		r1, r2 := st.records(), st2.records()
		for i := range r1 {
			if r1[i].UploadState() != r2[i].UploadState() || r1[i].STAN != r2[i].STAN {
				t.Fatalf("record %d replays differently", i)
			}
		}
	})
}
