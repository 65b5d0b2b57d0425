// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/tlv"
)

// The card's logs (PBOC Book 13; EMV Book 3 Annex D): the transaction log
// (9F4D names its SFI and size in the FCI, 9F4F its format, by GET DATA)
// and the load log (DF4D, DF4F), records in an SFI of 11 to 30, record 1
// the newest, 6A83 after the last. What if a log lies? Log entries are the
// card's unauthenticated word: they are reported, and may settle the
// terminal's own torn records (see settle.go), never approve or refund.

// ReadTransactionLog selects the application and reads its transaction log:
// the log entry (9F4D) in the FCI names the SFI and the number of records,
// the log format (9F4F, by GET DATA) names the fields. Record 1 is the newest.
func (k *Kernel) ReadTransactionLog(ctx context.Context, card apdu.Transport) ([]LogEntry, error) {
	res := &Result{}
	t := k.newTxn(card, res)
	defer t.release()
	if err := t.selectForRead(ctx); err != nil {
		return nil, err
	}
	return t.readLog(ctx, 0)
}

// ReadLoadLog selects the application and reads its load log (圈存日志):
// the load log entry (DF4D) in the FCI names the SFI and the number of
// records, the load log format (DF4F, by GET DATA) names the fields after
// the fixed part of each record: the updated tag (P1 P2 of the PUT DATA,
// 9F79 for the balance), the value before and the value after (n12 each).
// Record 1 is the newest. A card without a load log is ErrNoLog.
func (k *Kernel) ReadLoadLog(ctx context.Context, card apdu.Transport) ([]LoadLogEntry, error) {
	res := &Result{}
	t := k.newTxn(card, res)
	defer t.release()
	if err := t.selectForRead(ctx); err != nil {
		return nil, err
	}
	var out []LoadLogEntry
	err := t.logRecords(ctx, 0xDF4D, 0xDF4F, 0, func(format tlv.DOL, rec []byte) error {
		if len(rec) < 14 {
			return fmt.Errorf("%w: load log record of %d bytes", ErrCardData, len(rec))
		}
		before, err1 := decodeAmount(rec[2:8])
		after, err2 := decodeAmount(rec[8:14])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: load log amounts %X", ErrCardData, rec[2:14])
		}
		e, err := parseLogEntry(format, rec[14:], t.k.cfg.Location)
		if err != nil {
			return err
		}
		out = append(out, LoadLogEntry{Tag: fmt.Sprintf("%02X%02X", rec[0], rec[1]), Before: before, After: after, LogEntry: e})
		return nil
	})
	return out, err
}

// selectForRead selects the card's application for a read-only command.
func (t *txn) selectForRead(ctx context.Context) error {
	cands, err := t.buildCandidates(ctx)
	if err != nil {
		return err
	}
	_, err = t.selectApplication(ctx, cands)
	return err
}

// readLog reads the transaction log of the selected application. max
// bounds the records read (0: as many as 9F4D says).
func (t *txn) readLog(ctx context.Context, max int) ([]LogEntry, error) {
	var entries []LogEntry
	err := t.logRecords(ctx, 0x9F4D, 0x9F4F, max, func(format tlv.DOL, rec []byte) error {
		e, err := parseLogEntry(format, rec, t.k.cfg.Location)
		if err == nil {
			entries = append(entries, e)
		}
		return err
	})
	return entries, err
}

