// SPDX-License-Identifier: Apache-2.0

package kernel

import "strings"

// TVR is the Terminal Verification Results (tag 95), EMV Book 3 Annex C5.
type TVR [5]byte

// TVRBit names one bit of the TVR: byte index (0-4) and mask.
type TVRBit struct {
	Byte int
	Mask byte
}

// The TVR bits, EMV Book 3 Annex C5 (byte numbers there are 1-based).
var (
	TVRODANotPerformed      = TVRBit{0, 0x80}
	TVRSDAFailed            = TVRBit{0, 0x40}
	TVRICCDataMissing       = TVRBit{0, 0x20}
	TVRCardOnExceptionFile  = TVRBit{0, 0x10}
	TVRDDAFailed            = TVRBit{0, 0x08}
	TVRCDAFailed            = TVRBit{0, 0x04}
	TVRSDASelected          = TVRBit{0, 0x02}
	TVRVersionsDiffer       = TVRBit{1, 0x80}
	TVRExpiredApplication   = TVRBit{1, 0x40}
	TVRNotYetEffective      = TVRBit{1, 0x20}
	TVRServiceNotAllowed    = TVRBit{1, 0x10}
	TVRNewCard              = TVRBit{1, 0x08}
	TVRCVMFailed            = TVRBit{2, 0x80}
	TVRUnrecognisedCVM      = TVRBit{2, 0x40}
	TVRPINTryLimitExceeded  = TVRBit{2, 0x20}
	TVRPINPadNotWorking     = TVRBit{2, 0x10}
	TVRPINNotEntered        = TVRBit{2, 0x08}
	TVROnlinePINEntered     = TVRBit{2, 0x04}
	TVRFloorLimitExceeded   = TVRBit{3, 0x80}
	TVRLCOLExceeded         = TVRBit{3, 0x40}
	TVRUCOLExceeded         = TVRBit{3, 0x20}
	TVRRandomlySelected     = TVRBit{3, 0x10}
	TVRMerchantForcedOnline = TVRBit{3, 0x08}
	TVRDefaultTDOLUsed      = TVRBit{4, 0x80}
	TVRIssuerAuthFailed     = TVRBit{4, 0x40}
	TVRScriptFailedBefore   = TVRBit{4, 0x20}
	TVRScriptFailedAfter    = TVRBit{4, 0x10}
)

var tvrNames = []struct {
	bit  TVRBit
	name string
}{
	{TVRODANotPerformed, "offline data authentication was not performed"},
	{TVRSDAFailed, "SDA failed"},
	{TVRICCDataMissing, "ICC data missing"},
	{TVRCardOnExceptionFile, "card appears on terminal exception file"},
	{TVRDDAFailed, "DDA failed"},
	{TVRCDAFailed, "CDA failed"},
	{TVRSDASelected, "SDA selected"},
	{TVRVersionsDiffer, "ICC and terminal have different application versions"},
	{TVRExpiredApplication, "expired application"},
	{TVRNotYetEffective, "application not yet effective"},
	{TVRServiceNotAllowed, "requested service not allowed for card product"},
	{TVRNewCard, "new card"},
	{TVRCVMFailed, "cardholder verification was not successful"},
	{TVRUnrecognisedCVM, "unrecognised CVM"},
	{TVRPINTryLimitExceeded, "PIN try limit exceeded"},
	{TVRPINPadNotWorking, "PIN entry required and PIN pad not present or not working"},
	{TVRPINNotEntered, "PIN entry required, PIN pad present, but PIN was not entered"},
	{TVROnlinePINEntered, "online PIN entered"},
	{TVRFloorLimitExceeded, "transaction exceeds floor limit"},
	{TVRLCOLExceeded, "lower consecutive offline limit exceeded"},
	{TVRUCOLExceeded, "upper consecutive offline limit exceeded"},
	{TVRRandomlySelected, "transaction selected randomly for online processing"},
	{TVRMerchantForcedOnline, "merchant forced transaction online"},
	{TVRDefaultTDOLUsed, "default TDOL used"},
	{TVRIssuerAuthFailed, "issuer authentication failed"},
	{TVRScriptFailedBefore, "script processing failed before final GENERATE AC"},
	{TVRScriptFailedAfter, "script processing failed after final GENERATE AC"},
}

// Set sets a bit.
func (t *TVR) Set(b TVRBit) { t[b.Byte] |= b.Mask }

// Has reports whether a bit is set.
func (t TVR) Has(b TVRBit) bool { return t[b.Byte]&b.Mask != 0 }

// Names lists the names of the bits that are set, in Annex C5 order.
func (t TVR) Names() []string {
	var out []string
	for _, n := range tvrNames {
		if t.Has(n.bit) {
			out = append(out, n.name)
		}
	}
	return out
}

// String is the TVR in hex followed by the names of the set bits.
func (t TVR) String() string {
	s := hexUpper(t[:])
	if n := t.Names(); len(n) > 0 {
		s += " (" + strings.Join(n, "; ") + ")"
	}
	return s
}

// TSI is the Transaction Status Information (tag 9B), EMV Book 3 Annex C6.
type TSI [2]byte

// TSI bits (byte 1).
const (
	TSIODAPerformed          byte = 0x80
	TSICVMPerformed          byte = 0x40
	TSICardRiskPerformed     byte = 0x20
	TSIIssuerAuthPerformed   byte = 0x10
	TSITerminalRiskPerformed byte = 0x08
	TSIScriptPerformed       byte = 0x04
)

var tsiNames = []struct {
	mask byte
	name string
}{
	{TSIODAPerformed, "offline data authentication was performed"},
	{TSICVMPerformed, "cardholder verification was performed"},
	{TSICardRiskPerformed, "card risk management was performed"},
	{TSIIssuerAuthPerformed, "issuer authentication was performed"},
	{TSITerminalRiskPerformed, "terminal risk management was performed"},
	{TSIScriptPerformed, "script processing was performed"},
}

// Set sets a bit of the first TSI byte.
func (t *TSI) Set(mask byte) { t[0] |= mask }

// Has reports whether a bit of the first TSI byte is set.
func (t TSI) Has(mask byte) bool { return t[0]&mask != 0 }

// Names lists the names of the bits that are set.
func (t TSI) Names() []string {
	var out []string
	for _, n := range tsiNames {
		if t.Has(n.mask) {
			out = append(out, n.name)
		}
	}
	return out
}

// String is the TSI in hex followed by the names of the set bits.
func (t TSI) String() string {
	s := hexUpper(t[:])
	if n := t.Names(); len(n) > 0 {
		s += " (" + strings.Join(n, "; ") + ")"
	}
	return s
}

// MarshalText encodes the TVR as hex.
func (t TVR) MarshalText() ([]byte, error) { return []byte(hexUpper(t[:])), nil }

// MarshalText encodes the TSI as hex.
func (t TSI) MarshalText() ([]byte, error) { return []byte(hexUpper(t[:])), nil }

func hexUpper(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = digits[c>>4]
		out[2*i+1] = digits[c&0x0F]
	}
	return string(out)
}
