// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/tlv"
)

// odaMethod is the offline data authentication a card is personalised for.
type odaMethod int

const (
	odaNone odaMethod = iota
	odaSDA
	odaDDA
	odaCDA
)

// AIP byte 1 bits (EMV Book 3 Annex C1).
const (
	aipSDA        byte = 0x40
	aipDDA        byte = 0x20
	aipCVM        byte = 0x10
	aipTRM        byte = 0x08
	aipIssuerAuth byte = 0x04
	aipCDA        byte = 0x01
)

// TestCARID is the RID under which the simulator's test CA keys are
// registered (China UnionPay), as in capk/testkeys/testca.json.
const TestCARID = "A000000333"

// TestCAKey describes one key of the simulator's test certification
// authority. The private key is derived from Seed with package pki, so the
// public key is fixed; capk/testkeys/testca.json holds the public halves and
// a test keeps the two in step.
type TestCAKey struct {
	// Index is the CA public key index (tag 8F).
	Index byte
	// Alg is the public key algorithm: oda.RSA or oda.SM2.
	Alg oda.PKAlg
	// Bits is the RSA modulus length (256 for SM2).
	Bits int
	// Exponent is the RSA public exponent (3 or 65537); 0 for SM2.
	Exponent int
	// Seed is the pki seed of the key.
	Seed string
}

// testCA is the simulator's test CA. Never use these keys in production:
// their private halves follow from the public seeds.
var testCA = []TestCAKey{
	{Index: 0xF1, Alg: oda.RSA, Bits: 1984, Exponent: 3, Seed: "pboc-cardsim-test-ca-F1"},
	{Index: 0xF2, Alg: oda.RSA, Bits: 1408, Exponent: 65537, Seed: "pboc-cardsim-test-ca-F2"},
	{Index: 0xF3, Alg: oda.SM2, Bits: 256, Seed: "pboc-cardsim-test-ca-F3"},
}

// Default test CA indexes per algorithm.
const (
	defaultCAIndexRSA = 0xF1
	defaultCAIndexSM2 = 0xF3
)

// TestCA returns the keys of the simulator's test CA (RID A000000333):
// F1 RSA 1984 bits e=3 (the default for RSA cards), F2 RSA 1408 bits
// e=65537, F3 SM2 (the default for SM2 cards).
func TestCA() []TestCAKey {
	return append([]TestCAKey(nil), testCA...)
}

// KeyPair derives the key pair of the test CA key from its seed.
func (k TestCAKey) KeyPair() (*pki.KeyPair, error) {
	if k.Alg == oda.SM2 {
		kp, err := pki.GenerateSM2(k.Seed)
		if err != nil {
			return nil, fmt.Errorf("cardsim: test CA %02X: %w", k.Index, err)
		}
		return kp, nil
	}
	kp, err := pki.GenerateRSA(k.Seed, k.Bits, k.Exponent)
	if err != nil {
		return nil, fmt.Errorf("cardsim: test CA %02X: %w", k.Index, err)
	}
	return kp, nil
}

func findTestCA(index byte) (TestCAKey, bool) {
	for _, k := range testCA {
		if k.Index == index {
			return k, true
		}
	}
	return TestCAKey{}, false
}

// defaultAIP is the AIP of a card personalised for method m.
func defaultAIP(m odaMethod) string {
	b := aipCVM | aipTRM | aipIssuerAuth
	switch m {
	case odaSDA:
		b |= aipSDA
	case odaDDA:
		b |= aipDDA
	case odaCDA:
		b |= aipDDA | aipCDA
	}
	return fmt.Sprintf("%02X00", b)
}

// maxCDAKeyBytes is the longest RSA ICC modulus whose CDA GENERATE AC
// response fits 256 bytes: 77 81 L ‖ 9F27 (4) ‖ 9F36 (5) ‖ 9F4B 81 L n ‖
// 9F10 (3 + 19).
const maxCDAKeyBytes = maxRecordBytes - 3 - 4 - 5 - 4 - 22

// odaParams is the validated ODA personalisation of an application.
type odaParams struct {
	alg                     oda.PKAlg
	ca                      TestCAKey
	issuerBits, iccBits     int
	issuerExp, iccExp       int
	issuerSeed, iccSeed     string
	issuerID                []byte
	certExpiry              [2]byte
	issuerSerial, iccSerial [3]byte
}

