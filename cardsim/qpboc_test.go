// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/tlv"
)

// qpbocPDOLData builds data for DefaultQPBOCPDOL.
func qpbocPDOLData(t testing.TB, ttq []byte, amount uint64, ec bool) []byte {
	d := append([]byte(nil), ttq...)
	d = append(d, n12(t, amount)...)
	d = append(d, n12(t, 0)...)
	d = append(d, cny...) // 9F1A
	d = append(d, tvr...)
	d = append(d, cny...) // 5F2A
	d = append(d, date...)
	d = append(d, txType...)
	d = append(d, un...)
	ind := byte(0)
	if ec {
		ind = 1
	}
	d = append(d, ind)
	d = append(d, tm...)
	return append(d, merchant()...)
}

var (
	ttqOnlineContact = []byte{0x36, 0x00, 0x00, 0x80}
	ttqOfflineOnlyCL = []byte{0x2E, 0x00, 0x00, 0x80}
	ttqOnlineNeeded  = []byte{0x36, 0x80, 0x00, 0x80}
)

func tap(t *testing.T, c *Card, ttq []byte, amount uint64) apdu.Response {
	t.Helper()
	cl := NewContactless(c)
	ctx := context.Background()
	r := transmit(t, cl, apdu.Select([]byte(ppseName)))
	require.Equal(t, apdu.SWSuccess, r.SW)
	r = transmit(t, cl, apdu.Select(unhex(t, debitAID)))
	require.Equal(t, apdu.SWSuccess, r.SW)
	pdol, ok, err := tlv.Find(r.Data, 0x9F38)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, unhex(t, DefaultQPBOCPDOL), pdol, "the contactless FCI carries the contactless PDOL")
	out, err := cl.Transmit(ctx, apdu.GetProcessingOptions(qpbocPDOLData(t, ttq, amount, true)).Bytes())
	require.NoError(t, err)
	resp, err := apdu.ParseResponse(out)
	require.NoError(t, err)
	return resp
}

func transmit(t *testing.T, tr apdu.Transport, c apdu.Command) apdu.Response {
	t.Helper()
	out, err := tr.Transmit(context.Background(), c.Bytes())
	require.NoError(t, err)
	r, err := apdu.ParseResponse(out)
	require.NoError(t, err)
	return r
}

func TestPPSEOnlyOverContactless(t *testing.T) {
	c, err := New(DefaultProfile())
	require.NoError(t, err)
	cl := NewContactless(c)
	r := transmit(t, cl, apdu.Select([]byte(ppseName)))
	require.Equal(t, apdu.SWSuccess, r.SW)
	dir, ok, err := tlv.Find(r.Data, 0xBF0C)
	require.NoError(t, err)
	require.True(t, ok)
	aid, ok, err := tlv.Find(dir, 0x4F)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, unhex(t, debitAID), aid)
	assert.Equal(t, apdu.SWFileNotFound, transmit(t, cl, apdu.Select([]byte(pseName))).SW, "no PSE over contactless")
	assert.Equal(t, apdu.SWFileNotFound, transmit(t, c, apdu.Select([]byte(ppseName))).SW, "no PPSE over contact")
}

