// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"testing"
	"time"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSM2Chain(t *testing.T) {
	c := newSM2Chain(t)
	assert.Len(t, c.issCert, 142)
	assert.Len(t, c.iccCert, 148)
	assert.Nil(t, c.issRem)
	assert.Equal(t, oda.SM2, c.issuerKey.Alg)
	assert.Equal(t, oda.SM3, c.issuerKey.HashAlg)
	assert.Equal(t, c.iss.Public().Point, c.issuerKey.Point)
	assert.Equal(t, c.icc.Public().Point, c.iccKey.Point)
	assert.Equal(t, testID, c.issuerKey.IssuerID)
	assert.Equal(t, testPAN, c.iccKey.PAN)
	// 92 and 9F32 are ignored with SM2.
	in := c.issuerInput()
	in.Remainder, in.Exponent = []byte{1, 2, 3}, []byte{3}
	_, err := oda.RecoverIssuerKey(in)
	require.NoError(t, err)
}

func TestIssuerCertSM2Negative(t *testing.T) {
	c := newSM2Chain(t)
	resign := func(f func(b []byte)) []byte { return resignSM2(t, c.ca, c.issCert, f) }
	badPoint := append([]byte(nil), c.ca.Public().Point...)
	badPoint[63] ^= 1
	tests := []struct {
		name string
		edit func(in *oda.IssuerCertInput)
		want error
	}{
		{"signature altered", func(in *oda.IssuerCertInput) { in.Cert = flip(in.Cert, 100) }, oda.ErrSignature},
		{"body altered", func(in *oda.IssuerCertInput) { in.Cert = flip(in.Cert, 20) }, oda.ErrSignature},
		{"signature r zero", func(in *oda.IssuerCertInput) {
			in.Cert = append(append([]byte(nil), in.Cert[:78]...), make([]byte, 64)...)
		}, oda.ErrSignature},
		{"signed by another CA", func(in *oda.IssuerCertInput) { in.CA = sm2Key(t, "other").Public() }, oda.ErrSignature},
		{"short", func(in *oda.IssuerCertInput) { in.Cert = in.Cert[:141] }, oda.ErrKeyLength},
		{"long", func(in *oda.IssuerCertInput) { in.Cert = append(in.Cert, 0) }, oda.ErrKeyLength},
		{"format", func(in *oda.IssuerCertInput) { in.Cert = resign(func(b []byte) { b[0] = 0x02 }) }, oda.ErrFormat},
		{"signature algorithm", func(in *oda.IssuerCertInput) { in.Cert = resign(func(b []byte) { b[10] = 0x01 }) }, oda.ErrAlgorithm},
		{"key length", func(in *oda.IssuerCertInput) { in.Cert = resign(func(b []byte) { b[13] = 0x41 }) }, oda.ErrKeyLength},
		{"key not on curve", func(in *oda.IssuerCertInput) { in.Cert = resign(func(b []byte) { b[77] ^= 1 }) }, oda.ErrKeyLength},
		{"issuer ID", func(in *oda.IssuerCertInput) { in.Cert = resign(func(b []byte) { b[3] = 0x61 }) }, oda.ErrIssuerID},
		{"PAN other issuer", func(in *oda.IssuerCertInput) { in.PAN = []byte{0x95, 0x58, 0x80, 0x12} }, oda.ErrIssuerID},
		{"expired", func(in *oda.IssuerCertInput) { in.Now = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }, oda.ErrExpired},
		{"revoked", func(in *oda.IssuerCertInput) { in.Revoked = func(s [3]byte) bool { return s == testSerial } }, oda.ErrRevoked},
		{"CA point not on curve", func(in *oda.IssuerCertInput) { in.CA.Point = badPoint }, oda.ErrKeyLength},
		{"CA point short", func(in *oda.IssuerCertInput) { in.CA.Point = badPoint[:63] }, oda.ErrKeyLength},
		{"RSA cert under SM2 CA", func(in *oda.IssuerCertInput) { in.Cert = newRSAChain(t, 1024, 1024, 1024, 3).issCert }, oda.ErrKeyLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := c.issuerInput()
			tc.edit(&in)
			k, err := oda.RecoverIssuerKey(in)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, k)
		})
	}
}

