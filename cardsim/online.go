// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"encoding/hex"
	"errors"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/tlv"
)

// swSMDataIncorrect (6988) answers an issuer script whose MAC is wrong.
const swSMDataIncorrect apdu.SW = 0x6988

// issuerAuthDataLen is the length of the issuer authentication data of
// EXTERNAL AUTHENTICATE and tag 91: ARPC (8) ‖ ARC (2).
const issuerAuthDataLen = 10

// Load log format (DF4F) and its parsed form.
var (
	loadLogFormatRaw = mustHex(DefaultLoadLogFormat)
	loadLogFormat    = mustDOL(loadLogFormatRaw)
	ddolLen          = mustDOL(ddol).Len()
)

// mustHex decodes a hex constant of the package.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic("cardsim: bad hex constant " + s)
	}
	return b
}

// mustDOL parses a DOL constant of the package.
func mustDOL(b []byte) tlv.DOL {
	d, err := tlv.ParseDOL(b)
	if err != nil {
		panic("cardsim: bad DOL constant: " + err.Error())
	}
	return d
}

// loadLogRecordLen is the length of a load log record: P1 ‖ P2 ‖ balance
// before ‖ balance after ‖ load log format data.
func loadLogRecordLen() int { return 2 + 6 + 6 + loadLogFormat.Len() }

