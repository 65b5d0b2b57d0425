// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/tlv"
)

func find(t *testing.T, b []byte, tag tlv.Tag) []byte {
	t.Helper()
	v, ok, err := tlv.Find(b, tag)
	require.NoError(t, err)
	require.True(t, ok, "tag %s not found in % X", tag, b)
	return v
}

func absent(t *testing.T, b []byte, tag tlv.Tag) {
	t.Helper()
	_, ok, err := tlv.Find(b, tag)
	require.NoError(t, err)
	assert.False(t, ok, "tag %s unexpectedly present", tag)
}

func TestSelectPSEAndDirectory(t *testing.T) {
	c := loadCard(t, "two-apps.json")
	r := send(t, c, apdu.Select([]byte("1PAY.SYS.DDF01")))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "6F1C840E315041592E5359532E4444463031A50A8801015F2D047A68656E"), r.Data)

	r = send(t, c, apdu.ReadRecord(1, 1))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "A000000333010102"), find(t, r.Data, 0x4F))
	assert.Equal(t, []byte("PBOC CREDIT"), find(t, r.Data, 0x50))
	assert.Equal(t, []byte{0x02}, find(t, r.Data, 0x87))
	assert.Equal(t, []byte("PBOC CREDIT"), find(t, r.Data, 0x9F12))
	assert.Equal(t, byte(0x70), r.Data[0])

	r = send(t, c, apdu.ReadRecord(1, 2))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, debitAID), find(t, r.Data, 0x4F))
	assert.Equal(t, []byte{0x01}, find(t, r.Data, 0x87))

	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(1, 3)).SW)
	assert.Equal(t, apdu.SWFileNotFound, send(t, c, apdu.ReadRecord(2, 1)).SW)
	// The PSE is not an application: no GPO, no GET DATA.
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GetProcessingOptions(pdolData(t, true, 1, cny))).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GetData(0x9F79)).SW)
}

func TestSelectPSEAbsent(t *testing.T) {
	c := loadCard(t, "no-pse.json")
	assert.Equal(t, apdu.SWFileNotFound, send(t, c, apdu.Select([]byte("1PAY.SYS.DDF01"))).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ReadRecord(1, 1)).SW)
	assert.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
}

func TestSelectADF(t *testing.T) {
	c := newDefault(t)
	r := selectAID(t, c, debitAID)
	require.Equal(t, apdu.SWSuccess, r.SW)
	fci := find(t, r.Data, 0x6F)
	assert.Equal(t, unhex(t, debitAID), find(t, fci, 0x84))
	prop := find(t, fci, 0xA5)
	assert.Equal(t, []byte("PBOC DEBIT"), find(t, prop, 0x50))
	assert.Equal(t, []byte{0x01}, find(t, prop, 0x87))
	assert.Equal(t, unhex(t, DefaultPDOL), find(t, prop, 0x9F38))
	assert.Equal(t, []byte("zhen"), find(t, prop, 0x5F2D))
	assert.Equal(t, []byte{0x01}, find(t, prop, 0x9F11))
	assert.Equal(t, []byte("PBOC DEBIT"), find(t, prop, 0x9F12))
	assert.Equal(t, []byte{0x0B, 0x0A}, find(t, find(t, prop, 0xBF0C), 0x9F4D))

	assert.Equal(t, apdu.SWFileNotFound, selectAID(t, c, "A000000333010199").SW)
	assert.Equal(t, apdu.SWFileNotFound, selectAID(t, c, "A00000033301010101").SW, "name longer than the AID")
	assert.Equal(t, apdu.SWFileNotFound, selectAID(t, c, "A000000004").SW)
}

