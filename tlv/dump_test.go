// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaskPAN(t *testing.T) {
	tests := map[string]string{
		"6234567890123456":    "623456******3456",
		"6234567890123456789": "623456*********6789",
		"12345678901":         "123456*8901",
		"1234567890":          "******7890",
		"12345":               "*2345",
		"1234":                "****",
		"1":                   "*",
		"":                    "",
	}
	for in, want := range tests {
		assert.Equal(t, want, MaskPAN(in), in)
	}
}

func TestDump(t *testing.T) {
	b := Encode(
		Constructed(0x70,
			TLV{0x57, h("6234567890123456D30122201234567F")},
			TLV{0x5A, h("6234567890123456789F")},
			TLV{0x50, []byte("PBOC\x01\"X")},
			Constructed(0xBF0C, TLV{0x9F4D, h("0B0A")}, TLV{0x9F74, nil}),
		),
		TLV{0xDF01, h("AABB")},
	)
	var out bytes.Buffer
	require.NoError(t, Dump(&out, b))
	assert.Equal(t, `70 READ RECORD Response Message Template
  57 Track 2 Equivalent Data: 623456******3456D3012220*******
  5A Application Primary Account Number (PAN): 623456*********6789
  50 Application Label: "PBOC..X"
  BF0C File Control Information (FCI) Issuer Discretionary Data
    9F4D Log Entry: 0B0A
    9F74 EC Issuer Authorisation Code: (empty)
DF01 ?: AABB
`, out.String())
	assert.NotContains(t, out.String(), "67890123")
}

func TestDumpTrack2WithoutSeparator(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Dump(&out, h("57 08 6234567890123456")))
	assert.Equal(t, "57 Track 2 Equivalent Data: 623456******3456\n", out.String())
}

type failWriter struct{ n int }

var errWrite = errors.New("write failed")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errWrite
	}
	w.n--
	return len(p), nil
}

func TestDumpErrors(t *testing.T) {
	var out bytes.Buffer
	err := Dump(&out, h("5A 01 12 9F 02"))
	require.ErrorIs(t, err, ErrTruncated)
	assert.Equal(t, "5A Application Primary Account Number (PAN): **\n", out.String())

	err = Dump(&failWriter{n: 1}, testRecord())
	assert.ErrorIs(t, err, errWrite)
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		tag  Tag
		v    string
		want string
	}{
		{0x9F02, "000000001234", "12.34"},
		{0x9F03, "000000000000", "0.00"},
		{0x9F79, "000000050000", "500.00"},
		{0x9F77, "000000100000", "1000.00"},
		{0x9F78, "000000030000", "300.00"},
		{0x9F6D, "000000000100", "1.00"},
		{0x9F5D, "000000000005", "0.05"},
		{0x9F7B, "999999999999", "9999999999.99"},
		{0xDF79, "000000001000", "10.00"},
		{0x9F02, "00000000123A", ""}, // not BCD
		{0x9F02, "1234", ""},         // not n12
		{0x81, "000004D2", "12.34"},
		{0x9A, "261130", "2026-11-30"},
		{0x5F24, "351231", "2035-12-31"},
		{0x5F25, "991231", "1999-12-31"},
		{0x9A, "261330", ""}, // month 13
		{0x9A, "2611", ""},
		{0x9F21, "103000", "10:30:00"},
		{0x9F21, "246000", ""},
		{0x5F2A, "0156", "156 CNY"},
		{0x9F42, "0840", "840 USD"},
		{0x9F1A, "0156", "156 China"},
		{0x5F28, "0344", "344 Hong Kong"},
		{0x5F2A, "0999", "999"},
		{0x95, "8000000000", "offline data authentication was not performed"},
		{0x95, "0000048000", "online PIN entered; transaction exceeds floor limit"},
		{0x95, "0000000000", "no bits set"},
		{0x95, "0000000001", "RFU bits set in byte 5"},
		{0x95, "80", ""},
		{0x9B, "E800", "offline data authentication was performed; cardholder verification was performed; card risk management was performed; terminal risk management was performed"},
		{0x82, "3C00", "DDA supported; cardholder verification supported; terminal risk management to be performed; issuer authentication supported"},
		{0x82, "3D00", "DDA supported; cardholder verification supported; terminal risk management to be performed; issuer authentication supported; CDA supported"},
		{0x9F27, "40", "TC"},
		{0x9F27, "80", "ARQC"},
		{0x9F27, "00", "AAC"},
		{0x9F27, "0B", "AAC, advice required, issuer authentication failed"},
		{0x9F34, "420300", "enciphered PIN verified online, if terminal supports the CVM, unknown"},
		{0x9F34, "3F0000", "no CVM performed, always, unknown"},
		{0x9F34, "1F0302", "no CVM required, if terminal supports the CVM, successful"},
		{0x8E, "000000000000000042035E031F03", "X 0.00, Y 0.00: enciphered PIN verified online if terminal supports the CVM, else next; signature if terminal supports the CVM, else next; no CVM required if terminal supports the CVM, else fail"},
		{0x8E, "0000271000000000" + "0206", "X 100.00, Y 0.00: enciphered PIN verified online if amount under X, else fail"},
		{0x8E, "00000000", ""},
		{0x9F66, "26000000", "qPBOC supported; online PIN supported; signature supported"},
		{0x9F6C, "8000", "online PIN required"},
		{0x9C, "00", "goods and services"},
		{0x9C, "60", "EC designated-account load"},
		{0x8A, "3030", "approved"},
		{0x8A, "5A33", "unable to go online, offline declined"},
		{0x9F36, "0102", "258"},
		{0x9F10, "0701010300000001", "PBOC: DKI 01, CVN 01, CVR 03000000 [1st GENERATE AC AAC; 2nd GENERATE AC AAC], algorithm 01 TDES"},
		{0x5A, "6234567890123456", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Describe(tt.tag, h(tt.v)), "%s %s", tt.tag, tt.v)
	}
	assert.Empty(t, Describe(0x9F02, nil))
}

