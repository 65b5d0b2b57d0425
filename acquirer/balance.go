// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/go-pboc/pboc/kernel"
)

// BalanceRequest is a balance inquiry of the cardholder's account (not the
// EC balance, which the card itself holds: kernel.ReadBalance).
type BalanceRequest struct {
	PAN string
	PSN byte
	// PINBlock is the enciphered PIN block from the PIN pad (required by
	// issuers for an inquiry).
	PINBlock []byte
	// Field55 is the card's data, when the inquiry is an IC one.
	Field55 []byte
}

// AccountBalance is the balance of field 54.
type AccountBalance struct {
	Amount kernel.Amount
	// Debit reports a negative balance (sign D).
	Debit bool
}

// BalanceInquiry asks the acquirer for the account balance (0200, 3 =
// 310000, 60.1 01). It is never reversed: it moves no money. Field 54 of
// the reply holds the sign at index 7 and the amount in its last 12
// digits.
func (l *Link) BalanceInquiry(ctx context.Context, r BalanceRequest) (AccountBalance, error) {
	if err := checkPAN(r.PAN); err != nil {
		return AccountBalance{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.beforeOnline(ctx, true); err != nil {
		return AccountBalance{}, err
	}
	stan, batch, err := l.number(ctx, 0, 0)
	if err != nil {
		return AccountBalance{}, err
	}
	extra, err := l.cardFields(r.PAN, r.PSN, r.PINBlock, false)
	if err != nil {
		return AccountBalance{}, err
	}
	extra[fCurrency] = l.cfg.Currency
	if len(r.Field55) > 0 {
		extra[fICC] = r.Field55
	}
	msg, err := l.build(msgBalance, stan, batch, "", l.rest60(false), extra)
	if err != nil {
		return AccountBalance{}, err
	}
	reply, err := l.confirmed(ctx, msg, true)
	if err != nil {
		return AccountBalance{}, err
	}
	if code := str(reply, fResponseCode); code != "00" {
		return AccountBalance{}, &ResponseError{Message: "balance inquiry", Code: code}
	}
	return parseBalance(str(reply, fBalance))
}

// parseBalance reads field 54: at least 20 characters, the sign C or D at
// index 7, the amount in the last 12 digits.
func parseBalance(f54 string) (AccountBalance, error) {
	if len(f54) < 20 || (f54[7] != 'C' && f54[7] != 'D') {
		return AccountBalance{}, fmt.Errorf("%w: balance field 54 %q", ErrMismatch, f54)
	}
	v, err := strconv.ParseUint(f54[len(f54)-12:], 10, 64)
	if err != nil {
		return AccountBalance{}, fmt.Errorf("%w: balance field 54: %v", ErrMismatch, err)
	}
	return AccountBalance{Amount: kernel.Amount(v), Debit: f54[7] == 'D'}, nil
}
