// SPDX-License-Identifier: Apache-2.0

package pki

import (
	"fmt"

	"github.com/go-pboc/pboc/crypto/oda"
)

// certKey checks the signer/subject pairing and returns the subject's public
// key bytes for the certificate.
func certKey(signer, subject *KeyPair, what string) error {
	if signer == nil || subject == nil {
		return fmt.Errorf("%w: missing key", ErrInput)
	}
	if signer.alg != subject.alg {
		return fmt.Errorf("%w: %s key is %s but the signing key is %s", ErrKeySize, what, subject.alg, signer.alg)
	}
	if signer.alg == oda.RSA && subject.bits > signer.bits {
		return fmt.Errorf("%w: %s key of %d bits is longer than the %d-bit signing key", ErrKeySize, what, subject.bits, signer.bits)
	}
	return nil
}

// splitKey splits an RSA modulus into the part that fits a certificate field
// of room bytes (padded with BB) and the remainder.
func splitKey(mod []byte, room int) (field, remainder []byte) {
	if len(mod) <= room {
		return append(append([]byte(nil), mod...), pad(room-len(mod))...), nil
	}
	return append([]byte(nil), mod[:room]...), append([]byte(nil), mod[room:]...)
}

// IssueIssuerCert issues the issuer public key certificate (tag 90) with the
// CA key: format 02 for RSA (returning also the remainder for 92, possibly
// empty, and the exponent for 9F32), format 12 for SM2 (remainder and
// exponent are nil). issuerID is the leftmost 3–8 PAN digits padded with F
// (4 bytes); expiry is MMYY in BCD.
func IssueIssuerCert(ca *KeyPair, issuer *KeyPair, issuerID []byte, expiry [2]byte, serial [3]byte) (cert, remainder, exponent []byte, err error) {
	if err := certKey(ca, issuer, "issuer"); err != nil {
		return nil, nil, nil, err
	}
	if len(issuerID) != 4 {
		return nil, nil, nil, fmt.Errorf("%w: issuer identifier of %d bytes (want 4)", ErrInput, len(issuerID))
	}
	pub := issuer.Public()
	if ca.alg == oda.SM2 {
		body := []byte{oda.FormatSM2IssuerCert}
		body = append(body, issuerID...)
		body = append(body, expiry[:]...)
		body = append(body, serial[:]...)
		body = append(body, byte(oda.SM2), 0x00, 0x00, oda.SM2PointLen)
		body = append(body, pub.Point...)
		cert, err = ca.sm2Item(body)
		return cert, nil, nil, err
	}
	nCA := ca.bits / 8
	field, rem := splitKey(pub.Modulus, nCA-36)
	body := []byte{oda.FormatIssuerCert}
	body = append(body, issuerID...)
	body = append(body, expiry[:]...)
	body = append(body, serial[:]...)
	body = append(body, byte(oda.SHA1), byte(oda.RSA), byte(len(pub.Modulus)), byte(len(pub.Exponent)))
	body = append(body, field...)
	cert, err = ca.rsaBlock(body, rem, pub.Exponent)
	return cert, rem, pub.Exponent, err
}

// IssueICCCert issues the ICC public key certificate (tag 9F46) with the
// issuer key: format 04 for RSA (with the remainder for 9F48, possibly empty,
// and the exponent for 9F47), format 14 for SM2. pan is the application PAN
// (up to 10 bytes, F-padded; it is padded to 10 bytes with F). staticData
// is the static data to be authenticated, covered by the certificate.
func IssueICCCert(issuer *KeyPair, icc *KeyPair, pan []byte, expiry [2]byte, serial [3]byte, staticData []byte) (cert, remainder, exponent []byte, err error) {
	if err := certKey(issuer, icc, "ICC"); err != nil {
		return nil, nil, nil, err
	}
	if len(pan) == 0 || len(pan) > 10 {
		return nil, nil, nil, fmt.Errorf("%w: PAN of %d bytes (want 1–10)", ErrInput, len(pan))
	}
	pan10 := append(append([]byte(nil), pan...), make([]byte, 10-len(pan))...)
	for i := len(pan); i < 10; i++ {
		pan10[i] = 0xFF
	}
	pub := icc.Public()
	if issuer.alg == oda.SM2 {
		body := []byte{oda.FormatSM2ICCCert}
		body = append(body, pan10...)
		body = append(body, expiry[:]...)
		body = append(body, serial[:]...)
		body = append(body, byte(oda.SM2), 0x00, 0x00, oda.SM2PointLen)
		body = append(body, pub.Point...)
		cert, err = issuer.sm2Item(body, staticData)
		return cert, nil, nil, err
	}
	nI := issuer.bits / 8
	field, rem := splitKey(pub.Modulus, nI-42)
	body := []byte{oda.FormatICCCert}
	body = append(body, pan10...)
	body = append(body, expiry[:]...)
	body = append(body, serial[:]...)
	body = append(body, byte(oda.SHA1), byte(oda.RSA), byte(len(pub.Modulus)), byte(len(pub.Exponent)))
	body = append(body, field...)
	cert, err = issuer.rsaBlock(body, rem, pub.Exponent, staticData)
	return cert, rem, pub.Exponent, err
}

