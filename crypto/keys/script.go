// SPDX-License-Identifier: Apache-2.0

package keys

import "fmt"

// PUT DATA command header bytes used by EC update scripts.
const (
	putDataCLA = 0x04 // secure messaging, proprietary
	putDataINS = 0xDA
)

// ECUpdateScript builds the PUT DATA issuer script command that sets an EC
// data element (9F79 balance, 9F77 balance limit, 9F78 single limit, 9F6D
// reset threshold, …) and its MAC:
//
//	04 DA tagHi tagLo Lc value MAC(4)        Lc = len(value)+4
//
// The MAC is ScriptMAC under smiSessionKey (SessionKey of the card's SMI key
// at the ATC of the transaction) over
//
//	04 DA tagHi tagLo Lc ‖ ATC(2) ‖ ARQC(8) ‖ value
//
// where ATC and ARQC are those the card sent with the first GENERATE AC.
// The result is the command only; wrapping it in 86 / 72 templates is the
// caller's business.
func ECUpdateScript(alg Alg, smiSessionKey []byte, tag uint16, value []byte, atc []byte, arqc []byte) ([]byte, error) {
	if len(value) > 255-ScriptMACLen {
		return nil, fmt.Errorf("PUT DATA value of %d bytes is too long: %w", len(value), ErrInput)
	}
	m, err := scriptMAC(alg, smiSessionKey, tag, value, atc, arqc)
	if err != nil {
		return nil, err
	}
	apdu := make([]byte, 0, 5+len(value)+ScriptMACLen)
	apdu = append(apdu, putDataCLA, putDataINS, byte(tag>>8), byte(tag), byte(len(value)+ScriptMACLen))
	apdu = append(apdu, value...)
	return append(apdu, m...), nil
}

// VerifyECUpdateScript is the card side of ECUpdateScript: it parses a PUT
// DATA command with CLA 04, checks its MAC in constant time and returns the
// tag and a copy of the value. A wrong MAC gives an error wrapping ErrMAC; a
// malformed command one wrapping ErrInput.
func VerifyECUpdateScript(alg Alg, smiSessionKey []byte, apdu []byte, atc, arqc []byte) (tag uint16, value []byte, err error) {
	if len(apdu) < 5+ScriptMACLen {
		return 0, nil, fmt.Errorf("PUT DATA command of %d bytes is too short: %w", len(apdu), ErrInput)
	}
	if apdu[0] != putDataCLA || apdu[1] != putDataINS {
		return 0, nil, fmt.Errorf("command %02X %02X is not a secured PUT DATA: %w", apdu[0], apdu[1], ErrInput)
	}
	if int(apdu[4]) != len(apdu)-5 {
		return 0, nil, fmt.Errorf("PUT DATA length byte %d does not match %d data bytes: %w", apdu[4], len(apdu)-5, ErrInput)
	}
	tag = uint16(apdu[2])<<8 | uint16(apdu[3])
	v := apdu[5 : len(apdu)-ScriptMACLen]
	want, err := scriptMAC(alg, smiSessionKey, tag, v, atc, arqc)
	if err != nil {
		return 0, nil, err
	}
	if !Equal(want, apdu[len(apdu)-ScriptMACLen:]) {
		return 0, nil, fmt.Errorf("PUT DATA %04X: %w", tag, ErrMAC)
	}
	return tag, append([]byte(nil), v...), nil
}

// scriptMAC computes the MAC of a PUT DATA command with the given value.
func scriptMAC(alg Alg, sk []byte, tag uint16, value, atc, arqc []byte) ([]byte, error) {
	if len(atc) != 2 {
		return nil, fmt.Errorf("ATC is %d bytes, want 2: %w", len(atc), ErrInput)
	}
	if len(arqc) != CryptogramLen {
		return nil, fmt.Errorf("ARQC is %d bytes, want %d: %w", len(arqc), CryptogramLen, ErrInput)
	}
	in := make([]byte, 0, 5+2+CryptogramLen+len(value))
	in = append(in, putDataCLA, putDataINS, byte(tag>>8), byte(tag), byte(len(value)+ScriptMACLen))
	in = append(in, atc...)
	in = append(in, arqc...)
	in = append(in, value...)
	return ScriptMAC(alg, sk, in)
}
