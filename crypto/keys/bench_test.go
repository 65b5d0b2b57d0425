// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"bytes"
	"testing"
)

func BenchmarkDeriveICCKey(b *testing.B) {
	imk := bytes.Repeat([]byte{0x11}, 16)
	for _, alg := range algs {
		b.Run(alg.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DeriveICCKey(alg, imk, "6212345678901234567", 0x01); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSessionKey(b *testing.B) {
	mk := bytes.Repeat([]byte{0x22}, 16)
	for _, alg := range algs {
		b.Run(alg.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SessionKey(alg, mk, 0x0102); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCryptogram(b *testing.B) {
	sk := bytes.Repeat([]byte{0x33}, 16)
	data := bytes.Repeat([]byte{0x44}, ACDataLen)
	for _, alg := range algs {
		b.Run(alg.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Cryptogram(alg, sk, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyECUpdateScript(b *testing.B) {
	sk := bytes.Repeat([]byte{0x55}, 16)
	atc, arqc := []byte{0, 1}, bytes.Repeat([]byte{0x66}, 8)
	for _, alg := range algs {
		apdu, err := ECUpdateScript(alg, sk, 0x9F79, []byte{0, 0, 0, 1, 0, 0}, atc, arqc)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := VerifyECUpdateScript(alg, sk, apdu, atc, arqc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPINBlock(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PINBlock("123456", "6228480402564890018"); err != nil {
			b.Fatal(err)
		}
	}
}
