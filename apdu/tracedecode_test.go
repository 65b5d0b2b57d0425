// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// decodeSession writes exchanges (command hex, response hex) through one
// decoder.
func decodeSession(t *testing.T, exchanges ...[2]string) string {
	t.Helper()
	var d TraceDecoder
	var out bytes.Buffer
	for _, e := range exchanges {
		require.NoError(t, d.Write(&out, hx(t, e[0]), hx(t, e[1]), nil))
	}
	return out.String()
}

const (
	selectWithPDOL = "6F 1D 84 08 A000000333010101 A5 11 9F38 09 9F7A01 9F0206 5F2A02 5F2D 02 7A68 9000"
	recordCDOLs    = "70 17 8C 08 9F0206 9A03 9F3704 8D 05 8A02 9F3704 9F49 03 9F3704 9000"
	gpo            = "80A8 0000 0B 83 09 01 000000001234 0156 00"
	gpoFormat1     = "80 0E 3C00 08010100 10010201 18010300 9000"
)

// The data the terminal sends is split by the DOLs the card gave: PDOL for
// GPO, CDOL1 then CDOL2 for the two GENERATE ACs, DDOL for INTERNAL
// AUTHENTICATE; each value named and read.
func TestTraceDecoderSplitsDOLData(t *testing.T) {
	out := decodeSession(t,
		[2]string{"00A4040008A000000333010101 00", selectWithPDOL},
		[2]string{gpo, gpoFormat1},
		[2]string{"00B2011400", recordCDOLs},
		[2]string{"0088000004 11223344 00", "80 04 01020304 9000"},
		[2]string{"80AE 8000 0D 000000001234 261130 11223344 00", "80 13 80 0001 0102030405060708 0701010390000001 9000"},
		[2]string{"80AE 4000 06 3030 55667788 00", "80 0B 40 0001 0102030405060708 9000"},
	)
	t.Log("\n" + out)
	for _, want := range []string{
		"→ GET PROCESSING OPTIONS 80A800000B830901000000001234015600\n    83 Command Template: 010000000012340156\n",
		"      9F7A EC Terminal Support Indicator: 01\n",
		"      9F02 Amount, Authorised (Numeric): 000000001234 (12.34)\n",
		"      5F2A Transaction Currency Code: 0156 (156 CNY)\n",
		"    80 Response Message Template Format 1: 3C00080101001001020118010300\n",
		"      82 Application Interchange Profile (AIP): 3C00 (DDA supported;",
		"      94 Application File Locator (AFL): 080101001001020118010300 (SFI 1 record 1; SFI 2 records 1-2 (1 for ODA); SFI 3 records 1-3)\n",
		"    9F37 Unpredictable Number: 11223344\n", // DDOL
		"      9F4B Signed Dynamic Application Data: 01020304\n",
		"(ARQC requested)\n    9F02 Amount, Authorised (Numeric): 000000001234 (12.34)\n    9A Transaction Date: 261130 (2026-11-30)\n",
		"      9F27 Cryptogram Information Data: 80 (ARQC)\n",
		"      9F36 Application Transaction Counter (ATC): 0001 (1)\n",
		"      9F26 Application Cryptogram: 0102030405060708\n",
		"      9F10 Issuer Application Data: 0701010390000001 (PBOC: DKI 01, CVN 01, CVR 03900000 [1st GENERATE AC TC; 2nd GENERATE AC not requested], algorithm 01 TDES)\n",
		"(TC requested)\n    8A Authorisation Response Code: \"00\" (approved)\n    9F37 Unpredictable Number: 55667788\n", // CDOL2
	} {
		assert.Contains(t, out, want)
	}
}

