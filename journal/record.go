// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-pboc/pboc/tlv"
)

// Kind says what a record is for the back office.
type Kind string

// The kinds the kernel writes. A vendor may add others; the journal only
// requires a kind to be non-empty.
const (
	// KindECOfflineSale is a sale the card approved offline from its
	// electronic-cash balance (a TC): money the merchant still has to clear.
	KindECOfflineSale Kind = "ec_offline_sale"
	// KindOnlineSale is a sale the issuer approved online.
	KindOnlineSale Kind = "online_sale"
	// KindOfflineSale is a sale the card approved offline outside electronic
	// cash (by the default action codes when the host was unreachable).
	KindOfflineSale Kind = "offline_sale"
	// KindLoad is a top-up of the card's electronic-cash balance.
	KindLoad Kind = "load"
	// KindTorn is a transaction the card was removed from before the
	// terminal saw its result; the card may or may not have debited itself.
	// Written by earlier versions, read still; never uploaded for clearing.
	KindTorn Kind = "torn"
	// KindDiscrepancy is money the card's own unauthenticated data says it
	// paid without the terminal holding the cryptogram: a torn sale found in
	// the card's log, a balance that changed after a GENERATE AC whose
	// answer was lost or refused, a TC answering a question the terminal did
	// not ask. It asks the acquirer for nothing: it is kept for the issuer
	// to reconcile (Record.Note says what the card showed).
	KindDiscrepancy Kind = "discrepancy"
)

// Clearable reports whether records of kind k are money the merchant may
// ask the acquirer for: each holds the card's cryptogram of the sale.
// Torn and discrepancy records never are.
func (k Kind) Clearable() bool { return k != KindTorn && k != KindDiscrepancy && k != "" }

// FormatVersion is the record format Append writes. Format 1 (records
// written before the clearing fields existed, with no "format" member) is
// still read; Records reports it as Format 1.
const FormatVersion = 2

