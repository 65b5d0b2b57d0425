// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"crypto/ecdsa"
	"math/big"
	"math/bits"
	"sync"

	"github.com/emmansun/gmsm/sm2"
)

// RSA modulus limits in bytes (512 to 1984 bits).
const (
	MinModulusLen = 64
	MaxModulusLen = 248
)

// SM2 sizes.
const (
	SM2PointLen     = 64 // X‖Y
	SM2SignatureLen = 64 // r‖s
)

// exponentValue parses an RSA public exponent of 1 to 3 bytes and returns it
// if it is 3 or 65537.
func exponentValue(e []byte) (int, error) {
	if len(e) == 0 || len(e) > 3 {
		return 0, errorf(ErrAlgorithm, "RSA exponent length %d", len(e))
	}
	v := 0
	for _, b := range e {
		v = v<<8 | int(b)
	}
	if v != 3 && v != 65537 {
		return 0, errorf(ErrAlgorithm, "RSA exponent %d (want 3 or 65537)", v)
	}
	return v, nil
}

// Validate checks that the key is well formed: for RSA a modulus of 64–248
// bytes that is odd and does not start with 00, and exponent 3 or 65537; for
// SM2 a 64-byte point on the curve.
func (k PublicKey) Validate() error {
	switch k.Alg {
	case RSA:
		n := k.Modulus
		if len(n) < MinModulusLen || len(n) > MaxModulusLen {
			return errorf(ErrKeyLength, "RSA modulus of %d bytes", len(n))
		}
		if n[0] == 0 {
			return errorf(ErrKeyLength, "RSA modulus starts with 00")
		}
		if n[len(n)-1]&1 == 0 {
			return errorf(ErrKeyLength, "RSA modulus is even")
		}
		_, err := exponentValue(k.Exponent)
		return err
	case SM2:
		_, err := sm2Key(k.Point)
		return err
	}
	return errorf(ErrAlgorithm, "public key algorithm %s", k.Alg)
}

// rsaWork is the scratch space of one RSA public operation: the modulus,
// the signed data and the result as big.Ints whose storage is reused from
// one operation to the next, and the recovered block. A recovery then costs
// math/big's own temporaries only.
type rsaWork struct {
	n, x, z big.Int
	t, q    big.Int // product and quotient of each step
	buf     [MaxModulusLen]byte
}

var rsaPool = sync.Pool{New: func() any { return new(rsaWork) }}

// exp sets w.z = w.x^e mod w.n for a one-word exponent e > 1: left to
// right square-and-multiply, one reduction per step, as math/big's Exp
// does for such exponents, but in w's reused buffers.
func (w *rsaWork) exp(e int) {
	w.z.Set(&w.x)
	for bit := bits.Len(uint(e)) - 2; bit >= 0; bit-- {
		w.t.Mul(&w.z, &w.z)
		if e>>bit&1 != 0 {
			w.q.Mul(&w.t, &w.x)
			w.t, w.q = w.q, w.t
		}
		w.q.QuoRem(&w.t, &w.n, &w.z)
	}
}

// release returns w to the pool; the block rsaRecover returned with it
// must not be used afterwards.
func (w *rsaWork) release() { rsaPool.Put(w) }

// rsaRecover validates pk, checks that data is as long as the modulus and
// smaller than it, and returns data^e mod n as a modulus-length block. The
// block lives in w: the caller copies what it keeps and then calls
// w.release().
func rsaRecover(pk PublicKey, data []byte) (w *rsaWork, block []byte, err error) {
	if pk.Alg != RSA {
		return nil, nil, errorf(ErrAlgorithm, "want an RSA key, have %s", pk.Alg)
	}
	if err := pk.Validate(); err != nil {
		return nil, nil, err
	}
	if len(data) != len(pk.Modulus) {
		return nil, nil, errorf(ErrKeyLength, "%d bytes of signed data for a %d-byte modulus", len(data), len(pk.Modulus))
	}
	e, _ := exponentValue(pk.Exponent)
	w = rsaPool.Get().(*rsaWork)
	w.n.SetBytes(pk.Modulus)
	w.x.SetBytes(data)
	if w.x.Cmp(&w.n) >= 0 {
		w.release()
		return nil, nil, errorf(ErrSignature, "signed data not smaller than the modulus")
	}
	w.exp(e)
	out := w.buf[:len(pk.Modulus)]
	w.z.FillBytes(out)
	return w, out, nil
}

