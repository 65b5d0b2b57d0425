// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"errors"
	"fmt"
)

// trackEncoding packs track 2 and track 3 data (format z) as nibbles,
// left-aligned, an odd length padded with a trailing 0 nibble. In the clear
// a track holds digits and the field separator D (written "D" or "="); a
// track enciphered under the TDK (53.3 = 1) holds any nibble, so every hex
// digit is carried: soloicesky/ISO8583-CUP-FOR-JAVA- src/com/cup/iso8583/Main.java
// records a sale whose field 35 is 6013822000594988787DB26C2C1903514D89.
// moov-io's BCD encoders accept only 0-9, so they cannot carry either.
var trackEncoding = trackEncoder{}

type trackEncoder struct{}

var errTrackChar = errors.New("track data holds a character other than 0-9, A-F or =")

// Encode packs the characters of src.
func (trackEncoder) Encode(src []byte) ([]byte, error) {
	out := make([]byte, (len(src)+1)/2)
	for i, c := range src {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c == '=':
			v = 0xD
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return nil, errTrackChar // the character itself is card data: not in the error
		}
		if i%2 == 0 {
			out[i/2] = v << 4
		} else {
			out[i/2] |= v
		}
	}
	return out, nil
}

// Decode unpacks length characters, upper-case hex; the separator comes
// back as "D".
func (trackEncoder) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("track length %d", length)
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("track data: %d bytes needed, %d left", read, len(src))
	}
	out := make([]byte, length)
	for i := range out {
		v := src[i/2] >> 4
		if i%2 == 1 {
			v = src[i/2] & 0x0F
		}
		out[i] = hexUpper[v]
	}
	return out, read, nil
}
