// SPDX-License-Identifier: Apache-2.0

package pki_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	pan    = []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F}
	id     = []byte{0x62, 0x22, 0x60, 0xFF}
	expiry = [2]byte{0x12, 0x30}
	now    = time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)
)

func TestGenerateRSA(t *testing.T) {
	for _, bits := range []int{1024, 1152, 1408, 1984} {
		for _, exp := range []int{3, 65537} {
			k, err := pki.GenerateRSA("pki test", bits, exp)
			require.NoError(t, err)
			pub := k.Public()
			assert.Equal(t, bits, k.Bits())
			assert.Equal(t, oda.RSA, k.Alg())
			require.Len(t, pub.Modulus, bits/8)
			assert.Equal(t, bits, new(big.Int).SetBytes(pub.Modulus).BitLen())
			require.NoError(t, pub.Validate())
			if exp == 3 {
				assert.Equal(t, []byte{3}, pub.Exponent)
			} else {
				assert.Equal(t, []byte{1, 0, 1}, pub.Exponent)
			}
			// Raw signature round trip through the public operation.
			msg := make([]byte, bits/8)
			msg[0], msg[len(msg)-1] = 0x6A, 0xBC
			sig, err := k.SignRaw(msg)
			require.NoError(t, err)
			n := new(big.Int).SetBytes(pub.Modulus)
			e := new(big.Int).SetBytes(pub.Exponent)
			got := new(big.Int).Exp(new(big.Int).SetBytes(sig), e, n)
			assert.Equal(t, new(big.Int).SetBytes(msg), got)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, err := pki.GenerateRSA("same seed", 1024, 3)
	require.NoError(t, err)
	b, err := pki.GenerateRSA("same seed", 1024, 3)
	require.NoError(t, err)
	assert.Same(t, a, b) // cached
	c, err := pki.GenerateRSA("other seed", 1024, 3)
	require.NoError(t, err)
	assert.NotEqual(t, a.Public().Modulus, c.Public().Modulus)
	d, err := pki.GenerateRSA("same seed", 1024, 65537)
	require.NoError(t, err)
	assert.NotEqual(t, a.Public().Modulus, d.Public().Modulus)

	s1, err := pki.GenerateSM2("sm2 seed")
	require.NoError(t, err)
	s2, err := pki.GenerateSM2("sm2 seed")
	require.NoError(t, err)
	s3, err := pki.GenerateSM2("sm2 other")
	require.NoError(t, err)
	assert.Equal(t, s1.Public(), s2.Public())
	assert.NotEqual(t, s1.Public(), s3.Public())
	assert.Equal(t, oda.SM2, s1.Alg())
	assert.Equal(t, 256, s1.Bits())
	require.NoError(t, s1.Public().Validate())
}

func TestGenerateRSAInvalid(t *testing.T) {
	for _, tc := range []struct{ bits, exp int }{
		{1016, 3}, {1992, 3}, {1028, 3}, {2048, 65537}, {1024, 5}, {1024, 0}, {1024, 1}, {0, 3},
	} {
		_, err := pki.GenerateRSA("x", tc.bits, tc.exp)
		assert.ErrorIs(t, err, pki.ErrKeySize, "%d/%d", tc.bits, tc.exp)
	}
}

func TestKeySizeRule(t *testing.T) {
	small, _ := pki.GenerateRSA("small", 1024, 3)
	big, _ := pki.GenerateRSA("big", 1408, 3)
	sm, _ := pki.GenerateSM2("sm")
	_, _, _, err := pki.IssueIssuerCert(small, big, id, expiry, [3]byte{})
	assert.ErrorIs(t, err, pki.ErrKeySize)
	_, _, _, err = pki.IssueICCCert(small, big, pan, expiry, [3]byte{}, nil)
	assert.ErrorIs(t, err, pki.ErrKeySize)
	_, _, _, err = pki.IssueICCCert(sm, small, pan, expiry, [3]byte{}, nil)
	assert.ErrorIs(t, err, pki.ErrKeySize)
	_, _, _, err = pki.IssueIssuerCert(nil, small, id, expiry, [3]byte{})
	assert.ErrorIs(t, err, pki.ErrInput)
}

func TestInputChecks(t *testing.T) {
	k, _ := pki.GenerateRSA("k", 1024, 3)
	sm, _ := pki.GenerateSM2("sm")
	_, _, _, err := pki.IssueIssuerCert(k, k, []byte{0x62}, expiry, [3]byte{})
	assert.ErrorIs(t, err, pki.ErrInput)
	_, _, _, err = pki.IssueICCCert(k, k, make([]byte, 11), expiry, [3]byte{}, nil)
	assert.ErrorIs(t, err, pki.ErrInput)
	_, _, _, err = pki.IssueICCCert(k, k, nil, expiry, [3]byte{}, nil)
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = k.SignRaw(make([]byte, 127))
	assert.ErrorIs(t, err, pki.ErrInput)
	ff := make([]byte, 128)
	for i := range ff {
		ff[i] = 0xFF
	}
	_, err = k.SignRaw(ff)
	assert.ErrorIs(t, err, pki.ErrInput)
	var nilKey *pki.KeyPair
	_, err = nilKey.SignRaw([]byte{1})
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = pki.SignDynamicData(k, []byte{1}, nil) // dynamic number too short
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = pki.SignDynamicData(k, make([]byte, 9), nil)
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = pki.SignCDA(k, []byte{1, 2}, 0x40, make([]byte, 7), nil, make([]byte, 20))
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = pki.SignCDA(k, []byte{1, 2}, 0x40, make([]byte, 8), nil, make([]byte, 32))
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = pki.SignCDA(sm, []byte{1, 2}, 0x40, make([]byte, 8), nil, make([]byte, 20))
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = pki.SignFDDA(k, []byte{1, 2}, nil, nil, nil, []byte{0x02})
	assert.ErrorIs(t, err, pki.ErrInput)
	_, err = pki.SignStaticData(nil, [2]byte{}, nil)
	assert.ErrorIs(t, err, pki.ErrInput)
}

func TestTransactionDataHash(t *testing.T) {
	assert.Len(t, pki.TransactionDataHash(oda.SHA1, []byte("a"), []byte("b")), 20)
	assert.Len(t, pki.TransactionDataHash(oda.SM3, []byte("ab")), 32)
	assert.Equal(t, pki.TransactionDataHash(oda.SM3, []byte("a"), []byte("b")), pki.TransactionDataHash(oda.SM3, []byte("ab")))
	assert.Nil(t, pki.TransactionDataHash(0x02, []byte("ab")))
}

// Every certificate and signature pki makes must verify with oda, for every
// allowed size combination.
func TestRoundTripMatrix(t *testing.T) {
	sizes := []int{1024, 1152, 1408, 1984}
	static := []byte{0x5A, 0x02, 0x12, 0x34}
	for i, caBits := range sizes {
		for j := 0; j <= i; j++ {
			issBits, iccBits := sizes[j], sizes[0]
			ca, _ := pki.GenerateRSA("ca", caBits, 3)
			iss, _ := pki.GenerateRSA("iss", issBits, 65537)
			icc, _ := pki.GenerateRSA("icc", iccBits, 3)
			cert, rem, exp, err := pki.IssueIssuerCert(ca, iss, id, expiry, [3]byte{1, 2, 3})
			require.NoError(t, err)
			ik, err := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp, PAN: pan, Now: now})
			require.NoError(t, err, "%d/%d", caBits, issBits)
			cert, rem, exp, err = pki.IssueICCCert(iss, icc, pan, expiry, [3]byte{1}, static)
			require.NoError(t, err)
			_, err = oda.RecoverICCKey(oda.ICCCertInput{Issuer: ik, Cert: cert, Remainder: rem, Exponent: exp, PAN: pan, StaticData: static, Now: now})
			require.NoError(t, err, "%d/%d/%d", caBits, issBits, iccBits)
		}
	}
}
