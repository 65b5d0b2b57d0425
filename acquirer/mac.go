// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"fmt"
)

// MACLen is the length of field 64.
const MACLen = 8

// CUPMAC computes field 64 the way UnionPay POS terminals do ("CUP ECB",
// ACQUIRER-NOTES §4): the MAC block (the message from the MTI through
// field 63) padded with 00 to a multiple of 8 and folded by XOR into 8
// bytes R; H = the 16 upper-case hex characters of R;
// E = DES(MAK, DES(MAK, H[0:8]) ⊕ H[8:16]); the MAC is the first 8
// characters of upper-case hex(E), as ASCII. mak is a single-length DES
// key (8 bytes), or K‖K (16 bytes), which is the same single DES.
//
// It is not ANSI X9.9 or X9.19. A 16-byte MAK whose halves differ is
// refused: the terminals this follows compute single DES.
func CUPMAC(mak, mab []byte) ([MACLen]byte, error) {
	var out [MACLen]byte
	b, err := desCipher(mak)
	if err != nil {
		return out, err
	}
	var r [8]byte
	for i := 0; i < len(mab); i += 8 {
		end := min(i+8, len(mab))
		for j := i; j < end; j++ {
			r[j-i] ^= mab[j]
		}
	}
	var h [16]byte
	upperHex(h[:], r[:])
	var e [8]byte
	b.Encrypt(e[:], h[:8])
	for j := range e {
		e[j] ^= h[8+j]
	}
	b.Encrypt(e[:], e[:])
	var eh [16]byte
	upperHex(eh[:], e[:])
	copy(out[:], eh[:MACLen])
	clear(r[:])
	clear(h[:])
	return out, nil
}

// desCipher returns single DES for an 8-byte key or a 16-byte K‖K key.
func desCipher(key []byte) (cipher.Block, error) {
	switch {
	case len(key) == 8:
	case len(key) == 16 && subtle.ConstantTimeCompare(key[:8], key[8:]) == 1:
		key = key[:8]
	default:
		return nil, fmt.Errorf("%w: MAC key of %d bytes (8, or 16 as K‖K)", ErrKey, len(key))
	}
	b, err := des.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return b, nil
}

// tdesCipher returns two-key triple DES for a 16-byte key, or single DES
// (as K‖K‖K) for an 8-byte key.
func tdesCipher(key []byte) (cipher.Block, error) {
	var k [24]byte
	defer clear(k[:])
	switch len(key) {
	case 8:
		copy(k[:], key)
		copy(k[8:], key)
		copy(k[16:], key)
	case 16:
		copy(k[:], key)
		copy(k[16:], key[:8])
	default:
		return nil, fmt.Errorf("%w: key of %d bytes (8 or 16)", ErrKey, len(key))
	}
	b, err := des.NewTripleDESCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return b, nil
}

// ecb enciphers (or deciphers) src block by block into a new slice.
func ecb(b cipher.Block, src []byte, encrypt bool) ([]byte, error) {
	bs := b.BlockSize()
	if len(src) == 0 || len(src)%bs != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a multiple of %d", ErrKey, len(src), bs)
	}
	out := make([]byte, len(src))
	for i := 0; i < len(src); i += bs {
		if encrypt {
			b.Encrypt(out[i:i+bs], src[i:i+bs])
		} else {
			b.Decrypt(out[i:i+bs], src[i:i+bs])
		}
	}
	return out, nil
}

const hexUpper = "0123456789ABCDEF"

func upperHex(dst, src []byte) {
	for i, c := range src {
		dst[2*i], dst[2*i+1] = hexUpper[c>>4], hexUpper[c&0x0F]
	}
}
