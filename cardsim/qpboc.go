// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/tlv"
)

// Contactless (qPBOC) tags and constants.
const (
	tagAFL         tlv.Tag = 0x94
	tagTTQ         tlv.Tag = 0x9F66
	tagCTQ         tlv.Tag = 0x9F6C
	tagCardAuth    tlv.Tag = 0x9F69
	tagOfflineAmt  tlv.Tag = 0x9F5D
	ppseName               = "2PAY.SYS.DDF01"
	fddaSFI                = 4    // SFI of the record that carries a long fDDA signature
	cvnQPBOC       byte    = 0x17 // cryptogram version number of qPBOC (9F10 byte 3)
	swUseContact   apdu.SW = 0x6984
	ttqQPBOC       byte    = 0x20 // TTQ byte 1: qPBOC supported
	ttqContact     byte    = 0x10 // TTQ byte 1: contact PBOC supported
	ttqOfflineOnly byte    = 0x08 // TTQ byte 1: offline-only reader
	ttqOnlinePIN   byte    = 0x04 // TTQ byte 1: online PIN supported
	ttqOnlineAC    byte    = 0x80 // TTQ byte 2: online cryptogram required
	ttqCVM         byte    = 0x40 // TTQ byte 2: CVM required
	ttqFDDA01      byte    = 0x80 // TTQ byte 4: fDDA version 01 supported
	ctqOnlinePIN   byte    = 0x80 // CTQ byte 1: online PIN required
)

// ContactlessCard is a Card presented to the contactless interface of a
// reader (qPBOC, 闪付). It shares the card's balances, counters and logs:
// tapping and inserting the same card act on one card. Over the contactless
// interface the card answers SELECT 2PAY.SYS.DDF01 (the PPSE) instead of the
// PSE, returns the contactless PDOL in its FCI, and answers GET PROCESSING
// OPTIONS the qPBOC way (format 2 with the cryptogram, see Card's package
// documentation); READ RECORD, GET DATA and the logs work as on contact.
// A command on one interface ends a session open on the other.
type ContactlessCard struct{ c *Card }

var _ apdu.Transport = (*ContactlessCard)(nil)

// NewContactless returns c as seen through the contactless interface.
func NewContactless(c *Card) *ContactlessCard { return &ContactlessCard{c: c} }

// Transmit executes one command APDU received over the contactless
// interface.
func (cl *ContactlessCard) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	return cl.c.transmit(ctx, command, true)
}

// Reset simulates the card leaving the field (see Card.Reset).
func (cl *ContactlessCard) Reset() { cl.c.Reset() }

// Card returns the underlying card.
func (cl *ContactlessCard) Card() *Card { return cl.c }

// compileQPBOC validates the contactless personalisation and fills its
// defaults.
func compileQPBOC(a *Application, f func(string) string, out *app) error {
	if a.QPBOC == nil {
		a.QPBOC = &QPBOC{}
	}
	q := a.QPBOC
	if q.PDOL == "" {
		q.PDOL = DefaultQPBOCPDOL
	}
	if q.CTQ == "" {
		q.CTQ = DefaultCTQ
	}
	if q.FDDAVersion == "" {
		q.FDDAVersion = "01"
	}
	var err error
	if out.clPDOLRaw, err = hexField(f("qpboc.pdol"), q.PDOL, 1, 252); err != nil {
		return err
	}
	q.PDOL = strings.ToUpper(q.PDOL)
	dol, err := tlv.ParseDOL(out.clPDOLRaw)
	if err != nil {
		return &ProfileError{Field: f("qpboc.pdol"), Msg: "invalid DOL", Err: err}
	}
	if dol.Len() > 252 {
		return fieldErr(f("qpboc.pdol"), "asks for %d bytes of data, more than 252", dol.Len())
	}
	for _, need := range []struct {
		tag tlv.Tag
		n   int
	}{{tagTTQ, 4}, {tagAmount, 6}, {tagTxnCurrency, 2}, {tagUN, 4}} {
		found := false
		for _, e := range dol {
			found = found || (e.Tag == need.tag && e.Len == need.n)
		}
		if !found {
			return fieldErr(f("qpboc.pdol"), "must ask for %s with length %d", need.tag, need.n)
		}
	}
	out.clPDOL = dol
	if out.ctq, err = hexField(f("qpboc.ctq"), q.CTQ, 2, 2); err != nil {
		return err
	}
	q.CTQ = strings.ToUpper(q.CTQ)
	switch q.FDDAVersion {
	case "00":
		out.fddaVersion = 0x00
	case "01":
		out.fddaVersion = 0x01
	default:
		return fieldErr(f("qpboc.fdda_version"), "%q is not 00 or 01", clip(q.FDDAVersion))
	}
	out.qpboc = !q.Disabled
	return nil
}

