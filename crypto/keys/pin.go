// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"fmt"
	"strings"
)

// PINBlock returns the clear ISO 9564-1 format 0 (ANSI X9.8) PIN block: the
// PIN field 0 ‖ N ‖ PIN ‖ F…F (16 nibbles) XOR the PAN field 0000 ‖ the
// rightmost 12 PAN digits excluding the check digit (zero-padded on the left).
// pin must be 4 to 12 digits; pan 8 to 19 digits (trailing 'F' ignored).
// The result is secret: do not log it.
func PINBlock(pin, pan string) ([]byte, error) {
	return pinBlock(pin, pan, 8)
}

// PINBlock16 returns the 16-byte extension of format 0 used to encipher a
// PIN under SM4 by UnionPay PIN pads: the PIN field 0 ‖ N ‖ PIN filled with F
// to 32 nibbles, XOR the PAN field of 20 zero nibbles followed by the same 12
// PAN digits as PINBlock. Agree this layout with the host before relying on
// it. The result is secret: do not log it.
func PINBlock16(pin, pan string) ([]byte, error) {
	return pinBlock(pin, pan, 16)
}

func pinBlock(pin, pan string, size int) ([]byte, error) {
	block, err := pinField(0x0, pin, size)
	if err != nil {
		return nil, err
	}
	pf, err := panField(pan, size)
	if err != nil {
		return nil, err
	}
	xorInto(block, block, pf)
	return block, nil
}

// PINFromBlock recovers the PIN from a clear format 0 PIN block (8 bytes,
// PINBlock) or its 16-byte form (PINBlock16), checking the control nibble,
// the PIN length and the F filler.
func PINFromBlock(block []byte, pan string) (string, error) {
	if len(block) != 8 && len(block) != 16 {
		return "", fmt.Errorf("PIN block is %d bytes, want 8 or 16: %w", len(block), ErrInput)
	}
	pf, err := panField(pan, len(block))
	if err != nil {
		return "", err
	}
	clearField := make([]byte, len(block))
	defer clear(clearField)
	xorInto(clearField, block, pf)
	return readPINField(0x0, clearField)
}

// pinField is the PIN field that ISO 9564 formats 0 and 2 share: the
// control nibble, the PIN length N, the N digits, F to size bytes. pin
// must be 4 to 12 digits.
func pinField(control byte, pin string, size int) ([]byte, error) {
	if len(pin) < 4 || len(pin) > 12 {
		return nil, fmt.Errorf("PIN has %d digits, want 4-12: %w", len(pin), ErrInput)
	}
	field := make([]byte, size)
	for i := range field {
		field[i] = 0xFF
	}
	field[0] = control<<4 | byte(len(pin))
	for i := range len(pin) {
		d := pin[i] - '0'
		if d > 9 {
			clear(field)
			return nil, fmt.Errorf("PIN has a non-digit: %w", ErrInput)
		}
		setNibble(field, i+2, d)
	}
	return field, nil
}

// readPINField reads the PIN of a field built by pinField, checking the
// control nibble, the length, the digits and the F filler.
func readPINField(control byte, field []byte) (string, error) {
	if field[0]>>4 != control {
		return "", fmt.Errorf("PIN block is not format %d: %w", control, ErrInput)
	}
	n := int(field[0] & 0x0F)
	if n < 4 || n > 12 {
		return "", fmt.Errorf("PIN block gives a PIN length of %d: %w", n, ErrInput)
	}
	var sb strings.Builder
	sb.Grow(n)
	for i := range n {
		d := nibble(field, i+2)
		if d > 9 {
			return "", fmt.Errorf("PIN block has a non-digit PIN: %w", ErrInput)
		}
		sb.WriteByte('0' + d)
	}
	for i := n + 2; i < 2*len(field); i++ {
		if nibble(field, i) != 0x0F {
			return "", fmt.Errorf("PIN block filler is not F: %w", ErrInput)
		}
	}
	return sb.String(), nil
}

// EncryptPINBlock enciphers a clear PIN block with one block of the cipher
// (ECB): an 8-byte block (PINBlock) for TDES, a 16-byte one (PINBlock16) for
// SM4.
func EncryptPINBlock(alg Alg, key, block []byte) ([]byte, error) {
	return pinCrypt(alg, key, block, true)
}

// DecryptPINBlock is the inverse of EncryptPINBlock. The result is secret:
// do not log it.
func DecryptPINBlock(alg Alg, key, enc []byte) ([]byte, error) {
	return pinCrypt(alg, key, enc, false)
}

func pinCrypt(alg Alg, key, in []byte, encrypt bool) ([]byte, error) {
	b, err := newBlock(alg, key)
	if err != nil {
		return nil, err
	}
	if len(in) != alg.BlockSize() {
		return nil, fmt.Errorf("%v PIN block is %d bytes, want %d: %w", alg, len(in), alg.BlockSize(), ErrInput)
	}
	out := make([]byte, len(in))
	if encrypt {
		b.Encrypt(out, in)
	} else {
		b.Decrypt(out, in)
	}
	return out, nil
}

// panField returns the PAN field of a format 0 block of the given size: zero
// nibbles, then the rightmost 12 digits of the PAN without its check digit.
func panField(pan string, size int) ([]byte, error) {
	pan = strings.TrimRight(pan, "Ff")
	if len(pan) < 8 || len(pan) > 19 {
		return nil, fmt.Errorf("PAN has %d digits, want 8-19: %w", len(pan), ErrInput)
	}
	for i := range len(pan) {
		if pan[i] < '0' || pan[i] > '9' {
			return nil, fmt.Errorf("PAN has a non-digit at %d: %w", i, ErrInput)
		}
	}
	digits := pan[:len(pan)-1]
	if len(digits) > 12 {
		digits = digits[len(digits)-12:]
	}
	f := make([]byte, size)
	last := 2*size - 1
	for i := len(digits) - 1; i >= 0; i-- {
		setNibble(f, last, digits[i]-'0')
		last--
	}
	return f, nil
}

func nibble(b []byte, i int) byte {
	if i%2 == 0 {
		return b[i/2] >> 4
	}
	return b[i/2] & 0x0F
}

func setNibble(b []byte, i int, v byte) {
	if i%2 == 0 {
		b[i/2] = b[i/2]&0x0F | v<<4
	} else {
		b[i/2] = b[i/2]&0xF0 | v
	}
}