func TestSelectPartialAndNext(t *testing.T) {
	c := loadCard(t, "two-apps.json")
	partial := unhex(t, "A0000003330101")

	r := send(t, c, apdu.Select(partial))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, creditAID), find(t, r.Data, 0x84), "first match in card order")

	r = send(t, c, apdu.SelectNext(partial))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, debitAID), find(t, r.Data, 0x84))

	assert.Equal(t, apdu.SWFileNotFound, send(t, c, apdu.SelectNext(partial)).SW)
	// The failed SELECT left the debit application selected.
	r = send(t, c, apdu.GetData(0x9F79))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "9F7906000000050000"), r.Data)

	// P2 00 starts again from the first.
	r = send(t, c, apdu.Select(partial))
	assert.Equal(t, unhex(t, creditAID), find(t, r.Data, 0x84))
	r = send(t, c, apdu.GetData(0x9F79))
	assert.Equal(t, unhex(t, "9F7906000000020000"), r.Data)

	// Full AID of the second application.
	r = selectAID(t, c, debitAID)
	assert.Equal(t, unhex(t, debitAID), find(t, r.Data, 0x84))

	// Bad parameters.
	assert.Equal(t, apdu.SWIncorrectP1P2, sendRaw(t, c, unhex(t, "00A40000020101")).SW)
	assert.Equal(t, apdu.SWIncorrectP1P2, sendRaw(t, c, unhex(t, "00A4040C07A000000333010100")).SW)
	assert.Equal(t, apdu.SWWrongLength, sendRaw(t, c, unhex(t, "00A4040000")).SW)
	assert.Equal(t, apdu.SWWrongLength, sendRaw(t, c, append(unhex(t, "00A4040011"), make([]byte, 17)...)).SW)
}

func TestGPOPathDecision(t *testing.T) {
	aflEC := unhex(t, "080101001001020118010300")
	aflNormal := unhex(t, "080101001001010118010300")
	cases := []struct {
		name     string
		card     string
		ec       bool
		amount   uint64
		currency []byte
		afl      []byte
	}{
		{"EC path", "default.json", true, 1000, cny, aflEC},
		{"amount equals single limit", "default.json", true, 30000, cny, aflEC},
		{"terminal without EC", "default.json", false, 1000, cny, aflNormal},
		{"over single limit", "default.json", true, 30001, cny, aflNormal},
		{"over balance", "low-balance.json", true, 501, cny, aflNormal},
		{"equals balance", "low-balance.json", true, 500, cny, aflEC},
		{"foreign currency", "default.json", true, 1000, []byte{0x08, 0x40}, aflNormal},
		{"card without EC", "no-ec.json", true, 1000, cny, aflNormal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := loadCard(t, tc.card)
			require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
			r := send(t, c, apdu.GetProcessingOptions(pdolData(t, tc.ec, tc.amount, tc.currency)))
			require.Equal(t, apdu.SWSuccess, r.SW)
			want := append([]byte{0x80, 0x0E, 0x3C, 0x00}, tc.afl...)
			assert.Equal(t, want, r.Data)

			// Every record named by the AFL is readable; 9F74 only on the EC path.
			var all []byte
			for i := 0; i < len(tc.afl); i += 4 {
				for rec := tc.afl[i+1]; rec <= tc.afl[i+2]; rec++ {
					rr := send(t, c, apdu.ReadRecord(tc.afl[i]>>3, rec))
					require.Equal(t, apdu.SWSuccess, rr.SW)
					all = append(all, rr.Data...)
				}
			}
			if bytes.Equal(tc.afl, aflEC) {
				assert.Equal(t, []byte("ECC001"), find(t, all, 0x9F74))
			} else {
				absent(t, all, 0x9F74)
				assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(2, 2)).SW)
			}
		})
	}
}

func TestRecords(t *testing.T) {
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
	r := send(t, c, apdu.ReadRecord(1, 1))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "6222021000123456781D35122200000F"), find(t, r.Data, 0x57))
	assert.Equal(t, []byte("ZHANG/SAN"), find(t, r.Data, 0x5F20))

	r = send(t, c, apdu.ReadRecord(2, 1))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "6222021000123456781F"), find(t, r.Data, 0x5A))
	assert.Equal(t, []byte{0x01}, find(t, r.Data, 0x5F34))
	assert.Equal(t, unhex(t, "351231"), find(t, r.Data, 0x5F24))
	assert.Equal(t, unhex(t, "240101"), find(t, r.Data, 0x5F25))
	assert.Equal(t, cny, find(t, r.Data, 0x5F28))
	assert.Equal(t, cny, find(t, r.Data, 0x9F42))
	assert.Equal(t, unhex(t, "FF00"), find(t, r.Data, 0x9F07))
	assert.Equal(t, unhex(t, ECCVMList("300.00")), find(t, r.Data, 0x8E))
	assert.Equal(t, unhex(t, DefaultCDOL1), find(t, r.Data, 0x8C))
	assert.Equal(t, unhex(t, DefaultCDOL2), find(t, r.Data, 0x8D))
	assert.Equal(t, unhex(t, "0030"), find(t, r.Data, 0x9F08))
	for _, tag := range []tlv.Tag{0x9F0D, 0x9F0E, 0x9F0F} {
		assert.Len(t, find(t, r.Data, tag), 5)
	}

	// Other files and bad parameters.
	assert.Equal(t, apdu.SWFileNotFound, send(t, c, apdu.ReadRecord(5, 1)).SW)
	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(3, 4)).SW)
	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(1, 2)).SW)
	assert.Equal(t, apdu.SWIncorrectP1P2, sendRaw(t, c, unhex(t, "00B2000C00")).SW, "record 0")
	assert.Equal(t, apdu.SWIncorrectP1P2, sendRaw(t, c, unhex(t, "00B2010800")).SW, "P2 not SFI mode")
	assert.Equal(t, apdu.SWCLANotSupported, sendRaw(t, c, unhex(t, "80B2010C00")).SW)
	// A Le shorter than the record asks for the exact length.
	r = sendRaw(t, c, unhex(t, "00B2010C10"))
	assert.Equal(t, apdu.SW(0x6C00|uint16(len(c.apps[0].recTrack))), r.SW)
}

