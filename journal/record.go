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

// Record is one clearing record. It is a plain struct with JSON tags so the
// kernel can fill it and the export can be uploaded as is. Binary card data
// is upper-case hex. A Record must never hold a full PAN: use SetPAN, which
// stores the masked PAN and a hash of the PAN instead.
type Record struct {
	// ID identifies the sale, so that the same sale written twice is kept
	// once. Use RecordID to build it.
	ID string `json:"id"`
	// Time is when the terminal completed the transaction.
	Time time.Time `json:"time"`
	// Kind is what the record is for: KindECOfflineSale, KindOnlineSale, ...
	Kind Kind `json:"kind"`
	// Amount is the authorised amount (9F02) in minor units (fen).
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
	// PSN is the PAN sequence number (5F34), hex.
	PSN string `json:"psn,omitempty"`
	// AID is the application identifier (4F/84), hex.
	AID string `json:"aid"`
	// ATC is the card's application transaction counter (9F36).
	ATC uint16 `json:"atc"`
	// Cryptogram is the application cryptogram (9F26), hex.
	Cryptogram string `json:"cryptogram,omitempty"`
	// CID is the cryptogram information data (9F27), hex.
	CID string `json:"cid,omitempty"`
	// TVR is the terminal verification results (95), hex.
	TVR string `json:"tvr,omitempty"`
	// BalanceBefore is the EC balance (9F79) before the transaction, in
	// minor units, when the terminal read it.
	BalanceBefore *uint64 `json:"balance_before,omitempty"`
	// BalanceAfter is the EC balance after the transaction, when known.
	BalanceAfter *uint64 `json:"balance_after,omitempty"`
	// Field55 is the ICC data for ISO 8583 field 55 (the clearing data), as
	// hex BER-TLV. It must not contain the PAN or track data (5A, 56, 57,
	// 9F6B).
	Field55 string `json:"field55,omitempty"`
	// Outcome is the kernel's outcome, e.g. "approved_offline".
	Outcome string `json:"outcome"`
	// Note says, for a discrepancy, what the card showed and why the record
	// asks for no money.
	Note string `json:"note,omitempty"`
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
// hex fields must be hex, the PAN hash must be 32 bytes of hex, and neither
// the masked PAN nor field 55 may reveal the full PAN. The error wraps
// ErrInvalid (and ErrFullPAN for a PAN leak).
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
	} {
		if _, err := hex.DecodeString(f.v); err != nil {
			return fmt.Errorf("%w %s: %s: %w", ErrInvalid, r.ID, f.name, err)
		}
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
