// SPDX-License-Identifier: Apache-2.0

// Package tlv is a strict BER-TLV reader and writer for EMV and PBOC card
// data (EMV Book 3 Annex B).
//
// Every byte that comes from a card is treated as hostile: the decoder never
// panics, never reads out of range, allocates nothing beyond the result slice
// and reports every malformation as an *Error carrying the absolute byte
// offset (relative to the buffer given to the top-level call, also inside
// nested templates) and a sentinel error testable with errors.Is.
//
// Rules enforced by the decoder:
//   - tags are 1 to 4 bytes long (longer: ErrTagTooLong) and are held in a
//     Tag (uint32) with the first tag byte most significant, so 9F02 is 0x9F02;
//   - lengths are 1 to 3 bytes: 00–7F, 81 xx, 82 xx xx; 80 (indefinite) is
//     ErrIndefiniteLength, 83 and above are ErrLengthTooLong;
//   - bytes 00 and FF before, between and after objects are padding and are
//     skipped (EMV Book 3 Annex B);
//   - values are zero-copy: TLV.Value aliases the input buffer;
//   - nesting is bounded by MaxDepth (ErrTooDeep).
//
// The package also builds and parses Data Object Lists (PDOL, CDOL1/2, DDOL,
// TDOL, log formats), holds a dictionary of EMV and PBOC tags used for
// formatting and tracing, and converts to and from github.com/moov-io/bertlv
// types.
package tlv

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// MaxDepth is the deepest nesting the decoder accepts: objects may sit at
// depths 0 (top level) to MaxDepth-1; an object at depth MaxDepth, the
// 17th level, is rejected with ErrTooDeep.
const MaxDepth = 16

// MaxLength is the largest value length the decoder accepts (82 FF FF).
const MaxLength = 0xFFFF

// Sentinel errors. The decoder returns them wrapped in an *Error that carries
// the byte offset; test with errors.Is.
var (
	// ErrTruncated means the buffer ended inside a tag, a length or a value.
	ErrTruncated = errors.New("truncated")
	// ErrTagTooLong means a tag continues past its fourth byte.
	ErrTagTooLong = errors.New("tag longer than 4 bytes")
	// ErrLengthTooLong means a length field of 4 or more bytes (83 and above).
	ErrLengthTooLong = errors.New("length field longer than 3 bytes")
	// ErrIndefiniteLength means the length byte 80 (indefinite form), which
	// EMV does not allow.
	ErrIndefiniteLength = errors.New("indefinite length")
	// ErrTrailingData means bytes other than padding follow the expected
	// data (ParseSingle), or DOL-related data is longer than the DOL asks for.
	ErrTrailingData = errors.New("trailing data")
	// ErrTooDeep means constructed objects are nested more than MaxDepth deep.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrInvalidTag means a textual or moov-io tag that is not a valid
	// BER tag of 1 to 4 bytes (ParseTag, FromBERTLV).
	ErrInvalidTag = errors.New("invalid tag")
	// ErrNotConstructed means children were given for a primitive tag
	// (FromBERTLV).
	ErrNotConstructed = errors.New("children under a primitive tag")
)

// Error is a decoding error at a byte offset.
//
// Offset is absolute within the buffer passed to the top-level call. It points
// at the start of the field that is at fault: the first byte of the tag for
// ErrTruncated inside a tag, ErrTagTooLong and ErrTooDeep; the first length
// byte for ErrTruncated inside a length, ErrIndefiniteLength and
// ErrLengthTooLong; the first value byte when the value is cut short; the
// first non-padding byte for ErrTrailingData.
type Error struct {
	// Offset is the absolute byte offset of the faulty field.
	Offset int
	// Err is one of the package's sentinel errors.
	Err error
}

