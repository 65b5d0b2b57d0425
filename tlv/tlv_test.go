// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// h decodes hexadecimal test data, ignoring spaces.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// testRecord is a READ RECORD response shaped like a PBOC card's SFI 1 and 2
// records (about 200 bytes).
func testRecord() []byte {
	return Encode(Constructed(0x70,
		TLV{0x57, h("6234567890123456D30122201234567F")},
		TLV{0x5A, h("6234567890123456")},
		TLV{0x5F20, []byte("ZHANG/SAN")},
		TLV{0x5F24, h("301231")},
		TLV{0x5F25, h("200101")},
		TLV{0x5F28, h("0156")},
		TLV{0x5F34, h("01")},
		TLV{0x9F07, h("FF00")},
		TLV{0x8E, h("000000000000000042031E031F00")},
		TLV{0x8C, h("9F02069F03069F1A0295055F2A029A039C019F37049F21039F4E14")},
		TLV{0x8D, h("8A029F02069F03069F1A0295055F2A029A039C019F3704")},
		TLV{0x9F0D, h("D86004A800")},
		TLV{0x9F0E, h("0010000000")},
		TLV{0x9F0F, h("D86804F800")},
		TLV{0x9F08, h("0030")},
		TLV{0x9F42, h("0156")},
		TLV{0x9F74, []byte("ECC001")},
		TLV{0x9F4A, h("82")},
	))
}

func TestTag(t *testing.T) {
	tests := []struct {
		tag         Tag
		str         string
		n           int
		constructed bool
	}{
		{0x5A, "5A", 1, false},
		{0x70, "70", 1, true},
		{0x9F02, "9F02", 2, false},
		{0xBF0C, "BF0C", 2, true},
		{0xDF4D, "DF4D", 2, false},
		{0x9F8101, "9F8101", 3, false},
		{0xFF818201, "FF818201", 4, true},
		{0, "00", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			assert.Equal(t, tt.str, tt.tag.String())
			assert.Equal(t, tt.n, tt.tag.Len())
			assert.Equal(t, tt.constructed, tt.tag.Constructed())
			enc := AppendTag([]byte{0xAA}, tt.tag)
			assert.Equal(t, tt.str, strings.ToUpper(hex.EncodeToString(enc[1:])))
			assert.Equal(t, byte(0xAA), enc[0])
		})
	}
}