// buildContactless builds the contactless FCI (the contact FCI's
// proprietary template with the contactless PDOL) and the PPSE directory
// entry 61[4F, 50, 87 if set, 9F12 if set].
func (a *app) buildContactless(prop []tlv.TLV) {
	cl := make([]tlv.TLV, 0, len(prop)+1)
	hasPDOL := false
	for _, o := range prop {
		if o.Tag == tagPDOL {
			o = tlv.TLV{Tag: tagPDOL, Value: a.clPDOLRaw}
			hasPDOL = true
		}
		cl = append(cl, o)
	}
	if !hasPDOL {
		// After the label (and priority): 9F38 sits before 5F2D.
		at := 1
		if a.prof.Priority > 0 {
			at = 2
		}
		cl = append(cl[:at:at], append([]tlv.TLV{{Tag: tagPDOL, Value: a.clPDOLRaw}}, cl[at:]...)...)
	}
	a.fciCL = tlv.Encode(tlv.Constructed(tagFCI,
		tlv.TLV{Tag: tagDFName, Value: a.aid},
		tlv.Constructed(tagFCIProp, cl...)))
	entry := []tlv.TLV{{Tag: tagAID, Value: a.aid}, {Tag: tagLabel, Value: []byte(a.prof.Label)}}
	if a.prof.Priority > 0 {
		entry = append(entry, tlv.TLV{Tag: tagPriority, Value: []byte{byte(a.prof.Priority)}})
	}
	a.ppseEntry = tlv.Constructed(tagDirEntry, entry...)
}

// buildPPSE returns the PPSE FCI 6F[84 '2PAY.SYS.DDF01', A5[BF0C[61...]]]
// listing the contactless applications in card order, or nil when there is
// none. An FCI that would not fit a short response lists fewer.
func buildPPSE(apps []*app) []byte {
	var entries []tlv.TLV
	for _, a := range apps {
		if !a.qpboc {
			continue
		}
		next := append(entries[:len(entries):len(entries)], a.ppseEntry)
		if len(ppseFCI(next)) > maxRecordBytes {
			break
		}
		entries = next
	}
	if len(entries) == 0 {
		return nil
	}
	return ppseFCI(entries)
}

func ppseFCI(entries []tlv.TLV) []byte {
	return tlv.Encode(tlv.Constructed(tagFCI,
		tlv.TLV{Tag: tagDFName, Value: []byte(ppseName)},
		tlv.Constructed(tagFCIProp, tlv.Constructed(tagFCIIssuer, entries...))))
}

