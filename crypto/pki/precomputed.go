// SPDX-License-Identifier: Apache-2.0

package pki

import (
	_ "embed"
	"encoding/json"
	"math/big"
	"sync"
)

// Precomputed keys. Generating the simulated card's RSA keys from their
// seeds costs tens of milliseconds each (the test CA's 1984-bit key alone
// about 100 ms: a prime search), which was 97 % of a `pboc purchase`. The
// keys are deterministic test keys by construction — anyone can derive
// them from the public seeds — so the primes of the keys the simulator's
// profiles and this module's tests use are shipped in precomputed.json,
// and GenerateRSA completes such a key in microseconds.
//
// TestPrecomputedKeysMatchTheSeeds derives every key of the file from its
// seed the slow way and compares; `go test ./crypto/pki -run
// TestPrecomputedKeysMatchTheSeeds -update` rewrites the file from the
// list of seeds in that test.

//go:embed precomputed.json
var precomputedJSON []byte

// precomputedFile is the format of precomputed.json.
type precomputedFile struct {
	Note string           `json:"note"`
	RSA  []precomputedRSA `json:"rsa"`
}

// precomputedRSA is one key: its seed, size and exponent, and its primes
// in hex.
type precomputedRSA struct {
	Seed string `json:"seed"`
	Bits int    `json:"bits"`
	Exp  int    `json:"exp"`
	P    string `json:"p"`
	Q    string `json:"q"`
}

var precomputed = sync.OnceValue(func() map[cacheKey]precomputedRSA {
	var f precomputedFile
	if err := json.Unmarshal(precomputedJSON, &f); err != nil {
		panic("pki: embedded precomputed.json: " + err.Error())
	}
	m := make(map[cacheKey]precomputedRSA, len(f.RSA))
	for _, k := range f.RSA {
		m[cacheKey{k.Seed, k.Bits, k.Exp}] = k
	}
	return m
})

// precomputedKey returns the precomputed key of ck, if there is one. The
// primes must give a key of the right size; the test checks that they are
// the seed's.
func precomputedKey(ck cacheKey) (*KeyPair, bool) {
	e, ok := precomputed()[ck]
	if !ok {
		return nil, false
	}
	p, okP := new(big.Int).SetString(e.P, 16)
	q, okQ := new(big.Int).SetString(e.Q, 16)
	if !okP || !okQ {
		return nil, false
	}
	k := rsaKeyPair(p, q, ck.bits, ck.exp)
	return k, k != nil
}

// Precomputed reports whether the RSA key of seed, bits and exp is
// precomputed, so that GenerateRSA returns it without a prime search. A
// test of a card profile can use it to make sure the profile's keys are.
func Precomputed(seed string, bits, exp int) bool {
	_, ok := precomputed()[cacheKey{seed, bits, exp}]
	return ok
}
