// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/tlv"
)

// ErrNoEC reports a card application without electronic cash.
var ErrNoEC = errors.New("kernel: the application has no electronic cash")

// ErrNoLog reports a card application without a transaction log.
var ErrNoLog = errors.New("kernel: the application has no transaction log")

// offerEC sets the EC terminal support indicator (9F7A) before GPO
// (PBOC Book 13 §7.5, as HXEMV EmvModul.c quotes it): EC enabled for the
// AID, a goods/services sale, the amount below the EC terminal transaction
// limit (9F7B, or the floor limit where 9F7B is not set), and a card whose
// PDOL asks for 9F7A — a card that never receives the offer cannot take it,
// and is not asked why it did not.
func (t *txn) offerEC(amount Amount) {
	t.ecOffered, t.ecReason, t.ecDetail = false, "", ""
	limit, enabled := t.k.cfg.ECLimit(t.aid)
	switch {
	case !enabled:
		t.ecReason, t.ecDetail = ReasonECDisabled, "electronic cash is not enabled on this terminal for the application"
	case t.term.val(0x9C)[0] != TxnGoods:
		t.ecReason, t.ecDetail = ReasonECDisabled, "electronic cash is only for goods and services"
	case amount >= limit:
		t.ecReason, t.ecDetail = ReasonAboveTerminalLimit, fmt.Sprintf("amount %s is not below the terminal's EC transaction limit %s", amount, limit)
	case !t.pdolAsks(0x9F7A):
		t.ecReason, t.ecDetail = ReasonECNotSupported, "the card's PDOL does not ask for the EC terminal support indicator (9F7A)"
	default:
		t.ecOffered = true
	}
	if t.ecOffered {
		t.term.set(0x9F7A, t.own([]byte{0x01}))
	} else {
		t.term.set(0x9F7A, t.own([]byte{0x00}))
	}
}

// pdolAsks reports whether the selected application's PDOL names tag.
func (t *txn) pdolAsks(tag tlv.Tag) bool {
	d, err := tlv.ParseDOL(t.data.val(0x9F38))
	if err != nil {
		return false
	}
	for _, e := range d {
		if e.Tag == tag {
			return true
		}
	}
	return false
}

type decision struct {
	offline bool
	// topUp asks the issuer to refill the EC balance: the balance after
	// the sale would be below the reset threshold (9F6D), whether or not
	// the sale itself can come from the EC balance; offlineWithoutTopUp
	// that the balance lets the sale itself be paid offline (the top-up is
	// the only reason to go online).
	topUp               bool
	offlineWithoutTopUp bool
	reason              Reason
	detail              string
}

// needsTopUp applies the automatic top-up rule (PBOC Book 13): on an
// online-capable contact terminal, when balance − amount would fall below
// the reset threshold.
func (t *txn) needsTopUp(bal, threshold *Amount, amount Amount) bool {
	return t.k.cfg.OnlineCapable && t.app.EC && bal != nil && threshold != nil && *bal < amount+*threshold
}

