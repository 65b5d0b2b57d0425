package journal

import (
	"errors"
	"testing"
)

// FuzzScan feeds arbitrary bytes to the decoder Open and Records use. It must
// never panic, and whatever it accepts must be self-consistent: records have
// IDs and are unique, the torn tail it reports is short and within the
// input, and the records it returns encode and decode back to themselves.
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
	f.Add([]byte(`{"id":"not a journal"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := scan(b, "fuzz")
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
		if res.end < 0 || res.end > len(b) {
			t.Fatalf("end %d outside %d bytes", res.end, len(b))
		}
		if torn := len(b) - res.end; torn > MaxPayload+frameOver {
			t.Fatalf("%d-byte torn tail is longer than a frame", torn)
		}
		var again []byte
		seen := map[string]bool{}
		for _, r := range res.recs {
			if r.ID == "" || seen[r.ID] {
				t.Fatalf("record id %q empty or repeated", r.ID)
			}
			seen[r.ID] = true
			fr, err := encodeRecord(&r)
			if err != nil {
				return // e.g. JSON that re-encodes larger than MaxPayload
			}
			again = append(again, fr...)
		}
		res2, err := scan(again, "fuzz")
		if err != nil || res2.end != len(again) || len(res2.recs) != len(res.recs) {
			t.Fatalf("re-encoded records do not scan back: %v", err)
		}
	})
}