// Record is one clearing record: what the terminal keeps of a sale or a
// load so that the merchant can be paid and the acquirer's uploads (the
// offline EC upload, 0200 with 60.1 = 36, and the IC TC upload, 0320 with
// 60.3 = 203) can be built from it alone. It is a plain struct with JSON
// tags; binary card data is upper-case hex. A Record never holds the full
// PAN in clear: SetPANKeyed keeps the masked PAN and a keyed hash, and
// SealPAN the PAN encrypted under the terminal's data key.
type Record struct {
	// Format is the record format version: FormatVersion for records
	// Append writes (whatever the caller set), 1 for older records.
	Format int `json:"format,omitempty"`
	// ID identifies the sale, so that the same sale written twice is kept
	// once. Use RecordID to build it.
	ID string `json:"id"`
	// Time is when the terminal completed the transaction, in the
	// terminal's time zone (fields 12 and 13 of the uploads).
	Time time.Time `json:"time"`
	// Kind is what the record is for: KindECOfflineSale, KindOnlineSale, ...
	Kind Kind `json:"kind"`
	// Amount is the authorised amount (9F02, field 4) in minor units (fen).
	Amount uint64 `json:"amount"`
	// Currency is the transaction currency code (5F2A), ISO 4217 numeric,
	// e.g. "0156".
	Currency string `json:"currency"`
	// MaskedPAN is the PAN with all but the first 6 and last 4 digits
	// replaced by '*'.
	MaskedPAN string `json:"masked_pan"`
	// PANHash is the lower-case hex SHA-256 (HashPAN) or HMAC-SHA-256
	// (HashPANKeyed) of the PAN digits, for matching records to a card.
	PANHash string `json:"pan_hash"`
	// EncryptedPAN is the full PAN (field 2) encrypted under the
	// terminal's data key (see SealPAN, OpenPAN); nil when the terminal
	// has no data key.
	EncryptedPAN *SealedPAN `json:"pan_encrypted,omitempty"`
	// PSN is the PAN sequence number (5F34, field 23), hex.
	PSN string `json:"psn,omitempty"`
	// Expiry is the application expiration date (5F24, YYMMDD), hex; field
	// 14 is its first four digits.
	Expiry string `json:"expiry,omitempty"`
	// AID is the application identifier (4F/84), hex.
	AID string `json:"aid"`
	// TransactionType is 9C, hex: "00" a sale, "60" "62" "63" the loads.
	TransactionType string `json:"txn_type,omitempty"`
	// EntryMode is field 22, three digits: "05" contact chip or "07"
	// contactless (qPBOC), then "1" when a PIN was entered, "2" when not.
	EntryMode string `json:"entry_mode,omitempty"`
	// STAN and Batch are the transaction's trace number (field 11) and
	// batch number (field 60.2); 0 when the terminal had no counter (and
	// in format 1 records).
	STAN  uint32 `json:"stan,omitempty"`
	Batch uint32 `json:"batch,omitempty"`
	// TerminalID (9F1C, field 41) and MerchantID (9F16, field 42).
	TerminalID string `json:"terminal_id,omitempty"`
	MerchantID string `json:"merchant_id,omitempty"`
	// ATC is the card's application transaction counter (9F36).
	ATC uint16 `json:"atc"`
	// Cryptogram is the application cryptogram (9F26), hex.
	Cryptogram string `json:"cryptogram,omitempty"`
	// CID is the cryptogram information data (9F27), hex.
	CID string `json:"cid,omitempty"`
	// TVR is the terminal verification results (95), hex.
	TVR string `json:"tvr,omitempty"`
	// ResponseCode and AuthCode are the issuer's answer to an online
	// request (fields 39 and 38); empty offline.
	ResponseCode string `json:"response_code,omitempty"`
	AuthCode     string `json:"auth_code,omitempty"`
	// BalanceBefore is the EC balance (9F79) before the transaction, in
	// minor units, when the terminal read it.
	BalanceBefore *uint64 `json:"balance_before,omitempty"`
	// BalanceAfter is the EC balance after the transaction, when known.
	BalanceAfter *uint64 `json:"balance_after,omitempty"`
	// Field55 is the ICC data of the record's upload (ISO 8583 field 55)
	// as hex BER-TLV: for an offline EC sale the offline upload's set
	// (with 8A = "Y1" and 9F74), for an online sale the TC upload's (the
	// TC of the second GENERATE AC). It must not contain the PAN or track
	// data (5A, 56, 57, 9F6B).
	Field55 string `json:"field55,omitempty"`
	// Outcome is the kernel's outcome, e.g. "approved_offline".
	Outcome string `json:"outcome"`
	// Note says, for a discrepancy, what the card showed and why the record
	// asks for no money.
	Note string `json:"note,omitempty"`
	// Upload is the record's upload state and its history, filled in by
	// Records from the journal's upload events; nil means pending with no
	// history. Append ignores it: a new record is pending.
	Upload *Upload `json:"upload,omitempty"`
}

// UploadState returns the record's upload state (UploadPending when
// Upload is nil).
func (r *Record) UploadState() UploadState {
	if r.Upload == nil {
		return UploadPending
	}
	return r.Upload.State
}

// MaskPAN returns pan with every digit but the first 6 and the last 4
// replaced by '*' ("6234561234567890" → "623456******7890"). Trailing 'F'
// padding from the card's BCD encoding is dropped first.
func MaskPAN(pan string) string { return tlv.MaskPAN(trimPAN(pan)) }

// HashPAN returns the lower-case hex SHA-256 of the PAN digits (trailing 'F'
// padding dropped), for matching journal records to a card.
//
// Together with the masked PAN a plain hash is weak: only the 6 middle digits
// are unknown and the Luhn check digit removes one more, so about 10^5
// guesses (milliseconds) recover the PAN. Prefer HashPANKeyed with a key kept outside the
// journal wherever the journal leaves the terminal.
func HashPAN(pan string) string {
	sum := sha256.Sum256([]byte(trimPAN(pan)))
	return hex.EncodeToString(sum[:])
}