// ecDecision is the EC step of terminal action analysis (PBOC Book 13).
func (t *txn) ecDecision(ctx context.Context, amount Amount) (decision, error) {
	// What if 9F74 is a lie? A card that claims the EC path it did not
	// take answers the TC request with an ARQC (online) or a TC whose
	// balance did not drop (refused in offlineEC); one that hides it goes
	// online. Only the cryptogram approves.
	code, ec := t.data.get(0x9F74)
	if !ec {
		if !t.ecOffered {
			return decision{reason: t.ecReason, detail: t.ecDetail}, nil
		}
		return t.whyNotEC(ctx, amount)
	}
	if len(code) != 6 {
		return decision{}, fmt.Errorf("%w: EC issuer authorisation code (9F74) of %d bytes", ErrCardData, len(code))
	}
	t.res.ECPath = true
	// What if the balance, the single limit or the threshold is a lie?
	// They only decide whether to ask for a TC: a card that claims more
	// than it holds is refused by its own TC check, and the TC it returns
	// must then deduct exactly the amount from the balance it said
	// (offlineEC); a card claiming less goes online. No money moves on them.
	if err := t.chooseECCurrency(ctx); err != nil {
		return decision{}, err
	}
	bal, err := t.ecAmount(ctx, t.ec.balance, true)
	if err != nil {
		return decision{}, err
	}
	threshold, err := t.ecAmount(ctx, t.ec.threshold, true)
	if err != nil {
		return decision{}, err
	}
	t.res.BalanceBefore = bal
	topUp := t.needsTopUp(bal, threshold, amount)
	// The single-transaction limit (9F78) is the card's own check: the
	// card took the EC path only within it (Book 13 §7.4.2 asks for 9F79
	// and 9F6D), so it is read only where it is in the records already.
	if v, ok := t.data.get(t.ec.single); ok {
		single, err := decodeAmount(v)
		if err != nil {
			return decision{}, fmt.Errorf("%w: %s: %w", ErrCardData, t.ec.single, err)
		}
		if amount > single {
			return decision{reason: ReasonAboveSingleLimit, topUp: topUp, detail: fmt.Sprintf("amount %s is above the EC single-transaction limit %s", amount, single)}, nil
		}
	}
	switch {
	case amount > *bal:
		return decision{reason: ReasonInsufficientBalance, topUp: topUp, detail: fmt.Sprintf("amount %s is above the EC balance %s", amount, *bal)}, nil
	case topUp:
		return decision{reason: ReasonBelowResetThreshold, topUp: true, offlineWithoutTopUp: true,
			detail: fmt.Sprintf("balance after the sale %s would be below the reset threshold %s: automatic top-up needs online authorisation", *bal-amount, *threshold)}, nil
	}
	return decision{offline: true, reason: ReasonECApproved}, nil
}

// whyNotEC finds out, when the terminal offered EC and the card did not take
// the EC path, which of the card's limits refused it.
func (t *txn) whyNotEC(ctx context.Context, amount Amount) (decision, error) {
	if err := t.chooseECCurrency(ctx); err != nil {
		return decision{}, err
	}
	bal, err := t.ecAmount(ctx, t.ec.balance, false)
	if err != nil {
		return decision{}, err
	}
	if bal == nil {
		return decision{reason: ReasonECNotSupported, detail: "the card has no electronic cash"}, nil
	}
	t.res.BalanceBefore = bal
	var threshold *Amount
	if t.k.cfg.OnlineCapable {
		if threshold, err = t.ecAmount(ctx, t.ec.threshold, false); err != nil {
			return decision{}, err
		}
	}
	topUp := t.needsTopUp(bal, threshold, amount)
	if amount > *bal {
		return decision{reason: ReasonInsufficientBalance, topUp: topUp, detail: fmt.Sprintf("amount %s is above the EC balance %s", amount, *bal)}, nil
	}
	single, err := t.ecAmount(ctx, t.ec.single, false)
	if err != nil {
		return decision{}, err
	}
	if single != nil && amount > *single {
		return decision{reason: ReasonAboveSingleLimit, topUp: topUp, detail: fmt.Sprintf("amount %s is above the EC single-transaction limit %s", amount, *single)}, nil
	}
	return decision{reason: ReasonNotECPath, topUp: topUp, detail: "the card did not take the electronic cash path"}, nil
}

// ecAmount returns an EC amount from the records or by GET DATA. With
// required set a missing value is a card error; otherwise nil is returned.
func (t *txn) ecAmount(ctx context.Context, tag tlv.Tag, required bool) (*Amount, error) {
	v, ok := t.data.get(tag)
	if !ok {
		r, err := t.exchange(ctx, apdu.GetData(uint16(tag)))
		if err != nil {
			return nil, err
		}
		if r.SW != apdu.SWSuccess {
			if required {
				return nil, fmt.Errorf("%w: GET DATA %s", &StatusError{Command: "GET DATA", SW: r.SW}, tag)
			}
			return nil, nil
		}
		if v, err = getDataValue(r.Data, tag); err != nil {
			return nil, err
		}
		t.data.set(tag, v)
	}
	a, err := decodeAmount(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCardData, tag, err)
	}
	return &a, nil
}

// getDataValue checks a GET DATA response: the whole TLV with the asked tag.
func getDataValue(b []byte, tag tlv.Tag) ([]byte, error) {
	o, err := tlv.ParseSingle(b)
	if err != nil {
		return nil, fmt.Errorf("%w: GET DATA %s: %w", ErrCardData, tag, err)
	}
	if o.Tag != tag {
		return nil, fmt.Errorf("%w: GET DATA %s answered with %s", ErrCardData, tag, o.Tag)
	}
	return o.Value, nil
}

