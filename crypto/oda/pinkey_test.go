// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
)

// EMV Book 2 §7.1: the ICC PIN encipherment public key certificate (9F2D)
// has the ICC certificate's layout, but its hash (or SM2 signature)
// covers no static data. A certificate of one kind never passes as the
// other.
func TestRecoverICCPINKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *chain
		pin  *pki.KeyPair
	}{
		{"RSA", newRSAChain(t, 1408, 1152, 1024, 3), rsaKey(t, "k", 1024, 3)},
		{"SM2", newSM2Chain(t), sm2Key(t, "pin")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, rem, exp, err := pki.IssueICCPINCert(tc.c.iss, tc.pin, testPAN, testExpiry, testSerial)
			require.NoError(t, err)
			in := oda.ICCCertInput{Issuer: tc.c.issuerKey, Cert: cert, Remainder: rem, Exponent: exp, PAN: testPAN,
				StaticData: testStatic, Now: testNow}
			key, err := oda.RecoverICCPINKey(in)
			require.NoError(t, err, "static data given is ignored")
			assert.Equal(t, tc.pin.Public(), key.PublicKey)

			_, err = oda.RecoverICCKey(in)
			assert.Error(t, err, "a PIN certificate is not an ICC certificate over the static data")
			_, err = oda.RecoverICCPINKey(tc.c.iccInput())
			assert.Error(t, err, "an ICC certificate over static data is not a PIN certificate")

			other := in
			other.PAN = []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x4F}
			_, err = oda.RecoverICCPINKey(other)
			assert.ErrorIs(t, err, oda.ErrPAN)
		})
	}
}