func TestExtraData(t *testing.T) {
	p := DefaultProfile()
	p.Applications[0].Extra = map[string]string{"9F63": "0102030405060708", "5F30": "0201"}
	c, err := New(p)
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1).SW)
	r := send(t, c, apdu.ReadRecord(2, 1))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "0102030405060708"), find(t, r.Data, 0x9F63))
	assert.Equal(t, unhex(t, "0201"), find(t, r.Data, 0x5F30))
}

func TestGPOErrors(t *testing.T) {
	c := newDefault(t)
	gpo := apdu.GetProcessingOptions(pdolData(t, true, 100, cny))

	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, gpo).SW, "nothing selected")
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.GetProcessingOptions(make([]byte, 8))).SW, "PDOL data too short")
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.GetProcessingOptions(make([]byte, 10))).SW, "PDOL data too long")
	assert.Equal(t, apdu.SWWrongLength, sendRaw(t, c, unhex(t, "80A800000383090100")).SW, "83 length beyond data")
	assert.Equal(t, apdu.SWWrongData, sendRaw(t, c, append(unhex(t, "80A800000B8409"), pdolData(t, true, 1, cny)...)).SW, "not tag 83")
	assert.Equal(t, apdu.SWIncorrectP1P2, sendRaw(t, c, append(unhex(t, "80A801000B8309"), pdolData(t, true, 1, cny)...)).SW)
	assert.Equal(t, apdu.SWCLANotSupported, sendRaw(t, c, append(unhex(t, "00A800000B8309"), pdolData(t, true, 1, cny)...)).SW)
	assert.Equal(t, uint16(0), c.ATC(debitAID), "refused GPOs do not count")

	require.Equal(t, apdu.SWSuccess, send(t, c, gpo).SW)
	assert.Equal(t, uint16(1), c.ATC(debitAID))
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, gpo).SW, "GPO twice")
	assert.Equal(t, uint16(1), c.ATC(debitAID))

	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	require.Equal(t, apdu.SWSuccess, send(t, c, gpo).SW, "a new SELECT allows a new GPO")
	assert.Equal(t, uint16(2), c.ATC(debitAID))
	r := send(t, c, apdu.GetData(0x9F36))
	assert.Equal(t, unhex(t, "9F36020002"), r.Data)
}

func TestGPOWithoutPDOL(t *testing.T) {
	p := DefaultProfile()
	empty := ""
	p.Applications[0].PDOL = &empty
	c, err := New(p)
	require.NoError(t, err)
	r := selectAID(t, c, debitAID)
	absent(t, r.Data, 0x9F38)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.GetProcessingOptions([]byte{1})).SW)
	r = send(t, c, apdu.GetProcessingOptions(nil))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "800E3C00080101001001010118010300"), r.Data, "no 9F7A: normal path")
}

func TestATCExhausted(t *testing.T) {
	p := DefaultProfile()
	p.Applications[0].ATC = 0xFFFF
	c, err := New(p)
	require.NoError(t, err)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, purchaseToGPO(t, c, true, 1).SW)
	assert.Equal(t, uint16(0xFFFF), c.ATC(debitAID))
}

