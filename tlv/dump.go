// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"io"
	"strconv"
	"strings"
)

// MaskPAN masks a primary account number given as a digit string.
// With 11 digits or more it keeps the first 6 and the last 4 and replaces
// every digit between with '*' ("6234561234567890" → "623456******7890").
// With 5 to 10 digits it keeps only the last 4; with 4 digits or fewer it
// masks them all. Characters are not checked to be digits.
func MaskPAN(digits string) string {
	n := len(digits)
	keepHead, keepTail := 0, 0
	switch {
	case n >= 11:
		keepHead, keepTail = 6, 4
	case n >= 5:
		keepTail = 4
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.WriteString(digits[:keepHead])
	for i := keepHead; i < n-keepTail; i++ {
		sb.WriteByte('*')
	}
	sb.WriteString(digits[n-keepTail:])
	return sb.String()
}

const hexDigits = "0123456789ABCDEF"

func appendHex(dst, v []byte) []byte {
	for _, c := range v {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0x0F])
	}
	return dst
}

// bcdDigits returns the hexadecimal nibbles of v with trailing F nibbles
// (compressed numeric padding) removed.
func bcdDigits(v []byte) string {
	s := string(appendHex(make([]byte, 0, 2*len(v)), v))
	return strings.TrimRight(s, "F")
}

// maskTrack2 masks track 2 equivalent data given as nibbles: the PAN before
// the D separator by MaskPAN, the expiry date and service code (7 digits)
// kept, and the discretionary data after them replaced by '*'. Without a
// separator the whole string is masked as a PAN.
func maskTrack2(s string) string {
	pan, rest, ok := strings.Cut(s, "D")
	if !ok {
		return MaskPAN(s)
	}
	keep := min(7, len(rest))
	return MaskPAN(pan) + "D" + rest[:keep] + strings.Repeat("*", len(rest)-keep)
}

// maskTrack1 masks track 1 data (56, ASCII "B" PAN "^" name "^" YYMM
// service-code discretionary): the PAN by MaskPAN, the name kept, the
// expiry date and service code kept, the discretionary data replaced by
// '*'. Anything not of that shape is masked whole.
func maskTrack1(v []byte) string {
	s := string(v)
	fields := strings.SplitN(s, "^", 3)
	if len(fields) != 3 || len(fields[0]) < 2 {
		return strings.Repeat("*", len(s))
	}
	pan := MaskPAN(fields[0][1:])
	keep := min(7, len(fields[2]))
	return fields[0][:1] + pan + "^" + printableASCII(fields[1]) + "^" + fields[2][:keep] + strings.Repeat("*", len(fields[2])-keep)
}

// printableASCII replaces bytes outside printable ASCII with '.'.
func printableASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7E {
			b[i] = '.'
		}
	}
	return string(b)
}

// Dump writes an indented tree of the objects in b to w, one object a line:
// two spaces of indentation per nesting level, the tag, the dictionary name
// (or "?") and, for a primitive object, the value. Text formats (a, an, ans)
// are shown as quoted ASCII with non-printable bytes as '.', other formats in
// hexadecimal; where Describe has a reading of the value (amounts in yuan,
// dates, times, currency and country codes, TVR/TSI/AIP/CID bits, CVM
// results and rules, ...) it follows in parentheses:
//
//	9F02 Amount, Authorised (Numeric): 000000001234 (12.34)
//	95 Terminal Verification Results (TVR): 8000000000 (offline data authentication was not performed)
//
// The PAN (5A), track 2 equivalent data (57, and qPBOC's 9F6B) and track 1
// data (56) are masked (see MaskPAN; in the tracks the discretionary data
// after the expiry date and service code is masked as well), and the track
// discretionary data objects (9F1F, 9F20) are not shown at all.
// Constructed objects are followed by their children.
//
// On malformed input Dump writes the objects before the fault and returns the
// decoding error; it also returns the first error from w.
func Dump(w io.Writer, b []byte) error {
	line := make([]byte, 0, 128)
	return Walk(b, func(depth int, o TLV) error {
		line = AppendLine(line[:0], depth, o)
		_, err := w.Write(line)
		return err
	})
}

