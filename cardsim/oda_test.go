// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/tlv"
)

// txnDate is the date at which the terminal checks certificate expiry.
var txnDate = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)

// terminal is what a terminal learns up to the end of READ RECORD.
type terminal struct {
	aip, afl   []byte
	pdolData   []byte
	records    []byte       // all records read, concatenated
	flagged    []oda.Record // records flagged for ODA, in AFL order
	staticData []byte
}

func (tm *terminal) get(t *testing.T, tag tlv.Tag) []byte {
	t.Helper()
	v, ok, err := tlv.Find(tm.records, tag)
	require.NoError(t, err)
	if !ok {
		return nil
	}
	return v
}

// readApplication selects the debit application, runs GPO and reads every
// record of the AFL like a terminal, building the static data to be
// authenticated with oda.StaticData.
func readApplication(t *testing.T, c *Card, ec bool, amount uint64) *terminal {
	t.Helper()
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	tm := &terminal{pdolData: pdolData(t, ec, amount, cny)}
	r := send(t, c, apdu.GetProcessingOptions(tm.pdolData))
	require.Equal(t, apdu.SWSuccess, r.SW)
	v := find(t, r.Data, 0x80)
	require.GreaterOrEqual(t, len(v), 6)
	tm.aip, tm.afl = v[:2], v[2:]
	require.Zero(t, len(tm.afl)%4)
	for i := 0; i < len(tm.afl); i += 4 {
		sfi, first, last, count := tm.afl[i]>>3, tm.afl[i+1], tm.afl[i+2], tm.afl[i+3]
		for rec := first; rec <= last; rec++ {
			rr := send(t, c, apdu.ReadRecord(sfi, rec))
			require.Equal(t, apdu.SWSuccess, rr.SW, "SFI %d record %d", sfi, rec)
			require.LessOrEqual(t, len(rr.Data), 256)
			tm.records = append(tm.records, rr.Data...)
			if rec < first+count {
				tm.flagged = append(tm.flagged, oda.Record{SFI: sfi, Data: rr.Data})
			}
		}
	}
	var err error
	tm.staticData, err = oda.StaticData(tm.flagged, tm.get(t, 0x9F4A), tm.aip)
	require.NoError(t, err)
	return tm
}

// caKey finds the CA key named by 8F in the test CA keys, as a terminal trusting them does.
func caKey(t *testing.T, tm *terminal) oda.PublicKey {
	t.Helper()
	idx := tm.get(t, 0x8F)
	require.Len(t, idx, 1)
	rid, err := capk.ParseRID(TestCARID)
	require.NoError(t, err)
	k, ok := capk.TestKeys().Lookup(rid, idx[0])
	require.True(t, ok, "CA key %02X not built in", idx[0])
	if k.Algorithm == capk.AlgSM2 {
		return oda.PublicKey{Alg: oda.SM2, Point: k.Modulus}
	}
	return oda.PublicKey{Alg: oda.RSA, Modulus: k.Modulus, Exponent: k.Exponent}
}

func recoverIssuer(t *testing.T, tm *terminal) *oda.IssuerKey {
	t.Helper()
	ik, err := oda.RecoverIssuerKey(oda.IssuerCertInput{
		CA: caKey(t, tm), Cert: tm.get(t, 0x90), Remainder: tm.get(t, 0x92),
		Exponent: tm.get(t, 0x9F32), PAN: tm.get(t, 0x5A), Now: txnDate,
	})
	require.NoError(t, err)
	return ik
}

func recoverICC(t *testing.T, tm *terminal) *oda.ICCKey {
	t.Helper()
	icc, err := oda.RecoverICCKey(oda.ICCCertInput{
		Issuer: recoverIssuer(t, tm), Cert: tm.get(t, 0x9F46), Remainder: tm.get(t, 0x9F48),
		Exponent: tm.get(t, 0x9F47), PAN: tm.get(t, 0x5A), StaticData: tm.staticData, Now: txnDate,
	})
	require.NoError(t, err)
	return icc
}

// parseTemplate77 returns the children of a format-2 response in order.
func parseTemplate77(t *testing.T, r apdu.Response) []tlv.TLV {
	t.Helper()
	require.Equal(t, apdu.SWSuccess, r.SW)
	top, err := tlv.ParseSingle(r.Data)
	require.NoError(t, err)
	require.Equal(t, tlv.Tag(0x77), top.Tag)
	objs, err := tlv.Parse(top.Value)
	require.NoError(t, err)
	return objs
}

