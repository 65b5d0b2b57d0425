// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/tlv"
)

// Amount is money in fen (minor units), as the purse carries it: 4 bytes
// big-endian.
type Amount uint32

// String formats the amount in yuan with two decimals: "12.34".
func (a Amount) String() string { return bcd.FormatAmount(uint64(a)) }

// MarshalText writes the amount in yuan ("12.34"), as JSON shows it.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an amount in yuan.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAmount reads a decimal yuan amount ("12.34", "100") into fen. It
// fails with an error wrapping ErrAmount for what bcd.ParseAmount refuses
// and for amounts that do not fit the purse's 4 bytes (above 42949672.95).
func ParseAmount(s string) (Amount, error) {
	v, err := bcd.ParseAmount(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrAmount, err)
	}
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("%w: %s does not fit the purse's 4 bytes", ErrAmount, bcd.FormatAmount(v))
	}
	return Amount(v), nil
}

func amountAt(b []byte) Amount {
	return Amount(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

func (a Amount) bytes() []byte { return []byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)} }

// Wallet is the purse a command addresses, as its P2: the electronic
// deposit (电子存折, ED) or the electronic purse (电子钱包, EP).
type Wallet byte

// The two wallets of a PBOC ED/EP application.
const (
	// ED is the electronic deposit (P2 01): PIN-protected, the only wallet
	// that can be unloaded (圈提).
	ED Wallet = 0x01
	// EP is the electronic purse (P2 02).
	EP Wallet = 0x02
)

// String returns "ED", "EP" or "Wallet(0xNN)".
func (w Wallet) String() string {
	switch w {
	case ED:
		return "ED"
	case EP:
		return "EP"
	}
	return fmt.Sprintf("Wallet(0x%02X)", byte(w))
}

// ParseWallet reads "ed" or "ep" (any case).
func ParseWallet(s string) (Wallet, error) {
	switch strings.ToUpper(s) {
	case "ED":
		return ED, nil
	case "EP":
		return EP, nil
	}
	return 0, fmt.Errorf("%w: wallet %q (want ed or ep)", ErrConfig, s)
}

