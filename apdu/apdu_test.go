// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		require.Less(t, i+1, len(s), "odd hex %q", s)
		var b byte
		for _, c := range []byte{s[i], s[i+1]} {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= c - '0'
			case c >= 'A' && c <= 'F':
				b |= c - 'A' + 10
			default:
				t.Fatalf("bad hex %q", s)
			}
		}
		out = append(out, b)
		i += 2
	}
	return out
}

func TestBuilders(t *testing.T) {
	ppse := []byte("2PAY.SYS.DDF01")
	aid := mustHex(t, "A000000333010101")
	tests := []struct {
		name string
		cmd  Command
		want string
		ins  string
	}{
		{"select", Select(aid), "00A4040008 A000000333010101 00", "SELECT"},
		{"select ppse", Select(ppse), "00A404000E 325041592E5359532E4444463031 00", "SELECT"},
		{"select next", SelectNext(aid[:5]), "00A4040205 A000000333 00", "SELECT"},
		{"gpo empty", GetProcessingOptions(nil), "80A8000002 8300 00", "GET PROCESSING OPTIONS"},
		{"gpo", GetProcessingOptions(mustHex(t, "01 000000001234 0156")), "80A800000B 8309 01000000001234 0156 00", "GET PROCESSING OPTIONS"},
		{"read record", ReadRecord(1, 1), "00B2010C00", "READ RECORD"},
		{"read log", ReadRecord(11, 10), "00B20A5C00", "READ RECORD"},
		{"get data", GetData(0x9F79), "80CA9F7900", "GET DATA"},
		{"get data atc", GetData(0x9F36), "80CA9F3600", "GET DATA"},
		{"generate ac", GenerateAC(ACTypeARQC|ACCDA, mustHex(t, "0102")), "80AE900002 0102 00", "GENERATE AC"},
		{"generate tc", GenerateAC(ACTypeTC, mustHex(t, "AA")), "80AE400001 AA 00", "GENERATE AC"},
		{"generate aac", GenerateAC(ACTypeAAC, mustHex(t, "AA")), "80AE000001 AA 00", "GENERATE AC"},
		{"internal auth", InternalAuthenticate(mustHex(t, "11223344")), "0088000004 11223344 00", "INTERNAL AUTHENTICATE"},
		{"external auth", ExternalAuthenticate(mustHex(t, "0102030405060708 3030")), "008200000A 0102030405060708 3030", "EXTERNAL AUTHENTICATE"},
		{"get challenge", GetChallenge(), "0084000000", "GET CHALLENGE"},
		{"verify", Verify(0x80, mustHex(t, "241234FFFFFFFFFF")), "0020008008 241234FFFFFFFFFF", "VERIFY"},
		{"get response", GetResponse(0x1C), "00C000001C", "GET RESPONSE"},
		{"get response 256", GetResponse(256), "00C0000000", "GET RESPONSE"},
		{"get response 0", GetResponse(0), "00C0000000", "GET RESPONSE"},
		{"get response 300", GetResponse(300), "00C0000000", "GET RESPONSE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.cmd.Validate())
			assert.Equal(t, mustHex(t, tt.want), tt.cmd.Bytes())
			assert.Equal(t, tt.ins, tt.cmd.Name())
			// Every built command survives the card simulator's parser.
			back, err := ParseCommand(tt.cmd.Bytes())
			require.NoError(t, err)
			assert.Equal(t, tt.cmd.Bytes(), back.Bytes())
		})
	}
}

func TestGetProcessingOptionsLongPDOL(t *testing.T) {
	c := GetProcessingOptions(bytes.Repeat([]byte{0x11}, 200))
	require.NoError(t, c.Validate())
	assert.Equal(t, []byte{0x83, 0x81, 200}, c.Data[:3])
	assert.Len(t, c.Data, 203)

	c = GetProcessingOptions(bytes.Repeat([]byte{0x11}, 253))
	assert.ErrorIs(t, c.Validate(), ErrMalformedCommand)
	c = GetProcessingOptions(bytes.Repeat([]byte{0x11}, 300))
	assert.Equal(t, []byte{0x83, 0x82, 0x01, 0x2C}, c.Data[:4])
	assert.ErrorIs(t, c.Validate(), ErrMalformedCommand)
}

