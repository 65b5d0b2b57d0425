// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// ErrQueued reports a reversal or advice that is durably queued but not yet
// taken by the acquirer: it goes before the next online request.
var ErrQueued = errors.New("acquirer: queued, to be sent before the next online request")

// requestKinds maps the kernel's request kinds to their messages.
var requestKinds = map[kernel.RequestKind]msgKind{
	kernel.RequestPurchase:          msgSale,
	kernel.RequestLoadDesignated:    msgLoadDesignated,
	kernel.RequestLoadNonDesignated: msgLoadOther,
	kernel.RequestLoadCash:          msgLoadCash,
}

// Authorize sends a sale or an EC load (kernel.Host): first what is owed
// (script advices, the pending reversal, offline uploads), then the 0200,
// armed for reversal in the state before it leaves. See the package
// documentation for what each failure leaves behind. An error means the
// kernel could not go online; a decline is a response.
func (l *Link) Authorize(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrMessage)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.signedIn && len(req.PINBlock) > 0 {
		return nil, l.keysChanged(ctx)
	}
	// The approvals the kernel has finished with are settled in the same
	// write that arms this request: one fsync fewer per sale.
	stood := l.finished()
	if err := l.beforeOnline(ctx, false); err != nil {
		return nil, err
	}
	msg, t, err := l.arm(ctx, req, stood)
	if err != nil {
		return nil, err
	}
	reply, in, err := l.exchange(ctx, msg)
	resp, err := l.answer(ctx, t, msg, reply, in, err)
	if err == nil {
		if len(l.byReq) >= 64 {
			clear(l.byReq)
		}
		l.byReq[req] = t.ID
	}
	return resp, err
}

// keysChanged handles a request whose PIN block the PIN pad enciphered
// while the link was signed off (SignOff, or a reply header asking for a
// sign-in): the sign-in this request needs replaces the PIK at the
// acquirer too, which would then read a wrong PIN and count a try against
// the cardholder. The link signs in and refuses the request unsent
// (ErrKeysChanged): nothing to reverse, and the terminal asks for the PIN
// again under the new key. The caller holds l.mu.
func (l *Link) keysChanged(ctx context.Context) error {
	if err := l.connect(ctx); err != nil {
		return err
	}
	if err := l.signIn(ctx); err != nil {
		return err
	}
	return fmt.Errorf("%w: signed in again; the PIN block was enciphered under the keys it replaced", ErrKeysChanged)
}

// beforeOnline does what must precede an online request: settle the
// approvals the kernel has finished with (when settle is set; Authorize
// does it in its arming write), sign in if needed, then send the script
// advices, the pending reversals (ErrReversalPending if one cannot go) and
// the offline uploads (failures there do not stop the sale). The caller
// holds l.mu.
func (l *Link) beforeOnline(ctx context.Context, settle bool) error {
	if settle {
		for _, id := range l.finished() {
			if err := l.st.append(ctx, event{T: evStood, ID: id}); err != nil {
				return err
			}
		}
	}
	if err := l.connect(ctx); err != nil {
		return err
	}
	if !l.signedIn {
		if err := l.signIn(ctx); err != nil {
			return err
		}
	}
	l.sendAdvices(ctx)
	if err := l.sendReversals(ctx); err != nil {
		return err
	}
	if _, err := l.uploadOffline(ctx); err != nil {
		l.log("offline upload deferred", "err", err)
	}
	return nil
}

// Flush sends what is owed without a new request: script advices, pending
// reversals (ErrReversalPending when one cannot go) and offline uploads.
// Authorize and Settle flush first by themselves; Flush is for an idle
// terminal (a timer, the operator) and for tests.
func (l *Link) Flush(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.beforeOnline(ctx, true); err != nil {
		return err
	}
	if _, err := l.uploadOffline(ctx); err != nil {
		return fmt.Errorf("acquirer: offline upload: %w", err)
	}
	return nil
}

// finished returns the approvals of this process that the kernel did not
// reverse: they stood. Evidence: the kernel calls Reverse (or
// ReverseScript) before it returns when the card did not complete; it asks
// for nothing else while a transaction is open, so by the next request (or
// a settlement) an approval it left alone was completed. Approvals a crash
// left open were settled by Open from the journal instead.
func (l *Link) finished() []string {
	var ids []string
	for _, t := range l.st.txnsIn(TxnApproved) {
		ids = append(ids, t.ID)
	}
	return ids
}

