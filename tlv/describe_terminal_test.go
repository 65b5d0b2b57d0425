// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDescribeTerminalData(t *testing.T) {
	for _, tc := range []struct {
		tag  Tag
		hex  []byte
		want string
	}{
		{0x9F33, []byte{0xE0, 0x68, 0xC8}, "manual key entry; magnetic stripe; IC with contacts; enciphered PIN for online verification; signature; no CVM required; SDA; DDA; CDA"},
		{0x9F33, []byte{0x20, 0x00, 0x10}, "IC with contacts; RFU bits set in byte 3"},
		{0x9F33, []byte{0x20, 0x00}, ""},
		{0x9F35, []byte{0x22}, "merchant, attended, offline with online capability"},
		{0x9F35, []byte{0x26}, "merchant, unattended, offline only"},
		{0x9F35, []byte{0x14}, "financial institution, unattended, online only"},
		{0x9F35, []byte{0x47}, ""},
		{0x9F07, []byte{0x3D, 0x00}, "valid for domestic goods; valid for international goods; valid for domestic services; valid for international services; valid at terminals other than ATMs"},
		{0x9F07, []byte{0x00, 0x80}, "domestic cashback allowed"},
		{0x94, []byte{0x08, 0x01, 0x01, 0x00, 0x10, 0x01, 0x04, 0x02}, "SFI 1 record 1; SFI 2 records 1-4 (2 for ODA)"},
		{0x94, []byte{0x08, 0x01, 0x01}, ""},
		// PBOC IAD: an offline EC approval (TC in the first GENERATE AC) with the new balance.
		{0x9F10, []byte{0x07, 0x01, 0x01, 0x03, 0x90, 0x00, 0x00, 0x01, 0x0A, 0x01, 0x00, 0x00, 0x04, 0x87, 0x66, 0x43, 0x94, 0x4A, 0xDC},
			"PBOC: DKI 01, CVN 01, CVR 03900000 [1st GENERATE AC TC; 2nd GENERATE AC not requested], algorithm 01 TDES, EC balance 487.66 MAC 43944ADC"},
		// A second GENERATE AC TC after an ARQC, issuer authentication failed, SM4, script commands.
		{0x9F10, []byte{0x07, 0x02, 0x11, 0x03, 0x68, 0x00, 0x34, 0x04},
			"PBOC: DKI 02, CVN 11, CVR 03680034 [1st GENERATE AC ARQC; 2nd GENERATE AC TC; issuer authentication performed and failed; offline dynamic data authentication failed on last transaction; 3 script commands processed on last transaction], algorithm 04 SM4"},
		// Lies: an IDD length that does not fit, a balance that is not BCD, a CVR of the wrong length, too short.
		{0x9F10, []byte{0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, 0x01, 0x09, 0x01}, "PBOC: DKI 01, CVN 01, CVR 03A00000 [1st GENERATE AC ARQC; 2nd GENERATE AC not requested], algorithm 01 TDES, issuer discretionary data 0901 (length byte does not fit)"},
		{0x9F10, []byte{0x07, 0x01, 0x01, 0x03, 0x90, 0x00, 0x00, 0x01, 0x0A, 0x01, 0xFF, 0x00, 0x04, 0x87, 0x66, 0, 0, 0, 0}, "PBOC: DKI 01, CVN 01, CVR 03900000 [1st GENERATE AC TC; 2nd GENERATE AC not requested], algorithm 01 TDES, EC balance FF00048766 (not BCD)"},
		{0x9F10, []byte{0x07, 0x01, 0x01, 0x04, 0x90, 0x00, 0x00, 0x01}, ""},
		{0x9F10, []byte{0x07, 0x01, 0x01}, ""},
		{0x9F10, []byte{0x06, 0x01, 0x0A, 0x03, 0x90, 0x00, 0x00, 0x01}, ""},
	} {
		assert.Equal(t, tc.want, Describe(tc.tag, tc.hex), "%s % X", tc.tag, tc.hex)
	}
}

// AppendLine is the line Dump writes for the object.
func TestAppendLine(t *testing.T) {
	assert.Equal(t, "  9F02 Amount, Authorised (Numeric): 000000001234 (12.34)\n",
		string(AppendLine(nil, 1, TLV{Tag: 0x9F02, Value: []byte{0, 0, 0, 0, 0x12, 0x34}})))
	assert.Equal(t, "5A Application Primary Account Number (PAN): 622202******3456\n",
		string(AppendLine(nil, 0, TLV{Tag: 0x5A, Value: []byte{0x62, 0x22, 0x02, 0x10, 0x00, 0x12, 0x34, 0x56}})), "masked")
}