// What a lying card or a confused terminal produces is shown as hex with
// what is wrong, never split against the wrong DOL, never a panic.
func TestTraceDecoderLies(t *testing.T) {
	out := decodeSession(t,
		[2]string{gpo, "9000"}, // no PDOL seen yet
		[2]string{"00A4040008A000000333010101 00", selectWithPDOL},
		[2]string{"80A8 0000 04 83 02 0102 00", "80 03 3C00 08 9000"}, // data shorter than the PDOL; AFL of 1 byte
		[2]string{"80AE 8000 03 010203 00", "80 02 80 00 9000"},       // no CDOL1; answer too short for the ATC
		[2]string{"80A8 0000 03 77 01 00 00", "80 FF 00 9000"},        // not 83; a format-1 object that lies about its length
		[2]string{"0020 0080 08 24123456FFFFFFFF", "63C2"},            // VERIFY: the PIN block is never shown
		[2]string{"00B2011400", "70 0A 5A 08 6222021000123456 9000"},  // the PAN is masked
		[2]string{"00B2011400", "70 04 8C 02 9F02 9000"},              // a truncated DOL is ignored
	)
	t.Log("\n" + out)
	for _, want := range []string{
		"      010000000012340156 (no PDOL seen in this session)\n",
		"      0102 (2 bytes; the PDOL asks for 9)\n",
		"      94 Application File Locator (AFL): 08\n", // 1 byte: no reading
		"    010203 (no CDOL1 seen in this session)\n",
		"      (1 bytes left, 9F36 needs 2)\n",
		"    770100 (not a 83 template)\n",
		"    (3 bytes, not one format-1 object)\n",
		"→ VERIFY                 0020008008****************\n",
		"5A Application Primary Account Number (PAN): 622202******3456\n",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "24123456")
	assert.NotContains(t, out, "6222021000123456")

	var d TraceDecoder
	var w bytes.Buffer
	require.NoError(t, d.Write(&w, hx(t, "00B2011400"), nil, errors.New("card removed")))
	assert.Equal(t, "→ READ RECORD            00B2011400 (SFI 2 record 1)\n← error: card removed\n", w.String())
}

// FuzzTraceDecoder feeds arbitrary exchanges to one decoder: it must not
// panic, and never show a PIN block.
func FuzzTraceDecoder(f *testing.F) {
	f.Add(hx(f, "00A4040008A000000333010101 00"), hx(f, selectWithPDOL), hx(f, gpo), hx(f, gpoFormat1))
	f.Add(hx(f, "80AE 8000 0D 000000001234 261130 11223344 00"), hx(f, "80 13 80 0001 0102030405060708 0701010390000001 9000"),
		hx(f, "00B2011400"), hx(f, recordCDOLs))
	f.Add(hx(f, "0020008008241234FFFFFFFFFF"), hx(f, "63C2"), hx(f, "80A8000002830000"), hx(f, "80023C009000"))
	f.Add([]byte{0, 0x88, 0, 0, 0}, []byte{0x80, 0x00, 0x90, 0x00}, []byte{0x80, 0xAE}, []byte{0x80})
	f.Fuzz(func(t *testing.T, c1, r1, c2, r2 []byte) {
		var d TraceDecoder
		var out bytes.Buffer
		for _, e := range [][2][]byte{{c1, r1}, {c2, r2}, {c1, r2}, {c2, r1}} {
			require.NoError(t, d.Write(&out, e[0], e[1], nil))
		}
		// A VERIFY's PIN block never reaches the trace. Traced alone, so
		// that no other input can print the same bytes, with its header
		// taken out (the data's hex may repeat the header's), and at least
		// four bytes long, so that no decimal in a message can spell it.
		if len(c1) >= 9 && c1[1] == 0x20 {
			var alone bytes.Buffer
			require.NoError(t, new(TraceDecoder).Write(&alone, c1, []byte{0x90, 0x00}, nil))
			rest := strings.Replace(alone.String(), strings.ToUpper(hex.EncodeToString(c1[:5])), "", 1)
			assert.NotContains(t, rest, strings.ToUpper(hex.EncodeToString(c1[5:])))
		}
	})
}
