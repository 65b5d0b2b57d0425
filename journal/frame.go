// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	// MaxPayload is the largest record payload a frame may hold, in bytes.
	MaxPayload = 64 << 10
	// FrameOverhead is what a frame adds to its payload (an 8-byte header,
	// a 4-byte CRC): the frames of a Log lie end to end, so a payload's
	// frame starts at the sum of the earlier payloads and their overheads.
	FrameOverhead = frameOver

	headerLen  = 8
	trailerLen = 4
	frameOver  = headerLen + trailerLen
	version1   = 1
)

var (
	magic     = [3]byte{'P', 'J', version1} // magic and version: the start of every frame
	castagnol = crc32.MakeTable(crc32.Castagnoli)
)

// ErrCorrupt is wrapped by the error for a journal whose contents are
// damaged somewhere other than an unfinished last write. Use errors.As with
// *CorruptError for the offset.
var ErrCorrupt = errors.New("journal: corrupt")

// CorruptError says where a journal is damaged. It matches ErrCorrupt with
// errors.Is.
type CorruptError struct {
	Path   string // the file, when known
	Offset int64  // byte offset of the damaged frame
	Reason string // what is wrong with it
	Err    error  // the cause, when there is one (e.g. ErrNewerFormat)
}

// Error describes the damage.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal: %s corrupt at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// frame errors, internal to the scanner.
var (
	errShort   = errors.New("frame runs past the end of the file")
	errMagic   = errors.New("bad frame magic or version")
	errFlags   = errors.New("frame flags not 0")
	errLength  = errors.New("frame length out of range")
	errCRC     = errors.New("frame checksum mismatch")
	errPayload = errors.New("frame payload is not a record or an event")
)

// appendFrame appends the frame holding payload to dst.
func appendFrame(dst, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, magic[0], magic[1], magic[2], 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnol))
}

// encodeEntry returns the frame for e: the record or the event as JSON.
func encodeEntry(e *entry) ([]byte, error) {
	var v any = e.ev
	what := "event"
	if e.rec != nil {
		v, what = e.rec, e.rec.ID
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInvalid, what, err)
	}
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%w %s: %d bytes encoded, more than %d", ErrInvalid, what, len(payload), MaxPayload)
	}
	return appendFrame(make([]byte, 0, len(payload)+frameOver), payload), nil
}

// encodeRecord returns the frame for r as Append writes it.
func encodeRecord(r *Record) ([]byte, error) {
	c := *r
	c.Format, c.Upload = FormatVersion, nil
	return encodeEntry(&entry{rec: &c})
}

// decodeFrame checks the frame at the start of b and returns its payload
// and its length.
func decodeFrame(b []byte) (payload []byte, n int, err error) {
	for i := 0; i < len(magic) && i < len(b); i++ {
		if b[i] != magic[i] {
			return nil, 0, errMagic
		}
	}
	if len(b) < headerLen {
		return nil, 0, errShort
	}
	if b[3] != 0 {
		return nil, 0, errFlags
	}
	size := binary.BigEndian.Uint32(b[4:8])
	if size == 0 || size > MaxPayload {
		return nil, 0, errLength
	}
	n = headerLen + int(size) + trailerLen
	if len(b) < n {
		return nil, 0, errShort
	}
	if crc32.Checksum(b[:n-trailerLen], castagnol) != binary.BigEndian.Uint32(b[n-trailerLen:n]) {
		return nil, 0, errCRC
	}
	return b[headerLen : n-trailerLen], n, nil
}

// ErrNewerFormat is wrapped by the error for a journal entry written by a
// newer version of this package (a record format above FormatVersion, an
// unknown event): rather than drop what it cannot read, the reader stops.
var ErrNewerFormat = errors.New("journal: entry of a newer format")