// AppendLine appends the line Dump writes for o at depth (its children not
// included), ending in a newline: for callers that show objects Dump does
// not see as such, like the values of DOL data or the fields of a format-1
// answer.
func AppendLine(dst []byte, depth int, o TLV) []byte {
	for range depth {
		dst = append(dst, ' ', ' ')
	}
	var tb [4]byte
	dst = appendHex(dst, AppendTag(tb[:0], o.Tag))
	info, known := Lookup(o.Tag)
	dst = append(dst, ' ')
	if known {
		dst = append(dst, info.Name...)
	} else {
		dst = append(dst, '?')
	}
	if !o.Tag.Constructed() {
		dst = append(dst, ": "...)
		dst = appendDumpValue(dst, o, info.Format)
	}
	return append(dst, '\n')
}

func appendDumpValue(dst []byte, o TLV, f Format) []byte {
	switch {
	case len(o.Value) == 0:
		return append(dst, "(empty)"...)
	case o.Tag == 0x5A:
		return append(dst, MaskPAN(bcdDigits(o.Value))...)
	case o.Tag == 0x57 || o.Tag == 0x9F6B:
		return append(dst, maskTrack2(bcdDigits(o.Value))...)
	case o.Tag == 0x56:
		return append(dst, maskTrack1(o.Value)...)
	case o.Tag == 0x9F1F || o.Tag == 0x9F20:
		// Track 1 and track 2 discretionary data: nothing of it is shown.
		return append(dst, strings.Repeat("*", 2*len(o.Value))...)
	case f.text():
		dst = append(dst, '"')
		for _, c := range o.Value {
			if c < 0x20 || c > 0x7E || c == '"' {
				c = '.'
			}
			dst = append(dst, c)
		}
		dst = append(dst, '"')
	default:
		dst = appendHex(dst, o.Value)
	}
	if d := Describe(o.Tag, o.Value); d != "" {
		dst = append(dst, " ("...)
		dst = append(dst, d...)
		dst = append(dst, ')')
	}
	return dst
}

// Describe returns a reading of a primitive value for people, or "" when
// the tag has none or the value does not have the expected shape: amounts
// in yuan ("12.34"), dates ("2026-11-30"), times ("10:30:00"), currency and
// country codes ("156 CNY", "156 China"), the named bits of the TVR, TSI,
// AIP, TTQ and CTQ, the cryptogram type of the CID, CVM results and CVM
// list rules, transaction types and authorisation response codes, the
// terminal capabilities (9F33), terminal type (9F35), application usage
// control (9F07), the AFL (94) and the PBOC issuer application data (9F10:
// DKI, CVN, CVR, algorithm and the EC balance of the issuer discretionary
// data). Dump shows it in parentheses after the value.
func Describe(tag Tag, v []byte) string {
	if len(v) == 0 {
		return ""
	}
	switch tag {
	case 0x9F02, 0x9F03, 0x9F5D, 0x9F6B, 0x9F6D, 0x9F77, 0x9F78, 0x9F79, 0x9F7B,
		0xDF76, 0xDF77, 0xDF78, 0xDF79:
		return describeAmount(v)
	case 0x81, 0x9F04:
		if len(v) != 4 {
			return ""
		}
		return formatFen(uint64(v[0])<<24 | uint64(v[1])<<16 | uint64(v[2])<<8 | uint64(v[3]))
	case 0x9A, 0x5F24, 0x5F25:
		return describeDate(v)
	case 0x9F21:
		return describeTime(v)
	case 0x5F2A, 0x9F42, 0x9F51, 0xDF71, 0x9F3C:
		return describeCode(v, currencies)
	case 0x9F1A, 0x5F28:
		return describeCode(v, countries)
	case 0x95:
		return describeBits(v, 5, tvrBitNames)
	case 0x9B:
		return describeBits(v, 2, tsiBitNames)
	case 0x82:
		return describeBits(v, 2, aipBitNames)
	case 0x9F66:
		return describeBits(v, 4, ttqBitNames)
	case 0x9F6C:
		return describeBits(v, 2, ctqBitNames)
	case 0x9F27:
		return describeCID(v)
	case 0x9F34:
		return describeCVMResults(v)
	case 0x8E:
		return describeCVMList(v)
	case 0x9C:
		if len(v) == 1 {
			return txnTypes[v[0]]
		}
	case 0x8A:
		return responseCodes[string(v)]
	case 0x9F36, 0x9F13:
		if len(v) == 2 {
			return strconv.Itoa(int(v[0])<<8 | int(v[1]))
		}
	case 0x9F33:
		return describeBits(v, 3, termCapBitNames)
	case 0x9F35:
		return describeTerminalType(v)
	case 0x9F07:
		return describeBits(v, 2, aucBitNames)
	case 0x9F10:
		return describeIAD(v)
	case 0x94:
		return describeAFL(v)
	}
	return ""
}

