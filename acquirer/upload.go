package acquirer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// UploadState is where a clearing record stands with the acquirer.
type UploadState string

// The upload states.
const (
	UploadPending      UploadState = "pending"      // not yet sent
	UploadSent         UploadState = "sent"         // sent, no answer recorded: sent again, same trace number
	UploadAcknowledged UploadState = "acknowledged" // the acquirer took it (00, or 94: it already had it)
	UploadRefused      UploadState = "refused"      // the acquirer refused it: not sent again
	UploadSkipped      UploadState = "skipped"      // not uploaded: issuer authentication failed (TVR byte 5 bit 7)
)

// final reports a state after which the record is not sent again.
func (s UploadState) final() bool {
	return s == UploadAcknowledged || s == UploadRefused || s == UploadSkipped
}

// ClearingRecord is a sale the acquirer must be told of: an offline
// approval (EC or by the default action codes), uploaded before the next
// online request, or an online approval whose final TC goes up at
// settlement.
type ClearingRecord struct {
	ID     string
	Kind   journal.Kind
	PAN    string // full: field 2. Never logged or stored in clear.
	PSN    byte
	Amount kernel.Amount
	// Field55 is the upload's ICC data: the card's final cryptogram (TC)
	// in 9F26/9F27 and, for an EC offline sale, 8A = "Y1".
	Field55 []byte
	TVR     [5]byte
	Time    time.Time
	// State, STAN and Code are the upload's history: STAN is kept from
	// the first attempt so that a retry is the same message.
	State UploadState
	STAN  uint32
	Code  string
}

// offline reports a record uploaded before online requests.
func (r *ClearingRecord) offline() bool {
	return r.Kind == journal.KindECOfflineSale || r.Kind == journal.KindOfflineSale
}

// Clearing is what the link needs of the terminal's clearing records (the
// journal): the records not yet acknowledged, and a durable mark of what
// the acquirer said.
type Clearing interface {
	// Pending returns, oldest first, the records whose state is not final.
	// A record it cannot read is left out and named in the error, which
	// comes with the records that could be read.
	Pending(ctx context.Context) ([]ClearingRecord, error)
	// Mark records the upload state of record id: the trace number it
	// was (or is about to be) sent with and the acquirer's response code.
	Mark(ctx context.Context, id string, s UploadState, stan uint32, code string) error
}

// uploadMark is a Clearing mark kept in the State.
type uploadMark struct {
	STAN  uint32
	State UploadState
	Code  string
}

// JournalClearing is a Clearing over today's journal, which holds neither
// the full PAN nor an upload state: the marks are kept in st, and pan
// recovers a record's PAN (from the vendor's encrypted store; the journal
// holds only its mask and keyed hash). Records of kinds ec_offline_sale,
// offline_sale and online_sale are uploaded.
func JournalClearing(j journal.Journal, st *State, pan func(journal.Record) (string, error)) Clearing {
	return &journalClearing{j: j, st: st, pan: pan}
}

type journalClearing struct {
	j   journal.Journal
	st  *State
	pan func(journal.Record) (string, error)
}

func (c *journalClearing) Pending(ctx context.Context) ([]ClearingRecord, error) {
	recs, err := c.j.Records(ctx)
	if err != nil {
		return nil, err
	}
	var out []ClearingRecord
	var skipped []error
	for _, r := range recs {
		if r.Kind != journal.KindECOfflineSale && r.Kind != journal.KindOfflineSale && r.Kind != journal.KindOnlineSale {
			continue
		}
		c.st.mu.Lock()
		m := c.st.marks[r.ID]
		c.st.mu.Unlock()
		if m.State.final() {
			continue
		}
		cr, err := c.record(r)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		cr.State, cr.STAN, cr.Code = m.State, m.STAN, m.Code
		if cr.State == "" {
			cr.State = UploadPending
		}
		out = append(out, cr)
	}
	return out, errors.Join(skipped...)
}

