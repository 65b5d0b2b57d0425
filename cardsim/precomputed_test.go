// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
)

// Every RSA key of the simulator's test CA and of the repository's card
// profiles is precomputed in crypto/pki, so that personalising a card
// costs no prime search (pboc purchase in milliseconds). A new profile
// whose keys are missing fails here: add them to crypto/pki's
// precomputedSeeds and run its test with -update.
func TestRepositoryProfilesArePrecomputed(t *testing.T) {
	for _, k := range TestCA() {
		if k.Alg == oda.RSA {
			assert.True(t, pki.Precomputed(k.Seed, k.Bits, k.Exponent), "test CA %02X", k.Index)
		}
	}
	files, err := filepath.Glob(filepath.Join("..", "testdata", "cards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	profiles := map[string]*Profile{"built-in default": DefaultProfile()}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		p, err := ParseProfile(b)
		require.NoError(t, err, f)
		profiles[f] = p
	}
	checked := 0
	for name, p := range profiles {
		apps, err := compile(p)
		require.NoError(t, err, name)
		for _, a := range apps {
			o := a.odaParams
			if o == nil || o.alg != oda.RSA {
				continue
			}
			checked++
			assert.True(t, pki.Precomputed(o.issuerSeed, o.issuerBits, o.issuerExp), "%s: issuer key %q %d", name, o.issuerSeed, o.issuerBits)
			if a.oda != odaSDA {
				assert.True(t, pki.Precomputed(o.iccSeed, o.iccBits, o.iccExp), "%s: ICC key %q %d", name, o.iccSeed, o.iccBits)
			}
			if a.pinEnc == pinEncSeparate {
				seed := "pboc-test-pin-" + a.prof.PAN + "-" + fmt.Sprintf("%02d", a.prof.PANSequence)
				assert.True(t, pki.Precomputed(seed, PINKeyBits, DefaultRSAExponent), "%s: PIN encipherment key %q", name, seed)
			}
		}
	}
	assert.Greater(t, checked, 10, "RSA applications checked")
}