// cdaVerify checks a CDA GENERATE AC response with oda.VerifyCDA.
func cdaVerify(t *testing.T, icc *oda.ICCKey, r apdu.Response, pdol, cdol1, cdol2 []byte) (*oda.CDAResult, error) {
	t.Helper()
	var resp, sdad []byte
	var cid byte
	var tags []tlv.Tag
	for _, o := range parseTemplate77(t, r) {
		tags = append(tags, o.Tag)
		switch o.Tag {
		case 0x9F4B:
			sdad = o.Value
			continue
		case 0x9F27:
			require.Len(t, o.Value, 1)
			cid = o.Value[0]
		}
		resp = append(resp, tlv.Encode(o)...)
	}
	assert.Equal(t, []tlv.Tag{0x9F27, 0x9F36, 0x9F4B, 0x9F10}, tags)
	un := cdol1[25:29]
	if len(cdol2) >= 4 {
		un = cdol2[len(cdol2)-4:]
	}
	return oda.VerifyCDA(oda.CDAInput{ICC: icc, SDAD: sdad, UnpredictableNumber: un,
		PDOLData: pdol, CDOLData: cdol1, CDOL2Data: cdol2, ResponseTLVs: resp, CID: cid})
}

// acFor recomputes a cryptogram with the profile's keys and algorithm.
func acFor(t *testing.T, p *Profile, cdol []byte, aip []byte, atc uint16, cvr []byte) []byte {
	t.Helper()
	a := p.Applications[0]
	alg := keys.TDES
	if a.KeyAlg == "sm4" {
		alg = keys.SM4
	}
	imk := keys.IssuerKeys{AC: unhex(t, a.Keys.IMKAC), SMI: unhex(t, a.Keys.IMKSMI), SMC: unhex(t, a.Keys.IMKSMC)}
	ck, err := imk.Derive(alg, a.PAN, byte(a.PANSequence))
	require.NoError(t, err)
	sk, err := keys.SessionKey(alg, ck.AC, atc)
	require.NoError(t, err)
	data := append(append(append(append([]byte(nil), cdol[:29]...), aip...), byte(atc>>8), byte(atc)), cvr...)
	ac, err := keys.Cryptogram(alg, sk, data)
	require.NoError(t, err)
	return ac
}

func TestODARecordsAndStaticData(t *testing.T) {
	cases := []struct {
		file  string
		aip   string
		count byte
	}{
		{"default.json", "3C00", 1},
		{"sda.json", "5C00", 1},
		{"cda.json", "3D00", 1},
		{"sm2-dda.json", "3C00", 1},
		{"sm2-cda.json", "3D00", 1},
		{"no-oda.json", "1C00", 0},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			for _, ec := range []bool{true, false} {
				c := loadCard(t, tc.file)
				tm := readApplication(t, c, ec, 100)
				assert.Equal(t, unhex(t, tc.aip), tm.aip)
				last := byte(1)
				if ec {
					last = 2
					assert.Equal(t, []byte("ECC001"), tm.get(t, 0x9F74))
				}
				want := []byte{0x08, 1, 1, 0, 0x10, 1, last, tc.count}
				if tc.count > 0 {
					want = append(want, 0x18, 1, 3, 0)
				}
				assert.Equal(t, want, tm.afl)
				if tc.count == 0 {
					assert.Nil(t, tm.get(t, 0x8F))
					assert.Equal(t, apdu.SWFileNotFound, send(t, c, apdu.ReadRecord(3, 1)).SW)
					continue
				}
				// Only SFI 2 record 1 is signed; the terminal's static
				// data is the card's, on both paths.
				require.Len(t, tm.flagged, 1)
				assert.Equal(t, byte(2), tm.flagged[0].SFI)
				assert.Equal(t, []byte{0x82}, tm.get(t, 0x9F4A))
				assert.Equal(t, c.apps[0].staticData, tm.staticData)
				assert.True(t, bytes.HasSuffix(tm.staticData, tm.aip), "9F4A appends the AIP")
			}
		})
	}
}

