// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/tlv"
)

// Counter hands out the terminal's system trace audit numbers (STAN,
// ISO 8583 field 11) and says which batch (field 60.2) each belongs to.
// journal.File and journal.Memory implement it. A STAN returned is used:
// the counter must never return it again within the batch, across
// restarts (see journal.Counter).
type Counter interface {
	NextSTAN(ctx context.Context) (stan, batch uint32, err error)
}

// WithCounter numbers the transactions: a transaction that goes online or
// is journaled draws one STAN from c, sends it in AuthRequest.STAN (and
// its batch in AuthRequest.Batch), reports it in Result.STAN/Batch and
// journals its record with it. A torn sale settled later is a record of
// its own and draws its own STAN. When c fails, an online request is not
// sent (the sale is treated as unable to go online) and a record is still
// journaled, without a STAN, with an error wrapping ErrCounter.
func WithCounter(c Counter) Option { return func(k *Kernel) { k.counter = c } }

// WithDataKey keeps the full PAN of every journal record, encrypted under
// key (journal.Record.EncryptedPAN), so that the acquirer's uploads can
// carry field 2. Without it records hold only the masked PAN and the keyed
// hash. When sealing fails the record is still journaled, without the
// PAN, with an error wrapping ErrDataKey.
func WithDataKey(key journal.DataKey) Option { return func(k *Kernel) { k.dataKey = key } }

var (
	// ErrCounter reports that the Counter could not give a STAN.
	ErrCounter = errors.New("kernel: no trace number (STAN)")
	// ErrDataKey reports that the data key could not encrypt the PAN.
	ErrDataKey = errors.New("kernel: the data key could not encrypt the PAN")
)

// drawSTAN asks the counter for a STAN and checks what it says: a STAN or
// batch outside 1-999999 would be refused by every acquirer, or collide
// with a real one, so it is the counter's failure, not a number to send.
func (k *Kernel) drawSTAN(ctx context.Context) (stan, batch uint32, err error) {
	stan, batch, err = k.counter.NextSTAN(ctx)
	if err == nil && (stan == 0 || stan > 999999 || batch == 0 || batch > 999999) {
		err = fmt.Errorf("STAN %d, batch %d out of range", stan, batch)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrCounter, err)
	}
	return stan, batch, nil
}

// traceNumbers gives the transaction its STAN and batch, once.
func (t *txn) traceNumbers(ctx context.Context) error {
	if t.k.counter == nil || t.res.STAN != 0 {
		return nil
	}
	stan, batch, err := t.k.drawSTAN(ctx)
	if err != nil {
		return err
	}
	t.res.STAN, t.res.Batch = stan, batch
	return nil
}

// sent reports whether req can have reached the host: with a Counter, a
// request that got no STAN was never sent, and is not reversed.
func (t *txn) sent(req *AuthRequest) bool { return t.k.counter == nil || req.STAN != 0 }

// authorize stamps req with the transaction's STAN and batch and sends it
// to the host. Without a STAN the request is not sent: the error is the
// host's kind (unable to go online), and there is nothing to reverse.
func (t *txn) authorize(ctx context.Context, req *AuthRequest) (*AuthResponse, error) {
	if err := t.traceNumbers(ctx); err != nil {
		return nil, err
	}
	req.STAN, req.Batch = t.res.STAN, t.res.Batch
	return t.k.host.Authorize(ctx, req)
}

// uploadTags are the ICC data of the acquirer's uploads beyond the sale's
// field 55: the authorisation response code, the EC issuer authorisation
// code (9F74, on an EC sale) and the qPBOC data of a tap.
var uploadTags = []tlv.Tag{0x9F74, 0x9F66, 0x9F6C, 0x9F5D}

// uploadField55 builds the field 55 of the record's upload: the sale's
// tags as they stand after the last GENERATE AC (so an online sale carries
// its TC), then 8A as the card was given it. An offline EC approval gave
// the card no 8A; its upload says Y1 (offline approved), as the offline EC
// upload requires.
func (t *txn) uploadField55(kind journal.Kind) []byte {
	out := append([]byte(nil), t.field55(field55Tags)...)
	arc, ok := t.term.get(0x8A)
	if !ok && kind == journal.KindECOfflineSale {
		arc, ok = []byte("Y1"), true
	}
	if ok {
		out = tlv.Append(out, 0x8A, arc)
	}
	for _, tag := range uploadTags {
		if v, ok := t.Value(tag); ok {
			out = tlv.Append(out, tag, v)
		}
	}
	return out
}

// entryMode is field 22: 05 contact chip or 07 contactless (qPBOC), then 1
// when an online PIN was entered, 2 when not.
func (t *txn) entryMode() string {
	mode := "05"
	if t.res.Contactless {
		mode = "07"
	}
	if t.pinBlock != nil || t.res.TVR.Has(TVROnlinePINEntered) {
		return mode + "1"
	}
	return mode + "2"
}

// expiryYYMM is 5F24 (YYMMDD) as the YYMM of field 14, or "" when the
// card gave none or not in BCD.
func (t *txn) expiryYYMM() string {
	v := t.data.val(0x5F24)
	if len(v) != 3 {
		return ""
	}
	if _, err := bcd.Decode(v[:2]); err != nil {
		return ""
	}
	return hexUpper(v[:2])
}

// fillClearing adds to r what the acquirer's uploads need beyond the sale
// itself: the card's expiry, the transaction type, the entry mode, the
// STAN and batch, the terminal's IDs, the issuer's codes and the upload's
// field 55.
func (t *txn) fillClearing(r *journal.Record, stan, batch uint32) {
	cfg := &t.k.cfg
	r.Expiry = hexUpper(t.data.val(0x5F24))
	r.TransactionType = hexUpper(t.term.val(0x9C))
	r.EntryMode = t.entryMode()
	r.STAN, r.Batch = stan, batch
	r.TerminalID, r.MerchantID = cfg.TerminalID, cfg.MerchantID
	r.ResponseCode, r.AuthCode = t.res.ResponseCode, string(t.term.val(0x89))
	r.Field55 = hexUpper(t.uploadField55(r.Kind))
	// What the card or the host sent that does not fit its field is left
	// out rather than make the record unwritable: a lying 5F24 or
	// authorisation code must not cost the merchant the sale.
	r.DropMisfits()
}

// sealPAN keeps the card's PAN in r encrypted under the data key, bound
// to r's ID, which must be final. Without a data key it does nothing; when
// sealing fails r is left without it and the error (ErrDataKey) says so.
func (t *txn) sealPAN(ctx context.Context, r *journal.Record) error {
	if t.k.dataKey == nil {
		return nil
	}
	pan, err := panDigits(t.data.val(0x5A))
	if err == nil {
		err = r.SealPAN(ctx, t.k.dataKey, pan)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDataKey, err)
	}
	return nil
}

// txnType is the transaction type (9C) of a request of kind k.
func (k RequestKind) txnType() byte {
	switch k {
	case RequestLoadDesignated:
		return TxnLoadDesignated
	case RequestLoadNonDesignated:
		return TxnLoadNonDesignated
	case RequestLoadCash:
		return TxnLoadCash
	}
	return 0x00 // a purchase
}

// requestEntryMode is field 22 of an online request kept for later (a
// torn load, whose PIN block the torn record does not keep): contact chip
// (loads need contact), with a PIN for a designated-account load (the
// kernel approves none without one), without for the others.
func requestEntryMode(req *AuthRequest) string {
	if req.Kind == RequestLoadDesignated {
		return "051"
	}
	return "052"
}
