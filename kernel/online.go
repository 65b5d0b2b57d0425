// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/tlv"
)

// field55Tags are the ICC data an online request carries (ISO 8583 field
// 55, in the order CUPS lists them).
var field55Tags = []tlv.Tag{
	0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A,
	0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x9F63,
}

// field55 builds the ICC system related data from the transaction's data,
// kept for the caller (Result.Field55, the host's request).
func (t *txn) field55(tags []tlv.Tag) []byte {
	n := 0
	for _, tag := range tags {
		if v, ok := t.Value(tag); ok {
			n += tlv.TLV{Tag: tag, Value: v}.EncodedLen()
		}
	}
	out := t.keepSpace(n)
	for _, tag := range tags {
		if v, ok := t.Value(tag); ok {
			out = tlv.Append(out, tag, v)
		}
	}
	return out
}

// onlineRequest says what goes to the host.
type onlineRequest struct {
	kind   RequestKind
	amount Amount
	topUp  bool
	// offlineWithoutTopUp: the EC balance could have paid the sale offline
	// (only the top-up took it online).
	offlineWithoutTopUp bool
	pinBlock            []byte
	reason              Reason
	detail              string
}

// goOnline performs online processing: the first GENERATE AC (ARQC) unless
// the card already answered ARQC, the host, issuer authentication, scripts
// and the second GENERATE AC (EMV Book 3 §10.9-10.10).
func (t *txn) goOnline(ctx context.Context, r onlineRequest) (*Result, error) {
	res := t.res
	if res.CID&0xC0 != apdu.ACTypeARQC {
		cid, err := t.genAC(ctx, apdu.ACTypeARQC, 0x8C)
		if err != nil {
			return t.fail(err)
		}
		if t.cdaFailed {
			return t.cdaDecline(ctx)
		}
		if cid&0xC0 == apdu.ACTypeAAC {
			res.Outcome, res.Reason = OutcomeDeclined, ReasonCardDeclined
			res.Detail = r.detail + "; the card declined (AAC)"
			return res, nil
		}
	}
	if t.k.host == nil {
		t.term.set(0x8A, []byte("Z3"))
		if err := t.secondGenAC(ctx, apdu.ACTypeAAC); err != nil {
			return t.fail(err)
		}
		res.Outcome, res.Reason = OutcomeOnlineRequired, r.reason
		if r.kind != RequestPurchase {
			res.Reason = ReasonUnableToGoOnline // a load is online or nothing
		}
		res.Detail = r.detail + "; no online host: not approved, nothing charged"
		return res, nil
	}
	pan, _ := panDigits(t.data.val(0x5A))
	var psn byte
	if v := t.data.val(0x5F34); len(v) == 1 {
		psn = v[0]
	}
	req := &AuthRequest{
		Kind: r.kind, Amount: r.amount, TopUp: r.topUp, PAN: pan, PANSequence: psn, Expiry: t.expiryYYMM(),
		Field55: t.field55(field55Tags), PINBlock: r.pinBlock,
		ECBalance: res.BalanceBefore, ECLimit: t.ecLimit, ECBalanceTag: uint16(t.ec.balance),
	}
	res.Field55 = req.Field55
	resp, err := t.authorize(ctx, req)
	if err != nil || resp == nil || len(resp.ResponseCode) != 2 {
		// The issuer may have acted on a request whose answer the terminal
		// never got: undo it (nothing reached the card, so nothing there
		// can hold what the issuer gave).
		t.reverse(ctx, req, "no answer from the host")
		if ctx.Err() != nil {
			return t.fail(ctx.Err())
		}
		return t.unableToGoOnline(ctx, r, err)
	}
	// What if the host lies? Its approval still needs the card's TC in the
	// second GENERATE AC (a card that refuses an unauthenticated ARPC
	// declines); its scripts are only sent to the card, which checks their
	// MAC, and the result is what the card then holds (settleBalance).
	res.ResponseCode = resp.ResponseCode
	t.term.set(0x8A, []byte(resp.ResponseCode))
	if len(resp.AuthCode) == 6 {
		t.term.set(0x89, []byte(resp.AuthCode))
	}
	t.issuerAuthentication(ctx, resp.IssuerAuthData)
	t.runScripts(ctx, resp.Scripts, 0x71)
	want := apdu.ACTypeAAC
	if resp.Approved() {
		want = apdu.ACTypeTC
	}
	if err := t.secondGenAC(ctx, want); err != nil {
		res, err := t.fail(err)
		if resp.Approved() {
			t.undoApproval(ctx, req, r, "the card went away before completing")
		}
		return res, err
	}
	completed := resp.Approved() && res.CID&0xC0 == apdu.ACTypeTC
	if resp.Approved() && !completed {
		// Undone at the host: the balance scripts must not run, or the
		// card would be credited with money the issuer gave back.
		t.undoApproval(ctx, req, r, "the card declined after the issuer approved")
	} else {
		t.runScripts(ctx, resp.Scripts, 0x72)
	}
	if completed && (r.topUp || r.kind != RequestPurchase) {
		t.settleBalance(ctx, r, req, resp)
	}
	t.onlineOutcome(r, resp)
	if res.Outcome == OutcomeApprovedOnline {
		kind := journal.KindOnlineSale
		if r.kind != RequestPurchase {
			kind = journal.KindLoad
		}
		return res, t.record(ctx, kind)
	}
	return res, nil
}

