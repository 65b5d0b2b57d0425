// SPDX-License-Identifier: Apache-2.0

package tlv

// DOLEntry is one entry of a Data Object List: a tag and the number of bytes
// the card asks for.
type DOLEntry struct {
	// Tag is the requested data object.
	Tag Tag
	// Len is the number of bytes requested (0–255).
	Len int
}

// DOL is a Data Object List (PDOL, CDOL1, CDOL2, DDOL, TDOL, log format 9F4F,
// load log format DF4F): a sequence of tag ‖ one-byte length entries with no
// values (EMV Book 3 §5.4).
type DOL []DOLEntry

// ParseDOL decodes a Data Object List. Errors are *Error values wrapping
// ErrTruncated (a tag or its length byte is missing) or ErrTagTooLong, with the
// offset of the faulty entry's tag or length byte. A DOL has no padding: a 00
// byte is read as tag 00. An empty input gives an empty (nil) DOL.
func ParseDOL(b []byte) (DOL, error) {
	if len(b) == 0 {
		return nil, nil
	}
	return ParseDOLAppend(make(DOL, 0, len(b)/2), b)
}

// ParseDOLAppend is ParseDOL appending the entries to dst: with enough
// capacity in dst it does not allocate, so a caller can reuse one DOL's
// storage for the next. On error it returns nil and the error, as ParseDOL
// does; an empty input gives dst unchanged.
func ParseDOLAppend(dst DOL, b []byte) (DOL, error) {
	for i := 0; i < len(b); {
		t, j, err := decodeTag(b, i, len(b))
		if err != nil {
			return nil, err
		}
		if j >= len(b) {
			return nil, errAt(j, ErrTruncated)
		}
		dst = append(dst, DOLEntry{Tag: t, Len: int(b[j])})
		i = j + 1
	}
	return dst, nil
}

// Len returns the total number of bytes the DOL asks for (entries with a
// negative Len count as 0).
func (d DOL) Len() int {
	n := 0
	for _, e := range d {
		if e.Len > 0 {
			n += e.Len
		}
	}
	return n
}

// Append appends the DOL's own encoding (tag ‖ length for every entry) to dst.
// Entry lengths are written as one byte (modulo 256).
func (d DOL) Append(dst []byte) []byte {
	for _, e := range d {
		dst = AppendTag(dst, e.Tag)
		dst = append(dst, byte(e.Len))
	}
	return dst
}

// Source supplies data object values to DOL.Build.
type Source interface {
	// Value returns the value of tag t, and whether it is known.
	Value(t Tag) ([]byte, bool)
}

// SourceFunc adapts a function to a Source.
type SourceFunc func(t Tag) ([]byte, bool)

// Value calls f(t).
func (f SourceFunc) Value(t Tag) ([]byte, bool) { return f(t) }

// Build appends the DOL-related data to dst: for every entry, the value from
// src fitted to the entry's length by Fit with the format the dictionary
// (Lookup) gives the tag, binary for unknown tags. A tag that src does not
// know, a constructed tag, or a nil src gives entry-length zero bytes
// (EMV Book 3 §5.4). Build allocates only when dst lacks capacity.
func (d DOL) Build(dst []byte, src Source) []byte {
	for _, e := range d {
		if e.Len <= 0 {
			continue
		}
		var v []byte
		ok := false
		if src != nil && !e.Tag.Constructed() {
			v, ok = src.Value(e.Tag)
		}
		if !ok {
			dst = appendFill(dst, 0x00, e.Len)
			continue
		}
		f := FormatB
		if info, known := Lookup(e.Tag); known {
			f = info.Format
		}
		dst = Fit(dst, v, e.Len, f)
	}
	return dst
}

// Split slices DOL-related data (as built by Build) into a value per tag,
// aliasing data. If a tag appears more than once in the DOL, the first entry
// wins. It fails with an *Error wrapping ErrTruncated (data shorter than
// d.Len(), offset len(data)) or ErrTrailingData (longer, offset d.Len()).
func (d DOL) Split(data []byte) (map[Tag][]byte, error) {
	n := d.Len()
	if len(data) < n {
		return nil, errAt(len(data), ErrTruncated)
	}
	if len(data) > n {
		return nil, errAt(n, ErrTrailingData)
	}
	m := make(map[Tag][]byte, len(d))
	off := 0
	for _, e := range d {
		if e.Len <= 0 {
			if _, dup := m[e.Tag]; !dup {
				m[e.Tag] = data[off:off:off]
			}
			continue
		}
		if _, dup := m[e.Tag]; !dup {
			m[e.Tag] = data[off : off+e.Len : off+e.Len]
		}
		off += e.Len
	}
	return m, nil
}

// Fit appends v to dst fitted to exactly n bytes by the EMV rules
// (Book 3 §5.4):
//   - longer than n: numeric (FormatN) keeps the rightmost n bytes; every other
//     format keeps the leftmost n bytes;
//   - shorter than n: numeric is padded on the left with 00; compressed
//     numeric (FormatCN) is padded on the right with FF; every other format
//     is padded on the right with 00.
//
// n ≤ 0 appends nothing.
func Fit(dst []byte, v []byte, n int, f Format) []byte {
	if n <= 0 {
		return dst
	}
	switch {
	case len(v) == n:
		return append(dst, v...)
	case len(v) > n:
		if f == FormatN {
			return append(dst, v[len(v)-n:]...)
		}
		return append(dst, v[:n]...)
	case f == FormatN:
		dst = appendFill(dst, 0x00, n-len(v))
		return append(dst, v...)
	case f == FormatCN:
		dst = append(dst, v...)
		return appendFill(dst, 0xFF, n-len(v))
	default:
		dst = append(dst, v...)
		return appendFill(dst, 0x00, n-len(v))
	}
}

func appendFill(dst []byte, c byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, c)
	}
	return dst
}