func TestGetData(t *testing.T) {
	c := newDefault(t)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GetData(0x9F79)).SW, "nothing selected")
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	want := map[uint16]string{
		0x9F79: "9F7906000000050000",
		0x9F77: "9F7706000000100000",
		0x9F78: "9F7806000000030000",
		0x9F6D: "9F6D06000000000100",
		0x9F36: "9F36020000",
		0x9F13: "9F13020000",
		0x9F4F: "9F4F19" + DefaultLogFormat,
		0x9F17: "9F170103",
	}
	for tag, v := range want {
		r := send(t, c, apdu.GetData(tag))
		require.Equal(t, apdu.SWSuccess, r.SW, "%04X", tag)
		assert.Equal(t, unhex(t, v), r.Data, "%04X", tag)
	}
	assert.Equal(t, apdu.SWRefDataNotFound, send(t, c, apdu.GetData(0x9F51)).SW)
	assert.Equal(t, apdu.SWRefDataNotFound, send(t, c, apdu.GetData(0x0000)).SW)
	assert.Equal(t, apdu.SWWrongLength, sendRaw(t, c, unhex(t, "80CA9F79020000")).SW, "data in GET DATA")
	assert.Equal(t, apdu.SWCLANotSupported, sendRaw(t, c, unhex(t, "00CA9F7900")).SW)
	assert.Equal(t, apdu.SW(0x6C09), sendRaw(t, c, unhex(t, "80CA9F7905")).SW, "Le too short")

	noEC := loadCard(t, "no-ec.json")
	require.Equal(t, apdu.SWSuccess, selectAID(t, noEC, debitAID).SW)
	for _, tag := range []uint16{0x9F79, 0x9F77, 0x9F78, 0x9F6D} {
		assert.Equal(t, apdu.SWRefDataNotFound, send(t, noEC, apdu.GetData(tag)).SW, "%04X", tag)
	}
	assert.Equal(t, apdu.SWSuccess, send(t, noEC, apdu.GetData(0x9F36)).SW)
}

// genAC is a parsed format-1 GENERATE AC response.
type genAC struct {
	cid byte
	atc []byte
	ac  []byte
	iad []byte
}

func parseGenAC(t *testing.T, r apdu.Response) genAC {
	t.Helper()
	require.Equal(t, apdu.SWSuccess, r.SW)
	v := find(t, r.Data, 0x80)
	require.GreaterOrEqual(t, len(v), 11+8)
	return genAC{cid: v[0], atc: v[1:3], ac: v[3:11], iad: v[11:]}
}

// expectedAC recomputes the cryptogram from first principles: the card keys
// derived from the profile's issuer master keys, the ATC session key and
// the PBOC data set written out by hand.
func expectedAC(t *testing.T, p *Profile, cdol []byte, atc uint16, cvr []byte) []byte {
	t.Helper()
	a := p.Applications[0]
	imk := keys.IssuerKeys{AC: unhex(t, a.Keys.IMKAC), SMI: unhex(t, a.Keys.IMKSMI), SMC: unhex(t, a.Keys.IMKSMC)}
	ck, err := imk.Derive(keys.TDES, a.PAN, byte(a.PANSequence))
	require.NoError(t, err)
	sk, err := keys.SessionKey(keys.TDES, ck.AC, atc)
	require.NoError(t, err)
	// CDOL1 layout: 9F02(0:6) 9F03(6:12) 9F1A(12:14) 95(14:19) 5F2A(19:21) 9A(21:24) 9C(24) 9F37(25:29)
	var data []byte
	data = append(data, cdol[0:29]...)
	data = append(data, unhex(t, a.AIP)...)
	data = append(data, byte(atc>>8), byte(atc))
	data = append(data, cvr...)
	require.Len(t, data, 37)
	ac, err := keys.Cryptogram(keys.TDES, sk, data)
	require.NoError(t, err)
	return ac
}

