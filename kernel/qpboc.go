// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/tlv"
)

// ppseName is the Proximity Payment System Environment DDF name.
var ppseName = []byte("2PAY.SYS.DDF01")

// TTQ (9F66) bits, PBOC qPBOC (JR/T 0025.12) as open-source kernels use them.
const (
	ttqQPBOC       = 0x20 // byte 1: qPBOC supported
	ttqContact     = 0x10 // byte 1: contact PBOC supported
	ttqOfflineOnly = 0x08 // byte 1: offline-only terminal
	ttqOnlineAC    = 0x80 // byte 2: online cryptogram required
	ttqCVM         = 0x40 // byte 2: CVM required
	ttqOnlinePIN   = 0x04 // byte 1: online PIN supported
	ttqSignature   = 0x02 // byte 1: signature supported
)

// CTQ (9F6C) bits, byte 1 unless said.
const (
	ctqOnlinePIN      = 0x80 // online PIN required
	ctqSignature      = 0x40 // signature required
	ctqOnlineIfODA    = 0x20 // go online if offline data authentication fails
	ctqContactIfODA   = 0x10 // switch interface if offline data authentication fails
	ctqCDCVM          = 0x80 // byte 2: consumer device CVM performed (a phone wallet)
	swUseContact      = apdu.SW(0x6984)
	swNotAllowed      = apdu.SW(0x6986)
	kernelIDUnionPay  = 0x07 // EMV Entry Point kernel identifier of China UnionPay
	tornTapLifetime   = 5 * time.Minute
	maxPPSECandidates = maxCandidates
)

// tap is the contactless state of one PurchaseContactless call.
type tap struct {
	*txn
	amount Amount
	ttq    [4]byte
	// cdcvm: the card says the cardholder was verified on the consumer
	// device (CTQ byte 2 bit 8), and fDDA 01 signs that CTQ.
	cdcvm bool
	// settle are torn taps found in the card's log, to be journaled once
	// the PAN is known.
	settle []Settlement
}

// PurchaseContactless runs a qPBOC quick EC sale (闪付) with a card in the
// contactless field: SELECT 2PAY.SYS.DDF01 (PPSE), SELECT of the
// highest-priority application both support, GET PROCESSING OPTIONS with
// the PDOL (the card decides there: TC, ARQC or AAC, in format 2; an
// offline EC approval deducts the balance at GPO), READ RECORD of what the
// AFL names, and fDDA on a TC. No GENERATE AC is sent.
//
// Pre-processing, per terminal application: an amount at or above
// Application.ContactlessLimit is OutcomeTryAnotherInterface; the TTQ sent
// (9F66) is Application.TTQ (DefaultTTQ if zero) with byte 1 bit 5 (contact
// supported) from Config.Capabilities byte 1 bit 6, bit 4 (offline only) from
// !Config.OnlineCapable, byte 2 bit 8 (online cryptogram required) when the
// amount is above the contactless floor limit, is zero (not allowed at all
// on an offline-only terminal), or is 1.00 with StatusCheck, and byte 2 bit 7
// (CVM required) from CVMRequiredLimit on.
//
// Outcomes: a TC whose fDDA verifies is OutcomeApprovedOffline with the
// balance after as the card reported it (9F5D). A TC whose fDDA fails goes
// online when the terminal is online capable (and the CTQ, if present,
// allows it), to another interface when the CTQ asks for that, else is
// declined; since the card has already deducted, the result says so. An
// ARQC goes to the Host (one request, no second GENERATE AC, no scripts);
// without a host it is OutcomeOnlineRequired. An AAC is OutcomeDeclined.
// A card that asks for contact (6984), for example because the balance
// would fall below the reset threshold and the top-up needs the contact
// interface, is OutcomeTryAnotherInterface with the reason read from the
// card. A card that leaves the field is OutcomeTryAgain; when it may have
// completed the sale, a torn record (without PAN: Settlement matching is by
// the card's log) is kept, and the next tap of the same application reads
// the card's log first: a tap of the same amount found there is not charged
// again (ReasonTornRecovered).
func (k *Kernel) PurchaseContactless(ctx context.Context, card apdu.Transport, amount Amount) (*Result, error) {
	start := time.Now()
	res := &Result{Amount: amount, Contactless: true}
	q := &tap{txn: k.newTxn(card, res), amount: amount}
	defer q.release()
	out, err := q.run(ctx)
	res.KernelTime = max(time.Since(start)-q.inCard, 0)
	if res.Outcome != OutcomeTryAgain && res.ATC != 0 && res.Reason != ReasonTornRecovered {
		k.taps.add(q.txn)
	}
	return out, err
}

// recentTaps remembers the taps this Kernel completed (not torn), as the
// card's log shows them (AID, amount, date, time, ATC), so that a torn tap
// kept by AID alone is never settled by the log entry of a sale this
// terminal saw through: another card's tap of the same amount in the same
// second, on another lane. In memory: after a restart the journal's
// transaction IDs still refuse such an entry, later.
type recentTaps struct {
	mu   sync.Mutex
	ring [64]tapMark
	next int
}

type tapMark struct {
	aid        string
	amount     Amount
	date, time [3]byte
	atc        uint16
}

func (r *recentTaps) add(t *txn) {
	m := tapMark{aid: string(t.aid), amount: t.res.Amount, atc: t.res.ATC}
	copy(m.date[:], t.term.val(0x9A))
	copy(m.time[:], t.term.val(0x9F21))
	r.mu.Lock()
	r.ring[r.next%len(r.ring)] = m
	r.next++
	r.mu.Unlock()
}