// compileODA validates the ODA fields of a and fills their defaults.
func compileODA(a *Application, f func(string) string, out *app) error {
	switch a.ODA {
	case "", "none":
		a.ODA, out.oda = "none", odaNone
	case "sda":
		out.oda = odaSDA
	case "dda":
		out.oda = odaDDA
	case "cda":
		out.oda = odaCDA
	default:
		return fieldErr(f("oda"), "%q is not one of none, sda, dda, cda", clip(a.ODA))
	}
	var alg oda.PKAlg
	switch a.ODAAlg {
	case "":
		alg = oda.RSA
		if out.oda != odaNone {
			a.ODAAlg = "rsa"
		}
	case "rsa":
		alg = oda.RSA
	case "sm2":
		alg = oda.SM2
	default:
		return fieldErr(f("oda_alg"), "%q is not one of rsa, sm2", clip(a.ODAAlg))
	}
	caIndex := byte(defaultCAIndexRSA)
	if alg == oda.SM2 {
		caIndex = defaultCAIndexSM2
	}
	if a.CAIndex != "" {
		b, err := hexField(f("ca_index"), a.CAIndex, 1, 1)
		if err != nil {
			return err
		}
		caIndex = b[0]
	}
	ca, ok := findTestCA(caIndex)
	if !ok {
		return fieldErr(f("ca_index"), "%02X is not a test CA key (F1, F2, F3)", caIndex)
	}
	if ca.Alg != alg {
		return fieldErr(f("ca_index"), "test CA key %02X is %s, not %s", caIndex, ca.Alg, alg)
	}
	if alg == oda.SM2 {
		for _, x := range []struct {
			name string
			v    int
		}{{"issuer_key_bits", a.IssuerKeyBits}, {"icc_key_bits", a.ICCKeyBits},
			{"issuer_exponent", a.IssuerExponent}, {"icc_exponent", a.ICCExponent}} {
			if x.v != 0 {
				return fieldErr(f(x.name), "applies to RSA only (oda_alg is sm2)")
			}
		}
	}
	if out.oda == odaNone {
		// Nothing to personalise; explicit values are kept as written.
		if a.CAIndex != "" {
			a.CAIndex = strings.ToUpper(a.CAIndex)
		}
		return checkRSAFields(a, f)
	}
	a.CAIndex = fmt.Sprintf("%02X", caIndex)
	p := &odaParams{alg: alg, ca: ca}
	if alg == oda.RSA {
		if a.IssuerKeyBits == 0 {
			a.IssuerKeyBits = min(DefaultIssuerKeyBits, ca.Bits)
		}
		if a.ICCKeyBits == 0 {
			a.ICCKeyBits = min(DefaultICCKeyBits, a.IssuerKeyBits)
		}
		if a.IssuerExponent == 0 {
			a.IssuerExponent = DefaultRSAExponent
		}
		if a.ICCExponent == 0 {
			a.ICCExponent = DefaultRSAExponent
		}
		if err := checkRSAFields(a, f); err != nil {
			return err
		}
		if a.IssuerKeyBits > ca.Bits {
			return fieldErr(f("issuer_key_bits"), "%d is longer than the %d-bit CA key %02X", a.IssuerKeyBits, ca.Bits, caIndex)
		}
		if a.ICCKeyBits > a.IssuerKeyBits {
			return fieldErr(f("icc_key_bits"), "%d is longer than the %d-bit issuer key", a.ICCKeyBits, a.IssuerKeyBits)
		}
		if out.oda == odaCDA && a.ICCKeyBits/8 > maxCDAKeyBytes {
			return fieldErr(f("icc_key_bits"), "%d is too long for CDA: the GENERATE AC response must fit 256 bytes (at most %d bits)", a.ICCKeyBits, maxCDAKeyBytes*8)
		}
		p.issuerBits, p.iccBits = a.IssuerKeyBits, a.ICCKeyBits
		p.issuerExp, p.iccExp = a.IssuerExponent, a.ICCExponent
	}
	p.issuerSeed = "pboc-test-issuer-" + a.PAN
	p.iccSeed = fmt.Sprintf("pboc-test-icc-%s-%02d", a.PAN, a.PANSequence)
	// Issuer identifier: the leftmost six PAN digits (the BIN), F-padded.
	id, err := hex.DecodeString(a.PAN[:6] + "FF")
	if err != nil {
		return fieldErr(f("pan"), "%s", err)
	}
	p.issuerID = id
	// Both certificates expire with the application (MMYY).
	exp := dateBytes(a.Expiry)
	p.certExpiry = [2]byte{exp[1], exp[0]}
	p.issuerSerial = [3]byte{0x00, 0x00, 0x01}
	p.iccSerial = [3]byte{0x00, 0x00, 0x01}
	out.odaParams = p
	return nil
}

// checkRSAFields checks the RSA key sizes and exponents that are set.
func checkRSAFields(a *Application, f func(string) string) error {
	for _, x := range []struct {
		name string
		v    int
	}{{"issuer_key_bits", a.IssuerKeyBits}, {"icc_key_bits", a.ICCKeyBits}} {
		if x.v != 0 && (x.v < 1024 || x.v > 1984 || x.v%8 != 0) {
			return fieldErr(f(x.name), "%d is not a multiple of 8 in 1024..1984", x.v)
		}
	}
	for _, x := range []struct {
		name string
		v    int
	}{{"issuer_exponent", a.IssuerExponent}, {"icc_exponent", a.ICCExponent}} {
		if x.v != 0 && x.v != 3 && x.v != 65537 {
			return fieldErr(f(x.name), "%d is not 3 or 65537", x.v)
		}
	}
	return nil
}

