// SPDX-License-Identifier: Apache-2.0

package capk

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // SHA-1 is what EMV and PBOC specify for the CAPK checksum.
	"fmt"
	"math/big"
	"time"
)

// Public key algorithm indicators (EMV Book 2 Annex B2, JR/T 0025.17).
const (
	// AlgRSA is the algorithm indicator of an RSA key.
	AlgRSA byte = 0x01
	// AlgSM2 is the algorithm indicator of an SM2 key (PBOC 3.0).
	AlgSM2 byte = 0x04
)

// Hash algorithm indicators.
const (
	// HashSHA1 is the hash algorithm indicator of SHA-1.
	HashSHA1 byte = 0x01
	// HashSM3 is the hash algorithm indicator of SM3 (PBOC 3.0).
	HashSM3 byte = 0x07
)

// Size limits of an RSA CA public key modulus in bytes (EMV Book 2:
// N_CA ≤ 248).
const (
	MinRSAModulusLen = 64
	MaxRSAModulusLen = 248
)

// SM2PointLen is the length of an SM2 public point X ‖ Y in bytes.
const SM2PointLen = 64

// Key is one CA public key.
type Key struct {
	// RID is the registered application provider identifier.
	RID RID
	// Index is the CA public key index (tag 8F).
	Index byte
	// Algorithm is the public key algorithm indicator: AlgRSA or AlgSM2.
	Algorithm byte
	// HashAlg is the hash algorithm indicator: HashSHA1 or HashSM3.
	HashAlg byte
	// Modulus is the RSA modulus, big-endian; for an SM2 key it holds the
	// 64-byte public point X ‖ Y.
	Modulus []byte
	// Exponent is the RSA public exponent, big-endian (03 or 010001);
	// empty for an SM2 key.
	Exponent []byte
	// Expiry is the last day on which the key is valid; the zero time
	// means no expiry is known. Only its date matters.
	Expiry time.Time
	// Checksum is SHA-1(RID ‖ Index ‖ Modulus ‖ Exponent), 20 bytes.
	Checksum []byte
	// Note is free text (where the key comes from, what it is for).
	Note string
}

// ComputeChecksum returns SHA-1(RID ‖ Index ‖ Modulus ‖ Exponent). For an
// SM2 key, whose Exponent is empty, this is SHA-1(RID ‖ Index ‖ X ‖ Y).
func (k *Key) ComputeChecksum() []byte {
	h := sha1.New() //nolint:gosec // mandated by EMV.
	h.Write(k.RID[:])
	h.Write([]byte{k.Index})
	h.Write(k.Modulus)
	h.Write(k.Exponent)
	return h.Sum(nil)
}

// Validate reports whether k is a usable CA public key: the algorithm and
// hash indicators are known; an RSA key has a 64..248-byte modulus without
// a leading zero byte, odd, and exponent 3 or 65537 (encoded 03 or
// 010001); an SM2 key has a 64-byte point on the SM2 curve and no
// exponent; and the checksum is present and matches [Key.ComputeChecksum].
// A checksum failure wraps [ErrChecksum]; anything else wraps
// [ErrInvalidKey]. Expiry is not checked here (see [Key.Expired]).
func (k *Key) Validate() error {
	if field, err := k.validate(); err != nil {
		return fmt.Errorf("%s/%02X %s: %w", k.RID, k.Index, field, err)
	}
	return nil
}

// validate is Validate with the name of the offending JSON field returned
// separately, so Load can say "keys[3].modulus".
func (k *Key) validate() (field string, err error) {
	if p := k.problems(); len(p) > 0 {
		return p[0].field, p[0].err
	}
	return "", nil
}

// fieldProblem is one thing wrong with a key, and the JSON field it is in.
type fieldProblem struct {
	field string
	err   error
}