func TestODASDA(t *testing.T) {
	c := loadCard(t, "sda.json")
	tm := readApplication(t, c, true, 100)
	ik := recoverIssuer(t, tm)
	assert.Equal(t, oda.RSA, ik.Alg)
	assert.Len(t, ik.Modulus, 1408/8)
	assert.Equal(t, unhex(t, "622202FF"), ik.IssuerID)
	assert.Equal(t, [2]byte{0x12, 0x35}, ik.Expiry)
	dac, err := oda.VerifySSAD(ik, tm.get(t, 0x93), tm.staticData)
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "DAC1"), dac)
	assert.Nil(t, tm.get(t, 0x9F46), "no ICC certificate on an SDA card")
	assert.Equal(t, apdu.SWINSNotSupported, send(t, c, apdu.InternalAuthenticate(un)).SW)

	// Changing a byte of the signed record breaks SDA.
	bad := append([]byte(nil), tm.flagged[0].Data...)
	bad[len(bad)-1] ^= 1
	static, err := oda.StaticData([]oda.Record{{SFI: 2, Data: bad}}, []byte{0x82}, tm.aip)
	require.NoError(t, err)
	_, err = oda.VerifySSAD(ik, tm.get(t, 0x93), static)
	assert.ErrorIs(t, err, oda.ErrHash)
	// So does claiming another AIP.
	static, err = oda.StaticData(tm.flagged, []byte{0x82}, []byte{0x7C, 0x00})
	require.NoError(t, err)
	_, err = oda.VerifySSAD(ik, tm.get(t, 0x93), static)
	assert.ErrorIs(t, err, oda.ErrHash)
}

func TestODADDA(t *testing.T) {
	for _, file := range []string{"default.json", "sm2-dda.json", "cda.json"} {
		t.Run(file, func(t *testing.T) {
			c := loadCard(t, file)
			tm := readApplication(t, c, true, 100)
			assert.Equal(t, unhex(t, "9F3704"), tm.get(t, 0x9F49))
			icc := recoverICC(t, tm)
			if file == "sm2-dda.json" {
				assert.Equal(t, oda.SM2, icc.Alg)
				assert.Equal(t, oda.SM3, icc.HashAlg)
				assert.Nil(t, tm.get(t, 0x9F32))
				assert.Nil(t, tm.get(t, 0x9F47))
			} else {
				assert.Len(t, icc.Modulus, 1152/8)
				assert.Equal(t, []byte{0x03}, icc.Exponent)
				assert.Equal(t, []byte{0x03}, tm.get(t, 0x9F32))
				assert.NotEmpty(t, tm.get(t, 0x9F48), "1152-bit ICC key under a 1408-bit issuer has a remainder")
			}
			assert.Equal(t, unhex(t, "6222021000123456781F"), icc.PAN)

			r := send(t, c, apdu.InternalAuthenticate(un))
			require.Equal(t, apdu.SWSuccess, r.SW)
			sdad := find(t, r.Data, 0x80)
			num, err := oda.VerifySDAD(icc, sdad, un)
			require.NoError(t, err)
			assert.Len(t, num, 8)
			// Each signature has a fresh dynamic number.
			r2 := send(t, c, apdu.InternalAuthenticate(un))
			num2, err := oda.VerifySDAD(icc, find(t, r2.Data, 0x80), un)
			require.NoError(t, err)
			assert.NotEqual(t, num, num2)
			// The signature covers the terminal's number.
			_, err = oda.VerifySDAD(icc, sdad, []byte{0x11, 0x22, 0x33, 0x45})
			assert.Error(t, err)

			// The ICC certificate covers the signed record.
			bad := append([]byte(nil), tm.staticData...)
			bad[3] ^= 1
			_, err = oda.RecoverICCKey(oda.ICCCertInput{Issuer: recoverIssuer(t, tm), Cert: tm.get(t, 0x9F46),
				Remainder: tm.get(t, 0x9F48), Exponent: tm.get(t, 0x9F47), PAN: tm.get(t, 0x5A),
				StaticData: bad, Now: txnDate})
			assert.Error(t, err)
		})
	}
}