// internalAuthenticate implements INTERNAL AUTHENTICATE for DDA: after GPO
// and before the first GENERATE AC, with exactly DDOL-long data, it answers
// 80[signed dynamic application data].
func (c *Card) internalAuthenticate(cmd apdu.Command) apdu.Response {
	if c.s.app < 0 {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a := c.apps[c.s.app]
	if a.oda != odaDDA && a.oda != odaCDA {
		return sw(apdu.SWINSNotSupported)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.s.phase != phaseGPO {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if len(cmd.Data) != ddolLen {
		return sw(apdu.SWWrongLength)
	}
	sdad, err := pki.SignDynamicData(a.icc, a.dynamicNumber(), cmd.Data)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	return apdu.Response{Data: tlv.Append(nil, tagRespFormat1, sdad), SW: apdu.SWSuccess}
}

// externalAuthenticate implements EXTERNAL AUTHENTICATE: once per
// transaction, between a first GENERATE AC that returned an ARQC and the
// second GENERATE AC. A wrong ARPC answers 6300 and makes the second
// GENERATE AC decline.
func (c *Card) externalAuthenticate(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.s.app < 0 || c.s.phase != phaseARQC || c.s.issuerAuth != issuerAuthNone {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if len(cmd.Data) != issuerAuthDataLen {
		return sw(apdu.SWWrongLength)
	}
	a := c.apps[c.s.app]
	c.s.issuerAuth = a.checkIssuerAuth(c.s.arqc, cmd.Data)
	if c.s.issuerAuth != issuerAuthOK {
		return sw(apdu.SWVerifyFailed)
	}
	return sw(apdu.SWSuccess)
}

// checkIssuerAuth verifies issuer authentication data ARPC (8) ‖ ARC (2)
// against the ARQC, in constant time, and returns issuerAuthOK or
// issuerAuthFailed.
func (a *app) checkIssuerAuth(arqc, data []byte) int {
	if len(data) != issuerAuthDataLen || len(arqc) != 8 {
		return issuerAuthFailed
	}
	sk, err := keys.SessionKey(a.alg, a.cardKeys.AC, a.atc)
	if err != nil {
		return issuerAuthFailed
	}
	want, err := keys.ARPC(a.alg, sk, arqc, data[8:])
	if err != nil || !keys.Equal(want, data[:8]) {
		return issuerAuthFailed
	}
	return issuerAuthOK
}

// putData implements the issuer script command PUT DATA with secure
// messaging (CLA 04) for the EC data 9F79, 9F77, 9F78 and 9F6D.
func (c *Card) putData(cmd apdu.Command) apdu.Response {
	switch cmd.CLA {
	case 0x04:
	case 0x00, 0x80:
		// Without a MAC the card never changes its data.
		return sw(apdu.SWSecurityNotSatisfied)
	default:
		return sw(apdu.SWCLANotSupported)
	}
	if c.s.app < 0 || c.s.arqc == nil {
		// Scripts only follow an online request of this transaction.
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a := c.apps[c.s.app]
	tag := tlv.Tag(uint32(cmd.P1)<<8 | uint32(cmd.P2))
	pur := &a.ecPurse
	switch tag {
	case tagECBalance, tagECLimit, tagECSingle, tagECThreshold:
	case tagEC2Balance, tagEC2Limit, tagEC2Single, tagEC2Threshold:
		if pur = a.second; pur == nil {
			return sw(apdu.SWRefDataNotFound)
		}
	default:
		return sw(apdu.SWRefDataNotFound)
	}
	if !a.ecEnabled {
		return sw(apdu.SWRefDataNotFound)
	}
	if len(cmd.Data) < keys.ScriptMACLen || len(cmd.Data) > apdu.MaxData {
		return sw(apdu.SWWrongLength)
	}
	raw := make([]byte, 0, 5+len(cmd.Data))
	raw = append(raw, cmd.CLA, cmd.INS, cmd.P1, cmd.P2, byte(len(cmd.Data)))
	raw = append(raw, cmd.Data...)
	sk, err := keys.SessionKey(a.alg, a.cardKeys.SMI, a.atc)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	atc := []byte{byte(a.atc >> 8), byte(a.atc)}
	_, value, err := keys.VerifyECUpdateScript(a.alg, sk, raw, atc, c.s.arqc)
	switch {
	case errors.Is(err, keys.ErrMAC):
		return sw(swSMDataIncorrect)
	case err != nil:
		return sw(apdu.SWWrongLength)
	}
	if len(value) != 6 {
		return sw(apdu.SWWrongData)
	}
	v, err := bcd.Decode(value)
	if err != nil {
		return sw(apdu.SWWrongData)
	}
	switch tag {
	case tagECBalance, tagEC2Balance:
		if v > pur.limit {
			return sw(apdu.SWWrongData)
		}
		before := pur.balance
		pur.balance = v
		if v != before {
			a.addLoadLog(cmd.P1, cmd.P2, before, v, c.s.cdol1)
		}
	case tagECLimit, tagEC2Limit:
		if v < pur.balance {
			return sw(apdu.SWWrongData)
		}
		pur.limit = v
	case tagECSingle, tagEC2Single:
		pur.single = v
	case tagECThreshold, tagEC2Threshold:
		pur.threshold = v
	}
	return sw(apdu.SWSuccess)
}

// addLoadLog records a balance update in the load log (SFI 12), newest
// first, keeping at most MaxLogEntries records: P1 ‖ P2 ‖ balance before ‖
// balance after ‖ DF4F data (date, time, country and merchant name from the
// CDOL1 data of the transaction, and the ATC).
func (a *app) addLoadLog(p1, p2 byte, before, after uint64, d map[tlv.Tag][]byte) {
	rec := make([]byte, 0, loadLogRecordLen())
	rec = append(rec, p1, p2)
	rec = append(rec, bcdN(before, 6)...)
	rec = append(rec, bcdN(after, 6)...)
	for _, e := range loadLogFormat {
		var v []byte
		if e.Tag == tagATC {
			v = []byte{byte(a.atc >> 8), byte(a.atc)}
		} else {
			v = d[e.Tag]
		}
		var format tlv.Format
		if info, ok := tlv.Lookup(e.Tag); ok {
			format = info.Format
		}
		rec = tlv.Fit(rec, v, e.Len, format)
	}
	a.loadLog = append([][]byte{rec}, a.loadLog...)
	if len(a.loadLog) > MaxLogEntries {
		a.loadLog = a.loadLog[:MaxLogEntries]
	}
}
