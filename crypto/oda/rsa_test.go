// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRSAChainSizes(t *testing.T) {
	for _, tc := range []struct{ ca, iss, icc int }{
		{1024, 1024, 1024}, // remainders for both certificates
		{1408, 1024, 768 + 256},
		{1984, 1408, 1024},
		{1984, 1984, 1984},
		{1984, 1152, 1024},
	} {
		for _, exp := range []int{3, 65537} {
			t.Run(fmt.Sprintf("%d-%d-%d-e%d", tc.ca, tc.iss, tc.icc, exp), func(t *testing.T) {
				c := newRSAChain(t, tc.ca, tc.iss, tc.icc, exp)
				assert.Equal(t, c.iss.Public().Modulus, c.issuerKey.Modulus)
				assert.Equal(t, c.iss.Public().Exponent, c.issuerKey.Exponent)
				assert.Equal(t, testID, c.issuerKey.IssuerID)
				assert.Equal(t, testSerial, c.issuerKey.Serial)
				assert.Equal(t, testExpiry, c.issuerKey.Expiry)
				assert.Equal(t, oda.SHA1, c.issuerKey.HashAlg)
				assert.Equal(t, c.icc.Public().Modulus, c.iccKey.Modulus)
				assert.Equal(t, testPAN, c.iccKey.PAN)
				assert.Equal(t, (tc.iss/8 > tc.ca/8-36), len(c.issRem) > 0)
				assert.Equal(t, (tc.icc/8 > tc.iss/8-42), len(c.iccRem) > 0)
			})
		}
	}
}

