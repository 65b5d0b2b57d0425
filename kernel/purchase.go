// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/tlv"
)

// Transaction types (9C).
const (
	TxnGoods             byte = 0x00 // goods and services
	TxnLoadDesignated    byte = 0x60 // EC designated-account load (指定账户圈存)
	TxnLoadNonDesignated byte = 0x62 // EC non-designated-account load (非指定账户圈存)
	TxnLoadCash          byte = 0x63 // EC cash load (现金圈存)
)

// Purchase runs a sale of amount (goods and services) with the card. An
// offline EC sale is approved only when the card returns a TC; every other
// path is reported with its reason and never approved.
func (k *Kernel) Purchase(ctx context.Context, card apdu.Transport, amount Amount) (*Result, error) {
	res := &Result{Amount: amount}
	t := k.newTxn(card, res)
	defer t.release()
	if amount == 0 || amount > MaxAmount {
		return t.fail(fmt.Errorf("%w: %s (must be 0.01 to %s)", ErrAmount, amount, MaxAmount))
	}
	if err := t.setTerminalData(amount, TxnGoods); err != nil {
		return t.fail(err)
	}
	if err := t.selectAndInitiate(ctx, amount); err != nil {
		return t.fail(err)
	}
	if err := t.readRecords(ctx); err != nil {
		return t.fail(err)
	}
	if err := t.checkMandatory(); err != nil {
		return t.fail(err)
	}
	if err := t.performODA(ctx); err != nil {
		return t.fail(err)
	}
	// After ODA: what the card may settle depends on whether it is the
	// card its certificates name.
	if err := t.settleTorn(ctx); err != nil {
		return t.fail(err)
	}
	t.processingRestrictions()
	d, err := t.ecDecision(ctx, amount)
	if err != nil {
		return t.fail(err)
	}
	topUp := d.topUp
	res.TopUp = topUp
	if topUp {
		if d.reason != ReasonBelowResetThreshold {
			d.detail += "; the balance would fall below the reset threshold: automatic top-up requested"
		}
		// Automatic top-up: the issuer refills the balance up to 9F77.
		if t.ecLimit, err = t.ecAmount(ctx, t.ec.limit, false); err != nil {
			return t.fail(err)
		}
	}
	if err := t.verifyCardholder(ctx, amount, &d); err != nil {
		return t.fail(err)
	}
	topUp = d.topUp
	if err := t.terminalRiskManagement(ctx, amount, d.offline); err != nil {
		return t.fail(err)
	}
	want := t.actionAnalysis()
	if want == apdu.ACTypeAAC {
		return t.decline(ctx, ReasonTerminalDecision, "declined by terminal action analysis: "+strings.Join(res.TVR.Names(), "; "))
	}
	if d.offline && want == apdu.ACTypeTC {
		return t.offlineEC(ctx, amount)
	}
	if d.offline { // EC possible but the TVR asks for online
		d.reason = ReasonTerminalDecision
		d.detail = "terminal action analysis requires online: " + strings.Join(res.TVR.Names(), "; ")
		if res.TVR.Has(TVRSDAFailed) || res.TVR.Has(TVRDDAFailed) || res.TVR.Has(TVRCDAFailed) {
			d.reason, d.detail = ReasonODAFailed, "offline data authentication ("+res.ODA.String()+") failed: "+res.ODAError
		}
	}
	return t.goOnline(ctx, onlineRequest{kind: RequestPurchase, amount: amount, topUp: topUp,
		offlineWithoutTopUp: d.offlineWithoutTopUp, pinBlock: t.pinBlock, reason: d.reason, detail: d.detail})
}

// verifyCardholder is cardholder verification for a sale (EMV Book 3
// §10.5). The card's CVM list decides on the EC path too (HXEMV EmvCvm.c
// iEmvCardHolderVerify): an EC card's list asks nothing of a small sale. A
// top-up needs the online PIN whatever the CVM list says (without a host
// nobody would verify it, so it is not asked for then). When that PIN
// cannot be had — bypassed, no PIN pad, the pad fails — only the top-up
// fails (the card manual in the mission; HXEMV EmvModul.c:803-817): the
// sale goes on as it would have without it, offline from the EC balance
// when the balance and limits allow, else on the online path, with the
// CVM list either way.
func (t *txn) verifyCardholder(ctx context.Context, amount Amount, d *decision) error {
	cvm, err := t.cardholderVerification(ctx, amount, d.topUp && t.k.host != nil)
	if err != nil && !isPINFailure(err) {
		return err
	}
	if err != nil {
		d.topUp, t.res.TopUp, t.res.TopUpFailed, t.ecLimit = false, false, true, nil
		d.detail += "; the top-up's online PIN was not entered (" + err.Error() + "): the top-up failed, the sale goes on without it"
		if d.offlineWithoutTopUp {
			d.offline, d.reason = true, ReasonECApproved
		}
		// The top-up's PIN was not the sale's CVM: "PIN not entered" stays
		// in the TVR (HXEMV sets only that for it), "CVM failed" is for the
		// card's list to say.
		t.res.TVR[TVRCVMFailed.Byte] &^= TVRCVMFailed.Mask
		if cvm, err = t.cardholderVerification(ctx, amount, false); err != nil && !isPINFailure(err) {
			return err
		}
	}
	t.pinBlock = cvm.pinBlock
	t.res.SignatureRequired = cvm.signature
	return nil
}

