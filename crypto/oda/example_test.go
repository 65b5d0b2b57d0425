// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
)

// Example data shared by the examples: a 19-digit PAN, its issuer, and the
// transaction date.
var (
	exPAN    = []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F}
	exID     = []byte{0x62, 0x22, 0x60, 0xFF}
	exNow    = time.Date(2026, time.May, 15, 0, 0, 0, 0, time.UTC)
	exExpiry = [2]byte{0x12, 0x30} // December 2030
	exStatic = []byte{0x5A, 0x0A, 0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F, 0x82, 0x02, 0x7C, 0x00}
)

// exChain makes a CA (1408 bits), issuer (1152 bits) and ICC (1024 bits)
// with pki and recovers the issuer and ICC keys with oda.
func exChain() (iss, icc *pki.KeyPair, issuerKey *oda.IssuerKey, iccKey *oda.ICCKey) {
	ca, _ := pki.GenerateRSA("example CA", 1408, 3)
	iss, _ = pki.GenerateRSA("example issuer", 1152, 3)
	icc, _ = pki.GenerateRSA("example card", 1024, 65537)
	cert, rem, exp, _ := pki.IssueIssuerCert(ca, iss, exID, exExpiry, [3]byte{0, 0, 1})
	issuerKey, err := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp, PAN: exPAN, Now: exNow})
	if err != nil {
		panic(err)
	}
	cert, rem, exp, _ = pki.IssueICCCert(iss, icc, exPAN, exExpiry, [3]byte{0, 0, 2}, exStatic)
	iccKey, err = oda.RecoverICCKey(oda.ICCCertInput{Issuer: issuerKey, Cert: cert, Remainder: rem, Exponent: exp, PAN: exPAN, StaticData: exStatic, Now: exNow})
	if err != nil {
		panic(err)
	}
	return iss, icc, issuerKey, iccKey
}

func ExampleRecoverIssuerKey() {
	ca, _ := pki.GenerateRSA("example CA", 1408, 3)
	iss, _ := pki.GenerateRSA("example issuer", 1152, 3)
	cert, rem, exp, _ := pki.IssueIssuerCert(ca, iss, exID, exExpiry, [3]byte{0, 0, 1})

	key, err := oda.RecoverIssuerKey(oda.IssuerCertInput{
		CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp, PAN: exPAN, Now: exNow,
		Revoked: func(serial [3]byte) bool { return serial == [3]byte{0, 0, 9} },
	})
	fmt.Println(err, len(key.Modulus)*8, key.IssuerID, key.Serial)

	// One year after expiry.
	_, err = oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp, PAN: exPAN, Now: exNow.AddDate(5, 8, 0)})
	fmt.Println(err)
	// Output:
	// <nil> 1152 [98 34 96 255] [0 0 1]
	// oda: certificate expired: expired end of 12/2030
}

func ExampleRecoverIssuerKey_sm2() {
	ca, _ := pki.GenerateSM2("example SM2 CA")
	iss, _ := pki.GenerateSM2("example SM2 issuer")
	cert, _, _, _ := pki.IssueIssuerCert(ca, iss, exID, exExpiry, [3]byte{0, 0, 1})
	fmt.Printf("format %02X, %d bytes\n", cert[0], len(cert))

	key, err := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, PAN: exPAN, Now: exNow})
	fmt.Println(err, key.Alg, key.HashAlg)

	cert[20] ^= 1 // one bit of the issuer key
	_, err = oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, PAN: exPAN, Now: exNow})
	fmt.Println(err)
	// Output:
	// format 12, 142 bytes
	// <nil> SM2 SM3
	// oda: bad signature: SM2 signature does not verify
}

func ExampleRecoverICCKey() {
	ca, _ := pki.GenerateRSA("example CA", 1408, 3)
	iss, _ := pki.GenerateRSA("example issuer", 1152, 3)
	icc, _ := pki.GenerateRSA("example card", 1024, 65537)
	cert, rem, exp, _ := pki.IssueIssuerCert(ca, iss, exID, exExpiry, [3]byte{0, 0, 1})
	issuerKey, _ := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp, PAN: exPAN, Now: exNow})

	cert, rem, exp, _ = pki.IssueICCCert(iss, icc, exPAN, exExpiry, [3]byte{0, 0, 2}, exStatic)
	in := oda.ICCCertInput{Issuer: issuerKey, Cert: cert, Remainder: rem, Exponent: exp, PAN: exPAN, StaticData: exStatic, Now: exNow}
	key, err := oda.RecoverICCKey(in)
	fmt.Println(err, len(key.Modulus)*8, key.Exponent, len(rem))

	in.PAN = []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x4F}
	_, err = oda.RecoverICCKey(in)
	fmt.Println(errorsIs(err, oda.ErrPAN))
	// Output:
	// <nil> 1024 [1 0 1] 26
	// true
}