func TestInternalAuthenticateErrors(t *testing.T) {
	c := newDefault(t)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.InternalAuthenticate(un)).SW, "nothing selected")
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.InternalAuthenticate(un)).SW, "before GPO")
	require.Equal(t, apdu.SWSuccess, send(t, c, apdu.GetProcessingOptions(pdolData(t, true, 100, cny))).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.InternalAuthenticate(un[:3])).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.InternalAuthenticate(append(un, 0))).SW)
	assert.Equal(t, apdu.SWIncorrectP1P2, sendRaw(t, c, unhex(t, "00880100041122334400")).SW)
	assert.Equal(t, apdu.SWCLANotSupported, sendRaw(t, c, unhex(t, "80880000041122334400")).SW)
	assert.Equal(t, apdu.SWSuccess, send(t, c, apdu.InternalAuthenticate(un)).SW)
	assert.Equal(t, apdu.SW(0x6C00|0x93), sendRaw(t, c, unhex(t, "00880000041122334410")).SW, "Le too short")
	parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeARQC, cdol1Data(t, 100))))
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.InternalAuthenticate(un)).SW, "after GENERATE AC")

	for _, file := range []string{"no-oda.json", "sda.json"} {
		c := loadCard(t, file)
		require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
		assert.Equal(t, apdu.SWINSNotSupported, send(t, c, apdu.InternalAuthenticate(un)).SW, file)
	}
}

func TestCDA(t *testing.T) {
	for _, file := range []string{"cda.json", "sm2-cda.json"} {
		t.Run(file, func(t *testing.T) {
			p, err := LoadProfile("../testdata/cards/" + file)
			require.NoError(t, err)

			t.Run("offline TC", func(t *testing.T) {
				c, err := New(p)
				require.NoError(t, err)
				tm := readApplication(t, c, true, 1234)
				icc := recoverICC(t, tm)
				cdol := cdol1Data(t, 1234)
				r := send(t, c, apdu.GenerateAC(apdu.ACTypeTC|apdu.ACCDA, cdol))
				res, err := cdaVerify(t, icc, r, tm.pdolData, cdol, nil)
				require.NoError(t, err)
				assert.Equal(t, byte(0x40), res.CID)
				assert.Len(t, res.ICCDynamicNumber, 8)
				objs := parseTemplate77(t, r)
				iad := objs[3].Value
				assert.Equal(t, acFor(t, p, cdol, tm.aip, 1, iad[3:7]), res.Cryptogram)
				absentTag(t, r.Data, 0x9F26)
				assert.Equal(t, uint64(50000-1234), c.Balance(debitAID))

				// Any change to the response objects fails the hash.
				r.Data = bytes.Replace(r.Data, []byte{0x9F, 0x36, 0x02, 0x00, 0x01}, []byte{0x9F, 0x36, 0x02, 0x00, 0x02}, 1)
				_, err = cdaVerify(t, icc, r, tm.pdolData, cdol, nil)
				assert.ErrorIs(t, err, oda.ErrHash)
			})

			t.Run("online with second GENERATE AC", func(t *testing.T) {
				c, err := New(p)
				require.NoError(t, err)
				tm := readApplication(t, c, false, 100)
				icc := recoverICC(t, tm)
				cdol := cdol1Data(t, 100)
				r := send(t, c, apdu.GenerateAC(apdu.ACTypeARQC|apdu.ACCDA, cdol))
				res, err := cdaVerify(t, icc, r, tm.pdolData, cdol, nil)
				require.NoError(t, err)
				assert.Equal(t, byte(0x80), res.CID)

				ea := issuerAuthData(t, p, 1, res.Cryptogram, "00", true)
				require.Equal(t, apdu.SWSuccess, send(t, c, apdu.ExternalAuthenticate(ea)).SW)
				cdol2 := cdol2Data(t, "00", 100)
				r2 := send(t, c, apdu.GenerateAC(apdu.ACTypeTC|apdu.ACCDA, cdol2))
				res2, err := cdaVerify(t, icc, r2, tm.pdolData, cdol, cdol2)
				require.NoError(t, err)
				assert.Equal(t, byte(0x40), res2.CID)
				// Verifying as a first GENERATE AC (without CDOL2 data) fails.
				_, err = cdaVerify(t, icc, r2, tm.pdolData, cdol, []byte{})
				assert.ErrorIs(t, err, oda.ErrHash)
			})

			t.Run("AAC is not signed", func(t *testing.T) {
				c, err := New(p)
				require.NoError(t, err)
				readApplication(t, c, true, 100)
				r := send(t, c, apdu.GenerateAC(apdu.ACTypeAAC|apdu.ACCDA, cdol1Data(t, 100)))
				var tags []tlv.Tag
				for _, o := range parseTemplate77(t, r) {
					tags = append(tags, o.Tag)
				}
				assert.Equal(t, []tlv.Tag{0x9F27, 0x9F36, 0x9F26, 0x9F10}, tags)
				assert.Equal(t, []byte{0x00}, find(t, r.Data, 0x9F27))
			})

			t.Run("without CDA bit", func(t *testing.T) {
				c, err := New(p)
				require.NoError(t, err)
				readApplication(t, c, true, 100)
				r := send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, 100)))
				assert.Len(t, find(t, r.Data, 0x9F26), 8)
				absentTag(t, r.Data, 0x9F4B)
			})
		})
	}

	// A card not personalised for CDA refuses the CDA bit.
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
	assert.Equal(t, apdu.SWIncorrectP1P2, send(t, c, apdu.GenerateAC(apdu.ACTypeTC|apdu.ACCDA, cdol1Data(t, 100))).SW)
}

