// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"time"
)

// Certificate format codes.
const (
	FormatIssuerCert    = 0x02 // issuer public key certificate (RSA)
	FormatSSAD          = 0x03 // signed static application data (RSA)
	FormatICCCert       = 0x04 // ICC public key certificate (RSA)
	FormatSDAD          = 0x05 // signed dynamic application data (RSA: DDA, CDA, fDDA)
	FormatSM2IssuerCert = 0x12 // issuer public key certificate (SM2)
	FormatSM2SSAD       = 0x13 // signed static application data (SM2)
	FormatSM2ICCCert    = 0x14 // ICC public key certificate (SM2)
	FormatSM2SDAD       = 0x15 // signed dynamic application data (SM2: DDA, CDA)
	FormatSM2FDDA       = 0x16 // qPBOC fDDA signature (SM2)
)

// IssuerCertInput holds what the terminal has to recover the issuer public key.
type IssuerCertInput struct {
	// CA is the certification authority public key selected by RID and 8F.
	CA PublicKey
	// Cert, Remainder and Exponent are the values of tags 90, 92 and 9F32.
	// Remainder and Exponent are not used with an SM2 CA key.
	Cert, Remainder, Exponent []byte
	// PAN is the application PAN (tag 5A).
	PAN []byte
	// Now is the transaction date; zero means time.Now().
	Now time.Time
	// Revoked, if not nil, reports whether the certificate serial number is
	// revoked for this CA key (the caller knows RID and index).
	Revoked func(serial [3]byte) bool
}

// RecoverIssuerKey recovers and checks the issuer public key (EMV Book 2
// §5.3 / §6.3; format 02 with an RSA CA key, format 12 with an SM2 CA key):
// certificate length, header, format, trailer, hash (RSA) or signature (SM2),
// issuer identifier against the leftmost PAN digits, expiry against Now (end
// of month), revocation, algorithm indicators, and the issuer key size (no
// longer than the CA key).
func RecoverIssuerKey(in IssuerCertInput) (*IssuerKey, error) {
	c, err := OpenIssuerCert(in.CA, in.Cert, in.Remainder, in.Exponent)
	if err != nil {
		return nil, err
	}
	return c.Check(in.PAN, in.Now, in.Revoked)
}

// IssuerCert is an issuer public key certificate opened under its CA key:
// recovered (RSA) or verified (SM2) and structurally checked, but not yet
// checked against a transaction. What it holds depends only on the CA key
// and the certificate's bytes (90, 92, 9F32), so a terminal may keep it
// for the next card of the same issuer; Check must still run for every
// transaction. It is immutable and safe to share.
type IssuerCert struct {
	c   certified
	alg PKAlg
}

// OpenIssuerCert recovers and checks an issuer certificate's structure
// (format 02 under an RSA CA key, 12 under an SM2 one): length, header,
// format, trailer, hash or signature, algorithm indicators, remainder,
// exponent and key size. The checks against the transaction are Check's.
func OpenIssuerCert(ca PublicKey, cert, remainder, exponent []byte) (*IssuerCert, error) {
	var c certified
	var err error
	switch ca.Alg {
	case RSA:
		c, err = openRSACert(ca, cert, FormatIssuerCert, 4, remainder, exponent, nil, "issuer", "9F32")
	case SM2:
		c, err = openSM2Cert(ca, cert, FormatSM2IssuerCert, 4, nil, "issuer")
	default:
		return nil, errorf(ErrAlgorithm, "CA key algorithm %s", ca.Alg)
	}
	if err != nil {
		return nil, err
	}
	return &IssuerCert{c: c, alg: ca.Alg}, nil
}

