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

// journalRecord builds the clearing record of the current transaction.
func (t *txn) journalRecord(kind journal.Kind, amount Amount, atc uint16) (journal.Record, bool) {
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
		PSN:        hex.EncodeToString(t.data[0x5F34]),
		AID:        hex.EncodeToString(t.aid),
		ATC:        atc,
		Cryptogram: hex.EncodeToString(res.Cryptogram),
		CID:        fmt.Sprintf("%02X", res.CID),
		TVR:        hex.EncodeToString(res.TVR[:]),
		Field55:    hex.EncodeToString(res.Field55),
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
	return r, true
}

// record writes the transaction's clearing record, if a journal is set.
func (t *txn) record(ctx context.Context, kind journal.Kind) error {
	if t.k.journal == nil {
		return nil
	}
	r, ok := t.journalRecord(kind, t.res.Amount, t.res.ATC)
	if !ok {
		return fmt.Errorf("%w: no PAN", ErrJournal)
	}
	if err := t.k.journal.Append(context.WithoutCancel(ctx), r); err != nil {
		return fmt.Errorf("%w: %w", ErrJournal, err)
	}
	return nil
}

// journalSettled records a settled torn sale that the card completed. Its
// cryptogram is unknown (the terminal never received the TC).
func (t *txn) journalSettled(ctx context.Context, s Settlement) error {
	if t.k.journal == nil {
		return nil
	}
	r, ok := t.journalRecord(journal.KindTorn, s.Record.Amount, s.ATC)
	if !ok {
		return fmt.Errorf("%w: no PAN", ErrJournal)
	}
	r.Cryptogram, r.CID, r.Field55, r.Outcome = "", "", "", "settled_from_card_log"
	if s.Record.BalanceBefore > 0 { // 0: unknown (a tap torn before the card said)
		b := uint64(s.Record.BalanceBefore)
		r.BalanceBefore = &b
	}
	r.Time = s.Record.Created
	if err := t.k.journal.Append(context.WithoutCancel(ctx), r); err != nil {
		return fmt.Errorf("%w: %w", ErrJournal, err)
	}
	return nil
}
