// SPDX-License-Identifier: Apache-2.0

package capk

import (
	"encoding/hex"
	"fmt"
)

// RID is a registered application provider identifier: the first five
// bytes of an AID, e.g. A000000333 for China UnionPay.
type RID [5]byte

// ParseRID parses a RID written as exactly ten hex digits (either case).
// Errors wrap [ErrFormat].
func ParseRID(s string) (RID, error) {
	var r RID
	if len(s) != 2*len(r) {
		return RID{}, fmt.Errorf("%w: RID %q: want 10 hex digits, got %d characters", ErrFormat, s, len(s))
	}
	if _, err := hex.Decode(r[:], []byte(s)); err != nil {
		return RID{}, fmt.Errorf("%w: RID %q: %v", ErrFormat, s, err)
	}
	return r, nil
}

// String returns the RID as ten upper-case hex digits.
func (r RID) String() string {
	return hexUpper(r[:])
}

// hexUpper encodes b as upper-case hex.
func hexUpper(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = digits[c>>4]
		out[2*i+1] = digits[c&0x0f]
	}
	return string(out)
}