// HashPANKeyed returns the lower-case hex HMAC-SHA-256 of the PAN digits
// under key. The same key must be used for every record that is to be
// matched.
func HashPANKeyed(key []byte, pan string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(trimPAN(pan)))
	return hex.EncodeToString(m.Sum(nil))
}

func trimPAN(pan string) string { return strings.TrimRight(pan, "Ff") }

// SetPAN fills MaskedPAN and PANHash (with HashPAN) from the full PAN; the
// PAN itself is not kept. See HashPAN for why SetPANKeyed is preferable.
func (r *Record) SetPAN(pan string) {
	r.MaskedPAN = MaskPAN(pan)
	r.PANHash = HashPAN(pan)
}

// SetPANKeyed is SetPAN with HashPANKeyed: the hash cannot be reversed
// without key.
func (r *Record) SetPANKeyed(key []byte, pan string) {
	r.MaskedPAN = MaskPAN(pan)
	r.PANHash = HashPANKeyed(key, pan)
}

// RecordID builds the ID of a record of a card transaction: AID, PAN hash,
// PSN and ATC. The card never uses an ATC twice, so two records with the
// same ID are the same transaction written twice: the same sale appended
// again is a no-op, and the same ATC journaled under another kind (a
// discrepancy settled from the card's log for an ATC that already stands
// for a cleared sale) is ErrConflict, never a second record. kind is not
// part of the ID; it is kept in the signature for callers of earlier
// versions, whose records (with the kind in front) still read.
func RecordID(kind Kind, aid, panHash, psn string, atc uint16) string {
	_ = kind
	return fmt.Sprintf("txn:%s:%s:%s:%d", strings.ToUpper(aid), panHash, strings.ToUpper(psn), atc)
}

// ErrInvalid is wrapped by the error Append returns for a record it refuses.
var ErrInvalid = errors.New("journal: invalid record")

// ErrFullPAN is wrapped, together with ErrInvalid, by the error for a record
// that would store a full PAN or track data.
var ErrFullPAN = errors.New("journal: record holds a full PAN or track data")

// maxIDLen bounds Record.ID.
const maxIDLen = 512

// Validate reports whether r can be journaled: it needs an ID and a kind,
// hex fields must be hex, the PAN hash must be 32 bytes of hex, the
// clearing fields must fit their ISO 8583 fields (see validateClearing),
// and neither the masked PAN nor field 55 may reveal the full PAN. The
// error wraps ErrInvalid (and ErrFullPAN for a PAN leak).
func (r *Record) Validate() error {
	switch {
	case r.ID == "":
		return fmt.Errorf("%w: empty id", ErrInvalid)
	case len(r.ID) > maxIDLen:
		return fmt.Errorf("%w: id longer than %d bytes", ErrInvalid, maxIDLen)
	case r.Kind == "":
		return fmt.Errorf("%w %s: empty kind", ErrInvalid, r.ID)
	}
	if r.MaskedPAN != "" {
		digits := 0
		for _, c := range r.MaskedPAN {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits > 10 || !strings.Contains(r.MaskedPAN, "*") {
			return fmt.Errorf("%w %s: %w: masked_pan is not masked", ErrInvalid, r.ID, ErrFullPAN)
		}
	}
	if r.PANHash != "" {
		if b, err := hex.DecodeString(r.PANHash); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w %s: pan_hash is not 64 hex digits", ErrInvalid, r.ID)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"psn", r.PSN}, {"aid", r.AID}, {"cryptogram", r.Cryptogram}, {"cid", r.CID}, {"tvr", r.TVR},
		{"expiry", r.Expiry}, {"txn_type", r.TransactionType},
	} {
		if _, err := hex.DecodeString(f.v); err != nil {
			return fmt.Errorf("%w %s: %s: %w", ErrInvalid, r.ID, f.name, err)
		}
	}
	if err := r.validateClearing(); err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalid, r.ID, err)
	}
	f55, err := hex.DecodeString(r.Field55)
	if err != nil {
		return fmt.Errorf("%w %s: field55: %w", ErrInvalid, r.ID, err)
	}
	err = tlv.Walk(f55, func(_ int, o tlv.TLV) error {
		switch o.Tag {
		case 0x5A, 0x56, 0x57, 0x9F6B:
			return fmt.Errorf("%w %s: %w: field55 holds tag %s", ErrInvalid, r.ID, ErrFullPAN, o.Tag)
		}
		return nil
	})
	if errors.Is(err, ErrInvalid) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w %s: field55: %w", ErrInvalid, r.ID, err)
	}
	return nil
}