func ExampleVerifySSAD() {
	iss, _, issuerKey, _ := exChain()
	ssad, _ := pki.SignStaticData(iss, [2]byte{0xDA, 0xC0}, exStatic)

	dac, err := oda.VerifySSAD(issuerKey, ssad, exStatic)
	fmt.Printf("%X %v\n", dac, err)

	altered := append([]byte(nil), exStatic...)
	altered[5] = 0x99
	_, err = oda.VerifySSAD(issuerKey, ssad, altered)
	fmt.Println(errorsIs(err, oda.ErrHash))
	// Output:
	// DAC0 <nil>
	// true
}

func ExampleVerifySDAD() {
	_, icc, _, iccKey := exChain()
	ddol := []byte{0x12, 0x34, 0x56, 0x78} // 9F37 asked for by the DDOL
	sdad, _ := pki.SignDynamicData(icc, []byte{0x00, 0x2A}, ddol)

	num, err := oda.VerifySDAD(iccKey, sdad, ddol)
	fmt.Printf("%X %v\n", num, err)
	// Output:
	// 002A <nil>
}

func ExampleVerifyCDA() {
	_, icc, _, iccKey := exChain()
	un := []byte{0xCA, 0xFE, 0xBA, 0xBE}
	pdol := []byte{0x01, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x56}
	cdol1 := append([]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00}, un...)
	ac := []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	// The GENERATE AC response objects other than 9F4B, in order.
	resp := append([]byte{0x9F, 0x27, 0x01, 0x40, 0x9F, 0x36, 0x02, 0x00, 0x07, 0x9F, 0x26, 0x08}, ac...)

	h := pki.TransactionDataHash(iccKey.HashAlg, pdol, cdol1, resp)
	sdad, _ := pki.SignCDA(icc, []byte{0x00, 0x07}, 0x40, ac, un, h)

	in := oda.CDAInput{ICC: iccKey, SDAD: sdad, UnpredictableNumber: un, PDOLData: pdol, CDOLData: cdol1, ResponseTLVs: resp, CID: 0x40}
	res, err := oda.VerifyCDA(in)
	fmt.Printf("%X %02X %X %v\n", res.ICCDynamicNumber, res.CID, res.Cryptogram, err)

	in.CID = 0x80 // the card claims ARQC, but signed a TC
	_, err = oda.VerifyCDA(in)
	fmt.Println(err)
	// Output:
	// 0007 40 1122334455667788 <nil>
	// oda: CID mismatch: signed CID 40, returned 80
}

func ExampleVerifyFDDA() {
	_, icc, _, iccKey := exChain()
	un := []byte{0x01, 0x02, 0x03, 0x04}
	amount := []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00}
	currency := []byte{0x01, 0x56}
	cad := []byte{0x01, 0x11, 0x22, 0x33, 0x44, 0x80, 0x00, 0x00} // 9F69, version 01
	sdad, _ := pki.SignFDDA(icc, []byte{0x00, 0x07}, un, amount, currency, cad)

	in := oda.FDDAInput{ICC: iccKey, SDAD: sdad, UnpredictableNumber: un, Amount: amount, Currency: currency, CardAuthData: cad}
	num, err := oda.VerifyFDDA(in)
	fmt.Printf("%X %v\n", num, err)

	in.Amount = []byte{0x00, 0x00, 0x00, 0x00, 0x01, 0x00}
	_, err = oda.VerifyFDDA(in)
	fmt.Println(errorsIs(err, oda.ErrHash))
	// Output:
	// 0007 <nil>
	// true
}

func ExampleStaticData() {
	records := []oda.Record{
		{SFI: 2, Data: []byte{0x70, 0x04, 0x5A, 0x02, 0x12, 0x34}},
		{SFI: 11, Data: []byte{0x70, 0x03, 0x9F, 0x07, 0x00}},
	}
	sda, err := oda.StaticData(records, []byte{0x82}, []byte{0x7C, 0x00})
	fmt.Printf("%X %v\n", sda, err)

	_, err = oda.StaticData(records, []byte{0x82, 0x5A}, []byte{0x7C, 0x00})
	fmt.Println(err)
	// Output:
	// 5A02123470039F07007C00 <nil>
	// oda: bad static data: 9F4A 825A lists tags other than 82
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
