// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sm2DER is the DER encoding/asn1 writes for the same two integers,
// whatever their leading zeros and top bits; a zero r or s is refused.
func TestSM2DERMatchesEncodingASN1(t *testing.T) {
	fill := func(lead int, top byte) []byte {
		x := make([]byte, 32)
		for i := lead; i < 32; i++ {
			x[i] = byte(i*37 + 11)
		}
		if lead < 32 {
			x[lead] = top
		}
		return x
	}
	for _, lead := range []int{0, 1, 2, 31} {
		for _, top := range []byte{0x01, 0x7F, 0x80, 0xFF} {
			r, s := fill(lead, top), fill(31-lead/2, top^0x80|1)
			want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
			require.NoError(t, err)
			got, ok := sm2DER(nil, r, s)
			require.True(t, ok)
			assert.Equal(t, want, got, "lead %d top %02X", lead, top)
		}
	}
	zero := make([]byte, 32)
	_, ok := sm2DER(nil, zero, fill(0, 1))
	assert.False(t, ok, "r = 0")
	_, ok = sm2DER(nil, fill(0, 1), zero)
	assert.False(t, ok, "s = 0")
}

// A signature of r = 0 or s = 0 (which no signer produces) fails as a
// bad signature, not a panic or a pass.
func TestSM2VerifyZeroRS(t *testing.T) {
	// The curve's base point G (GB/T 32918.5) is a valid public key.
	g, err := hex.DecodeString("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7" +
		"BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")
	require.NoError(t, err)
	key := PublicKey{Alg: SM2, Point: g}
	require.NoError(t, key.Validate())
	for _, sig := range [][]byte{make([]byte, 64), append(make([]byte, 32), g[:32]...), append(g[:32:32], make([]byte, 32)...)} {
		assert.ErrorIs(t, sm2Verify(key, []byte("m"), sig), ErrSignature)
	}
}