func isPINFailure(err error) bool {
	return errors.Is(err, ErrPINBypass) || errors.Is(err, ErrPINPadUnavailable)
}

// selectAndInitiate runs application selection and GPO, going back to the
// candidate list when the card refuses GPO with 6985.
func (t *txn) selectAndInitiate(ctx context.Context, amount Amount) error {
	cands, err := t.buildCandidates(ctx)
	if err != nil {
		return err
	}
	for {
		if cands, err = t.selectApplication(ctx, cands); err != nil {
			return err
		}
		t.offerEC(amount)
		err = t.initiate(ctx)
		if !errors.Is(err, errGPORefused) {
			return err
		}
		if len(cands) == 0 {
			return fmt.Errorf("%w: %w", ErrNoApplication, err)
		}
	}
}

// checkMandatory checks the data EMV requires from the records (Book 3 §7.2)
// and sets the masked PAN.
func (t *txn) checkMandatory() error {
	for _, tag := range []tlv.Tag{0x5F24, 0x5A, 0x8C, 0x8D} {
		if _, ok := t.data.get(tag); !ok {
			t.res.TVR.Set(TVRICCDataMissing)
			return fmt.Errorf("%w: mandatory tag %s missing", ErrCardData, tag)
		}
	}
	pan, err := panDigits(t.data.val(0x5A))
	if err != nil {
		return err
	}
	t.res.PAN = tlv.MaskPAN(pan)
	return nil
}

// panDigits decodes the PAN (cn, up to 19 digits, F-padded).
func panDigits(b []byte) (string, error) {
	if len(b) == 0 || len(b) > 10 {
		return "", fmt.Errorf("%w: PAN of %d bytes", ErrCardData, len(b))
	}
	out := make([]byte, 0, 2*len(b))
	for i, c := range b {
		for j, n := range [2]byte{c >> 4, c & 0x0F} {
			switch {
			case n <= 9:
				if len(out) < 2*i+j { // a digit after padding
					return "", fmt.Errorf("%w: PAN digit after padding", ErrCardData)
				}
				out = append(out, '0'+n)
			case n == 0x0F:
			default:
				return "", fmt.Errorf("%w: PAN nibble %X", ErrCardData, n)
			}
		}
	}
	if len(out) < 8 {
		return "", fmt.Errorf("%w: PAN of %d digits", ErrCardData, len(out))
	}
	return string(out), nil
}

// tcHash puts the TC hash value (98) in the terminal data when the CDOL
// asks for it (EMV Book 3 §5.4): SHA-1 of the data the card's TDOL (97)
// names, or the application's default TDOL (then the TVR says "default
// TDOL used"); without either, the hash of nothing.
func (t *txn) tcHash(cdol tlv.DOL) {
	asks := false
	for _, e := range cdol {
		asks = asks || e.Tag == 0x98
	}
	if !asks {
		return
	}
	tdol, ok := t.data.get(0x97)
	if !ok && t.app.TDOL != nil {
		tdol = t.app.TDOL
		t.res.TVR.Set(TVRDefaultTDOLUsed)
	}
	var data []byte
	if d, err := tlv.ParseDOL(tdol); err == nil && d.Len() <= 252 {
		data = d.Build(make([]byte, 0, d.Len()), t)
	}
	sum := sha1.Sum(data) //nolint:gosec // EMV's TC hash is SHA-1
	t.term.set(0x98, t.own(sum[:]))
}

// cvrAgrees checks the cryptogram type of a GENERATE AC answer against the
// PBOC card verification results (9F10: 07 DKI CVN CVR…, CVN 01): CVR byte
// 2 bits 6-5 are the type of the first GENERATE AC (00 AAC, 01 TC, 10
// ARQC), bits 8-7 that of the second (00 AAC, 01 TC). IADs of other layouts
// are not checked.
func cvrAgrees(iad []byte, cidType byte, second bool) bool {
	if len(iad) < 8 || iad[0] != 0x07 || iad[2] != 0x01 {
		return true
	}
	if second {
		return iad[4]&0xC0 == cidType
	}
	return iad[4]&0x30 == cidType>>2
}

