// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"fmt"
	"testing"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
)

type benchCase struct {
	name string
	c    func(b *testing.B) *chain
}

func benchCases() []benchCase {
	var cs []benchCase
	for _, bits := range []int{1024, 1408, 1984} {
		for _, exp := range []int{3, 65537} {
			cs = append(cs, benchCase{fmt.Sprintf("RSA%d-e%d", bits, exp), func(b *testing.B) *chain {
				return newRSAChain(b, bits, bits, bits, exp)
			}})
		}
	}
	return append(cs, benchCase{"SM2", func(b *testing.B) *chain { return newSM2Chain(b) }})
}

func BenchmarkRecoverIssuerKey(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.c(b)
			in := c.issuerInput()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := oda.RecoverIssuerKey(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecoverICCKey(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.c(b)
			in := c.iccInput()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := oda.RecoverICCKey(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifySDAD(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.c(b)
			sdad, err := pki.SignDynamicData(c.icc, []byte{1, 2, 3, 4}, testDDOL)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := oda.VerifySDAD(c.iccKey, sdad, testDDOL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
