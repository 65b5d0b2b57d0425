// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"fmt"
)

// CardholderIDVerifier is the attendant who checks the cardholder's
// identity document, PBOC's CVM 20 "cardholder ID presented" (持卡人证件出示,
// JR/T 0025; HXEMV EmvCvm.c iCvmVerifyHolderId): the terminal shows the
// document type (9F62) and number (9F61) the card holds, and the attendant
// says whether the document presented matches. It returns true when it
// does, false when it does not or the attendant skips the check, and an
// error wrapping ErrCancelled to cancel the transaction (any other error
// fails the CVM).
type CardholderIDVerifier interface {
	VerifyCardholderID(ctx context.Context, id CardholderID) (bool, error)
}

// CardholderIDVerifierFunc adapts a function to CardholderIDVerifier.
type CardholderIDVerifierFunc func(ctx context.Context, id CardholderID) (bool, error)

// VerifyCardholderID calls f.
func (f CardholderIDVerifierFunc) VerifyCardholderID(ctx context.Context, id CardholderID) (bool, error) {
	return f(ctx, id)
}

// CardholderID is the identity document the card names.
type CardholderID struct {
	// Type is 9F62: 00 identity card (身份证), 01 officer's card (军官证),
	// 02 passport, 03 entry permit, 04 temporary identity card, 05 other.
	Type byte
	// Number is 9F61 (up to 40 characters), printable ASCII only.
	Number string
}

// WithCardholderIDVerifier sets who checks the cardholder's identity
// document. The terminal capabilities (9F33 byte 2 bit 1) claim the CVM
// only with one, and only an attended terminal performs it.
func WithCardholderIDVerifier(v CardholderIDVerifier) Option {
	return func(k *Kernel) { k.idVerifier = v }
}

// cardholderIDMethod performs CVM 20. The card must give the document's
// type and number; without them "ICC data missing" is set and the CVM
// fails (HXEMV).
//
// What if the card lies about the document? The attendant compares it
// with the document in front of them; a card naming another person's
// document is refused by that comparison, not by the terminal.
func (t *txn) cardholderIDMethod(ctx context.Context, _ Amount) (cvmOutcome, byte, error) {
	typ, num := t.data.val(0x9F62), t.data.val(0x9F61)
	if len(typ) != 1 || len(num) == 0 {
		t.res.TVR.Set(TVRICCDataMissing)
		return cvmOutcome{}, cvmFailed, nil
	}
	if len(num) > 40 {
		return cvmOutcome{}, cvmFailed, nil
	}
	ok, err := t.k.idVerifier.VerifyCardholderID(ctx, CardholderID{Type: typ[0], Number: printable(num)})
	if err := cancelled(ctx, err); err != nil {
		return cvmOutcome{}, cvmFailed, fmt.Errorf("cardholder ID check: %w", err)
	}
	if err != nil || !ok {
		return cvmOutcome{}, cvmFailed, nil
	}
	return cvmOutcome{}, cvmSuccessful, nil
}
