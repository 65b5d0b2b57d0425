// SPDX-License-Identifier: Apache-2.0

// Package pki is the signing side of EMV / PBOC offline data authentication:
// it makes deterministic test keys for a certification authority, issuers and
// cards, issues issuer and ICC public key certificates, and produces the
// signatures a card returns (signed static data, DDA, CDA, qPBOC fDDA), in
// the RSA (EMV) and SM2 (PBOC 3.0) layouts that package oda verifies.
//
// It exists for the card simulator and for tests. Keys are derived from a seed
// string, so the same seed always gives the same key: never use these keys
// for real cards. RSA signatures are deterministic; SM2 signatures use
// crypto/rand.
//
// Key sizes must nest: an issuer key may not be longer than the CA key that
// certifies it and an ICC key may not be longer than its issuer key, because
// the certificate layouts only carry a remainder for the part of a key that
// does not fit, never a key longer than the certifying modulus.
package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"sync"

	"github.com/emmansun/gmsm/sm2"
	"github.com/go-pboc/pboc/crypto/oda"
)

// Errors returned by this package.
var (
	// ErrKeySize: unsupported key size or exponent, or key sizes that do not
	// nest (issuer longer than CA, ICC longer than issuer).
	ErrKeySize = errors.New("pki: unsupported key size")
	// ErrInput: a field has the wrong length or does not fit the layout.
	ErrInput = errors.New("pki: bad input")
)

// KeyPair is an RSA or SM2 private key with its public half.
type KeyPair struct {
	alg oda.PKAlg
	// RSA
	n, d, p, q, dp, dq, qinv *big.Int
	e                        int
	bits                     int
	// SM2
	sm2 *sm2.PrivateKey
}

type cacheKey struct {
	seed string
	bits int
	exp  int
}

var rsaCache sync.Map // cacheKey → *KeyPair

// seeded returns a deterministic stream derived from a domain label and seed.
func seeded(label, seed string, bits, exp int) io.Reader {
	h := sha256.Sum256(fmt.Appendf(nil, "pboc/pki/%s\x00%s\x00%d\x00%d", label, seed, bits, exp))
	return mrand.NewChaCha8(h)
}

// GenerateRSA returns the RSA key derived from seed, of exactly bits bits
// (1024 to 1984, a multiple of 8) with public exponent exp (3 or 65537).
// Keys are cached, so repeated calls are cheap and return the same *KeyPair;
// the keys the simulator's profiles and this module's tests use are
// precomputed (precomputed.json), so even the first call is.
func GenerateRSA(seed string, bits int, exp int) (*KeyPair, error) {
	if bits < 1024 || bits > 1984 || bits%8 != 0 {
		return nil, fmt.Errorf("%w: RSA key of %d bits (want 1024–1984, multiple of 8)", ErrKeySize, bits)
	}
	if exp != 3 && exp != 65537 {
		return nil, fmt.Errorf("%w: RSA exponent %d (want 3 or 65537)", ErrKeySize, exp)
	}
	ck := cacheKey{seed, bits, exp}
	if k, ok := rsaCache.Load(ck); ok {
		return k.(*KeyPair), nil
	}
	k, ok := precomputedKey(ck)
	if !ok {
		k = generateRSA(ck)
	}
	actual, _ := rsaCache.LoadOrStore(ck, k)
	return actual.(*KeyPair), nil
}

// generateRSA derives the key of ck from its seed: the slow path (tens of
// milliseconds), taken for a key that is not precomputed.
func generateRSA(ck cacheKey) *KeyPair {
	r := seeded("rsa", ck.seed, ck.bits, ck.exp)
	e := big.NewInt(int64(ck.exp))
	for {
		p := prime(r, ck.bits/2, e)
		q := prime(r, ck.bits-ck.bits/2, e)
		if p.Cmp(q) == 0 {
			continue
		}
		if k := rsaKeyPair(p, q, ck.bits, ck.exp); k != nil {
			return k
		}
	}
}

// rsaKeyPair completes the key of the primes p and q: nil when p·q is not
// exactly bits long or e has no inverse mod (p−1)(q−1).
func rsaKeyPair(p, q *big.Int, bits, exp int) *KeyPair {
	one := big.NewInt(1)
	n := new(big.Int).Mul(p, q)
	if n.BitLen() != bits {
		return nil
	}
	pm1 := new(big.Int).Sub(p, one)
	qm1 := new(big.Int).Sub(q, one)
	phi := new(big.Int).Mul(pm1, qm1)
	d := new(big.Int).ModInverse(big.NewInt(int64(exp)), phi)
	qinv := new(big.Int).ModInverse(q, p)
	if d == nil || qinv == nil {
		return nil
	}
	return &KeyPair{
		alg: oda.RSA, n: n, d: d, p: p, q: q, e: exp, bits: bits,
		dp: new(big.Int).Mod(d, pm1), dq: new(big.Int).Mod(d, qm1), qinv: qinv,
	}
}

// prime returns a prime of exactly bits bits with the two top bits set and
// gcd(e, p-1) = 1, read from r.
func prime(r io.Reader, bits int, e *big.Int) *big.Int {
	buf := make([]byte, (bits+7)/8)
	one := big.NewInt(1)
	g, pm1 := new(big.Int), new(big.Int)
	for {
		_, _ = io.ReadFull(r, buf) // ChaCha8 never fails
		if extra := len(buf)*8 - bits; extra > 0 {
			buf[0] &= 0xFF >> extra
		}
		p := new(big.Int).SetBytes(buf)
		p.SetBit(p, bits-1, 1)
		p.SetBit(p, bits-2, 1)
		p.SetBit(p, 0, 1)
		for i := 0; i < 4096 && p.BitLen() == bits; i++ {
			pm1.Sub(p, one)
			if g.GCD(nil, nil, e, pm1).Cmp(one) == 0 && p.ProbablyPrime(20) {
				return p
			}
			p.Add(p, big.NewInt(2))
		}
	}
}