// checkCDOLsForCDA checks that both CDOLs ask for the unpredictable number
// that a CDA signature covers.
func checkCDOLsForCDA(out *app, f func(string) string) error {
	for _, d := range []struct {
		name string
		dol  tlv.DOL
	}{{"cdol1", out.cdol1}, {"cdol2", out.cdol2}} {
		ok := false
		for _, e := range d.dol {
			if e.Tag == tagUN && e.Len == 4 {
				ok = true
			}
		}
		if !ok {
			return fieldErr(f(d.name), "a CDA card needs 9F37 04 (unpredictable number) in its CDOLs")
		}
	}
	return nil
}

// odaImage is the personalised ODA data of an application: the SFI 3
// records and the ICC private key.
type odaImage struct {
	records    [][]byte // SFI 3 records 1..n
	staticData []byte   // static data to be authenticated
	icc        *pki.KeyPair
	pinKey     *pki.KeyPair // the separate PIN encipherment key, if any
}

// odaCache keeps personalisations so that cards built again from the same
// profile get the same certificates (SM2 signatures are randomised) and so
// that building a card is cheap. It is bounded; when full it is emptied.
var odaCache struct {
	sync.Mutex
	m map[[32]byte]*odaImage
}

const odaCacheMax = 256

// personaliseODA computes the certificates of a over the static data of
// its flagged records and builds the SFI 3 records.
func (a *app) personaliseODA() error {
	p := a.odaParams
	if a.oda == odaNone || p == nil {
		return nil
	}
	static, err := oda.StaticData([]oda.Record{{SFI: 2, Data: a.recApp}}, []byte{byte(tagAIP)}, a.aip)
	if err != nil {
		return fmt.Errorf("static data: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%d\x00%02X\x00%d\x00%d\x00%d\x00%d\x00%s\x00%s\x00%X\x00%X\x00%d\x00", a.oda, p.alg, p.ca.Index,
		p.issuerBits, p.iccBits, p.issuerExp, p.iccExp, p.issuerSeed, p.iccSeed, p.issuerID, p.certExpiry, a.pinEnc)
	h.Write(a.recApp)
	h.Write(static)
	var key [32]byte
	h.Sum(key[:0])
	odaCache.Lock()
	img, ok := odaCache.m[key]
	odaCache.Unlock()
	if !ok {
		if img, err = a.buildODA(p, static); err != nil {
			return err
		}
		odaCache.Lock()
		if odaCache.m == nil || len(odaCache.m) >= odaCacheMax {
			odaCache.m = make(map[[32]byte]*odaImage)
		}
		odaCache.m[key] = img
		odaCache.Unlock()
	}
	a.odaRecords, a.staticData, a.icc, a.pinEncKey = img.records, img.staticData, img.icc, img.pinKey
	return nil
}

// buildODA generates the keys and certificates and lays out the records:
//
//	SFI 3 record 1: 70[90 issuer certificate]
//	SFI 3 record 2: 70[8F, 92 (RSA, if any), 9F32 (RSA), 9F4A 82,
//	                   9F47 and 9F48 (RSA DDA/CDA, 9F48 if any), 9F49 (DDA/CDA)]
//	SFI 3 record 3: 70[93 signed static data] (SDA) or 70[9F46] (DDA/CDA)
func (a *app) buildODA(p *odaParams, static []byte) (*odaImage, error) {
	ca, err := p.ca.KeyPair()
	if err != nil {
		return nil, err
	}
	var issuer, icc *pki.KeyPair
	if p.alg == oda.SM2 {
		if issuer, err = pki.GenerateSM2(p.issuerSeed); err == nil && a.oda != odaSDA {
			icc, err = pki.GenerateSM2(p.iccSeed)
		}
	} else {
		if issuer, err = pki.GenerateRSA(p.issuerSeed, p.issuerBits, p.issuerExp); err == nil && a.oda != odaSDA {
			icc, err = pki.GenerateRSA(p.iccSeed, p.iccBits, p.iccExp)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("generate keys: %w", err)
	}
	cert, rem, exp, err := pki.IssueIssuerCert(ca, issuer, p.issuerID, p.certExpiry, p.issuerSerial)
	if err != nil {
		return nil, fmt.Errorf("issuer certificate: %w", err)
	}
	small := []tlv.TLV{{Tag: tagCAIndex, Value: []byte{p.ca.Index}}}
	if len(rem) > 0 {
		small = append(small, tlv.TLV{Tag: tagIssuerRem, Value: rem})
	}
	if len(exp) > 0 {
		small = append(small, tlv.TLV{Tag: tagIssuerExp, Value: exp})
	}
	small = append(small, tlv.TLV{Tag: tagSDATagList, Value: []byte{byte(tagAIP)}})
	var third tlv.TLV
	if a.oda == odaSDA {
		ssad, err := pki.SignStaticData(issuer, [2]byte{0xDA, 0xC1}, static)
		if err != nil {
			return nil, fmt.Errorf("signed static data: %w", err)
		}
		third = tlv.TLV{Tag: tagSSAD, Value: ssad}
	} else {
		iccCert, iccRem, iccExp, err := pki.IssueICCCert(issuer, icc, panBytes(a.prof.PAN), p.certExpiry, p.iccSerial, static)
		if err != nil {
			return nil, fmt.Errorf("ICC certificate: %w", err)
		}
		if len(iccExp) > 0 {
			small = append(small, tlv.TLV{Tag: tagICCExp, Value: iccExp})
		}
		if len(iccRem) > 0 {
			small = append(small, tlv.TLV{Tag: tagICCRem, Value: iccRem})
		}
		small = append(small, tlv.TLV{Tag: tagDDOL, Value: ddol})
		third = tlv.TLV{Tag: tagICCCert, Value: iccCert}
	}
	img := &odaImage{
		records: [][]byte{
			tlv.Encode(tlv.Constructed(tagRecord, tlv.TLV{Tag: tagIssuerCert, Value: cert})),
			tlv.Encode(tlv.Constructed(tagRecord, small...)),
			tlv.Encode(tlv.Constructed(tagRecord, third)),
		},
		staticData: static,
		icc:        icc,
	}
	if a.pinEnc == pinEncSeparate {
		if err := a.buildPINKey(img, p, issuer); err != nil {
			return nil, err
		}
	}
	for i, r := range img.records {
		if len(r) > maxRecordBytes {
			return nil, fmt.Errorf("SFI 3 record %d would be %d bytes, more than %d", i+1, len(r), maxRecordBytes)
		}
	}
	return img, nil
}

// dynamicNumber returns a fresh 8-byte ICC dynamic number: a hash of the
// PAN, the ATC and a counter of the card's signatures, so a card replays the
// same numbers when built again from the same profile.
func (a *app) dynamicNumber() []byte {
	a.dynCounter++
	return a.unpredictable("pboc-cardsim-icc-dynamic-number", a.dynCounter)
}

// unpredictable is 8 bytes the card makes up: a hash of label, the PAN,
// the ATC and n, a counter of the numbers of that kind it made.
func (a *app) unpredictable(label string, n uint32) []byte {
	h := sha256.New()
	h.Write([]byte(label + "\x00"))
	h.Write([]byte(a.prof.PAN))
	var b [6]byte
	binary.BigEndian.PutUint16(b[:2], a.atc)
	binary.BigEndian.PutUint32(b[2:], n)
	h.Write(b[:])
	return h.Sum(nil)[:8]
}

// hashAlg is the hash of CDA transaction data for the card's key.
func (a *app) hashAlg() oda.HashAlg {
	if a.odaParams != nil && a.odaParams.alg == oda.SM2 {
		return oda.SM3
	}
	return oda.SHA1
}

// PINKeyBits is the size of the separate PIN encipherment key
// (pin.encipherment "separate").
const PINKeyBits = 1024

// buildPINKey generates the separate ICC PIN encipherment key (seed
// "pboc-test-pin-" + PAN + "-" + PAN sequence) and adds SFI 3 record 4:
// 70[9F2D certificate, 9F2E exponent, 9F2F remainder if any] (EMV Book 2
// §7.1), not flagged for ODA.
func (a *app) buildPINKey(img *odaImage, p *odaParams, issuer *pki.KeyPair) error {
	seed := fmt.Sprintf("pboc-test-pin-%s-%02d", a.prof.PAN, a.prof.PANSequence)
	key, err := pki.GenerateRSA(seed, PINKeyBits, DefaultRSAExponent)
	if err != nil {
		return fmt.Errorf("PIN encipherment key: %w", err)
	}
	cert, rem, exp, err := pki.IssueICCPINCert(issuer, key, panBytes(a.prof.PAN), p.certExpiry, p.iccSerial)
	if err != nil {
		return fmt.Errorf("PIN encipherment key certificate: %w", err)
	}
	objs := []tlv.TLV{{Tag: tagPINCert, Value: cert}, {Tag: tagPINExp, Value: exp}}
	if len(rem) > 0 {
		objs = append(objs, tlv.TLV{Tag: tagPINRem, Value: rem})
	}
	img.records = append(img.records, tlv.Encode(tlv.Constructed(tagRecord, objs...)))
	img.pinKey = key
	return nil
}
