// SPDX-License-Identifier: Apache-2.0

// Package oda implements the terminal side of EMV offline data
// authentication (EMV Book 2 §5 SDA, §6 DDA, §6.6 CDA), the qPBOC fast
// DDA (fDDA), and the PBOC 3.0 variants that use SM2 signatures and SM3
// hashes.
//
// Every procedure works on raw tag values so that a laboratory can check one
// certificate at a time: the issuer public key certificate (tag 90, with 92
// and 9F32), the ICC public key certificate (9F46, with 9F48 and 9F47), the
// signed static application data (93) and the signed dynamic application data
// (9F4B, for DDA, CDA and fDDA).
//
// All input is treated as hostile: no function panics, reads out of range or
// allocates more than a small multiple of its input on any byte string.
// Failures wrap one of the package's sentinel errors (ErrFormat, ErrHash, …)
// with %w, so callers test them with errors.Is.
//
// # RSA (EMV)
//
// RSA data is recovered with the raw public operation x^e mod n, checked to be
// as long as the modulus, to start with header 6A, end with trailer BC, carry
// the expected format byte (02 issuer certificate, 04 ICC certificate, 03
// signed static data, 05 signed dynamic data), hash algorithm indicator 01
// (SHA-1) and public key algorithm indicator 01 (RSA); then the SHA-1 hash is
// compared. Only the public exponents 3 and 65537 are accepted. Moduli must be
// 64 to 248 bytes long (512 to 1984 bits), odd, and must not start with a 00
// byte; a certified key may not be longer than the key that certifies it.
//
// A public key remainder (92, 9F48) must be present exactly when the key does
// not fit in the certificate, and must then have exactly the missing length;
// a non-empty remainder for a key that fits is rejected as ErrFormat.
//
// # SM2 (PBOC 3.0, JR/T 0025.17)
//
// SM2 items are not recovered: they are plain fields followed by a 64-byte
// signature r‖s. The layouts implemented here follow the structures used by
// open-source PBOC kernels; the standard text itself could not be consulted,
// so treat them as the project's reading of JR/T 0025.17:
//
//	issuer certificate (90), format 12:
//	  12 ‖ issuer ID (4) ‖ expiry MMYY (2) ‖ serial (3) ‖ signature algorithm 04 ‖
//	  encryption algorithm (1, not checked) ‖ curve parameter index (1, not checked) ‖
//	  key length 40 ‖ key X‖Y (64) ‖ signature r‖s (64)
//	ICC certificate (9F46), format 14:
//	  14 ‖ PAN (10) ‖ expiry (2) ‖ serial (3) ‖ 04 ‖ (1) ‖ (1) ‖ 40 ‖ key (64) ‖ signature (64)
//	signed static data (93), format 13:     13 ‖ DAC (2) ‖ signature (64)
//	signed dynamic data (9F4B), format 15:  15 ‖ L ‖ ICC dynamic data (L) ‖ signature (64)
//	qPBOC fDDA signature (9F4B), format 16: 16 ‖ L ‖ ICC dynamic data (L) ‖ signature (64)
//
// The signed message is every byte before the signature followed by the same
// extra data the RSA variant hashes: nothing for the issuer certificate, the
// static data to be authenticated for the ICC certificate and for signed
// static data, the DDOL data for DDA, the unpredictable number for CDA, and
// the unpredictable number (‖ amount ‖ currency ‖ 9F69 for version 01) for
// fDDA. Signatures follow GB/T 32918.2 (SM3 with Z computed over the signer's
// public key and the default user ID "1234567812345678"). For CDA the
// transaction data hash inside the ICC dynamic data is an SM3 hash (32 bytes).
// Tags 92 and 9F32 are not used with SM2 and are ignored.
//
// # Static data to be authenticated
//
// StaticData builds the input for SDA and for the ICC certificate hash from
// the records named by the AFL. It includes a tiny private scanner that only
// understands the record template 70 and its BER length, so that a record
// is hashed exactly as the card sent it (the project's tlv package is used
// only to mask the PANs an error names).
package oda
