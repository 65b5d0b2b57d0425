// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The IAD's balance is found by the length bytes: after a first part of
// 07 (the PBOC layout) or longer, never from a truncated or lying length.
func TestIADBalance(t *testing.T) {
	for _, tc := range []struct {
		iad  string
		want Amount
		ok   bool
	}{
		{"07010103900000010A01000004876643944ADC", 48766, true},
		{"0901010390000001AABB0A01000004876643944ADC", 48766, true}, // a longer first part
		{"07010103900000010A02000004876643944ADC", 0, false},        // IDD ID 02: not the balance
		{"07010103900000010A010000048766", 0, false},                // IDD shorter than it says
		{"0601010390000001", 0, false},                              // a first part too short to be PBOC's
		{"FF010103900000010A01000004876643944ADC", 0, false},        // a length past the end
		{"07010103900000010A0100000487A643944ADC", 0, false},        // not BCD
		{"", 0, false},
	} {
		iad, err := hex.DecodeString(tc.iad)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := iadBalance(iad)
		assert.Equal(t, tc.ok, ok, tc.iad)
		assert.Equal(t, tc.want, got, tc.iad)
	}
}
