// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"fmt"
	"strings"
)

// IssuerKeys holds an issuer's master keys (IMK), 16 bytes each: AC for
// application cryptograms, SMI for secure-messaging integrity (script MACs)
// and SMC for secure-messaging confidentiality.
type IssuerKeys struct {
	AC, SMI, SMC []byte
}

// CardKeys holds one card's ICC master keys (UDK / MK), 16 bytes each, as
// derived from IssuerKeys.
type CardKeys struct {
	AC, SMI, SMC []byte
}

// Derive derives the three card keys for the card with the given PAN and
// PAN sequence number using DeriveICCKey.
func (ik IssuerKeys) Derive(alg Alg, pan string, psn byte) (CardKeys, error) {
	var ck CardKeys
	var err error
	if ck.AC, err = DeriveICCKey(alg, ik.AC, pan, psn); err != nil {
		return CardKeys{}, fmt.Errorf("AC: %w", err)
	}
	if ck.SMI, err = DeriveICCKey(alg, ik.SMI, pan, psn); err != nil {
		return CardKeys{}, fmt.Errorf("SMI: %w", err)
	}
	if ck.SMC, err = DeriveICCKey(alg, ik.SMC, pan, psn); err != nil {
		return CardKeys{}, fmt.Errorf("SMC: %w", err)
	}
	return ck, nil
}

// DeriveICCKey derives an ICC master key from the issuer master key imk with
// EMV Book 2 Annex A1.4.1 option A, for TDES, or its 16-byte-block form for
// SM4 (see the package documentation).
//
// pan is the PAN as digits; trailing 'F' padding (as in tag 5A) is ignored.
// psn is the PAN sequence number as stored in tag 5F34, that is BCD: 0x01 for
// sequence number 01, 0x12 for 12. A card without 5F34 uses 0x00.
func DeriveICCKey(alg Alg, imk []byte, pan string, psn byte) ([]byte, error) {
	b, err := newBlock(alg, imk)
	if err != nil {
		return nil, err
	}
	y, err := panPSNBlock(pan, psn)
	if err != nil {
		return nil, err
	}
	var in, out [16]byte
	copy(in[:8], y[:])
	for i := range 8 {
		in[8+i] = ^y[i]
	}
	if alg == SM4 {
		b.Encrypt(out[:], in[:])
		return out[:], nil
	}
	b.Encrypt(out[:8], in[:8])
	b.Encrypt(out[8:], in[8:])
	oddParity(out[:])
	return out[:], nil
}

// panPSNBlock returns Y: the rightmost 16 digits of PAN‖PSN, zero-padded on
// the left, packed into 8 bytes.
func panPSNBlock(pan string, psn byte) ([8]byte, error) {
	var y [8]byte
	pan = strings.TrimRight(pan, "Ff")
	if len(pan) == 0 || len(pan) > 19 {
		return y, fmt.Errorf("PAN has %d digits: %w", len(pan), ErrInput)
	}
	for i := range len(pan) {
		if pan[i] < '0' || pan[i] > '9' {
			return y, fmt.Errorf("PAN has a non-digit at %d: %w", i, ErrInput)
		}
	}
	if psn>>4 > 9 || psn&0x0F > 9 {
		return y, fmt.Errorf("PSN %02X is not BCD: %w", psn, ErrInput)
	}
	digits := make([]byte, 0, 21)
	digits = append(digits, pan...)
	digits = append(digits, '0'+psn>>4, '0'+psn&0x0F)
	if len(digits) > 16 {
		digits = digits[len(digits)-16:]
	}
	// Fill y from the right.
	for i, j := len(digits)-1, 15; i >= 0; i, j = i-1, j-1 {
		d := digits[i] - '0'
		if j%2 == 1 {
			y[j/2] |= d
		} else {
			y[j/2] |= d << 4
		}
	}
	return y, nil
}

// SessionKey derives the PBOC session key for one transaction from an ICC
// master key and the application transaction counter (9F36):
//
//	TDES: E(MK, 000000000000‖ATC) ‖ E(MK, 000000000000‖(ATC ⊕ FFFF))
//	SM4:  E(MK, 000000000000‖ATC‖000000000000‖(ATC ⊕ FFFF))
//
// The same derivation serves the AC key (cryptograms, ARPC) and the SMI key
// (script MACs).
func SessionKey(alg Alg, mk []byte, atc uint16) ([]byte, error) {
	b, err := newBlock(alg, mk)
	if err != nil {
		return nil, err
	}
	var in, out [16]byte
	in[6], in[7] = byte(atc>>8), byte(atc)
	in[14], in[15] = ^byte(atc>>8), ^byte(atc)
	if alg == SM4 {
		b.Encrypt(out[:], in[:])
	} else {
		b.Encrypt(out[:8], in[:8])
		b.Encrypt(out[8:], in[8:])
	}
	return out[:], nil
}
