// SPDX-License-Identifier: Apache-2.0

package pki_test

import (
	"errors"
	"testing"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
)

// FuzzIssueAndRecover issues certificates from fuzzed fields and checks that
// oda either accepts them with the same fields or rejects them for a reason
// the fields explain (issuer identifier, PAN, expiry).
func FuzzIssueAndRecover(f *testing.F) {
	f.Add([]byte{0x62, 0x22, 0x60, 0xFF}, []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90}, []byte{0x12, 0x30, 0, 0, 1}, []byte{0x5A, 0x00}, false)
	f.Add([]byte{0x95, 0x58, 0x80, 0x12}, []byte{0x95, 0x58, 0x80, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F}, []byte{0x01, 0x49, 9, 9, 9}, []byte{}, true)
	ca, _ := pki.GenerateRSA("fuzz CA", 1152, 3)
	iss, _ := pki.GenerateRSA("fuzz issuer", 1024, 65537)
	icc, _ := pki.GenerateRSA("fuzz card", 1024, 3)
	sca, _ := pki.GenerateSM2("fuzz CA")
	siss, _ := pki.GenerateSM2("fuzz issuer")
	sicc, _ := pki.GenerateSM2("fuzz card")
	f.Fuzz(func(t *testing.T, id, pan, meta, static []byte, useSM2 bool) {
		if len(id) != 4 || len(pan) == 0 || len(pan) > 10 || len(meta) < 5 {
			return
		}
		c, i, k := ca, iss, icc
		if useSM2 {
			c, i, k = sca, siss, sicc
		}
		exp := [2]byte{meta[0], meta[1]}
		ser := [3]byte{meta[2], meta[3], meta[4]}
		cert, rem, e, err := pki.IssueIssuerCert(c, i, id, exp, ser)
		if err != nil {
			t.Fatal(err)
		}
		ik, err := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: c.Public(), Cert: cert, Remainder: rem, Exponent: e, PAN: pan})
		if err != nil {
			if !errors.Is(err, oda.ErrIssuerID) && !errors.Is(err, oda.ErrExpired) && !errors.Is(err, oda.ErrFormat) {
				t.Fatalf("unexpected rejection: %v", err)
			}
			return
		}
		if string(ik.IssuerID) != string(id) || ik.Serial != ser || ik.Expiry != exp {
			t.Fatalf("fields changed")
		}
		cert, rem, e, err = pki.IssueICCCert(i, k, pan, exp, ser, static)
		if err != nil {
			t.Fatal(err)
		}
		_, err = oda.RecoverICCKey(oda.ICCCertInput{Issuer: ik, Cert: cert, Remainder: rem, Exponent: e, PAN: pan, StaticData: static})
		if err != nil && !errors.Is(err, oda.ErrPAN) {
			t.Fatalf("unexpected rejection: %v", err)
		}
	})
}