// record converts a journal record: the field 55 the upload carries is the
// record's, with the final cryptogram and, offline on EC, 8A = Y1.
func (c *journalClearing) record(r journal.Record) (ClearingRecord, error) {
	pan, err := c.pan(r)
	if err != nil {
		return ClearingRecord{}, fmt.Errorf("acquirer: record %s: PAN: %w", r.ID, err)
	}
	cr := ClearingRecord{ID: r.ID, Kind: r.Kind, PAN: pan, Amount: kernel.Amount(r.Amount), Time: r.Time}
	if b, err := hex.DecodeString(r.PSN); err == nil && len(b) == 1 {
		cr.PSN = b[0]
	}
	if b, err := hex.DecodeString(r.TVR); err == nil && len(b) == 5 {
		copy(cr.TVR[:], b)
	}
	f55, err := hex.DecodeString(r.Field55)
	if err != nil {
		return ClearingRecord{}, fmt.Errorf("acquirer: record %s: field 55: %w", r.ID, err)
	}
	tc, err1 := hex.DecodeString(r.Cryptogram)
	cid, err2 := hex.DecodeString(r.CID)
	if err1 != nil || err2 != nil || len(tc) != 8 || len(cid) != 1 {
		return ClearingRecord{}, fmt.Errorf("acquirer: record %s: no final cryptogram", r.ID)
	}
	arc := ""
	if r.Kind == journal.KindECOfflineSale {
		arc = "Y1" // offline approved [EMV Book 4]: the EC offline upload's 8A [LY]
	}
	if cr.Field55, err = uploadField55(f55, tc, cid[0], arc); err != nil {
		return ClearingRecord{}, fmt.Errorf("acquirer: record %s: %w", r.ID, err)
	}
	return cr, nil
}

// uploadField55 replaces 9F26 and 9F27 of a request's field 55 with the
// final cryptogram and appends 8A when arc is set and 8A is missing.
func uploadField55(f55, tc []byte, cid byte, arc string) ([]byte, error) {
	objs, err := tlv.Parse(f55)
	if err != nil {
		return nil, fmt.Errorf("field 55: %w", err)
	}
	var out []byte
	seen8A := false
	for _, o := range objs {
		switch o.Tag {
		case 0x9F26:
			out = tlv.Append(out, o.Tag, tc)
		case 0x9F27:
			out = tlv.Append(out, o.Tag, []byte{cid})
		default:
			seen8A = seen8A || o.Tag == 0x8A
			out = tlv.Append(out, o.Tag, o.Value)
		}
	}
	if arc != "" && !seen8A {
		out = tlv.Append(out, 0x8A, []byte(arc))
	}
	return out, nil
}

func (c *journalClearing) Mark(ctx context.Context, id string, s UploadState, stan uint32, code string) error {
	return c.st.append(ctx, event{T: evUpload, ID: id, N: stan, Reason: string(s), Code: code})
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

// upload sends one record as message k and records the answer. A reply
// without a valid MAC (when the message carries one) or that does not fit
// leaves the record sent, to go again.
func (l *Link) upload(ctx context.Context, r *ClearingRecord, k msgKind, net603 string, extra fields) error {
	if r.STAN == 0 || r.State == UploadPending {
		stan, err := l.st.reserveSTAN(ctx)
		if err != nil {
			return err
		}
		if err := l.clearing.Mark(ctx, r.ID, UploadSent, stan, ""); err != nil {
			return err
		}
		r.STAN, r.State = stan, UploadSent
	}
	msg, err := l.uploadMessage(r, k, net603, extra)
	if err != nil {
		return err
	}
	reply, in, err := l.exchange(ctx, msg)
	if err != nil {
		return err
	}
	if messages[k].mac && in.MAC != MACValid {
		return ErrBadMAC
	}
	if err := fits(msg, reply); err != nil {
		return err
	}
	code := str(reply, fResponseCode)
	s := UploadRefused
	if code == "00" || code == "94" { // 94: a duplicate, the acquirer has it [LY]
		s = UploadAcknowledged
	}
	r.State, r.Code = s, code
	if err := l.clearing.Mark(ctx, r.ID, s, r.STAN, code); err != nil {
		return err
	}
	if s == UploadAcknowledged && r.offline() {
		// Counted for settlement in the batch the acquirer took it in.
		return l.st.append(ctx, event{T: evCounted, ID: r.ID, N: l.st.Batch(), Amount: uint64(r.Amount)})
	}
	return nil
}

// uploadMessage builds the upload of r: 2 4 11 22 23 41 42 55 60 and
// those of extra.
func (l *Link) uploadMessage(r *ClearingRecord, k msgKind, net603 string, extra fields) (*iso8583.Message, error) {
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
	for id, v := range extra {
		f[id] = v
	}
	rest := ""
	if messages[k].financial {
		rest = l.rest60(false)
	}
	return l.build(k, r.STAN, l.st.Batch(), net603, rest, f)
}