// problems checks every rule of Validate independently and returns every
// one the key breaks, in the order hash, algorithm, modulus, exponent,
// checksum.
func (k *Key) problems() []fieldProblem {
	var out []fieldProblem
	add := func(field string, sentinel error, format string, args ...any) {
		out = append(out, fieldProblem{field, fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)})
	}
	switch k.HashAlg {
	case HashSHA1, HashSM3:
	default:
		add("hash", ErrInvalidKey, "unknown hash algorithm %02X", k.HashAlg)
	}
	switch k.Algorithm {
	case AlgRSA:
		n := len(k.Modulus)
		switch {
		case n < MinRSAModulusLen || n > MaxRSAModulusLen:
			add("modulus", ErrInvalidKey, "RSA modulus is %d bytes, want %d..%d", n, MinRSAModulusLen, MaxRSAModulusLen)
		case k.Modulus[0] == 0:
			add("modulus", ErrInvalidKey, "RSA modulus has a leading zero byte")
		case k.Modulus[n-1]&1 == 0:
			add("modulus", ErrInvalidKey, "RSA modulus is even")
		}
		if !bytes.Equal(k.Exponent, []byte{0x03}) && !bytes.Equal(k.Exponent, []byte{0x01, 0x00, 0x01}) {
			add("exponent", ErrInvalidKey, "RSA exponent %X, want 03 or 010001", k.Exponent)
		}
	case AlgSM2:
		switch {
		case len(k.Modulus) != SM2PointLen:
			add("modulus", ErrInvalidKey, "SM2 point is %d bytes, want %d", len(k.Modulus), SM2PointLen)
		case !onSM2Curve(k.Modulus):
			add("modulus", ErrInvalidKey, "SM2 point is not on the curve")
		}
		if len(k.Exponent) != 0 {
			add("exponent", ErrInvalidKey, "SM2 key has an exponent")
		}
	default:
		add("algorithm", ErrInvalidKey, "unknown public key algorithm %02X", k.Algorithm)
	}
	if len(k.Checksum) == 0 {
		add("checksum", ErrChecksum, "checksum missing")
	} else if sum := k.ComputeChecksum(); !bytes.Equal(sum, k.Checksum) {
		add("checksum", ErrChecksum, "have %X, computed %X", k.Checksum, sum)
	}
	return out
}

// Expired reports whether the key has expired at now. The expiry date is
// the last valid day, compared with now's calendar date in now's location:
// a key expiring 2030-12-31 is still valid at 23:59 on 31 December 2030
// terminal time and expired from 1 January 2031. A key without expiry
// never expires.
func (k *Key) Expired(now time.Time) bool {
	if k.Expiry.IsZero() {
		return false
	}
	ey, em, ed := k.Expiry.Date()
	ny, nm, nd := now.Date()
	switch {
	case ny != ey:
		return ny > ey
	case nm != em:
		return nm > em
	default:
		return nd > ed
	}
}

// Bits returns the key size in bits: the RSA modulus length, or 256 for
// SM2.
func (k *Key) Bits() int {
	if k.Algorithm == AlgSM2 {
		return 256
	}
	return new(big.Int).SetBytes(k.Modulus).BitLen()
}

// clone returns a deep copy of k whose byte slices share one allocation
// and are capped, so appending to one cannot overwrite another.
func (k *Key) clone() Key {
	c := *k
	nm, ne, nc := len(k.Modulus), len(k.Exponent), len(k.Checksum)
	buf := make([]byte, nm+ne+nc)
	copy(buf, k.Modulus)
	copy(buf[nm:], k.Exponent)
	copy(buf[nm+ne:], k.Checksum)
	c.Modulus = nilIfEmpty(buf[:nm:nm])
	c.Exponent = nilIfEmpty(buf[nm : nm+ne : nm+ne])
	c.Checksum = nilIfEmpty(buf[nm+ne : nm+ne+nc : nm+ne+nc])
	return c
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// SM2 recommended curve parameters (GB/T 32918.5-2017).
var (
	sm2P, _ = new(big.Int).SetString("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
	sm2B, _ = new(big.Int).SetString("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
)

// onSM2Curve reports whether the 64-byte point X ‖ Y satisfies
// y² = x³ − 3x + b (mod p) with 0 ≤ x, y < p.
func onSM2Curve(point []byte) bool {
	x := new(big.Int).SetBytes(point[:32])
	y := new(big.Int).SetBytes(point[32:])
	if x.Cmp(sm2P) >= 0 || y.Cmp(sm2P) >= 0 {
		return false
	}
	lhs := new(big.Int).Mul(y, y)
	lhs.Mod(lhs, sm2P)
	rhs := new(big.Int).Mul(x, x)
	rhs.Mul(rhs, x)
	rhs.Sub(rhs, new(big.Int).Lsh(x, 1))
	rhs.Sub(rhs, x)
	rhs.Add(rhs, sm2B)
	rhs.Mod(rhs, sm2P)
	return lhs.Cmp(rhs) == 0
}
