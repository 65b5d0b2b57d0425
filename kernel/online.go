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
	kind     RequestKind
	amount   Amount
	topUp    bool
	pinBlock []byte
	reason   Reason
	detail   string
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
		t.term[0x8A] = []byte("Z3")
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
	pan, _ := panDigits(t.data[0x5A])
	var psn byte
	if v := t.data[0x5F34]; len(v) == 1 {
		psn = v[0]
	}
	req := &AuthRequest{
		Kind: r.kind, Amount: r.amount, TopUp: r.topUp, PAN: pan, PANSequence: psn,
		Field55: t.field55(field55Tags), PINBlock: r.pinBlock,
		ECBalance: res.BalanceBefore, ECLimit: t.ecLimit,
	}
	res.Field55 = req.Field55
	resp, err := t.authorize(ctx, req)
	if err != nil || resp == nil || len(resp.ResponseCode) != 2 {
		if ctx.Err() != nil {
			return t.fail(ctx.Err())
		}
		return t.unableToGoOnline(ctx, r, err)
	}
	res.ResponseCode = resp.ResponseCode
	t.term[0x8A] = []byte(resp.ResponseCode)
	if len(resp.AuthCode) == 6 {
		t.term[0x89] = []byte(resp.AuthCode)
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
			t.reverse(ctx, req, "the card went away before completing")
		}
		return res, err
	}
	if resp.Approved() && res.CID&0xC0 != apdu.ACTypeTC {
		// Reversed at the host: the balance scripts must not run, or the
		// card would be credited with money the issuer gave back.
		t.reverse(ctx, req, "the card declined after the issuer approved")
	} else {
		t.runScripts(ctx, resp.Scripts, 0x72)
	}
	if r.topUp || r.kind != RequestPurchase {
		t.settleBalance(ctx, r, req, resp)
		t.reverseIfNotCredited(ctx, req, r)
	}
	// Notes added along the way (reversal, script outcome) follow the
	// main sentence.
	notes := res.Detail
	switch {
	case res.Torn && r.kind != RequestPurchase:
		// Whether the load reached the card is unknown until the card
		// comes back: not an approval yet.
		res.Outcome = OutcomeTerminated
		res.Detail = fmt.Sprintf("%s; approved online (response code %s) but the card went away before its balance could be read", r.detail, resp.ResponseCode)
	case res.Reversed && r.kind != RequestPurchase:
		// A load whose script did not reach the card was given back.
		res.Outcome = OutcomeDeclined
		res.Detail = fmt.Sprintf("%s; approved online (response code %s) but the load did not reach the card", r.detail, resp.ResponseCode)
	case resp.ResponseCode == "55":
		res.Outcome, res.Reason = OutcomeDeclined, ReasonPINIncorrect
		res.Detail = r.detail + "; the issuer declined: incorrect PIN (response code 55)"
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
	if res.Outcome == OutcomeApprovedOnline {
		kind := journal.KindOnlineSale
		if r.kind != RequestPurchase {
			kind = journal.KindLoad
		}
		return res, t.record(ctx, kind)
	}
	return res, nil
}