func decodeAmount(v []byte) (Amount, error) {
	if len(v) != 6 {
		return 0, fmt.Errorf("amount of %d bytes, want 6", len(v))
	}
	n, err := bcd.Decode(v)
	if err != nil {
		return 0, err
	}
	return Amount(n), nil
}

// offlineEC asks the card for a TC. Only the card's TC approves the sale.
func (t *txn) offlineEC(ctx context.Context, amount Amount) (*Result, error) {
	cid, err := t.genAC(ctx, apdu.ACTypeTC, 0x8C)
	if err != nil {
		// The card may have approved and deducted before its answer was
		// lost or mangled: read what it holds now so the record agrees.
		res, err := t.fail(err)
		t.readBalanceAfterFailure(ctx, amount)
		return res, err
	}
	res := t.res
	if t.cdaFailed && cid&0xC0 != apdu.ACTypeAAC {
		return t.cdaDecline(ctx)
	}
	switch cid & 0xC0 {
	case apdu.ACTypeTC:
		after, err := t.balanceAfterTC(ctx)
		if err != nil {
			// The card approved and has deducted; only the new balance is
			// unknown. The sale stands; say so.
			res.Outcome, res.Reason = OutcomeApprovedOffline, ReasonECApproved
			res.Detail = "offline EC sale approved by the card; the new balance could not be read: " + err.Error()
			return res, t.record(ctx, journal.KindECOfflineSale)
		}
		res.BalanceAfter = after
		if b := res.BalanceBefore; b != nil && (*b < amount || *after != *b-amount) {
			// An EC TC deducts exactly the amount. One that did not (what
			// if a relay turned an ARQC into a TC, or the card approves
			// without paying?) is not the card's EC approval.
			res.Outcome, res.Reason = OutcomeDeclined, ReasonAnswerMismatch
			res.Detail = fmt.Sprintf("the card answered TC but reports balance %s after it, not %s − %s: not an approval", *after, *b, amount)
			return res, t.declinedTC(ctx, res.Detail)
		}
		res.Outcome, res.Reason = OutcomeApprovedOffline, ReasonECApproved
		res.Detail = "offline EC sale of " + amount.String() + " approved by the card (TC)"
		return res, t.record(ctx, journal.KindECOfflineSale)
	case apdu.ACTypeARQC:
		return t.goOnline(ctx, onlineRequest{kind: RequestPurchase, amount: amount, reason: ReasonCardRequestedOnline,
			detail: "the card asked for online authorisation (ARQC)", pinBlock: t.pinBlock})
	default:
		res.Outcome, res.Reason = OutcomeDeclined, ReasonCardDeclined
		res.Detail = "the card declined the sale (AAC)"
		return res, nil
	}
}

// balanceAfterTC reads the new EC balance that the card reports: from the
// issuer discretionary data of 9F10 (PBOC: 0A 01 ‖ balance 5 ‖ MAC 4) when
// present, else by GET DATA 9F79.
func (t *txn) balanceAfterTC(ctx context.Context) (*Amount, error) {
	if a, ok := iadBalance(t.res.IAD); ok && !t.ec.second {
		return &a, nil // the IDD's ID 01 is the balance of the card's EC currency
	}
	t.data.del(t.ec.balance)
	return t.ecAmount(ctx, t.ec.balance, true)
}

