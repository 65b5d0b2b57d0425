// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"fmt"
	"strconv"
)

// Field60 is field 60 (n...019, LLL, left-aligned BCD): 60.1 message type
// code n2, 60.2 batch number n6, 60.3 network management information code
// n3, then for card transactions 60.4 terminal read capability n1, 60.5 IC
// condition code n1, and optionally 60.6 partial-approval flag n1 and 60.7
// account type n3 (ACQUIRER-NOTES §2).
type Field60 struct {
	Type    string // 60.1, e.g. "22" sale
	Batch   uint32 // 60.2
	Network string // 60.3, e.g. "000", "001"
	// Rest holds 60.4 onwards as digits ("50": contact reader, normal IC);
	// empty for management messages.
	Rest string
}

// The 60.4 read capabilities and 60.5 IC conditions.
const (
	ReadContact     = '5'
	ReadContactless = '6'
	ICNormal        = '0'
	ICFallback      = '2'
)

// String encodes the field's digits.
func (f Field60) String() string {
	return fmt.Sprintf("%s%06d%s%s", f.Type, f.Batch%1000000, f.Network, f.Rest)
}

// ParseField60 reads field 60; it needs at least 60.1 to 60.3.
func ParseField60(s string) (Field60, error) {
	if len(s) < 11 {
		return Field60{}, fmt.Errorf("%w: field 60 of %d digits (at least 11)", ErrMessage, len(s))
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return Field60{}, fmt.Errorf("%w: field 60 is not numeric", ErrMessage)
		}
	}
	batch, err := strconv.ParseUint(s[2:8], 10, 32)
	if err != nil {
		return Field60{}, fmt.Errorf("%w: field 60.2: %v", ErrMessage, err)
	}
	return Field60{Type: s[:2], Batch: uint32(batch), Network: s[8:11], Rest: s[11:]}, nil
}