// arm builds the 0200 for req and makes it durable with the data its
// reversal needs, before anything is sent.
func (l *Link) arm(ctx context.Context, req *kernel.AuthRequest, stood []string) (*iso8583.Message, *txn, error) {
	k, ok := requestKinds[req.Kind]
	if !ok {
		return nil, nil, fmt.Errorf("%w: request kind %v", ErrMessage, req.Kind)
	}
	if err := checkPAN(req.PAN); err != nil {
		return nil, nil, err
	}
	if req.Amount > kernel.MaxAmount {
		return nil, nil, fmt.Errorf("%w: amount %s", ErrMessage, req.Amount)
	}
	f55, err := requestField55(req)
	if err != nil {
		return nil, nil, err
	}
	contactless := hasTag(req.Field55, 0x9F66) // the qPBOC request carries the TTQ
	// The kernel's STAN when it numbers its transactions: the journal
	// record and the reversal carry the same.
	stan, batch, err := l.number(ctx, req.STAN, req.Batch)
	if err != nil {
		return nil, nil, err
	}
	rec := txnRecord{ID: fmt.Sprintf("%06d:%06d", batch, stan), Kind: req.Kind, TopUp: req.TopUp, Contactless: contactless,
		STAN: stan, Batch: batch, Time: l.now(), MaskedPAN: maskPAN(req.PAN), PSN: req.PANSequence, Amount: req.Amount,
		Field55: clone(req.Field55)}
	extra, err := l.cardFields(req.PAN, req.PANSequence, req.PINBlock, contactless)
	if err != nil {
		return nil, nil, err
	}
	extra[fAmount] = fmt.Sprintf("%012d", uint64(req.Amount))
	// 14 when the card gave its expiry (UnionPay: present when the
	// terminal can read it), and the reversal repeats it.
	if validYYMM(req.Expiry) {
		extra[fExpiry] = req.Expiry
		rec.Expiry = req.Expiry
	}
	// 49 as PB's sale and every recorded one (recorded_test.go) carry it;
	// the reversal of this request carries it too.
	extra[fCurrency] = l.cfg.Currency
	extra[fICC] = f55
	msg, err := l.build(k, stan, batch, "", l.rest60(contactless), extra)
	if err != nil {
		return nil, nil, err
	}
	rec.Processing, rec.Condition, rec.EntryMode, rec.Field60 = str(msg, fProcessingCode), str(msg, fCondition), str(msg, fEntryMode), str(msg, fReserved60)
	if rec.SealedPAN, err = l.st.sealPAN(ctx, rec.ID, req.PAN); err != nil {
		return nil, nil, err
	}
	if err := l.st.append(ctx, event{T: evArmed, Txn: &rec, Stood: stood}); err != nil {
		return nil, nil, err
	}
	t, _ := l.st.txnByID(rec.ID)
	return msg, t, nil
}

// cardFields are the fields that describe the card and the cardholder's
// verification: 2, 22, 23, and with a PIN block 26, 52, 53.
func (l *Link) cardFields(pan string, psn byte, pinBlock []byte, contactless bool) (fields, error) {
	if psn>>4 > 9 || psn&0x0F > 9 {
		return nil, fmt.Errorf("%w: PAN sequence number %02X is not BCD", ErrMessage, psn)
	}
	entry := "05" // IC contact
	if contactless {
		entry = "07" // qPBOC
	}
	f := fields{fPAN: pan, fPANSequence: fmt.Sprintf("%03X", psn)}
	switch {
	case pinBlock == nil:
		f[fEntryMode] = entry + "2"
	case len(pinBlock) != 8:
		return nil, fmt.Errorf("%w: PIN block of %d bytes (field 52 holds 8)", ErrMessage, len(pinBlock))
	default:
		f[fEntryMode] = entry + "1"
		f[fPINCapture] = "12"
		f[fPINBlock] = clone(pinBlock)
		alg := "0" // single-DES PIK
		if l.cfg.Variant.Keys.tripleDES() {
			alg = "6"
		}
		f[fSecurity] = "2" + alg + "00000000000000" // format 0 with PAN, no track encryption
	}
	return f, nil
}