func TestICCCertSM2Negative(t *testing.T) {
	c := newSM2Chain(t)
	resign := func(f func(b []byte)) []byte { return resignSM2(t, c.iss, c.iccCert, f, testStatic) }
	tests := []struct {
		name string
		edit func(in *oda.ICCCertInput)
		want error
	}{
		{"signature altered", func(in *oda.ICCCertInput) { in.Cert = flip(in.Cert, 140) }, oda.ErrSignature},
		{"altered static data", func(in *oda.ICCCertInput) { in.StaticData = flip(in.StaticData, 0) }, oda.ErrSignature},
		{"short", func(in *oda.ICCCertInput) { in.Cert = in.Cert[:147] }, oda.ErrKeyLength},
		{"format", func(in *oda.ICCCertInput) { in.Cert = resign(func(b []byte) { b[0] = 0x12 }) }, oda.ErrFormat},
		{"signature algorithm", func(in *oda.ICCCertInput) { in.Cert = resign(func(b []byte) { b[16] = 0x00 }) }, oda.ErrAlgorithm},
		{"PAN mismatch", func(in *oda.ICCCertInput) { in.PAN = flip(in.PAN, 7) }, oda.ErrPAN},
		{"certificate PAN malformed", func(in *oda.ICCCertInput) { in.Cert = resign(func(b []byte) { b[10] = 0x3A }) }, oda.ErrPAN},
		{"expired", func(in *oda.ICCCertInput) { in.Now = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }, oda.ErrExpired},
		{"key not on curve", func(in *oda.ICCCertInput) { in.Cert = resign(func(b []byte) { b[30] ^= 1 }) }, oda.ErrKeyLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := c.iccInput()
			tc.edit(&in)
			k, err := oda.RecoverICCKey(in)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, k)
		})
	}
}

func TestSignedDataSM2(t *testing.T) {
	c := newSM2Chain(t)
	ssad, err := pki.SignStaticData(c.iss, [2]byte{0xDA, 0xC2}, testStatic)
	require.NoError(t, err)
	require.Len(t, ssad, 67)
	dac, err := oda.VerifySSAD(c.issuerKey, ssad, testStatic)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xDA, 0xC2}, dac)
	_, err = oda.VerifySSAD(c.issuerKey, ssad, flip(testStatic, 1))
	assert.ErrorIs(t, err, oda.ErrSignature)
	_, err = oda.VerifySSAD(c.issuerKey, flip(ssad, 40), testStatic)
	assert.ErrorIs(t, err, oda.ErrSignature)
	_, err = oda.VerifySSAD(c.issuerKey, flip(ssad, 1), testStatic) // DAC
	assert.ErrorIs(t, err, oda.ErrSignature)
	_, err = oda.VerifySSAD(c.issuerKey, ssad[:66], testStatic)
	assert.ErrorIs(t, err, oda.ErrKeyLength)
	_, err = oda.VerifySSAD(c.issuerKey, resignSM2(t, c.iss, ssad, func(b []byte) { b[0] = 0x03 }, testStatic), testStatic)
	assert.ErrorIs(t, err, oda.ErrFormat)

	sdad, err := pki.SignDynamicData(c.icc, []byte{0x01, 0x02, 0x03}, testDDOL)
	require.NoError(t, err)
	num, err := oda.VerifySDAD(c.iccKey, sdad, testDDOL)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x01, 0x02, 0x03}, num)
	for name, tc := range map[string]struct {
		sdad, ddol []byte
		want       error
	}{
		"altered DDOL data":    {sdad, flip(testDDOL, 0), oda.ErrSignature},
		"signature altered":    {flip(sdad, len(sdad)-1), testDDOL, oda.ErrSignature},
		"dynamic data altered": {flip(sdad, 3), testDDOL, oda.ErrSignature},
		"length byte too big":  {resignSM2(t, c.icc, sdad, func(b []byte) { b[1]++ }, testDDOL), testDDOL, oda.ErrKeyLength},
		"short":                {sdad[:65], testDDOL, oda.ErrKeyLength},
		"format 05":            {resignSM2(t, c.icc, sdad, func(b []byte) { b[0] = 0x05 }, testDDOL), testDDOL, oda.ErrFormat},
		"fDDA format for DDA":  {resignSM2(t, c.icc, sdad, func(b []byte) { b[0] = 0x16 }, testDDOL), testDDOL, oda.ErrFormat},
		"dynamic number len 1": {resignSM2(t, c.icc, sdad, func(b []byte) { b[2] = 1 }, testDDOL), testDDOL, oda.ErrFormat},
		"signed by issuer key": {func() []byte { s, _ := pki.SignDynamicData(c.iss, []byte{1, 2}, testDDOL); return s }(), testDDOL, oda.ErrSignature},
	} {
		t.Run(name, func(t *testing.T) {
			num, err := oda.VerifySDAD(c.iccKey, tc.sdad, tc.ddol)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, num)
		})
	}
}