func TestParseTag(t *testing.T) {
	good := map[string]Tag{"5A": 0x5A, "9f02": 0x9F02, "BF0C": 0xBF0C, "9F8101": 0x9F8101, "1F818201": 0x1F818201}
	for s, want := range good {
		got, err := ParseTag(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	bad := map[string]error{
		"":                   ErrInvalidTag,
		"5":                  ErrInvalidTag,
		"ZZ":                 ErrInvalidTag,
		"00":                 ErrInvalidTag,
		"FF01":               ErrInvalidTag,
		"9F":                 ErrInvalidTag, // incomplete multi-byte tag
		"5A01":               ErrInvalidTag, // one-byte tag followed by more
		"9F0201":             ErrInvalidTag, // tag ends before the last byte
		"9F81828301":         ErrTagTooLong,
		"9F8182838485868788": ErrInvalidTag,
	}
	for s, want := range bad {
		_, err := ParseTag(s)
		require.Error(t, err, s)
		assert.ErrorIs(t, err, want, s)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
		off  int
	}{
		{"tag truncated", "9F", ErrTruncated, 0},
		{"tag truncated 3 bytes", "5A 00 9F 81", ErrTruncated, 2},
		{"length missing", "5A", ErrTruncated, 1},
		{"value truncated", "5A 05 01 02", ErrTruncated, 2},
		{"81 without byte", "5A 81", ErrTruncated, 1},
		{"82 with one byte", "5A 82 01", ErrTruncated, 1},
		{"82 value truncated", "5A 82 01 00 AA", ErrTruncated, 4},
		{"tag too long", "9F 81 82 83 04 00", ErrTagTooLong, 0},
		{"tag too long at buffer end", "9F 81 82 83", ErrTagTooLong, 0},
		{"indefinite", "5A 80 00 00", ErrIndefiniteLength, 1},
		{"length 83", "5A 83 00 00 01 00", ErrLengthTooLong, 1},
		{"bertlv panic input", "5A 88 80 00 00 00 00 00 00 01 AA", ErrLengthTooLong, 1},
		{"after padding", "00 FF 00 5A 03 01", ErrTruncated, 5},
		{"second object", "5A 01 01 9F 02", ErrTruncated, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h(tt.in)
			check := func(fn string, err error) {
				t.Helper()
				require.Error(t, err, fn)
				assert.ErrorIs(t, err, tt.err, fn)
				var e *Error
				require.ErrorAs(t, err, &e, fn)
				assert.Equal(t, tt.off, e.Offset, fn)
			}
			out, err := Parse(b)
			check("Parse", err)
			assert.Nil(t, out)
			dst := make([]TLV, 1, 8)
			got, err := ParseAppend(dst, b)
			check("ParseAppend", err)
			assert.Len(t, got, 1, "ParseAppend must return dst unchanged")
			check("Walk", Walk(b, func(int, TLV) error { return nil }))
			_, found, err := Find(b, 0xDF01)
			check("Find", err)
			assert.False(t, found)
			_, err = DecodeBERTLV(b)
			check("DecodeBERTLV", err)
			if _, err := ParseSingle(b); !errors.Is(err, ErrTrailingData) {
				check("ParseSingle", err)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse(h("5A 05 01"))
	require.Error(t, err)
	assert.Equal(t, "tlv: truncated at offset 2", err.Error())
	assert.Equal(t, ErrTruncated, errors.Unwrap(err))
}

func TestParse(t *testing.T) {
	b := h("00 5A 02 12 34 FF FF 9F02 06 000000001234 00 00 DF4D 00 BF0C 03 9F4D00 9F8101 01 AA 1F818201 00 00")
	out, err := Parse(b)
	require.NoError(t, err)
	require.Equal(t, []TLV{
		{0x5A, h("1234")},
		{0x9F02, h("000000001234")},
		{0xDF4D, []byte{}},
		{0xBF0C, h("9F4D00")},
		{0x9F8101, h("AA")},
		{0x1F818201, []byte{}},
	}, out)
	assert.Equal(t, 6, cap(out), "Parse allocates exactly")
	// zero-copy: the value aliases the input
	out[0].Value[0] = 0x99
	assert.Equal(t, byte(0x99), b[3])
	// and cannot grow into the input
	assert.Equal(t, 2, cap(out[0].Value))

	for _, in := range []string{"", "00", "FF FF 00"} {
		out, err := Parse(h(in))
		require.NoError(t, err)
		assert.Nil(t, out, in)
	}
}

func TestLengths(t *testing.T) {
	tests := []struct {
		n      int
		header string
	}{
		{0, "00"},
		{1, "01"},
		{127, "7F"},
		{128, "81 80"},
		{255, "81 FF"},
		{256, "82 01 00"},
		{65535, "82 FF FF"},
	}
	for _, tt := range tests {
		assert.Equal(t, h(tt.header), AppendLength(nil, tt.n), "AppendLength(%d)", tt.n)
		v := bytes.Repeat([]byte{0xA5}, tt.n)
		enc := Append(nil, 0x9F10, v)
		assert.Equal(t, append(append(h("9F10"), h(tt.header)...), v...), enc)
		assert.Equal(t, len(enc), TLV{0x9F10, v}.EncodedLen())
		o, err := ParseSingle(enc)
		require.NoError(t, err, tt.n)
		assert.Equal(t, Tag(0x9F10), o.Tag)
		assert.Equal(t, v, o.Value)
	}
	// non-minimal long forms are accepted
	o, err := ParseSingle(h("5A 81 02 12 34"))
	require.NoError(t, err)
	assert.Equal(t, h("1234"), o.Value)
	o, err = ParseSingle(h("5A 82 00 01 12"))
	require.NoError(t, err)
	assert.Equal(t, h("12"), o.Value)
	// lengths the decoder refuses are still written in valid BER
	assert.Equal(t, h("83 01 00 00"), AppendLength(nil, 65536))
	assert.Equal(t, h("84 01 00 00 00"), AppendLength(nil, 1<<24))
	assert.Equal(t, h("00"), AppendLength(nil, -5))
}

func TestParseSingle(t *testing.T) {
	o, err := ParseSingle(h("00 77 04 9F27 01 80 FF 00"))
	require.NoError(t, err)
	assert.Equal(t, TLV{0x77, h("9F270180")}, o)

	_, err = ParseSingle(h("5A 01 01 00 5A 00"))
	require.ErrorIs(t, err, ErrTrailingData)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 4, e.Offset)

	for _, in := range []string{"", "00 FF"} {
		_, err = ParseSingle(h(in))
		require.ErrorIs(t, err, ErrTruncated)
		require.ErrorAs(t, err, &e)
		assert.Equal(t, len(h(in)), e.Offset)
	}
}

func TestWalk(t *testing.T) {
	// 6F FCI: 84 DF name, A5 { 50 label, BF0C { 9F4D } }
	b := Encode(Constructed(0x6F,
		TLV{0x84, h("A000000333010106")},
		Constructed(0xA5,
			TLV{0x50, []byte("PBOC")},
			Constructed(0xBF0C, TLV{0x9F4D, h("0B0A")}),
		),
	))
	type visit struct {
		depth int
		tag   Tag
	}
	var got []visit
	require.NoError(t, Walk(b, func(depth int, o TLV) error {
		got = append(got, visit{depth, o.Tag})
		return nil
	}))
	assert.Equal(t, []visit{{0, 0x6F}, {1, 0x84}, {1, 0xA5}, {2, 0x50}, {2, 0xBF0C}, {3, 0x9F4D}}, got)

	stop := errors.New("stop")
	n := 0
	err := Walk(b, func(int, TLV) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err)
	assert.Equal(t, 3, n)
}

func TestNestedErrorOffsets(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
		off  int
	}{
		{"inner value truncated", "70 05 5A 04 01 02 03", ErrTruncated, 4},
		{"inner indefinite after padding", "70 08 00 00 E1 04 5A 80 00 00", ErrIndefiniteLength, 7},
		{"inner tag runs past the template", "6F 04 84 01 00 9F 02 01 00", ErrTruncated, 5},
		{"second top-level object", "5A 00 70 03 9F 02 01", ErrTruncated, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h(tt.in)
			// the top level alone is well formed
			_, err := Parse(b)
			if tt.name != "second top-level object" {
				require.NoError(t, err)
			}
			for name, err := range map[string]error{
				"Walk":         Walk(b, func(int, TLV) error { return nil }),
				"Find":         func() error { _, _, err := Find(b, 0xDF01); return err }(),
				"DecodeBERTLV": func() error { _, err := DecodeBERTLV(b); return err }(),
				"Dump":         Dump(&bytes.Buffer{}, b),
			} {
				require.ErrorIs(t, err, tt.err, name)
				var e *Error
				require.ErrorAs(t, err, &e, name)
				assert.Equal(t, tt.off, e.Offset, name)
			}
		})
	}
}

// nest wraps inner in n levels of template E1.
func nest(n int, inner TLV) []byte {
	o := inner
	for range n {
		o = Constructed(0xE1, o)
	}
	return Encode(o)
}

func TestDepth(t *testing.T) {
	// 16 levels: 15 templates and a primitive at depth 15
	ok := nest(MaxDepth-1, TLV{0x5A, h("01")})
	maxSeen := 0
	require.NoError(t, Walk(ok, func(d int, _ TLV) error { maxSeen = max(maxSeen, d); return nil }))
	assert.Equal(t, MaxDepth-1, maxSeen)
	v, found, err := Find(ok, 0x5A)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, h("01"), v)
	_, err = DecodeBERTLV(ok)
	require.NoError(t, err)

	// 17 levels: the primitive sits at depth 16, offset 2*16
	deep := nest(MaxDepth, TLV{0x5A, h("01")})
	for name, err := range map[string]error{
		"Walk":         Walk(deep, func(int, TLV) error { return nil }),
		"Find":         func() error { _, _, err := Find(deep, 0x5A); return err }(),
		"DecodeBERTLV": func() error { _, err := DecodeBERTLV(deep); return err }(),
	} {
		require.ErrorIs(t, err, ErrTooDeep, name)
		var e *Error
		require.ErrorAs(t, err, &e, name)
		assert.Equal(t, 2*MaxDepth, e.Offset, name)
	}
	// a template at depth 15 holding only padding has no object at depth 16
	require.NoError(t, Walk(nest(MaxDepth-1, TLV{0xE1, h("00FF")}), func(int, TLV) error { return nil }))
}

func TestFind(t *testing.T) {
	rec := testRecord()
	v, found, err := Find(rec, 0x5F24)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, h("301231"), v)

	v, found, err = Find(rec, 0x70)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, rec[3:], v) // 70 81 xx
	assert.Equal(t, byte(0x81), rec[1])

	v, found, err = Find(rec, 0x9F79)
	require.NoError(t, err)
	assert.False(t, found)
	assert.Nil(t, v)

	// first match, depth first
	b := h("77 05 E1 03 9F36 00 9F36 02 0001")
	v, found, err = Find(b, 0x9F36)
	require.NoError(t, err)
	require.True(t, found)
	assert.Empty(t, v)
	// malformed data after the match is not looked at
	v, found, err = Find(h("9F27 01 80 5A 80"), 0x9F27)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, h("80"), v)
}

func TestEncode(t *testing.T) {
	got := Encode(
		TLV{0x9F27, h("80")},
		Constructed(0x77, TLV{0x9F36, h("0001")}, TLV{0x9F26, h("1122334455667788")}),
	)
	assert.Equal(t, h("9F27 01 80 77 10 9F36 02 0001 9F26 08 1122334455667788"), got)
	assert.Equal(t, len(got), cap(got))
	assert.Empty(t, Encode())
	assert.Equal(t, TLV{0x70, []byte{}}, Constructed(0x70))
}

func TestParseAppendNoAlloc(t *testing.T) {
	rec := testRecord()
	outer, err := ParseSingle(rec)
	require.NoError(t, err)
	dst := make([]TLV, 0, 32)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		dst, err = ParseAppend(dst[:0], outer.Value)
		if err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)
	assert.Len(t, dst, 18)

	allocs = testing.AllocsPerRun(100, func() {
		if _, ok, _ := Find(rec, 0x9F4A); !ok {
			panic("not found")
		}
	})
	assert.Zero(t, allocs)

	allocs = testing.AllocsPerRun(100, func() {
		if _, err := Parse(outer.Value); err != nil {
			panic(err)
		}
	})
	assert.Equal(t, 1.0, allocs)
}