func absentTag(t *testing.T, b []byte, tag tlv.Tag) {
	t.Helper()
	_, ok, err := tlv.Find(b, tag)
	require.NoError(t, err)
	assert.False(t, ok, "tag %s present", tag)
}

func TestODAKeySizesAndCA(t *testing.T) {
	cases := []struct {
		name                 string
		ca                   string
		issuer, icc, iccExp  int
		wantIssuer, wantICC  int
		remainder92, rem9F48 bool
	}{
		{"issuer as long as the CA", "F1", 1984, 1984, 65537, 248, 248, true, true},
		{"CA F2 exponent 65537", "F2", 1408, 1024, 3, 176, 128, true, false},
		{"small keys", "F1", 1024, 1024, 3, 128, 128, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultProfile()
			a := &p.Applications[0]
			a.CAIndex, a.IssuerKeyBits, a.ICCKeyBits, a.ICCExponent = tc.ca, tc.issuer, tc.icc, tc.iccExp
			c, err := New(p)
			require.NoError(t, err)
			tm := readApplication(t, c, true, 100)
			assert.Equal(t, unhex(t, tc.ca), tm.get(t, 0x8F))
			icc := recoverICC(t, tm)
			assert.Len(t, icc.Modulus, tc.wantICC)
			assert.Equal(t, tc.remainder92, tm.get(t, 0x92) != nil)
			assert.Equal(t, tc.rem9F48, tm.get(t, 0x9F48) != nil)
			r := send(t, c, apdu.InternalAuthenticate(un))
			_, err = oda.VerifySDAD(icc, find(t, r.Data, 0x80), un)
			require.NoError(t, err)
		})
	}
}

func TestODAPersonalisationIsStable(t *testing.T) {
	// The same profile gives the same certificates; another PAN other keys.
	c1 := newDefault(t)
	c2 := newDefault(t)
	assert.Equal(t, c1.apps[0].odaRecords, c2.apps[0].odaRecords)

	c3 := loadCard(t, "no-ec.json")
	assert.NotEqual(t, c1.apps[0].odaRecords[0], c3.apps[0].odaRecords[0])
	tm := readApplication(t, c3, false, 100)
	recoverICC(t, tm)
}

func TestTwoAppsBothAuthenticate(t *testing.T) {
	c := loadCard(t, "two-apps.json")
	tm := readApplication(t, c, true, 100)
	recoverICC(t, tm)
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, creditAID).SW)
	r := send(t, c, apdu.GetProcessingOptions(pdolData(t, true, 100, cny)))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "3C00"), find(t, r.Data, 0x80)[:2])
}

func TestODAErrorsWrap(t *testing.T) {
	_, err := (TestCAKey{Index: 0x99, Alg: oda.RSA, Bits: 100, Exponent: 3, Seed: "x"}).KeyPair()
	assert.ErrorIs(t, err, pki.ErrKeySize)
	assert.Contains(t, err.Error(), "test CA 99")
}