// onlineOutcome sets the outcome of an answered online request. Notes
// added along the way (reversal, script outcome) follow the main sentence.
func (t *txn) onlineOutcome(r onlineRequest, resp *AuthResponse) {
	res := t.res
	notes := res.Detail
	load := r.kind != RequestPurchase
	switch {
	case load && res.Reason == ReasonScriptFailed && res.Reversed:
		// A load whose script did not reach the card, given back.
		res.Outcome = OutcomeDeclined
		res.Detail = fmt.Sprintf("%s; approved online (response code %s) but the load did not reach the card", r.detail, resp.ResponseCode)
	case load && res.Reason == ReasonScriptFailed:
		// Whether the load reached the card is not proven until the card
		// comes back: not an approval.
		res.Outcome = OutcomeTerminated
		res.Detail = fmt.Sprintf("%s; approved online (response code %s) but the card has not proven the load", r.detail, resp.ResponseCode)
	case resp.ResponseCode == "55":
		res.Outcome, res.Reason = OutcomeDeclined, ReasonPINIncorrect
		res.Detail = r.detail + "; the issuer declined: incorrect PIN (response code 55)"
		if r.topUp {
			res.TopUpFailed = true
			res.Detail += "; the top-up failed for the PIN"
			if r.offlineWithoutTopUp {
				res.ECCouldPayOffline = true
				res.Detail += "; the EC balance can still pay this sale offline: present the card again without the top-up"
			}
		}
	case !resp.Approved():
		res.Outcome, res.Reason = OutcomeDeclined, ReasonIssuerDeclined
		res.Detail = fmt.Sprintf("%s; the issuer declined (response code %s)", r.detail, resp.ResponseCode)
	case res.CID&0xC0 != apdu.ACTypeTC:
		res.Outcome, res.Reason = OutcomeDeclined, ReasonCardDeclined
		res.Detail = r.detail + "; the issuer approved but the card declined (AAC) in the second GENERATE AC"
	default:
		res.Outcome = OutcomeApprovedOnline
		if res.Reason == "" {
			res.Reason = r.reason
		}
		res.Detail = fmt.Sprintf("%s; approved online (response code %s)", r.detail, resp.ResponseCode)
	}
	res.Detail += notes
}

// undoApproval handles an approval the card did not complete. When no
// balance script of the issuer reached the card, the approval moved nothing
// onto it and is reversed at the host: the merchant delivers nothing, the
// account is charged nothing. When one did (a script before the second
// GENERATE AC), the card may hold the refill or the load: nothing is given
// back on the terminal's word; the request is kept pending, to be settled
// from the card's authenticated balance when it comes back.
func (t *txn) undoApproval(ctx context.Context, req *AuthRequest, r onlineRequest, why string) {
	if !t.balanceScriptSent() {
		t.reverse(ctx, req, why)
		return
	}
	t.res.Detail += "; " + why + " after a balance script reached it: not reversed"
	if r.topUp || r.kind != RequestPurchase {
		expected := t.res.Amount
		if t.res.BalanceBefore != nil {
			expected += *t.res.BalanceBefore
		}
		t.recordTornScript(context.WithoutCancel(ctx), req, expected)
	}
}

// reverse asks the host to undo an approved request the card did not
// complete.
func (t *txn) reverse(ctx context.Context, req *AuthRequest, why string) {
	if !t.sent(req) {
		return // no STAN could be drawn: the request never left (clearing.go)
	}
	rev, ok := t.k.host.(Reverser)
	if !ok {
		t.res.Detail += "; " + why + ": the host cannot reverse, the issuer must be told"
		return
	}
	if err := rev.Reverse(context.WithoutCancel(ctx), req); err != nil {
		t.res.Detail += "; " + why + ": the reversal failed: " + err.Error()
		return
	}
	t.res.Reversed = true
	t.res.Detail += "; " + why + ": reversed at the host"
}

