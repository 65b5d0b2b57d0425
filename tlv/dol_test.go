// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	pbocPDOL  = "9F7A019F02065F2A02"
	pbocCDOL1 = "9F02069F03069F1A0295055F2A029A039C019F37049F21039F4E14"
)

// mapSource is a Source over a map.
type mapSource map[Tag][]byte

func (m mapSource) Value(t Tag) ([]byte, bool) { v, ok := m[t]; return v, ok }

func TestParseDOL(t *testing.T) {
	d, err := ParseDOL(h(pbocPDOL))
	require.NoError(t, err)
	assert.Equal(t, DOL{{0x9F7A, 1}, {0x9F02, 6}, {0x5F2A, 2}}, d)
	assert.Equal(t, 9, d.Len())
	assert.Equal(t, h(pbocPDOL), d.Append(nil))

	d, err = ParseDOL(h(pbocCDOL1))
	require.NoError(t, err)
	assert.Equal(t, DOL{
		{0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5}, {0x5F2A, 2},
		{0x9A, 3}, {0x9C, 1}, {0x9F37, 4}, {0x9F21, 3}, {0x9F4E, 20},
	}, d)
	assert.Equal(t, 52, d.Len())
	assert.Equal(t, h(pbocCDOL1), d.Append(nil))

	d, err = ParseDOL(nil)
	require.NoError(t, err)
	assert.Empty(t, d)
	assert.Zero(t, d.Len())
}

func TestParseDOLErrors(t *testing.T) {
	tests := []struct {
		in  string
		err error
		off int
	}{
		{"9F", ErrTruncated, 0},
		{"9F02", ErrTruncated, 2},
		{"9F0206 5F", ErrTruncated, 3},
		{"9F0206 9A", ErrTruncated, 4},
		{"9F0206 9F81828301", ErrTagTooLong, 3},
	}
	for _, tt := range tests {
		_, err := ParseDOL(h(tt.in))
		require.ErrorIs(t, err, tt.err, tt.in)
		var e *Error
		require.ErrorAs(t, err, &e, tt.in)
		assert.Equal(t, tt.off, e.Offset, tt.in)
	}
}

func TestBuildPDOL(t *testing.T) {
	d, err := ParseDOL(h(pbocPDOL))
	require.NoError(t, err)
	src := mapSource{
		0x9F7A: h("01"),
		0x9F02: h("000000001234"),
		0x5F2A: h("0156"),
	}
	out := d.Build([]byte{0x83, 0x09}, src) // GPO command data prefix kept
	assert.Equal(t, h("8309 01 000000001234 0156"), out)

	// the card simulator's view: split back
	m, err := d.Split(out[2:])
	require.NoError(t, err)
	assert.Equal(t, map[Tag][]byte{0x9F7A: h("01"), 0x9F02: h("000000001234"), 0x5F2A: h("0156")}, m)
}

func TestBuildCDOL1PaddingRules(t *testing.T) {
	d, err := ParseDOL(h(pbocCDOL1))
	require.NoError(t, err)
	src := SourceFunc(func(t Tag) ([]byte, bool) {
		switch t {
		case 0x9F02:
			return h("1234"), true // n, short: left-padded with 00
		case 0x9F1A:
			return h("000156"), true // n, long: leftmost bytes dropped
		case 0x95:
			return h("0000000800FF"), true // b, long: rightmost bytes dropped
		case 0x5F2A:
			return h("0156"), true
		case 0x9A:
			return h("250102"), true
		case 0x9C:
			return h("00"), true
		case 0x9F37:
			return h("A1B2"), true // b, short: right-padded with 00
		case 0x9F21:
			return h("235959"), true
		case 0x9F4E:
			return []byte("GO-PBOC SHOP"), true // ans, short: right-padded with 00
		}
		return nil, false // 9F03 absent: zeros
	})
	got := d.Build(nil, src)
	want := h("000000001234" + "000000000000" + "0156" + "0000000800" + "0156" + "250102" + "00" +
		"A1B20000" + "235959" + "474F2D50424F432053484F50" + "0000000000000000")
	assert.Equal(t, want, got)
	assert.Len(t, got, d.Len())

	m, err := d.Split(got)
	require.NoError(t, err)
	assert.Equal(t, h("000000000000"), m[0x9F03])
	assert.Equal(t, h("A1B20000"), m[0x9F37])
	assert.Len(t, m, 10)

	// nil source: all zeros
	assert.Equal(t, make([]byte, 52), d.Build(nil, nil))
}

func TestBuildConstructedAndUnknown(t *testing.T) {
	d := DOL{{0x70, 3}, {0xDF01, 4}, {0x5A, 10}, {0x9F7A, 0}}
	src := mapSource{
		0x70:   h("5A0112"), // constructed: zeros even if known
		0xDF01: h("AABB"),   // unknown: binary rules
		0x5A:   h("6234567890123456"),
		0x9F7A: h("01"), // zero length: nothing
	}
	assert.Equal(t, h("000000"+"AABB0000"+"6234567890123456FFFF"), d.Build(nil, src))
	assert.Equal(t, 17, d.Len())
}

func TestFit(t *testing.T) {
	tests := []struct {
		f    Format
		v    string
		n    int
		want string
	}{
		{FormatN, "1234", 6, "000000001234"},
		{FormatN, "00000000001234", 6, "000000001234"},
		{FormatN, "1234", 2, "1234"},
		{FormatCN, "1234", 4, "1234FFFF"},
		{FormatCN, "12345678", 2, "1234"},
		{FormatB, "AABB", 4, "AABB0000"},
		{FormatB, "AABBCCDD", 2, "AABB"},
		{FormatAN, "4142", 3, "414200"},
		{FormatANS, "41424344", 2, "4142"},
		{FormatA, "41", 2, "4100"},
		{FormatN, "", 2, "0000"},
		{FormatCN, "", 2, "FFFF"},
		{FormatB, "AA", 0, ""},
		{FormatB, "AA", -1, ""},
	}
	for _, tt := range tests {
		got := Fit([]byte{0x55}, h(tt.v), tt.n, tt.f)
		assert.Equal(t, append([]byte{0x55}, h(tt.want)...), got, "%s %s %d", tt.f, tt.v, tt.n)
	}
}

func TestSplitErrors(t *testing.T) {
	d, err := ParseDOL(h(pbocPDOL))
	require.NoError(t, err)
	var e *Error
	_, err = d.Split(make([]byte, 8))
	require.ErrorIs(t, err, ErrTruncated)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 8, e.Offset)
	_, err = d.Split(make([]byte, 10))
	require.ErrorIs(t, err, ErrTrailingData)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 9, e.Offset)

	// duplicate tag: first wins; negative lengths count as zero
	m, err := DOL{{0x9F02, 1}, {0x9F02, 2}, {0x9A, -3}}.Split(h("01 0203"))
	require.NoError(t, err)
	assert.Equal(t, h("01"), m[0x9F02])
	assert.Empty(t, m[0x9A])
}

func TestBuildNoAlloc(t *testing.T) {
	d, err := ParseDOL(h(pbocCDOL1))
	require.NoError(t, err)
	src := mapSource{0x9F02: h("000000001234"), 0x9F4E: []byte("SHOP")}
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() { buf = d.Build(buf[:0], src) })
	assert.Zero(t, allocs)
	assert.Len(t, buf, 52)
}
