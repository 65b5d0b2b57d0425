// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkErr asserts that a decoding error is an *Error with an offset inside b.
func checkErr(t *testing.T, b []byte, err error) {
	t.Helper()
	var e *Error
	require.ErrorAs(t, err, &e)
	require.GreaterOrEqual(t, e.Offset, 0)
	require.LessOrEqual(t, e.Offset, len(b))
}

func FuzzParse(f *testing.F) {
	f.Add(testRecord())
	f.Add(h("00 5A 02 12 34 FF 9F02 06 000000001234"))
	f.Add(h("77 14 9F27 01 80 9F36 02 00A1 9F26 08 B1C2D3E4F5061728"))
	f.Add(h("5A 81 02 12 34"))
	f.Add(bertlvPanicInput)
	f.Add(nest(MaxDepth, TLV{0x5A, nil}))
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := Parse(b)
		walkErr := Walk(b, func(int, TLV) error { return nil })
		_, _, findErr := Find(b, 0xDF7F)
		moov, moovErr := DecodeBERTLV(b)
		dumpErr := Dump(io.Discard, b)
		single, singleErr := ParseSingle(b)
		if walkErr != nil {
			checkErr(t, b, walkErr)
			require.Error(t, moovErr)
			require.Error(t, dumpErr)
		} else {
			require.NoError(t, err)
			require.NoError(t, findErr)
			require.NoError(t, moovErr)
			require.NoError(t, dumpErr)
			// moov values convert back to the same tree (FromBERTLV
			// re-encodes templates canonically, without padding)
			back, err := FromBERTLV(moov)
			require.NoError(t, err)
			require.Len(t, back, len(objs))
			again, err := DecodeBERTLV(Encode(back...))
			require.NoError(t, err)
			require.Equal(t, moov, again)
		}
		if singleErr == nil {
			require.Len(t, objs, 1)
			require.Equal(t, objs[0], single)
		} else if err == nil {
			checkErr(t, b, singleErr)
			require.NotEqual(t, 1, len(objs))
		}
		if err != nil {
			checkErr(t, b, err)
			require.Nil(t, objs)
			require.Error(t, walkErr)
			return
		}
		// Round trip: re-encoding gives the input without padding; only a
		// non-minimal length field (81 for < 128, 82 for < 256) changes it,
		// and makes the encoding shorter.
		var want []byte
		for i := skipPad(b, 0, len(b)); i < len(b); i = skipPad(b, i, len(b)) {
			_, _, ve, err := header(b, i, len(b))
			require.NoError(t, err)
			want = append(want, b[i:ve]...)
			i = ve
		}
		got := Encode(objs...)
		if len(got) == len(want) {
			require.True(t, bytes.Equal(want, got), "round trip: want %X, got %X", want, got)
		} else {
			require.Less(t, len(got), len(want))
		}
		again, err := Parse(got)
		require.NoError(t, err)
		require.Len(t, again, len(objs))
		for i := range objs {
			require.Equal(t, objs[i].Tag, again[i].Tag)
			require.Equal(t, objs[i].Value, again[i].Value)
		}
	})
}

func FuzzDOL(f *testing.F) {
	f.Add(h(pbocPDOL), h("01000000001234015601"))
	f.Add(h(pbocCDOL1), []byte("some source bytes"))
	f.Add(h("9F66049F7A019F02069F03069F1A0295055F2A029A039C019F3704"), []byte{})
	f.Add(h("9A039F2103 9F0206 9F0306 9F1A02 5F2A02 9F4E14 9C01 9F3602"), h("FF"))
	f.Add(h("7003 5A0A DF8101FF"), h("6234567890123456"))
	f.Fuzz(func(t *testing.T, b, pool []byte) {
		d, err := ParseDOL(b)
		if err != nil {
			checkErr(t, b, err)
			require.Nil(t, d)
			return
		}
		require.True(t, bytes.Equal(b, d.Append(nil)), "DOL round trip")
		// a source giving each tag a value of a length derived from the tag
		src := SourceFunc(func(t Tag) ([]byte, bool) {
			if t%5 == 0 {
				return nil, false
			}
			n := min(int(t%23), len(pool))
			return pool[:n], true
		})
		data := d.Build(nil, src)
		require.Len(t, data, d.Len())
		m, err := d.Split(data)
		require.NoError(t, err)
		off := 0
		seen := make(map[Tag]bool, len(d))
		for _, e := range d {
			if !seen[e.Tag] {
				seen[e.Tag] = true
				require.True(t, bytes.Equal(data[off:off+e.Len], m[e.Tag]))
				if v, ok := src(e.Tag); ok && !e.Tag.Constructed() && len(v) == e.Len {
					require.True(t, bytes.Equal(v, m[e.Tag]))
				}
			}
			off += e.Len
		}
		require.Len(t, m, len(seen))
		_, err = d.Split(append(data, 0))
		require.True(t, errors.Is(err, ErrTrailingData))
		if len(data) > 0 {
			_, err = d.Split(data[:len(data)-1])
			require.True(t, errors.Is(err, ErrTruncated))
		}
	})
}