// Error returns "tlv: <Err> at offset N".
func (e *Error) Error() string {
	msg := "error"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return "tlv: " + msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func errAt(off int, err error) error { return &Error{Offset: off, Err: err} }

// Tag is a BER-TLV tag of 1 to 4 bytes, the first tag byte most significant:
// tag 9F02 is Tag(0x9F02), tag 5A is Tag(0x5A).
type Tag uint32

// Len returns the number of bytes of the tag's encoding (1 to 4; 1 for Tag(0)).
func (t Tag) Len() int {
	switch {
	case t > 0xFFFFFF:
		return 4
	case t > 0xFFFF:
		return 3
	case t > 0xFF:
		return 2
	}
	return 1
}

// first returns the first byte of the tag's encoding.
func (t Tag) first() byte { return byte(t >> (8 * (t.Len() - 1))) }

// String returns the tag in upper-case hexadecimal, e.g. "9F02".
func (t Tag) String() string {
	const digits = "0123456789ABCDEF"
	var tb [4]byte
	var out [8]byte
	b := AppendTag(tb[:0], t)
	for i, c := range b {
		out[2*i] = digits[c>>4]
		out[2*i+1] = digits[c&0x0F]
	}
	return string(out[:2*len(b)])
}

// Constructed reports whether the tag is a constructed (template) tag: bit 6
// (0x20) of its first byte is set.
func (t Tag) Constructed() bool { return t.first()&0x20 != 0 }

// ParseTag parses a tag written in hexadecimal ("9F02", "5a"). The tag must be
// a well-formed BER tag of 1 to 4 bytes whose first byte is neither 00 nor FF
// (those are padding bytes); otherwise the error wraps ErrInvalidTag, or
// ErrTagTooLong for a well-formed tag longer than 4 bytes.
func ParseTag(s string) (Tag, error) {
	if len(s) == 0 || len(s)%2 != 0 || len(s) > 2*8 {
		return 0, fmt.Errorf("tlv: tag %q: %w", s, ErrInvalidTag)
	}
	var buf [8]byte
	n, err := hex.Decode(buf[:], []byte(s))
	if err != nil {
		return 0, fmt.Errorf("tlv: tag %q: %w", s, ErrInvalidTag)
	}
	b := buf[:n]
	if b[0] == 0x00 || b[0] == 0xFF {
		return 0, fmt.Errorf("tlv: tag %q: %w", s, ErrInvalidTag)
	}
	t, next, err := decodeTag(b, 0, n)
	if err != nil {
		if errors.Is(err, ErrTagTooLong) {
			return 0, fmt.Errorf("tlv: tag %q: %w", s, ErrTagTooLong)
		}
		return 0, fmt.Errorf("tlv: tag %q: %w", s, ErrInvalidTag)
	}
	if next != n {
		return 0, fmt.Errorf("tlv: tag %q: %w", s, ErrInvalidTag)
	}
	return t, nil
}

// AppendTag appends the encoding of t (its significant bytes, at least one) to dst.
func AppendTag(dst []byte, t Tag) []byte {
	switch t.Len() {
	case 4:
		return append(dst, byte(t>>24), byte(t>>16), byte(t>>8), byte(t))
	case 3:
		return append(dst, byte(t>>16), byte(t>>8), byte(t))
	case 2:
		return append(dst, byte(t>>8), byte(t))
	}
	return append(dst, byte(t))
}

// TLV is one data object. Value aliases the decoded buffer; for a constructed
// tag it holds the encoding of the children.
type TLV struct {
	// Tag is the object's tag.
	Tag Tag
	// Value is the object's value (not copied from the input).
	Value []byte
}

// isPad reports whether c is a padding byte between objects.
func isPad(c byte) bool { return c == 0x00 || c == 0xFF }

// decodeTag reads a tag at b[i:end]; i < end is required.
func decodeTag(b []byte, i, end int) (Tag, int, error) {
	start := i
	c := b[i]
	i++
	t := Tag(c)
	if c&0x1F != 0x1F {
		return t, i, nil
	}
	for {
		if i >= end {
			return 0, 0, errAt(start, ErrTruncated)
		}
		c = b[i]
		i++
		t = t<<8 | Tag(c)
		if c&0x80 == 0 {
			return t, i, nil
		}
		if i-start == 4 {
			return 0, 0, errAt(start, ErrTagTooLong)
		}
	}
}

// header decodes the object whose tag starts at b[i] (i < end, b[i] not
// padding) and returns its tag and the bounds [vs, ve) of its value.
func header(b []byte, i, end int) (t Tag, vs, ve int, err error) {
	t, i, err = decodeTag(b, i, end)
	if err != nil {
		return 0, 0, 0, err
	}
	if i >= end {
		return 0, 0, 0, errAt(i, ErrTruncated)
	}
	lo := i
	l := int(b[i])
	i++
	if l >= 0x80 {
		switch l {
		case 0x80:
			return 0, 0, 0, errAt(lo, ErrIndefiniteLength)
		case 0x81:
			if end-i < 1 {
				return 0, 0, 0, errAt(lo, ErrTruncated)
			}
			l = int(b[i])
			i++
		case 0x82:
			if end-i < 2 {
				return 0, 0, 0, errAt(lo, ErrTruncated)
			}
			l = int(b[i])<<8 | int(b[i+1])
			i += 2
		default:
			return 0, 0, 0, errAt(lo, ErrLengthTooLong)
		}
	}
	if end-i < l {
		return 0, 0, 0, errAt(i, ErrTruncated)
	}
	return t, i, i + l, nil
}

// skipPad returns the index of the first non-padding byte in b[i:end], or end.
func skipPad(b []byte, i, end int) int {
	for i < end && isPad(b[i]) {
		i++
	}
	return i
}

// Parse decodes one level of objects from b, skipping 00/FF padding between
// them. Values of constructed objects are not decoded (see Walk, Find).
// It allocates exactly one slice, sized to the number of objects; it returns
// nil for an empty or padding-only input.
func Parse(b []byte) ([]TLV, error) {
	n := 0
	for i := skipPad(b, 0, len(b)); i < len(b); i = skipPad(b, i, len(b)) {
		_, _, ve, err := header(b, i, len(b))
		if err != nil {
			return nil, err
		}
		n++
		i = ve
	}
	if n == 0 {
		return nil, nil
	}
	return ParseAppend(make([]TLV, 0, n), b)
}

// ParseAppend is Parse appending to dst. With enough capacity in dst it does
// not allocate. On error it returns dst as it was given (objects already
// appended are visible beyond its length only).
func ParseAppend(dst []TLV, b []byte) ([]TLV, error) {
	orig := len(dst)
	for i := skipPad(b, 0, len(b)); i < len(b); i = skipPad(b, i, len(b)) {
		t, vs, ve, err := header(b, i, len(b))
		if err != nil {
			return dst[:orig], err
		}
		dst = append(dst, TLV{Tag: t, Value: b[vs:ve:ve]})
		i = ve
	}
	return dst, nil
}

// ParseSingle decodes exactly one object. Padding is allowed before and after
// it; any other byte after it is ErrTrailingData; an empty or padding-only
// input is ErrTruncated.
func ParseSingle(b []byte) (TLV, error) {
	i := skipPad(b, 0, len(b))
	if i == len(b) {
		return TLV{}, errAt(i, ErrTruncated)
	}
	t, vs, ve, err := header(b, i, len(b))
	if err != nil {
		return TLV{}, err
	}
	if j := skipPad(b, ve, len(b)); j != len(b) {
		return TLV{}, errAt(j, ErrTrailingData)
	}
	return TLV{Tag: t, Value: b[vs:ve:ve]}, nil
}

// Walk calls fn for every object in b, depth first (a constructed object
// before its children); depth is 0 for top-level objects. The value of every
// constructed object must itself be valid TLV. If fn returns an error, Walk
// stops and returns that error unchanged.
func Walk(b []byte, fn func(depth int, o TLV) error) error {
	return walk(b, 0, len(b), 0, fn)
}

func walk(b []byte, i, end, depth int, fn func(int, TLV) error) error {
	for i = skipPad(b, i, end); i < end; i = skipPad(b, i, end) {
		if depth >= MaxDepth {
			return errAt(i, ErrTooDeep)
		}
		t, vs, ve, err := header(b, i, end)
		if err != nil {
			return err
		}
		if err := fn(depth, TLV{Tag: t, Value: b[vs:ve:ve]}); err != nil {
			return err
		}
		if t.Constructed() {
			if err := walk(b, vs, ve, depth+1, fn); err != nil {
				return err
			}
		}
		i = ve
	}
	return nil
}

// Find searches b depth first, descending into constructed objects, and
// returns the value of the first object with the given tag. It stops at the
// first match, so malformed data after the match is not reported. It does not
// allocate.
func Find(b []byte, tag Tag) (value []byte, found bool, err error) {
	vs, ve, found, err := find(b, 0, len(b), 0, tag)
	if err != nil || !found {
		return nil, false, err
	}
	return b[vs:ve:ve], true, nil
}

func find(b []byte, i, end, depth int, tag Tag) (int, int, bool, error) {
	for i = skipPad(b, i, end); i < end; i = skipPad(b, i, end) {
		if depth >= MaxDepth {
			return 0, 0, false, errAt(i, ErrTooDeep)
		}
		t, vs, ve, err := header(b, i, end)
		if err != nil {
			return 0, 0, false, err
		}
		if t == tag {
			return vs, ve, true, nil
		}
		if t.Constructed() {
			s, e, ok, err := find(b, vs, ve, depth+1, tag)
			if err != nil || ok {
				return s, e, ok, err
			}
		}
		i = ve
	}
	return 0, 0, false, nil
}

// lengthLen returns the size of the BER length field for n.
func lengthLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xFF:
		return 2
	case n <= 0xFFFF:
		return 3
	case n <= 0xFFFFFF:
		return 4
	}
	return 5
}

