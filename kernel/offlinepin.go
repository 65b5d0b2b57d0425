// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/oda"
)

// Offline PIN: the card verifies the PIN (EMV Book 3 §6.5.12 VERIFY,
// §10.5.1; Book 4 §6.3.4; Book 2 §7 for the enciphered form; HXEMV
// EmvCvm.c iCvmVerifyOfflinePlainPin):
//
//	GET DATA 9F17 (PIN try counter; 0: "PIN try limit exceeded", no entry)
//	[enciphered: the ICC PIN encipherment key 9F2D/9F2E/9F2F, else the ICC key 9F46]
//	[enciphered: GET CHALLENGE]  → the PIN pad builds the VERIFY data
//	VERIFY P2 80 (plaintext block) or 88 (enciphered)
//	  9000 verified · 63Cx wrong, x tries left (asked again) ·
//	  63C0 / 6983 / 6984 "PIN try limit exceeded" · anything else: CVM failed
//
// The kernel never sees the PIN: the OfflinePINPad builds the block, the
// kernel carries it to the card and wipes its copy of the command; a trace
// (Config.Trace) keeps the VERIFY command with its data zeroed.

// OfflinePINPad takes the cardholder's PIN for the card to verify and
// builds the data of VERIFY itself: for a plaintext offline PIN the 8-byte
// block of EMV format 2 (keys.OfflinePINBlock); for an enciphered one the
// block enciphered with req.Key and req.Challenge (EMV Book 2 §7.2,
// keys.EncipherOfflinePIN), as long as the key's modulus. It returns an
// error wrapping ErrPINBypass when the cardholder bypasses PIN entry,
// ErrCancelled to cancel the transaction, anything else when the pad
// cannot take a PIN.
type OfflinePINPad interface {
	OfflinePIN(ctx context.Context, req OfflinePINRequest) ([]byte, error)
}

// OfflinePINRequest is what the PIN pad needs to show and build.
type OfflinePINRequest struct {
	// Amount is the transaction amount to display.
	Amount Amount
	// TriesLeft is the card's PIN try counter (9F17, or the x of the last
	// 63Cx); -1 when the card did not say. 1 means the last try.
	TriesLeft int
	// Retry reports that the card refused the previous PIN.
	Retry bool
	// Key is the RSA public key to encipher with (the ICC PIN
	// encipherment key, or the ICC key); nil asks for the plaintext block.
	Key *oda.PublicKey
	// Challenge is the card's unpredictable number (GET CHALLENGE, 8
	// bytes) for an enciphered PIN; nil for a plaintext one.
	Challenge []byte
}

// OfflinePINPadFunc adapts a function to OfflinePINPad.
type OfflinePINPadFunc func(ctx context.Context, req OfflinePINRequest) ([]byte, error)

// OfflinePIN calls f.
func (f OfflinePINPadFunc) OfflinePIN(ctx context.Context, req OfflinePINRequest) ([]byte, error) {
	return f(ctx, req)
}

// WithOfflinePINPad sets the PIN pad for offline PIN (plaintext and
// enciphered). The terminal capabilities (9F33) claim offline PIN only
// with one.
func WithOfflinePINPad(p OfflinePINPad) Option { return func(k *Kernel) { k.offlinePad = p } }

// VERIFY P2: the kind of PIN data (EMV Book 3 §6.5.12).
const (
	verifyPlaintext  = 0x80
	verifyEnciphered = 0x88
)

// maxPINEntries bounds the PIN entries of one offline PIN CVM: the try
// counter is a nibble, and each 63Cx must lower it.
const maxPINEntries = 16

// offlinePINMethod performs an offline PIN CVM, plaintext or enciphered,
// with or without a signature.
func offlinePINMethod(enciphered, signature bool) func(*txn, context.Context, Amount) (cvmOutcome, byte, error) {
	return func(t *txn, ctx context.Context, amount Amount) (cvmOutcome, byte, error) {
		ok, err := t.offlinePIN(ctx, amount, enciphered)
		switch {
		case err != nil || !ok:
			return cvmOutcome{}, cvmFailed, err
		case signature:
			return cvmOutcome{signature: true}, cvmUnknown, nil
		}
		return cvmOutcome{}, cvmSuccessful, nil
	}
}

// offlinePIN runs one offline PIN CVM. ok reports that the card verified
// the PIN; an error ends the transaction (the card gone, PIN entry
// cancelled).
func (t *txn) offlinePIN(ctx context.Context, amount Amount, enciphered bool) (bool, error) {
	if t.cvm.offlineBypassed || t.cvm.offlineBlocked {
		return false, nil // HXEMV: not asked again in this transaction
	}
	tries, err := t.pinTryCounter(ctx)
	if err != nil {
		return false, err
	}
	if tries == 0 {
		// What if the card says 0 when it has tries left? It refuses its
		// own PIN: the next CVM (or none) applies, nothing is approved
		// on it.
		t.res.TVR.Set(TVRPINTryLimitExceeded)
		t.cvm.offlineBlocked = true
		return false, nil
	}
	req := OfflinePINRequest{Amount: amount, TriesLeft: tries}
	if enciphered {
		if req.Key = t.pinEnciphermentKey(); req.Key == nil {
			return false, nil
		}
	}
	for range maxPINEntries {
		sw, err := t.enterAndVerify(ctx, &req)
		if err != nil || sw == 0 {
			return false, err
		}
		switch n, wrong := sw.TriesLeft(); {
		case sw == apdu.SWSuccess:
			// What if a relay answered 9000 to a wrong PIN? The card's
			// CVR in the cryptogram still says whether it verified one
			// (pinAgrees).
			t.cvm.offlinePINOK = true
			return true, nil
		case wrong && n > 0 && (req.TriesLeft < 0 || n < req.TriesLeft):
			req.TriesLeft, req.Retry = n, true
		case wrong && n > 0:
			// A counter that does not go down would keep the cardholder
			// typing forever: a card error, the CVM fails.
			return false, nil
		case wrong, sw == apdu.SWAuthMethodBlocked, sw == apdu.SWRefDataInvalidated:
			t.res.TVR.Set(TVRPINTryLimitExceeded)
			t.cvm.offlineBlocked = true
			return false, nil
		default:
			return false, nil // any other status: the CVM failed
		}
	}
	return false, nil
}

