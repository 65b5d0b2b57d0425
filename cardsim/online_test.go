// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/keys"
)

// cardKeysOf derives the card keys of the first application of p.
func cardKeysOf(t *testing.T, p *Profile) (keys.Alg, keys.CardKeys) {
	t.Helper()
	a := p.Applications[0]
	alg := keys.TDES
	if a.KeyAlg == "sm4" {
		alg = keys.SM4
	}
	imk := keys.IssuerKeys{AC: unhex(t, a.Keys.IMKAC), SMI: unhex(t, a.Keys.IMKSMI), SMC: unhex(t, a.Keys.IMKSMC)}
	ck, err := imk.Derive(alg, a.PAN, byte(a.PANSequence))
	require.NoError(t, err)
	return alg, ck
}

// issuerAuthData is what an issuer host returns: ARPC (8) ‖ ARC (2); good
// false gives a wrong ARPC.
func issuerAuthData(t *testing.T, p *Profile, atc uint16, arqc []byte, arc string, good bool) []byte {
	t.Helper()
	alg, ck := cardKeysOf(t, p)
	sk, err := keys.SessionKey(alg, ck.AC, atc)
	require.NoError(t, err)
	arpc, err := keys.ARPC(alg, sk, arqc, []byte(arc))
	require.NoError(t, err)
	if !good {
		arpc[0] ^= 0x01
	}
	return append(arpc, arc...)
}

// script builds a PUT DATA issuer script for tag with the amount value.
func script(t *testing.T, p *Profile, atc uint16, arqc []byte, tag uint16, amount uint64) []byte {
	t.Helper()
	alg, ck := cardKeysOf(t, p)
	sk, err := keys.SessionKey(alg, ck.SMI, atc)
	require.NoError(t, err)
	cmd, err := keys.ECUpdateScript(alg, sk, tag, n12(t, amount), []byte{byte(atc >> 8), byte(atc)}, arqc)
	require.NoError(t, err)
	return cmd
}

// goOnline runs select, GPO (no EC) and a first GENERATE AC that returns
// an ARQC, and returns the ARQC.
func goOnline(t *testing.T, c *Card, amount uint64) []byte {
	t.Helper()
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, amount).SW)
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeARQC, cdol1Data(t, amount))))
	require.Equal(t, byte(0x80), g.cid)
	return g.ac
}

func TestExternalAuthenticate(t *testing.T) {
	for _, alg := range []string{"tdes", "sm4"} {
		t.Run(alg, func(t *testing.T) {
			p := DefaultProfile()
			p.Applications[0].KeyAlg = alg

			// Good ARPC: 9000, and the issuer's approval gives a TC.
			c, err := New(p)
			require.NoError(t, err)
			arqc := goOnline(t, c, 100)
			assert.Equal(t, apdu.SWSuccess, send(t, c, apdu.ExternalAuthenticate(issuerAuthData(t, p, 1, arqc, "00", true))).SW)
			assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ExternalAuthenticate(issuerAuthData(t, p, 1, arqc, "00", true))).SW, "only once")
			g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", 100))))
			assert.Equal(t, byte(0x40), g.cid)
			assert.Equal(t, byte(0x60), g.iad[4])

			// Wrong ARPC: 6300, and the second GENERATE AC declines.
			c, err = New(p)
			require.NoError(t, err)
			arqc = goOnline(t, c, 100)
			assert.Equal(t, apdu.SWVerifyFailed, send(t, c, apdu.ExternalAuthenticate(issuerAuthData(t, p, 1, arqc, "00", false))).SW)
			assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ExternalAuthenticate(issuerAuthData(t, p, 1, arqc, "00", true))).SW, "no second try")
			g = parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", 100))))
			assert.Equal(t, byte(0x00), g.cid, "AAC after failed issuer authentication")
			assert.Equal(t, byte(0x28), g.iad[4], "AAC in 2nd, ARQC in 1st, issuer authentication failed")

			// A valid ARPC of another ARC does not pass as "00".
			c, err = New(p)
			require.NoError(t, err)
			arqc = goOnline(t, c, 100)
			ea := issuerAuthData(t, p, 1, arqc, "05", true)
			copy(ea[8:], "00")
			assert.Equal(t, apdu.SWVerifyFailed, send(t, c, apdu.ExternalAuthenticate(ea)).SW)
		})
	}
}

func TestExternalAuthenticateOrder(t *testing.T) {
	p := DefaultProfile()
	c, err := New(p)
	require.NoError(t, err)
	ea := make([]byte, 10)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ExternalAuthenticate(ea)).SW, "nothing selected")
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ExternalAuthenticate(ea)).SW, "before GENERATE AC")
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, 100))))
	require.Equal(t, byte(0x40), g.cid)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ExternalAuthenticate(ea)).SW, "after an offline TC")

	arqc := goOnline(t, c, 100)
	good := issuerAuthData(t, p, 2, arqc, "00", true)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.ExternalAuthenticate(good[:9])).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.ExternalAuthenticate(append(good, 0))).SW)
	assert.Equal(t, apdu.SWIncorrectP1P2, sendRaw(t, c, append(unhex(t, "008201000A"), good...)).SW)
	assert.Equal(t, apdu.SWCLANotSupported, sendRaw(t, c, append(unhex(t, "808200000A"), good...)).SW)
	// The refusals did not use up the one attempt.
	assert.Equal(t, apdu.SWSuccess, send(t, c, apdu.ExternalAuthenticate(good)).SW)
	parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", 100))))
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ExternalAuthenticate(good)).SW, "after the second GENERATE AC")
}