// AppendLength appends the BER length field for n: one byte below 128, then
// 81 xx and 82 xx xx. Lengths above 65535 are written in the longer BER forms
// (83 xx xx xx, 84 xx xx xx xx), which this package's decoder rejects because
// EMV never uses them. A negative n is written as 0.
func AppendLength(dst []byte, n int) []byte {
	if n < 0 {
		n = 0
	}
	switch lengthLen(n) {
	case 1:
		return append(dst, byte(n))
	case 2:
		return append(dst, 0x81, byte(n))
	case 3:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case 4:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// Append appends tag ‖ length ‖ value to dst. The tag is not validated.
func Append(dst []byte, tag Tag, value []byte) []byte {
	dst = AppendTag(dst, tag)
	dst = AppendLength(dst, len(value))
	return append(dst, value...)
}

// EncodedLen returns the number of bytes Append writes for o.
func (o TLV) EncodedLen() int {
	return o.Tag.Len() + lengthLen(len(o.Value)) + len(o.Value)
}

// Encode returns the concatenated encodings of objs, in one allocation.
func Encode(objs ...TLV) []byte {
	n := 0
	for _, o := range objs {
		n += o.EncodedLen()
	}
	out := make([]byte, 0, n)
	for _, o := range objs {
		out = Append(out, o.Tag, o.Value)
	}
	return out
}

// Constructed returns an object with the given tag whose value is the
// encoding of children. The tag is not checked to be constructed.
func Constructed(tag Tag, children ...TLV) TLV {
	return TLV{Tag: tag, Value: Encode(children...)}
}