// enterAndVerify gets the card's challenge (enciphered PIN), asks the PIN
// pad for the VERIFY data and sends it. It returns the card's status word,
// or 0 when the CVM cannot go on (no challenge, PIN bypassed, the pad
// failing).
func (t *txn) enterAndVerify(ctx context.Context, req *OfflinePINRequest) (apdu.SW, error) {
	p2 := byte(verifyPlaintext)
	want := 8
	if req.Key != nil {
		p2, want = verifyEnciphered, len(req.Key.Modulus)
		r, err := t.exchange(ctx, apdu.GetChallenge())
		if err != nil {
			return 0, err
		}
		if r.SW != apdu.SWSuccess || len(r.Data) != 8 {
			return 0, nil
		}
		req.Challenge = r.Data
	}
	data, err := t.k.offlinePad.OfflinePIN(ctx, *req)
	if err := cancelled(ctx, err); err != nil {
		return 0, fmt.Errorf("offline PIN entry: %w", err)
	}
	switch {
	case err == nil && len(data) != want:
		clear(data)
		t.res.TVR.Set(TVRPINPadNotWorking)
		return 0, nil
	case errors.Is(err, ErrPINBypass):
		t.res.TVR.Set(TVRPINNotEntered)
		t.cvm.offlineBypassed = true
		return 0, nil
	case err != nil:
		t.res.TVR.Set(TVRPINPadNotWorking)
		return 0, nil
	}
	r, err := t.exchange(ctx, apdu.Verify(p2, data))
	clear(data)
	clear(t.cmdBuf[:cap(t.cmdBuf)]) // the command carried the PIN block
	if err != nil {
		return 0, err
	}
	return r.SW, nil
}

// pinTryCounter reads the PIN try counter (9F17) by GET DATA: -1 when the
// card does not give it (Book 3 §10.5.1: then the PIN is asked anyway).
func (t *txn) pinTryCounter(ctx context.Context) (int, error) {
	r, err := t.exchange(ctx, apdu.GetData(0x9F17))
	if err != nil {
		return 0, err
	}
	if r.SW != apdu.SWSuccess {
		return -1, nil
	}
	v, err := getDataValue(r.Data, 0x9F17)
	if err != nil || len(v) != 1 {
		return -1, nil
	}
	return int(v[0]), nil
}

// pinEnciphermentKey is the key to encipher an offline PIN with (EMV Book
// 2 §7.1): the ICC PIN encipherment key when the card gives its
// certificate (9F2D), else the ICC public key (9F46), recovered under the
// issuer key like the ODA keys. nil when there is none, it does not
// verify, or it is not RSA (PBOC's SM2 cards: this kernel knows no SM2
// PIN encipherment) — the CVM then fails.
//
// What if the certificate is a lie? A key the issuer did not certify is
// refused here; one the card does not hold the private half of gets its
// PIN refused by the card. Either way the CVM fails and no PIN leaves the
// pad enciphered under a key the issuer did not certify.
func (t *txn) pinEnciphermentKey() *oda.PublicKey {
	in := oda.ICCCertInput{PAN: t.data.val(0x5A), Now: t.now}
	recover := oda.RecoverICCKey
	switch {
	case t.data.val(0x9F2D) != nil:
		in.Cert, in.Remainder, in.Exponent = t.data.val(0x9F2D), t.data.val(0x9F2F), t.data.val(0x9F2E)
		recover = oda.RecoverICCPINKey
	case t.data.val(0x9F46) != nil:
		in.Cert, in.Remainder, in.Exponent = t.data.val(0x9F46), t.data.val(0x9F48), t.data.val(0x9F47)
	default:
		t.res.TVR.Set(TVRICCDataMissing)
		return nil
	}
	issuer, static, err := t.issuerKey()
	if err != nil {
		return nil
	}
	in.Issuer, in.StaticData = issuer, static
	key, err := recover(in)
	if err != nil || key.Alg != oda.RSA {
		return nil
	}
	return &key.PublicKey
}

// pinAgrees checks, after an offline PIN the card answered 9000 to, that
// the card's own card verification results (PBOC IAD 07 DKI 01 CVR…: CVR
// byte 2 bit 3 "offline PIN verification performed", bit 2 "failed") say
// it verified one: a relay that answers 9000 to a wrong PIN cannot change
// what the card computed its cryptogram over. IADs of other layouts are
// not checked.
func (t *txn) pinAgrees(iad []byte) bool {
	if !t.cvm.offlinePINOK || len(iad) < 8 || iad[0] != 0x07 || iad[2] != 0x01 {
		return true
	}
	return iad[4]&0x04 != 0 && iad[4]&0x02 == 0
}