func TestQPBOCGPODecisions(t *testing.T) {
	t.Run("offline EC: TC, deducted at GPO, logged, fDDA", func(t *testing.T) {
		c, err := New(DefaultProfile())
		require.NoError(t, err)
		r := tap(t, c, ttqOnlineContact, 1234)
		require.Equal(t, apdu.SWSuccess, r.SW)
		o, err := tlv.ParseSingle(r.Data)
		require.NoError(t, err)
		require.Equal(t, tlv.Tag(0x77), o.Tag)
		iad, _, _ := tlv.Find(o.Value, 0x9F10)
		assert.Equal(t, byte(0x17), iad[2], "CVN 17")
		assert.Equal(t, byte(0x10), iad[4]&0x30, "TC in the CVR")
		bal, _, _ := tlv.Find(o.Value, 0x9F5D)
		n, err := bcd.Decode(bal)
		require.NoError(t, err)
		assert.Equal(t, uint64(50000-1234), n)
		assert.Equal(t, uint64(50000-1234), c.Balance(debitAID))
		assert.Len(t, c.Log(debitAID), 1)
		assert.Equal(t, uint16(1), c.ATC(debitAID))
		afl, _, _ := tlv.Find(o.Value, 0x94)
		assert.Equal(t, []byte{0x10, 1, 1, 1, 0x18, 1, 3, 0}, afl)
		cad, _, _ := tlv.Find(o.Value, 0x9F69)
		require.Len(t, cad, 7)
		assert.Equal(t, byte(0x01), cad[0])
		sdad, ok, _ := tlv.Find(o.Value, 0x9F4B)
		require.True(t, ok)
		verifyCardFDDA(t, c, sdad, cad, 1234)
		// The transaction is over: no GENERATE AC, no second GPO.
		cl := NewContactless(c)
		assert.Equal(t, apdu.SWConditionsNotSatisfied, transmit(t, cl, apdu.GenerateAC(0x40, make([]byte, 52))).SW)
		// READ RECORD of what the AFL names, and nothing else.
		assert.Equal(t, apdu.SWSuccess, transmit(t, cl, apdu.ReadRecord(2, 1)).SW)
		assert.Equal(t, apdu.SWRecordNotFound, transmit(t, cl, apdu.ReadRecord(2, 2)).SW)
		assert.Equal(t, apdu.SWRecordNotFound, transmit(t, cl, apdu.ReadRecord(1, 1)).SW)
	})
	t.Run("online cryptogram required: ARQC, nothing deducted", func(t *testing.T) {
		c, err := New(DefaultProfile())
		require.NoError(t, err)
		r := tap(t, c, ttqOnlineNeeded, 1234)
		require.Equal(t, apdu.SWSuccess, r.SW)
		iad, _, _ := tlv.Find(r.Data[2:], 0x9F10)
		assert.Equal(t, byte(0x20), iad[4]&0x30)
		assert.Equal(t, uint64(50000), c.Balance(debitAID))
		assert.Empty(t, c.Log(debitAID))
	})
	t.Run("offline only, above the balance: AAC", func(t *testing.T) {
		c, err := New(DefaultProfile())
		require.NoError(t, err)
		r := tap(t, c, ttqOfflineOnlyCL, 60000)
		require.Equal(t, apdu.SWSuccess, r.SW)
		iad, _, _ := tlv.Find(r.Data[2:], 0x9F10)
		assert.Equal(t, byte(0x00), iad[4]&0x30)
	})
	t.Run("below the reset threshold: use contact (6984)", func(t *testing.T) {
		p, err := LoadProfile(filepath.Join("..", "testdata", "cards", "low-balance.json"))
		require.NoError(t, err)
		c, err := New(p)
		require.NoError(t, err)
		r := tap(t, c, ttqOnlineContact, 450)
		assert.Equal(t, apdu.SW(0x6984), r.SW)
		assert.Equal(t, uint64(500), c.Balance(debitAID))
		assert.Equal(t, uint16(0), c.ATC(debitAID))
		// An offline-only reader approves, as contact EC does.
		r = tap(t, c, ttqOfflineOnlyCL, 450)
		require.Equal(t, apdu.SWSuccess, r.SW)
		assert.Equal(t, uint64(50), c.Balance(debitAID))
	})
	t.Run("a reader without qPBOC is refused", func(t *testing.T) {
		c, err := New(DefaultProfile())
		require.NoError(t, err)
		r := tap(t, c, []byte{0x10, 0, 0, 0}, 1234)
		assert.Equal(t, apdu.SWConditionsNotSatisfied, r.SW)
		assert.Equal(t, uint16(0), c.ATC(debitAID))
	})
	t.Run("long ICC key: fDDA in SFI 4 record 1", func(t *testing.T) {
		p, err := LoadProfile(filepath.Join("..", "testdata", "cards", "ql-long-key.json"))
		require.NoError(t, err)
		c, err := New(p)
		require.NoError(t, err)
		r := tap(t, c, ttqOnlineContact, 1234)
		require.Equal(t, apdu.SWSuccess, r.SW)
		_, inline, _ := tlv.Find(r.Data[2:], 0x9F4B)
		assert.False(t, inline)
		afl, _, _ := tlv.Find(r.Data[2:], 0x94)
		assert.Equal(t, []byte{0x20, 1, 1, 0}, afl[len(afl)-4:])
		rec := transmit(t, NewContactless(c), apdu.ReadRecord(4, 1))
		require.Equal(t, apdu.SWSuccess, rec.SW)
		sdad, ok, _ := tlv.Find(rec.Data[3:], 0x9F4B)
		require.True(t, ok)
		cad, _, _ := tlv.Find(r.Data[2:], 0x9F69)
		verifyCardFDDA(t, c, sdad, cad, 1234)
	})
}