// fingerprint is what must match for a second Append with the same ID to be
// the same sale.
type fingerprint struct {
	kind             Kind
	amount           uint64
	currency, crypto string
}

func fingerprintOf(r *Record) fingerprint {
	return fingerprint{r.Kind, r.Amount, r.Currency, strings.ToUpper(r.Cryptogram)}
}

// maxSTAN is the largest trace or batch number (n6); 0 means none.
const maxSTAN = 999999

// clearingField is a text field the acquirer's uploads copy as it is, and
// what it must be.
type clearingField struct {
	name string
	v    *string
	fits func(string) bool
}

// clearingFields are r's: the entry mode n3, the expiry 5F24's YYMMDD,
// the transaction type one byte, the IDs fields 41/42 (ans8, ans15), the
// codes fields 38/39 (an6, an2). Empty always fits (not known).
func (r *Record) clearingFields() []clearingField {
	text := func(n int) func(string) bool { return func(s string) bool { return printable(s, n) } }
	num := func(n int) func(string) bool { return func(s string) bool { return s == "" || digits(s, n) } }
	return []clearingField{
		{"entry_mode", &r.EntryMode, num(3)},
		{"expiry", &r.Expiry, num(6)},
		{"txn_type", &r.TransactionType, func(s string) bool { return len(s) <= 2 }},
		{"terminal_id", &r.TerminalID, text(8)},
		{"merchant_id", &r.MerchantID, text(15)},
		{"auth_code", &r.AuthCode, text(6)},
		{"response_code", &r.ResponseCode, text(2)},
	}
}

// validateClearing checks the fields the acquirer's uploads copy as they
// are, so that a record which passes can be uploaded: the numbers fit n6,
// the text fields fit theirs (clearingFields), and an encrypted PAN names
// its key.
func (r *Record) validateClearing() error {
	if r.STAN > maxSTAN || r.Batch > maxSTAN {
		return fmt.Errorf("stan %d or batch %d above %d", r.STAN, r.Batch, maxSTAN)
	}
	for _, f := range r.clearingFields() {
		if !f.fits(*f.v) {
			return fmt.Errorf("%s %q does not fit its field", f.name, *f.v)
		}
	}
	if p := r.EncryptedPAN; p != nil {
		if b, err := hex.DecodeString(p.Data); err != nil || len(b) == 0 || len(b) > maxSealed || p.Key == "" || len(p.Key) > maxKeyID {
			return fmt.Errorf("pan_encrypted: want a key id and 1 to %d bytes of hex", maxSealed)
		}
	}
	return nil
}

// DropMisfits empties the clearing fields whose values do not fit their
// ISO 8583 field (and would make Validate refuse the record) and returns
// their names. The kernel calls it on what a card or a host told it: a
// lying 5F24 or authorisation code costs the record that field, never the
// record itself, which holds money.
func (r *Record) DropMisfits() []string {
	var dropped []string
	for _, f := range r.clearingFields() {
		if !f.fits(*f.v) {
			*f.v = ""
			dropped = append(dropped, f.name)
		}
	}
	return dropped
}

// digits reports whether s is exactly n ASCII digits.
func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// printable reports whether s is at most n printable ASCII characters.
func printable(s string, n int) bool {
	if len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}