// reverseScript asks the host to undo the EC part of an approved request,
// with the card's authenticated evidence (nil when no balance script
// reached the card, which then cannot hold it). It reports success.
func (t *txn) reverseScript(ctx context.Context, req *AuthRequest, ev *Evidence) bool {
	rev, ok := t.k.host.(ScriptReverser)
	if !ok {
		t.res.Detail += "; the host cannot reverse: the issuer must be told"
		return false
	}
	r := *req
	r.Evidence = ev
	if err := rev.ReverseScript(context.WithoutCancel(ctx), &r); err != nil {
		t.res.Detail += "; the reversal failed: " + err.Error()
		return false
	}
	t.res.Reversed = true
	t.res.Detail += "; the EC part was reversed at the host"
	return true
}

// settleBalance decides, after an approved and completed top-up or load,
// what the card really holds and what that means at the host (PBOC Book 13;
// the money rules in the README):
//
//   - no balance script reached the card (the issuer sent none, or none
//     could be sent): the card cannot hold the refill or the load, so it is
//     reversed at once;
//   - the card holds exactly what the script set (a load: previous +
//     amount, whatever the host said): done;
//   - otherwise the top-up or load failed. It is reversed now only on
//     authenticated evidence — a script before the second GENERATE AC, so
//     that the second cryptogram's IAD carries the balance after it, from
//     a card that authenticated itself — showing the card unchanged;
//     anything less (a GET DATA, which a relay can forge; a card gone) keeps
//     the request pending, settled from the card's authenticated balance at
//     its next presentation, or by the issuer.
func (t *txn) settleBalance(ctx context.Context, r onlineRequest, req *AuthRequest, resp *AuthResponse) {
	res := t.res
	if !t.balanceScriptSent() {
		res.Reason = ReasonScriptFailed
		res.Detail = "; no balance script of the issuer reached the card"
		if after, err := t.readCardBalance(ctx); err == nil {
			res.BalanceAfter = after
		}
		t.reverseScript(ctx, req, nil)
		return
	}
	want := t.wantedBalance(r, resp.Scripts)
	after, authenticated, err := t.balanceAfterScripts(ctx)
	if err != nil {
		res.Reason = ReasonScriptFailed
		res.Detail = "; the EC balance could not be read after the script: " + err.Error()
		t.recordTornScript(context.WithoutCancel(ctx), req, amountOr0(want))
		return
	}
	res.BalanceAfter = after
	if want != nil && *after == *want {
		if r.topUp {
			res.Detail = fmt.Sprintf("; EC balance topped up to %s", *after)
		}
		return
	}
	res.Reason = ReasonScriptFailed
	res.Detail = fmt.Sprintf("; the issuer's script did not set the card to %s: the card holds %s (script results %X)", amountText(want), *after, []byte(res.ScriptResults))
	if ev := t.evidence(); authenticated && ev != nil && res.BalanceBefore != nil && ev.BalanceBefore() == *res.BalanceBefore {
		t.reverseScript(ctx, req, ev)
		return
	}
	t.recordTornScript(context.WithoutCancel(ctx), req, amountOr0(want))
}

// amountOr0 is *a, or 0 (no balance expected) for nil.
func amountOr0(a *Amount) Amount {
	if a == nil {
		return 0
	}
	return *a
}

// wantedBalance is the balance the card must hold after the scripts: for a
// load, previous + amount (whatever the host said); for a top-up, the value
// the issuer's script sets (the issuer's choice), else the balance limit.
func (t *txn) wantedBalance(r onlineRequest, scripts []byte) *Amount {
	if r.kind != RequestPurchase {
		if t.res.BalanceBefore == nil {
			return nil
		}
		w := *t.res.BalanceBefore + r.amount
		return &w
	}
	if v, ok := scriptBalance(scripts, t.ec.balance); ok {
		return &v
	}
	return t.ecLimit
}

// balanceAfterScripts is the card's EC balance after the issuer's scripts:
// from the second cryptogram's IAD when every balance script ran before it
// (authenticated: the card MACs it), else by GET DATA 9F79.
func (t *txn) balanceAfterScripts(ctx context.Context) (*Amount, bool, error) {
	if !t.balanceScript[1] {
		if a, ok := iadBalance(t.res.IAD); ok {
			return &a, true, nil
		}
	}
	a, err := t.readCardBalance(ctx)
	return a, false, err
}

