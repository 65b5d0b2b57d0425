// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestRSAWorkExpMatchesBigExp checks the reused-buffer exponentiation
// against math/big's Exp for both EMV exponents, over moduli of every
// length EMV allows and bases up to the modulus, with the same rsaWork
// reused throughout (as the pool reuses it).
func TestRSAWorkExpMatchesBigExp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := new(rsaWork)
	for _, e := range []int{3, 65537} {
		for n := MinModulusLen; n <= MaxModulusLen; n += 8 {
			for i := 0; i < 4; i++ {
				mod := make([]byte, n)
				for j := range mod {
					mod[j] = byte(r.Uint32())
				}
				mod[0] |= 0x80
				mod[n-1] |= 1
				x := make([]byte, n)
				for j := range x {
					x[j] = byte(r.Uint32())
				}
				x[0] &= 0x7F
				if i == 0 { // the extremes: 2 and n-1
					x = big.NewInt(2).FillBytes(make([]byte, n))
				} else if i == 1 {
					x = new(big.Int).Sub(new(big.Int).SetBytes(mod), big.NewInt(1)).FillBytes(make([]byte, n))
				}
				w.n.SetBytes(mod)
				w.x.SetBytes(x)
				w.exp(e)
				want := new(big.Int).Exp(new(big.Int).SetBytes(x), big.NewInt(int64(e)), new(big.Int).SetBytes(mod))
				if w.z.Cmp(want) != 0 {
					t.Fatalf("e=%d n=%d bytes case %d: got %X, want %X", e, n, i, w.z.Bytes(), want.Bytes())
				}
			}
		}
	}
}

// TestRSARecoverPooledBlocksAreIndependent checks that a block handed out
// with one rsaWork is not changed by a later recovery with another.
func TestRSARecoverPooledBlocksAreIndependent(t *testing.T) {
	mod := new(big.Int).Lsh(big.NewInt(1), 8*MinModulusLen-1)
	mod.Add(mod, big.NewInt(0x1235))
	pk := PublicKey{Alg: RSA, Modulus: mod.Bytes(), Exponent: []byte{3}}
	data := func(v int64) []byte { return big.NewInt(v).FillBytes(make([]byte, MinModulusLen)) }
	w1, b1, err := rsaRecover(pk, data(5))
	if err != nil {
		t.Fatal(err)
	}
	keep := append([]byte(nil), b1...)
	w2, _, err := rsaRecover(pk, data(7))
	if err != nil {
		t.Fatal(err)
	}
	if string(b1) != string(keep) {
		t.Fatal("a second recovery changed the first block")
	}
	if got := new(big.Int).SetBytes(b1).Int64(); got != 125 {
		t.Fatalf("5^3 = %d", got)
	}
	w1.release()
	w2.release()
}
