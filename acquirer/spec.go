// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
)

// The fields of the UnionPay POS message (ACQUIRER-NOTES §2). Numeric
// fields are packed BCD with BCD length prefixes (LL one byte, LLL two);
// right-aligned unless the notes say left ("LBCD": an odd length gets a
// trailing 0 nibble).
const (
	fPAN            = 2
	fProcessingCode = 3
	fAmount         = 4
	fSTAN           = 11
	fLocalTime      = 12
	fLocalDate      = 13
	fExpiry         = 14
	fSettleDate     = 15
	fEntryMode      = 22
	fPANSequence    = 23
	fCondition      = 25
	fPINCapture     = 26
	fAcquirerID     = 32
	fTrack2         = 35
	fTrack3         = 36
	fRRN            = 37
	fAuthCode       = 38
	fResponseCode   = 39
	fTerminalID     = 41
	fMerchantID     = 42
	fAcceptorName   = 43
	fAddResponse    = 44
	fAdditionalISO  = 46
	fAdditional     = 48
	fCurrency       = 49
	fPINBlock       = 52
	fSecurity       = 53
	fBalance        = 54
	fICC            = 55
	fReserved56     = 56
	fReserved59     = 59
	fReserved60     = 60
	fOriginal       = 61
	fPrivate62      = 62
	fPrivate63      = 63
	fMAC            = 64
)

// newSpec builds the moov-io message spec of the UnionPay POS variant.
// field60Max is the longest field 60 accepted (17 or 19 digits: vendors
// differ).
func newSpec(field60Max int) *iso8583.MessageSpec {
	n := func(length int, desc string) field.Field { // fixed numeric, right-aligned
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: bcdRight, Pref: prefix.BCD.Fixed})
	}
	nl := func(length int, desc string) field.Field { // fixed numeric, left-aligned
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: bcdLeft, Pref: prefix.BCD.Fixed})
	}
	nv := func(length int, pref prefix.Prefixer, desc string) field.Field { // variable numeric, left-aligned
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: bcdLeft, Pref: pref})
	}
	an := func(length int, desc string) field.Field {
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed})
	}
	b := func(length int, pref prefix.Prefixer, desc string) field.Field {
		return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: pref})
	}
	z := func(length int, pref prefix.Prefixer, desc string) field.Field {
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: trackEncoding, Pref: pref})
	}
	return &iso8583.MessageSpec{
		Name: "UnionPay POS (CUP 8583, BCD)",
		Fields: map[int]field.Field{
			0: field.NewString(&field.Spec{Length: 4, Description: "Message Type Indicator", Enc: bcdRight, Pref: prefix.BCD.Fixed}),
			1: field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary, Pref: prefix.Binary.Fixed, DisableAutoExpand: true}),

			fPAN:            nv(19, bcdLL, "Primary Account Number"),
			fProcessingCode: n(6, "Processing Code"),
			fAmount:         n(12, "Amount, Transaction"),
			fSTAN:           n(6, "System Trace Audit Number"),
			fLocalTime:      n(6, "Time, Local Transaction (hhmmss)"),
			fLocalDate:      n(4, "Date, Local Transaction (MMDD)"),
			fExpiry:         n(4, "Date, Expiration (YYMM)"),
			fSettleDate:     n(4, "Date, Settlement (MMDD)"),
			fEntryMode:      nl(3, "Point of Service Entry Mode (left-aligned)"),
			fPANSequence:    n(3, "Card Sequence Number"),
			fCondition:      n(2, "Point of Service Condition Code"),
			fPINCapture:     n(2, "Point of Service PIN Capture Code"),
			fAcquirerID:     nv(11, bcdLL, "Acquiring Institution Identification Code"),
			fTrack2:         z(37, bcdLL, "Track 2 Data"),
			fTrack3:         z(104, bcdLLL, "Track 3 Data"),
			fRRN:            an(12, "Retrieval Reference Number"),
			fAuthCode:       an(6, "Authorization Identification Response"),
			fResponseCode:   an(2, "Response Code"),
			fTerminalID:     an(8, "Card Acceptor Terminal Identification"),
			fMerchantID:     an(15, "Card Acceptor Identification Code"),
			// 43, 46, 56 and 59 are not in the notes' field table, but real
			// acquirers send them: 59 carries the QR code of a UnionPay QR
			// sale and its reply (yangyongzhen/go8583 log.txt, MAC'd),
			// 43/46/56 an acquirer's merchant name, terminal data and result
			// text (vfwz/iso8583-parser PosMessageTest.java). ISO 8583:1987
			// formats with this variant's BCD lengths, read as bytes (the
			// text is GBK); the link never sends them.
			fAcceptorName:  b(40, prefix.Binary.Fixed, "Card Acceptor Name/Location"),
			fAddResponse:   field.NewString(&field.Spec{Length: 25, Description: "Additional Response Data", Enc: encoding.ASCII, Pref: bcdLL}),
			fAdditionalISO: b(999, bcdLLL, "Additional Data - ISO"),
			fAdditional:    nv(322, bcdLLL, "Additional Data - Private"),
			fCurrency:      an(3, "Currency Code, Transaction"),
			fPINBlock:      b(8, prefix.Binary.Fixed, "PIN Data"),
			fSecurity:      n(16, "Security Related Control Information"),
			fBalance:       field.NewString(&field.Spec{Length: 20, Description: "Balance Amount", Enc: encoding.ASCII, Pref: bcdLLL}),
			fICC:           b(255, bcdLLL, "ICC System Related Data"),
			fReserved56:    b(999, bcdLLL, "Reserved ISO"),
			fReserved59:    b(999, bcdLLL, "Reserved National (QR code data, ...)"),
			fReserved60:    nv(field60Max, bcdLLL, "Reserved Private (type, batch, network code, ...)"),
			fOriginal:      nv(29, bcdLLL, "Original Message"),
			fPrivate62:     b(512, bcdLLL, "Reserved Private"),
			// 63 is "ans" but replies carry GBK text: bytes, not ASCII.
			fPrivate63: b(163, bcdLLL, "Reserved Private"),
			fMAC:       b(8, prefix.Binary.Fixed, "Message Authentication Code"),
		},
	}
}
