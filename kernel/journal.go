package kernel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

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
	pan, err := panDigits(t.data[0x5A])
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
// clearing fields (fillClearing), and returns with it what could
// not be filled (an error wrapping ErrDataKey: the record is still to be
// kept).
func (t *txn) journalRecord(ctx context.Context, kind journal.Kind, amount Amount, atc uint16, stan, batch uint32) (journal.Record, bool, error) {
	ph, ok := t.panHash()
	if !ok {
		return journal.Record{}, false, nil
	}
	res := t.res
	r := journal.Record{
		Time:       t.now,
		Kind:       kind,
		Amount:     uint64(amount),
		Currency:   fmt.Sprintf("%04d", t.k.cfg.CurrencyCode),
		MaskedPAN:  res.PAN,
		PANHash:    hex.EncodeToString(ph[:]),
		PSN:        hexUpper(t.data[0x5F34]),
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
	err := t.fillClearing(ctx, &r, stan, batch)
	return r, true, err
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
	r, ok, fillErr := t.journalRecord(ctx, kind, t.res.Amount, t.res.ATC, t.res.STAN, t.res.Batch)
	if !ok {
		return fmt.Errorf("%w: no PAN", ErrJournal)
	}
	return t.appendRecord(ctx, r, stanErr, fillErr)
}

// appendRecord journals r and reports, with the journal's failure, what
// the record lacks.
func (t *txn) appendRecord(ctx context.Context, r journal.Record, lacks ...error) error {
	if err := t.k.journal.Append(ctx, r); err != nil {
		lacks = append(lacks, fmt.Errorf("%w: %w", ErrJournal, err))
	}
	return errors.Join(lacks...)
}

// journalSettled records a settled torn sale that the card completed. Its
// cryptogram is unknown (the terminal never received the TC). It is a
// record of its own, cleared in the batch in which the terminal learnt of
// it: it draws its own STAN, never the transaction's (which numbers the
// sale in progress).
func (t *txn) journalSettled(ctx context.Context, s Settlement) error {
	if t.k.journal == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var stan, batch uint32
	var stanErr error
	if t.k.counter != nil {
		stan, batch, stanErr = t.k.drawSTAN(ctx)
	}
	r, ok, fillErr := t.journalRecord(ctx, journal.KindTorn, s.Record.Amount, s.ATC, stan, batch)
	if !ok {
		return fmt.Errorf("%w: no PAN", ErrJournal)
	}
	r.Cryptogram, r.CID, r.Field55, r.Outcome = "", "", "", "settled_from_card_log"
	r.ResponseCode, r.AuthCode = "", ""
	r.TransactionType = "00"        // torn records are offline sales
	if s.Record.BalanceBefore > 0 { // 0: unknown (a tap torn before the card said)
		b := uint64(s.Record.BalanceBefore)
		r.BalanceBefore = &b
	}
	r.Time = s.Record.Created
	return t.appendRecord(ctx, r, stanErr, fillErr)
}