// MarshalText writes "ED" or "EP".
func (w Wallet) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText reads "ED" or "EP".
func (w *Wallet) UnmarshalText(b []byte) error {
	v, err := ParseWallet(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

func (w Wallet) valid() bool { return w == ED || w == EP }

// TxType is the transaction type code (交易类型标识) the card and the SAM
// put in their MACs and in the EF18 records.
type TxType byte

// Transaction type codes [ZY; JJ].
const (
	TypeEDLoad       TxType = 0x01 // load into the ED (圈存)
	TypeEPLoad       TxType = 0x02 // load into the EP (圈存)
	TypeUnload       TxType = 0x03 // unload from the ED (圈提)
	TypeEDCash       TxType = 0x04 // ED cash withdrawal
	TypeEDPurchase   TxType = 0x05 // ED purchase
	TypeEPPurchase   TxType = 0x06 // EP purchase
	TypeOverdraft    TxType = 0x07 // overdraft limit update
	TypeCredit       TxType = 0x08 // credit purchase
	TypeComposite    TxType = 0x09 // composite (CAPP) purchase
	TypeGreyLock     TxType = 0x91 // fuel grey lock (灰锁)
	TypeDebitUnlock  TxType = 0x93 // debit for unlock (解扣)
	TypeOnlineUnlock TxType = 0x95 // online unlock (联机解扣)
	typeGreyLockYKT  TxType = 0x92 // the grey-lock code one PSAM source sends (see Config.GreyLockSAMType)
)

var typeNames = map[TxType]string{
	TypeEDLoad: "ED load", TypeEPLoad: "EP load", TypeUnload: "unload", TypeEDCash: "ED cash withdrawal",
	TypeEDPurchase: "ED purchase", TypeEPPurchase: "EP purchase", TypeOverdraft: "overdraft update",
	TypeCredit: "credit purchase", TypeComposite: "composite purchase", TypeGreyLock: "grey lock",
	typeGreyLockYKT: "grey lock (92)", TypeDebitUnlock: "debit for unlock", TypeOnlineUnlock: "online unlock",
}

// String names the type, "type 0xNN" when unknown.
func (t TxType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type 0x%02X", byte(t))
}

// loadType and purchaseType are the type codes of a load and a purchase
// into/from the wallet.
func (w Wallet) loadType() TxType {
	if w == ED {
		return TypeEDLoad
	}
	return TypeEPLoad
}

func (w Wallet) purchaseType() TxType {
	if w == ED {
		return TypeEDPurchase
	}
	return TypeEPPurchase
}

// MAC is a 4-byte MAC1, MAC2, MAC3, TAC, GTAC, GMAC or PSAM-TAC. In JSON
// and text it is 8 upper-case hex digits.
type MAC [4]byte

// String returns the MAC in hex.
func (m MAC) String() string { return strings.ToUpper(hex.EncodeToString(m[:])) }

// IsZero reports whether the MAC is all zeros (not set).
func (m MAC) IsZero() bool { return m == MAC{} }

// MarshalText writes the hex.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads 8 hex digits.
func (m *MAC) UnmarshalText(b []byte) error { return fixedHex(m[:], b, "MAC") }

// TID is the 6-byte terminal ID (终端机编号): the PSAM's EF16, sent to the
// card in every INITIALIZE command and covered by the MACs.
type TID [6]byte

// String returns the TID in hex (its BCD digits).
func (t TID) String() string { return strings.ToUpper(hex.EncodeToString(t[:])) }

// MarshalText writes the hex.
func (t TID) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads 12 hex digits.
func (t *TID) UnmarshalText(b []byte) error { return fixedHex(t[:], b, "TID") }

// ParseTID reads a TID of 12 hex digits.
func ParseTID(s string) (TID, error) {
	var t TID
	err := t.UnmarshalText([]byte(s))
	return t, err
}

// ASN is the 10-byte application serial number (应用序列号, the card
// number of a fuel card) from EF15. It is card data like a PAN: String
// masks it, and records keep it only masked, hashed and sealed.
type ASN [10]byte

// Digits returns the ASN's 20 hex digits (its BCD).
func (a ASN) Digits() string { return strings.ToUpper(hex.EncodeToString(a[:])) }

// String returns the ASN masked: first 6 and last 4 digits.
func (a ASN) String() string { return tlv.MaskPAN(a.Digits()) }

// GoString is String, so that %#v does not print the ASN either.
func (a ASN) GoString() string { return a.String() }

// ParseASN reads an ASN of 20 decimal digits.
func ParseASN(digits string) (ASN, error) {
	var a ASN
	if len(digits) != 20 || strings.Trim(digits, "0123456789") != "" {
		return a, fmt.Errorf("%w: ASN %q: want 20 digits", ErrConfig, digits)
	}
	_, err := hex.Decode(a[:], []byte(digits))
	return a, err
}

// Factor returns the key diversification factor: the right 8 bytes of the
// ASN ("舍弃前两字节" [JJ]).
func (a ASN) Factor() [8]byte {
	var f [8]byte
	copy(f[:], a[2:])
	return f
}

// DateTime is a date and time as the purse carries it: 7 bytes BCD
// YYYYMMDDhhmmss.
type DateTime [7]byte

// DateTimeOf encodes t (its own location's wall clock).
func DateTimeOf(t time.Time) DateTime {
	var d DateTime
	s := t.Format("20060102150405")
	b, _ := hex.DecodeString(s) // 14 decimal digits: always valid hex
	copy(d[:], b)
	return d
}

// Time decodes the date and time in loc (UTC when nil). Bad BCD or an
// impossible date is an error wrapping ErrCardData.
func (d DateTime) Time(loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := hex.EncodeToString(d[:])
	t, err := time.ParseInLocation("20060102150405", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: date and time %s", ErrCardData, s)
	}
	return t, nil
}

// String returns "2026-03-15 10:30:00", or the hex when it is not a valid
// date.
func (d DateTime) String() string {
	t, err := d.Time(nil)
	if err != nil {
		return strings.ToUpper(hex.EncodeToString(d[:]))
	}
	return t.Format("2006-01-02 15:04:05")
}

// IsZero reports whether no date is set.
func (d DateTime) IsZero() bool { return d == DateTime{} }

// MarshalText writes the 14 digits.
func (d DateTime) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(d[:]))), nil
}

// UnmarshalText reads 14 digits.
func (d *DateTime) UnmarshalText(b []byte) error { return fixedHex(d[:], b, "date and time") }

func fixedHex(dst, text []byte, what string) error {
	if hex.DecodedLen(len(text)) != len(dst) {
		return fmt.Errorf("%w: %s: %d hex digits, want %d", ErrRecord, what, len(text), 2*len(dst))
	}
	if _, err := hex.Decode(dst, text); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRecord, what, err)
	}
	return nil
}

// Errors of this package, for errors.Is.
var (
	// ErrCardData reports a card answer that does not fit what the
	// terminal asked: a wrong length, an impossible value, a record that
	// contradicts the terminal's own.
	ErrCardData = errors.New("purse: card data")
	// ErrCardStatus reports a status word the flow cannot continue from.
	ErrCardStatus = errors.New("purse: card refused")
	// ErrSAM reports a SAM that failed or refused.
	ErrSAM = errors.New("purse: SAM")
	// ErrHost reports the host unreachable or failing (not a decline).
	ErrHost = errors.New("purse: host")
	// ErrConfig reports a terminal configuration that cannot work.
	ErrConfig = errors.New("purse: configuration")
	// ErrAmount reports an amount the purse cannot carry.
	ErrAmount = errors.New("purse: amount")
	// ErrNoApplication reports a card with none of the terminal's AIDs.
	ErrNoApplication = errors.New("purse: no purse application")
	// ErrStore reports the durable store failing: the operation stopped
	// before the card was asked to move money, or, when the money had
	// moved, the Result says what the card did.
	ErrStore = errors.New("purse: store")
	// ErrRecord reports a stored record that cannot be read.
	ErrRecord = errors.New("purse: record")
)
