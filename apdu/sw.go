// SPDX-License-Identifier: Apache-2.0

package apdu

import "fmt"

// SW is a status word (SW1 SW2) returned by the card.
type SW uint16

// Status words the kernel and the card simulator use. See ISO/IEC 7816-4 and
// EMV Book 3 for their meaning.
const (
	// SWSuccess is 9000, normal processing.
	SWSuccess SW = 0x9000
	// SWSelectedFileInvalidated is 6283: the selected file or application is
	// blocked (invalidated).
	SWSelectedFileInvalidated SW = 0x6283
	// SWVerifyFailed is 6300, verification failed; 63Cx reports x tries
	// left (see TriesLeft).
	SWVerifyFailed SW = 0x6300
	// SWWrongLength is 6700, wrong length (Lc or Le).
	SWWrongLength SW = 0x6700
	// SWSecurityNotSatisfied is 6982, security status not satisfied.
	SWSecurityNotSatisfied SW = 0x6982
	// SWAuthMethodBlocked is 6983, authentication method blocked (PIN try
	// limit exceeded).
	SWAuthMethodBlocked SW = 0x6983
	// SWRefDataInvalidated is 6984, referenced data invalidated.
	SWRefDataInvalidated SW = 0x6984
	// SWConditionsNotSatisfied is 6985, conditions of use not satisfied.
	SWConditionsNotSatisfied SW = 0x6985
	// SWCommandNotAllowed is 6986, command not allowed (no current EF).
	SWCommandNotAllowed SW = 0x6986
	// SWWrongData is 6A80, incorrect parameters in the data field.
	SWWrongData SW = 0x6A80
	// SWFuncNotSupported is 6A81, function not supported (card or
	// application blocked).
	SWFuncNotSupported SW = 0x6A81
	// SWFileNotFound is 6A82, file or application not found.
	SWFileNotFound SW = 0x6A82
	// SWRecordNotFound is 6A83, record not found.
	SWRecordNotFound SW = 0x6A83
	// SWIncorrectP1P2 is 6A86, incorrect parameters P1-P2.
	SWIncorrectP1P2 SW = 0x6A86
	// SWRefDataNotFound is 6A88, referenced data (data object) not found.
	SWRefDataNotFound SW = 0x6A88
	// SWWrongP1P2 is 6B00, wrong parameters P1-P2.
	SWWrongP1P2 SW = 0x6B00
	// SWINSNotSupported is 6D00, instruction code not supported or invalid.
	SWINSNotSupported SW = 0x6D00
	// SWCLANotSupported is 6E00, class not supported.
	SWCLANotSupported SW = 0x6E00
	// SWUnknown is 6F00, no precise diagnosis.
	SWUnknown SW = 0x6F00
)

var swText = map[SW]string{
	0x9000: "success",
	0x6200: "warning: no information given",
	0x6281: "warning: part of returned data may be corrupted",
	0x6282: "warning: end of file or record reached before reading Le bytes",
	0x6283: "selected file invalidated",
	0x6284: "warning: file control information not formatted",
	0x6300: "verification failed",
	0x6381: "warning: file filled up by the last write",
	0x6400: "execution error: state of non-volatile memory unchanged",
	0x6500: "execution error: state of non-volatile memory changed",
	0x6581: "memory failure",
	0x6700: "wrong length",
	0x6800: "function in CLA not supported",
	0x6881: "logical channel not supported",
	0x6882: "secure messaging not supported",
	0x6900: "command not allowed",
	0x6981: "command incompatible with file structure",
	0x6982: "security status not satisfied",
	0x6983: "authentication method blocked",
	0x6984: "referenced data invalidated",
	0x6985: "conditions of use not satisfied",
	0x6986: "command not allowed (no current EF)",
	0x6987: "expected secure messaging data objects missing",
	0x6988: "incorrect secure messaging data objects",
	0x6A80: "incorrect parameters in the data field",
	0x6A81: "function not supported",
	0x6A82: "file or application not found",
	0x6A83: "record not found",
	0x6A84: "not enough memory space in the file",
	0x6A85: "Lc inconsistent with TLV structure",
	0x6A86: "incorrect parameters P1-P2",
	0x6A87: "Lc inconsistent with P1-P2",
	0x6A88: "referenced data not found",
	0x6B00: "wrong parameters P1-P2",
	0x6D00: "instruction code not supported or invalid",
	0x6E00: "class not supported",
	0x6F00: "no precise diagnosis",
}

// String returns the status word in hex followed by its meaning, for example
// "6A82 file or application not found". 61xx, 6Cxx and 63Cx include their
// count; an unknown status word is described by its class (SW1).
func (sw SW) String() string {
	code := fmt.Sprintf("%04X", uint16(sw))
	if t, ok := swText[sw]; ok {
		return code + " " + t
	}
	sw1, sw2 := byte(sw>>8), byte(sw)
	switch sw1 {
	case 0x61:
		return fmt.Sprintf("%s %d response bytes still available", code, decodeLe(sw2))
	case 0x6C:
		return fmt.Sprintf("%s wrong Le: exact length is %d", code, decodeLe(sw2))
	case 0x63:
		if n, ok := sw.TriesLeft(); ok {
			if n == 1 {
				return code + " verification failed, 1 try left"
			}
			return fmt.Sprintf("%s verification failed, %d tries left", code, n)
		}
		return code + " warning: state of non-volatile memory changed"
	case 0x62:
		return code + " warning: state of non-volatile memory unchanged"
	case 0x64:
		return code + " execution error: state of non-volatile memory unchanged"
	case 0x65:
		return code + " execution error: state of non-volatile memory changed"
	case 0x66:
		return code + " security-related issue"
	case 0x67:
		return code + " wrong length"
	case 0x68:
		return code + " function in CLA not supported"
	case 0x69:
		return code + " command not allowed"
	case 0x6A:
		return code + " wrong parameters"
	case 0x6B:
		return code + " wrong parameters P1-P2"
	case 0x6D:
		return code + " instruction code not supported or invalid"
	case 0x6E:
		return code + " class not supported"
	case 0x6F:
		return code + " no precise diagnosis"
	case 0x90:
		return code + " success with proprietary qualifier"
	case 0x92, 0x93, 0x94, 0x98:
		return code + " proprietary error"
	}
	return code + " unknown status"
}

// OK reports whether sw is 9000 (normal processing).
func (sw SW) OK() bool { return sw == SWSuccess }

// TriesLeft reports the number of PIN tries left carried by a 63Cx status
// word; ok is false for any other status word.
func (sw SW) TriesLeft() (n int, ok bool) {
	if sw&0xFFF0 != 0x63C0 {
		return 0, false
	}
	return int(sw & 0x000F), true
}
