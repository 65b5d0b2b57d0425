// SPDX-License-Identifier: Apache-2.0

package pki

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite precomputed.json from precomputedSeeds")

// precomputedSeeds are the RSA keys shipped precomputed: the simulator's
// test CA and card profiles, and the seeds this module's tests use. A new
// card profile's keys belong here (cardsim's TestRepositoryProfilesArePrecomputed
// says so); then run this test with -update.
var precomputedSeeds = []cacheKey{
	// cardsim's test CA (capk.TestKeys).
	{"pboc-cardsim-test-ca-F1", 1984, 3},
	{"pboc-cardsim-test-ca-F2", 1408, 65537},
	// The issuer and ICC keys of the profiles in cardsim/profiles and
	// testdata/cards (seeds from the PAN and PAN sequence number).
	{"pboc-test-issuer-6222021000123456781", 1408, 3},
	{"pboc-test-icc-6222021000123456781-01", 1152, 3},
	{"pboc-test-issuer-6222021000999900003", 1408, 3},
	{"pboc-test-icc-6222021000999900003-00", 1152, 3},
	{"pboc-test-issuer-6222021000876543215", 1408, 3},
	{"pboc-test-icc-6222021000876543215-01", 1152, 3},
	{"pboc-test-issuer-6222021000123456781", 1984, 3},
	{"pboc-test-icc-6222021000123456781-01", 1984, 3},
	{"pboc-test-icc-6222021000123456781-01", 1984, 65537},
	{"pboc-test-issuer-6222021000123456781", 1024, 3},
	{"pboc-test-icc-6222021000123456781-01", 1024, 3},
	// The separate ICC PIN encipherment key (cardsim pin.encipherment
	// "separate", testdata/cards/offline-pin.json).
	{"pboc-test-pin-6222021000123456781-01", 1024, 3},
	// The seeds of the tests of crypto/oda, crypto/pki, cardsim and kernel.
	{"pki test", 1024, 3}, {"pki test", 1024, 65537}, {"pki test", 1152, 3}, {"pki test", 1152, 65537},
	{"pki test", 1408, 3}, {"pki test", 1408, 65537}, {"pki test", 1984, 3}, {"pki test", 1984, 65537},
	{"ca", 1024, 3}, {"ca", 1024, 65537}, {"ca", 1152, 3}, {"ca", 1408, 3}, {"ca", 1408, 65537}, {"ca", 1984, 3}, {"ca", 1984, 65537},
	{"issuer", 1024, 3}, {"issuer", 1024, 65537}, {"issuer", 1152, 3}, {"issuer", 1152, 65537},
	{"issuer", 1408, 3}, {"issuer", 1408, 65537}, {"issuer", 1984, 3}, {"issuer", 1984, 65537},
	{"iss", 1024, 65537}, {"iss", 1152, 65537}, {"iss", 1408, 65537}, {"iss", 1984, 65537},
	{"icc", 1024, 3}, {"icc", 1024, 65537}, {"icc", 1152, 3}, {"icc", 1152, 65537}, {"icc", 1984, 3}, {"icc", 1984, 65537},
	{"test CA", 1024, 3}, {"test CA 01", 1408, 3}, {"test issuer", 1024, 3}, {"test card", 1024, 3},
	{"example CA", 1408, 3}, {"example issuer", 1152, 3}, {"example card", 1024, 65537},
	{"fuzz CA", 1152, 3}, {"fuzz issuer", 1024, 65537}, {"fuzz card", 1024, 3},
	{"same seed", 1024, 3}, {"same seed", 1024, 65537}, {"other seed", 1024, 3}, {"other", 1152, 3},
	{"small", 1024, 3}, {"big", 1408, 3}, {"k", 1024, 3},
}

// TestPrecomputedKeysMatchTheSeeds derives every precomputed key from its
// seed the slow way (the prime search) and requires precomputed.json to
// hold exactly those keys, in that order, as -update writes them. A key
// whose primes were edited, or a seed whose derivation changed, fails.
func TestPrecomputedKeysMatchTheSeeds(t *testing.T) {
	keys := make([]precomputedRSA, len(precomputedSeeds))
	done := make(chan struct{})
	sem := make(chan struct{}, 2) // the two cores of CI
	for i, ck := range precomputedSeeds {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem; done <- struct{}{} }()
			k := generateRSA(ck)
			keys[i] = precomputedRSA{Seed: ck.seed, Bits: ck.bits, Exp: ck.exp, P: k.p.Text(16), Q: k.q.Text(16)}
		}()
	}
	for range precomputedSeeds {
		<-done
	}
	want := precomputedFile{
		Note: "RSA test keys derived from public seeds by crypto/pki (never for real cards); written by go test ./crypto/pki -run TestPrecomputedKeysMatchTheSeeds -update",
		RSA:  keys,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	require.NoError(t, enc.Encode(want))
	if *update {
		require.NoError(t, os.WriteFile("precomputed.json", buf.Bytes(), 0o644))
		return
	}
	assert.Equal(t, buf.String(), string(precomputedJSON),
		"precomputed.json drifted from the seeds; run go test ./crypto/pki -run TestPrecomputedKeysMatchTheSeeds -update")
}

// A precomputed key is the key the seed gives, and GenerateRSA returns it
// without the prime search.
func TestPrecomputedKeyIsTheSeedsKey(t *testing.T) {
	for _, ck := range []cacheKey{{"pboc-cardsim-test-ca-F1", 1984, 3}, {"pboc-cardsim-test-ca-F2", 1408, 65537}} {
		require.True(t, Precomputed(ck.seed, ck.bits, ck.exp))
		fast, ok := precomputedKey(ck)
		require.True(t, ok)
		slow := generateRSA(ck)
		for name, pair := range map[string][2]fmt.Stringer{"n": {fast.n, slow.n}, "d": {fast.d, slow.d}, "dp": {fast.dp, slow.dp},
			"dq": {fast.dq, slow.dq}, "qinv": {fast.qinv, slow.qinv}} {
			assert.Equal(t, pair[1].String(), pair[0].String(), "%s of %s", name, ck.seed)
		}
	}
	assert.False(t, Precomputed("not a precomputed seed", 1024, 3))
	_, ok := precomputedKey(cacheKey{"not a precomputed seed", 1024, 3})
	assert.False(t, ok)
}

// BenchmarkPrecomputedKey is the cost of the test CA's 1984-bit key when it
// is precomputed: what the first GenerateRSA of a process pays instead of
// the prime search (BenchmarkGenerateRSAFromSeed).
func BenchmarkPrecomputedKey(b *testing.B) {
	b.ReportAllocs()
	ck := cacheKey{"pboc-cardsim-test-ca-F1", 1984, 3}
	for b.Loop() {
		if _, ok := precomputedKey(ck); !ok {
			b.Fatal("not precomputed")
		}
	}
}

// BenchmarkGenerateRSAFromSeed is the prime search for the same key.
func BenchmarkGenerateRSAFromSeed(b *testing.B) {
	b.ReportAllocs()
	ck := cacheKey{"pboc-cardsim-test-ca-F1", 1984, 3}
	for b.Loop() {
		generateRSA(ck)
	}
}