func TestDumpDecodesValues(t *testing.T) {
	b := Encode(
		TLV{0x9F02, h("000000001234")},
		TLV{0x9A, h("261130")},
		TLV{0x9F21, h("103000")},
		TLV{0x5F2A, h("0156")},
		TLV{0x9F1A, h("0156")},
		TLV{0x95, h("8000000000")},
		TLV{0x9B, h("E800")},
		Constructed(0x77,
			TLV{0x9F27, h("80")},
			TLV{0x9F36, h("0001")},
			TLV{0x9F79, h("00000000A000")}, // not BCD: no reading
		),
		TLV{0x5A, h("6222021000123456781F")},
		TLV{0x8A, []byte("00")},
	)
	var out bytes.Buffer
	require.NoError(t, Dump(&out, b))
	assert.Equal(t, `9F02 Amount, Authorised (Numeric): 000000001234 (12.34)
9A Transaction Date: 261130 (2026-11-30)
9F21 Transaction Time: 103000 (10:30:00)
5F2A Transaction Currency Code: 0156 (156 CNY)
9F1A Terminal Country Code: 0156 (156 China)
95 Terminal Verification Results (TVR): 8000000000 (offline data authentication was not performed)
9B Transaction Status Information (TSI): E800 (offline data authentication was performed; cardholder verification was performed; card risk management was performed; terminal risk management was performed)
77 Response Message Template Format 2
  9F27 Cryptogram Information Data: 80 (ARQC)
  9F36 Application Transaction Counter (ATC): 0001 (1)
  9F79 EC Balance: 00000000A000
5A Application Primary Account Number (PAN): 622202*********6781
8A Authorisation Response Code: "00" (approved)
`, out.String())
	assert.NotContains(t, out.String(), "100012345")
}

func TestDescribeNamesEveryTVRBitOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range tvrBitNames {
		assert.False(t, seen[b.name], b.name)
		seen[b.name] = true
		v := make([]byte, 5)
		v[b.byteIdx] = b.mask
		assert.Equal(t, b.name, Describe(0x95, v))
	}
	assert.Len(t, tvrBitNames, 27)
}

// No full PAN leaves a dump: not in the PAN, not in track 1 (56), track 2
// (57, 9F6B), nor in the tracks' discretionary data (9F1F, 9F20).
func TestDumpMasksEveryTrack(t *testing.T) {
	const pan = "6222021000123456781"
	track1 := []byte("B" + pan + "^ZHANG/SAN^3512201123456789")
	track2, err := hex.DecodeString(pan + "D35122011234567890F")
	require.NoError(t, err)
	var b []byte
	b = Append(b, 0x56, track1)
	b = Append(b, 0x57, track2)
	b = Append(b, 0x9F6B, track2)
	b = Append(b, 0x9F1F, []byte("1234567890"))
	b = Append(b, 0x9F20, []byte{0x12, 0x34, 0x56})
	var out strings.Builder
	require.NoError(t, Dump(&out, b))
	s := out.String()
	assert.NotContains(t, s, pan)
	assert.NotContains(t, s, "1234567890")
	assert.NotContains(t, s, "123456")
	assert.Contains(t, s, "B622202*********6781^ZHANG/SAN^3512201", "track 1: PAN masked, name, expiry and service code kept")
	assert.Contains(t, s, "622202*********6781D3512201", "track 2 (57 and 9F6B): PAN masked, expiry and service code kept")
	assert.Equal(t, 2, strings.Count(s, "622202*********6781D3512201"))
}