func TestIssuerAuthInCDOL2(t *testing.T) {
	p := DefaultProfile()
	p.Applications[0].CDOL2 = "910A" + DefaultCDOL2
	cdol2 := func(ia []byte, arc string) []byte {
		return append(append([]byte(nil), ia...), cdol2Data(t, arc, 100)...)
	}

	c, err := New(p)
	require.NoError(t, err)
	arqc := goOnline(t, c, 100)
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2(issuerAuthData(t, p, 1, arqc, "00", true), "00"))))
	assert.Equal(t, byte(0x40), g.cid)

	c, err = New(p)
	require.NoError(t, err)
	arqc = goOnline(t, c, 100)
	g = parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2(issuerAuthData(t, p, 1, arqc, "00", false), "00"))))
	assert.Equal(t, byte(0x00), g.cid)
	assert.Equal(t, byte(0x28), g.iad[4])

	// All zeros: no issuer authentication data, the ARC decides.
	c, err = New(p)
	require.NoError(t, err)
	goOnline(t, c, 100)
	g = parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2(make([]byte, 10), "00"))))
	assert.Equal(t, byte(0x40), g.cid)
}

func TestPutDataScripts(t *testing.T) {
	p := DefaultProfile()
	c, err := New(p)
	require.NoError(t, err)
	arqc := goOnline(t, c, 100)

	// Top-up to 800.00 before the second GENERATE AC.
	cmd := script(t, p, 1, arqc, 0x9F79, 80000)
	assert.Equal(t, apdu.SWSuccess, sendRaw(t, c, cmd).SW)
	assert.Equal(t, uint64(80000), c.Balance(debitAID))
	assert.Equal(t, unhex(t, "9F7906000000080000"), send(t, c, apdu.GetData(0x9F79)).Data)

	// Above the limit, and a limit below the balance: refused, nothing changes.
	assert.Equal(t, apdu.SWWrongData, sendRaw(t, c, script(t, p, 1, arqc, 0x9F79, 100001)).SW)
	assert.Equal(t, apdu.SWWrongData, sendRaw(t, c, script(t, p, 1, arqc, 0x9F77, 79999)).SW)
	assert.Equal(t, uint64(80000), c.Balance(debitAID))
	assert.Equal(t, unhex(t, "9F7706000000100000"), send(t, c, apdu.GetData(0x9F77)).Data)

	// Bad MAC.
	bad := script(t, p, 1, arqc, 0x9F79, 90000)
	bad[len(bad)-1] ^= 0x01
	assert.Equal(t, apdu.SW(0x6988), sendRaw(t, c, bad).SW)
	// A MAC computed for another value.
	forged := script(t, p, 1, arqc, 0x9F79, 90000)
	copy(forged[5:11], n12(t, 99999))
	assert.Equal(t, apdu.SW(0x6988), sendRaw(t, c, forged).SW)
	assert.Equal(t, uint64(80000), c.Balance(debitAID))

	// A correctly MACed value that is not n12 BCD.
	alg, ck := cardKeysOf(t, p)
	sk, err := keys.SessionKey(alg, ck.SMI, 1)
	require.NoError(t, err)
	notBCD, err := keys.ECUpdateScript(alg, sk, 0x9F79, unhex(t, "00000000AA00"), []byte{0, 1}, arqc)
	require.NoError(t, err)
	assert.Equal(t, apdu.SWWrongData, sendRaw(t, c, notBCD).SW)
	short, err := keys.ECUpdateScript(alg, sk, 0x9F79, unhex(t, "0000000100"), []byte{0, 1}, arqc)
	require.NoError(t, err)
	assert.Equal(t, apdu.SWWrongData, sendRaw(t, c, short).SW)

	// Other EC data, after the second GENERATE AC too.
	parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", 100))))
	assert.Equal(t, apdu.SWSuccess, sendRaw(t, c, script(t, p, 1, arqc, 0x9F77, 200000)).SW)
	assert.Equal(t, apdu.SWSuccess, sendRaw(t, c, script(t, p, 1, arqc, 0x9F78, 50000)).SW)
	assert.Equal(t, apdu.SWSuccess, sendRaw(t, c, script(t, p, 1, arqc, 0x9F6D, 2000)).SW)
	assert.Equal(t, apdu.SWSuccess, sendRaw(t, c, script(t, p, 1, arqc, 0x9F79, 150000)).SW)
	assert.Equal(t, unhex(t, "9F7706000000200000"), send(t, c, apdu.GetData(0x9F77)).Data)
	assert.Equal(t, unhex(t, "9F7806000000050000"), send(t, c, apdu.GetData(0x9F78)).Data)
	assert.Equal(t, unhex(t, "9F6D06000000002000"), send(t, c, apdu.GetData(0x9F6D)).Data)
	assert.Equal(t, uint64(150000), c.Balance(debitAID))
	assert.Equal(t, apdu.SWRefDataNotFound, sendRaw(t, c, script(t, p, 1, arqc, 0x9F51, 1)).SW)

	// The snapshot keeps the new limits.
	snap := c.Snapshot()
	assert.Equal(t, "2000.00", snap.Applications[0].EC.BalanceLimit)
	assert.Equal(t, "500.00", snap.Applications[0].EC.SingleLimit)
	assert.Equal(t, "20.00", snap.Applications[0].EC.ResetThreshold)
	assert.Equal(t, "1500.00", snap.Applications[0].EC.Balance)
	_, err = snap.Marshal()
	require.NoError(t, err)

	// Replay in a new transaction: after SELECT scripts wait for an ARQC
	// (6985), then the new ATC and ARQC break the old MAC (6988).
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sendRaw(t, c, cmd).SW)
	goOnline(t, c, 100)
	assert.Equal(t, apdu.SW(0x6988), sendRaw(t, c, cmd).SW)
	assert.Equal(t, uint64(150000), c.Balance(debitAID))
}