// completed reports whether a log entry of aid is a tap this Kernel saw
// through.
func (r *recentTaps) completed(aid []byte, e LogEntry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.ring {
		if m.atc == e.ATC && m.amount == e.Amount && m.aid == string(aid) &&
			bytes.Equal(e.Fields["9A"], m.date[:]) && bytes.Equal(e.Fields["9F21"], m.time[:]) {
			return true
		}
	}
	return false
}

func (q *tap) run(ctx context.Context) (*Result, error) {
	t := q.txn
	if q.amount > MaxAmount {
		return t.fail(fmt.Errorf("%w: %s (must be at most %s)", ErrAmount, q.amount, MaxAmount))
	}
	if err := t.setTerminalData(q.amount, TxnGoods); err != nil {
		return t.fail(err)
	}
	// Pre-processing: when no application may take the amount contactless,
	// the card is not even addressed.
	var why Reason
	var detail string
	allowed := false
	for i := range t.k.cfg.Applications {
		if r, d, ok := q.preprocess(&t.k.cfg.Applications[i]); ok {
			allowed = true
		} else if why == "" {
			why, detail = r, d
		}
	}
	if !allowed {
		return q.anotherInterface(why, detail)
	}
	cands, r, d, err := q.ppse(ctx)
	if err != nil {
		return q.removed(ctx, err, false)
	}
	if len(cands) == 0 {
		return q.anotherInterface(r, d)
	}
	for _, c := range cands {
		res, done, err := q.tryCandidate(ctx, c)
		if done || err != nil {
			return res, err
		}
	}
	return q.anotherInterface(ReasonNoContactless, "every contactless application of the card refused the tap")
}

// preprocess checks the amount against the application's contactless
// limits and computes the TTQ for it.
func (q *tap) preprocess(a *Application) (Reason, string, bool) {
	cfg := &q.k.cfg
	amount := q.amount
	if a.ContactlessLimit > 0 && amount >= a.ContactlessLimit {
		return ReasonAboveContactlessLimit, fmt.Sprintf("amount %s is not below the contactless limit %s", amount, a.ContactlessLimit), false
	}
	online := false
	if amount == 0 {
		if !cfg.OnlineCapable {
			return ReasonZeroAmount, "a zero amount needs an online terminal", false
		}
		online = true
	}
	if a.StatusCheck && amount == 100 {
		online = true
	}
	floor := a.ContactlessFloorLimit
	if floor == 0 {
		floor = a.FloorLimit
	}
	if amount > floor {
		online = true
	}
	ttq := a.TTQ
	if ttq == [4]byte{} {
		ttq = DefaultTTQ
	}
	ttq[0] &^= ttqContact | ttqOfflineOnly
	ttq[1] &^= ttqOnlineAC | ttqCVM
	if cfg.Capabilities[0]&0x20 != 0 {
		ttq[0] |= ttqContact
	}
	if !cfg.OnlineCapable {
		ttq[0] |= ttqOfflineOnly
	}
	if !a.OnlinePIN {
		ttq[0] &^= ttqOnlinePIN // the acquirer's DF18 = 00 for this application
	}
	if online {
		ttq[1] |= ttqOnlineAC
	}
	if a.CVMRequiredLimit > 0 && amount >= a.CVMRequiredLimit {
		ttq[1] |= ttqCVM
	}
	if ttq[0]&ttqQPBOC == 0 {
		return ReasonNoContactless, "qPBOC is not enabled in the TTQ", false
	}
	q.ttq = ttq
	return "", "", true
}

// ppse selects the PPSE and returns the candidates: the directory entries
// (BF0C / 61) whose AID the terminal supports and whose application allows
// the amount contactless, by priority. With no candidate it returns why.
func (q *tap) ppse(ctx context.Context) ([]Candidate, Reason, string, error) {
	r, err := q.exchange(ctx, apdu.Select(ppseName))
	if err != nil {
		return nil, "", "", err
	}
	if r.SW != apdu.SWSuccess {
		return nil, ReasonNoContactless, fmt.Sprintf("SELECT PPSE: %s", r.SW), nil
	}
	entries, err := ppseEntries(r.Data)
	if err != nil {
		return nil, ReasonNoContactless, err.Error(), nil
	}
	var cands []Candidate
	why, detail := ReasonNoApplication, "the card offers none of the terminal's applications contactless"
	for _, c := range entries {
		app, ok := q.k.cfg.application(c.AID)
		if !ok {
			continue
		}
		if r, d, ok := q.preprocess(app); !ok {
			why, detail = r, d
			continue
		}
		if len(cands) < maxPPSECandidates {
			cands = append(cands, c)
		}
	}
	sortCandidates(cands)
	return cands, why, detail, nil
}

