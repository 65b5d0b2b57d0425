// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/oda"
)

func plainPIN(t *testing.T, pin string) apdu.Command {
	t.Helper()
	b, err := keys.OfflinePINBlock(pin)
	require.NoError(t, err)
	return apdu.Verify(0x80, b)
}

// encipheredPIN asks the card for a challenge and enciphers pin under pub.
func encipheredPIN(t *testing.T, c *Card, pub oda.PublicKey, pin string) apdu.Command {
	t.Helper()
	r := send(t, c, apdu.GetChallenge())
	require.Equal(t, apdu.SWSuccess, r.SW)
	require.Len(t, r.Data, 8)
	b, err := keys.OfflinePINBlock(pin)
	require.NoError(t, err)
	enc, err := keys.EncipherOfflinePIN(pub.Modulus, pub.Exponent, b, r.Data, rand.Reader)
	require.NoError(t, err)
	return apdu.Verify(0x88, enc)
}

// cvrByte2 is CVR byte 2 of the first GENERATE AC (9F10 byte 5).
func cvrByte2(t *testing.T, c *Card) byte {
	t.Helper()
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeARQC, cdol1Data(t, 1234))))
	return g.iad[4]
}

// EMV Book 3 §6.5.12: a wrong PIN answers 63Cx with the tries left, a
// right one 9000 and sets the counter back to the try limit; the CVR
// (PBOC, byte 2 bits 3 and 2) reports the verification.
func TestVerifyPlaintextPIN(t *testing.T) {
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1234).SW)
	assert.Equal(t, apdu.SW(0x63C2), send(t, c, plainPIN(t, "111111")).SW)
	assert.Equal(t, 2, c.PINTries(debitAID))
	r := send(t, c, apdu.GetData(0x9F17))
	assert.Equal(t, []byte{0x9F, 0x17, 0x01, 0x02}, r.Data)
	assert.Equal(t, apdu.SWSuccess, send(t, c, plainPIN(t, "123456")).SW)
	assert.Equal(t, 3, c.PINTries(debitAID), "back to the try limit")
	assert.Equal(t, cvrOfflinePINPerformed, cvrByte2(t, c)&(cvrOfflinePINPerformed|cvrOfflinePINFailed))
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, plainPIN(t, "123456")).SW, "after GENERATE AC")

	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1234).SW)
	assert.Equal(t, apdu.SW(0x63C2), send(t, c, plainPIN(t, "654321")).SW)
	assert.Equal(t, cvrOfflinePINPerformed|cvrOfflinePINFailed, cvrByte2(t, c)&(cvrOfflinePINPerformed|cvrOfflinePINFailed))

	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1234).SW)
	assert.Zero(t, cvrByte2(t, c)&(cvrOfflinePINPerformed|cvrOfflinePINFailed), "no VERIFY in this transaction")
}

// At 0 tries the PIN is blocked (6983) for every later VERIFY, the right
// PIN too, and the counter survives a snapshot.
func TestVerifyBlocksAtZero(t *testing.T) {
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1234).SW)
	for _, want := range []apdu.SW{0x63C2, 0x63C1, 0x63C0} {
		assert.Equal(t, want, send(t, c, plainPIN(t, "000000")).SW)
	}
	assert.Equal(t, apdu.SWAuthMethodBlocked, send(t, c, plainPIN(t, "123456")).SW)
	assert.Equal(t, []byte{0x9F, 0x17, 0x01, 0x00}, send(t, c, apdu.GetData(0x9F17)).Data)
	again, err := New(c.Snapshot())
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, again, false, 1234).SW)
	assert.Equal(t, apdu.SWAuthMethodBlocked, send(t, again, plainPIN(t, "123456")).SW)
}

func TestVerifyRefusals(t *testing.T) {
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, plainPIN(t, "123456")).SW, "before GPO")
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1234).SW)
	assert.Equal(t, apdu.SWIncorrectP1P2, send(t, c, apdu.Verify(0x81, make([]byte, 8))).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.Verify(0x80, make([]byte, 7))).SW)
	assert.Equal(t, apdu.SWWrongData, send(t, c, apdu.Verify(0x80, unhex(t, "141234FFFFFFFFFF"))).SW, "format 1 is not a PIN block")
	assert.Equal(t, 3, c.PINTries(debitAID), "a malformed block counts nothing")
}

// EMV Book 2 §7.2: the enciphered PIN is deciphered with the ICC key (or
// the PIN encipherment key) and must carry the challenge of the GET
// CHALLENGE right before it; anything else is a failed verification.
func TestVerifyEncipheredPIN(t *testing.T) {
	c := newDefault(t)
	pub := c.apps[0].icc.Public()
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1234).SW)
	ok := encipheredPIN(t, c, pub, "123456")
	assert.Equal(t, apdu.SWSuccess, send(t, c, ok).SW)
	assert.Equal(t, apdu.SW(0x63C2), send(t, c, ok).SW, "the challenge was used up")

	cmd := encipheredPIN(t, c, pub, "123456")
	send(t, c, apdu.GetData(0x9F17))
	assert.Equal(t, apdu.SW(0x63C1), send(t, c, cmd).SW, "a command between GET CHALLENGE and VERIFY ends the challenge")
	assert.Equal(t, apdu.SWSuccess, send(t, c, encipheredPIN(t, c, pub, "123456")).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.Verify(0x88, make([]byte, 64))).SW)

	sm2 := loadCard(t, "sm2-dda.json")
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, sm2, false, 1234).SW)
	send(t, sm2, apdu.GetChallenge())
	assert.Equal(t, apdu.SWFuncNotSupported, send(t, sm2, apdu.Verify(0x88, make([]byte, 128))).SW, "no RSA key to decipher with")
}