// bcdValue decodes packed BCD digits (every nibble 0-9).
func bcdValue(v []byte) (uint64, bool) {
	if len(v) > 9 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return 0, false
		}
		n = n*100 + uint64(hi)*10 + uint64(lo)
	}
	return n, true
}

func formatFen(n uint64) string {
	s := strconv.FormatUint(n/100, 10) + "."
	if f := n % 100; f < 10 {
		s += "0" + strconv.FormatUint(f, 10)
	} else {
		s += strconv.FormatUint(f, 10)
	}
	return s
}

func describeAmount(v []byte) string {
	if len(v) != 6 {
		return ""
	}
	n, ok := bcdValue(v)
	if !ok {
		return ""
	}
	return formatFen(n)
}

func describeDate(v []byte) string {
	n, ok := bcdValue(v)
	if !ok || len(v) != 3 {
		return ""
	}
	y, m, d := int(n/10000), int(n/100%100), int(n%100)
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return ""
	}
	if y < 50 {
		y += 2000
	} else {
		y += 1900
	}
	return strconv.Itoa(y) + "-" + two(m) + "-" + two(d)
}

func describeTime(v []byte) string {
	n, ok := bcdValue(v)
	if !ok || len(v) != 3 {
		return ""
	}
	h, m, s := int(n/10000), int(n/100%100), int(n%100)
	if h > 23 || m > 59 || s > 59 {
		return ""
	}
	return two(h) + ":" + two(m) + ":" + two(s)
}