// genAC sends GENERATE AC with the given CDOL and parses the response.
func (t *txn) genAC(ctx context.Context, p1 byte, cdolTag tlv.Tag) (cid byte, err error) {
	dol, err := t.parseDOL(t.data.val(cdolTag))
	if err != nil {
		return 0, fmt.Errorf("%w: CDOL %s: %w", ErrCardData, cdolTag, err)
	}
	if dol.Len() > 252 {
		return 0, fmt.Errorf("%w: CDOL %s asks for %d bytes", ErrCardData, cdolTag, dol.Len())
	}
	cda := t.cdaRequest(p1, cdolTag == 0x8C)
	t.term.set(0x95, t.res.TVR[:])
	t.tcHash(dol)
	data := t.buildDOL(dol)
	if cdolTag == 0x8C {
		t.term.set(0xDF8112, data)
	} else {
		t.term.set(0xDF8113, data)
	}
	if cda {
		p1 |= apdu.ACCDA
	}
	rsp, err := t.mustOK(ctx, apdu.GenerateAC(p1, data))
	if err != nil {
		return 0, err
	}
	t.res.TSI.Set(TSICardRiskPerformed)
	o, err := tlv.ParseSingle(rsp)
	if err != nil {
		return 0, fmt.Errorf("%w: GENERATE AC response: %w", ErrCardData, err)
	}
	var atc, ac, iad []byte
	switch o.Tag {
	case 0x80:
		if len(o.Value) < 11 || len(o.Value) > 11+32 {
			return 0, fmt.Errorf("%w: GENERATE AC format 1 of %d bytes", ErrCardData, len(o.Value))
		}
		cid, atc, ac, iad = o.Value[0], o.Value[1:3], o.Value[3:11], o.Value[11:]
	case 0x77:
		objs, err := t.parseTemplate(o.Value)
		if err != nil {
			return 0, fmt.Errorf("%w: GENERATE AC format 2: %w", ErrCardData, err)
		}
		var cidV []byte
		for _, x := range objs {
			switch x.Tag {
			case 0x9F27:
				cidV = x.Value
			case 0x9F36:
				atc = x.Value
			case 0x9F26:
				ac = x.Value
			case 0x9F10:
				iad = x.Value
			}
		}
		// With CDA the cryptogram travels inside the signature (9F4B).
		if cda && ac == nil {
			if _, signed, _ := tlv.Find(o.Value, 0x9F4B); signed {
				ac = make([]byte, 8)
			}
		}
		if len(cidV) != 1 || len(atc) != 2 || len(ac) != 8 || len(iad) > 32 {
			return 0, fmt.Errorf("%w: GENERATE AC format 2 lacks CID, ATC or AC", ErrCardData)
		}
		cid = cidV[0]
	default:
		return 0, fmt.Errorf("%w: GENERATE AC response template %s", ErrCardData, o.Tag)
	}
	if cda && cid&0xC0 != apdu.ACTypeAAC {
		var err error
		if o.Tag != 0x77 {
			err = odaFail("CDA: GENERATE AC response in format 1")
		} else {
			var signedAC []byte
			signedAC, err = t.verifyCDA(o.Value, cid, cdolTag == 0x8D)
			if err == nil {
				ac, t.cdaVerified = signedAC, true
			}
		}
		if err != nil {
			t.cdaFailed = true
			t.res.TVR.Set(TVRCDAFailed)
			if errors.Is(err, errICCDataMissing) {
				t.res.TVR.Set(TVRICCDataMissing) // as odaFailed does
			}
			t.res.ODAError, t.res.ODAErr = err.Error(), err
		}
	}
	t.res.CID = cid
	t.secondAC = cdolTag == 0x8D
	t.res.ATC = uint16(atc[0])<<8 | uint16(atc[1])
	t.res.Cryptogram = t.keep(ac)
	t.res.IAD = t.keep(iad)
	t.data.set(0x9F27, t.own([]byte{cid}))
	t.data.set(0x9F36, atc)
	t.data.set(0x9F26, ac)
	t.data.set(0x9F10, iad)
	// The ICC data for clearing (ISO 8583 field 55) of this cryptogram.
	t.res.Field55 = t.field55(field55Tags)
	// The card may answer with the requested type or a lower one only
	// (AAC < ARQC < TC); anything else is a card error.
	got, want := cid&0xC0, p1&0xC0
	if got == 0xC0 || (got == apdu.ACTypeTC && want != apdu.ACTypeTC) || (got == apdu.ACTypeARQC && want == apdu.ACTypeAAC) {
		return cid, fmt.Errorf("%w: card answered CID %02X to a request for %02X", ErrCardData, cid, p1)
	}
	if !cvrAgrees(iad, got, t.secondAC) {
		// What if a relay turned an ARQC into a TC? The card's own CVR in
		// the IAD still says what it computed.
		return cid, fmt.Errorf("%w: CID %02X and the card's CVR in 9F10 disagree on the cryptogram type", ErrCardData, cid)
	}
	if !t.pinAgrees(iad) {
		return cid, fmt.Errorf("%w: the card answered 9000 to the offline PIN but its CVR in 9F10 says no PIN was verified", ErrCardData)
	}
	if !t.secondAC {
		// The first cryptogram of this presentation carries the balance
		// the card MACs: the evidence that settles its torn scripts; with
		// CDA it is also what authenticates the card.
		if err := t.settleAfterFirstAC(ctx); err != nil {
			return cid, err
		}
	}
	return cid, nil
}