// Check makes the checks of one transaction and returns the issuer key:
// the issuer identifier against the leftmost PAN digits, the expiry
// against now (end of month; zero means time.Now()), revocation of the
// serial number, and the key itself.
func (ic *IssuerCert) Check(pan []byte, now time.Time, revoked func(serial [3]byte) bool) (*IssuerKey, error) {
	c := ic.c
	k := &IssuerKey{HashAlg: SHA1, IssuerID: c.id, Expiry: c.expiry, Serial: c.serial}
	if ic.alg == SM2 {
		k.HashAlg = SM3
	}
	if err := checkIssuerID(k.IssuerID, pan); err != nil {
		return nil, err
	}
	if err := checkExpiry(k.Expiry, now); err != nil {
		return nil, err
	}
	if revoked != nil && revoked(k.Serial) {
		return nil, errorf(ErrRevoked, "issuer certificate serial %X", k.Serial[:])
	}
	k.PublicKey = PublicKey{Alg: RSA, Modulus: c.key, Exponent: c.exponent}
	if ic.alg == SM2 {
		k.PublicKey = PublicKey{Alg: SM2, Point: c.key}
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// certified is what an issuer or ICC public key certificate certifies (RSA
// formats 02/04 or SM2 formats 12/14): key holds the RSA modulus or the SM2
// point.
type certified struct {
	id       []byte // issuer identifier (4 bytes) or PAN (10 bytes)
	expiry   [2]byte
	serial   [3]byte
	key      []byte
	exponent []byte
}

// openRSACert recovers an RSA certificate under its parent key and makes
// the checks the issuer (idLen 4) and ICC (idLen 10) certificates share:
// header, format and trailer, hash and key algorithm indicators, the key
// length (no longer than the parent's), the remainder, the exponent (3 or
// 65537, before the hash that covers it) and the hash over the
// certificate, remainder, exponent and extra (the static data for the ICC
// certificate, nil for the issuer's). what and expTag name the certificate
// in errors. The
// identifier, modulus and exponent are copied out in one allocation.
func openRSACert(parent PublicKey, cert []byte, format byte, idLen int, remainder, exponent, extra []byte, what, expTag string) (certified, error) {
	var c certified
	w, r, err := rsaRecover(parent, cert)
	if err != nil {
		return c, err
	}
	defer w.release()
	if err := checkRecovered(r, format); err != nil {
		return c, err
	}
	nParent := len(r)
	at := 2 + idLen
	copy(c.expiry[:], r[at:at+2])
	copy(c.serial[:], r[at+2:at+5])
	hashAlg, pkAlg, n, eLen := r[at+5], r[at+6], int(r[at+7]), int(r[at+8])
	field := r[at+9 : nParent-21]
	if HashAlg(hashAlg) != SHA1 {
		return c, errorf(ErrAlgorithm, "hash algorithm indicator %02X", hashAlg)
	}
	if PKAlg(pkAlg) != RSA {
		return c, errorf(ErrAlgorithm, "%s public key algorithm indicator %02X", what, pkAlg)
	}
	if err := checkModulus(field, remainder, n, nParent); err != nil {
		return c, err
	}
	if len(exponent) == 0 {
		return c, errorf(ErrMissing, "no exponent (%s)", expTag)
	}
	if eLen != len(exponent) {
		return c, errorf(ErrFormat, "exponent length %d in certificate, %d in %s", eLen, len(exponent), expTag)
	}
	// A wrong exponent is its own failure, before the hash that covers it.
	if _, err := exponentValue(exponent); err != nil {
		return c, err
	}
	// extra is nil for the issuer certificate: hashing nothing adds nothing.
	if err := checkHash(r[nParent-21:nParent-1], r[1:nParent-21], remainder, exponent, extra); err != nil {
		return c, err
	}
	buf := make([]byte, 0, idLen+n+len(exponent))
	buf = append(buf, r[2:2+idLen]...)
	buf = appendModulus(buf, field, remainder, n)
	buf = append(buf, exponent...)
	c.id = buf[0:idLen:idLen]
	c.key = buf[idLen : idLen+n : idLen+n]
	c.exponent = nilIfEmpty(buf[idLen+n:])
	return c, nil
}

// checkModulus checks that a certified modulus of n bytes can be built
// from the certificate's key field and the remainder. parent is the
// certifying modulus length.
func checkModulus(field, remainder []byte, n, parent int) error {
	if n < MinModulusLen || n > parent {
		return errorf(ErrKeyLength, "certified key of %d bytes under a %d-byte key", n, parent)
	}
	if n <= len(field) {
		if len(remainder) != 0 {
			return errorf(ErrFormat, "remainder of %d bytes for a key that fits the certificate", len(remainder))
		}
		return nil
	}
	if len(remainder) == 0 {
		return errorf(ErrMissing, "no remainder for a key of %d bytes (%d in the certificate)", n, len(field))
	}
	if len(remainder) != n-len(field) {
		return errorf(ErrFormat, "remainder of %d bytes, want %d", len(remainder), n-len(field))
	}
	return nil
}

// appendModulus appends the certified modulus (checked by checkModulus) to
// dst.
func appendModulus(dst, field, remainder []byte, n int) []byte {
	if n <= len(field) {
		return append(dst, field[:n]...)
	}
	dst = append(dst, field...)
	return append(dst, remainder...)
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// openSM2Cert checks an SM2 public key certificate (format 12, issuer
// identifier of idLen 4; format 14, PAN of idLen 10): length, format,
// signature algorithm, key length, and the SM2 signature of the parent key
// over the certificate body followed by extra (the static data for the ICC
// certificate, nil for the issuer's). The identifier and the point (in
// key) are copies.
func openSM2Cert(parent PublicKey, c []byte, format byte, idLen int, extra []byte, what string) (certified, error) {
	var out certified
	fixed := 10 + idLen // format ‖ id ‖ expiry 2 ‖ serial 3 ‖ alg ‖ param ‖ 2 more ‖ key length
	want := fixed + SM2PointLen + SM2SignatureLen
	if len(c) != want {
		return out, errorf(ErrKeyLength, "SM2 %s certificate of %d bytes (want %d)", what, len(c), want)
	}
	if c[0] != format {
		return out, errorf(ErrFormat, "format %02X (want %02X)", c[0], format)
	}
	if PKAlg(c[fixed-4]) != SM2 {
		return out, errorf(ErrAlgorithm, "%s key signature algorithm %02X (want 04)", what, c[fixed-4])
	}
	if int(c[fixed-1]) != SM2PointLen {
		return out, errorf(ErrKeyLength, "SM2 %s key length %d", what, c[fixed-1])
	}
	body := c[:fixed+SM2PointLen]
	msg := body
	if extra != nil {
		msg = concat(body, extra)
	}
	if err := sm2Verify(parent, msg, c[len(body):]); err != nil {
		return out, err
	}
	out.id = clone(c[1 : 1+idLen])
	copy(out.expiry[:], c[1+idLen:3+idLen])
	copy(out.serial[:], c[3+idLen:6+idLen])
	out.key = clone(c[fixed:len(body)])
	return out, nil
}

// ICCCertInput holds what the terminal has to recover the ICC public key.
type ICCCertInput struct {
	// Issuer is the key returned by RecoverIssuerKey.
	Issuer *IssuerKey
	// Cert, Remainder and Exponent are the values of tags 9F46, 9F48 and
	// 9F47. Remainder and Exponent are not used with SM2.
	Cert, Remainder, Exponent []byte
	// PAN is the application PAN (tag 5A).
	PAN []byte
	// StaticData is the static data to be authenticated (see StaticData).
	StaticData []byte
	// Now is the transaction date; zero means time.Now().
	Now time.Time
}

// RecoverICCKey recovers and checks the ICC public key (EMV Book 2 §6.4;
// format 04 with an RSA issuer key, 14 with an SM2 issuer key): length,
// header, format, trailer, hash over the certificate, remainder, exponent and
// static data (RSA) or signature (SM2), PAN, expiry, algorithm indicators,
// and the ICC key size (no longer than the issuer key).
func RecoverICCKey(in ICCCertInput) (*ICCKey, error) {
	if in.Issuer == nil {
		return nil, errorf(ErrAlgorithm, "no issuer key")
	}
	switch in.Issuer.Alg {
	case RSA:
		return recoverICCRSA(in)
	case SM2:
		return recoverICCSM2(in)
	}
	return nil, errorf(ErrAlgorithm, "issuer key algorithm %s", in.Issuer.Alg)
}

func recoverICCRSA(in ICCCertInput) (*ICCKey, error) {
	c, err := openRSACert(in.Issuer.PublicKey, in.Cert, FormatICCCert, 10, in.Remainder, in.Exponent, in.StaticData, "ICC", "9F47")
	if err != nil {
		return nil, err
	}
	k := &ICCKey{HashAlg: SHA1, PAN: c.id, Expiry: c.expiry, Serial: c.serial}
	if err := checkPAN(k.PAN, in.PAN); err != nil {
		return nil, err
	}
	if err := checkExpiry(k.Expiry, in.Now); err != nil {
		return nil, err
	}
	k.PublicKey = PublicKey{Alg: RSA, Modulus: c.key, Exponent: c.exponent}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

func recoverICCSM2(in ICCCertInput) (*ICCKey, error) {
	c, err := openSM2Cert(in.Issuer.PublicKey, in.Cert, FormatSM2ICCCert, 10, in.StaticData, "ICC")
	if err != nil {
		return nil, err
	}
	k := &ICCKey{HashAlg: SM3, PAN: c.id, Expiry: c.expiry, Serial: c.serial}
	if err := checkPAN(k.PAN, in.PAN); err != nil {
		return nil, err
	}
	if err := checkExpiry(k.Expiry, in.Now); err != nil {
		return nil, err
	}
	k.PublicKey = PublicKey{Alg: SM2, Point: c.key}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
