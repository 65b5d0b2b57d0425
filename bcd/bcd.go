// SPDX-License-Identifier: Apache-2.0

// Package bcd converts between unsigned integers and packed binary-coded
// decimal (EMV format "n"), and between decimal amount strings in yuan and
// minor units (fen).
//
// Every function treats its input as hostile: malformed or oversized values
// are reported as errors wrapping ErrInvalid or ErrOverflow, never as panics.
package bcd

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrOverflow reports a value that does not fit the requested width, the
// range of uint64, or the n12 amount range.
var ErrOverflow = errors.New("bcd: overflow")

// ErrInvalid reports malformed input: a nibble above 9, an empty value, a
// non-positive width or a badly formed amount string.
var ErrInvalid = errors.New("bcd: invalid")

// MaxAmount is the largest amount in minor units that fits an EMV n12 field
// (9999999999.99 yuan).
const MaxAmount uint64 = 999_999_999_999

// maxWidth bounds the width accepted by Encode; EMV numeric fields are far
// shorter, and the bound keeps a bad caller from requesting a huge buffer.
const maxWidth = 255

// Encode appends v to dst as n bytes (2n digits) of packed BCD, right
// justified and padded with leading zeros, as EMV format "n" requires.
// It returns dst unchanged with an error wrapping ErrOverflow when v needs
// more than 2n digits, or ErrInvalid when n is not in 1..255.
func Encode(dst []byte, v uint64, n int) ([]byte, error) {
	if n < 1 || n > maxWidth {
		return dst, fmt.Errorf("%w: width %d bytes, want 1..%d", ErrInvalid, n, maxWidth)
	}
	digits := 0
	for x := v; x > 0; x /= 10 {
		digits++
	}
	if digits > 2*n {
		return dst, fmt.Errorf("%w: %d does not fit %d BCD bytes", ErrOverflow, v, n)
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	out := dst[start:]
	for i := n - 1; i >= 0 && v > 0; i-- {
		lo := byte(v % 10)
		v /= 10
		hi := byte(v % 10)
		v /= 10
		out[i] = hi<<4 | lo
	}
	return dst, nil
}

// Decode reads b as packed BCD. It is strict: every nibble must be 0-9
// (no F padding), b must not be empty, and the value must have at most 19
// significant digits (leading zeros are free), so that every accepted input
// fits a uint64. Errors wrap ErrInvalid or ErrOverflow.
func Decode(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("%w: empty BCD value", ErrInvalid)
	}
	var v uint64
	significant := 0
	for i, c := range b {
		for _, d := range [2]byte{c >> 4, c & 0x0F} {
			if d > 9 {
				return 0, fmt.Errorf("%w: nibble %X in byte %d is not a decimal digit", ErrInvalid, d, i)
			}
			if significant == 0 && d == 0 {
				continue
			}
			significant++
			if significant > 19 {
				return 0, fmt.Errorf("%w: more than 19 significant digits", ErrOverflow)
			}
			v = v*10 + uint64(d)
		}
	}
	return v, nil
}

// ParseAmount converts a decimal amount in yuan ("12.34", "12", "0.5",
// "12.3") to minor units (fen). The string must be one or more ASCII digits,
// optionally followed by a dot and one or two digits; signs, spaces, a bare
// dot (".5", "1.") and more than two decimals are rejected with ErrInvalid.
// Leading zeros are allowed. Amounts above MaxAmount (more than 12
// significant digits in fen, the n12 range) are rejected with ErrOverflow.
func ParseAmount(s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty amount", ErrInvalid)
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			if len(frac) == 0 {
				return 0, fmt.Errorf("%w: amount %q: no digits after the decimal point", ErrInvalid, clip(s))
			}
			break
		}
	}
	if len(intPart) == 0 {
		return 0, fmt.Errorf("%w: amount %q: no digits before the decimal point", ErrInvalid, clip(s))
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("%w: amount %q: more than two decimal places", ErrInvalid, clip(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && i != len(intPart) {
			return 0, fmt.Errorf("%w: amount %q: unexpected character %q at %d", ErrInvalid, clip(s), c, i)
		}
	}
	var v uint64
	for i := 0; i < len(intPart); i++ {
		v = v*10 + uint64(intPart[i]-'0')
		if v > MaxAmount/100 {
			return 0, fmt.Errorf("%w: amount %q exceeds 9999999999.99", ErrOverflow, clip(s))
		}
	}
	v *= 100
	scale := uint64(10)
	for i := 0; i < len(frac); i++ {
		v += uint64(frac[i]-'0') * scale
		scale /= 10
	}
	return v, nil
}

// clip shortens s for error messages so that hostile input cannot make an
// error arbitrarily large.
func clip(s string) string {
	const limit = 32
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// FormatAmount formats v minor units (fen) as yuan with exactly two
// decimals: 1234 -> "12.34", 5 -> "0.05". It accepts every uint64, including
// values above MaxAmount.
func FormatAmount(v uint64) string {
	frac := v % 100
	b := strconv.AppendUint(make([]byte, 0, 24), v/100, 10)
	b = append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
	return string(b)
}