// balanceScriptSent reports that an issuer script command that changes
// card data (PUT DATA) was transmitted to the card in this transaction.
func (t *txn) balanceScriptSent() bool { return t.balanceScript[0] || t.balanceScript[1] }

func amountText(a *Amount) string {
	if a == nil {
		return "the expected balance"
	}
	return a.String()
}

// scriptBalance returns the EC balance (tag: 9F79, or DF79 for the second
// currency) a script of the issuer sets: the value of a PUT DATA command
// (04 DA 9F 79 Lc value(6) MAC(4)). What if it is a lie? It only names
// what the card should hold; success is still what the card reports.
func scriptBalance(scripts []byte, tag tlv.Tag) (Amount, bool) {
	var found Amount
	ok := false
	_ = tlv.Walk(scripts, func(_ int, o tlv.TLV) error {
		if o.Tag != 0x86 {
			return nil
		}
		c, err := apdu.ParseCommand(o.Value)
		if err != nil || c.INS != 0xDA || c.P1 != byte(tag>>8) || c.P2 != byte(tag) || len(c.Data) < 6 {
			return nil
		}
		if a, err := decodeAmount(c.Data[:6]); err == nil {
			found, ok = a, true
		}
		return nil
	})
	return found, ok
}

// unableToGoOnline applies the default action codes (EMV Book 3 §10.7)
// when the host could not be reached.
func (t *txn) unableToGoOnline(ctx context.Context, r onlineRequest, cause error) (*Result, error) {
	res := t.res
	want := t.defaultAction()
	if r.kind != RequestPurchase {
		want = apdu.ACTypeAAC // a load without the issuer is nothing
	}
	if r.topUp {
		// The top-up fails without the issuer; the sale itself follows the
		// default action codes, as any sale whose host is unreachable.
		res.TopUpFailed = true
	}
	// Unable to go online: Y3 when asking for a TC, Z3 with an AAC (EMV
	// Book 4 §A6; HXEMV EmvModul.c:2239-2250).
	t.term.set(0x8A, []byte("Z3"))
	if want == apdu.ACTypeTC {
		t.term.set(0x8A, []byte("Y3"))
	}
	if err := t.secondGenAC(ctx, want); err != nil {
		return t.fail(err)
	}
	why := "host unreachable"
	if cause != nil {
		why = cause.Error()
	}
	if res.CID&0xC0 == apdu.ACTypeTC {
		res.Outcome, res.Reason = OutcomeApprovedOffline, ReasonUnableToGoOnline
		res.Detail = fmt.Sprintf("%s; unable to go online (%s): approved offline by the default action codes", r.detail, why)
		return res, t.record(ctx, journal.KindOfflineSale)
	}
	res.Outcome, res.Reason = OutcomeDeclined, ReasonUnableToGoOnline
	res.Detail = fmt.Sprintf("%s; unable to go online (%s): declined", r.detail, why)
	return res, nil
}

// secondGenAC sends the second GENERATE AC with CDOL2.
func (t *txn) secondGenAC(ctx context.Context, want byte) error {
	if _, ok := t.data.get(0x8D); !ok {
		return fmt.Errorf("%w: no CDOL2", ErrCardData)
	}
	cid, err := t.genAC(ctx, want, 0x8D)
	if err != nil {
		return err
	}
	if t.cdaFailed && cid&0xC0 == apdu.ACTypeTC {
		t.res.CID = apdu.ACTypeAAC // a TC whose CDA failed counts as a decline
	}
	return nil
}

// issuerAuthentication sends EXTERNAL AUTHENTICATE with the issuer
// authentication data when the AIP says the card supports it; otherwise 91
// travels in the second GENERATE AC if CDOL2 asks for it.
func (t *txn) issuerAuthentication(ctx context.Context, iad []byte) {
	if len(iad) < 8 || len(iad) > 16 {
		return
	}
	t.term.set(0x91, iad)
	if t.aip[0]&aipIssuerAuth == 0 {
		return
	}
	t.res.TSI.Set(TSIIssuerAuthPerformed)
	r, err := t.exchange(ctx, apdu.ExternalAuthenticate(iad))
	if err != nil || r.SW != apdu.SWSuccess {
		t.res.TVR.Set(TVRIssuerAuthFailed)
	}
}

