// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/journal"
)

// ErrJournal reports that a completed sale could not be written to the
// journal. The sale stands (the card has been charged): the caller must not
// lose the Result it got with this error.
var ErrJournal = errors.New("kernel: journal write failed")

// WithJournal records every approved sale and load, and every torn sale the
// card turns out to have completed, in j before the result is returned. An
// offline EC approval is money the merchant must still collect.
func WithJournal(j journal.Journal) Option { return func(k *Kernel) { k.journal = j } }

// panHash is the keyed hash (HMAC-SHA-256 under Config.PANHashKey) of the
// PAN digits: it matches records to a card without making the PAN
// recoverable from a masked PAN and a plain hash.
func (t *txn) panHash() ([32]byte, bool) {
	pan, err := panDigits(t.data.val(0x5A))
	if err != nil {
		return [32]byte{}, false
	}
	m := hmac.New(sha256.New, t.k.panKey)
	m.Write([]byte(pan))
	var out [32]byte
	m.Sum(out[:0])
	return out, true
}

// journalRecord builds the clearing record of the current transaction
// (binary card data in upper-case hex, as journal.Record says) with its
// clearing fields (fillClearing). appendRecord seals its PAN once its ID is
// final.
func (t *txn) journalRecord(kind journal.Kind, amount Amount, atc uint16, stan, batch uint32) (journal.Record, bool) {
	ph, ok := t.panHash()
	if !ok {
		return journal.Record{}, false
	}
	res := t.res
	r := journal.Record{
		Time:       t.now,
		Kind:       kind,
		Amount:     uint64(amount),
		Currency:   fmt.Sprintf("%04d", t.k.cfg.CurrencyCode),
		MaskedPAN:  res.PAN,
		PANHash:    hex.EncodeToString(ph[:]),
		PSN:        hexUpper(t.data.val(0x5F34)),
		AID:        hexUpper(t.aid),
		ATC:        atc,
		Cryptogram: hexUpper(res.Cryptogram),
		CID:        fmt.Sprintf("%02X", res.CID),
		TVR:        hexUpper(res.TVR[:]),
		Outcome:    res.Outcome.String(),
	}
	if res.BalanceBefore != nil {
		v := uint64(*res.BalanceBefore)
		r.BalanceBefore = &v
	}
	if res.BalanceAfter != nil {
		v := uint64(*res.BalanceAfter)
		r.BalanceAfter = &v
	}
	r.ID = journal.RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)
	t.fillClearing(&r, stan, batch)
	return r, true
}

// record writes the transaction's clearing record, if a journal is set,
// with the transaction's STAN. The record is written even when its STAN or
// its sealed PAN is missing; the error then says so.
func (t *txn) record(ctx context.Context, kind journal.Kind) error {
	if t.k.journal == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	stanErr := t.traceNumbers(ctx)
	r, ok := t.journalRecord(kind, t.res.Amount, t.res.ATC, t.res.STAN, t.res.Batch)
	if !ok {
		return fmt.Errorf("%w: no PAN", ErrJournal)
	}
	return t.appendRecord(ctx, r, stanErr)
}

// appendRecord seals r's PAN (its ID is final now), journals r and
// reports, with the journal's failure, what the record lacks.
func (t *txn) appendRecord(ctx context.Context, r journal.Record, lacks ...error) error {
	lacks = append(lacks, t.sealPAN(ctx, &r))
	if err := t.k.journal.Append(ctx, r); err != nil {
		lacks = append(lacks, fmt.Errorf("%w: %w", ErrJournal, err))
	}
	return errors.Join(lacks...)
}

// journalDiscrepancy records money the card's own data says it paid
// without the terminal holding the cryptogram to clear it (see
// journal.KindDiscrepancy): it asks the acquirer for nothing and keeps the
// sale for the issuer to reconcile. atc is the card's ATC when known (the
// record is then the card transaction's, and an ATC already journaled is
// journal.ErrConflict); when it is not, the record is named by the
// terminal's date and time of the attempt. when is the card's time of the
// sale, zero when unknown. It is sent nowhere, so it draws no STAN; it
// carries the transaction's when it is the transaction's own.
func (t *txn) journalDiscrepancy(ctx context.Context, amount Amount, atc uint16, when time.Time, note string) error {
	if t.k.journal == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var stan, batch uint32
	if atc == t.res.ATC {
		stan, batch = t.res.STAN, t.res.Batch
	}
	r, ok := t.journalRecord(journal.KindDiscrepancy, amount, atc, stan, batch)
	if !ok {
		return fmt.Errorf("%w: no PAN", ErrJournal)
	}
	if atc == 0 {
		r.ID = fmt.Sprintf("%s:attempt:%X%X:%d", r.ID, t.term.val(0x9A), t.term.val(0x9F21), amount)
	}
	if atc != t.res.ATC || t.res.Cryptogram == nil {
		r.Cryptogram, r.CID, r.Field55 = "", "", ""
	}
	r.Outcome, r.Note = "discrepancy", note
	if !when.IsZero() {
		r.Time = when
	}
	sealErr := t.sealPAN(ctx, &r)
	if err := t.k.journal.Append(ctx, r); err != nil {
		if errors.Is(err, journal.ErrConflict) {
			return err
		}
		return errors.Join(fmt.Errorf("%w: %w", ErrJournal, err), sealErr)
	}
	return sealErr
}

// declinedTC keeps a TC the terminal declined — its CDA or fDDA failed,
// it answered a question the terminal did not ask, the card's dates or the
// cardholder verification do not allow it — on a path where the card
// deducts when it answers TC: the card has paid, the merchant must not be
// paid on it, so the sale is a discrepancy record (with the TC, for the
// issuer), never forgotten and never cleared.
func (t *txn) declinedTC(ctx context.Context, note string) error {
	t.res.Discrepancy = true
	t.res.Detail += "; kept as a discrepancy for the issuer to reconcile"
	err := t.journalDiscrepancy(ctx, t.res.Amount, t.res.ATC, time.Time{}, note)
	if errors.Is(err, journal.ErrConflict) {
		return fmt.Errorf("%w: %w", ErrJournal, err)
	}
	return err
}

// journalSettledLoad records a load whose script the card's authenticated
// balance has now shown took effect, with the load's own completion (the
// TC kept in the torn record) and the STAN and batch its online request
// carried; the load's transaction type and entry mode come from that
// request too, not from the transaction that settles it.
func (t *txn) journalSettledLoad(ctx context.Context, p TornRecord) error {
	if t.k.journal == nil || p.Request == nil || p.Request.Kind == RequestPurchase || p.Cryptogram == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	r, ok := t.journalRecord(journal.KindLoad, p.Amount, p.ATC, p.Request.STAN, p.Request.Batch)
	if !ok {
		return fmt.Errorf("%w: no PAN", ErrJournal)
	}
	r.Time = p.Created
	r.Cryptogram, r.CID = hexUpper(p.Cryptogram), fmt.Sprintf("%02X", p.CID)
	r.Field55, r.Outcome = hexUpper(p.Field55), OutcomeApprovedOnline.String()
	r.TVR, r.ResponseCode, r.AuthCode = "", "", ""
	r.TransactionType, r.EntryMode = fmt.Sprintf("%02X", p.Request.Kind.txnType()), requestEntryMode(p.Request)
	b, a := uint64(p.BalanceBefore), uint64(p.Expected)
	r.BalanceBefore, r.BalanceAfter = &b, &a
	return t.appendRecord(ctx, r)
}