// rest60 is 60.4 (read capability) and 60.5 (IC condition: normal).
func (l *Link) rest60(contactless bool) string {
	rc := l.cfg.Variant.ReadCapability
	if contactless {
		rc = ReadContactless
	}
	return string([]byte{rc, ICNormal})
}

// requestField55 is the kernel's field 55, with, for a top-up or a load,
// the EC balance (9F79) and limit (9F77) the terminal read (DF79 and DF77
// in the card's second currency): the issuer needs both to set the new
// balance. No source shows how the UnionPay
// message carries a top-up request; this link says it with those two
// tags, and the simulator reads it so.
func requestField55(req *kernel.AuthRequest) ([]byte, error) {
	f55 := clone(req.Field55)
	if req.TopUp || req.Kind != kernel.RequestPurchase {
		balance, limit := tlv.Tag(0x9F79), tlv.Tag(0x9F77)
		if req.ECBalanceTag == 0xDF79 { // the card's second EC currency (PBOC 3.0)
			balance, limit = 0xDF79, 0xDF77
		}
		for _, ec := range []struct {
			tag tlv.Tag
			v   *kernel.Amount
		}{{balance, req.ECBalance}, {limit, req.ECLimit}} {
			if ec.v != nil && !hasTag(f55, ec.tag) {
				f55 = tlv.Append(f55, ec.tag, n12(*ec.v))
			}
		}
	}
	if len(f55) > 255 {
		return nil, fmt.Errorf("%w: field 55 of %d bytes (at most 255)", ErrMessage, len(f55))
	}
	if _, err := tlv.Parse(f55); err != nil {
		return nil, fmt.Errorf("%w: field 55: %w", ErrMessage, err)
	}
	return f55, nil
}

// answer turns the outcome of a financial exchange into the kernel's
// answer, queueing the reversal the evidence calls for:
//
//   - not sent (a message the spec refuses, no connection): nothing to undo;
//   - sent, no valid reply (timeout, dropped, another trace number): 98;
//   - a reply without a valid MAC: A0; an approval in it is not believed
//     (the kernel cannot go online), a decline is (it approves nothing);
//   - a reply that does not fit the request, or whose field 55 does not
//     parse: 06, and the kernel cannot go online;
//   - otherwise the reply is recorded and given to the kernel.
func (l *Link) answer(ctx context.Context, t *txn, req, reply *iso8583.Message, in FrameInfo, sendErr error) (*kernel.AuthResponse, error) {
	switch {
	case errors.Is(sendErr, ErrMessage), errors.Is(sendErr, ErrUnreachable):
		if err := l.st.append(ctx, event{T: evUnsent, ID: t.ID}); err != nil {
			return nil, err
		}
		return nil, sendErr
	case sendErr != nil:
		return nil, l.reverseNow(ctx, t, "98", sendErr)
	}
	code := str(reply, fResponseCode)
	if in.MAC != MACValid {
		if approved(code) || len(code) != 2 {
			return nil, l.reverseNow(ctx, t, "A0", ErrBadMAC)
		}
		if err := l.reverseNow(ctx, t, "A0", ErrBadMAC); errors.Is(err, ErrState) {
			return nil, err
		}
		return &kernel.AuthResponse{ResponseCode: code}, nil
	}
	if err := fits(req, reply); err != nil {
		return nil, l.reverseNow(ctx, t, "06", err)
	}
	resp, ids, err := parseAuthReply(reply)
	if err != nil {
		return nil, l.reverseNow(ctx, t, "06", err)
	}
	if err := l.st.append(ctx, event{T: evReply, ID: t.ID, Code: code, Auth: resp.AuthCode, RRN: str(reply, fRRN), Data: ids}); err != nil {
		return nil, err
	}
	return resp, nil
}

// reverseNow queues a reversal of t for reason and tries it at once; it
// returns cause (wrapped) for the kernel, or the state's error if the
// reversal could not even be queued.
func (l *Link) reverseNow(ctx context.Context, t *txn, reason string, cause error) error {
	if err := l.st.append(ctx, event{T: evReverse, ID: t.ID, Reason: reason}); err != nil {
		return fmt.Errorf("%w (and the reversal could not be queued: %w)", cause, err)
	}
	if err := l.sendReversal(ctx, t); err != nil {
		l.log("reversal queued", "id", t.ID, "reason", reason, "err", err)
	}
	return fmt.Errorf("acquirer: %s %s: %w", t.Processing, t.ID, cause)
}

