// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"testing"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/internal/cputime"
)

// methodChains are the key hierarchies each ODA method is benchmarked with:
// the simulator's default card (CA 1984 bits e=3, issuer 1408, ICC 1152),
// the same sizes with e=65537 (the other cheap exponent), and SM2.
func methodChains() []benchCase {
	return []benchCase{
		{"RSA-e3", func(b *testing.B) *chain {
			return newChain(b, rsaKey(b, "ca", 1984, 3), rsaKey(b, "issuer", 1408, 3), rsaKey(b, "icc", 1152, 3))
		}},
		{"RSA-e65537", func(b *testing.B) *chain {
			return newChain(b, rsaKey(b, "ca", 1984, 65537), rsaKey(b, "issuer", 1408, 65537), rsaKey(b, "icc", 1152, 65537))
		}},
		{"SM2", func(b *testing.B) *chain { return newSM2Chain(b) }},
	}
}

// BenchmarkODAMethod is the terminal's whole verification for each ODA
// method, from the CA key to the card's signature, as the kernel runs it:
//
//   - SDA: issuer certificate, signed static data (93);
//   - DDA: issuer certificate, ICC certificate, signed dynamic data;
//   - CDA: issuer certificate, ICC certificate, CDA signature of GENERATE AC;
//   - fDDA: issuer certificate, ICC certificate, qPBOC fDDA signature (01).
func BenchmarkODAMethod(b *testing.B) {
	for _, bc := range methodChains() {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.c(b)
			issIn, iccIn := c.issuerInput(), c.iccInput()
			ssad, err := pki.SignStaticData(c.iss, [2]byte{0xDA, 0xC1}, testStatic)
			if err != nil {
				b.Fatal(err)
			}
			sdad, err := pki.SignDynamicData(c.icc, []byte{1, 2, 3, 4}, testDDOL)
			if err != nil {
				b.Fatal(err)
			}
			cda := newCDA(b, c.icc, c.iccKey.HashAlg, false)
			fdda := fddaInput(b, c)
			issuer := func(b *testing.B) *oda.IssuerKey {
				k, err := oda.RecoverIssuerKey(issIn)
				if err != nil {
					b.Fatal(err)
				}
				return k
			}
			icc := func(b *testing.B, iss *oda.IssuerKey) *oda.ICCKey {
				in := iccIn
				in.Issuer = iss
				k, err := oda.RecoverICCKey(in)
				if err != nil {
					b.Fatal(err)
				}
				return k
			}
			b.Run("SDA", func(b *testing.B) {
				cpuLoop(b, func() {
					if _, err := oda.VerifySSAD(issuer(b), ssad, testStatic); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("DDA", func(b *testing.B) {
				cpuLoop(b, func() {
					if _, err := oda.VerifySDAD(icc(b, issuer(b)), sdad, testDDOL); err != nil {
						b.Fatal(err)
					}
				})
			})
			// The terminal knows the issuer's certificate from an earlier
			// card (the kernel keeps it): it checks it against this
			// transaction, then the ICC certificate and the signature.
			known, err := oda.OpenIssuerCert(issIn.CA, issIn.Cert, issIn.Remainder, issIn.Exponent)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("DDA-known-issuer", func(b *testing.B) {
				cpuLoop(b, func() {
					iss, err := known.Check(issIn.PAN, issIn.Now, nil)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := oda.VerifySDAD(icc(b, iss), sdad, testDDOL); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("CDA", func(b *testing.B) {
				cpuLoop(b, func() {
					in := cda.input(icc(b, issuer(b)))
					if _, err := oda.VerifyCDA(in); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("fDDA", func(b *testing.B) {
				cpuLoop(b, func() {
					in := fdda
					in.ICC = icc(b, issuer(b))
					if _, err := oda.VerifyFDDA(in); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
	}
}

// BenchmarkVerifySignature is the last step of each method alone, with the
// keys already recovered: what a lab checking one signature pays.
func BenchmarkVerifySignature(b *testing.B) {
	for _, bc := range methodChains() {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.c(b)
			ssad, err := pki.SignStaticData(c.iss, [2]byte{0xDA, 0xC1}, testStatic)
			if err != nil {
				b.Fatal(err)
			}
			cda := newCDA(b, c.icc, c.iccKey.HashAlg, false).input(c.iccKey)
			fdda := fddaInput(b, c)
			fdda.ICC = c.iccKey
			b.Run("SSAD", func(b *testing.B) {
				cpuLoop(b, func() {
					if _, err := oda.VerifySSAD(c.issuerKey, ssad, testStatic); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("CDA", func(b *testing.B) {
				cpuLoop(b, func() {
					if _, err := oda.VerifyCDA(cda); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("fDDA", func(b *testing.B) {
				cpuLoop(b, func() {
					if _, err := oda.VerifyFDDA(fdda); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
	}
}

// fddaInput is a qPBOC fDDA version 01 signature by the chain's ICC key.
func fddaInput(b *testing.B, c *chain) oda.FDDAInput {
	in := oda.FDDAInput{
		UnpredictableNumber: []byte{0xDE, 0xAD, 0xBE, 0xEF},
		Amount:              []byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34},
		Currency:            []byte{0x01, 0x56},
		CardAuthData:        []byte{0x01, 0x00, 0x00, 0x00, 0x00},
	}
	var err error
	in.SDAD, err = pki.SignFDDA(c.icc, []byte{1, 2, 3, 4}, in.UnpredictableNumber, in.Amount, in.Currency, in.CardAuthData)
	if err != nil {
		b.Fatal(err)
	}
	return in
}

// cpuLoop runs f in the benchmark loop, reporting allocations and the
// process CPU time per operation (cpu-ns/op, see cputime.Process).
func cpuLoop(b *testing.B, f func()) {
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		f()
	}
	if cpu != 0 && b.N > 0 {
		b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
	}
}