func TestIssuerCertRSANegative(t *testing.T) {
	c := newRSAChain(t, 1152, 1024, 1024, 3)
	nCA := len(c.ca.Public().Modulus)
	require.NotEmpty(t, c.issRem)
	mut := func(f func(r []byte)) []byte { return tamperRSA(t, c.ca, c.issCert, f) }
	allFF := make([]byte, nCA)
	for i := range allFF {
		allFF[i] = 0xFF
	}
	tests := []struct {
		name string
		edit func(in *oda.IssuerCertInput)
		want error
	}{
		{"short cert", func(in *oda.IssuerCertInput) { in.Cert = in.Cert[:nCA-1] }, oda.ErrKeyLength},
		{"long cert", func(in *oda.IssuerCertInput) { in.Cert = append(in.Cert, 0) }, oda.ErrKeyLength},
		{"empty cert", func(in *oda.IssuerCertInput) { in.Cert = nil }, oda.ErrKeyLength},
		{"cert above modulus", func(in *oda.IssuerCertInput) { in.Cert = allFF }, oda.ErrSignature},
		{"wrong CA key", func(in *oda.IssuerCertInput) { in.CA = rsaKey(t, "other", 1152, 3).Public() }, oda.ErrFormat},
		{"header", func(in *oda.IssuerCertInput) { in.Cert = mut(func(r []byte) { r[0] = 0x6B }) }, oda.ErrFormat},
		{"trailer", func(in *oda.IssuerCertInput) { in.Cert = mut(func(r []byte) { r[nCA-1] = 0xBD }) }, oda.ErrFormat},
		{"format", func(in *oda.IssuerCertInput) {
			in.Cert = mut(func(r []byte) { r[1] = 0x04; reseal(r, c.issRem, c.issExp) })
		}, oda.ErrFormat},
		{"hash algorithm", func(in *oda.IssuerCertInput) {
			in.Cert = mut(func(r []byte) { r[11] = 0x02; reseal(r, c.issRem, c.issExp) })
		}, oda.ErrAlgorithm},
		{"pk algorithm", func(in *oda.IssuerCertInput) {
			in.Cert = mut(func(r []byte) { r[12] = 0x04; reseal(r, c.issRem, c.issExp) })
		}, oda.ErrAlgorithm},
		{"hash of body", func(in *oda.IssuerCertInput) { in.Cert = mut(func(r []byte) { r[20] ^= 1 }) }, oda.ErrHash},
		{"hash field", func(in *oda.IssuerCertInput) { in.Cert = mut(func(r []byte) { r[nCA-2] ^= 1 }) }, oda.ErrHash},
		{"altered remainder", func(in *oda.IssuerCertInput) { in.Remainder = flip(in.Remainder, 0) }, oda.ErrHash},
		{"missing remainder", func(in *oda.IssuerCertInput) { in.Remainder = nil }, oda.ErrMissing},
		{"short remainder", func(in *oda.IssuerCertInput) { in.Remainder = in.Remainder[1:] }, oda.ErrFormat},
		{"huge remainder", func(in *oda.IssuerCertInput) { in.Remainder = make([]byte, 1<<20) }, oda.ErrFormat},
		{"altered exponent", func(in *oda.IssuerCertInput) { in.Exponent = []byte{0x01, 0x00, 0x01} }, oda.ErrFormat},
		{"missing exponent", func(in *oda.IssuerCertInput) { in.Exponent = nil }, oda.ErrMissing},
		{"key longer than CA", func(in *oda.IssuerCertInput) {
			in.Cert = mut(func(r []byte) { r[13] = byte(nCA + 1); reseal(r, c.issRem, c.issExp) })
		}, oda.ErrKeyLength},
		{"key too short", func(in *oda.IssuerCertInput) {
			in.Cert = mut(func(r []byte) { r[13] = 10; reseal(r, c.issRem, c.issExp) })
		}, oda.ErrKeyLength},
		{"certified modulus leading 00", func(in *oda.IssuerCertInput) {
			in.Cert = mut(func(r []byte) { r[15] = 0; reseal(r, c.issRem, c.issExp) })
		}, oda.ErrKeyLength},
		{"certified exponent 5", func(in *oda.IssuerCertInput) {
			in.Exponent = []byte{5}
			in.Cert = mut(func(r []byte) { reseal(r, c.issRem, in.Exponent) })
		}, oda.ErrAlgorithm},
		{"PAN other issuer", func(in *oda.IssuerCertInput) { in.PAN = []byte{0x62, 0x22, 0x61, 0x12, 0x34, 0x56, 0x78, 0x90} }, oda.ErrIssuerID},
		{"PAN missing", func(in *oda.IssuerCertInput) { in.PAN = nil }, oda.ErrIssuerID},
		{"PAN not digits", func(in *oda.IssuerCertInput) { in.PAN = []byte{0x62, 0x2A, 0x60, 0x12} }, oda.ErrIssuerID},
		{"expired", func(in *oda.IssuerCertInput) { in.Now = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }, oda.ErrExpired},
		{"revoked", func(in *oda.IssuerCertInput) {
			in.Revoked = func(s [3]byte) bool { return s == testSerial }
		}, oda.ErrRevoked},
		{"CA exponent 0", func(in *oda.IssuerCertInput) { in.CA.Exponent = []byte{0} }, oda.ErrAlgorithm},
		{"CA exponent 5", func(in *oda.IssuerCertInput) { in.CA.Exponent = []byte{5} }, oda.ErrAlgorithm},
		{"CA modulus leading 00", func(in *oda.IssuerCertInput) {
			in.CA.Modulus = append([]byte{0}, in.CA.Modulus...)
			in.Cert = append([]byte{0}, in.Cert...)
		}, oda.ErrKeyLength},
		{"CA modulus even", func(in *oda.IssuerCertInput) { in.CA.Modulus = flip(in.CA.Modulus, nCA-1) }, oda.ErrKeyLength},
		{"CA modulus too long", func(in *oda.IssuerCertInput) { in.CA.Modulus = make([]byte, 300) }, oda.ErrKeyLength},
		{"CA algorithm", func(in *oda.IssuerCertInput) { in.CA.Alg = 0x09 }, oda.ErrAlgorithm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := c.issuerInput()
			in.Cert = append([]byte(nil), in.Cert...)
			in.Remainder = append([]byte(nil), in.Remainder...)
			tc.edit(&in)
			k, err := oda.RecoverIssuerKey(in)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, k)
		})
	}
}

