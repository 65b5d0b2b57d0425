// SPDX-License-Identifier: Apache-2.0

package apdu

// Cryptogram types and the CDA request for the P1 of GENERATE AC.
const (
	// ACTypeAAC requests an application authentication cryptogram (decline).
	ACTypeAAC byte = 0x00
	// ACTypeTC requests a transaction certificate (offline approval).
	ACTypeTC byte = 0x40
	// ACTypeARQC requests an authorisation request cryptogram (go online).
	ACTypeARQC byte = 0x80
	// ACCDA is OR-ed into P1 to request combined dynamic data
	// authentication with the cryptogram.
	ACCDA byte = 0x10
)

// Select builds SELECT by DF name (first or only occurrence):
// 00 A4 04 00 Lc name 00. Data aliases name.
func Select(name []byte) Command {
	return Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x00, Data: name, Ne: MaxNe}
}

// SelectNext builds SELECT by DF name, next occurrence (used to walk partial
// AID matches): 00 A4 04 02 Lc name 00. Data aliases name.
func SelectNext(name []byte) Command {
	return Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x02, Data: name, Ne: MaxNe}
}

// GetProcessingOptions builds GET PROCESSING OPTIONS with the PDOL-related
// data wrapped in the command template 83: 80 A8 00 00 Lc 83 L data 00. An
// empty PDOL gives the data field 83 00. A data field that does not fit a
// short APDU (more than 252 bytes of PDOL data) fails Validate.
func GetProcessingOptions(pdolData []byte) Command {
	n := len(pdolData)
	data := make([]byte, 0, n+4)
	data = append(data, 0x83)
	switch {
	case n < 0x80:
		data = append(data, byte(n))
	case n <= 0xFF:
		data = append(data, 0x81, byte(n))
	default:
		data = append(data, 0x82, byte(n>>8), byte(n))
	}
	data = append(data, pdolData...)
	return Command{CLA: 0x80, INS: 0xA8, P1: 0x00, P2: 0x00, Data: data, Ne: MaxNe}
}

// ReadRecord builds READ RECORD of record number record in the file with
// short file identifier sfi (1..30): 00 B2 record (sfi<<3|4) 00.
func ReadRecord(sfi, record byte) Command {
	return Command{CLA: 0x00, INS: 0xB2, P1: record, P2: sfi<<3 | 0x04, Ne: MaxNe}
}

// GetData builds GET DATA for a primitive data object such as 9F79 (EC
// balance), 9F36 (ATC) or 9F17 (PIN try counter): 80 CA hi lo 00.
func GetData(tag uint16) Command {
	return Command{CLA: 0x80, INS: 0xCA, P1: byte(tag >> 8), P2: byte(tag), Ne: MaxNe}
}

// GenerateAC builds GENERATE APPLICATION CRYPTOGRAM: 80 AE p1 00 Lc data 00,
// where p1 is ACTypeAAC, ACTypeTC or ACTypeARQC, optionally OR-ed with
// ACCDA, and cdolData is the CDOL1 or CDOL2 related data. Data aliases
// cdolData.
func GenerateAC(p1 byte, cdolData []byte) Command {
	return Command{CLA: 0x80, INS: 0xAE, P1: p1, P2: 0x00, Data: cdolData, Ne: MaxNe}
}

// InternalAuthenticate builds INTERNAL AUTHENTICATE for DDA with the
// DDOL-related data: 00 88 00 00 Lc data 00. Data aliases ddolData.
func InternalAuthenticate(ddolData []byte) Command {
	return Command{CLA: 0x00, INS: 0x88, P1: 0x00, P2: 0x00, Data: ddolData, Ne: MaxNe}
}

// ExternalAuthenticate builds EXTERNAL AUTHENTICATE with the issuer
// authentication data (tag 91): 00 82 00 00 Lc data. Data aliases data.
func ExternalAuthenticate(data []byte) Command {
	return Command{CLA: 0x00, INS: 0x82, P1: 0x00, P2: 0x00, Data: data}
}

// GetChallenge builds GET CHALLENGE, which asks the card for an
// unpredictable number (used to encipher an offline PIN): 00 84 00 00 00.
func GetChallenge() Command {
	return Command{CLA: 0x00, INS: 0x84, P1: 0x00, P2: 0x00, Ne: MaxNe}
}

// Verify builds VERIFY: 00 20 00 p2 Lc data, where p2 is 80 for a plaintext
// offline PIN block and 88 for an enciphered one. Data aliases data. The
// tracer made by NewTracer never logs the data of this command.
func Verify(p2 byte, data []byte) Command {
	return Command{CLA: 0x00, INS: 0x20, P1: 0x00, P2: p2, Data: data}
}

// GetResponse builds GET RESPONSE for n bytes: 00 C0 00 00 Le. An n outside
// 1..256 asks for 256 bytes (Le = 00).
func GetResponse(n int) Command {
	if n < 1 || n > MaxNe {
		n = MaxNe
	}
	return Command{CLA: 0x00, INS: 0xC0, P1: 0x00, P2: 0x00, Ne: n}
}
