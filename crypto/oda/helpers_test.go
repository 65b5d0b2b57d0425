// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/stretchr/testify/require"
)

var (
	testNow    = time.Date(2026, time.May, 15, 10, 0, 0, 0, time.UTC)
	testPAN    = []byte{0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F}
	testID     = []byte{0x62, 0x22, 0x60, 0xFF}
	testExpiry = [2]byte{0x12, 0x30}
	testSerial = [3]byte{0x00, 0x01, 0x23}
	testStatic = []byte{0x5A, 0x0A, 0x62, 0x22, 0x60, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x3F, 0x5F, 0x24, 0x03, 0x30, 0x12, 0x31, 0x82, 0x02, 0x7C, 0x00}
	testDDOL   = []byte{0x11, 0x22, 0x33, 0x44}
)

// chain is a CA → issuer → ICC hierarchy with its certificates.
type chain struct {
	ca, iss, icc            *pki.KeyPair
	issCert, issRem, issExp []byte
	iccCert, iccRem, iccExp []byte
	issuerKey               *oda.IssuerKey
	iccKey                  *oda.ICCKey
}

func rsaKey(t testing.TB, seed string, bits, exp int) *pki.KeyPair {
	t.Helper()
	k, err := pki.GenerateRSA(seed, bits, exp)
	require.NoError(t, err)
	return k
}

func sm2Key(t testing.TB, seed string) *pki.KeyPair {
	t.Helper()
	k, err := pki.GenerateSM2(seed)
	require.NoError(t, err)
	return k
}

func newRSAChain(t testing.TB, caBits, issBits, iccBits, exp int) *chain {
	t.Helper()
	return newChain(t, rsaKey(t, "ca", caBits, exp), rsaKey(t, "issuer", issBits, exp), rsaKey(t, "icc", iccBits, exp))
}

func newSM2Chain(t testing.TB) *chain {
	t.Helper()
	return newChain(t, sm2Key(t, "ca"), sm2Key(t, "issuer"), sm2Key(t, "icc"))
}

func newChain(t testing.TB, ca, iss, icc *pki.KeyPair) *chain {
	t.Helper()
	c := &chain{ca: ca, iss: iss, icc: icc}
	var err error
	c.issCert, c.issRem, c.issExp, err = pki.IssueIssuerCert(ca, iss, testID, testExpiry, testSerial)
	require.NoError(t, err)
	c.iccCert, c.iccRem, c.iccExp, err = pki.IssueICCCert(iss, icc, testPAN, testExpiry, [3]byte{0, 0, 0x42}, testStatic)
	require.NoError(t, err)
	c.issuerKey, err = oda.RecoverIssuerKey(c.issuerInput())
	require.NoError(t, err)
	c.iccKey, err = oda.RecoverICCKey(c.iccInput())
	require.NoError(t, err)
	return c
}

func (c *chain) issuerInput() oda.IssuerCertInput {
	return oda.IssuerCertInput{CA: c.ca.Public(), Cert: c.issCert, Remainder: c.issRem, Exponent: c.issExp, PAN: testPAN, Now: testNow}
}

func (c *chain) iccInput() oda.ICCCertInput {
	return oda.ICCCertInput{Issuer: c.issuerKey, Cert: c.iccCert, Remainder: c.iccRem, Exponent: c.iccExp, PAN: testPAN, StaticData: testStatic, Now: testNow}
}

// rsaOpen is the raw RSA public operation, done independently of oda.
func rsaOpen(t testing.TB, pk oda.PublicKey, sig []byte) []byte {
	t.Helper()
	n := new(big.Int).SetBytes(pk.Modulus)
	e := new(big.Int).SetBytes(pk.Exponent)
	out := make([]byte, len(pk.Modulus))
	new(big.Int).Exp(new(big.Int).SetBytes(sig), e, n).FillBytes(out)
	require.Equal(t, byte(0x6A), out[0])
	return out
}

// reseal recomputes the SHA-1 hash of recovered data r over r[1:n-21] ‖ extra.
func reseal(r []byte, extra ...[]byte) {
	n := len(r)
	copy(r[n-21:n-1], oda.SHA1.Sum(append([][]byte{r[1 : n-21]}, extra...)...))
}

// tamperRSA opens sig with signer's public key, lets mutate change the
// recovered block, and signs it again with signer.
func tamperRSA(t testing.TB, signer *pki.KeyPair, sig []byte, mutate func(r []byte)) []byte {
	t.Helper()
	r := rsaOpen(t, signer.Public(), sig)
	mutate(r)
	out, err := signer.SignRaw(r)
	require.NoError(t, err)
	return out
}

// resignSM2 replaces the signature of an SM2 item (last 64 bytes) after
// mutate changed the body; extra is appended to the signed message.
func resignSM2(t testing.TB, signer *pki.KeyPair, item []byte, mutate func(body []byte), extra ...[]byte) []byte {
	t.Helper()
	body := append([]byte(nil), item[:len(item)-64]...)
	mutate(body)
	msg := append([]byte(nil), body...)
	for _, x := range extra {
		msg = append(msg, x...)
	}
	sig, err := signer.SignRaw(msg)
	require.NoError(t, err)
	return append(body, sig...)
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}