func TestIssuerCertIssuerIDs(t *testing.T) {
	ca, iss := rsaKey(t, "ca", 1024, 3), rsaKey(t, "issuer", 1024, 3)
	for _, tc := range []struct {
		id   []byte
		want error
	}{
		{[]byte{0x62, 0x2F, 0xFF, 0xFF}, nil},
		{[]byte{0x62, 0x22, 0x60, 0x12}, nil},
		{[]byte{0x62, 0xFF, 0xFF, 0xFF}, oda.ErrIssuerID}, // 2 digits
		{[]byte{0x62, 0x22, 0x61, 0xFF}, oda.ErrIssuerID},
		{[]byte{0x62, 0xF2, 0xFF, 0xFF}, oda.ErrIssuerID}, // digit after padding
		{[]byte{0x6A, 0x22, 0xFF, 0xFF}, oda.ErrIssuerID},
	} {
		cert, rem, exp, err := pki.IssueIssuerCert(ca, iss, tc.id, testExpiry, testSerial)
		require.NoError(t, err)
		_, err = oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp, PAN: testPAN, Now: testNow})
		if tc.want == nil {
			assert.NoError(t, err, "%X", tc.id)
		} else {
			assert.ErrorIs(t, err, tc.want, "%X", tc.id)
		}
	}
}

func TestExpiryBoundaries(t *testing.T) {
	ca, iss := rsaKey(t, "ca", 1024, 3), rsaKey(t, "issuer", 1024, 3)
	for _, tc := range []struct {
		expiry [2]byte
		now    time.Time
		want   error
	}{
		{[2]byte{0x05, 0x26}, time.Date(2026, 5, 31, 23, 59, 59, 0, time.UTC), nil},
		{[2]byte{0x05, 0x26}, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), oda.ErrExpired},
		{[2]byte{0x12, 0x25}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), oda.ErrExpired},
		{[2]byte{0x12, 0x99}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), oda.ErrExpired}, // 1999
		{[2]byte{0x01, 0x49}, time.Date(2048, 12, 1, 0, 0, 0, 0, time.UTC), nil},
		{[2]byte{0x13, 0x30}, testNow, oda.ErrFormat},
		{[2]byte{0x00, 0x30}, testNow, oda.ErrFormat},
		{[2]byte{0x1A, 0x30}, testNow, oda.ErrFormat},
		{[2]byte{0x12, 0x3A}, testNow, oda.ErrFormat},
		{[2]byte{0x12, 0x30}, time.Time{}, nil}, // zero Now means time.Now()
	} {
		cert, rem, exp, err := pki.IssueIssuerCert(ca, iss, testID, tc.expiry, testSerial)
		require.NoError(t, err)
		_, err = oda.RecoverIssuerKey(oda.IssuerCertInput{CA: ca.Public(), Cert: cert, Remainder: rem, Exponent: exp, PAN: testPAN, Now: tc.now})
		if tc.want == nil {
			assert.NoError(t, err, "%X %v", tc.expiry, tc.now)
		} else {
			assert.ErrorIs(t, err, tc.want, "%X %v", tc.expiry, tc.now)
		}
	}
}

