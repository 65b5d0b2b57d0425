// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// Alg is a symmetric algorithm, numbered as in the algorithm byte of the PBOC
// issuer application data (9F10).
type Alg byte

const (
	// TDES is two-key triple DES (PBOC 2.0), 8-byte blocks.
	TDES Alg = 0x01
	// SM4 is the SM4 block cipher (PBOC 3.0), 16-byte blocks.
	SM4 Alg = 0x04
)

// KeyLen is the length in bytes of every key this package uses.
const KeyLen = 16

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	// ErrKeyLength reports a key that is not 16 bytes long.
	ErrKeyLength = errors.New("keys: bad key length")
	// ErrInput reports a malformed input other than a key: unknown
	// algorithm, bad PAN, PIN, ATC, ARQC, APDU, block length and the like.
	ErrInput = errors.New("keys: bad input")
	// ErrMAC reports a MAC that does not verify.
	ErrMAC = errors.New("keys: MAC mismatch")
)

// String returns "TDES", "SM4" or "Alg(0xNN)".
func (a Alg) String() string {
	switch a {
	case TDES:
		return "TDES"
	case SM4:
		return "SM4"
	}
	return fmt.Sprintf("Alg(0x%02X)", byte(a))
}

// BlockSize returns the cipher block size in bytes (8 for TDES, 16 for SM4),
// or 0 for an unknown algorithm.
func (a Alg) BlockSize() int {
	switch a {
	case TDES:
		return des.BlockSize
	case SM4:
		return sm4.BlockSize
	}
	return 0
}

// newBlock returns the block cipher for alg keyed with a 16-byte key.
func newBlock(alg Alg, key []byte) (cipher.Block, error) {
	if err := checkKey(alg, key); err != nil {
		return nil, err
	}
	if alg == SM4 {
		b, err := sm4.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("sm4: %w", err)
		}
		return b, nil
	}
	var k3 [24]byte
	copy(k3[:], key)
	copy(k3[16:], key[:8])
	b, err := des.NewTripleDESCipher(k3[:])
	clear(k3[:])
	if err != nil {
		return nil, fmt.Errorf("3des: %w", err)
	}
	return b, nil
}

// checkKey checks the algorithm and the key length.
func checkKey(alg Alg, key []byte) error {
	if alg != TDES && alg != SM4 {
		return fmt.Errorf("unknown algorithm %v: %w", alg, ErrInput)
	}
	if len(key) != KeyLen {
		return fmt.Errorf("%v key is %d bytes, want %d: %w", alg, len(key), KeyLen, ErrKeyLength)
	}
	return nil
}

// Equal reports whether a and b are equal, in time independent of their
// contents.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

func xorInto(dst, a, b []byte) {
	for i := range dst {
		dst[i] = a[i] ^ b[i]
	}
}

// oddParity sets the least significant bit of each byte so that every byte
// has an odd number of one bits (DES key parity).
func oddParity(k []byte) {
	for i, b := range k {
		b &^= 1
		n := 0
		for v := b; v != 0; v &= v - 1 {
			n++
		}
		if n%2 == 0 {
			b |= 1
		}
		k[i] = b
	}
}