// logRecords reads a log of the selected application: entryTag (in the
// FCI) names its SFI and size, formatTag (by GET DATA) its format; each
// record, kept for the caller, goes to add. max bounds the records (0: as
// many as the entry says).
func (t *txn) logRecords(ctx context.Context, entryTag, formatTag tlv.Tag, max int, add func(tlv.DOL, []byte) error) error {
	le, ok := t.data.get(entryTag)
	if !ok || len(le) != 2 || le[0] < 11 || le[0] > 30 || le[1] == 0 {
		return fmt.Errorf("%w: log entry (%s) %X", ErrNoLog, entryTag, le)
	}
	fr, err := t.mustOK(ctx, apdu.GetData(uint16(formatTag)))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoLog, err)
	}
	fv, err := getDataValue(fr, formatTag)
	if err != nil {
		return err
	}
	format, err := tlv.ParseDOL(fv)
	if err != nil || format.Len() == 0 {
		return fmt.Errorf("%w: log format (%s): %v", ErrCardData, formatTag, err)
	}
	n := int(le[1])
	if max > 0 && max < n {
		n = max
	}
	for rec := 1; rec <= n; rec++ {
		r, err := t.exchange(ctx, apdu.ReadRecord(le[0], byte(rec)))
		if err != nil {
			return err
		}
		if r.SW == apdu.SWRecordNotFound {
			break
		}
		if r.SW != apdu.SWSuccess {
			return &StatusError{Command: "READ RECORD", SW: r.SW}
		}
		if err := add(format, t.keep(r.Data)); err != nil { // the entry keeps slices of it
			return fmt.Errorf("log record %d: %w", rec, err)
		}
	}
	return nil
}

// parseLogEntry splits one log record by the log format; its date and
// time are read in loc, the terminal's Config.Location.
//
// A record longer than its format is read by the format and the rest is
// ignored (EMV Book 3 Annex D names the fields, not the record's size; a
// card padding its fixed-size log records must not lose the whole log); a
// shorter one is ErrCardData.
func parseLogEntry(format tlv.DOL, rec []byte, loc *time.Location) (LogEntry, error) {
	if n := format.Len(); len(rec) > n {
		rec = rec[:n]
	}
	fields, err := format.Split(rec)
	if err != nil {
		return LogEntry{}, fmt.Errorf("%w: %w", ErrCardData, err)
	}
	e := LogEntry{Fields: make(map[string]HexBytes, len(fields))}
	for tag, v := range fields {
		if cardholderData(tag) {
			// A log format may name the PAN or track data: what if a card
			// logs them? They never leave the kernel in clear.
			e.PAN = maskedLogPAN(tag, v, e.PAN)
			continue
		}
		e.Fields[tag.String()] = v
		switch tag {
		case 0x9F02:
			if a, err := decodeAmount(v); err == nil {
				e.Amount = a
			}
		case 0x9F03:
			if a, err := decodeAmount(v); err == nil {
				e.OtherAmount = a
			}
		case 0x9F1A:
			if n, err := bcd.Decode(v); err == nil && n <= 999 {
				e.Country = uint16(n)
			}
		case 0x5F2A:
			if n, err := bcd.Decode(v); err == nil && n <= 999 {
				e.Currency = uint16(n)
			}
		case 0x9F4E:
			e.Merchant = merchantName(v)
		case 0x9C:
			if len(v) == 1 {
				e.Type = v[0]
			}
		case 0x9F36:
			if len(v) == 2 {
				e.ATC = uint16(v[0])<<8 | uint16(v[1])
			}
		}
	}
	e.Time = logTime(fields[0x9A], fields[0x9F21], loc)
	return e, nil
}

// cardholderData reports the tags that hold the PAN or track data: the
// kernel never hands them out in clear.
func cardholderData(tag tlv.Tag) bool {
	switch tag {
	case 0x5A, 0x56, 0x57, 0x9F6B, 0x9F1F, 0x9F20:
		return true
	}
	return false
}

// maskedLogPAN returns the masked PAN of a log field that holds it (5A, or
// the account number of track 2 data), else prev.
func maskedLogPAN(tag tlv.Tag, v []byte, prev string) string {
	switch tag {
	case 0x5A:
		if pan, err := panDigits(v); err == nil {
			return tlv.MaskPAN(pan)
		}
	case 0x57, 0x9F6B:
		if p, ok := panFromTrack2(v); ok {
			if pan, err := panDigits(p); err == nil && prev == "" {
				return tlv.MaskPAN(pan)
			}
		}
	}
	return prev
}