func TestGenerateACOfflineTC(t *testing.T) {
	p := DefaultProfile()
	c, err := New(p)
	require.NoError(t, err)
	const amount = 12345 // 123.45
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, amount).SW)
	cdol := cdol1Data(t, amount)
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)))

	assert.Equal(t, byte(0x40), g.cid)
	assert.Equal(t, []byte{0x00, 0x01}, g.atc)
	require.Len(t, g.iad, 19)
	cvr := []byte{0x03, 0x90, 0x00, 0x00} // 2nd GENAC not requested, TC in 1st
	assert.Equal(t, append(append([]byte{0x07, 0x01, 0x01}, cvr...), 0x01), g.iad[:8])
	assert.Equal(t, []byte{0x0A, 0x01}, g.iad[8:10])
	newBalance := unhex(t, "0000037655") // 500.00 - 123.45 = 376.55
	assert.Equal(t, newBalance, g.iad[10:15])

	a := p.Applications[0]
	imk := keys.IssuerKeys{AC: unhex(t, a.Keys.IMKAC), SMI: unhex(t, a.Keys.IMKSMI), SMC: unhex(t, a.Keys.IMKSMC)}
	ck, err := imk.Derive(keys.TDES, a.PAN, byte(a.PANSequence))
	require.NoError(t, err)
	smi, err := keys.SessionKey(keys.TDES, ck.SMI, 1)
	require.NoError(t, err)
	mac, err := keys.ScriptMAC(keys.TDES, smi, newBalance)
	require.NoError(t, err)
	assert.Equal(t, mac, g.iad[15:19])
	assert.Equal(t, expectedAC(t, p, cdol, 1, cvr), g.ac)

	assert.Equal(t, uint64(37655), c.Balance(debitAID))
	assert.Equal(t, unhex(t, "9F7906000000037655"), send(t, c, apdu.GetData(0x9F79)).Data)

	// The transaction is over: no second deduction, whatever is sent.
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", amount))).SW)
	assert.Equal(t, uint64(37655), c.Balance(debitAID))

	// A log record was written from the CDOL1 data.
	logs := c.Log(debitAID)
	require.Len(t, logs, 1)
	var want []byte
	want = append(want, date...)
	want = append(want, tm...)
	want = append(want, n12(t, amount)...)
	want = append(want, n12(t, 0)...)
	want = append(want, cny...)
	want = append(want, cny...)
	want = append(want, merchant()...)
	want = append(want, txType...)
	want = append(want, 0x00, 0x01)
	assert.Equal(t, want, logs[0])
	r := send(t, c, apdu.ReadRecord(11, 1))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, want, r.Data)
	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(11, 2)).SW)

	// A TC for a different terminal or CDOL value breaks the cryptogram.
	assert.NotEqual(t, expectedAC(t, p, cdol1Data(t, amount+1), 1, cvr), g.ac)
}

func TestGenerateACOnline(t *testing.T) {
	p := DefaultProfile()
	c, err := New(p)
	require.NoError(t, err)
	// EC path refused by the terminal (9F7A = 00): a TC request gets an ARQC.
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 1000).SW)
	cdol := cdol1Data(t, 1000)
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)))
	assert.Equal(t, byte(0x80), g.cid)
	cvr := []byte{0x03, 0xA0, 0x00, 0x00}
	require.Len(t, g.iad, 19)
	assert.Equal(t, unhex(t, "07010103A0000001"), g.iad[:8])
	assert.Equal(t, unhex(t, "0A010000050000"), g.iad[8:15], "the IDD carries the EC balance the card holds, MACed")
	assert.Equal(t, expectedAC(t, p, cdol, 1, cvr), g.ac)
	assert.Equal(t, uint64(50000), c.Balance(debitAID), "ARQC does not deduct")
	assert.Empty(t, c.Log(debitAID))

	// Second GENERATE AC: issuer approved.
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)).SW, "CDOL1 data in 2nd GENAC")
	g2 := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", 1000))))
	assert.Equal(t, byte(0x40), g2.cid)
	assert.Equal(t, []byte{0x03, 0x60, 0x00, 0x00}, g2.iad[3:7], "TC in 2nd, ARQC in 1st")
	assert.Len(t, g2.iad, 19)
	assert.Equal(t, unhex(t, "0A010000050000"), g2.iad[8:15], "the balance after the second GENERATE AC")
	assert.Equal(t, uint64(50000), c.Balance(debitAID), "online approval does not touch EC")
	assert.Len(t, c.Log(debitAID), 1)
	assert.Equal(t, unhex(t, "9F13020001"), send(t, c, apdu.GetData(0x9F13)).Data)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", 1000))).SW)
}

