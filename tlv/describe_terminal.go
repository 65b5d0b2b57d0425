// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"strconv"
	"strings"
)

// termCapBitNames are the terminal capabilities (9F33), EMV Book 4 Annex A2.
var termCapBitNames = []bitName{
	{0, 0x80, "manual key entry"},
	{0, 0x40, "magnetic stripe"},
	{0, 0x20, "IC with contacts"},
	{1, 0x80, "plaintext PIN for ICC verification"},
	{1, 0x40, "enciphered PIN for online verification"},
	{1, 0x20, "signature"},
	{1, 0x10, "enciphered PIN for offline verification"},
	{1, 0x08, "no CVM required"},
	{2, 0x80, "SDA"},
	{2, 0x40, "DDA"},
	{2, 0x20, "card capture"},
	{2, 0x08, "CDA"},
}

// aucBitNames are the application usage control bits (9F07), EMV Book 3
// Annex C2.
var aucBitNames = []bitName{
	{0, 0x80, "valid for domestic cash"},
	{0, 0x40, "valid for international cash"},
	{0, 0x20, "valid for domestic goods"},
	{0, 0x10, "valid for international goods"},
	{0, 0x08, "valid for domestic services"},
	{0, 0x04, "valid for international services"},
	{0, 0x02, "valid at ATMs"},
	{0, 0x01, "valid at terminals other than ATMs"},
	{1, 0x80, "domestic cashback allowed"},
	{1, 0x40, "international cashback allowed"},
}

// describeTerminalType reads 9F35 (EMV Book 4 Annex A1): who operates the
// terminal (first digit) and how it goes online (second digit).
func describeTerminalType(v []byte) string {
	if len(v) != 1 {
		return ""
	}
	operator := map[byte]string{1: "financial institution", 2: "merchant", 3: "cardholder"}[v[0]>>4]
	kind := map[byte]string{
		1: "attended, online only", 2: "attended, offline with online capability", 3: "attended, offline only",
		4: "unattended, online only", 5: "unattended, offline with online capability", 6: "unattended, offline only",
	}[v[0]&0x0F]
	if operator == "" || kind == "" {
		return ""
	}
	return operator + ", " + kind
}

// describeAFL lists the AFL's entries (EMV Book 3 §10.2): SFI, first and
// last record, and how many of them are for offline data authentication.
func describeAFL(v []byte) string {
	if len(v)%4 != 0 {
		return ""
	}
	var out []string
	for i := 0; i+3 < len(v); i += 4 {
		sfi, first, last, oda := v[i]>>3, int(v[i+1]), int(v[i+2]), int(v[i+3])
		e := "SFI " + strconv.Itoa(int(sfi)) + " record " + strconv.Itoa(first)
		if last != first {
			e = "SFI " + strconv.Itoa(int(sfi)) + " records " + strconv.Itoa(first) + "-" + strconv.Itoa(last)
		}
		if oda > 0 {
			e += " (" + strconv.Itoa(oda) + " for ODA)"
		}
		out = append(out, e)
	}
	return strings.Join(out, "; ")
}

// PBOC issuer application data (9F10), JR/T 0025: length of the standard
// part (07), derivation key index, cryptogram version number, the card
// verification results (length 03 and three bytes), the algorithm
// indicator, then the issuer discretionary data, whose first byte is its
// length: 0A 01 ‖ EC balance (5 bytes BCD) ‖ MAC (4) for an electronic
// cash approval.
func describeIAD(v []byte) string {
	if len(v) < 8 || v[0] != 0x07 || v[3] != 0x03 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("PBOC: DKI " + hexByte(v[1]) + ", CVN " + hexByte(v[2]))
	sb.WriteString(", CVR " + string(appendHex(nil, v[3:7])))
	if cvr := describeCVR(v[4:7]); cvr != "" {
		sb.WriteString(" [" + cvr + "]")
	}
	switch v[7] {
	case 0x01:
		sb.WriteString(", algorithm 01 TDES")
	case 0x04:
		sb.WriteString(", algorithm 04 SM4")
	default:
		sb.WriteString(", algorithm " + hexByte(v[7]))
	}
	idd := v[8:]
	switch {
	case len(idd) == 0:
	case int(idd[0]) != len(idd)-1:
		sb.WriteString(", issuer discretionary data " + string(appendHex(nil, idd)) + " (length byte does not fit)")
	case len(idd) == 11 && idd[1] == 0x01:
		if n, ok := bcdValue(idd[2:7]); ok {
			sb.WriteString(", EC balance " + formatFen(n) + " MAC " + string(appendHex(nil, idd[7:11])))
		} else {
			sb.WriteString(", EC balance " + string(appendHex(nil, idd[2:7])) + " (not BCD)")
		}
	default:
		sb.WriteString(", issuer discretionary data " + string(appendHex(nil, idd[1:])))
	}
	return sb.String()
}

func hexByte(b byte) string { return string(appendHex(nil, []byte{b})) }

// cvrBitNames are the card verification results of the PBOC IAD (bytes 2
// to 4 of the CVR, after its length byte), as in VIS; the two-bit
// cryptogram types of byte 2 are read by describeCVR.
var cvrBitNames = []bitName{
	{0, 0x08, "issuer authentication performed and failed"},
	{0, 0x04, "offline PIN verification performed"},
	{0, 0x02, "offline PIN verification failed"},
	{0, 0x01, "unable to go online"},
	{1, 0x80, "last online transaction not completed"},
	{1, 0x40, "PIN try limit exceeded"},
	{1, 0x20, "exceeded velocity checking counters"},
	{1, 0x10, "new card"},
	{1, 0x08, "issuer authentication failure on last online transaction"},
	{1, 0x04, "issuer authentication not performed after online authorisation"},
	{1, 0x02, "application blocked, PIN try limit exceeded"},
	{1, 0x01, "offline static data authentication failed on last transaction"},
	{2, 0x08, "issuer script processing failed"},
	{2, 0x04, "offline dynamic data authentication failed on last transaction"},
	{2, 0x02, "offline dynamic data authentication performed"},
}

// describeCVR reads the three CVR bytes: the cryptograms of the first and
// second GENERATE AC, the named bits, and the number of script commands.
func describeCVR(c []byte) string {
	first := [4]string{"AAC", "TC", "ARQC", "RFU"}[c[0]>>4&0x03]
	second := [4]string{"AAC", "TC", "not requested", "RFU"}[c[0]>>6]
	out := []string{"1st GENERATE AC " + first, "2nd GENERATE AC " + second}
	rest := [3]byte{c[0] & 0x0F, c[1], c[2] & 0x0F}
	if bits := describeBits(rest[:], 3, cvrBitNames); bits != "no bits set" && bits != "" {
		out = append(out, bits)
	}
	if n := c[2] >> 4; n > 0 {
		out = append(out, strconv.Itoa(int(n))+" script commands processed on last transaction")
	}
	return strings.Join(out, "; ")
}
