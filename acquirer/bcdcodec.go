// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"errors"
	"fmt"
	"strconv"
)

// Packed BCD for the numeric fields and the length prefixes. moov-io's BCD
// encoder builds its lookup tables on every call (through yerden/go-util),
// which was most of the CPU of a sale; these do the same packing directly,
// as strictly: only the digits 0-9, in either alignment.

var errDigit = errors.New("BCD field holds a character other than 0-9")

// bcdDigits packs decimal digits, two to a byte. Right-aligned (left
// false), an odd count gets a leading 0 nibble; left-aligned, a trailing
// one.
type bcdDigits struct{ left bool }

var (
	bcdRight = bcdDigits{}
	bcdLeft  = bcdDigits{left: true}
)

// Encode packs src.
func (e bcdDigits) Encode(src []byte) ([]byte, error) {
	out := make([]byte, (len(src)+1)/2)
	pad := 0
	if len(src)%2 == 1 && !e.left {
		pad = 1
	}
	for i, c := range src {
		if c < '0' || c > '9' {
			return nil, errDigit
		}
		j := i + pad
		if j%2 == 0 {
			out[j/2] = (c - '0') << 4
		} else {
			out[j/2] |= c - '0'
		}
	}
	return out, nil
}

// Decode unpacks length digits.
func (e bcdDigits) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("BCD length %d", length)
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("BCD field: %d bytes needed, %d left", read, len(src))
	}
	pad := 0
	if length%2 == 1 && !e.left {
		pad = 1
	}
	out := make([]byte, length)
	for i := range out {
		j := i + pad
		v := src[j/2] >> 4
		if j%2 == 1 {
			v = src[j/2] & 0x0F
		}
		if v > 9 {
			return nil, 0, errDigit
		}
		out[i] = '0' + v
	}
	return out, read, nil
}

// bcdLength is a BCD length prefix of digits digits (LL: one byte, LLL:
// two, right-aligned).
type bcdLength struct{ digits int }

var (
	bcdLL  = bcdLength{2}
	bcdLLL = bcdLength{3}
)

// EncodeLength packs n.
func (p bcdLength) EncodeLength(maxLen, n int) ([]byte, error) {
	if n > maxLen {
		return nil, fmt.Errorf("field length %d is above its maximum %d", n, maxLen)
	}
	s := strconv.Itoa(n)
	if len(s) > p.digits {
		return nil, fmt.Errorf("field length %d does not fit %d digits", n, p.digits)
	}
	return bcdRight.Encode(fmt.Appendf(nil, "%0*d", p.digits, n))
}

// DecodeLength reads the prefix and checks it against maxLen.
func (p bcdLength) DecodeLength(maxLen int, data []byte) (int, int, error) {
	digits, read, err := bcdRight.Decode(data, p.digits)
	if err != nil {
		return 0, 0, err
	}
	n, _ := strconv.Atoi(string(digits)) // digits only
	if n > maxLen {
		return 0, 0, fmt.Errorf("field length %d is above its maximum %d", n, maxLen)
	}
	return n, read, nil
}

// Inspect names the prefixer as moov-io's own do.
func (p bcdLength) Inspect() string { return fmt.Sprintf("BCD.%d", p.digits) }