// parseAuthReply reads the kernel's answer from a valid 0210: field 39,
// 38, and from field 55 the issuer authentication data (91) and the issuer
// script templates (71, 72), kept in order. It also returns the script
// identifiers (9F18, 4 bytes each) for the script advice.
func parseAuthReply(reply *iso8583.Message) (*kernel.AuthResponse, []byte, error) {
	resp := &kernel.AuthResponse{ResponseCode: str(reply, fResponseCode), AuthCode: strings.TrimSpace(str(reply, fAuthCode))}
	f55 := bin(reply, fICC)
	if len(f55) == 0 {
		return resp, nil, nil
	}
	objs, err := tlv.Parse(f55)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: reply field 55: %w", ErrMismatch, err)
	}
	var ids []byte
	for _, o := range objs {
		switch o.Tag {
		case 0x91:
			if resp.IssuerAuthData != nil {
				return nil, nil, fmt.Errorf("%w: reply field 55 holds 91 twice", ErrMismatch)
			}
			resp.IssuerAuthData = clone(o.Value)
		case 0x71, 0x72:
			resp.Scripts = tlv.Append(resp.Scripts, o.Tag, o.Value)
			ids = append(ids, scriptID(o.Value)...)
		}
	}
	return resp, ids, nil
}

// scriptID returns the 4-byte identifier (9F18) of a script template's
// value, or four zero bytes when it has none.
func scriptID(template []byte) []byte {
	if objs, err := tlv.Parse(template); err == nil {
		for _, o := range objs {
			if o.Tag == 0x9F18 && len(o.Value) == 4 {
				return clone(o.Value)
			}
		}
	}
	return make([]byte, 4)
}

// Reverse queues a reversal (reason 06) of an approved request the card did
// not complete (kernel.Reverser) and sends it at once; ErrQueued (wrapped)
// when it could not go yet — it goes before the next online request, never
// lost.
func (l *Link) Reverse(ctx context.Context, req *kernel.AuthRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.lookup(req)
	if err != nil || t == nil {
		return err
	}
	return l.reverseOwed(ctx, t)
}

// reverseOwed reverses t unless nothing is owed: a declined request moved
// no money; one already reversed or queued is not reversed twice.
func (l *Link) reverseOwed(ctx context.Context, t *txn) error {
	switch t.State {
	case TxnDeclined, TxnUnsent, TxnReversed:
		return nil
	case TxnReversalPending:
	default:
		if err := l.st.append(ctx, event{T: evReverse, ID: t.ID, Reason: "06"}); err != nil {
			return err
		}
	}
	if err := l.sendReversal(ctx, t); err != nil {
		return fmt.Errorf("%w: %w", ErrQueued, err)
	}
	return nil
}

// ReverseScript asks the issuer to undo the EC part of an approved request
// whose balance script did not take effect on the card
// (kernel.ScriptReverser). With req.Evidence — the card's authenticated
// state after the script, which the issuer must verify — the scripts are
// reported failed; without it, not performed (none reached the card). A
// load is reversed whole (0400, reason 06, the card state and DF31 in
// field 55: it gave the card nothing); a top-up's sale stands, and the
// script result advice (0620) carries the same, from which the issuer
// takes the refill back. ErrQueued (wrapped) when it could not go yet.
func (l *Link) ReverseScript(ctx context.Context, req *kernel.AuthRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.lookup(req)
	if err != nil || t == nil {
		return err
	}
	var ev []byte
	y1 := false
	results := scriptResults(t.ScriptIDs, 0x00) // not performed
	if req.Evidence != nil {
		ev, y1 = clone(req.Evidence.Field55), req.Evidence.Deducted > 0
		results = scriptResults(t.ScriptIDs, 0x10) // failed
	}
	if t.Kind != kernel.RequestPurchase {
		switch t.State {
		case TxnDeclined, TxnUnsent, TxnReversed:
			return nil
		}
		if err := l.st.append(ctx, event{T: evReverse, ID: t.ID, Reason: "06", Data: results, Evidence: ev, Y1: y1}); err != nil {
			return err
		}
		if err := l.sendReversal(ctx, t); err != nil {
			return fmt.Errorf("%w: %w", ErrQueued, err)
		}
		return nil
	}
	if t.State != TxnApproved && t.State != TxnStood {
		return nil // declined or reversed: no refill to take back
	}
	if err := l.st.append(ctx, event{T: evAdvice, ID: t.ID, Data: results, Evidence: ev, Y1: y1}); err != nil {
		return err
	}
	if err := l.sendAdvice(ctx, t); err != nil {
		return fmt.Errorf("%w: %w", ErrQueued, err)
	}
	return nil
}

