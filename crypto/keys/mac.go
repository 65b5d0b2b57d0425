// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"crypto/cipher"
	"crypto/des"
	"fmt"
)

// Lengths of the values this package produces.
const (
	// CryptogramLen is the length of an ARQC, TC, AAC or ARPC.
	CryptogramLen = 8
	// ScriptMACLen is the length of an issuer script MAC.
	ScriptMACLen = 4
	// ACDataLen is the length of the data returned by ACData.
	ACDataLen = 37
)

// chain runs CBC-MAC over whole blocks of data, updating h in place.
func chain(b cipher.Block, h, data []byte) {
	bs := len(h)
	for len(data) >= bs {
		for i := range bs {
			h[i] ^= data[i]
		}
		b.Encrypt(h, h)
		data = data[bs:]
	}
}

// mac computes the full-block MAC of data (see the package documentation).
// With pad set, ISO/IEC 9797-1 padding method 2 is applied; otherwise data
// must already be a multiple of the block size.
func mac(alg Alg, key, data []byte, pad bool) ([]byte, error) {
	if err := checkKey(alg, key); err != nil {
		return nil, err
	}
	bs := alg.BlockSize()
	if !pad && len(data)%bs != 0 {
		return nil, fmt.Errorf("unpadded MAC input of %d bytes: %w", len(data), ErrInput)
	}
	var b, k2 cipher.Block
	var err error
	if alg == SM4 {
		if b, err = newBlock(alg, key); err != nil {
			return nil, err
		}
	} else {
		if b, err = des.NewCipher(key[:8]); err != nil {
			return nil, fmt.Errorf("des: %w", err)
		}
		if k2, err = des.NewCipher(key[8:]); err != nil {
			return nil, fmt.Errorf("des: %w", err)
		}
	}
	h := make([]byte, bs)
	full := len(data) - len(data)%bs
	chain(b, h, data[:full])
	if pad {
		var last [16]byte
		n := copy(last[:], data[full:])
		last[n] = 0x80
		chain(b, h, last[:bs])
	}
	if alg == TDES {
		// Output transformation 3: G = E(K, D(K', Hq)).
		k2.Decrypt(h, h)
		b.Encrypt(h, h)
	}
	return h, nil
}

// RetailMAC returns the ISO/IEC 9797-1 MAC algorithm 3 (single-DES CBC-MAC
// with a triple-DES final block) of data under the 16-byte key, with padding
// method 2: the 8-byte "retail MAC" of ANSI X9.19 with 80-padding.
func RetailMAC(key, data []byte) ([]byte, error) {
	return mac(TDES, key, data, true)
}

// Cryptogram returns the 8-byte application cryptogram (ARQC, TC or AAC) of
// data, normally ACData, under the AC session key sk: for TDES the retail
// MAC, for SM4 the first 8 bytes of the SM4 CBC-MAC, both with padding method 2.
func Cryptogram(alg Alg, sk, data []byte) ([]byte, error) {
	m, err := mac(alg, sk, data, true)
	if err != nil {
		return nil, err
	}
	return m[:CryptogramLen], nil
}

// VerifyCryptogram reports whether ac is the cryptogram of data under sk,
// comparing in constant time. An ac that is not 8 bytes long is an error
// wrapping ErrInput.
func VerifyCryptogram(alg Alg, sk, data, ac []byte) (bool, error) {
	if len(ac) != CryptogramLen {
		return false, fmt.Errorf("cryptogram is %d bytes, want %d: %w", len(ac), CryptogramLen, ErrInput)
	}
	want, err := Cryptogram(alg, sk, data)
	if err != nil {
		return false, err
	}
	return Equal(want, ac), nil
}

// ScriptMAC returns the 4-byte issuer script MAC of data under the SMI
// session key: the first 4 bytes of the same MAC as Cryptogram.
func ScriptMAC(alg Alg, sk, data []byte) ([]byte, error) {
	m, err := mac(alg, sk, data, true)
	if err != nil {
		return nil, err
	}
	return m[:ScriptMACLen], nil
}

// ARPC returns the 8-byte authorisation response cryptogram, ARPC method 1:
// E(SK, ARQC ⊕ (ARC‖000000000000)). For SM4 the 8-byte value is followed by
// eight 00 bytes to make one block and the first 8 bytes of the result are
// returned. arqc must be 8 bytes and arc (the authorisation response code,
// tag 8A, e.g. "00" = 3030) 2 bytes.
func ARPC(alg Alg, sk, arqc, arc []byte) ([]byte, error) {
	b, err := newBlock(alg, sk)
	if err != nil {
		return nil, err
	}
	if len(arqc) != CryptogramLen {
		return nil, fmt.Errorf("ARQC is %d bytes, want %d: %w", len(arqc), CryptogramLen, ErrInput)
	}
	if len(arc) != 2 {
		return nil, fmt.Errorf("ARC is %d bytes, want 2: %w", len(arc), ErrInput)
	}
	var x [16]byte
	copy(x[:], arqc)
	x[0] ^= arc[0]
	x[1] ^= arc[1]
	bs := alg.BlockSize()
	b.Encrypt(x[:bs], x[:bs])
	return x[:CryptogramLen], nil
}

// acField is one element of the PBOC cryptogram input.
type acField struct {
	tag     uint32
	n       int
	numeric bool // format n: pad and truncate on the left
}

var acFields = [...]acField{
	{0x9F02, 6, true},  // amount, authorised
	{0x9F03, 6, true},  // amount, other
	{0x9F1A, 2, true},  // terminal country code
	{0x95, 5, false},   // TVR
	{0x5F2A, 2, true},  // transaction currency code
	{0x9A, 3, true},    // transaction date
	{0x9C, 1, true},    // transaction type
	{0x9F37, 4, false}, // unpredictable number
	{0x82, 2, false},   // AIP
	{0x9F36, 2, false}, // ATC
}

// ACData returns the 37-byte input of the PBOC application cryptogram, the
// same for card and host: 9F02(6) 9F03(6) 9F1A(2) 95(5) 5F2A(2) 9A(3) 9C(1)
// 9F37(4) 82(2) 9F36(2) followed by the card verification results, the 4
// bytes at 9F10[3:7].
//
// value returns the value of a tag, or nil if it is absent. Values of the
// wrong length are fitted as EMV Book 3 §5.4 fits DOL entries: numeric ones
// (9F02, 9F03, 9F1A, 5F2A, 9A, 9C) are padded with leading zeros or lose
// their leftmost bytes; the others, and the CVR, are padded with trailing
// zeros or lose their rightmost bytes. A nil value function gives all zeros.
func ACData(value func(tag uint32) []byte) []byte {
	out := make([]byte, ACDataLen)
	if value == nil {
		return out
	}
	p := out
	for _, f := range acFields {
		dst := p[:f.n]
		v := value(f.tag)
		switch {
		case f.numeric && len(v) >= f.n:
			copy(dst, v[len(v)-f.n:])
		case f.numeric:
			copy(dst[f.n-len(v):], v)
		default:
			copy(dst, v)
		}
		p = p[f.n:]
	}
	if iad := value(0x9F10); len(iad) > 3 {
		copy(p[:4], iad[3:])
	}
	return out
}
