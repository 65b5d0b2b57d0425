// SPDX-License-Identifier: Apache-2.0

package hostsim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// The offline PIN pad builds what VERIFY carries: the plaintext block of
// EMV format 2, or that block enciphered under the card's key with its
// challenge (EMV Book 2 §7.2), which the card's private key opens.
func TestOfflinePINPad(t *testing.T) {
	ctx := context.Background()
	_, err := hostsim.OfflinePINPad{}.OfflinePIN(ctx, kernel.OfflinePINRequest{})
	assert.ErrorIs(t, err, kernel.ErrPINBypass)
	_, err = hostsim.OfflinePINPad{PIN: "12"}.OfflinePIN(ctx, kernel.OfflinePINRequest{})
	assert.ErrorIs(t, err, keys.ErrInput)

	block, err := hostsim.OfflinePINPad{PIN: "1234"}.OfflinePIN(ctx, kernel.OfflinePINRequest{Amount: 100})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, block)

	card, err := pki.GenerateRSA("icc", 1024, 3)
	require.NoError(t, err)
	pub := card.Public()
	challenge := []byte{8, 7, 6, 5, 4, 3, 2, 1}
	enc, err := hostsim.OfflinePINPad{PIN: "1234"}.OfflinePIN(ctx, kernel.OfflinePINRequest{Key: &pub, Challenge: challenge})
	require.NoError(t, err)
	plain, err := card.DecipherRaw(enc)
	require.NoError(t, err)
	opened, err := keys.OpenOfflinePIN(plain, challenge)
	require.NoError(t, err)
	assert.Equal(t, block, opened)

	_, err = hostsim.OfflinePINPad{PIN: "1234"}.OfflinePIN(ctx, kernel.OfflinePINRequest{Key: &pub})
	assert.ErrorIs(t, err, keys.ErrInput, "no challenge")

	s := fmt.Sprintf("%v %+v %#v", hostsim.OfflinePINPad{PIN: "987654"}, hostsim.OfflinePINPad{PIN: "987654"}, hostsim.OfflinePINPad{PIN: "987654"})
	assert.NotContains(t, s, "987654")
}

func TestOfflinePINSequence(t *testing.T) {
	ctx := context.Background()
	s := hostsim.NewOfflinePINSequence("1111", "2222")
	a, err := s.OfflinePIN(ctx, kernel.OfflinePINRequest{TriesLeft: 3})
	require.NoError(t, err)
	b, err := s.OfflinePIN(ctx, kernel.OfflinePINRequest{TriesLeft: 2, Retry: true})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x24, 0x11, 0x11, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, a)
	assert.Equal(t, []byte{0x24, 0x22, 0x22, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, b)
	_, err = s.OfflinePIN(ctx, kernel.OfflinePINRequest{TriesLeft: 1, Retry: true})
	assert.ErrorIs(t, err, kernel.ErrPINBypass, "the PINs ran out")
	require.Len(t, s.Requests(), 3)
	assert.Equal(t, 2, s.Requests()[1].TriesLeft)
	assert.NotContains(t, fmt.Sprintf("%v %#v", s, s), "1111")
}