// verifyCardFDDA checks an fDDA signature of the card against the test CA
// in capk.TestKeys(), with the keys recovered from the card's records.
func verifyCardFDDA(t *testing.T, c *Card, sdad, cad []byte, amount uint64) {
	t.Helper()
	a := c.apps[0]
	data := map[tlv.Tag][]byte{}
	for _, r := range append([][]byte{a.recApp}, a.odaRecords...) {
		require.NoError(t, tlv.Walk(r, func(_ int, o tlv.TLV) error {
			if !o.Tag.Constructed() {
				data[o.Tag] = o.Value
			}
			return nil
		}))
	}
	key, ok := capk.TestKeys().Lookup(capk.RID{0xA0, 0, 0, 0x03, 0x33}, data[0x8F][0])
	require.True(t, ok)
	pub := oda.PublicKey{Alg: oda.PKAlg(key.Algorithm), Modulus: key.Modulus, Exponent: key.Exponent}
	if pub.Alg == oda.SM2 {
		pub = oda.PublicKey{Alg: oda.SM2, Point: key.Modulus}
	}
	issuer, err := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: pub, Cert: data[0x90], Remainder: data[0x92], Exponent: data[0x9F32], PAN: data[0x5A]})
	require.NoError(t, err)
	icc, err := oda.RecoverICCKey(oda.ICCCertInput{Issuer: issuer, Cert: data[0x9F46], Remainder: data[0x9F48],
		Exponent: data[0x9F47], PAN: data[0x5A], StaticData: a.staticData})
	require.NoError(t, err)
	_, err = oda.VerifyFDDA(oda.FDDAInput{ICC: icc, SDAD: sdad, UnpredictableNumber: un, Amount: n12(t, amount), Currency: cny, CardAuthData: cad})
	require.NoError(t, err)
	_, err = oda.VerifyFDDA(oda.FDDAInput{ICC: icc, SDAD: sdad, UnpredictableNumber: []byte{9, 9, 9, 9}, Amount: n12(t, amount), Currency: cny, CardAuthData: cad})
	require.Error(t, err, "another unpredictable number does not verify")
}

func TestInterfaceSwitchEndsTheSession(t *testing.T) {
	c, err := New(DefaultProfile())
	require.NoError(t, err)
	cl := NewContactless(c)
	require.Equal(t, apdu.SWSuccess, transmit(t, cl, apdu.Select(unhex(t, debitAID))).SW)
	// The same card inserted: a contact GPO without a SELECT is refused.
	r := transmit(t, c, apdu.GetProcessingOptions(pdolData(t, true, 100, cny)))
	assert.Equal(t, apdu.SWConditionsNotSatisfied, r.SW)
	// And the contact PDOL is the wrong length over contactless.
	require.Equal(t, apdu.SWSuccess, transmit(t, cl, apdu.Select(unhex(t, debitAID))).SW)
	assert.Equal(t, apdu.SWWrongLength, transmit(t, cl, apdu.GetProcessingOptions(pdolData(t, true, 100, cny))).SW)
}

func TestQPBOCProfileValidation(t *testing.T) {
	base := `{"applications": [{"aid": "A000000333010101", "label": "X", "pan": "6222021000123456781", "expiry": "351231", "qpboc": %s}]}`
	for _, tc := range []struct{ qpboc, field string }{
		{`{"pdol": "9F02069F37045F2A02"}`, "applications[0].qpboc.pdol"},
		{`{"pdol": "9F66049F02069F3704"}`, "applications[0].qpboc.pdol"},
		{`{"fdda_version": "02"}`, "applications[0].qpboc.fdda_version"},
		{`{"ctq": "20"}`, "applications[0].qpboc.ctq"},
	} {
		_, err := ParseProfile([]byte(fmt.Sprintf(base, tc.qpboc)))
		assert.ErrorContains(t, err, tc.field, tc.qpboc)
	}
	p, err := ParseProfile([]byte(fmt.Sprintf(base, `{"disabled": true}`)))
	require.NoError(t, err)
	c, err := New(p)
	require.NoError(t, err)
	assert.Equal(t, apdu.SWFileNotFound, transmit(t, NewContactless(c), apdu.Select([]byte(ppseName))).SW)
	// Defaults are filled in.
	d := DefaultProfile()
	require.NotNil(t, d.Applications[0].QPBOC)
	assert.Equal(t, QPBOC{PDOL: DefaultQPBOCPDOL, CTQ: DefaultCTQ, FDDAVersion: "01"}, *d.Applications[0].QPBOC)
}