// GenerateSM2 returns the SM2 key derived from seed: the private key d is
// the first 32-byte block of the seeded stream with 1 ≤ d ≤ n−2 (GB/T
// 32918.1), so the same seed always gives the same key. (gmsm's GenerateKey
// no longer derives its key from the bytes it reads.)
func GenerateSM2(seed string) (*KeyPair, error) {
	r := seeded("sm2", seed, 256, 0)
	var d [32]byte
	for {
		_, _ = io.ReadFull(r, d[:]) // ChaCha8 never fails
		priv, err := sm2.NewPrivateKey(d[:])
		if err == nil {
			return &KeyPair{alg: oda.SM2, sm2: priv, bits: 256}, nil
		}
		// d = 0 or d ≥ n−1: draw again (probability about 2⁻³²).
	}
}

// Alg returns the key's algorithm.
func (k *KeyPair) Alg() oda.PKAlg { return k.alg }

// Bits returns the RSA modulus length in bits, or 256 for SM2.
func (k *KeyPair) Bits() int { return k.bits }

// Public returns the public key in the form package oda uses.
func (k *KeyPair) Public() oda.PublicKey {
	if k.alg == oda.SM2 {
		pt := make([]byte, oda.SM2PointLen)
		k.sm2.X.FillBytes(pt[:32])
		k.sm2.Y.FillBytes(pt[32:])
		return oda.PublicKey{Alg: oda.SM2, Point: pt}
	}
	m := make([]byte, k.bits/8)
	k.n.FillBytes(m)
	return oda.PublicKey{Alg: oda.RSA, Modulus: m, Exponent: expBytes(k.e)}
}

func expBytes(e int) []byte {
	if e == 3 {
		return []byte{0x03}
	}
	return []byte{0x01, 0x00, 0x01}
}

func (k *KeyPair) hashAlg() oda.HashAlg {
	if k.alg == oda.SM2 {
		return oda.SM3
	}
	return oda.SHA1
}

// SignRaw is the bare signature primitive, for building deliberately broken
// items in tests and fault injection. For RSA, data must be exactly as long
// as the modulus and numerically smaller; the result is data^d mod n
// (computed with the CRT and checked). For SM2, the result is the 64-byte
// r‖s signature of data (SM3 with Z over the default user ID).
func (k *KeyPair) SignRaw(data []byte) ([]byte, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: no key", ErrInput)
	}
	if k.alg == oda.SM2 {
		der, err := k.sm2.Sign(rand.Reader, data, sm2.DefaultSM2SignerOpts)
		if err != nil {
			return nil, err
		}
		var sig struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("pki: SM2 signature %X: not DER r, s", der)
		}
		out := make([]byte, oda.SM2SignatureLen)
		sig.R.FillBytes(out[:32])
		sig.S.FillBytes(out[32:])
		return out, nil
	}
	if len(data) != k.bits/8 {
		return nil, fmt.Errorf("%w: %d bytes to sign with a %d-byte modulus", ErrInput, len(data), k.bits/8)
	}
	c := new(big.Int).SetBytes(data)
	if c.Cmp(k.n) >= 0 {
		return nil, fmt.Errorf("%w: data not smaller than the modulus", ErrInput)
	}
	m1 := new(big.Int).Exp(c, k.dp, k.p)
	m2 := new(big.Int).Exp(c, k.dq, k.q)
	h := m1.Sub(m1, m2)
	h.Mul(h, k.qinv)
	h.Mod(h, k.p)
	m := h.Mul(h, k.q)
	m.Add(m, m2)
	if new(big.Int).Exp(m, big.NewInt(int64(k.e)), k.n).Cmp(c) != 0 {
		return nil, errors.New("pki: RSA CRT self-check failed")
	}
	out := make([]byte, k.bits/8)
	m.FillBytes(out)
	return out, nil
}

// DecipherRaw is the RSA private operation on data enciphered under the
// key's public half (an enciphered offline PIN, EMV Book 2 §7.2): data^d
// mod n, data exactly as long as the modulus and smaller. The result is
// secret. RSA keys only.
func (k *KeyPair) DecipherRaw(data []byte) ([]byte, error) {
	if k == nil || k.alg != oda.RSA {
		return nil, fmt.Errorf("%w: not an RSA key", ErrInput)
	}
	return k.SignRaw(data)
}

// rsaBlock wraps the body of a recoverable RSA item: 6A ‖ body ‖ hash ‖ BC,
// where hash = SHA-1(body ‖ extra…), and signs it. body must be exactly
// modulus length − 22 bytes.
func (k *KeyPair) rsaBlock(body []byte, extra ...[]byte) ([]byte, error) {
	n := k.bits / 8
	if len(body) != n-22 {
		return nil, fmt.Errorf("%w: body of %d bytes for a %d-byte modulus", ErrInput, len(body), n)
	}
	block := make([]byte, 0, n)
	block = append(block, 0x6A)
	block = append(block, body...)
	block = append(block, oda.SHA1.Sum(append([][]byte{body}, extra...)...)...)
	block = append(block, 0xBC)
	return k.SignRaw(block)
}

// sm2Item appends the SM2 signature of body ‖ extra… to body.
func (k *KeyPair) sm2Item(body []byte, extra ...[]byte) ([]byte, error) {
	msg := body
	for _, x := range extra {
		msg = append(msg[:len(msg):len(msg)], x...)
	}
	sig, err := k.SignRaw(msg)
	if err != nil {
		return nil, err
	}
	return append(body[:len(body):len(body)], sig...), nil
}

func pad(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xBB
	}
	return b
}
