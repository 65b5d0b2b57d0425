// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDictionary(t *testing.T) {
	assert.Len(t, dict, len(dictTable), "duplicate tag in the dictionary")
	for _, i := range dictTable {
		assert.NotEmpty(t, i.Name, i.Tag.String())
		assert.LessOrEqual(t, i.Format, FormatA, i.Tag.String())
		if i.Max != 0 {
			assert.LessOrEqual(t, i.Min, i.Max, i.Tag.String())
		}
		// every tag is a well-formed tag
		got, err := ParseTag(i.Tag.String())
		require.NoError(t, err, i.Tag.String())
		assert.Equal(t, i.Tag, got)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		tag    Tag
		name   string
		format Format
		min    int
		max    int
	}{
		{0x5A, "Application Primary Account Number (PAN)", FormatCN, 1, 10},
		{0x9F02, "Amount, Authorised (Numeric)", FormatN, 6, 6},
		{0x9F4E, "Merchant Name and Location", FormatANS, 0, 0},
		{0x9F79, "EC Balance", FormatN, 6, 6},
		{0x9F77, "EC Balance Limit", FormatN, 6, 6},
		{0x9F78, "EC Single Transaction Limit", FormatN, 6, 6},
		{0x9F6D, "EC Reset Threshold", FormatN, 6, 6},
		{0x9F74, "EC Issuer Authorisation Code", FormatAN, 6, 6},
		{0x9F7A, "EC Terminal Support Indicator", FormatB, 1, 1},
		{0x9F7B, "EC Terminal Transaction Limit", FormatN, 6, 6},
		{0x9F5D, "Available Offline Spending Amount", FormatN, 6, 6},
		{0x9F51, "Application Currency Code (PBOC)", FormatN, 2, 2},
		{0x9F4D, "Log Entry", FormatB, 2, 2},
		{0x9F4F, "Log Format", FormatB, 0, 0},
		{0xDF4D, "Load Log Entry", FormatB, 2, 2},
		{0xDF4F, "Load Log Format", FormatB, 0, 0},
		{0x9F66, "Terminal Transaction Qualifiers (TTQ)", FormatB, 4, 4},
		{0x9F6C, "Card Transaction Qualifiers (CTQ)", FormatB, 2, 2},
		{0x9F69, "Card Authentication Related Data", FormatB, 5, 16},
		{0x9F6B, "Card CVM Limit", FormatN, 6, 6},
		{0x9F63, "Card Product Identification Information", FormatB, 16, 16},
		{0xDF71, "Second Application Currency Code", FormatN, 2, 2},
		{0xDF79, "Second Currency EC Balance", FormatN, 6, 6},
		{0xDF77, "Second Currency EC Balance Limit", FormatN, 6, 6},
		{0xDF78, "Second Currency EC Single Transaction Limit", FormatN, 6, 6},
		{0xDF76, "Second Currency EC Reset Threshold", FormatN, 6, 6},
		{0x57, "Track 2 Equivalent Data", FormatB, 0, 19},
	}
	for _, tt := range tests {
		i, ok := Lookup(tt.tag)
		require.True(t, ok, tt.tag.String())
		assert.Equal(t, Info{tt.tag, tt.name, tt.format, tt.min, tt.max}, i)
	}
	_, ok := Lookup(0xDF01)
	assert.False(t, ok)
}

func TestFormatString(t *testing.T) {
	want := map[Format]string{FormatB: "b", FormatN: "n", FormatCN: "cn", FormatAN: "an", FormatANS: "ans", FormatA: "a", 42: "Format(42)"}
	for f, s := range want {
		assert.Equal(t, s, f.String())
	}
}