func two(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func describeCode(v []byte, names map[uint64]string) string {
	n, ok := bcdValue(v)
	if !ok || len(v) != 2 {
		return ""
	}
	s := strconv.FormatUint(n, 10)
	if name, ok := names[n]; ok {
		s += " " + name
	}
	return s
}

// currencies are the ISO 4217 numeric codes a Chinese terminal meets.
var currencies = map[uint64]string{
	156: "CNY", 344: "HKD", 446: "MOP", 901: "TWD", 840: "USD", 978: "EUR",
	826: "GBP", 392: "JPY", 410: "KRW", 702: "SGD", 764: "THB", 458: "MYR",
	36: "AUD", 124: "CAD", 643: "RUB", 756: "CHF",
}

// countries are the ISO 3166 numeric codes a Chinese terminal meets.
var countries = map[uint64]string{
	156: "China", 344: "Hong Kong", 446: "Macao", 158: "Taiwan", 840: "United States",
	826: "United Kingdom", 392: "Japan", 410: "Korea", 702: "Singapore", 764: "Thailand",
	458: "Malaysia", 36: "Australia", 124: "Canada", 643: "Russia", 276: "Germany",
	250: "France", 756: "Switzerland",
}

// bitName names one bit: byte index (0-based) and mask.
type bitName struct {
	byteIdx int
	mask    byte
	name    string
}

// describeBits lists the names of the set bits of a value of n bytes, and
// the bits set that have no name as "RFU".
func describeBits(v []byte, n int, names []bitName) string {
	if len(v) != n {
		return ""
	}
	var out []string
	named := make([]byte, n)
	for _, b := range names {
		named[b.byteIdx] |= b.mask
		if v[b.byteIdx]&b.mask != 0 {
			out = append(out, b.name)
		}
	}
	for i := range v {
		if v[i]&^named[i] != 0 {
			out = append(out, "RFU bits set in byte "+strconv.Itoa(i+1))
			break
		}
	}
	if len(out) == 0 {
		return "no bits set"
	}
	return strings.Join(out, "; ")
}

// tvrBitNames are the TVR bits, EMV Book 3 Annex C5 (the kernel's names).
var tvrBitNames = []bitName{
	{0, 0x80, "offline data authentication was not performed"},
	{0, 0x40, "SDA failed"},
	{0, 0x20, "ICC data missing"},
	{0, 0x10, "card appears on terminal exception file"},
	{0, 0x08, "DDA failed"},
	{0, 0x04, "CDA failed"},
	{0, 0x02, "SDA selected"},
	{1, 0x80, "ICC and terminal have different application versions"},
	{1, 0x40, "expired application"},
	{1, 0x20, "application not yet effective"},
	{1, 0x10, "requested service not allowed for card product"},
	{1, 0x08, "new card"},
	{2, 0x80, "cardholder verification was not successful"},
	{2, 0x40, "unrecognised CVM"},
	{2, 0x20, "PIN try limit exceeded"},
	{2, 0x10, "PIN entry required and PIN pad not present or not working"},
	{2, 0x08, "PIN entry required, PIN pad present, but PIN was not entered"},
	{2, 0x04, "online PIN entered"},
	{3, 0x80, "transaction exceeds floor limit"},
	{3, 0x40, "lower consecutive offline limit exceeded"},
	{3, 0x20, "upper consecutive offline limit exceeded"},
	{3, 0x10, "transaction selected randomly for online processing"},
	{3, 0x08, "merchant forced transaction online"},
	{4, 0x80, "default TDOL used"},
	{4, 0x40, "issuer authentication failed"},
	{4, 0x20, "script processing failed before final GENERATE AC"},
	{4, 0x10, "script processing failed after final GENERATE AC"},
}

// tsiBitNames are the TSI bits, EMV Book 3 Annex C6.
var tsiBitNames = []bitName{
	{0, 0x80, "offline data authentication was performed"},
	{0, 0x40, "cardholder verification was performed"},
	{0, 0x20, "card risk management was performed"},
	{0, 0x10, "issuer authentication was performed"},
	{0, 0x08, "terminal risk management was performed"},
	{0, 0x04, "script processing was performed"},
}

// aipBitNames are the AIP bits, EMV Book 3 Annex C1 (byte 2 bit 8: the
// contactless EMV mode of the qPBOC/EMV contactless kernels).
var aipBitNames = []bitName{
	{0, 0x40, "SDA supported"},
	{0, 0x20, "DDA supported"},
	{0, 0x10, "cardholder verification supported"},
	{0, 0x08, "terminal risk management to be performed"},
	{0, 0x04, "issuer authentication supported"},
	{0, 0x01, "CDA supported"},
	{1, 0x80, "EMV mode (contactless) supported"},
}

// ttqBitNames are the qPBOC terminal transaction qualifiers (9F66).
var ttqBitNames = []bitName{
	{0, 0x80, "MSD supported"},
	{0, 0x20, "qPBOC supported"},
	{0, 0x10, "contact PBOC supported"},
	{0, 0x08, "offline-only reader"},
	{0, 0x04, "online PIN supported"},
	{0, 0x02, "signature supported"},
	{0, 0x01, "ODA for online authorisations supported"},
	{1, 0x80, "online cryptogram required"},
	{1, 0x40, "CVM required"},
	{1, 0x20, "contact chip offline PIN supported"},
	{2, 0x80, "issuer update processing supported"},
	{2, 0x40, "consumer device CVM supported"},
}

// ctqBitNames are the qPBOC card transaction qualifiers (9F6C).
var ctqBitNames = []bitName{
	{0, 0x80, "online PIN required"},
	{0, 0x40, "signature required"},
	{0, 0x20, "go online if ODA fails and reader is online capable"},
	{0, 0x10, "switch interface if ODA fails and reader supports contact"},
	{0, 0x08, "go online if application expired"},
	{0, 0x04, "switch interface for cash transactions"},
	{0, 0x02, "switch interface for cashback transactions"},
	{1, 0x80, "consumer device CVM performed"},
	{1, 0x40, "card supports issuer update processing"},
}

func describeCID(v []byte) string {
	if len(v) != 1 {
		return ""
	}
	var s string
	switch v[0] & 0xC0 {
	case 0x00:
		s = "AAC"
	case 0x40:
		s = "TC"
	case 0x80:
		s = "ARQC"
	default:
		s = "RFU cryptogram type"
	}
	if v[0]&0x08 != 0 {
		s += ", advice required"
	}
	switch v[0] & 0x07 {
	case 1:
		s += ", service not allowed"
	case 2:
		s += ", PIN try limit exceeded"
	case 3:
		s += ", issuer authentication failed"
	}
	return s
}

// cvmMethod names the CVM code (low 6 bits of a CV rule's first byte).
func cvmMethod(code byte) string {
	switch code & 0x3F {
	case 0x00:
		return "fail CVM processing"
	case 0x01:
		return "plaintext PIN verified by ICC"
	case 0x02:
		return "enciphered PIN verified online"
	case 0x03:
		return "plaintext PIN verified by ICC and signature"
	case 0x04:
		return "enciphered PIN verified by ICC"
	case 0x05:
		return "enciphered PIN verified by ICC and signature"
	case 0x1E:
		return "signature"
	case 0x1F:
		return "no CVM required"
	case 0x20:
		return "cardholder ID presented"
	case 0x3F:
		return "no CVM performed"
	}
	return "CVM " + string(appendHex(nil, []byte{code & 0x3F}))
}

var cvmConditions = map[byte]string{
	0x00: "always",
	0x01: "if unattended cash",
	0x02: "if not unattended cash, not manual cash, not cashback",
	0x03: "if terminal supports the CVM",
	0x04: "if manual cash",
	0x05: "if purchase with cashback",
	0x06: "if amount under X",
	0x07: "if amount over X",
	0x08: "if amount under Y",
	0x09: "if amount over Y",
}

func cvmCondition(c byte) string {
	if s, ok := cvmConditions[c]; ok {
		return s
	}
	return "condition " + string(appendHex(nil, []byte{c}))
}

func describeCVMResults(v []byte) string {
	if len(v) != 3 {
		return ""
	}
	var result string
	switch v[2] {
	case 0x00:
		result = "unknown"
	case 0x01:
		result = "failed"
	case 0x02:
		result = "successful"
	default:
		result = "result " + string(appendHex(nil, v[2:]))
	}
	return cvmMethod(v[0]) + ", " + cvmCondition(v[1]) + ", " + result
}

func describeCVMList(v []byte) string {
	if len(v) < 8 || len(v)%2 != 0 || len(v) > 252 {
		return ""
	}
	x := uint64(v[0])<<24 | uint64(v[1])<<16 | uint64(v[2])<<8 | uint64(v[3])
	y := uint64(v[4])<<24 | uint64(v[5])<<16 | uint64(v[6])<<8 | uint64(v[7])
	var sb strings.Builder
	sb.WriteString("X " + formatFen(x) + ", Y " + formatFen(y))
	for i := 8; i+1 < len(v); i += 2 {
		if i == 8 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		sb.WriteString(cvmMethod(v[i]) + " " + cvmCondition(v[i+1]))
		if v[i]&0x40 != 0 {
			sb.WriteString(", else next")
		} else {
			sb.WriteString(", else fail")
		}
	}
	return sb.String()
}

var txnTypes = map[byte]string{
	0x00: "goods and services",
	0x01: "cash",
	0x09: "purchase with cashback",
	0x20: "refund",
	0x30: "balance inquiry",
	0x31: "balance inquiry",
	0x60: "EC designated-account load",
	0x62: "EC non-designated-account load",
	0x63: "EC cash load",
}

var responseCodes = map[string]string{
	"00": "approved",
	"05": "do not honour",
	"51": "insufficient funds",
	"55": "incorrect PIN",
	"61": "exceeds amount limit",
	"Y1": "offline approved",
	"Z1": "offline declined",
	"Y2": "approved after card-initiated referral",
	"Z2": "declined after card-initiated referral",
	"Y3": "unable to go online, offline approved",
	"Z3": "unable to go online, offline declined",
}