func TestGenerateACSecondDeclines(t *testing.T) {
	cases := []struct {
		name  string
		arc   string
		p1    byte
		cvr1  byte
		lastO string
	}{
		{"issuer declined", "05", apdu.ACTypeTC, 0x20, "9F13020001"},
		{"terminal asks AAC", "00", apdu.ACTypeAAC, 0x20, "9F13020001"},
		{"ARQC is not a second answer", "00", apdu.ACTypeARQC, 0x20, "9F13020001"},
		{"unable to go online", "Z3", apdu.ACTypeTC, 0x21, "9F13020000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newDefault(t)
			require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
			g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeARQC, cdol1Data(t, 100))))
			require.Equal(t, byte(0x80), g.cid, "ARQC asked on the EC path stays ARQC")
			g2 := parseGenAC(t, send(t, c, apdu.GenerateAC(tc.p1, cdol2Data(t, tc.arc, 100))))
			assert.Equal(t, byte(0x00), g2.cid)
			assert.Equal(t, tc.cvr1, g2.iad[4])
			assert.Equal(t, uint64(50000), c.Balance(debitAID))
			assert.Empty(t, c.Log(debitAID))
			assert.Equal(t, unhex(t, tc.lastO), send(t, c, apdu.GetData(0x9F13)).Data)
		})
	}
}

func TestGenerateACFirstDecisions(t *testing.T) {
	cases := []struct {
		name   string
		card   string
		ecGPO  bool
		gpoAmt uint64
		p1     byte
		amount uint64
		cid    byte
		debit  uint64
	}{
		{"AAC asked", "default.json", true, 100, apdu.ACTypeAAC, 100, 0x00, 0},
		{"TC on EC path", "default.json", true, 100, apdu.ACTypeTC, 100, 0x40, 100},
		{"ARQC asked on EC path", "default.json", true, 100, apdu.ACTypeARQC, 100, 0x80, 0},
		{"TC but CDOL amount over single limit", "default.json", true, 100, apdu.ACTypeTC, 30001, 0x80, 0},
		{"TC on normal path", "default.json", true, 40000, apdu.ACTypeTC, 100, 0x80, 0},
		{"TC without EC", "no-ec.json", true, 100, apdu.ACTypeTC, 100, 0x80, 0},
		{"TC whole balance", "low-balance.json", true, 500, apdu.ACTypeTC, 500, 0x40, 500},
		{"TC over balance", "low-balance.json", true, 500, apdu.ACTypeTC, 501, 0x80, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := loadCard(t, tc.card)
			before := c.Balance(debitAID)
			require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, tc.ecGPO, tc.gpoAmt).SW)
			g := parseGenAC(t, send(t, c, apdu.GenerateAC(tc.p1, cdol1Data(t, tc.amount))))
			assert.Equal(t, tc.cid, g.cid)
			assert.Equal(t, before-tc.debit, c.Balance(debitAID))
		})
	}
}

func TestGenerateACErrors(t *testing.T) {
	c := newDefault(t)
	cdol := cdol1Data(t, 100)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)).SW, "nothing selected")
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)).SW, "before GPO")
	require.Equal(t, apdu.SWSuccess, send(t, c, apdu.GetProcessingOptions(pdolData(t, true, 100, cny))).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol[:len(cdol)-1])).SW)
	assert.Equal(t, apdu.SWWrongLength, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, append(cdol, 0))).SW)
	assert.Equal(t, apdu.SWIncorrectP1P2, send(t, c, apdu.GenerateAC(apdu.ACTypeTC|apdu.ACCDA, cdol)).SW, "no CDA")
	assert.Equal(t, apdu.SWIncorrectP1P2, send(t, c, apdu.GenerateAC(0xC0, cdol)).SW, "RFU type")
	assert.Equal(t, apdu.SWIncorrectP1P2, send(t, c, apdu.GenerateAC(0x41, cdol)).SW, "RFU bit")
	assert.Equal(t, uint64(50000), c.Balance(debitAID))
	// Still usable after the refusals.
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)))
	assert.Equal(t, byte(0x40), g.cid)
}

func TestGenerateACFormat2(t *testing.T) {
	p := DefaultProfile()
	p.Applications[0].GenACFormat = 2
	c, err := New(p)
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
	cdol := cdol1Data(t, 100)
	r := send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol))
	require.Equal(t, apdu.SWSuccess, r.SW)
	tmpl := find(t, r.Data, 0x77)
	assert.Equal(t, []byte{0x40}, find(t, tmpl, 0x9F27))
	assert.Equal(t, []byte{0x00, 0x01}, find(t, tmpl, 0x9F36))
	iad := find(t, tmpl, 0x9F10)
	assert.Len(t, iad, 19)
	assert.Equal(t, expectedAC(t, p, cdol, 1, iad[3:7]), find(t, tmpl, 0x9F26))
}