// reverse asks the host to undo an approved request the card did not
// complete.
func (t *txn) reverse(ctx context.Context, req *AuthRequest, why string) {
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

// reverseIfNotCredited asks the host to undo the EC part of an approved
// top-up or load when the card's balance shows that the script did not
// take effect. When the balance is unknown (the card went away) nothing is
// reversed: the torn state is reported instead.
func (t *txn) reverseIfNotCredited(ctx context.Context, req *AuthRequest, r onlineRequest) {
	res := t.res
	if res.Reason != ReasonScriptFailed || res.BalanceAfter == nil || res.BalanceBefore == nil {
		return
	}
	if *res.BalanceAfter != *res.BalanceBefore {
		return // the card changed: do not guess
	}
	rev, ok := t.k.host.(ScriptReverser)
	if !ok {
		res.Detail += "; the host cannot reverse: the issuer must be told"
		return
	}
	if err := rev.ReverseScript(ctx, req); err != nil {
		res.Detail += "; the reversal failed: " + err.Error()
		return
	}
	res.Reversed = true
	res.Detail += "; the EC part was reversed at the host"
}

// settleBalance reads the EC balance the card holds after a top-up or a
// load and says whether the issuer's script did what was asked. The card's
// word is what the result reports.
func (t *txn) settleBalance(ctx context.Context, r onlineRequest, req *AuthRequest, resp *AuthResponse) {
	res := t.res
	after, err := t.readCardBalance(ctx)
	if err != nil {
		res.Reason = ReasonScriptFailed
		res.Detail = "; the EC balance could not be read after the script: " + err.Error()
		if resp.Approved() && res.CID&0xC0 == apdu.ACTypeTC && res.BalanceBefore != nil {
			expected := *res.BalanceBefore + r.amount
			if r.topUp && t.ecLimit != nil {
				expected = *t.ecLimit
			}
			if r.topUp && !hasTemplate(resp.Scripts, 0x72) {
				return // nothing was to change on the card
			}
			t.recordTornScript(context.WithoutCancel(ctx), req, expected)
		}
		return
	}
	res.BalanceAfter = after
	var want *Amount
	switch {
	case !resp.Approved() || res.CID&0xC0 != apdu.ACTypeTC:
		return
	case r.topUp && !hasTemplate(resp.Scripts, 0x72) && !hasTemplate(resp.Scripts, 0x71):
		res.Detail = "; the issuer approved the sale without a top-up (no script)"
		return
	case r.topUp:
		want = t.ecLimit
	case res.BalanceBefore != nil:
		w := *res.BalanceBefore + r.amount
		want = &w
	}
	if want == nil {
		return
	}
	if *after == *want {
		if r.topUp {
			res.Detail = fmt.Sprintf("; EC balance topped up to %s", *after)
		}
		return
	}
	res.Reason = ReasonScriptFailed
	res.Detail = fmt.Sprintf("; the issuer's script did not update the card: the card holds %s, not %s (script results %X)", *after, *want, []byte(res.ScriptResults))
}

// unableToGoOnline applies the default action codes (EMV Book 3 §10.7)
// when the host could not be reached.
func (t *txn) unableToGoOnline(ctx context.Context, r onlineRequest, cause error) (*Result, error) {
	res := t.res
	t.term[0x8A] = []byte("Z3")
	want := t.defaultAction()
	if r.kind != RequestPurchase || r.topUp {
		want = apdu.ACTypeAAC // a load or a top-up without the issuer is nothing
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
	if _, ok := t.data[0x8D]; !ok {
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
	t.term[0x91] = iad
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
		t.res.TVR.Set(failBit)
		t.res.Scripts = append(t.res.Scripts, ScriptResult{Template: byte(template), Err: fmt.Sprintf("malformed scripts: %v", err)})
		return
	}
	for _, o := range objs {
		if o.Tag != template {
			continue
		}
		t.res.TSI.Set(TSIScriptPerformed)
		sr := t.runScript(ctx, o.Value)
		sr.Template = byte(template)
		if !sr.OK {
			t.res.TVR.Set(failBit)
		}
		t.res.Scripts = append(t.res.Scripts, sr)
		t.res.ScriptResults = append(t.res.ScriptResults, sr.resultBytes()...)
	}
}

func (t *txn) runScript(ctx context.Context, script []byte) ScriptResult {
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
	delete(t.data, 0x9F79)
	return t.ecAmount(ctx, 0x9F79, true)
}

// hasTemplate reports whether scripts hold a template with the tag.
func hasTemplate(scripts []byte, tag tlv.Tag) bool {
	objs, err := tlv.Parse(scripts)
	if err != nil {
		return len(scripts) > 0
	}
	for _, o := range objs {
		if o.Tag == tag {
			return true
		}
	}
	return false
}
