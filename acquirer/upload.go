// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// ClearingRecord is a sale the acquirer must be told of: an offline
// approval (EC, or by the default action codes), uploaded before the next
// online request, or an online approval whose final TC goes up at
// settlement.
type ClearingRecord struct {
	ID     string
	Kind   journal.Kind
	PAN    string // full: field 2. Never logged or stored in clear.
	PSN    byte
	Expiry string // YYMM, field 14; "" when unknown
	Amount kernel.Amount
	// Field55 is the upload's ICC data: the card's final cryptogram (TC)
	// and, for an EC offline sale, 8A = "Y1" and 9F74.
	Field55   []byte
	TVR       [5]byte
	EntryMode string // field 22; "" means IC without PIN
	// STAN and Batch are the sale's own numbers (0 for a record that has
	// none: the link draws one for each attempt).
	STAN, Batch uint32
	State       journal.UploadState
}

// offline reports a record uploaded before online requests.
func (r *ClearingRecord) offline() bool {
	return r.Kind == journal.KindECOfflineSale || r.Kind == journal.KindOfflineSale
}

// Clearing is what the link needs of the terminal's clearing records (the
// journal): the records still to upload, a durable mark of what the
// acquirer said, and a batch's totals for the settlement.
type Clearing interface {
	// Pending returns, oldest first, the records to upload (pending, or
	// sent without an answer). A record it cannot read is left out and
	// named in the error, which comes with the records that could be read.
	Pending(ctx context.Context) ([]ClearingRecord, error)
	// Mark records a change of a record's upload state.
	Mark(ctx context.Context, id string, e journal.UploadEvent) error
	// Totals adds up a batch as the settlement reports it (field 48).
	Totals(ctx context.Context, batch uint32) (journal.Totals, error)
}

// JournalClearing is the Clearing of a journal the kernel writes with a
// data key (kernel.WithDataKey): the records of kinds ec_offline_sale,
// offline_sale and online_sale, their PANs opened with key, their upload
// states in the journal, the totals by journal.BatchTotals.
func JournalClearing(j journal.Journal, key journal.DataKey) Clearing {
	return &journalClearing{j: j, key: key}
}

type journalClearing struct {
	j   journal.Journal
	key journal.DataKey
}

// Pending returns the journal's records still to upload (Clearing).
func (c *journalClearing) Pending(ctx context.Context) ([]ClearingRecord, error) {
	recs, err := c.j.Records(ctx)
	if err != nil {
		return nil, err
	}
	out := []ClearingRecord{} // read, even if every record is left out
	var skipped []error
	for i := range recs {
		r := &recs[i]
		if r.Kind != journal.KindECOfflineSale && r.Kind != journal.KindOfflineSale && r.Kind != journal.KindOnlineSale {
			continue
		}
		if st := r.UploadState(); st != journal.UploadPending && st != journal.UploadSent {
			continue
		}
		cr, err := c.record(ctx, r)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		out = append(out, cr)
	}
	return out, errors.Join(skipped...)
}

// record converts a journal record for its upload.
func (c *journalClearing) record(ctx context.Context, r *journal.Record) (ClearingRecord, error) {
	if c.key == nil {
		return ClearingRecord{}, fmt.Errorf("acquirer: record %s: no data key to open its PAN", r.ID)
	}
	pan, err := r.OpenPAN(ctx, c.key)
	if err != nil {
		return ClearingRecord{}, fmt.Errorf("acquirer: record %s: PAN: %w", r.ID, err)
	}
	cr := ClearingRecord{ID: r.ID, Kind: r.Kind, PAN: pan, Amount: kernel.Amount(r.Amount), EntryMode: r.EntryMode,
		STAN: r.STAN, Batch: r.Batch, State: r.UploadState()}
	if len(r.Expiry) >= 4 {
		cr.Expiry = r.Expiry[:4] // YYMMDD: field 14 is YYMM
	}
	if b, err := hex.DecodeString(r.PSN); err == nil && len(b) == 1 {
		cr.PSN = b[0]
	}
	if b, err := hex.DecodeString(r.TVR); err == nil && len(b) == 5 {
		copy(cr.TVR[:], b)
	}
	if cr.Field55, err = hex.DecodeString(r.Field55); err != nil || !hasTag(cr.Field55, 0x9F26) {
		return ClearingRecord{}, fmt.Errorf("acquirer: record %s: field 55 without the final cryptogram", r.ID)
	}
	return cr, nil
}