// ScriptResult is the result of one issuer script.
type ScriptResult struct {
	// ID is the issuer script identifier (9F18), if any.
	ID HexBytes `json:"id,omitempty"`
	// Template is 71 (before the final GENERATE AC) or 72 (after).
	Template byte `json:"template"`
	// OK reports that every command succeeded.
	OK bool `json:"ok"`
	// Failed is the 1-based number of the command that failed (0 when OK).
	Failed int `json:"failed,omitempty"`
	// SW is the status word of the last command sent.
	SW apdu.SW `json:"sw"`
	// Err is set when the card could not be reached during the script.
	Err string `json:"error,omitempty"`
}

const (
	maxScriptBytes    = 1024
	maxScriptCommands = 16
)

// runScripts processes the issuer scripts of one template (71 or 72) and
// records their results (9F5B), the TVR and the TSI. Failures are results,
// not errors: the transaction's outcome stands, and the caller reads the
// card's state afterwards.
func (t *txn) runScripts(ctx context.Context, scripts []byte, template tlv.Tag) {
	if len(scripts) == 0 {
		return
	}
	failBit := TVRScriptFailedBefore
	if template == 0x72 {
		failBit = TVRScriptFailedAfter
	}
	objs, err := tlv.Parse(scripts)
	if err != nil || len(scripts) > maxScriptBytes {
		// Scripts received but not processable were still processed as
		// far as the TSI goes (HXEMV EmvModul.c, after EMV cases
		// 2CO.034.02-03): the TVR says how it ended.
		t.res.TSI.Set(TSIScriptPerformed)
		t.res.TVR.Set(failBit)
		t.res.Scripts = append(t.res.Scripts, ScriptResult{Template: byte(template), Err: fmt.Sprintf("malformed scripts: %v", err)})
		return
	}
	for _, o := range objs {
		if o.Tag != template {
			continue
		}
		t.res.TSI.Set(TSIScriptPerformed)
		sr := t.runScript(ctx, o.Value, template)
		sr.Template = byte(template)
		if !sr.OK {
			t.res.TVR.Set(failBit)
		}
		t.res.Scripts = append(t.res.Scripts, sr)
		t.res.ScriptResults = append(t.res.ScriptResults, sr.resultBytes()...)
	}
}

func (t *txn) runScript(ctx context.Context, script []byte, template tlv.Tag) ScriptResult {
	var sr ScriptResult
	objs, err := tlv.Parse(script)
	if err != nil {
		sr.Err = err.Error()
		sr.Failed = 1
		return sr
	}
	n := 0
	for _, o := range objs {
		switch o.Tag {
		case 0x9F18:
			if len(o.Value) == 4 {
				sr.ID = t.keep(o.Value)
			}
		case 0x86:
			n++
			if n > maxScriptCommands {
				sr.Failed, sr.Err = n, "too many commands"
				return sr
			}
			cmd, err := apdu.ParseCommand(o.Value)
			if err != nil {
				sr.Failed, sr.Err = n, err.Error()
				return sr
			}
			if cmd.INS == 0xDA || cmd.INS == 0xDB {
				// From here on the card may hold what the script sets,
				// whatever its answer (or its absence) says.
				t.balanceScript[template-0x71] = true
			}
			r, err := t.exchange(ctx, cmd)
			if err != nil {
				sr.Failed, sr.Err = n, err.Error()
				return sr
			}
			sr.SW = r.SW
			if sw1 := byte(r.SW >> 8); r.SW != apdu.SWSuccess && sw1 != 0x62 && sw1 != 0x63 {
				sr.Failed = n
				return sr
			}
		}
	}
	if n == 0 {
		sr.Failed, sr.Err = 1, "script without commands"
		return sr
	}
	sr.OK = true
	return sr
}

// resultBytes encodes one script result for 9F5B: result nibble (1 failed,
// 2 successful) and sequence number, then the 4-byte script identifier.
func (sr ScriptResult) resultBytes() []byte {
	b := make([]byte, 5)
	if sr.OK {
		b[0] = 0x20
	} else {
		seq := sr.Failed
		if seq > 14 {
			seq = 15
		}
		b[0] = 0x10 | byte(seq)
	}
	copy(b[1:], sr.ID)
	return b
}

// readCardBalance reads the EC balance the card holds now (after scripts).
func (t *txn) readCardBalance(ctx context.Context) (*Amount, error) {
	t.data.del(t.ec.balance)
	return t.ecAmount(ctx, t.ec.balance, true)
}