// ReadBalance selects the EC application and reads the EC balance (9F79),
// balance limit (9F77), single-transaction limit (9F78) and reset threshold
// (9F6D) with GET DATA. It returns ErrNoEC when the card has no EC balance.
func (k *Kernel) ReadBalance(ctx context.Context, card apdu.Transport) (*Balance, error) {
	res := &Result{}
	t := k.newTxn(card, res)
	defer t.release()
	cands, err := t.buildCandidates(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := t.selectApplication(ctx, cands); err != nil {
		return nil, err
	}
	b := &Balance{AID: t.keep(t.aid), Label: res.Label}
	for _, f := range []struct {
		tag tlv.Tag
		dst **Amount
	}{{0x9F79, &b.Balance}, {0x9F77, &b.Limit}, {0x9F78, &b.SingleLimit}, {0x9F6D, &b.ResetThreshold}} {
		if *f.dst, err = t.ecAmount(ctx, f.tag, false); err != nil {
			return nil, err
		}
		if b.Balance == nil {
			break // a card that refuses 9F79 has no EC: asking for the limits is pointless
		}
	}
	if b.Balance != nil {
		if err := t.readSecondCurrency(ctx, b); err != nil {
			return nil, err
		}
	}
	b.APDUs = t.apdus
	if b.Balance == nil {
		return b, fmt.Errorf("%w: GET DATA 9F79 refused", ErrNoEC)
	}
	return b, nil
}

// logTime combines YYMMDD and HHMMSS (BCD) into a time, or zero. They
// are the terminal's wall clock when it sent them (9A, 9F21 of its own
// Config.Location, which is where a card's log entries come from), so they
// are read in loc.
func logTime(date, clock []byte, loc *time.Location) time.Time {
	if len(date) != 3 {
		return time.Time{}
	}
	d, err := bcd.Decode(date)
	if err != nil {
		return time.Time{}
	}
	var c uint64
	if len(clock) == 3 {
		if c, err = bcd.Decode(clock); err != nil {
			c = 0
		}
	}
	y, m, day := int(d/10000), int(d/100%100), int(d%100)
	hh, mm, ss := int(c/10000), int(c/100%100), int(c%100)
	if m < 1 || m > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}
	}
	return time.Date(2000+y, time.Month(m), day, hh, mm, ss, 0, loc)
}

// merchantName is a log entry's 9F4E for display: its bytes without the
// padding (trailing 00 and spaces) when they are UTF-8 text, else — GBK,
// or a card's lie — only their printable ASCII (LogEntry.Fields keeps the
// bytes). Control characters never reach a display.
func merchantName(v []byte) string {
	v = bytes.TrimRight(v, "\x00 ")
	if utf8.Valid(v) && !bytes.ContainsFunc(v, unicode.IsControl) {
		return string(v)
	}
	return printable(v)
}

// decline closes the card's transaction with an AAC (first GENERATE AC) and
// reports the terminal's reason.
func (t *txn) decline(ctx context.Context, reason Reason, detail string) (*Result, error) {
	if _, err := t.genAC(ctx, apdu.ACTypeAAC, 0x8C); err != nil {
		return t.fail(err)
	}
	t.res.Outcome, t.res.Reason, t.res.Detail = OutcomeDeclined, reason, detail
	return t.res, nil
}

// cdaDecline handles a TC or ARQC whose CDA signature failed: the terminal
// must treat it as a decline (EMV Book 3 §10.8). A card that returned a TC
// for an EC sale has already deducted its balance, so the balance the card
// now holds is read and reported, never assumed.
func (t *txn) cdaDecline(ctx context.Context) (*Result, error) {
	res := t.res
	res.Outcome, res.Reason = OutcomeDeclined, ReasonODAFailed
	res.Detail = "CDA failed on the card's cryptogram: declined (" + res.ODAError + ")"
	if res.CID&0xC0 == apdu.ACTypeTC && res.ECPath {
		if after, err := t.balanceAfterTC(ctx); err == nil {
			res.BalanceAfter = after
			if res.BalanceBefore != nil && *after != *res.BalanceBefore {
				res.Detail += fmt.Sprintf("; the card deducted its EC balance from %s to %s", *res.BalanceBefore, *after)
			}
		}
		return res, t.declinedTC(ctx, "a TC whose CDA signature failed: declined, but the card has deducted")
	}
	if res.CID&0xC0 == apdu.ACTypeARQC {
		t.term.set(0x8A, []byte("Z1"))
		if _, err := t.genAC(ctx, apdu.ACTypeAAC, 0x8D); err != nil {
			return t.fail(err)
		}
	}
	return res, nil
}