// Mark records an upload event of a record in the journal (Clearing).
func (c *journalClearing) Mark(ctx context.Context, id string, e journal.UploadEvent) error {
	return c.j.Mark(ctx, id, e)
}

// Totals sums the journal's records of a batch (Clearing).
func (c *journalClearing) Totals(ctx context.Context, batch uint32) (journal.Totals, error) {
	recs, err := c.j.Records(ctx)
	if err != nil {
		return journal.Totals{}, err
	}
	return journal.BatchTotals(recs, batch), nil
}

// uploadOffline sends the offline sales not yet acknowledged (EC offline
// upload, 0200 60.1 36, or 0320 in batch): each is marked sent with its
// trace number before it leaves, and acknowledged (00, 94) or refused when
// the acquirer answers, so a crash anywhere sends it again with the same
// trace number and the acquirer counts it once. It stops at the first
// network failure. The caller holds l.mu.
func (l *Link) uploadOffline(ctx context.Context) (int, error) {
	if l.clearing == nil {
		return 0, nil
	}
	recs, err := l.clearing.Pending(ctx)
	if err != nil {
		l.log("clearing records left out", "err", err)
		if recs == nil {
			return 0, err
		}
	}
	n := 0
	for i := range recs {
		if !recs[i].offline() {
			continue
		}
		k := msgOfflineUpload
		if l.cfg.Variant.OfflineUploadInBatch {
			k = msgOfflineUploadBatch
		}
		if err := l.upload(ctx, &recs[i], k, "", offlineExtra(l.cfg.Currency)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func offlineExtra(currency string) fields {
	return fields{fCondition: "00", fCurrency: currency, fPrivate63: []byte("CUP")}
}

// upload sends one record as message k and records the answer: marked
// sent before it leaves (with its own trace number, so a retry is the same
// message), acknowledged on 00 or 94 (a copy the acquirer has), refused on
// any other code. A reply without a valid MAC (when the message carries
// one) or that does not fit leaves the record sent, to go again.
func (l *Link) upload(ctx context.Context, r *ClearingRecord, k msgKind, net603 string, extra fields) error {
	stan, batch, err := l.number(ctx, r.STAN, r.Batch)
	if err != nil {
		return err
	}
	msg, err := l.uploadMessage(r, k, stan, batch, net603, extra)
	if err != nil {
		return err
	}
	stepHook("mark:sent")
	if err := l.clearing.Mark(ctx, r.ID, journal.UploadEvent{State: journal.UploadSent, Time: l.now(), Detail: fmt.Sprintf("stan %06d", stan)}); err != nil {
		return err
	}
	stepHook("marked:sent")
	reply, err := l.confirmed(ctx, msg, messages[k].mac)
	if err != nil {
		return err
	}
	code := str(reply, fResponseCode)
	s := journal.UploadRefused
	if code == "00" || code == "94" { // 94: a duplicate, the acquirer has it [LY]
		s = journal.UploadAcknowledged
	}
	r.State = s
	stepHook("mark:" + string(s))
	if err := l.clearing.Mark(ctx, r.ID, journal.UploadEvent{State: s, Time: l.now(), Detail: "response code " + code}); err != nil {
		return err
	}
	stepHook("marked:" + string(s))
	return nil
}

// uploadMessage builds the upload of r: 2 4 11 14 22 23 41 42 55 60 and
// those of extra.
func (l *Link) uploadMessage(r *ClearingRecord, k msgKind, stan, batch uint32, net603 string, extra fields) (*iso8583.Message, error) {
	if err := checkPAN(r.PAN); err != nil {
		return nil, err
	}
	if len(r.Field55) > 255 {
		return nil, fmt.Errorf("%w: field 55 of %d bytes", ErrMessage, len(r.Field55))
	}
	f, err := l.cardFields(r.PAN, r.PSN, nil, false)
	if err != nil {
		return nil, err
	}
	f[fAmount] = fmt.Sprintf("%012d", uint64(r.Amount))
	f[fICC] = r.Field55
	if len(r.EntryMode) == 3 {
		f[fEntryMode] = r.EntryMode
	}
	if validYYMM(r.Expiry) {
		f[fExpiry] = r.Expiry
	}
	for id, v := range extra {
		f[id] = v
	}
	rest := ""
	if messages[k].financial {
		rest = l.rest60(strings.HasPrefix(r.EntryMode, "07"))
	}
	return l.build(k, stan, batch, net603, rest, f)
}
