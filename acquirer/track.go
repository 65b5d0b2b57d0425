// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"errors"
	"fmt"
)

// trackEncoding packs track 2 and track 3 data (format z) as nibbles:
// digits 0-9 and the field separator D (written "D" or "="), left-aligned,
// an odd length padded with a trailing 0 nibble. moov-io's BCD encoders
// accept only 0-9, so they cannot carry the separator.
var trackEncoding = trackEncoder{}

type trackEncoder struct{}

var errTrackChar = errors.New("track data holds a character other than 0-9, D or =")

// Encode packs the characters of src.
func (trackEncoder) Encode(src []byte) ([]byte, error) {
	out := make([]byte, (len(src)+1)/2)
	for i, c := range src {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c == 'D' || c == 'd' || c == '=':
			v = 0xD
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

// Decode unpacks length characters; the separator comes back as "D".
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
		switch {
		case v <= 9:
			out[i] = '0' + v
		case v == 0xD:
			out[i] = 'D'
		default:
			return nil, 0, errTrackChar
		}
	}
	return out, read, nil
}