// decodeEntry turns a checked payload into a record or an event. A payload
// without "event" is a record: without "format" it is format 1, the
// records written before format 2 (read the same way, their new fields
// empty).
//
// A payload of another flow (KindOf: RecordPurse) is kept as written; one
// of a kind this package does not know stops the reader (ErrNewerFormat).
func decodeEntry(p []byte) (*entry, error) {
	if mayBeOtherFlow(p) {
		kind, err := KindOf(p)
		if errors.Is(err, ErrInvalid) {
			return nil, fmt.Errorf("%w: %w", errPayload, err)
		}
		if err != nil {
			return nil, err
		}
		if kind != RecordClearing {
			return &entry{other: p, kind: kind}, nil
		}
	}
	var head struct {
		Event  string `json:"event"`
		Format int    `json:"format"`
	}
	if err := json.Unmarshal(p, &head); err != nil {
		return nil, fmt.Errorf("%w: %w", errPayload, err)
	}
	if head.Event != "" {
		var e event
		if err := json.Unmarshal(p, &e); err != nil {
			return nil, fmt.Errorf("%w: %w", errPayload, err)
		}
		return &entry{ev: &e}, nil
	}
	switch {
	case head.Format > FormatVersion:
		return nil, fmt.Errorf("%w: record format %d (this reader knows 1 to %d)", ErrNewerFormat, head.Format, FormatVersion)
	case head.Format < 0:
		return nil, fmt.Errorf("%w: record format %d", errPayload, head.Format)
	}
	var r Record
	if err := json.Unmarshal(p, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", errPayload, err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%w: empty id", errPayload)
	}
	if r.Format == 0 {
		r.Format = 1
	}
	r.Upload = nil // never stored with the record: upload events carry it
	return &entry{rec: &r}, nil
}

// frameAt is one valid frame found by scanFrames.
type frameAt struct {
	off     int
	payload []byte
}

// scanFrames checks every frame of b. A damaged frame with nothing valid
// after it that looks like the start of an unfinished frame ends the scan
// (a torn tail, from end to len(b)); any other damage is a *CorruptError.
// scanFrames never panics, whatever b holds.
func scanFrames(b []byte, path string) (frames []frameAt, end int, err error) {
	off := 0
	for off < len(b) {
		payload, n, err := decodeFrame(b[off:])
		if err != nil {
			if next := findFrame(b, off+1); next >= 0 {
				return frames, off, &CorruptError{Path: path, Offset: int64(off), Reason: fmt.Sprintf("%v; a valid frame follows at offset %d", err, next)}
			}
			if !tornShaped(b[off:]) {
				return frames, off, &CorruptError{Path: path, Offset: int64(off), Reason: fmt.Sprintf("%v; %d bytes to the end are not an unfinished frame", err, len(b)-off)}
			}
			return frames, off, nil
		}
		frames = append(frames, frameAt{off, payload})
		off += n
	}
	return frames, off, nil
}

// scan replays every frame of b into a new state (see scanFrames for
// damage) and returns it with the end of the last valid frame (len(b)-end
// bytes are a torn tail). A record stored twice with the same data counts
// once; with different data, or an entry that does not apply, it is
// corruption. scan never panics, whatever b holds.
func scan(b []byte, path string, block uint32) (*state, int, error) {
	st := newState(block)
	frames, end, err := scanFrames(b, path)
	if err != nil {
		return st, end, err
	}
	for _, fr := range frames {
		e, err := decodeEntry(fr.payload)
		if err == nil {
			err = st.apply(e)
		}
		if err != nil {
			return st, end, &CorruptError{Path: path, Offset: int64(fr.off), Reason: err.Error(), Err: err}
		}
	}
	st.loaded()
	return st, end, nil
}

// findFrame returns the offset of the first valid frame in b at or after
// from, or -1.
func findFrame(b []byte, from int) int {
	for from < len(b) {
		i := bytes.Index(b[from:], magic[:])
		if i < 0 {
			return -1
		}
		if _, _, err := decodeFrame(b[from+i:]); err == nil {
			return from + i
		}
		from += i + 1
	}
	return -1
}

// tornShaped reports whether t, which does not start with a valid frame,
// can be the remains of one unfinished write: it starts with a zero byte (the
// file grew but its first block did not reach the disk) and is no longer than
// a frame, or it is a prefix of a frame, or exactly one frame whose checksum
// fails. This keeps Open from cutting a foreign file down to nothing.
func tornShaped(t []byte) bool {
	if len(t) == 0 || len(t) > MaxPayload+frameOver {
		return false
	}
	if t[0] == 0 {
		return true
	}
	switch _, _, err := decodeFrame(t); err {
	case errShort:
		return true
	case errCRC:
		return len(t) == frameOver+int(binary.BigEndian.Uint32(t[4:8]))
	}
	return false
}

// mayBeOtherFlow reports whether a payload has a member KindOf reads
// ("record", or a purse record's "asn_hash"): one that has neither, as
// every clearing entry the package writes, is a clearing entry without a
// second JSON decoding (the decoding that follows checks its syntax).
func mayBeOtherFlow(p []byte) bool {
	return bytes.Contains(p, []byte(`"record"`)) || bytes.Contains(p, []byte(`"asn_hash"`))
}
