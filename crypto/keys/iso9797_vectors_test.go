// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ISO/IEC 9797-1 Annex B examples (1999 and 2011 editions): K =
// 0123456789ABCDEF, K' = FEDCBA9876543210, the two ASCII strings below.
// Algorithm 3 values for padding method 1 are also the examples of
// RustCrypto/MACs retail-mac/src/lib.rs (ISO/IEC 9797-1:2011 B.4).
//
// The purse MAC is MAC algorithm 1 with padding method 2 cut to 4 bytes;
// the retail MAC of cryptograms and scripts is MAC algorithm 3 with
// padding method 2. Padding method 1 (zeros) is given by padding the data
// before the unpadded internal MAC.
const (
	iso9797String1 = "Now is the time for all " // 24 bytes: padding method 2 adds a block
	iso9797String2 = "Now is the time for it"   // 22 bytes
)

func zeroPad(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestISO9797MACAlgorithm3Vectors(t *testing.T) {
	key := hx(t, "0123456789ABCDEFFEDCBA9876543210")
	for _, tc := range []struct {
		name, data, pad1, pad2 string
	}{
		{"string 1", iso9797String1, "A1C72E74EA3FA9B6", "E9086230CA3BE796"},
		{"string 2", iso9797String2, "2E2B1428CC78254F", "5A692CE64F404145"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := mac(TDES, key, zeroPad([]byte(tc.data)), false)
			require.NoError(t, err)
			assert.Equal(t, tc.pad1, upper(m), "padding method 1")
			m, err = RetailMAC(key, []byte(tc.data))
			require.NoError(t, err)
			assert.Equal(t, tc.pad2, upper(m), "padding method 2")
			ac, err := Cryptogram(TDES, key, []byte(tc.data))
			require.NoError(t, err)
			assert.Equal(t, tc.pad2, upper(ac), "a cryptogram is the whole retail MAC")
			sm, err := ScriptMAC(TDES, key, []byte(tc.data))
			require.NoError(t, err)
			assert.Equal(t, tc.pad2[:8], upper(sm), "a script MAC is its first 4 bytes")
		})
	}
}

func TestISO9797MACAlgorithm1Vectors(t *testing.T) {
	k := hx(t, "0123456789ABCDEF")
	for _, tc := range []struct{ data, want string }{
		{iso9797String1, "10E1F0F1"},
		{iso9797String2, "A924C721"},
	} {
		m, err := PurseMAC(k, []byte(tc.data))
		require.NoError(t, err)
		assert.Equal(t, tc.want, upper(m), "%q, padding method 2, 4 bytes", tc.data)
	}
	// Padding method 1 on the whole-block string: the plain CBC-MAC.
	h, err := mac(TDES, hx(t, "0123456789ABCDEF0123456789ABCDEF"), []byte(iso9797String1), false)
	require.NoError(t, err)
	assert.Equal(t, "70A30640", upper(h[:4]), "with K = K' the output transformation cancels")
}