func TestPutDataRefusals(t *testing.T) {
	p := DefaultProfile()
	c, err := New(p)
	require.NoError(t, err)
	plain := append(unhex(t, "80DA9F790A"), make([]byte, 10)...)
	assert.Equal(t, apdu.SWSecurityNotSatisfied, sendRaw(t, c, plain).SW)
	plain[0] = 0x00
	assert.Equal(t, apdu.SWSecurityNotSatisfied, sendRaw(t, c, plain).SW)
	plain[0] = 0x84
	assert.Equal(t, apdu.SWCLANotSupported, sendRaw(t, c, plain).SW)
	plain[0] = 0x04
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sendRaw(t, c, plain).SW, "outside a transaction")
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sendRaw(t, c, plain).SW, "before GENERATE AC")
	parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, 100))))
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sendRaw(t, c, plain).SW, "after an offline TC")
	// CLA 04 is for PUT DATA only.
	assert.Equal(t, apdu.SWCLANotSupported, sendRaw(t, c, unhex(t, "04CA9F7900")).SW)

	arqc := goOnline(t, c, 100)
	assert.Equal(t, apdu.SWWrongLength, sendRaw(t, c, unhex(t, "04DA9F7903000000")).SW, "shorter than a MAC")
	cmd := script(t, p, 2, arqc, 0x9F79, 1)
	assert.Equal(t, apdu.SWSuccess, sendRaw(t, c, append(cmd[:len(cmd):len(cmd)], 0x00)).SW, "an Le is allowed and not MACed")
	assert.Equal(t, uint64(1), c.Balance(debitAID))

	// A card without EC has no EC data to write.
	noEC := loadCard(t, "no-ec.json")
	pNoEC, err := LoadProfile("../testdata/cards/no-ec.json")
	require.NoError(t, err)
	arqc = goOnline(t, noEC, 100)
	assert.Equal(t, apdu.SWRefDataNotFound, sendRaw(t, noEC, script(t, pNoEC, 1, arqc, 0x9F79, 1)).SW)
}

func TestLoadLog(t *testing.T) {
	p := DefaultProfile()
	c, err := New(p)
	require.NoError(t, err)
	r := selectAID(t, c, debitAID)
	assert.Equal(t, []byte{0x0C, 0x0A}, find(t, find(t, r.Data, 0xBF0C), 0xDF4D))
	assert.Equal(t, unhex(t, "DF4F0E"+DefaultLoadLogFormat), send(t, c, apdu.GetData(0xDF4F)).Data)
	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(12, 1)).SW)

	arqc := goOnline(t, c, 100)
	require.Equal(t, apdu.SWSuccess, sendRaw(t, c, script(t, p, 1, arqc, 0x9F79, 100000)).SW)
	// Writing the same balance again is not a load.
	require.Equal(t, apdu.SWSuccess, sendRaw(t, c, script(t, p, 1, arqc, 0x9F79, 100000)).SW)
	r = send(t, c, apdu.ReadRecord(12, 1))
	require.Equal(t, apdu.SWSuccess, r.SW)
	var want []byte
	want = append(want, 0x9F, 0x79)
	want = append(want, n12(t, 50000)...)
	want = append(want, n12(t, 100000)...)
	want = append(want, date...)
	want = append(want, tm...)
	want = append(want, cny...)
	want = append(want, merchant()...)
	want = append(want, 0x00, 0x01)
	assert.Equal(t, want, r.Data)
	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(12, 2)).SW)

	// The load log survives a snapshot.
	c2, err := New(c.Snapshot())
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, selectAID(t, c2, debitAID).SW)
	assert.Equal(t, want, send(t, c2, apdu.ReadRecord(12, 1)).Data)
}
