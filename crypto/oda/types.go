// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm3"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them; test with errors.Is.
var (
	// ErrFormat: a length, header, trailer, format byte or field is malformed.
	ErrFormat = errors.New("oda: bad format")
	// ErrHash: the hash in recovered RSA data does not match the data.
	ErrHash = errors.New("oda: hash mismatch")
	// ErrExpired: a certificate expired before the transaction date.
	ErrExpired = errors.New("oda: certificate expired")
	// ErrRevoked: the issuer certificate is on the revocation list.
	ErrRevoked = errors.New("oda: certificate revoked")
	// ErrIssuerID: the issuer identifier does not match the leftmost PAN digits.
	ErrIssuerID = errors.New("oda: issuer identifier does not match PAN")
	// ErrPAN: the PAN in the ICC certificate does not match the application PAN.
	ErrPAN = errors.New("oda: PAN mismatch")
	// ErrSignature: an SM2 signature does not verify, or RSA data is not a
	// valid signature representative (not smaller than the modulus).
	ErrSignature = errors.New("oda: bad signature")
	// ErrKeyLength: a key or signed item has the wrong length, or a key is
	// malformed (modulus with a leading 00, even modulus, point not on curve).
	ErrKeyLength = errors.New("oda: bad key or data length")
	// ErrStaticData: the static data to be authenticated cannot be built.
	ErrStaticData = errors.New("oda: bad static data")
	// ErrAlgorithm: unsupported or unexpected algorithm indicator or exponent.
	ErrAlgorithm = errors.New("oda: unsupported algorithm")
	// ErrCID: the cryptogram information data signed by the card (CDA) is not
	// the 9F27 the card returned.
	ErrCID = errors.New("oda: CID mismatch")
	// ErrMissing: a data object the certificate needs is absent: the
	// remainder (92, 9F48) of a key longer than the certificate holds, or
	// the exponent (9F32, 9F47). A terminal sets "ICC data missing" for it.
	ErrMissing = errors.New("oda: data missing")
)

// PKAlg is a public key algorithm indicator.
type PKAlg byte

// Public key algorithm indicators.
const (
	RSA PKAlg = 0x01 // RSA (EMV)
	SM2 PKAlg = 0x04 // SM2 (PBOC 3.0)
)

// String returns "RSA", "SM2" or the hexadecimal value.
func (a PKAlg) String() string {
	switch a {
	case RSA:
		return "RSA"
	case SM2:
		return "SM2"
	}
	return fmt.Sprintf("PKAlg(%02X)", byte(a))
}

// HashAlg is a hash algorithm indicator.
type HashAlg byte

// Hash algorithm indicators.
const (
	SHA1 HashAlg = 0x01 // SHA-1, used with RSA
	SM3  HashAlg = 0x07 // SM3, used with SM2
)

// String returns "SHA-1", "SM3" or the hexadecimal value.
func (h HashAlg) String() string {
	switch h {
	case SHA1:
		return "SHA-1"
	case SM3:
		return "SM3"
	}
	return fmt.Sprintf("HashAlg(%02X)", byte(h))
}

// Size returns the digest length in bytes (20 for SHA-1, 32 for SM3), or 0
// for an unknown algorithm.
func (h HashAlg) Size() int {
	switch h {
	case SHA1:
		return sha1.Size
	case SM3:
		return sm3.Size
	}
	return 0
}

// Sum returns the hash of the concatenation of parts, or nil if the algorithm
// is unknown.
func (h HashAlg) Sum(parts ...[]byte) []byte {
	d := getHasher(h)
	if d == nil {
		return nil
	}
	defer d.release()
	for _, p := range parts {
		d.Write(p)
	}
	return clone(d.sum())
}

// hasher is a reusable digest: a verification hashes a few hundred bytes,
// and a new digest (and its output) per hash is a good share of its
// allocations.
type hasher struct {
	hash.Hash
	pool *sync.Pool
	out  [32]byte
}

var (
	sha1Pool = sync.Pool{New: func() any { return &hasher{Hash: sha1.New()} }}
	sm3Pool  = sync.Pool{New: func() any { return &hasher{Hash: sm3.New()} }}
)

// getHasher returns a reset digest for h, or nil for an unknown algorithm.
func getHasher(h HashAlg) *hasher {
	var p *sync.Pool
	switch h {
	case SHA1:
		p = &sha1Pool
	case SM3:
		p = &sm3Pool
	default:
		return nil
	}
	d := p.Get().(*hasher)
	d.pool = p
	d.Reset()
	return d
}

// sum returns the digest in d's own buffer (valid until release).
func (d *hasher) sum() []byte { return d.Sum(d.out[:0]) }

func (d *hasher) release() { d.pool.Put(d) }

// TransactionDataHash returns the CDA transaction data hash code: the hash of
// PDOL data ‖ CDOL1 data (‖ CDOL2 data) ‖ the TLV objects of the GENERATE AC
// response other than 9F4B, in the order given. Card and terminal compute it
// the same way. It returns nil for an unknown algorithm.
func TransactionDataHash(alg HashAlg, parts ...[]byte) []byte {
	return alg.Sum(parts...)
}

// PublicKey is an RSA or SM2 public key as carried in EMV data.
type PublicKey struct {
	// Alg selects which of the other fields are used.
	Alg PKAlg
	// Modulus and Exponent are the big-endian RSA modulus and public exponent.
	Modulus, Exponent []byte
	// Point is the SM2 public key X‖Y (64 bytes, without the 04 prefix).
	Point []byte
}

// IssuerKey is an issuer public key recovered from a certificate, with the
// certificate's data.
type IssuerKey struct {
	PublicKey
	// IssuerID is the leftmost 3–8 PAN digits, padded with F (4 bytes).
	IssuerID []byte
	// Expiry is the certificate expiration date MMYY (BCD).
	Expiry [2]byte
	// Serial is the certificate serial number.
	Serial [3]byte
	// HashAlg is the hash used with this key: SHA1 for RSA, SM3 for SM2.
	HashAlg HashAlg
}

// ICCKey is an ICC public key recovered from a certificate, with the
// certificate's data.
type ICCKey struct {
	PublicKey
	// PAN is the application PAN padded with F (10 bytes).
	PAN []byte
	// Expiry is the certificate expiration date MMYY (BCD).
	Expiry [2]byte
	// Serial is the certificate serial number.
	Serial [3]byte
	// HashAlg is the hash used with this key: SHA1 for RSA, SM3 for SM2.
	HashAlg HashAlg
}

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