// selectContactless implements SELECT over the contactless interface: the
// PPSE, or a contactless application by (partial) AID.
func (c *Card) selectContactless(cmd apdu.Command) apdu.Response {
	if string(cmd.Data) == ppseName {
		if c.ppseFCI == nil || cmd.P2 == 0x02 {
			return sw(apdu.SWFileNotFound)
		}
		c.s = session{app: -1}
		return apdu.Response{Data: c.ppseFCI, SW: apdu.SWSuccess}
	}
	start := 0
	if cmd.P2 == 0x02 && c.s.app >= 0 {
		start = c.s.app + 1
	}
	for i := start; i < len(c.apps); i++ {
		if c.apps[i].qpboc && bytes.HasPrefix(c.apps[i].aid, cmd.Data) {
			c.s = session{app: i, phase: phaseSelected}
			return apdu.Response{Data: c.apps[i].fciCL, SW: apdu.SWSuccess}
		}
	}
	return sw(apdu.SWFileNotFound)
}

// qpbocAFL is the AFL of a qPBOC GPO: SFI 2 record 1 (PAN, dates, ...;
// flagged for ODA on a card with ODA) and the SFI 3 certificates; SFI 4
// record 1 when the fDDA signature travels in a record.
func (a *app) qpbocAFL(fddaRecord bool) []byte {
	flagged := byte(0)
	if a.oda != odaNone {
		flagged = 1
	}
	out := []byte{2 << 3, 1, 1, flagged}
	if n := len(a.odaRecords); n > 0 {
		out = append(out, odaSFI<<3, 1, byte(n), 0)
	}
	if fddaRecord {
		out = append(out, fddaSFI<<3, 1, 1, 0)
	}
	return out
}

