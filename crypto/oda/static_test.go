// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"bytes"
	"testing"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticData(t *testing.T) {
	r1 := []byte{0x70, 0x04, 0x5A, 0x02, 0x12, 0x34}
	r2 := append([]byte{0x70, 0x81, 0x03}, 0x9F, 0x07, 0x00)
	long := append([]byte{0x70, 0x82, 0x01, 0x00}, bytes.Repeat([]byte{0xAB}, 256)...)
	aip := []byte{0x7C, 0x00}

	got, err := oda.StaticData([]oda.Record{{SFI: 1, Data: r1}, {SFI: 10, Data: r2}, {SFI: 11, Data: r1}, {SFI: 30, Data: long}}, nil, aip)
	require.NoError(t, err)
	want := append(append(append([]byte{0x5A, 0x02, 0x12, 0x34}, 0x9F, 0x07, 0x00), r1...), long...)
	assert.Equal(t, want, got)

	got, err = oda.StaticData([]oda.Record{{SFI: 2, Data: r1}}, []byte{0x82}, aip)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x5A, 0x02, 0x12, 0x34, 0x7C, 0x00}, got)

	got, err = oda.StaticData(nil, nil, nil)
	require.NoError(t, err)
	assert.Empty(t, got)

	// AppendStaticData appends to dst, in place when StaticDataCap fits.
	recs := []oda.Record{{SFI: 2, Data: r1}, {SFI: 12, Data: r2}}
	buf := make([]byte, 3, 3+oda.StaticDataCap(recs, aip))
	copy(buf, "pre")
	got, err = oda.AppendStaticData(buf, recs, []byte{0x82}, aip)
	require.NoError(t, err)
	assert.Equal(t, append([]byte("pre\x5A\x02\x12\x34"), append(r2, aip...)...), got)
	assert.Same(t, &buf[:1][0], &got[0], "no allocation when the capacity fits")
	_, err = oda.AppendStaticData(buf, recs, []byte{0x5A}, aip)
	require.ErrorIs(t, err, oda.ErrStaticData)

	for name, tc := range map[string]struct {
		records []oda.Record
		tags    []byte
		aip     []byte
	}{
		"not a 70 template":      {[]oda.Record{{SFI: 1, Data: []byte{0x77, 0x02, 0x5A, 0x00}}}, nil, nil},
		"SFI 11 not 70":          {[]oda.Record{{SFI: 11, Data: []byte{0x61, 0x00}}}, nil, nil},
		"trailing bytes":         {[]oda.Record{{SFI: 1, Data: append(r1, 0x00)}}, nil, nil},
		"length past end":        {[]oda.Record{{SFI: 1, Data: []byte{0x70, 0x05, 0x5A}}}, nil, nil},
		"truncated 81 length":    {[]oda.Record{{SFI: 1, Data: []byte{0x70, 0x81}}}, nil, nil},
		"truncated 82 length":    {[]oda.Record{{SFI: 1, Data: []byte{0x70, 0x82, 0x01}}}, nil, nil},
		"83 length":              {[]oda.Record{{SFI: 1, Data: []byte{0x70, 0x83, 0x00, 0x00, 0x00}}}, nil, nil},
		"indefinite length":      {[]oda.Record{{SFI: 1, Data: []byte{0x70, 0x80, 0x00, 0x00}}}, nil, nil},
		"empty record":           {[]oda.Record{{SFI: 1}}, nil, nil},
		"SFI 0":                  {[]oda.Record{{SFI: 0, Data: r1}}, nil, nil},
		"SFI 31":                 {[]oda.Record{{SFI: 31, Data: r1}}, nil, nil},
		"9F4A lists 5A":          {nil, []byte{0x5A}, aip},
		"9F4A lists 82 and 5A":   {nil, []byte{0x82, 0x5A}, aip},
		"9F4A two-byte tag":      {nil, []byte{0x9F, 0x82}, aip},
		"9F4A 82 without AIP":    {nil, []byte{0x82}, nil},
		"9F4A 82 with short AIP": {nil, []byte{0x82}, []byte{0x7C}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := oda.StaticData(tc.records, tc.tags, tc.aip)
			require.ErrorIs(t, err, oda.ErrStaticData)
			require.Nil(t, got)
		})
	}
}