// readBalanceAfterFailure reads the EC balance once more after a GENERATE AC
// whose outcome is unknown, and reports it, so that the terminal's record
// shows what the card holds. A changed balance is a discrepancy; an
// unchanged one, or none, keeps the sale as a torn record, settled when the
// card comes back.
func (t *txn) readBalanceAfterFailure(ctx context.Context, amount Amount) {
	if !t.res.ECPath {
		return
	}
	var after *Amount
	var err error = ctx.Err()
	if err == nil {
		t.data.del(t.ec.balance)
		after, err = t.ecAmount(ctx, t.ec.balance, true)
	}
	if err != nil {
		t.res.Detail += "; the EC balance could not be read afterwards: the card may have deducted the amount"
		t.recordTorn(context.WithoutCancel(ctx), amount)
		return
	}
	t.res.BalanceAfter = after
	if b := t.res.BalanceBefore; b != nil && *after != *b {
		// A GENERATE AC the card refused or whose answer was lost, followed
		// by a balance change: the card says it paid, the terminal holds no
		// cryptogram. A discrepancy to keep for reconciliation, never a
		// completed sale (and never an approval).
		note := fmt.Sprintf("the card's EC balance went from %s to %s after a GENERATE AC whose answer the terminal did not accept", *b, *after)
		t.res.Detail += "; " + note + ": kept as a discrepancy for the issuer to reconcile"
		t.res.Discrepancy = true
		if err := t.journalDiscrepancy(context.WithoutCancel(ctx), amount, 0, time.Time{}, note); err != nil {
			t.res.Detail += "; journal: " + err.Error()
		}
		return
	}
	// The balance looks unchanged — by the card's unauthenticated word (a
	// relay can answer GET DATA with the old balance after the card paid):
	// the sale is kept as torn until the card's log settles it.
	t.res.Detail += "; the card reports its EC balance unchanged"
	t.recordTorn(context.WithoutCancel(ctx), amount)
}

// readSecondCurrency adds the card's second EC currency (DF71) and its
// amounts to b, when the card has one (PBOC 3.0).
func (t *txn) readSecondCurrency(ctx context.Context, b *Balance) error {
	r, err := t.exchange(ctx, apdu.GetData(0xDF71))
	if err != nil || r.SW != apdu.SWSuccess {
		return err
	}
	cur, err := getDataValue(r.Data, 0xDF71)
	if err != nil || len(cur) != 2 {
		return nil // not a second currency the terminal can read
	}
	s := &SecondBalance{Currency: uint16(bcdValue(cur))}
	for _, f := range []struct {
		tag tlv.Tag
		dst **Amount
	}{{0xDF79, &s.Balance}, {0xDF77, &s.Limit}, {0xDF78, &s.SingleLimit}, {0xDF76, &s.ResetThreshold}} {
		if *f.dst, err = t.ecAmount(ctx, f.tag, false); err != nil {
			return err
		}
	}
	b.Second = s
	return nil
}

// ecTags names the EC data of the currency a sale is in: the card's EC
// currency (9F79 balance, 9F77 limit, 9F78 single limit, 9F6D reset
// threshold) or, PBOC 3.0, its second EC currency (DF71: DF79, DF77, DF78,
// DF76).
type ecTags struct {
	balance, limit, single, threshold tlv.Tag
	second                            bool
}

var (
	firstCurrencyEC  = ecTags{balance: 0x9F79, limit: 0x9F77, single: 0x9F78, threshold: 0x9F6D}
	secondCurrencyEC = ecTags{balance: 0xDF79, limit: 0xDF77, single: 0xDF78, threshold: 0xDF76, second: true}
)

// chooseECCurrency decides which EC data a sale uses: the second EC
// currency's when the card's application currency (9F51 in PBOC EC, else
// EMV's 9F42) is not the transaction currency (5F2A) and its second EC
// currency (DF71) is. A card whose application currency is the
// transaction's is not asked for DF71.
func (t *txn) chooseECCurrency(ctx context.Context) error {
	t.ec = firstCurrencyEC
	cur, ok := t.data.get(0x9F51)
	if !ok {
		cur, ok = t.data.get(0x9F42)
	}
	if !ok || bytes.Equal(cur, t.term.val(0x5F2A)) {
		return nil
	}
	second, ok := t.data.get(0xDF71)
	if !ok {
		r, err := t.exchange(ctx, apdu.GetData(0xDF71))
		if err != nil {
			return err
		}
		if r.SW != apdu.SWSuccess {
			return nil
		}
		if second, err = getDataValue(r.Data, 0xDF71); err != nil {
			return err
		}
		t.data.set(0xDF71, second)
	}
	if bytes.Equal(second, t.term.val(0x5F2A)) {
		t.ec = secondCurrencyEC
		t.res.ECCurrency = uint16(bcdValue(second))
	}
	return nil
}

// bcdValue is a BCD number's value (0 for anything that is not BCD).
func bcdValue(b []byte) uint64 {
	n, err := bcd.Decode(b)
	if err != nil {
		return 0
	}
	return n
}