func TestCommandAppendTo(t *testing.T) {
	dst := []byte{0xEE}
	got := Command{CLA: 0x80, INS: 0xCA, P1: 0x9F, P2: 0x79, Ne: 256}.AppendTo(dst)
	assert.Equal(t, []byte{0xEE, 0x80, 0xCA, 0x9F, 0x79, 0x00}, got)
	assert.Equal(t, []byte{0x00, 0x84, 0x00, 0x00}, Command{INS: 0x84}.Bytes(), "case 1: no Le")
	assert.Equal(t, []byte{0x00, 0x84, 0x00, 0x00, 0x08}, Command{INS: 0x84, Ne: 8}.Bytes())
}

func TestCommandInvalidNeverPanics(t *testing.T) {
	big := Command{INS: 0xDA, Data: make([]byte, 1000), Ne: 1000}
	require.ErrorIs(t, big.Validate(), ErrMalformedCommand)
	b := big.Bytes()
	assert.Len(t, b, 4+1+255+1)
	assert.Equal(t, byte(255), b[4])
	assert.ErrorIs(t, Command{Ne: -1}.Validate(), ErrMalformedCommand)
	assert.ErrorIs(t, Command{Ne: 257}.Validate(), ErrMalformedCommand)
	require.NoError(t, Command{Data: make([]byte, 255), Ne: 256}.Validate())
}

func TestName(t *testing.T) {
	names := map[byte]string{
		0xA4: "SELECT", 0xA8: "GET PROCESSING OPTIONS", 0xB2: "READ RECORD", 0xAE: "GENERATE AC",
		0xCA: "GET DATA", 0xDA: "PUT DATA", 0x88: "INTERNAL AUTHENTICATE", 0x82: "EXTERNAL AUTHENTICATE",
		0x84: "GET CHALLENGE", 0x20: "VERIFY", 0xC0: "GET RESPONSE", 0x1E: "APPLICATION BLOCK",
		0x18: "APPLICATION UNBLOCK", 0x16: "CARD BLOCK", 0x24: "PIN CHANGE/UNBLOCK", 0xDC: "UPDATE RECORD",
		0x00: "INS 00", 0x0F: "INS 0F", 0xB0: "INS B0", 0xFF: "INS FF",
	}
	for ins, want := range names {
		assert.Equal(t, want, Command{CLA: 0x84, INS: ins}.Name())
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Command
	}{
		{"case 1", "84 1E 00 00", Command{CLA: 0x84, INS: 0x1E}},
		{"case 2", "00 84 00 00 08", Command{INS: 0x84, Ne: 8}},
		{"case 2 Le 00", "80 CA 9F 79 00", Command{CLA: 0x80, INS: 0xCA, P1: 0x9F, P2: 0x79, Ne: 256}},
		{"case 3", "84 DA 9F 79 0A 000000010000 11223344", Command{CLA: 0x84, INS: 0xDA, P1: 0x9F, P2: 0x79,
			Data: mustHex(t, "000000010000 11223344")}},
		{"case 4", "00 A4 04 00 02 3F00 00", Command{INS: 0xA4, P1: 0x04, Data: []byte{0x3F, 0x00}, Ne: 256}},
		{"case 4 Le 1", "00 88 00 00 01 AA 01", Command{INS: 0x88, Data: []byte{0xAA}, Ne: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustHex(t, tt.in)
			got, err := ParseCommand(in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, in, got.Bytes())
		})
	}
}

func TestParseCommandDataAliasesInput(t *testing.T) {
	in := mustHex(t, "00 88 00 00 02 AABB 00")
	c, err := ParseCommand(in)
	require.NoError(t, err)
	in[5] = 0x11
	assert.Equal(t, byte(0x11), c.Data[0])
	assert.Equal(t, 2, cap(c.Data), "appending to Data must not overwrite Le")
}

func TestParseCommandMalformed(t *testing.T) {
	for _, in := range []string{
		"",
		"00",
		"00 A4 04",
		"00 A4 04 00 00 01",          // Lc 00: extended length
		"00 A4 04 00 00 00 02 3F 00", // extended case 3
		"00 A4 04 00 03 3F 00",       // Lc longer than data
		"00 A4 04 00 01 3F 00 00",    // data longer than Lc + Le
		"00 A4 04 00 FF 3F",
	} {
		_, err := ParseCommand(mustHex(t, in))
		assert.ErrorIs(t, err, ErrMalformedCommand, "%q", in)
	}
}

