// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"fmt"

	"github.com/go-pboc/pboc/bcd"
)

// Amount is a money amount in minor units (fen for CNY): Amount(1234) is 12.34.
type Amount uint64

// MaxAmount is the largest amount that fits the EMV n12 format.
const MaxAmount Amount = 999999999999

// ParseAmount parses a decimal amount in major units ("12.34", "12", "0.5").
// Negative, non-numeric, over-precise ("12.345") and over-long (more than 12
// digits) inputs are refused.
func ParseAmount(s string) (Amount, error) {
	v, err := bcd.ParseAmount(s)
	if err != nil {
		return 0, fmt.Errorf("kernel: amount %q: %w", s, err)
	}
	if Amount(v) > MaxAmount {
		return 0, fmt.Errorf("kernel: amount %q: %w", s, ErrAmount)
	}
	return Amount(v), nil
}

// String formats the amount in major units with two decimals ("12.34").
func (a Amount) String() string { return bcd.FormatAmount(uint64(a)) }

// n12 encodes the amount as 6 bytes of BCD (EMV format n12).
func (a Amount) n12() []byte { return a.appendN12(make([]byte, 0, 6)) }

// appendN12 appends the n12 encoding of the amount to dst.
func (a Amount) appendN12(dst []byte) []byte {
	b, err := bcd.Encode(dst, uint64(a), 6)
	if err != nil { // unreachable for validated amounts; fail closed with all 9s
		return append(dst, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99)
	}
	return b
}

// MarshalText encodes the amount as "12.34" (used by JSON output).
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses "12.34".
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
