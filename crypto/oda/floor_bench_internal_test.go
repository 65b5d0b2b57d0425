// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"crypto/sha1"
	"math/rand/v2"
	"testing"
)

// BenchmarkBareDDAFloor is the cryptography a DDA purchase of the
// simulated card cannot avoid, and nothing else: three RSA public
// operations (e = 3) with this package's exponentiation on moduli of the
// card's sizes — the test CA's 1984 bits, the issuer's 1408, the ICC's
// 1152 — and SHA-1 over as many bytes as each certificate and the
// signature hash (the recovered data, the remainders and exponents, about
// 110 bytes of static data, the unpredictable number). bench/run.sh sets a
// purchase against it: no parsing, no checks, no copies.
func BenchmarkBareDDAFloor(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	steps := []struct{ modulus, hashed int }{{248, 227}, {176, 275}, {144, 126}}
	type op struct {
		pk   PublicKey
		data []byte
		msg  []byte
	}
	ops := make([]op, len(steps))
	for i, s := range steps {
		mod := make([]byte, s.modulus)
		for j := range mod {
			mod[j] = byte(r.Uint32())
		}
		mod[0] |= 0x80
		mod[len(mod)-1] |= 1
		data := make([]byte, s.modulus)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		data[0] = 0x6A
		msg := make([]byte, s.hashed)
		for j := range msg {
			msg[j] = byte(r.Uint32())
		}
		ops[i] = op{PublicKey{Alg: RSA, Modulus: mod, Exponent: []byte{3}}, data, msg}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range ops {
			w, block, err := rsaRecover(o.pk, o.data)
			if err != nil {
				b.Fatal(err)
			}
			sum := sha1.Sum(o.msg)
			if block[0] == sum[0]+1 && block[1] == 0xFF { // keep both results alive
				b.Log("unlikely")
			}
			w.release()
		}
	}
}