// qpbocGPO implements GET PROCESSING OPTIONS over the contactless
// interface: the card decides at once and answers in format 2 with its
// cryptogram; an offline EC approval deducts the balance here.
func (c *Card) qpbocGPO(cmd apdu.Command) apdu.Response {
	a := c.apps[c.s.app]
	obj, err := tlv.ParseSingle(cmd.Data)
	if err != nil || len(tlv.Append(nil, obj.Tag, obj.Value)) != len(cmd.Data) {
		return sw(apdu.SWWrongLength)
	}
	if obj.Tag != tagCommandTmpl {
		return sw(apdu.SWWrongData)
	}
	if len(obj.Value) != a.clPDOL.Len() {
		return sw(apdu.SWWrongLength)
	}
	pd, err := a.clPDOL.Split(obj.Value)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	ttq := pd[tagTTQ]
	amount, err := bcd.Decode(pd[tagAmount])
	if err != nil {
		return sw(apdu.SWWrongData)
	}
	if ttq[0]&ttqQPBOC == 0 {
		return sw(apdu.SWConditionsNotSatisfied) // the reader does not do qPBOC
	}
	if a.atc == 0xFFFF {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	onlineCapable := ttq[0]&ttqOfflineOnly == 0
	contact := ttq[0]&ttqContact != 0
	offlineAsked := ttq[1]&(ttqOnlineAC|ttqCVM) == 0
	ecTerm := bytes.Equal(pd[tagECTermSupprt], []byte{0x01})
	pur := a.purse(pd[tagTxnCurrency])
	ec := a.ecEnabled && ecTerm && pur != nil && amount > 0 && amount <= pur.balance && amount <= pur.single
	belowThreshold := ec && pur.balance-amount < pur.threshold
	if ec && offlineAsked && belowThreshold && onlineCapable && contact {
		// The automatic top-up needs an online PIN and a script: contact.
		return sw(swUseContact)
	}
	typ := acAAC
	switch {
	case ec && offlineAsked && a.icc != nil && (!belowThreshold || !onlineCapable):
		typ = acTC
	case onlineCapable:
		typ = acARQC
	}
	a.atc++
	c.s.phase, c.s.ecPath = phaseDone, typ == acTC
	c.s.pdolData = append([]byte(nil), obj.Value...)
	c.s.fddaRecord = nil

	ctq := append([]byte(nil), a.ctq...)
	if typ == acARQC && ttq[1]&ttqCVM != 0 && ttq[0]&ttqOnlinePIN != 0 {
		ctq[0] |= ctqOnlinePIN
	}
	cvr := []byte{0x03, 0x80 | typ>>2, 0x00, 0x00}
	if pur == nil {
		pur = &a.ecPurse
	}
	balance := pur.balance
	if typ == acTC {
		balance -= amount
	}
	iddBalance := a.balance // the IDD (ID 01) is the application currency's
	if pur == &a.ecPurse {
		iddBalance = balance
	}
	idd, err := a.balanceIDD(iddBalance)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	iad := append([]byte{0x07, 0x01, cvnQPBOC}, cvr...)
	iad = append(iad, a.algID)
	iad = append(iad, idd...)
	atc := []byte{byte(a.atc >> 8), byte(a.atc)}
	ac, err := a.cryptogram(pd, atc, iad)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	objs := []tlv.TLV{
		{Tag: tagAIP, Value: a.aip},
		{Tag: tagAFL},
		{Tag: tagATC, Value: atc},
		{Tag: tagAC, Value: ac},
		{Tag: tagIAD, Value: iad},
		{Tag: tagTrack2, Value: track2(a.prof.PAN, a.prof.Expiry)},
		{Tag: tagCTQ, Value: ctq},
	}
	if a.ecEnabled {
		objs = append(objs, tlv.TLV{Tag: tagOfflineAmt, Value: bcdN(balance, 6)})
	}
	var sdad []byte
	if typ == acTC {
		var cad []byte
		if a.fddaVersion == 0x01 && len(ttq) == 4 && ttq[3]&ttqFDDA01 != 0 {
			cad = append([]byte{0x01}, a.dynamicNumber()[:4]...)
			cad = append(cad, ctq...)
			objs = append(objs, tlv.TLV{Tag: tagCardAuth, Value: cad})
		}
		sdad, err = pki.SignFDDA(a.icc, a.dynamicNumber(), pd[tagUN], pd[tagAmount], pd[tagTxnCurrency], cad)
		if err != nil {
			return sw(apdu.SWUnknown)
		}
	}
	resp := func(fddaRecord bool) []byte {
		objs[1].Value = a.qpbocAFL(fddaRecord)
		all := objs
		if sdad != nil && !fddaRecord {
			all = append(all[:len(all):len(all)], tlv.TLV{Tag: tagSDAD, Value: sdad})
		}
		return tlv.Encode(tlv.Constructed(tagRespFormat2, all...))
	}
	out := resp(false)
	if len(out) > maxRecordBytes {
		c.s.fddaRecord = tlv.Encode(tlv.Constructed(tagRecord, tlv.TLV{Tag: tagSDAD, Value: sdad}))
		out = resp(true)
	}
	if len(out) > maxRecordBytes {
		return sw(apdu.SWUnknown) // unreachable with the profile's key sizes
	}
	c.s.afl = objs[1].Value
	if typ == acTC {
		pur.balance = balance
		a.addLog(pd, acTC)
	}
	return apdu.Response{Data: out, SW: apdu.SWSuccess}
}

// cryptogram computes an application cryptogram (GENERATE AC, or a qPBOC
// GPO) over the DOL data by tag, the AIP, the ATC and the CVR in the IAD
// (keys.ACData), under the AC session key of the ATC.
func (a *app) cryptogram(pd map[tlv.Tag][]byte, atc, iad []byte) ([]byte, error) {
	value := func(tag uint32) []byte {
		switch tlv.Tag(tag) {
		case tagAIP:
			return a.aip
		case tagATC:
			return atc
		case tagIAD:
			return iad
		}
		return pd[tlv.Tag(tag)]
	}
	sk, err := keys.SessionKey(a.alg, a.cardKeys.AC, a.atc)
	if err != nil {
		return nil, fmt.Errorf("cardsim: AC session key: %w", err)
	}
	ac, err := keys.Cryptogram(a.alg, sk, keys.ACData(value))
	if err != nil {
		return nil, fmt.Errorf("cardsim: cryptogram: %w", err)
	}
	return ac, nil
}