func TestICCCertRSANegative(t *testing.T) {
	c := newRSAChain(t, 1408, 1024, 1024, 65537)
	nI := len(c.iss.Public().Modulus)
	require.NotEmpty(t, c.iccRem)
	mut := func(f func(r []byte)) []byte { return tamperRSA(t, c.iss, c.iccCert, f) }
	extra := [][]byte{c.iccRem, c.iccExp, testStatic}
	tests := []struct {
		name string
		edit func(in *oda.ICCCertInput)
		want error
	}{
		{"no issuer", func(in *oda.ICCCertInput) { in.Issuer = nil }, oda.ErrAlgorithm},
		{"short cert", func(in *oda.ICCCertInput) { in.Cert = in.Cert[:nI-1] }, oda.ErrKeyLength},
		{"header", func(in *oda.ICCCertInput) { in.Cert = mut(func(r []byte) { r[0] = 0x00 }) }, oda.ErrFormat},
		{"trailer", func(in *oda.ICCCertInput) { in.Cert = mut(func(r []byte) { r[nI-1] = 0x00 }) }, oda.ErrFormat},
		{"format", func(in *oda.ICCCertInput) { in.Cert = mut(func(r []byte) { r[1] = 0x02; reseal(r, extra...) }) }, oda.ErrFormat},
		{"hash algorithm", func(in *oda.ICCCertInput) {
			in.Cert = mut(func(r []byte) { r[17] = 0x07; reseal(r, extra...) })
		}, oda.ErrAlgorithm},
		{"pk algorithm", func(in *oda.ICCCertInput) {
			in.Cert = mut(func(r []byte) { r[18] = 0x04; reseal(r, extra...) })
		}, oda.ErrAlgorithm},
		{"ICC key longer than issuer", func(in *oda.ICCCertInput) {
			in.Cert = mut(func(r []byte) { r[19] = byte(nI + 8); reseal(r, extra...) })
		}, oda.ErrKeyLength},
		{"altered static data", func(in *oda.ICCCertInput) { in.StaticData = flip(in.StaticData, 3) }, oda.ErrHash},
		{"missing static data", func(in *oda.ICCCertInput) { in.StaticData = nil }, oda.ErrHash},
		{"altered remainder", func(in *oda.ICCCertInput) { in.Remainder = flip(in.Remainder, 5) }, oda.ErrHash},
		{"missing remainder", func(in *oda.ICCCertInput) { in.Remainder = nil }, oda.ErrMissing},
		{"exponent neither 3 nor 65537", func(in *oda.ICCCertInput) { in.Exponent = []byte{0x01, 0x00, 0x03} }, oda.ErrAlgorithm},
		{"PAN mismatch", func(in *oda.ICCCertInput) { in.PAN = flip(in.PAN, 8) }, oda.ErrPAN},
		{"PAN prefix only", func(in *oda.ICCCertInput) { in.PAN = in.PAN[:8] }, oda.ErrPAN},
		{"PAN too long", func(in *oda.ICCCertInput) { in.PAN = append(in.PAN, 0xFF) }, oda.ErrPAN},
		{"PAN missing", func(in *oda.ICCCertInput) { in.PAN = nil }, oda.ErrPAN},
		{"expired", func(in *oda.ICCCertInput) { in.Now = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }, oda.ErrExpired},
		{"SM2 issuer key given", func(in *oda.ICCCertInput) {
			k := *in.Issuer
			k.PublicKey = sm2Key(t, "x").Public()
			in.Issuer = &k
		}, oda.ErrKeyLength},
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

func TestICCCertPANPadding(t *testing.T) {
	// A 16-digit PAN: 5A is 8 bytes, the certificate carries it F-padded to 10.
	pan := []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90}
	c := newRSAChain(t, 1024, 1024, 1024, 3)
	cert, rem, exp, err := pki.IssueICCCert(c.iss, c.icc, pan, testExpiry, testSerial, nil)
	require.NoError(t, err)
	k, err := oda.RecoverICCKey(oda.ICCCertInput{Issuer: c.issuerKey, Cert: cert, Remainder: rem, Exponent: exp, PAN: pan, Now: testNow})
	require.NoError(t, err)
	assert.Equal(t, append(pan, 0xFF, 0xFF), k.PAN)
	// Same PAN padded in 5A.
	_, err = oda.RecoverICCKey(oda.ICCCertInput{Issuer: c.issuerKey, Cert: cert, Remainder: rem, Exponent: exp, PAN: append(pan, 0xFF), Now: testNow})
	require.NoError(t, err)
}

func TestSSADRSA(t *testing.T) {
	c := newRSAChain(t, 1408, 1152, 1024, 3)
	ssad, err := pki.SignStaticData(c.iss, [2]byte{0xDA, 0xC1}, testStatic)
	require.NoError(t, err)
	dac, err := oda.VerifySSAD(c.issuerKey, ssad, testStatic)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xDA, 0xC1}, dac)

	n := len(c.iss.Public().Modulus)
	mut := func(f func(r []byte)) []byte { return tamperRSA(t, c.iss, ssad, f) }
	for _, tc := range []struct {
		name   string
		ssad   []byte
		static []byte
		want   error
	}{
		{"altered static data", ssad, flip(testStatic, 0), oda.ErrHash},
		{"truncated static data", ssad, testStatic[:len(testStatic)-1], oda.ErrHash},
		{"short", ssad[1:], testStatic, oda.ErrKeyLength},
		{"header", mut(func(r []byte) { r[0] = 0x4A }), testStatic, oda.ErrFormat},
		{"trailer", mut(func(r []byte) { r[n-1] = 0xBB }), testStatic, oda.ErrFormat},
		{"format 05", mut(func(r []byte) { r[1] = 0x05; reseal(r, testStatic) }), testStatic, oda.ErrFormat},
		{"hash algorithm", mut(func(r []byte) { r[2] = 0x07; reseal(r, testStatic) }), testStatic, oda.ErrAlgorithm},
		{"altered DAC", mut(func(r []byte) { r[3] ^= 0xFF }), testStatic, oda.ErrHash},
		{"DDA signature by the issuer", func() []byte { s, _ := pki.SignDynamicData(c.iss, []byte{1, 2}, testStatic); return s }(), testStatic, oda.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dac, err := oda.VerifySSAD(c.issuerKey, tc.ssad, tc.static)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, dac)
		})
	}
	_, err = oda.VerifySSAD(nil, ssad, testStatic)
	require.ErrorIs(t, err, oda.ErrAlgorithm)
}

