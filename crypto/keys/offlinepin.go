package keys

import (
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"
	"strings"
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
	if len(pin) < 4 || len(pin) > 12 {
		return nil, fmt.Errorf("PIN has %d digits, want 4-12: %w", len(pin), ErrInput)
	}
	block := make([]byte, OfflinePINBlockLen)
	for i := range block {
		block[i] = 0xFF
	}
	setNibble(block, 0, 0x2)
	setNibble(block, 1, byte(len(pin)))
	for i := range len(pin) {
		d := pin[i] - '0'
		if d > 9 {
			clear(block)
			return nil, fmt.Errorf("PIN has a non-digit: %w", ErrInput)
		}
		setNibble(block, i+2, d)
	}
	return block, nil
}

// PINFromOfflineBlock is the card's side of OfflinePINBlock: it checks the
// control nibble, the length and the F filler and returns the PIN.
func PINFromOfflineBlock(block []byte) (string, error) {
	if len(block) != OfflinePINBlockLen {
		return "", fmt.Errorf("offline PIN block is %d bytes, want %d: %w", len(block), OfflinePINBlockLen, ErrInput)
	}
	if nibble(block, 0) != 0x2 {
		return "", fmt.Errorf("offline PIN block is not format 2: %w", ErrInput)
	}
	n := int(nibble(block, 1))
	if n < 4 || n > 12 {
		return "", fmt.Errorf("offline PIN block gives a PIN length of %d: %w", n, ErrInput)
	}
	var sb strings.Builder
	sb.Grow(n)
	for i := range n {
		d := nibble(block, i+2)
		if d > 9 {
			return "", fmt.Errorf("offline PIN block has a non-digit PIN: %w", ErrInput)
		}
		sb.WriteByte('0' + d)
	}
	for i := n + 2; i < 2*OfflinePINBlockLen; i++ {
		if nibble(block, i) != 0x0F {
			return "", fmt.Errorf("offline PIN block filler is not F: %w", ErrInput)
		}
	}
	return sb.String(), nil
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
