// SPDX-License-Identifier: Apache-2.0

package bcd

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		v    uint64
		n    int
		want []byte
	}{
		{0, 1, []byte{0x00}},
		{7, 1, []byte{0x07}},
		{99, 1, []byte{0x99}},
		{1234, 6, []byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34}},
		{999999999999, 6, []byte{0x99, 0x99, 0x99, 0x99, 0x99, 0x99}},
		{156, 2, []byte{0x01, 0x56}},
		{math.MaxUint64, 10, []byte{0x18, 0x44, 0x67, 0x44, 0x07, 0x37, 0x09, 0x55, 0x16, 0x15}},
		{5, 12, append(make([]byte, 11), 0x05)},
	}
	for _, tt := range tests {
		got, err := Encode(nil, tt.v, tt.n)
		require.NoError(t, err, "v=%d n=%d", tt.v, tt.n)
		assert.Equal(t, tt.want, got, "v=%d n=%d", tt.v, tt.n)
	}
}

func TestEncodeAppends(t *testing.T) {
	dst := []byte{0x9F, 0x02, 0x06}
	got, err := Encode(dst, 1234, 6)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x9F, 0x02, 0x06, 0, 0, 0, 0, 0x12, 0x34}, got)
}

func TestEncodeErrors(t *testing.T) {
	dst := []byte{0xAA}
	got, err := Encode(dst, 100, 1)
	require.ErrorIs(t, err, ErrOverflow)
	assert.Equal(t, []byte{0xAA}, got, "dst must be returned unchanged on error")

	_, err = Encode(nil, 1_000_000_000_000, 6)
	assert.ErrorIs(t, err, ErrOverflow)

	for _, n := range []int{0, -1, 256, math.MaxInt} {
		_, err = Encode(nil, 0, n)
		assert.ErrorIs(t, err, ErrInvalid, "n=%d", n)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		in   []byte
		want uint64
	}{
		{[]byte{0x00}, 0},
		{[]byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34}, 1234},
		{[]byte{0x99, 0x99, 0x99, 0x99, 0x99, 0x99}, 999999999999},
		{[]byte{0x01, 0x56}, 156},
		// 19 significant digits behind many leading zeros.
		{append(make([]byte, 40), 0x09, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99), 9999999999999999999},
	}
	for _, tt := range tests {
		got, err := Decode(tt.in)
		require.NoError(t, err, "% X", tt.in)
		assert.Equal(t, tt.want, got, "% X", tt.in)
	}
}

func TestDecodeErrors(t *testing.T) {
	_, err := Decode(nil)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = Decode([]byte{0x1A})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = Decode([]byte{0x12, 0x3F}) // F padding is not format n
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = Decode([]byte{0xA0})
	assert.ErrorIs(t, err, ErrInvalid)
	// 20 digits: could overflow uint64, always rejected.
	_, err = Decode([]byte{0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	assert.ErrorIs(t, err, ErrOverflow)
	_, err = Decode([]byte{0x18, 0x44, 0x67, 0x44, 0x07, 0x37, 0x09, 0x55, 0x16, 0x15})
	assert.ErrorIs(t, err, ErrOverflow)
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 99, 100, 123456789, 9999999999999999999} {
		b, err := Encode(nil, v, 10)
		require.NoError(t, err)
		got, err := Decode(b)
		require.NoError(t, err)
		assert.Equal(t, v, got)
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"12.34", 1234},
		{"12", 1200},
		{"0.5", 50},
		{"12.3", 1230},
		{"0", 0},
		{"0.00", 0},
		{"0.05", 5},
		{"007.10", 710},
		{"9999999999.99", 999999999999},
		{"9999999999", 999999999900},
		{"0000000000009999999999.99", 999999999999},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestParseAmountErrors(t *testing.T) {
	invalid := []string{"", "-1", "+1", "abc", "12.345", ".5", "1.", ".", " 1", "1 ", "1,00",
		"1.2.3", "1..2", "1e3", "0x10", "12.3a", "１２", "1.-1", "\x00"}
	for _, s := range invalid {
		_, err := ParseAmount(s)
		require.Error(t, err, "%q", s)
		assert.ErrorIs(t, err, ErrInvalid, "%q", s)
		assert.False(t, errors.Is(err, ErrOverflow), "%q", s)
	}
	overflow := []string{"10000000000", "10000000000.00", "99999999999999999999999", "18446744073709551616"}
	for _, s := range overflow {
		_, err := ParseAmount(s)
		assert.ErrorIs(t, err, ErrOverflow, "%q", s)
	}
	// Error messages stay short whatever the input size.
	_, err := ParseAmount(strings.Repeat("9", 1<<16) + "x")
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
}

func TestFormatAmount(t *testing.T) {
	tests := map[uint64]string{
		0:                "0.00",
		5:                "0.05",
		50:               "0.50",
		100:              "1.00",
		1234:             "12.34",
		999999999999:     "9999999999.99",
		math.MaxUint64:   "184467440737095516.15",
		1000000000000000: "10000000000000.00",
	}
	for v, want := range tests {
		assert.Equal(t, want, FormatAmount(v), "%d", v)
	}
}

func TestAmountRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 99, 100, 101, 1234, MaxAmount - 1, MaxAmount} {
		got, err := ParseAmount(FormatAmount(v))
		require.NoError(t, err)
		assert.Equal(t, v, got)
	}
	_, err := ParseAmount(FormatAmount(MaxAmount + 1))
	assert.ErrorIs(t, err, ErrOverflow)
}

func FuzzAmount(f *testing.F) {
	for _, s := range []string{"12.34", "0.5", "12", "9999999999.99", "10000000000", "-1", ".5", "1.", "12.345", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("ParseAmount(%q): error %v wraps neither sentinel", s, err)
			}
			return
		}
		if v > MaxAmount {
			t.Fatalf("ParseAmount(%q) = %d above MaxAmount", s, v)
		}
		out := FormatAmount(v)
		back, err := ParseAmount(out)
		if err != nil || back != v {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, v, out, back, err)
		}
		b, err := Encode(nil, v, 6)
		if err != nil {
			t.Fatalf("Encode(%d, 6): %v", v, err)
		}
		d, err := Decode(b)
		if err != nil || d != v {
			t.Fatalf("BCD round trip %d -> % X -> %d, %v", v, b, d, err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34})
	f.Add([]byte{0x1F})
	f.Add([]byte{0x18, 0x44, 0x67, 0x44, 0x07, 0x37, 0x09, 0x55, 0x16, 0x15})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("Decode(% X): error %v wraps neither sentinel", b, err)
			}
			return
		}
		if len(b) > maxWidth {
			return
		}
		enc, err := Encode(nil, v, len(b))
		if err != nil {
			t.Fatalf("Encode(%d, %d): %v", v, len(b), err)
		}
		if string(enc) != string(b) {
			t.Fatalf("re-encode % X != % X", enc, b)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 6)
	for b.Loop() {
		buf, _ = Encode(buf[:0], 999999999999, 6)
	}
}

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	in := []byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34}
	for b.Loop() {
		_, _ = Decode(in)
	}
}

func BenchmarkParseAmount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseAmount("9999999999.99")
	}
}