func TestCDASM2(t *testing.T) {
	c := newSM2Chain(t)
	for _, second := range []bool{false, true} {
		k := newCDA(t, c.icc, oda.SM3, second)
		res, err := oda.VerifyCDA(k.input(c.iccKey))
		require.NoError(t, err)
		assert.Equal(t, k.ac, res.Cryptogram)
		assert.Equal(t, k.num, res.ICCDynamicNumber)
	}
	k := newCDA(t, c.icc, oda.SM3, false)
	cdaNegatives(t, c, k, oda.ErrSignature)
	// A SHA-1 transaction hash cannot be signed with an SM2 key.
	_, err := pki.SignCDA(c.icc, k.num, k.cid, k.ac, k.un, make([]byte, 20))
	require.ErrorIs(t, err, pki.ErrInput)
}

func TestFDDASM2(t *testing.T) {
	c := newSM2Chain(t)
	v00, v01 := newFDDA(t, c.icc, 0x00), newFDDA(t, c.icc, 0x01)
	assert.Equal(t, byte(oda.FormatSM2FDDA), v00.sdad[0])
	for _, f := range []*fddaCase{v00, v01} {
		num, err := oda.VerifyFDDA(f.input(c.iccKey))
		require.NoError(t, err)
		assert.Equal(t, f.num, num)
	}
	fddaNegatives(t, c.iccKey, v00, v01, oda.ErrSignature)
	// A DDA signature (format 15) is not an fDDA signature.
	dda, err := pki.SignDynamicData(c.icc, v00.num, v00.un)
	require.NoError(t, err)
	in := v00.input(c.iccKey)
	in.SDAD = dda
	_, err = oda.VerifyFDDA(in)
	require.ErrorIs(t, err, oda.ErrFormat)
}

func TestMixedAlgorithms(t *testing.T) {
	rsa, sm := newRSAChain(t, 1024, 1024, 1024, 3), newSM2Chain(t)
	// SM2 issuer certificate under an RSA CA key.
	in := rsa.issuerInput()
	in.Cert = sm.issCert
	_, err := oda.RecoverIssuerKey(in)
	require.ErrorIs(t, err, oda.ErrKeyLength)
	// RSA ICC certificate under an SM2 issuer key.
	icc := sm.iccInput()
	icc.Cert = rsa.iccCert
	_, err = oda.RecoverICCKey(icc)
	require.ErrorIs(t, err, oda.ErrKeyLength)
	// pki refuses to mix.
	_, _, _, err = pki.IssueIssuerCert(rsa.ca, sm.iss, testID, testExpiry, testSerial)
	require.ErrorIs(t, err, pki.ErrKeySize)
}