// ppseEntries parses the PPSE FCI 6F[84, A5[BF0C[61[4F, 50, 87, 9F2A]...]]].
// Entries without a valid AID, or naming a kernel other than UnionPay's
// (9F2A), are skipped.
func ppseEntries(b []byte) ([]Candidate, error) {
	fci, err := tlv.ParseSingle(b)
	if err != nil || fci.Tag != 0x6F {
		return nil, fmt.Errorf("%w: PPSE FCI is not a 6F template", ErrCardData)
	}
	prop, ok, err := tlv.Find(fci.Value, 0xA5)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: PPSE FCI without A5", ErrCardData)
	}
	dir, ok, err := tlv.Find(prop, 0xBF0C)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: PPSE FCI without BF0C", ErrCardData)
	}
	objs, err := tlv.Parse(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: PPSE directory: %w", ErrCardData, err)
	}
	var out []Candidate
	for _, o := range objs {
		if o.Tag != 0x61 {
			continue
		}
		if kid, ok, err := tlv.Find(o.Value, 0x9F2A); err != nil || (ok && (len(kid) == 0 || kid[0] != kernelIDUnionPay)) {
			continue
		}
		if c, ok := parseDirectoryEntry(o.Value); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// tryCandidate selects one application and runs the tap with it. done is
// false when the application is removed from the list (SELECT failed, GPO
// 6985) and the next one should be tried.
func (q *tap) tryCandidate(ctx context.Context, c Candidate) (*Result, bool, error) {
	t, res := q.txn, q.res
	r, err := t.exchange(ctx, apdu.Select(c.AID))
	if err != nil {
		res, err := q.removed(ctx, err, false)
		return res, true, err
	}
	if r.SW != apdu.SWSuccess {
		return nil, false, nil
	}
	fc, ok := parseFCI(r.Data)
	if !ok || !bytes.Equal(fc.AID, c.AID) {
		return nil, false, nil
	}
	app, ok := t.k.cfg.application(fc.AID)
	if !ok {
		return nil, false, nil
	}
	if _, _, ok := q.preprocess(app); !ok {
		return nil, false, nil
	}
	if err := t.storeFCI(r.Data); err != nil {
		return nil, false, nil
	}
	t.app, t.aid = app, fc.AID
	t.term.set(0x9F09, app.Version[:])
	res.AID, res.Label = q.keep(fc.AID), fc.Label
	if fc.Label == "" {
		res.Label = fc.PreferredName
	}
	dol, err := tlv.ParseDOL(t.data.val(0x9F38))
	if err != nil || dol.Len() > 252 {
		res, err := t.fail(fmt.Errorf("%w: PDOL: %v", ErrCardData, err))
		return res, true, err
	}
	hasTTQ := false
	for _, e := range dol {
		hasTTQ = hasTTQ || e.Tag == 0x9F66
	}
	if !hasTTQ {
		res, err := q.anotherInterface(ReasonCardRequestedContact, "the application's PDOL does not ask for the TTQ (9F66): it is not a qPBOC application")
		return res, true, err
	}
	t.term.set(0x9F66, q.ttq[:])
	res.TTQ = q.ttq[:]
	t.offerEC(q.amount)
	recovered, err := q.findTornTaps(ctx)
	if err != nil {
		res, err := q.removed(ctx, err, false)
		return res, true, err
	}
	if recovered != nil {
		res, err := q.recover(ctx, dol, *recovered)
		return res, true, err
	}
	out, done, err := q.gpo(ctx, dol)
	return out, done, err
}

// gpo sends GET PROCESSING OPTIONS and finishes the tap.
func (q *tap) gpo(ctx context.Context, dol tlv.DOL) (*Result, bool, error) {
	t, res := q.txn, q.res
	// The TVR the card's cryptogram covers is the one sent now: field 55
	// carries this copy, whatever the terminal learns afterwards.
	t.term.set(0x95, append([]byte(nil), res.TVR[:]...))
	pdolData := dol.Build(make([]byte, 0, dol.Len()), t)
	t.term.set(0xDF8111, pdolData)
	offlinePossible := q.ttq[1]&ttqOnlineAC == 0 && bytes.Equal(t.term.val(0x9F7A), []byte{0x01})
	r, err := t.exchange(ctx, apdu.GetProcessingOptions(pdolData))
	if err != nil {
		// The card may have approved and deducted before it left.
		res, err := q.removed(ctx, err, offlinePossible)
		return res, true, err
	}
	switch r.SW {
	case apdu.SWSuccess:
	case apdu.SWConditionsNotSatisfied:
		return nil, false, nil
	case swUseContact, swNotAllowed:
		res, err := q.whyContact(ctx, r.SW)
		return res, true, err
	default:
		res, err := t.fail(&StatusError{Command: "GET PROCESSING OPTIONS", SW: r.SW})
		return res, true, err
	}
	cid, err := q.parseGPO(r.Data)
	if err != nil {
		res, err := t.fail(err)
		return res, true, err
	}
	if cid == apdu.ACTypeTC {
		res.ECPath = true
	}
	if err := q.readTapRecords(ctx); err != nil {
		if isCardGone(ctx, err) {
			res, err := q.removed(ctx, err, cid == apdu.ACTypeTC)
			return res, true, err
		}
		res, err := t.fail(err)
		return res, true, err
	}
	if err := q.settleTornTaps(ctx); err != nil {
		res, err := t.fail(err)
		return res, true, err
	}
	switch cid {
	case apdu.ACTypeTC:
		out, err := q.offline(ctx)
		return out, true, err
	case apdu.ACTypeARQC:
		out, err := q.online(ctx, ReasonCardRequestedOnline, "the card asked for online authorisation (ARQC)")
		return out, true, err
	}
	res.Outcome, res.Reason = OutcomeDeclined, ReasonCardDeclined
	res.Detail = "the card declined the tap (AAC)"
	return res, true, nil
}

// parseGPO stores the format-2 GPO response and returns the cryptogram
// type: 9F27 when the card sends it, else 9F10 byte 5 bits 6-5 (PBOC CVR).
func (q *tap) parseGPO(b []byte) (byte, error) {
	t, res := q.txn, q.res
	o, err := tlv.ParseSingle(b)
	if err != nil {
		return 0, fmt.Errorf("%w: GPO response: %w", ErrCardData, err)
	}
	if o.Tag != 0x77 {
		return 0, fmt.Errorf("%w: qPBOC GPO response template %s (want 77)", ErrCardData, o.Tag)
	}
	if err := t.storeTemplate(o.Value); err != nil {
		return 0, err
	}
	aip, afl, atc, ac, iad := t.data.val(0x82), t.data.val(0x94), t.data.val(0x9F36), t.data.val(0x9F26), t.data.val(0x9F10)
	if len(aip) != 2 || len(afl)%4 != 0 || len(atc) != 2 || len(ac) != 8 || len(iad) > 32 {
		return 0, fmt.Errorf("%w: qPBOC GPO response lacks a valid AIP, ATC or cryptogram", ErrCardData)
	}
	var cid byte
	fromIAD, haveIAD := byte(0), len(iad) >= 5 && iad[0] == 0x07
	if haveIAD {
		switch iad[4] & 0x30 {
		case 0x10:
			fromIAD = apdu.ACTypeTC
		case 0x20:
			fromIAD = apdu.ACTypeARQC
		}
	}
	switch v := t.data.val(0x9F27); {
	case len(v) == 1:
		cid = v[0] & 0xC0
		if haveIAD && cid != fromIAD {
			return 0, fmt.Errorf("%w: 9F27 %02X and 9F10 disagree on the cryptogram type", ErrCardData, v[0])
		}
	case len(v) == 0 && haveIAD:
		cid = fromIAD
	default:
		return 0, fmt.Errorf("%w: neither 9F27 nor a PBOC 9F10 gives the cryptogram type", ErrCardData)
	}
	if cid == 0xC0 {
		return 0, fmt.Errorf("%w: cryptogram type %02X", ErrCardData, cid)
	}
	t.data.set(0x9F27, []byte{cid})
	t.aip = [2]byte{aip[0], aip[1]}
	t.afl = afl
	res.CID = cid
	res.ATC = uint16(atc[0])<<8 | uint16(atc[1])
	res.Cryptogram, res.IAD = t.keep(ac), t.keep(iad)
	res.CTQ = t.keep(t.data.val(0x9F6C))
	// What if 9F5D is a lie? It is reported as the card's word, never
	// used to approve (the TC and fDDA do) or to move money.
	if v, ok := t.data.get(0x9F5D); ok {
		a, err := decodeAmount(v)
		if err != nil {
			return 0, fmt.Errorf("%w: 9F5D: %w", ErrCardData, err)
		}
		if cid == apdu.ACTypeTC {
			res.BalanceAfter = &a
		} else {
			res.BalanceBefore = &a
		}
	}
	res.TSI.Set(TSICardRiskPerformed)
	return cid, nil
}

// readTapRecords reads what the AFL names (nothing when the card sent no
// AFL) and sets the PAN, from 5A or else from track 2 (57).
func (q *tap) readTapRecords(ctx context.Context) error {
	t := q.txn
	if len(t.afl) > 0 {
		if err := t.readRecords(ctx); err != nil {
			return err
		}
	}
	return q.setPAN()
}

// setPAN takes the PAN from 5A or, failing that, from track 2 (57).
func (q *tap) setPAN() error {
	t := q.txn
	if _, ok := t.data.get(0x5A); !ok {
		if pan, ok := panFromTrack2(t.data.val(0x57)); ok {
			t.data.set(0x5A, pan)
		}
	}
	pan, err := panDigits(t.data.val(0x5A))
	if err != nil {
		t.res.TVR.Set(TVRICCDataMissing)
		return fmt.Errorf("no usable PAN (5A or 57): %w", err)
	}
	t.res.PAN = tlv.MaskPAN(pan)
	return nil
}

// panFromTrack2 returns the PAN of track 2 equivalent data (digits up to
// the separator D), F-padded as 5A.
func panFromTrack2(t2 []byte) ([]byte, bool) {
	out := make([]byte, 0, 10)
	for i := 0; i < 2*len(t2) && i <= 19; i++ {
		n := t2[i/2] >> 4
		if i%2 == 1 {
			n = t2[i/2] & 0x0F
		}
		if n == 0x0D {
			if i%2 == 1 {
				out[len(out)-1] |= 0x0F
			}
			return out, i >= 8
		}
		if n > 9 {
			return nil, false
		}
		if i%2 == 0 {
			out = append(out, n<<4)
		} else {
			out[len(out)-1] |= n
		}
	}
	return nil, false
}

// offline finishes a TC: the checks that the TC answers what the terminal
// asked, then fDDA, then approval or the fDDA failure path. The card has
// deducted when it answered TC, so every decline here keeps the sale as a
// discrepancy (declinedTC): never forgotten, never cleared.
func (q *tap) offline(ctx context.Context) (*Result, error) {
	t, res := q.txn, q.res
	if reason, why, ok := q.tcFits(); !ok {
		res.Outcome, res.Reason = OutcomeDeclined, reason
		res.Detail = why + q.deducted()
		return res, t.declinedTC(ctx, why)
	}
	res.ODA = ODAfDDA
	res.TSI.Set(TSIODAPerformed)
	if err := q.fdda(); err != nil {
		t.odaFailed(ODAfDDA, err)
		out, err := q.fddaFailed(ctx)
		if err == nil && out.Outcome != OutcomeApprovedOnline {
			// The card paid at GPO and nobody approved it: a discrepancy.
			err = t.declinedTC(ctx, "fDDA failed on the card's TC: "+res.ODAError)
		}
		return out, err
	}
	res.Outcome, res.Reason = OutcomeApprovedOffline, ReasonECApproved
	res.Detail = fmt.Sprintf("offline EC tap of %s approved by the card (TC, fDDA verified)", q.amount)
	if q.cdcvm {
		res.Detail += "; the cardholder was verified on the consumer device (CTQ byte 2 bit 8, signed by fDDA 01)"
	}
	if res.BalanceAfter == nil {
		if after, err := t.balanceAfterTC(ctx); err == nil {
			res.BalanceAfter = after
		} else {
			res.Detail += "; the new balance could not be read: " + err.Error()
		}
	}
	return res, t.record(ctx, journal.KindECOfflineSale)
}

// tcFits checks that a TC answers the question the terminal asked (what if
// a relay cleared TTQ bits on the way to the card, or the card ignores
// them?): no online cryptogram was required, the card is not on the
// exception file, its dates allow the sale, and the cardholder
// verification the terminal required — or the card asks for — is one the
// terminal performs offline (a signature, when the TTQ offers it).
func (q *tap) tcFits() (Reason, string, bool) {
	t, res := q.txn, q.res
	if q.ttq[1]&ttqOnlineAC != 0 {
		return ReasonAnswerMismatch, "the card answered TC to a tap that required an online cryptogram (TTQ " + hexUpper(q.ttq[:]) + "): not an offline approval", false
	}
	pan, _ := panDigits(t.data.val(0x5A))
	if t.k.onExceptionFile(pan) {
		res.TVR.Set(TVRCardOnExceptionFile)
		return ReasonTerminalDecision, "the card is on the terminal's exception file", false
	}
	today3 := bcdDate3(t.now)
	if eff := t.data.val(0x5F25); len(eff) == 3 && dateAfter(eff, today3[:]) {
		res.TVR.Set(TVRNotYetEffective)
		return ReasonCardExpired, "the application is not yet effective (5F25 " + hexUpper(eff) + ")", false
	}
	if exp := t.data.val(0x5F24); len(exp) == 3 && dateAfter(today3[:], exp) {
		res.TVR.Set(TVRExpiredApplication)
		return ReasonCardExpired, "the application expired (5F24 " + hexUpper(exp) + ")", false
	}
	var ctq byte
	v := t.data.val(0x9F6C)
	if len(v) >= 1 {
		ctq = v[0]
	} else if q.ttq[1]&ttqCVM != 0 {
		// No CTQ on a tap that requires cardholder verification: a
		// signature (JR/T 0025.12 §7.6/7.8, as HXEMV PbocCtls.c quotes it).
		ctq = ctqSignature
	}
	// Consumer device CVM (a phone wallet verified the cardholder) counts
	// offline only when fDDA 01 signs the CTQ that says so (9F69, compared
	// with 9F6C in fdda): an unsigned claim is no verification.
	cad := t.data.val(0x9F69)
	q.cdcvm = len(v) >= 2 && v[1]&ctqCDCVM != 0 && len(cad) > 0 && cad[0] == 0x01
	switch {
	case ctq&ctqOnlinePIN != 0:
		res.TVR.Set(TVRCVMFailed)
		return ReasonCVMNotPerformed, "the card asks for an online PIN on an offline approval", false
	case q.cdcvm:
	case ctq&ctqSignature != 0 && q.ttq[0]&ttqSignature != 0:
		res.SignatureRequired = true
	case ctq&ctqSignature != 0:
		res.TVR.Set(TVRCVMFailed)
		return ReasonCVMNotPerformed, "the card asks for a signature and the terminal takes none", false
	case q.ttq[1]&ttqCVM != 0:
		res.TVR.Set(TVRCVMFailed)
		return ReasonCVMNotPerformed, "the terminal required cardholder verification (TTQ " + hexUpper(q.ttq[:]) + ") and the card performed none", false
	}
	return "", "", true
}

// fdda recovers the ICC key from the records and verifies the fDDA
// signature (9F4B) over the data the terminal sent and 9F69.
func (q *tap) fdda() error {
	t := q.txn
	if t.aip[0]&aipDDA == 0 {
		return odaFail("fDDA: the card does not support it (AIP %X)", t.aip)
	}
	if t.k.cfg.Capabilities[2]&0x40 == 0 {
		return odaFail("fDDA: the terminal does not support DDA")
	}
	issuer, static, err := t.issuerKey()
	if err != nil {
		return err
	}
	if t.data.val(0x9F46) == nil {
		return odaFail("fDDA: %w: no ICC public key certificate (9F46)", errICCDataMissing)
	}
	icc, err := oda.RecoverICCKey(oda.ICCCertInput{
		Issuer: issuer, Cert: t.data.val(0x9F46), Remainder: t.data.val(0x9F48), Exponent: t.data.val(0x9F47),
		PAN: t.data.val(0x5A), StaticData: static, Now: t.now,
	})
	if err != nil {
		return odaFail("fDDA: ICC public key certificate: %w", err)
	}
	sdad, ok := t.data.get(0x9F4B)
	if !ok {
		// A TC without its signature lacks a data object fDDA needs: ICC
		// data missing beside DDA failed (HXEMV EmvModul.c, fDDA's
		// EMV_DAUTH_DATA_MISSING; as CDA's 9F4B on contact).
		return odaFail("fDDA: %w: no signed dynamic application data (9F4B)", errICCDataMissing)
	}
	// fDDA version 00 signs neither amount nor currency: a terminal that
	// supports version 01 (TTQ byte 4 bit 8) refuses it from a card of
	// application version 0030 or later (PBOC公告03, as HXEMV
	// EmvDAuth.c:1090-1103 applies it).
	if cad := t.data.val(0x9F69); (len(cad) == 0 || cad[0] == 0x00) && q.ttq[3]&0x80 != 0 {
		if v := t.data.val(0x9F08); len(v) == 2 && (uint16(v[0])<<8|uint16(v[1])) >= 0x0030 {
			return odaFail("fDDA: version 00 from a card of application version %X while the terminal supports version 01", v)
		}
	}
	// Version 01 signs 9F69 = 01 ‖ card unpredictable number ‖ CTQ: the
	// CTQ the terminal acts on (9F6C, sent in the clear) must be the one
	// signed, or a relay could clear "online PIN required" or set
	// "consumer device CVM performed" unseen. 9F69's layout is Visa's
	// fDDA 01 (VCPS), as cardsim and the PBOC test scripts use it; none
	// of the reference kernels compares the two: this project's rule.
	if cad := t.data.val(0x9F69); len(cad) > 0 && cad[0] == 0x01 {
		if ctq := t.data.val(0x9F6C); len(ctq) > 0 && (len(cad) < 5+len(ctq) || !bytes.Equal(cad[5:5+len(ctq)], ctq)) {
			return odaFail("fDDA: the CTQ signed in 9F69 (%X) is not the card's 9F6C %X", cad, ctq)
		}
	}
	num, err := oda.VerifyFDDA(oda.FDDAInput{
		ICC: icc, SDAD: sdad, UnpredictableNumber: t.term.val(0x9F37),
		Amount: t.term.val(0x9F02), Currency: t.term.val(0x5F2A), CardAuthData: t.data.val(0x9F69),
	})
	if err != nil {
		return odaFail("fDDA: %w", err)
	}
	t.data.set(0x9F4C, num)
	return nil
}

// fddaFailed handles a TC whose fDDA failed: declined when the card sent no
// CTQ; online when the terminal is online capable and the CTQ allows it;
// another interface when the CTQ asks for that; else declined.
func (q *tap) fddaFailed(ctx context.Context) (*Result, error) {
	res := q.res
	ctq, haveCTQ := q.data.get(0x9F6C)
	haveCTQ = haveCTQ && len(ctq) >= 1
	detail := "fDDA failed (" + res.ODAError + ")"
	switch {
	case !haveCTQ:
		// fDDA failed and the card sent no CTQ: declined
		// (qpboc-kernel QfDDAProcess.java:32-35).
		res.Outcome, res.Reason = OutcomeDeclined, ReasonODAFailed
		res.Detail = detail + ": declined (the card sent no CTQ)" + q.deducted()
	case q.ttq[0]&ttqOfflineOnly == 0 && ctq[0]&ctqOnlineIfODA != 0:
		return q.online(ctx, ReasonODAFailed, detail+": online authorisation of the card's TC")
	case haveCTQ && ctq[0]&ctqContactIfODA != 0 && q.ttq[0]&ttqContact != 0:
		res.Outcome, res.Reason = OutcomeTryAnotherInterface, ReasonODAFailed
		res.Detail = detail + ": the card asks for another interface" + q.deducted()
	default:
		res.Outcome, res.Reason = OutcomeDeclined, ReasonODAFailed
		res.Detail = detail + ": declined offline" + q.deducted()
	}
	return res, nil
}

// deducted says that a card which answered TC has already deducted its EC
// balance, when it has.
func (q *tap) deducted() string {
	res := q.res
	if res.CID != apdu.ACTypeTC || res.BalanceAfter == nil {
		return ""
	}
	return fmt.Sprintf("; the card has already deducted %s from its EC balance (now %s): the issuer must refund it", q.amount, *res.BalanceAfter)
}

// online sends the card's cryptogram to the host once (qPBOC: no second
// GENERATE AC, no scripts) and reports its answer.
func (q *tap) online(ctx context.Context, reason Reason, detail string) (*Result, error) {
	t, res := q.txn, q.res
	res.Field55 = t.field55(append(field55Tags[:len(field55Tags):len(field55Tags)], 0x9F66, 0x9F6C, 0x9F5D))
	if t.k.host == nil {
		res.Outcome, res.Reason = OutcomeOnlineRequired, reason
		res.Detail = detail + "; no online host: not approved" + q.deducted()
		if res.CID != apdu.ACTypeTC {
			res.Detail += ", nothing charged"
		}
		return res, nil
	}
	pan, _ := panDigits(t.data.val(0x5A))
	var psn byte
	if v := t.data.val(0x5F34); len(v) == 1 {
		psn = v[0]
	}
	var pin []byte
	ctq := t.data.val(0x9F6C)
	wantsPIN := len(ctq) >= 1 && ctq[0]&ctqOnlinePIN != 0
	// The issuer checks a consumer device CVM (9F6C goes in field 55).
	cdcvm := len(ctq) >= 2 && ctq[1]&ctqCDCVM != 0
	// A signature when the CTQ asks for one, or, with no CTQ, when the
	// terminal required CVM and offers a signature (JR/T 0025.12 §7.6 and
	// §7.8.3 as HXEMV PbocCtls.c quotes them; qpboc-kernel
	// QCardholderVerification.java): as on the offline path.
	wantsSig := len(ctq) >= 1 && ctq[0]&ctqSignature != 0 ||
		len(ctq) == 0 && q.ttq[1]&ttqCVM != 0 && q.ttq[0]&ttqSignature != 0
	if wantsPIN && (t.k.pinPad == nil || q.ttq[0]&ttqOnlinePIN == 0) {
		// The card requires an online PIN that this terminal cannot take
		// (no PIN pad, or none for this application: DF18 = 00): no
		// approval without it (what if a relay cleared the TTQ's
		// online-PIN bit? the card's own answer still says PIN).
		why := "the terminal has no PIN pad"
		if t.k.pinPad != nil {
			why = "the terminal takes no online PIN for this application"
		} else {
			res.TVR.Set(TVRPINPadNotWorking)
		}
		res.Outcome, res.Reason = OutcomeDeclined, ReasonCVMNotPerformed
		res.Detail = detail + "; the card requires an online PIN and " + why + q.deducted()
		return res, nil
	}
	if !wantsPIN && !cdcvm && !wantsSig && q.ttq[1]&ttqCVM != 0 && res.CID == apdu.ACTypeARQC {
		res.TVR.Set(TVRCVMFailed)
		res.Outcome, res.Reason = OutcomeDeclined, ReasonCVMNotPerformed
		res.Detail = detail + "; the terminal required cardholder verification (TTQ " + hexUpper(q.ttq[:]) + ") and the card asks for none"
		return res, nil
	}
	if wantsPIN {
		block, err := t.k.pinPad.OnlinePIN(ctx, pan, q.amount)
		if err != nil {
			if ctx.Err() != nil {
				return t.fail(ctx.Err())
			}
			res.TVR.Set(TVRPINNotEntered)
			res.Outcome, res.Reason = OutcomeDeclined, ReasonPINNotEntered
			res.Detail = detail + "; online PIN not entered: " + err.Error() + q.deducted()
			return res, nil
		}
		pin = block
		res.TVR.Set(TVROnlinePINEntered)
	}
	req := &AuthRequest{Kind: RequestPurchase, Amount: q.amount, PAN: pan, PANSequence: psn, Expiry: t.expiryYYMM(),
		Field55: res.Field55, PINBlock: pin, ECBalance: res.BalanceBefore}
	resp, err := t.authorize(ctx, req)
	if err != nil || resp == nil || len(resp.ResponseCode) != 2 {
		t.reverse(ctx, req, "no answer from the host")
		if ctx.Err() != nil {
			return t.fail(ctx.Err())
		}
		why := "no valid answer"
		if err != nil {
			why = err.Error()
		}
		res.Outcome, res.Reason = OutcomeDeclined, ReasonUnableToGoOnline
		res.Detail = fmt.Sprintf("%s; unable to go online (%s): declined%s", detail, why, q.deducted())
		return res, nil
	}
	res.ResponseCode = resp.ResponseCode
	switch {
	case resp.Approved():
		res.Outcome, res.Reason = OutcomeApprovedOnline, reason
		res.SignatureRequired = res.SignatureRequired || wantsSig && q.ttq[0]&ttqSignature != 0
		if reason == ReasonCardRequestedOnline {
			res.Reason = ReasonOnlineApproved
		}
		res.Detail = fmt.Sprintf("%s; approved online (response code %s)", detail, resp.ResponseCode)
		if res.CID == apdu.ACTypeTC && res.BalanceAfter != nil {
			// fDDA failed on a TC: the request carried the TC (9F27 40 in
			// field 55), so the issuer approved a sale the card has
			// already paid from its EC balance, once.
			res.Detail += fmt.Sprintf("; the card paid it from its EC balance (now %s): the request carried its TC", *res.BalanceAfter)
		}
		return res, t.record(ctx, journal.KindOnlineSale)
	case resp.ResponseCode == "55":
		res.Outcome, res.Reason = OutcomeDeclined, ReasonPINIncorrect
		res.Detail = detail + "; the issuer declined: incorrect PIN (response code 55)" + q.deducted()
	default:
		res.Outcome, res.Reason = OutcomeDeclined, ReasonIssuerDeclined
		res.Detail = fmt.Sprintf("%s; the issuer declined (response code %s)%s", detail, resp.ResponseCode, q.deducted())
	}
	return res, nil
}

// whyContact reports a card that asked for the contact interface, with
// the reason its EC data gives (GET DATA 9F79, 9F6D).
func (q *tap) whyContact(ctx context.Context, sw apdu.SW) (*Result, error) {
	t := q.txn
	detail := fmt.Sprintf("the card asked for the contact interface (GPO %s)", sw)
	reason := ReasonCardRequestedContact
	bal, err := t.ecAmount(ctx, 0x9F79, false)
	if err != nil && isCardGone(ctx, err) {
		return q.anotherInterface(reason, detail)
	}
	if err == nil && bal != nil {
		q.res.BalanceBefore = bal
		threshold, err := t.ecAmount(ctx, 0x9F6D, false)
		if err == nil && threshold != nil && q.amount <= *bal && *bal-q.amount < *threshold {
			reason = ReasonBelowResetThreshold
			detail = fmt.Sprintf("balance %s − amount %s = %s would be below the reset threshold %s: the automatic top-up needs the contact interface",
				*bal, q.amount, *bal-q.amount, *threshold)
		}
	}
	return q.anotherInterface(reason, detail)
}

// anotherInterface ends the tap with OutcomeTryAnotherInterface.
func (q *tap) anotherInterface(reason Reason, detail string) (*Result, error) {
	q.res.Outcome, q.res.Reason, q.res.Detail = OutcomeTryAnotherInterface, reason, detail
	return q.res, nil
}

// isCardGone reports a transport failure (the card left the field), as
// opposed to bad card data or a cancelled context.
func isCardGone(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var se *StatusError
	return !errors.Is(err, ErrCardData) && !errors.As(err, &se) && !errors.Is(err, apdu.ErrShortResponse)
}

// removed handles a failed exchange: a cancelled context or bad data ends
// the transaction; a card that left the field is OutcomeTryAgain, with a
// torn record when the card may have completed the sale (mayHaveCharged).
func (q *tap) removed(ctx context.Context, err error, mayHaveCharged bool) (*Result, error) {
	if !isCardGone(ctx, err) {
		return q.fail(err)
	}
	res := q.res
	res.Outcome, res.Reason = OutcomeTryAgain, ReasonCardRemoved
	res.Detail = "the card left the field: present the card again (" + err.Error() + ")"
	if mayHaveCharged && q.k.torn != nil && q.aid != nil {
		r := TornRecord{Kind: TornTap, PAN: res.PAN, AID: append([]byte(nil), q.aid...), Amount: q.amount, ATC: res.ATC, Created: q.now}
		q.addTorn(context.WithoutCancel(ctx), r, "torn tap",
			"; the card may have completed the sale: kept as a torn tap, settled from the card's log at the next tap")
	}
	return res, nil
}

// findTornTaps looks, before GPO, for the torn taps of this application
// in the card's transaction log, and returns the one this tap repeats (the
// same amount, shown completed in the log): this tap must not charge the
// card again. Torn taps are kept by AID alone (the card may have left
// before saying its PAN); those the log shows are settled, as
// discrepancies, once the PAN is known. One the log does not show is kept:
// another card may be the one that was torn, and the card's log is its own
// unauthenticated word. Only taps younger than tornTapLifetime are looked
// for, so that a lane does not read every card's log for ever; older ones
// stay in the torn log for the back office to reconcile.
func (q *tap) findTornTaps(ctx context.Context) (*Settlement, error) {
	t := q.txn
	if t.k.torn == nil {
		return nil, nil
	}
	pending, err := t.k.torn.Pending(ctx, [32]byte{}, t.aid)
	if err != nil {
		return nil, nil
	}
	fresh := pending[:0:0]
	for _, p := range pending {
		if p.Kind == TornTap && t.now.Sub(p.Created) <= tornTapLifetime {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	log, err := t.readLog(ctx, 0)
	if err != nil {
		if isCardGone(ctx, err) || ctx.Err() != nil {
			return nil, err
		}
		return nil, nil // no readable log: the torn taps stay pending
	}
	capacity := 0
	if le := t.data.val(0x9F4D); len(le) == 2 {
		capacity = int(le[1])
	}
	used := make([]bool, len(log))
	for i, e := range log {
		used[i] = t.k.taps.completed(t.aid, e)
	}
	again := -1
	for _, p := range fresh {
		i, v := matchLog(p, log, used, capacity)
		if v != logHappened {
			continue
		}
		used[i] = true
		q.settle = append(q.settle, Settlement{Record: p, Happened: true, ATC: log[i].ATC, Time: log[i].Time,
			Evidence: fmt.Sprintf("the card's log shows it (ATC %d): journaled as a discrepancy, no cryptogram", log[i].ATC)})
		if again < 0 && p.Amount == q.amount {
			again = len(q.settle) - 1
		}
	}
	if again < 0 {
		return nil, nil
	}
	s := q.settle[again]
	return &s, nil
}

// settleTornTaps journals the torn taps found in the card's log (now that
// the PAN is known) as discrepancies and forgets them. A log entry whose
// ATC already stands for a journaled sale settles nothing: the tap stays.
func (q *tap) settleTornTaps(ctx context.Context) error {
	t := q.txn
	for _, s := range q.settle {
		err := t.journalDiscrepancy(ctx, s.Record.Amount, s.ATC, s.Time, "torn tap found in the card's transaction log; the terminal never received its cryptogram")
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		if err := t.forget(ctx, s); err != nil {
			return err
		}
	}
	q.settle = nil
	return nil
}

// recover ends a tap whose torn predecessor of the same amount the card's
// log shows completed. The card is identified with a GPO that cannot
// approve offline (zero amount, online cryptogram required, no EC), so it
// is not charged twice, and the torn tap is settled from the log. The log
// is not a cryptogram: the torn tap is a discrepancy for the issuer to
// reconcile, and this tap is not an approval either — the merchant holds
// no proof of payment and must take payment another way.
func (q *tap) recover(ctx context.Context, dol tlv.DOL, s Settlement) (*Result, error) {
	t, res := q.txn, q.res
	ttq := q.ttq
	ttq[1] |= ttqOnlineAC
	t.term.set(0x9F66, ttq[:])
	t.term.set(0x9F02, Amount(0).n12())
	t.term.set(0x9F7A, []byte{0x00})
	pdolData := dol.Build(make([]byte, 0, dol.Len()), t)
	r, err := t.exchange(ctx, apdu.GetProcessingOptions(pdolData))
	t.term.set(0x9F02, q.amount.n12())
	if err != nil {
		return q.removed(ctx, err, false)
	}
	if r.SW != apdu.SWSuccess {
		return t.fail(&StatusError{Command: "GET PROCESSING OPTIONS", SW: r.SW})
	}
	o, err := tlv.ParseSingle(r.Data)
	if err != nil || o.Tag != 0x77 {
		return t.fail(fmt.Errorf("%w: GPO response: %v", ErrCardData, err))
	}
	if err := t.storeTemplate(o.Value); err != nil {
		return t.fail(err)
	}
	if err := q.setPAN(); err != nil {
		return t.fail(err)
	}
	if err := q.settleTornTaps(ctx); err != nil {
		return t.fail(err)
	}
	if atc := t.data.val(0x9F36); len(atc) == 2 {
		res.ATC = uint16(atc[0])<<8 | uint16(atc[1])
	}
	t.data.del(0x9F79)
	if after, err := t.ecAmount(ctx, 0x9F79, false); err == nil && after != nil {
		res.BalanceAfter = after
	}
	res.Outcome, res.Reason = OutcomeDeclined, ReasonTornRecovered
	res.Detail = fmt.Sprintf("the card's log shows the torn tap of %s (ATC %d) completed, but without its cryptogram the terminal cannot approve it: "+
		"kept as a discrepancy for the issuer to reconcile; this tap was not charged", s.Record.Amount, s.ATC)
	return res, nil
}
