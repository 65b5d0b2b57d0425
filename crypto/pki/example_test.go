// SPDX-License-Identifier: Apache-2.0

package pki_test

import (
	"fmt"
	"time"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
)

func ExampleGenerateRSA() {
	ca, err := pki.GenerateRSA("test CA 01", 1408, 3)
	fmt.Println(err, ca.Bits(), len(ca.Public().Modulus), ca.Public().Exponent)
	again, _ := pki.GenerateRSA("test CA 01", 1408, 3)
	fmt.Println(again == ca)
	// Output:
	// <nil> 1408 176 [3]
	// true
}

func ExampleIssueIssuerCert() {
	ca, _ := pki.GenerateRSA("test CA", 1024, 3)
	iss, _ := pki.GenerateRSA("test issuer", 1024, 3)
	cert, rem, exp, err := pki.IssueIssuerCert(ca, iss, []byte{0x62, 0x22, 0x60, 0xFF}, [2]byte{0x12, 0x30}, [3]byte{0, 0, 1})
	fmt.Println(err, len(cert), len(rem), exp)

	key, err := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp,
		PAN: []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90}, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	fmt.Println(err, len(key.Modulus))
	// Output:
	// <nil> 128 36 [3]
	// <nil> 128
}

func ExampleIssueICCCert() {
	iss, _ := pki.GenerateSM2("test SM2 issuer")
	icc, _ := pki.GenerateSM2("test SM2 card")
	static := []byte{0x5A, 0x08, 0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90}
	cert, rem, exp, err := pki.IssueICCCert(iss, icc, []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90}, [2]byte{0x12, 0x30}, [3]byte{0, 0, 1}, static)
	fmt.Printf("%v %02X %d %v %v\n", err, cert[0], len(cert), rem, exp)
	// Output:
	// <nil> 14 148 [] []
}

func ExampleSignCDA() {
	icc, _ := pki.GenerateRSA("test card", 1024, 3)
	ac := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	resp := append([]byte{0x9F, 0x27, 0x01, 0x40, 0x9F, 0x26, 0x08}, ac...)
	h := pki.TransactionDataHash(oda.SHA1, []byte{0x00, 0x01}, []byte{0x02, 0x03}, resp)
	sdad, err := pki.SignCDA(icc, []byte{0x00, 0x01}, 0x40, ac, []byte{0xCA, 0xFE, 0xBA, 0xBE}, h)
	fmt.Println(err, len(sdad))
	// Output:
	// <nil> 128
}