// pin.encipherment "separate": the card has its own PIN encipherment key,
// certified by the issuer in 9F2D (SFI 3 record 4, not flagged for ODA);
// a PIN enciphered under the ICC key instead is a wrong PIN.
func TestSeparatePINEnciphermentKey(t *testing.T) {
	c := loadCard(t, "offline-pin.json")
	a := c.apps[0]
	require.NotNil(t, a.pinEncKey)
	assert.Equal(t, PINKeyBits, a.pinEncKey.Bits())
	r := purchaseToGPO(t, c, false, 1234)
	require.Equal(t, apdu.SWSuccess, r.SW)
	afl := find(t, r.Data, 0x80)[2:]
	assert.True(t, bytes.HasSuffix(afl, []byte{0x18, 0x01, 0x04, 0x00}), "AFL %X names SFI 3 records 1-4", afl)
	rec := send(t, c, apdu.ReadRecord(3, 4))
	require.Equal(t, apdu.SWSuccess, rec.SW)
	assert.NotEmpty(t, find(t, rec.Data, 0x9F2D))
	assert.Equal(t, []byte{0x03}, find(t, rec.Data, 0x9F2E))

	assert.Equal(t, apdu.SWWrongLength, send(t, c, encipheredPIN(t, c, a.icc.Public(), "123456")).SW, "the ICC key is not the PIN key")
	assert.Equal(t, 3, c.PINTries(debitAID), "data the card cannot decipher counts nothing")

	// Data that deciphers, but with another header than 7F: a wrong PIN.
	pub := a.pinEncKey.Public()
	ch := send(t, c, apdu.GetChallenge()).Data
	block, err := keys.OfflinePINBlock("123456")
	require.NoError(t, err)
	m := make([]byte, len(pub.Modulus))
	m[0] = 0x7E
	copy(m[1:], block)
	copy(m[9:], ch)
	x := new(big.Int).SetBytes(m)
	x.Exp(x, new(big.Int).SetBytes(pub.Exponent), new(big.Int).SetBytes(pub.Modulus))
	assert.Equal(t, apdu.SW(0x63C2), send(t, c, apdu.Verify(0x88, x.FillBytes(m))).SW, "header 7E")

	assert.Equal(t, apdu.SWSuccess, send(t, c, encipheredPIN(t, c, pub, "123456")).SW)
}

func TestPINProfileFields(t *testing.T) {
	for name, tc := range map[string]struct {
		patch func(*Application)
		field string
	}{
		"separate key on an SDA card": {func(a *Application) { a.ODA = "sda"; a.PIN = &PIN{Encipherment: "separate"} }, "pin.encipherment"},
		"ICC key on an SM2 card": {func(a *Application) {
			a.ODAAlg, a.CAIndex, a.IssuerKeyBits, a.ICCKeyBits, a.IssuerExponent, a.ICCExponent = "sm2", "F3", 0, 0, 0, 0
			a.PIN = &PIN{Encipherment: "icc"}
		}, "pin.encipherment"},
		"unknown encipherment":  {func(a *Application) { a.PIN = &PIN{Encipherment: "des"} }, "pin.encipherment"},
		"tries above the limit": {func(a *Application) { n := 4; a.PIN = &PIN{Tries: &n, TryLimit: 3} }, "pin.tries"},
		"try limit 16":          {func(a *Application) { a.PIN = &PIN{TryLimit: 16} }, "pin.try_limit"},
	} {
		p := DefaultProfile()
		tc.patch(&p.Applications[0])
		_, err := New(p)
		var pe *ProfileError
		require.ErrorAs(t, err, &pe, name)
		assert.Equal(t, "applications[0]."+tc.field, pe.Field, name)
	}

	p := DefaultProfile()
	assert.Equal(t, "icc", p.Applications[0].PIN.Encipherment, "an RSA DDA card deciphers with its ICC key")
	assert.Equal(t, 3, p.Applications[0].PIN.TryLimit)
	p.Applications[0].CVMList = "none"
	c, err := New(p)
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1234).SW)
	absent(t, send(t, c, apdu.ReadRecord(2, 1)).Data, 0x8E) // cvm_list "none"
}

// ECCVMList: no CVM under X, X one fen above the single limit, then the
// default rules.
func TestECCVMList(t *testing.T) {
	assert.Equal(t, "00007531000000001F0642035E031F03", ECCVMList("300.00"))
	assert.Equal(t, "000003E9000000001F0642035E031F03", ECCVMList("10.00"))
	assert.Equal(t, DefaultCVMList, ECCVMList("not an amount"))
}