func TestGenerateACSM4(t *testing.T) {
	p := DefaultProfile()
	p.Applications[0].KeyAlg = "sm4"
	c, err := New(p)
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
	cdol := cdol1Data(t, 100)
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)))
	assert.Equal(t, byte(0x04), g.iad[7], "algorithm SM4")

	a := p.Applications[0]
	imk := keys.IssuerKeys{AC: unhex(t, a.Keys.IMKAC), SMI: unhex(t, a.Keys.IMKSMI), SMC: unhex(t, a.Keys.IMKSMC)}
	ck, err := imk.Derive(keys.SM4, a.PAN, byte(a.PANSequence))
	require.NoError(t, err)
	sk, err := keys.SessionKey(keys.SM4, ck.AC, 1)
	require.NoError(t, err)
	data := append(append(append([]byte(nil), cdol[:29]...), 0x3C, 0x00, 0x00, 0x01), g.iad[3:7]...)
	want, err := keys.Cryptogram(keys.SM4, sk, data)
	require.NoError(t, err)
	assert.Equal(t, want, g.ac)
}

func TestLogNewestFirstMaxTen(t *testing.T) {
	c := newDefault(t)
	for i := 1; i <= 12; i++ {
		require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, uint64(i)).SW)
		g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, uint64(i)))))
		require.Equal(t, byte(0x40), g.cid)
	}
	assert.Equal(t, uint64(50000-78), c.Balance(debitAID)) // 1+2+...+12
	logs := c.Log(debitAID)
	require.Len(t, logs, 10)
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	for n := 1; n <= 10; n++ {
		r := send(t, c, apdu.ReadRecord(11, byte(n)))
		require.Equal(t, apdu.SWSuccess, r.SW)
		assert.Equal(t, logs[n-1], r.Data)
		atc := 13 - n // record 1 is the newest (ATC 12)
		assert.Equal(t, []byte{0, byte(atc)}, r.Data[43:45])
		assert.Equal(t, n12(t, uint64(atc)), r.Data[6:12], "amount of transaction %d", atc)
	}
	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(11, 11)).SW)

	// Log() returns copies.
	logs[0][0] ^= 0xFF
	assert.NotEqual(t, logs[0], c.Log(debitAID)[0])
}

func TestSnapshotRoundTrip(t *testing.T) {
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 2500).SW)
	require.Equal(t, byte(0x40), parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, 2500)))).cid)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, false, 100).SW)
	require.Equal(t, byte(0x80), parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeARQC, cdol1Data(t, 100)))).cid)
	require.Equal(t, byte(0x40), parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol2Data(t, "00", 100)))).cid)

	snap := c.Snapshot()
	assert.Equal(t, "475.00", snap.Applications[0].EC.Balance)
	assert.Equal(t, 2, snap.Applications[0].ATC)
	assert.Equal(t, 2, snap.Applications[0].LastOnlineATC)
	assert.Len(t, snap.Applications[0].Log, 2)

	b, err := snap.Marshal()
	require.NoError(t, err)
	p, err := ParseProfile(b)
	require.NoError(t, err)
	c2, err := New(p)
	require.NoError(t, err)
	assert.Equal(t, uint64(47500), c2.Balance(debitAID))
	assert.Equal(t, uint16(2), c2.ATC(debitAID))
	assert.Equal(t, c.Log(debitAID), c2.Log(debitAID))

	// The restored card continues: next ATC is 3.
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c2, true, 100).SW)
	assert.Equal(t, unhex(t, "9F36020003"), send(t, c2, apdu.GetData(0x9F36)).Data)
	assert.Equal(t, unhex(t, "9F13020002"), send(t, c2, apdu.GetData(0x9F13)).Data)

	// The snapshot is a copy: changing it does not change the card.
	snap.Applications[0].EC.Balance = "0.00"
	assert.Equal(t, uint64(47500), c.Balance(debitAID))
}

func TestReset(t *testing.T) {
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, c, true, 100).SW)
	c.Reset()
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, 100))).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ReadRecord(11, 1)).SW)
	assert.Equal(t, uint16(1), c.ATC(debitAID), "counters survive a power cycle")
}

