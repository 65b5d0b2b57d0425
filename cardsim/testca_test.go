// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/crypto/oda"
)

var updateTestCA = flag.Bool("update-testca", false, "rewrite capk/testkeys/testca.json from the test CA seeds")

const testCAFile = "../capk/testkeys/testca.json"

// testCAStore recomputes the public keys of the test CA from their seeds.
func testCAStore(t *testing.T) *capk.Store {
	t.Helper()
	rid, err := capk.ParseRID(TestCARID)
	require.NoError(t, err)
	s := capk.NewStore()
	for _, k := range TestCA() {
		kp, err := k.KeyPair()
		require.NoError(t, err)
		pub := kp.Public()
		key := capk.Key{RID: rid, Index: k.Index, Note: "pboc cardsim test CA — never in production; seed " + k.Seed}
		if k.Alg == oda.SM2 {
			key.Algorithm, key.HashAlg, key.Modulus = capk.AlgSM2, capk.HashSM3, pub.Point
		} else {
			key.Algorithm, key.HashAlg = capk.AlgRSA, capk.HashSHA1
			key.Modulus, key.Exponent = pub.Modulus, pub.Exponent
		}
		key.Checksum = key.ComputeChecksum()
		require.NoError(t, s.Add(key))
	}
	return s
}

// TestTestCAFileMatchesSeeds keeps capk/testkeys/testca.json in step with the
// seeds: every test CA key recomputed with pki must be the key that
// capk.TestKeys() serves, and the file must be exactly what Save writes.
// Run with -update-testca to rewrite the file.
func TestTestCAFileMatchesSeeds(t *testing.T) {
	want := testCAStore(t)
	var buf bytes.Buffer
	require.NoError(t, want.Save(&buf))
	if *updateTestCA {
		require.NoError(t, os.WriteFile(testCAFile, buf.Bytes(), 0o644))
	}
	have, err := os.ReadFile(filepath.FromSlash(testCAFile))
	require.NoError(t, err)
	assert.Equal(t, buf.String(), string(have), "testca.json drifted from the seeds; run go test ./cardsim -run TestTestCAFileMatchesSeeds -update-testca")

	builtin := capk.TestKeys()
	for _, k := range want.Keys() {
		got, ok := builtin.Lookup(k.RID, k.Index)
		require.True(t, ok, "capk.TestKeys() has no key %s/%02X", k.RID, k.Index)
		assert.Equal(t, k.Algorithm, got.Algorithm, "%02X", k.Index)
		assert.Equal(t, k.HashAlg, got.HashAlg, "%02X", k.Index)
		assert.Equal(t, k.Modulus, got.Modulus, "%02X", k.Index)
		assert.Equal(t, k.Exponent, got.Exponent, "%02X", k.Index)
		assert.Equal(t, k.Checksum, got.Checksum, "%02X", k.Index)
		assert.NoError(t, got.Validate())
	}
	// The sizes are those documented for TestCA.
	for _, k := range TestCA() {
		got, ok := builtin.Lookup(capk.RID{0xA0, 0x00, 0x00, 0x03, 0x33}, k.Index)
		require.True(t, ok)
		assert.Equal(t, k.Bits, got.Bits(), "%02X", k.Index)
	}
}
