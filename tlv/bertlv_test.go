// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"testing"

	"github.com/moov-io/bertlv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bertlvPanicInput makes bertlv.Decode v0.1.0 panic: the length field 88 has
// 8 bytes, whose value overflows int and passes its bounds check.
var bertlvPanicInput = h("5A 88 80 00 00 00 00 00 00 01 AA")

func TestBERTLVPanicsWeDoNot(t *testing.T) {
	assert.Panics(t, func() { _, _ = bertlv.Decode(bertlvPanicInput) })

	out, err := DecodeBERTLV(bertlvPanicInput)
	require.ErrorIs(t, err, ErrLengthTooLong)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 1, e.Offset)
	assert.Nil(t, out)
}

func TestDecodeBERTLVMatchesBERTLV(t *testing.T) {
	rec := testRecord()
	want, err := bertlv.Decode(rec)
	require.NoError(t, err)
	got, err := DecodeBERTLV(rec)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	require.Len(t, got, 1)
	assert.Equal(t, "70", got[0].Tag)
	assert.Nil(t, got[0].Value)
	assert.Len(t, got[0].TLVs, 18)

	// 00 and FF padding are skipped (bertlv only knows 00)
	got, err = DecodeBERTLV(h("00 5A 01 12 FF FF"))
	require.NoError(t, err)
	assert.Equal(t, []bertlv.TLV{{Tag: "5A", Value: h("12")}}, got)

	got, err = DecodeBERTLV(nil)
	require.NoError(t, err)
	assert.Nil(t, got)
}

func TestBERTLVRoundTrip(t *testing.T) {
	rec := testRecord()
	objs, err := Parse(rec)
	require.NoError(t, err)

	moov, err := ToBERTLV(objs)
	require.NoError(t, err)
	enc, err := bertlv.Encode(moov)
	require.NoError(t, err)
	assert.Equal(t, rec, enc)

	decoded, err := bertlv.Decode(rec)
	require.NoError(t, err)
	back, err := FromBERTLV(decoded)
	require.NoError(t, err)
	assert.Equal(t, rec, Encode(back...))
	assert.Equal(t, objs, back)

	// moov-style construction with lower-case tags
	back, err = FromBERTLV([]bertlv.TLV{
		bertlv.NewComposite("77", bertlv.NewTag("9f27", h("80")), bertlv.NewTag("9F36", h("0001"))),
		bertlv.NewTag("5A", h("12")),
	})
	require.NoError(t, err)
	assert.Equal(t, []TLV{{0x77, h("9F2701809F36020001")}, {0x5A, h("12")}}, back)

	empty, err := ToBERTLV(nil)
	require.NoError(t, err)
	assert.Nil(t, empty)
}

func TestToBERTLVErrors(t *testing.T) {
	_, err := ToBERTLV([]TLV{{0x5A, h("01")}, {0x70, h("5A 05 01")}})
	require.ErrorIs(t, err, ErrTruncated)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 2, e.Offset)

	deep, err := ParseSingle(nest(MaxDepth+1, TLV{0x5A, nil}))
	require.NoError(t, err)
	_, err = ToBERTLV([]TLV{deep})
	assert.ErrorIs(t, err, ErrTooDeep)
}

func TestFromBERTLVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []bertlv.TLV
		err  error
	}{
		{"bad hex", []bertlv.TLV{{Tag: "XY"}}, ErrInvalidTag},
		{"empty tag", []bertlv.TLV{{Tag: ""}}, ErrInvalidTag},
		{"bytes after the tag", []bertlv.TLV{{Tag: "9F0201"}}, ErrInvalidTag},
		{"5-byte tag", []bertlv.TLV{{Tag: "9F81828304"}}, ErrTagTooLong},
		{"children under primitive", []bertlv.TLV{bertlv.NewComposite("5A", bertlv.NewTag("01", nil))}, ErrNotConstructed},
		{"bad child tag", []bertlv.TLV{bertlv.NewComposite("70", bertlv.NewTag("9F", nil))}, ErrInvalidTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := FromBERTLV(tt.in)
			require.ErrorIs(t, err, tt.err)
			assert.Nil(t, out)
		})
	}

	// a cycle is cut by the depth bound
	cyc := make([]bertlv.TLV, 1)
	cyc[0] = bertlv.TLV{Tag: "70"}
	cyc[0].TLVs = cyc
	_, err := FromBERTLV(cyc)
	assert.ErrorIs(t, err, ErrTooDeep)
}
