// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"fmt"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/tlv"
)

// The reversal queue. A financial request is armed in the state before it
// is sent; it becomes a reversal when the evidence says the acquirer may
// hold money it should not:
//
//	98  sent, no valid reply (timeout, connection dropped, a reply for
//	    another trace number, a crash before the reply was recorded)
//	A0  a reply whose MAC is missing or wrong
//	06  a reply that does not fit; the card declined or went away after the
//	    acquirer approved (kernel.Reverser); a load whose script failed;
//	    a crash before the card completed a sale
//
// and it leaves the queue only when the acquirer takes the 0400 with a
// MAC-verified reply of 00 (or 25: no such original, nothing to undo). A
// refused reversal stays, its reason becomes 06 [LY]; unlike LY, it is never
// dropped after a number of tries. A request that stood (the card
// completed it) is never reversed: the queue holds only the states above.

// reversalTags are the card data of a reversal's field 55 [PB EmvTags].
var reversalTags = []tlv.Tag{0x95, 0x9F10, 0x9F1E, 0xDF31, 0x9F36}

// adviceTags are the card data of a script result advice's field 55.
var adviceTags = []tlv.Tag{0x9F33, 0x95, 0x9F37, 0x9F1E, 0x9F10, 0x9F26, 0x9F36, 0x82, 0xDF31, 0x9F1A, 0x9A}

// sendReversals sends every owed reversal, oldest first; the first that
// does not go stops the rest with ErrReversalPending. The caller holds l.mu.
func (l *Link) sendReversals(ctx context.Context) error {
	for _, t := range l.st.txnsIn(TxnReversalPending) {
		if err := l.sendReversal(ctx, t); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrReversalPending, t.ID, err)
		}
	}
	return nil
}

// sendReversal sends the 0400 of t once. It returns nil only when the
// acquirer took it.
func (l *Link) sendReversal(ctx context.Context, t *txn) error {
	msg, err := l.reversalMessage(ctx, t)
	if err != nil {
		return err
	}
	reply, err := l.confirmed(ctx, msg, true) // a reply that does not verify keeps it for the next request [TW]
	if err != nil {
		return err
	}
	switch code := str(reply, fResponseCode); code {
	case "00", "25":
		return l.st.append(ctx, event{T: evReversed, ID: t.ID, Code: code})
	default:
		if err := l.st.append(ctx, event{T: evReversalFail, ID: t.ID, Code: code}); err != nil {
			return err
		}
		return &ResponseError{Message: "reversal", Code: code}
	}
}

// reversalMessage is the 0400 of t: the original's trace number, fields 3,
// 4, 22, 23, 25, 60 and authorisation code, the reason in 39 and the
// card's reversal data in 55, and 14 when the original carried it. Fields 26, 35, 36, 52 and 53 are dropped
// [LY]: no PIN block is kept after the request.
func (l *Link) reversalMessage(ctx context.Context, t *txn) (*iso8583.Message, error) {
	pan, err := l.st.openPAN(ctx, t)
	if err != nil {
		return nil, err
	}
	extra := fields{fPAN: string(pan), fProcessingCode: t.Processing, fAmount: fmt.Sprintf("%012d", uint64(t.Amount)),
		fEntryMode: t.EntryMode, fPANSequence: fmt.Sprintf("%03X", t.PSN), fCondition: t.Condition,
		fResponseCode: t.Reason, fCurrency: l.cfg.Currency, fReserved60: t.Field60}
	clear(pan)
	if t.Expiry != "" {
		extra[fExpiry] = t.Expiry
	}
	if len(t.AuthCode) == 6 {
		extra[fAuthCode] = t.AuthCode
	}
	if f55 := cardState(t, reversalTags, t.Scripts); len(f55) > 0 {
		extra[fICC] = f55
	}
	return l.build(msgReversal, t.STAN, t.Batch, "", "", extra)
}