func TestParseResponse(t *testing.T) {
	r, err := ParseResponse(mustHex(t, "9000"))
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, r.SW)
	assert.Nil(t, r.Data)
	assert.True(t, r.SW.OK())

	in := mustHex(t, "9F7906000000001234 9000")
	r, err = ParseResponse(in)
	require.NoError(t, err)
	assert.Equal(t, mustHex(t, "9F7906000000001234"), r.Data)
	assert.Equal(t, in, r.Bytes())
	_ = append(r.Data, 0xEE)
	assert.Equal(t, mustHex(t, "9000"), in[len(in)-2:], "appending to Data must not overwrite the SW")
	in[0] = 0x5F
	assert.Equal(t, byte(0x5F), r.Data[0], "Data aliases the input")

	r, err = ParseResponse(mustHex(t, "6A82"))
	require.NoError(t, err)
	assert.Equal(t, SWFileNotFound, r.SW)
	assert.False(t, r.SW.OK())

	for _, in := range [][]byte{nil, {}, {0x90}} {
		_, err = ParseResponse(in)
		assert.ErrorIs(t, err, ErrShortResponse)
	}
}

func TestResponseBytesCopies(t *testing.T) {
	r := Response{Data: []byte{1, 2}, SW: SWWrongLength}
	b := r.Bytes()
	assert.Equal(t, []byte{1, 2, 0x67, 0x00}, b)
	b[0] = 9
	assert.Equal(t, byte(1), r.Data[0])
}

func TestSWString(t *testing.T) {
	tests := map[SW]string{
		SWSuccess:                 "9000 success",
		SWFileNotFound:            "6A82 file or application not found",
		SWRecordNotFound:          "6A83 record not found",
		SWConditionsNotSatisfied:  "6985 conditions of use not satisfied",
		SWSelectedFileInvalidated: "6283 selected file invalidated",
		SWAuthMethodBlocked:       "6983 authentication method blocked",
		SWVerifyFailed:            "6300 verification failed",
		0x6110:                    "6110 16 response bytes still available",
		0x6100:                    "6100 256 response bytes still available",
		0x6C08:                    "6C08 wrong Le: exact length is 8",
		0x63C2:                    "63C2 verification failed, 2 tries left",
		0x63C0:                    "63C0 verification failed, 0 tries left",
		0x6A99:                    "6A99 wrong parameters",
		0x9303:                    "9303 proprietary error",
		0x1234:                    "1234 unknown status",
		0x63C1:                    "63C1 verification failed, 1 try left",
		0x6399:                    "6399 warning: state of non-volatile memory changed",
		0x6299:                    "6299 warning: state of non-volatile memory unchanged",
		0x6401:                    "6401 execution error: state of non-volatile memory unchanged",
		0x6502:                    "6502 execution error: state of non-volatile memory changed",
		0x6601:                    "6601 security-related issue",
		0x6701:                    "6701 wrong length",
		0x6801:                    "6801 function in CLA not supported",
		0x6901:                    "6901 command not allowed",
		0x6B01:                    "6B01 wrong parameters P1-P2",
		0x6D01:                    "6D01 instruction code not supported or invalid",
		0x6E01:                    "6E01 class not supported",
		0x6F01:                    "6F01 no precise diagnosis",
		0x9001:                    "9001 success with proprietary qualifier",
	}
	for sw, want := range tests {
		assert.Equal(t, want, sw.String())
	}
	// Every constant has a specific meaning, not the generic class text.
	for _, sw := range []SW{SWSuccess, SWConditionsNotSatisfied, SWFileNotFound, SWRecordNotFound,
		SWWrongLength, SWSecurityNotSatisfied, SWAuthMethodBlocked, SWRefDataInvalidated,
		SWCommandNotAllowed, SWWrongData, SWFuncNotSupported, SWIncorrectP1P2, SWRefDataNotFound,
		SWWrongP1P2, SWINSNotSupported, SWCLANotSupported, SWUnknown, SWSelectedFileInvalidated, SWVerifyFailed} {
		_, ok := swText[sw]
		assert.True(t, ok, "%04X", uint16(sw))
	}
}

func TestTriesLeft(t *testing.T) {
	n, ok := SW(0x63C3).TriesLeft()
	assert.True(t, ok)
	assert.Equal(t, 3, n)
	_, ok = SWVerifyFailed.TriesLeft()
	assert.False(t, ok)
	_, ok = SW(0x6983).TriesLeft()
	assert.False(t, ok)
}