// SignStaticData produces the signed static application data (tag 93) with
// the issuer key: format 03 (RSA) or 13 (SM2), carrying the data
// authentication code dac.
func SignStaticData(issuer *KeyPair, dac [2]byte, staticData []byte) ([]byte, error) {
	if issuer == nil {
		return nil, fmt.Errorf("%w: no issuer key", ErrInput)
	}
	if issuer.alg == oda.SM2 {
		return issuer.sm2Item([]byte{oda.FormatSM2SSAD, dac[0], dac[1]}, staticData)
	}
	nI := issuer.bits / 8
	body := append([]byte{oda.FormatSSAD, byte(oda.SHA1), dac[0], dac[1]}, pad(nI-26)...)
	return issuer.rsaBlock(body, staticData)
}

// dynamic signs ICC dynamic data idd: RSA format 05 with hash over the
// recovered body ‖ extra; SM2 format sm2Format ‖ L ‖ idd signed with extra.
func (k *KeyPair) dynamic(idd []byte, sm2Format byte, extra ...[]byte) ([]byte, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: no ICC key", ErrInput)
	}
	if len(idd) > 255 {
		return nil, fmt.Errorf("%w: ICC dynamic data of %d bytes", ErrInput, len(idd))
	}
	if k.alg == oda.SM2 {
		body := append([]byte{sm2Format, byte(len(idd))}, idd...)
		return k.sm2Item(body, extra...)
	}
	n := k.bits / 8
	if len(idd) > n-25 {
		return nil, fmt.Errorf("%w: ICC dynamic data of %d bytes does not fit a %d-byte key", ErrInput, len(idd), n)
	}
	body := append([]byte{oda.FormatSDAD, byte(oda.SHA1), byte(len(idd))}, idd...)
	body = append(body, pad(n-25-len(idd))...)
	return k.rsaBlock(body, extra...)
}

func dynNumber(num []byte) ([]byte, error) {
	if len(num) < 2 || len(num) > 8 {
		return nil, fmt.Errorf("%w: ICC dynamic number of %d bytes (want 2–8)", ErrInput, len(num))
	}
	return append([]byte{byte(len(num))}, num...), nil
}

// SignDynamicData produces the DDA signed dynamic application data (9F4B)
// with the ICC key over the ICC dynamic number (2–8 bytes) and the DDOL data
// received in INTERNAL AUTHENTICATE: format 05 (RSA) or 15 (SM2).
func SignDynamicData(icc *KeyPair, iccDynamicNumber, ddolData []byte) ([]byte, error) {
	idd, err := dynNumber(iccDynamicNumber)
	if err != nil {
		return nil, err
	}
	return icc.dynamic(idd, oda.FormatSM2SDAD, ddolData)
}

// TransactionDataHash returns the CDA transaction data hash code over
// PDOL data ‖ CDOL data ‖ response TLVs (see oda.TransactionDataHash).
func TransactionDataHash(alg oda.HashAlg, parts ...[]byte) []byte {
	return oda.TransactionDataHash(alg, parts...)
}

// SignCDA produces the CDA signature (9F4B in the GENERATE AC response) with
// the ICC key: ICC dynamic data = L ‖ ICC dynamic number ‖ CID ‖ AC (8) ‖
// transaction data hash code, signed together with the terminal's
// unpredictable number. txnDataHash must come from TransactionDataHash with
// SHA1 for RSA keys and SM3 for SM2 keys.
func SignCDA(icc *KeyPair, iccDynamicNumber []byte, cid byte, ac []byte, un []byte, txnDataHash []byte) ([]byte, error) {
	if icc == nil {
		return nil, fmt.Errorf("%w: no ICC key", ErrInput)
	}
	if len(ac) != 8 {
		return nil, fmt.Errorf("%w: cryptogram of %d bytes (want 8)", ErrInput, len(ac))
	}
	if len(txnDataHash) != icc.hashAlg().Size() {
		return nil, fmt.Errorf("%w: transaction data hash of %d bytes (want %d)", ErrInput, len(txnDataHash), icc.hashAlg().Size())
	}
	idd, err := dynNumber(iccDynamicNumber)
	if err != nil {
		return nil, err
	}
	idd = append(idd, cid)
	idd = append(idd, ac...)
	idd = append(idd, txnDataHash...)
	return icc.dynamic(idd, oda.FormatSM2SDAD, un)
}

// SignFDDA produces the qPBOC fDDA signature (9F4B) with the ICC key. The
// version is cardAuthData[0] (9F69; empty means 00): version 00 signs the
// unpredictable number only, version 01 signs UN ‖ amount ‖ currency ‖ 9F69.
// RSA uses format 05, SM2 format 16.
func SignFDDA(icc *KeyPair, iccDynamicNumber []byte, un, amount, currency, cardAuthData []byte) ([]byte, error) {
	idd, err := dynNumber(iccDynamicNumber)
	if err != nil {
		return nil, err
	}
	extra := [][]byte{un}
	if len(cardAuthData) > 0 {
		switch cardAuthData[0] {
		case 0x00:
		case 0x01:
			extra = append(extra, amount, currency, cardAuthData)
		default:
			return nil, fmt.Errorf("%w: fDDA version %02X", ErrInput, cardAuthData[0])
		}
	}
	return icc.dynamic(idd, oda.FormatSM2FDDA, extra...)
}

// IssueICCPINCert issues the ICC PIN encipherment public key certificate
// (tag 9F2D, with the remainder for 9F2F and the exponent for 9F2E; EMV
// Book 2 §7.1) with the issuer key: the ICC certificate's layout (format
// 04 / 14) over no static data.
func IssueICCPINCert(issuer *KeyPair, pinKey *KeyPair, pan []byte, expiry [2]byte, serial [3]byte) (cert, remainder, exponent []byte, err error) {
	return IssueICCCert(issuer, pinKey, pan, expiry, serial, nil)
}