func TestCommandClassAndOrder(t *testing.T) {
	c := newDefault(t)
	cases := []struct {
		name string
		apdu string
		sw   apdu.SW
	}{
		{"malformed: Lc beyond data", "00A4040005A000", apdu.SWWrongLength},
		{"SELECT without name", "00A404000A", apdu.SWWrongLength},
		{"malformed: 3 bytes", "00A404", apdu.SWWrongLength},
		{"empty", "", apdu.SWWrongLength},
		{"CLA FF", "FFA4040000", apdu.SWCLANotSupported},
		{"CLA 90", "90CA9F7900", apdu.SWCLANotSupported},
		{"unknown INS", "00C0000000", apdu.SWINSNotSupported},
		{"unknown INS with 84", "841E000000", apdu.SWINSNotSupported},
		{"READ RECORD before anything", "00B2010C00", apdu.SWConditionsNotSatisfied},
		{"GET DATA before anything", "80CA9F3600", apdu.SWConditionsNotSatisfied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.sw, sendRaw(t, c, unhex(t, tc.apdu)).SW)
		})
	}
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, c, apdu.ReadRecord(1, 1)).SW, "records before GPO")
	assert.Equal(t, apdu.SWRecordNotFound, send(t, c, apdu.ReadRecord(11, 1)).SW, "log readable before GPO, empty")
}

func TestTransmitContext(t *testing.T) {
	c := newDefault(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Transmit(ctx, apdu.Select(unhex(t, debitAID)).Bytes())
	assert.ErrorIs(t, err, context.Canceled)
	//lint:ignore SA1012 a nil context must not panic either
	out, err := c.Transmit(nil, apdu.Select(unhex(t, debitAID)).Bytes())
	require.NoError(t, err)
	assert.Equal(t, []byte{0x90, 0x00}, out[len(out)-2:])
}

func TestUnknownAIDAccessors(t *testing.T) {
	c := newDefault(t)
	assert.Zero(t, c.Balance("A0000000031010"))
	assert.Zero(t, c.ATC("zz"))
	assert.Nil(t, c.Log("A0000000031010"))
	assert.Equal(t, uint64(50000), c.Balance("a000000333010101"), "AID case does not matter")
}

func TestConcurrentPurchases(t *testing.T) {
	// Separate cards in parallel, and one card shared by goroutines whose
	// APDUs interleave: neither may corrupt state or race.
	shared := newDefault(t)
	sel := apdu.Select(unhex(t, debitAID)).Bytes()
	gpo := apdu.GetProcessingOptions(pdolData(t, true, 1, cny)).Bytes()
	gac := apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, 1)).Bytes()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				_, _ = shared.Transmit(context.Background(), sel)
				_, _ = shared.Transmit(context.Background(), gpo)
				_, _ = shared.Transmit(context.Background(), gac)
				_ = shared.Balance(debitAID)
				_ = shared.Snapshot()
			}
		}()
	}
	wg.Wait()
	spent := uint64(50000) - shared.Balance(debitAID)
	// Every TC deducted exactly 1 fen and the log holds at most 10 of them.
	assert.LessOrEqual(t, spent, uint64(shared.ATC(debitAID)))
	assert.LessOrEqual(t, len(shared.Log(debitAID)), MaxLogEntries)
	if spent > 0 {
		assert.NotEmpty(t, shared.Log(debitAID))
	}
}

func TestGPOHostileAmount(t *testing.T) {
	c := newDefault(t)
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	// 9F02 that is not BCD: no EC path, and no TC later.
	bad := append(append([]byte{0x01}, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), cny...)
	r := send(t, c, apdu.GetProcessingOptions(bad))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "800E3C00080101001001010118010300"), r.Data)
	cdol := cdol1Data(t, 1)
	copy(cdol, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	g := parseGenAC(t, send(t, c, apdu.GenerateAC(apdu.ACTypeTC, cdol)))
	assert.Equal(t, byte(0x80), g.cid)
	assert.Equal(t, uint64(50000), c.Balance(debitAID))

	// A PDOL without an amount never gives the EC path.
	p := DefaultProfile()
	pdol := "9F7A01"
	p.Applications[0].PDOL = &pdol
	c, err := New(p)
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, selectAID(t, c, debitAID).SW)
	r = send(t, c, apdu.GetProcessingOptions([]byte{0x01}))
	require.Equal(t, apdu.SWSuccess, r.SW)
	assert.Equal(t, unhex(t, "800E3C00080101001001010118010300"), r.Data)
}
