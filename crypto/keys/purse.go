// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"crypto/des"
	"fmt"
)

// The PBOC electronic deposit / electronic purse (ED/EP, 电子存折/电子钱包)
// of fuel, transit and ETC cards computes its MACs differently from the
// EMV debit/credit application above: 16-byte card keys diversified from
// issuer master keys by the card's application serial number, 8-byte
// single-DES session keys, and 4-byte MACs.
//
// Card key (DLK load, DPK purchase, DULK unload, DTK TAC, DUK online
// unlock), from the master key MK and the 8-byte factor F (the right 8
// bytes of the 10-byte application serial number, ASN):
//
//	K = 3DES(MK, F) ‖ 3DES(MK, F ⊕ FF…FF)
//
// Session key (8 bytes) = 3DES(K, input), where input is, for load,
// unload and online unlock, card random 4 ‖ online serial 2 ‖ 80 00
// (OnlineSessionInput) and, for purchase, card random 4 ‖ offline serial
// (CTC) 2 ‖ the low 2 bytes of the terminal transaction serial (TTC)
// (OfflineSessionInput).
//
// MAC1, MAC2, MAC3 = the first 4 bytes of the single-DES CBC-MAC with the
// session key, IV zero, data always padded with 80 00… (a whole block of
// padding when the data is already a multiple of 8 bytes).
//
// TAC = the same MAC under the 8-byte key DTK[0:8] ⊕ DTK[8:16].
//
// Sources: the worked load and purchase examples reproduced in the tests
// (session keys, MAC1, MAC2 and the TAC key), a second example with a
// card's own answers (load MAC1, MAC2 and TAC, purchase MAC2 and TAC:
// purse_vectors_test.go), and the public terminal code listed in
// PURSE-NOTES.md. What the data of each MAC is lives in
// purse_data.go, with the status of each layout.

// Lengths of the purse values.
const (
	// PurseFactorLen is the length of a key diversification factor.
	PurseFactorLen = 8
	// PurseSessionKeyLen is the length of a purse session key.
	PurseSessionKeyLen = 8
	// PurseMACLen is the length of MAC1, MAC2, MAC3, TAC, GTAC and GMAC.
	PurseMACLen = 4
)

// DiversifyPurseKey derives a card's 16-byte key from the issuer master
// key (16 bytes) and the 8-byte factor (the right 8 bytes of the ASN):
// 3DES(MK, F) ‖ 3DES(MK, F ⊕ FF…FF). No parity adjustment is made.
func DiversifyPurseKey(master, factor []byte) ([]byte, error) {
	b, err := newBlock(TDES, master)
	if err != nil {
		return nil, err
	}
	if len(factor) != PurseFactorLen {
		return nil, fmt.Errorf("diversification factor is %d bytes, want %d: %w", len(factor), PurseFactorLen, ErrInput)
	}
	out := make([]byte, KeyLen)
	b.Encrypt(out[:8], factor)
	var inv [8]byte
	for i, c := range factor {
		inv[i] = ^c
	}
	b.Encrypt(out[8:], inv[:])
	return out, nil
}

// PurseSessionKey returns the 8-byte session key 3DES(key, input) for a
// 16-byte card key and an 8-byte input (OnlineSessionInput or
// OfflineSessionInput).
func PurseSessionKey(key, input []byte) ([]byte, error) {
	b, err := newBlock(TDES, key)
	if err != nil {
		return nil, err
	}
	if len(input) != 8 {
		return nil, fmt.Errorf("session key input is %d bytes, want 8: %w", len(input), ErrInput)
	}
	out := make([]byte, PurseSessionKeyLen)
	b.Encrypt(out, input)
	return out, nil
}

// OnlineSessionInput is the session key input of a load, unload or online
// unlock: card random ‖ online serial ‖ 80 00.
func OnlineSessionInput(random [4]byte, onlineSN uint16) []byte {
	return []byte{random[0], random[1], random[2], random[3], byte(onlineSN >> 8), byte(onlineSN), 0x80, 0x00}
}

// OfflineSessionInput is the session key input of a purchase: card random
// ‖ offline serial (CTC) ‖ the low two bytes of the terminal transaction
// serial (TTC).
func OfflineSessionInput(random [4]byte, ctc uint16, ttc uint32) []byte {
	return []byte{random[0], random[1], random[2], random[3], byte(ctc >> 8), byte(ctc), byte(ttc >> 8), byte(ttc)}
}

// PurseMAC returns the 4-byte MAC of data under an 8-byte session key:
// single-DES CBC-MAC, IV zero, padded with 80 00… (always), first 4 bytes.
func PurseMAC(sessionKey, data []byte) ([]byte, error) {
	h, err := purseCBC(sessionKey, data)
	if err != nil {
		return nil, err
	}
	return h[:PurseMACLen], nil
}

// VerifyPurseMAC reports whether mac is the PurseMAC of data under the
// session key, comparing in constant time. A mac that is not 4 bytes is an
// error wrapping ErrInput.
func VerifyPurseMAC(sessionKey, data, mac []byte) (bool, error) {
	if len(mac) != PurseMACLen {
		return false, fmt.Errorf("MAC is %d bytes, want %d: %w", len(mac), PurseMACLen, ErrInput)
	}
	want, err := PurseMAC(sessionKey, data)
	if err != nil {
		return false, err
	}
	return Equal(want, mac), nil
}

// purseCBC is the full 8-byte single-DES CBC-MAC of data with 80-padding.
func purseCBC(key, data []byte) ([]byte, error) {
	if len(key) != PurseSessionKeyLen {
		return nil, fmt.Errorf("DES key is %d bytes, want %d: %w", len(key), PurseSessionKeyLen, ErrKeyLength)
	}
	b, err := des.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("des: %w", err)
	}
	h := make([]byte, des.BlockSize)
	full := len(data) - len(data)%des.BlockSize
	chain(b, h, data[:full])
	var last [des.BlockSize]byte
	n := copy(last[:], data[full:])
	last[n] = 0x80
	chain(b, h, last[:])
	return h, nil
}

// PurseTACKey returns the 8-byte TAC key of a 16-byte card TAC key (DTK):
// its left half XOR its right half.
func PurseTACKey(dtk []byte) ([]byte, error) {
	if len(dtk) != KeyLen {
		return nil, fmt.Errorf("TAC key is %d bytes, want %d: %w", len(dtk), KeyLen, ErrKeyLength)
	}
	out := make([]byte, 8)
	xorInto(out, dtk[:8], dtk[8:])
	return out, nil
}

// PurseTAC returns the 4-byte transaction authentication code of data
// under the card's 16-byte TAC key: PurseMAC with PurseTACKey(dtk).
func PurseTAC(dtk, data []byte) ([]byte, error) {
	k, err := PurseTACKey(dtk)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	return PurseMAC(k, data)
}

// GreyLockSessionKey returns the session key of a fuel card's grey lock
// as one public terminal computes it (PURSE-NOTES §4, unverified for
// Sinopec cards): t = 3DES(DPK, OfflineSessionInput(card random, CTC,
// TTC)), then SESPK = DES(t, terminal random ‖ 80 00 00 00), the first
// block of PurseMAC's CBC over the 4-byte terminal random.
func GreyLockSessionKey(dpk []byte, cardRandom [4]byte, ctc uint16, ttc uint32, terminalRandom [4]byte) ([]byte, error) {
	t, err := PurseSessionKey(dpk, OfflineSessionInput(cardRandom, ctc, ttc))
	if err != nil {
		return nil, err
	}
	defer clear(t)
	return purseCBC(t, terminalRandom[:])
}