func TestSDADRSA(t *testing.T) {
	c := newRSAChain(t, 1984, 1408, 1024, 65537)
	sdad, err := pki.SignDynamicData(c.icc, []byte{0x12, 0x34, 0x56, 0x78}, testDDOL)
	require.NoError(t, err)
	num, err := oda.VerifySDAD(c.iccKey, sdad, testDDOL)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x12, 0x34, 0x56, 0x78}, num)

	n := len(c.icc.Public().Modulus)
	mut := func(f func(r []byte)) []byte { return tamperRSA(t, c.icc, sdad, f) }
	for _, tc := range []struct {
		name string
		sdad []byte
		ddol []byte
		want error
	}{
		{"altered DDOL data", sdad, flip(testDDOL, 2), oda.ErrHash},
		{"missing DDOL data", sdad, nil, oda.ErrHash},
		{"long", append(append([]byte(nil), sdad...), 0), testDDOL, oda.ErrKeyLength},
		{"header", mut(func(r []byte) { r[0] = 0x6B }), testDDOL, oda.ErrFormat},
		{"trailer", mut(func(r []byte) { r[n-1] = 0xBE }), testDDOL, oda.ErrFormat},
		{"format 03", mut(func(r []byte) { r[1] = 0x03; reseal(r, testDDOL) }), testDDOL, oda.ErrFormat},
		{"hash algorithm", mut(func(r []byte) { r[2] = 0x02; reseal(r, testDDOL) }), testDDOL, oda.ErrAlgorithm},
		{"dynamic data length too big", mut(func(r []byte) { r[3] = byte(n - 24); reseal(r, testDDOL) }), testDDOL, oda.ErrFormat},
		{"dynamic data empty", mut(func(r []byte) { r[3] = 0; reseal(r, testDDOL) }), testDDOL, oda.ErrFormat},
		{"dynamic number length 1", mut(func(r []byte) { r[4] = 1; reseal(r, testDDOL) }), testDDOL, oda.ErrFormat},
		{"dynamic number length 9", mut(func(r []byte) { r[4] = 9; reseal(r, testDDOL) }), testDDOL, oda.ErrFormat},
		{"dynamic number past data", mut(func(r []byte) { r[3] = 3; reseal(r, testDDOL) }), testDDOL, oda.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			num, err := oda.VerifySDAD(c.iccKey, tc.sdad, tc.ddol)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, num)
		})
	}
	_, err = oda.VerifySDAD(nil, sdad, testDDOL)
	require.ErrorIs(t, err, oda.ErrAlgorithm)
}
