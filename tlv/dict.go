// SPDX-License-Identifier: Apache-2.0

package tlv

import "strconv"

// Format is the EMV data element format of a tag's value (EMV Book 3 §4.3).
// It decides DOL padding and truncation (Fit) and how Dump shows a value.
type Format uint8

// Data element formats.
const (
	// FormatB is binary (the zero value, and the format of unknown tags).
	FormatB Format = iota
	// FormatN is numeric: BCD digits, right-justified, left-padded with 0.
	FormatN
	// FormatCN is compressed numeric: BCD digits, left-justified, right-padded with F.
	FormatCN
	// FormatAN is alphanumeric ASCII.
	FormatAN
	// FormatANS is alphanumeric and special ASCII.
	FormatANS
	// FormatA is alphabetic ASCII.
	FormatA
)

// String returns the EMV abbreviation: "b", "n", "cn", "an", "ans" or "a"
// ("Format(N)" for an undefined value).
func (f Format) String() string {
	switch f {
	case FormatB:
		return "b"
	case FormatN:
		return "n"
	case FormatCN:
		return "cn"
	case FormatAN:
		return "an"
	case FormatANS:
		return "ans"
	case FormatA:
		return "a"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// text reports whether values of the format are ASCII text.
func (f Format) text() bool { return f == FormatAN || f == FormatANS || f == FormatA }

// Info describes a tag in the dictionary.
type Info struct {
	// Tag is the tag described.
	Tag Tag
	// Name is the data element's name.
	Name string
	// Format is the value's format.
	Format Format
	// Min and Max bound the value's length in bytes (Max 0 means not fixed
	// by the specification: constructed templates and certificates).
	Min, Max int
}

// Lookup returns the dictionary entry for t. The dictionary holds the EMV
// Book 3 Annex A data elements a terminal meets plus the PBOC (JR/T 0025)
// debit/credit, electronic cash (EC) and qPBOC tags.
//
// Tag meanings collide between payment schemes: under PBOC 9F51 is the
// application currency code, 9F5D the available offline spending amount,
// 9F6D the EC reset threshold, 9F74 the EC issuer authorisation code, 9F77,
// 9F78 and 9F79 the EC limits and balance, 9F7A and 9F7B the EC terminal
// indicator and limit, 9F63 the card product identification. Other kernels
// (Visa, Mastercard, …) give some of these tags other meanings; this
// dictionary always gives the PBOC meaning.
func Lookup(t Tag) (Info, bool) {
	i, ok := dict[t]
	return i, ok
}

var dict = func() map[Tag]Info {
	m := make(map[Tag]Info, len(dictTable))
	for _, i := range dictTable {
		m[i.Tag] = i
	}
	return m
}()

// dictTable lists the dictionary; lengths are in bytes.
var dictTable = [...]Info{
	// EMV Book 3 Annex A (and Book 1/4 elements a terminal handles).
	{0x42, "Issuer Identification Number (IIN)", FormatN, 3, 3},
	{0x4F, "Application Identifier (AID) - card", FormatB, 5, 16},
	{0x50, "Application Label", FormatANS, 1, 16},
	{0x57, "Track 2 Equivalent Data", FormatB, 0, 19},
	{0x5A, "Application Primary Account Number (PAN)", FormatCN, 1, 10},
	{0x5F20, "Cardholder Name", FormatANS, 2, 26},
	{0x5F24, "Application Expiration Date", FormatN, 3, 3},
	{0x5F25, "Application Effective Date", FormatN, 3, 3},
	{0x5F28, "Issuer Country Code", FormatN, 2, 2},
	{0x5F2A, "Transaction Currency Code", FormatN, 2, 2},
	{0x5F2D, "Language Preference", FormatAN, 2, 8},
	{0x5F30, "Service Code", FormatN, 2, 2},
	{0x5F34, "Application PAN Sequence Number", FormatN, 1, 1},
	{0x5F36, "Transaction Currency Exponent", FormatN, 1, 1},
	{0x5F50, "Issuer URL", FormatANS, 0, 0},
	{0x5F53, "International Bank Account Number (IBAN)", FormatB, 0, 34},
	{0x5F54, "Bank Identifier Code (BIC)", FormatB, 8, 11},
	{0x5F55, "Issuer Country Code (alpha2)", FormatA, 2, 2},
	{0x5F56, "Issuer Country Code (alpha3)", FormatA, 3, 3},
	{0x5F57, "Account Type", FormatN, 1, 1},
	{0x61, "Application Template", FormatB, 0, 252},
	{0x6F, "File Control Information (FCI) Template", FormatB, 0, 252},
	{0x70, "READ RECORD Response Message Template", FormatB, 0, 252},
	{0x71, "Issuer Script Template 1", FormatB, 0, 0},
	{0x72, "Issuer Script Template 2", FormatB, 0, 0},
	{0x73, "Directory Discretionary Template", FormatB, 0, 252},
	{0x77, "Response Message Template Format 2", FormatB, 0, 0},
	{0x80, "Response Message Template Format 1", FormatB, 0, 0},
	{0x81, "Amount, Authorised (Binary)", FormatB, 4, 4},
	{0x82, "Application Interchange Profile (AIP)", FormatB, 2, 2},
	{0x83, "Command Template", FormatB, 0, 0},
	{0x84, "Dedicated File (DF) Name", FormatB, 5, 16},
	{0x86, "Issuer Script Command", FormatB, 0, 261},
	{0x87, "Application Priority Indicator", FormatB, 1, 1},
	{0x88, "Short File Identifier (SFI)", FormatB, 1, 1},
	{0x89, "Authorisation Code", FormatAN, 6, 6},
	{0x8A, "Authorisation Response Code", FormatAN, 2, 2},
	{0x8C, "Card Risk Management Data Object List 1 (CDOL1)", FormatB, 0, 252},
	{0x8D, "Card Risk Management Data Object List 2 (CDOL2)", FormatB, 0, 252},
	{0x8E, "Cardholder Verification Method (CVM) List", FormatB, 10, 252},
	{0x8F, "Certification Authority Public Key Index (card)", FormatB, 1, 1},
	{0x90, "Issuer Public Key Certificate", FormatB, 0, 0},
	{0x91, "Issuer Authentication Data", FormatB, 8, 16},
	{0x92, "Issuer Public Key Remainder", FormatB, 0, 0},
	{0x93, "Signed Static Application Data", FormatB, 0, 0},
	{0x94, "Application File Locator (AFL)", FormatB, 0, 252},
	{0x95, "Terminal Verification Results (TVR)", FormatB, 5, 5},
	{0x97, "Transaction Certificate Data Object List (TDOL)", FormatB, 0, 252},
	{0x98, "Transaction Certificate (TC) Hash Value", FormatB, 20, 20},
	{0x99, "Transaction PIN Data", FormatB, 0, 0},
	{0x9A, "Transaction Date", FormatN, 3, 3},
	{0x9B, "Transaction Status Information (TSI)", FormatB, 2, 2},
	{0x9C, "Transaction Type", FormatN, 1, 1},
	{0x9D, "Directory Definition File (DDF) Name", FormatB, 5, 16},
	{0x9F01, "Acquirer Identifier", FormatN, 6, 6},
	{0x9F02, "Amount, Authorised (Numeric)", FormatN, 6, 6},
	{0x9F03, "Amount, Other (Numeric)", FormatN, 6, 6},
	{0x9F04, "Amount, Other (Binary)", FormatB, 4, 4},
	{0x9F05, "Application Discretionary Data", FormatB, 1, 32},
	{0x9F06, "Application Identifier (AID) - terminal", FormatB, 5, 16},
	{0x9F07, "Application Usage Control", FormatB, 2, 2},
	{0x9F08, "Application Version Number (card)", FormatB, 2, 2},
	{0x9F09, "Application Version Number (terminal)", FormatB, 2, 2},
	{0x9F0A, "Application Selection Registered Proprietary Data", FormatB, 0, 0},
	{0x9F0B, "Cardholder Name Extended", FormatANS, 27, 45},
	{0x9F0D, "Issuer Action Code - Default", FormatB, 5, 5},
	{0x9F0E, "Issuer Action Code - Denial", FormatB, 5, 5},
	{0x9F0F, "Issuer Action Code - Online", FormatB, 5, 5},
	{0x9F10, "Issuer Application Data", FormatB, 0, 32},
	{0x9F11, "Issuer Code Table Index", FormatN, 1, 1},
	{0x9F12, "Application Preferred Name", FormatANS, 1, 16},
	{0x9F13, "Last Online ATC Register", FormatB, 2, 2},
	{0x9F14, "Lower Consecutive Offline Limit", FormatB, 1, 1},
	{0x9F15, "Merchant Category Code", FormatN, 2, 2},
	{0x9F16, "Merchant Identifier", FormatANS, 15, 15},
	{0x9F17, "PIN Try Counter", FormatB, 1, 1},
	{0x9F18, "Issuer Script Identifier", FormatB, 4, 4},
	{0x9F1A, "Terminal Country Code", FormatN, 2, 2},
	{0x9F1B, "Terminal Floor Limit", FormatB, 4, 4},
	{0x9F1C, "Terminal Identification", FormatAN, 8, 8},
	{0x9F1D, "Terminal Risk Management Data", FormatB, 1, 8},
	{0x9F1E, "Interface Device (IFD) Serial Number", FormatAN, 8, 8},
	{0x9F1F, "Track 1 Discretionary Data", FormatANS, 0, 0},
	{0x9F20, "Track 2 Discretionary Data", FormatCN, 0, 0},
	{0x9F21, "Transaction Time", FormatN, 3, 3},
	{0x9F22, "Certification Authority Public Key Index (terminal)", FormatB, 1, 1},
	{0x9F23, "Upper Consecutive Offline Limit", FormatB, 1, 1},
	{0x9F26, "Application Cryptogram", FormatB, 8, 8},
	{0x9F27, "Cryptogram Information Data", FormatB, 1, 1},
	{0x9F2D, "ICC PIN Encipherment Public Key Certificate", FormatB, 0, 0},
	{0x9F2E, "ICC PIN Encipherment Public Key Exponent", FormatB, 1, 3},
	{0x9F2F, "ICC PIN Encipherment Public Key Remainder", FormatB, 0, 0},
	{0x9F32, "Issuer Public Key Exponent", FormatB, 1, 3},
	{0x9F33, "Terminal Capabilities", FormatB, 3, 3},
	{0x9F34, "Cardholder Verification Method (CVM) Results", FormatB, 3, 3},
	{0x9F35, "Terminal Type", FormatN, 1, 1},
	{0x9F36, "Application Transaction Counter (ATC)", FormatB, 2, 2},
	{0x9F37, "Unpredictable Number", FormatB, 4, 4},
	{0x9F38, "Processing Options Data Object List (PDOL)", FormatB, 0, 0},
	{0x9F39, "Point-of-Service (POS) Entry Mode", FormatN, 1, 1},
	{0x9F3A, "Amount, Reference Currency", FormatB, 4, 4},
	{0x9F3B, "Application Reference Currency", FormatN, 2, 8},
	{0x9F3C, "Transaction Reference Currency Code", FormatN, 2, 2},
	{0x9F3D, "Transaction Reference Currency Exponent", FormatN, 1, 1},
	{0x9F40, "Additional Terminal Capabilities", FormatB, 5, 5},
	{0x9F41, "Transaction Sequence Counter", FormatN, 2, 4},
	{0x9F42, "Application Currency Code", FormatN, 2, 2},
	{0x9F43, "Application Reference Currency Exponent", FormatN, 1, 4},
	{0x9F44, "Application Currency Exponent", FormatN, 1, 1},
	{0x9F45, "Data Authentication Code", FormatB, 2, 2},
	{0x9F46, "ICC Public Key Certificate", FormatB, 0, 0},
	{0x9F47, "ICC Public Key Exponent", FormatB, 1, 3},
	{0x9F48, "ICC Public Key Remainder", FormatB, 0, 0},
	{0x9F49, "Dynamic Data Authentication Data Object List (DDOL)", FormatB, 0, 252},
	{0x9F4A, "Static Data Authentication Tag List", FormatB, 0, 0},
	{0x9F4B, "Signed Dynamic Application Data", FormatB, 0, 0},
	{0x9F4C, "ICC Dynamic Number", FormatB, 2, 8},
	{0x9F4D, "Log Entry", FormatB, 2, 2},
	{0x9F4E, "Merchant Name and Location", FormatANS, 0, 0},
	{0x9F4F, "Log Format", FormatB, 0, 0},
	{0xA5, "File Control Information (FCI) Proprietary Template", FormatB, 0, 0},
	{0xBF0C, "File Control Information (FCI) Issuer Discretionary Data", FormatB, 0, 222},

	// PBOC (JR/T 0025) debit/credit, electronic cash and qPBOC.
	{0x9F51, "Application Currency Code (PBOC)", FormatN, 2, 2},
	{0x9F5D, "Available Offline Spending Amount", FormatN, 6, 6},
	{0x9F61, "Cardholder ID Number", FormatAN, 1, 40},
	{0x9F62, "Cardholder ID Type", FormatB, 1, 1},
	{0x9F63, "Card Product Identification Information", FormatB, 16, 16},
	{0x9F66, "Terminal Transaction Qualifiers (TTQ)", FormatB, 4, 4},
	{0x9F69, "Card Authentication Related Data", FormatB, 5, 16},
	{0x9F6B, "Card CVM Limit", FormatN, 6, 6},
	{0x9F6C, "Card Transaction Qualifiers (CTQ)", FormatB, 2, 2},
	{0x9F6D, "EC Reset Threshold", FormatN, 6, 6},
	{0x9F74, "EC Issuer Authorisation Code", FormatAN, 6, 6},
	{0x9F77, "EC Balance Limit", FormatN, 6, 6},
	{0x9F78, "EC Single Transaction Limit", FormatN, 6, 6},
	{0x9F79, "EC Balance", FormatN, 6, 6},
	{0x9F7A, "EC Terminal Support Indicator", FormatB, 1, 1},
	{0x9F7B, "EC Terminal Transaction Limit", FormatN, 6, 6},
	{0xDF31, "Issuer Script Results", FormatB, 0, 0},
	{0xDF4D, "Load Log Entry", FormatB, 2, 2},
	{0xDF4F, "Load Log Format", FormatB, 0, 0},
	{0xDF60, "Card Transaction Attribute (PBOC 3.0)", FormatB, 1, 1},
	{0xDF69, "SM Algorithm Supported Indicator", FormatB, 1, 1},
	{0xDF71, "Second Application Currency Code", FormatN, 2, 2},
	{0xDF76, "Second Currency EC Reset Threshold", FormatN, 6, 6},
	{0xDF77, "Second Currency EC Balance Limit", FormatN, 6, 6},
	{0xDF78, "Second Currency EC Single Transaction Limit", FormatN, 6, 6},
	{0xDF79, "Second Currency EC Balance", FormatN, 6, 6},
}
