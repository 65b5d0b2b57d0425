// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"
)

// Offline PIN: the PIN the card itself verifies (EMV Book 3 §6.5.12 VERIFY,
// §10.5.1; Book 2 §7.2). A PIN pad builds these blocks; the card opens
// them. Every value here is secret: do not log it.

// OfflinePINBlockLen is the length of the plaintext offline PIN block.
const OfflinePINBlockLen = 8

// ChallengeLen is the length of the card's unpredictable number that GET
// CHALLENGE returns and an enciphered PIN carries.
const ChallengeLen = 8

// offlinePINHeader is the data header of an enciphered PIN (Book 2 table 32).
const offlinePINHeader = 0x7F

// OfflinePINBlock returns the plaintext offline PIN block of VERIFY (EMV
// Book 3 §6.5.12, format 2): the control nibble 2, the PIN length N, the N
// digits, filled with F to 8 bytes. pin must be 4 to 12 digits.
func OfflinePINBlock(pin string) ([]byte, error) {
	return pinField(0x2, pin, OfflinePINBlockLen)
}

// PINFromOfflineBlock is the card's side of OfflinePINBlock: it checks the
// control nibble, the length and the F filler and returns the PIN.
func PINFromOfflineBlock(block []byte) (string, error) {
	if len(block) != OfflinePINBlockLen {
		return "", fmt.Errorf("offline PIN block is %d bytes, want %d: %w", len(block), OfflinePINBlockLen, ErrInput)
	}
	return readPINField(0x2, block)
}

// EncipherOfflinePIN enciphers a plaintext offline PIN block for VERIFY
// with P2 88 (EMV Book 2 §7.2): the data 7F ‖ PIN block (8) ‖ the card's
// challenge (8) ‖ a random pad of N−17 bytes from random, raised to the
// RSA public exponent modulo the card's PIN encipherment key (or ICC key),
// N bytes long. The modulus must be at least 64 bytes with its top bit set
// (so that the data, which starts with 7F, is smaller than it); the
// exponent 1 to 4 bytes.
func EncipherOfflinePIN(modulus, exponent, block, challenge []byte, random io.Reader) ([]byte, error) {
	n := len(modulus)
	if n < 64 || modulus[0] < 0x80 {
		return nil, fmt.Errorf("RSA modulus of %d bytes (leading %02X): %w", n, first(modulus), ErrInput)
	}
	if len(exponent) == 0 || len(exponent) > 4 || exponent[len(exponent)-1]&1 == 0 {
		return nil, fmt.Errorf("RSA exponent of %d bytes: %w", len(exponent), ErrInput)
	}
	if len(block) != OfflinePINBlockLen || len(challenge) != ChallengeLen {
		return nil, fmt.Errorf("PIN block of %d bytes and challenge of %d: %w", len(block), len(challenge), ErrInput)
	}
	msg := make([]byte, n)
	defer clear(msg)
	msg[0] = offlinePINHeader
	copy(msg[1:], block)
	copy(msg[9:], challenge)
	if _, err := io.ReadFull(random, msg[17:]); err != nil {
		return nil, fmt.Errorf("keys: random pad: %w", err)
	}
	m := new(big.Int).SetBytes(msg)
	c := m.Exp(m, new(big.Int).SetBytes(exponent), new(big.Int).SetBytes(modulus))
	out := make([]byte, n)
	c.FillBytes(out)
	return out, nil
}

// OpenOfflinePIN is the card's check of an enciphered PIN after its RSA
// private operation (Book 2 §7.2, the ICC's steps): the data header 7F and
// the challenge it issued (compared in constant time). It returns the
// plaintext PIN block inside.
func OpenOfflinePIN(recovered, challenge []byte) ([]byte, error) {
	if len(challenge) != ChallengeLen || len(recovered) < 1+OfflinePINBlockLen+ChallengeLen {
		return nil, fmt.Errorf("enciphered PIN data of %d bytes: %w", len(recovered), ErrInput)
	}
	if recovered[0] != offlinePINHeader {
		return nil, fmt.Errorf("enciphered PIN data header %02X: %w", recovered[0], ErrInput)
	}
	if subtle.ConstantTimeCompare(recovered[9:17], challenge) != 1 {
		return nil, fmt.Errorf("enciphered PIN carries another challenge: %w", ErrInput)
	}
	return append([]byte(nil), recovered[1:9]...), nil
}

func first(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