// cardState is the card data of a reversal or advice: with evidence, the
// cryptogram the card authenticated after the scripts (kernel.Evidence,
// which the issuer verifies before it gives anything back) and 8A = Y1 when
// that cryptogram was an offline EC approval; without, the request's tags.
// The script results (DF31) follow when there are any.
func cardState(t *txn, tags []tlv.Tag, results []byte) []byte {
	var out []byte
	if t.Evidence != nil {
		out = clone(t.Evidence)
		if t.Y1 {
			out = tlv.Append(out, 0x8A, []byte("Y1"))
		}
	} else {
		out = pick(t.Field55, tags)
	}
	if results != nil {
		out = tlv.Append(out, 0xDF31, results)
	}
	return out
}

// sendAdvices sends every owed script result advice; one that does not go
// waits for the next request. The caller holds l.mu.
func (l *Link) sendAdvices(ctx context.Context) {
	for _, t := range l.st.txnsIn() {
		if t.Advice == nil || t.AdviceSent || t.State == TxnSent || t.State == TxnUnresolved {
			continue
		}
		if err := l.sendAdvice(ctx, t); err != nil {
			l.log("script advice deferred", "id", t.ID, "err", err)
		}
	}
}

// sendAdvice sends the 0620 of t once; nil when the acquirer took it.
func (l *Link) sendAdvice(ctx context.Context, t *txn) error {
	msg, err := l.adviceMessage(ctx, t)
	if err != nil {
		return err
	}
	reply, err := l.confirmed(ctx, msg, true)
	if err != nil {
		return err
	}
	// Answered either way: an advice the acquirer refuses (evidence it
	// could not verify) is not sent again; the issuer reconciles.
	code := str(reply, fResponseCode)
	if err := l.st.append(ctx, event{T: evAdviceDone, ID: t.ID, Code: code}); err != nil {
		return err
	}
	if code != "00" {
		return &ResponseError{Message: "script advice", Code: code}
	}
	return nil
}

// adviceMessage is the 0620 of t [LY; PB PackICScript]: a new trace number,
// the original's card fields, 60 = 00 ‖ batch ‖ 951 ‖ original 60.4-5,
// 61 = original batch ‖ trace number ‖ MMDD, 55 with the script results
// (DF31).
func (l *Link) adviceMessage(ctx context.Context, t *txn) (*iso8583.Message, error) {
	stan, batch, err := l.number(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	pan, err := l.st.openPAN(ctx, t)
	if err != nil {
		return nil, err
	}
	extra := fields{fPAN: string(pan), fProcessingCode: t.Processing, fAmount: fmt.Sprintf("%012d", uint64(t.Amount)),
		fEntryMode: t.EntryMode, fPANSequence: fmt.Sprintf("%03X", t.PSN), fCondition: t.Condition, fCurrency: l.cfg.Currency,
		fOriginal: fmt.Sprintf("%06d%06d%s", t.Batch, t.STAN, t.Time.Format("0102"))}
	clear(pan)
	if len(t.RRN) == 12 {
		extra[fRRN] = t.RRN
	}
	if len(t.AuthCode) == 6 {
		extra[fAuthCode] = t.AuthCode
	}
	extra[fICC] = cardState(t, adviceTags, t.Advice)
	orig, _ := ParseField60(t.Field60)
	rest := orig.Rest
	if len(rest) > 2 {
		rest = rest[:2]
	}
	return l.build(msgScriptAdvice, stan, batch, "", rest, extra)
}

// pick returns the top-level objects of data with one of the tags, in the
// order of tags.
func pick(data []byte, tags []tlv.Tag) []byte {
	objs, err := tlv.Parse(data)
	if err != nil {
		return nil
	}
	var out []byte
	for _, tag := range tags {
		for _, o := range objs {
			if o.Tag == tag {
				out = tlv.Append(out, o.Tag, o.Value)
				break
			}
		}
	}
	return out
}