// sm2Key converts a 64-byte X‖Y point into a validated SM2 public key: a
// point not on the curve (or the point at infinity) is refused.
func sm2Key(point []byte) (*ecdsa.PublicKey, error) {
	if len(point) != SM2PointLen {
		return nil, errorf(ErrKeyLength, "SM2 point of %d bytes", len(point))
	}
	var enc [1 + SM2PointLen]byte
	enc[0] = 4 // uncompressed
	copy(enc[1:], point)
	pub, err := sm2.NewPublicKey(enc[:])
	if err != nil {
		return nil, errorf(ErrKeyLength, "SM2 point not on the curve")
	}
	return pub, nil
}

// sm2Verify checks an r‖s SM2 signature over msg (SM3 with Z over the
// default user ID, GB/T 32918.2). The card sends r‖s as two 32-byte
// integers; gmsm verifies the DER form, built here without allocating. r or
// s of zero cannot be encoded and is refused: a valid signature has both in
// [1, n-1].
func sm2Verify(pk PublicKey, msg, sig []byte) error {
	if pk.Alg != SM2 {
		return errorf(ErrAlgorithm, "want an SM2 key, have %s", pk.Alg)
	}
	pub, err := sm2Key(pk.Point)
	if err != nil {
		return err
	}
	if len(sig) != SM2SignatureLen {
		return errorf(ErrKeyLength, "SM2 signature of %d bytes", len(sig))
	}
	var buf [2 + 2*(2+33)]byte
	der, ok := sm2DER(buf[:0], sig[:32], sig[32:])
	if !ok || !sm2.VerifyASN1WithSM2(pub, nil, msg, der) {
		return errorf(ErrSignature, "SM2 signature does not verify")
	}
	return nil
}

// sm2DER appends the DER SEQUENCE { INTEGER r, INTEGER s } of two
// big-endian 32-byte integers to b. ok is false when r or s is zero.
func sm2DER(b, r, s []byte) ([]byte, bool) {
	r, s = trimZeros(r), trimZeros(s)
	if len(r) == 0 || len(s) == 0 {
		return b, false
	}
	n := derIntLen(r) + derIntLen(s)
	b = append(b, 0x30, byte(n)) // n ≤ 70: short-form length
	return appendDERInt(appendDERInt(b, r), s), true
}

func trimZeros(x []byte) []byte {
	for len(x) > 0 && x[0] == 0 {
		x = x[1:]
	}
	return x
}

// derIntLen is the encoded length of the positive integer x (no leading
// zeros): tag, length, a 00 when the top bit is set, and x.
func derIntLen(x []byte) int { return 2 + int(x[0]>>7) + len(x) }

func appendDERInt(b, x []byte) []byte {
	b = append(b, 0x02, byte(derIntLen(x)-2))
	if x[0]&0x80 != 0 {
		b = append(b, 0)
	}
	return append(b, x...)
}

// checkRecovered checks header, trailer and format byte of recovered RSA data.
func checkRecovered(r []byte, format byte) error {
	if len(r) < 2 || r[0] != 0x6A {
		return errorf(ErrFormat, "recovered header %02X (want 6A)", first(r))
	}
	if r[len(r)-1] != 0xBC {
		return errorf(ErrFormat, "recovered trailer %02X (want BC)", r[len(r)-1])
	}
	if r[1] != format {
		return errorf(ErrFormat, "format %02X (want %02X)", r[1], format)
	}
	return nil
}

func first(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// checkHash compares the embedded SHA-1 hash with the hash of first ‖
// rest.
func checkHash(want, first []byte, rest ...[]byte) error {
	h := getHasher(SHA1)
	defer h.release()
	h.Write(first)
	for _, p := range rest {
		h.Write(p)
	}
	if got := h.sum(); !equal(got, want) {
		return errorf(ErrHash, "hash %X, computed %X", want, got)
	}
	return nil
}

func equal(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}
