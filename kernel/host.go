// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/tlv"
)

// RequestKind says what an online authorisation request is for.
type RequestKind int

// The request kinds.
const (
	// RequestPurchase is a sale (9C 00). With TopUp set on the request the
	// terminal also asks the issuer to refill the EC balance (自动圈存).
	RequestPurchase RequestKind = iota
	// RequestLoadDesignated is a designated-account load (指定账户圈存, 9C 60).
	RequestLoadDesignated
	// RequestLoadNonDesignated is a non-designated-account load (非指定账户圈存, 9C 62).
	RequestLoadNonDesignated
	// RequestLoadCash is a cash load (现金圈存, 9C 63).
	RequestLoadCash
)

var requestKindNames = [...]string{"purchase", "load_designated", "load_non_designated", "load_cash"}

// String is the kind's stable name.
func (k RequestKind) String() string {
	if k >= 0 && int(k) < len(requestKindNames) {
		return requestKindNames[k]
	}
	return "unknown"
}

// AuthRequest is what the terminal sends to the issuer (ISO 8583 0100/0200
// in a real acquirer link).
type AuthRequest struct {
	Kind RequestKind
	// Amount is the transaction amount (field 4, 9F02).
	Amount Amount
	// TopUp asks the issuer to refill the EC balance with a script (automatic
	// top-up on a purchase).
	TopUp bool
	// PAN is the full PAN (field 2). Never log it; String masks it.
	PAN string
	// PANSequence is 5F34 (field 23).
	PANSequence byte
	// Expiry is the card's expiry date (5F24) as YYMM, for field 14; ""
	// when the card gave none or not as four BCD digits.
	Expiry string
	// Field55 is the ICC system related data (ISO 8583 field 55): the TLV
	// set PBOC requires for an online request, including the ARQC (9F26).
	Field55 []byte
	// PINBlock is the online PIN block, enciphered by the PIN pad; nil when
	// no online PIN was captured. The kernel never sees the PIN itself.
	PINBlock []byte
	// ECBalance and ECLimit are the card's EC balance (9F79) and balance
	// limit (9F77) as read from the card, for top-ups and loads; nil when not read.
	ECBalance, ECLimit *Amount
	// ECBalanceTag is the tag of the EC balance a top-up or load script
	// sets: 9F79, or DF79 when the sale is in the card's second EC
	// currency (PBOC 3.0, DF71).
	ECBalanceTag uint16
	// STAN is the transaction's system trace audit number (field 11,
	// 1-999999) and Batch its batch number (field 60.2), drawn from the
	// Counter given with WithCounter; 0 when the kernel has none. The
	// request's reversal carries the same STAN, and so does the
	// transaction's journal record.
	STAN, Batch uint32
	// Evidence, on a script reversal, is the card's authenticated state
	// that shows the script did not take effect (see ScriptReverser).
	Evidence *Evidence
}

// String describes the request without sensitive data.
func (r *AuthRequest) String() string {
	return fmt.Sprintf("%s %s pan=%s pin=%t top-up=%t stan=%06d batch=%06d", r.Kind, r.Amount, tlv.MaskPAN(r.PAN), r.PINBlock != nil, r.TopUp, r.STAN, r.Batch)
}

// AuthResponse is the issuer's answer.
type AuthResponse struct {
	// ResponseCode is the authorisation response code (8A, field 39), e.g. "00".
	ResponseCode string
	// AuthCode is the authorisation code (89, field 38).
	AuthCode string
	// IssuerAuthData is tag 91 (ARPC ‖ ARC, or the PBOC form) for issuer authentication.
	IssuerAuthData []byte
	// Scripts holds issuer script templates 71 and/or 72, concatenated TLV.
	Scripts []byte
}

// Approved reports an approval response code ("00", "10", "11").
func (r *AuthResponse) Approved() bool {
	switch r.ResponseCode {
	case "00", "10", "11":
		return true
	}
	return false
}

// Host is the online side: the acquirer/issuer link. An error means the
// terminal could not get an answer (unable to go online), not a decline.
type Host interface {
	Authorize(ctx context.Context, req *AuthRequest) (*AuthResponse, error)
}

// ScriptReverser is implemented by hosts that can undo the EC part of an
// approved request whose balance script did not take effect on the card
// (the refill of an automatic top-up, or a load). The kernel calls it in two
// cases only, and req says which:
//
//   - req.Evidence is nil: no balance script of the issuer (no PUT DATA of
//     this request) was transmitted to the card, so the card cannot hold
//     the refill or the load;
//   - req.Evidence is set: a script was sent, and a cryptogram of a
//     presentation in which the card authenticated itself (DDA, CDA, fDDA)
//     carries, in its IAD, the EC balance the card MACs, equal to the
//     balance before the request. The host must verify that cryptogram and
//     that MAC with the card's keys, and that it was made after the script:
//     of the request's own ATC only the second GENERATE AC (never the
//     request's ARQC, whose IAD shows the balance before), else the next
//     ATC; evidence that does not verify is refused with an error.
//
// A bare GET DATA of the balance is never evidence: a relay or an emulator
// can answer it. A host may rely on the kernel never calling twice for one
// request after success, and should be idempotent anyway.
type ScriptReverser interface {
	ReverseScript(ctx context.Context, req *AuthRequest) error
}

// Reverser is implemented by hosts that accept a reversal of an approved
// request the card did not complete (it declined in the second GENERATE AC
// or went away), so the account is not charged for nothing.
type Reverser interface {
	Reverse(ctx context.Context, req *AuthRequest) error
}

// HostFunc adapts a function to Host.
type HostFunc func(ctx context.Context, req *AuthRequest) (*AuthResponse, error)

// Authorize calls f.
func (f HostFunc) Authorize(ctx context.Context, req *AuthRequest) (*AuthResponse, error) {
	return f(ctx, req)
}

// PINPad captures an enciphered online PIN. The kernel hands it the PAN (for
// the ISO 9564 format-0 block) and the amount to display, and receives only
// the enciphered block.
type PINPad interface {
	OnlinePIN(ctx context.Context, pan string, amount Amount) (encryptedBlock []byte, err error)
}

// PINPadFunc adapts a function to PINPad.
type PINPadFunc func(ctx context.Context, pan string, amount Amount) ([]byte, error)

// OnlinePIN calls f.
func (f PINPadFunc) OnlinePIN(ctx context.Context, pan string, amount Amount) ([]byte, error) {
	return f(ctx, pan, amount)
}

// PIN pad errors.
var (
	// ErrPINBypass: the cardholder chose not to enter a PIN.
	ErrPINBypass = errors.New("kernel: PIN entry bypassed")
	// ErrPINPadUnavailable: the PIN pad is missing or not working.
	ErrPINPadUnavailable = errors.New("kernel: PIN pad not available")
)