// scriptResults is DF31 (the 9F5B layout) for every script of the reply:
// the result nibble (0 not performed, 1 failed) with sequence 0, then the
// script identifier.
func scriptResults(ids []byte, result byte) []byte {
	if len(ids) == 0 {
		ids = make([]byte, 4)
	}
	var out []byte
	for i := 0; i+4 <= len(ids); i += 4 {
		out = append(append(out, result), ids[i:i+4]...)
	}
	return out
}

// Complete tells the link how a transaction ended (optional: kernel.WithHost
// alone is a complete integration). With it an approval is settled at once
// rather than at the next request, and the issuer scripts' results (9F5B)
// go to the acquirer in a script result advice whether they succeeded or
// not; without it only failed scripts are reported (ReverseScript).
func (l *Link) Complete(ctx context.Context, res *kernel.Result) error {
	if res == nil || len(res.Field55) == 0 {
		return nil // offline: the link was not asked
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.st.findByCard(cardTxn(res.PAN, res.Field55))
	if !ok {
		return nil // not a request of this link
	}
	if t.State == TxnApproved && res.Outcome == kernel.OutcomeApprovedOnline && res.CID&0xC0 == 0x40 {
		if err := l.st.append(ctx, event{T: evStood, ID: t.ID}); err != nil {
			return err
		}
	}
	if len(res.ScriptResults) > 0 && (t.State == TxnStood || t.State == TxnApproved) && t.Advice == nil {
		return l.st.append(ctx, event{T: evAdvice, ID: t.ID, Data: clone(res.ScriptResults)})
	}
	return nil
}

// lookup finds the transaction of a request the kernel gave Authorize: by
// the request itself, else by its card transaction (a torn record comes
// back as a copy). It returns nil, nil for a request never sent.
func (l *Link) lookup(req *kernel.AuthRequest) (*txn, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrMessage)
	}
	if id, ok := l.byReq[req]; ok {
		if t, ok := l.st.txnByID(id); ok {
			return t, nil
		}
	}
	if t, ok := l.st.findByCard(cardTxn(maskPAN(req.PAN), req.Field55)); ok {
		return t, nil
	}
	// The state is written before anything is sent: a request it does not
	// know never left this terminal, and there is nothing to undo.
	return nil, nil
}

// checkPAN accepts 12 to 19 digits.
func checkPAN(pan string) error {
	if len(pan) < 12 || len(pan) > 19 || strings.Trim(pan, "0123456789") != "" {
		return fmt.Errorf("%w: PAN %s is not 12 to 19 digits", ErrMessage, maskPAN(pan))
	}
	return nil
}

// hasTag reports whether TLV data holds tag.
func hasTag(data []byte, tag tlv.Tag) bool {
	_, found, err := tlv.Find(data, tag)
	return found && err == nil
}

// findTag returns the value of tag in TLV data, nil when absent.
func findTag(data []byte, tag tlv.Tag) []byte {
	v, _, _ := tlv.Find(data, tag)
	return v
}

// n12 encodes an amount as 6 bytes of BCD.
func n12(a kernel.Amount) []byte {
	var b [6]byte
	v := uint64(a)
	for i := 5; i >= 0; i-- {
		b[i] = byte(v%10) | byte(v/10%10)<<4
		v /= 100
	}
	return b[:]
}

// validYYMM reports whether s is a field 14 expiry: four digits, month
// 01-12. A card's 5F24 that is not is left out rather than sent.
func validYYMM(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	m := s[2:]
	return m >= "01" && m <= "12"
}
