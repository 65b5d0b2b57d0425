// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"errors"
	"fmt"
)

// Cardholder verification: EMV Book 3 §10.5 (figure 9) and Annex C3, Book
// 4 §6.3.4, as HXEMV applies them (EmvCvm.c, iEmvDoCardHolderVerify):
//
//   - the AIP says the card does not support CVM: CVM results 3F0000,
//     nothing else;
//   - the card gives no CVM list, or one with amounts X and Y only: "ICC
//     data missing", CVM results 3F0000, and the TSI does not say CVM was
//     performed; a list that is not 8 bytes and whole rules is malformed
//     card data;
//   - each rule whose condition holds is tried in order; a condition the
//     terminal cannot evaluate (an amount in a currency other than the
//     application's, an unknown code, "if the terminal supports the CVM"
//     for one it does not) skips to the next rule, whatever the rule's
//     "apply succeeding" bit;
//   - an unrecognised CVM sets "unrecognised CVM"; a recognised one the
//     terminal does not support, or one that fails, ends verification
//     unless the rule says to apply the next; "fail CVM processing" always
//     ends it;
//   - when verification fails, "cardholder verification was not
//     successful" is set and the CVM results name the last CVM performed
//     with result 01 (3F0001 when none could be performed).
//
// What if the CVM list is a lie? It is the card's own request: a card that
// asks for less verification than its issuer wants only weakens its own
// issuer's protection, and the CVM results (9F34) and the TVR tell the
// issuer what was done. A list that asks for more costs the cardholder a
// PIN. No money moves on it.

// CVM codes (EMV Book 3 Annex C3), the low 6 bits of a CV rule's first byte.
const (
	cvmFail            = 0x00
	cvmOfflinePlain    = 0x01
	cvmOnlinePIN       = 0x02
	cvmOfflinePlainSig = 0x03
	cvmOfflineEnc      = 0x04
	cvmOfflineEncSig   = 0x05
	cvmSignature       = 0x1E
	cvmNoCVM           = 0x1F
	// cvmCardholderID is PBOC's "cardholder ID presented" (持卡人证件出示,
	// JR/T 0025; HXEMV EmvCvm.c case 0x20): an attendant checks the
	// cardholder's identity document against 9F61/9F62.
	cvmCardholderID  = 0x20
	cvmApplyNextFlag = 0x40
)

// CVM results byte 3 (9F34, EMV Book 4 Annex A4).
const (
	cvmUnknown    = 0x00
	cvmFailed     = 0x01
	cvmSuccessful = 0x02
)

// Terminal capabilities byte 2 (9F33, EMV Book 4 Annex A2; bit 1 is PBOC's
// cardholder ID, HXEMV TERM_CAP_15_HOLDER_ID).
const (
	capPlainPIN     = 0x80
	capOnlinePIN    = 0x40
	capSignature    = 0x20
	capEncPIN       = 0x10
	capNoCVM        = 0x08
	capCardholderID = 0x01
)

// cvmCapabilities is byte 2 of the terminal capabilities with the CVMs
// the kernel was given the means for: offline PIN (plaintext and
// enciphered) only with an offline PIN pad, the cardholder ID only with
// someone to check it.
func cvmCapabilities(b byte, offlinePad, idVerifier bool) byte {
	b &^= capPlainPIN | capEncPIN | capCardholderID
	if offlinePad {
		b |= capPlainPIN | capEncPIN
	}
	if idVerifier {
		b |= capCardholderID
	}
	return b
}

// cvmOutcome is what cardholder verification produced.
type cvmOutcome struct {
	pinBlock  []byte // the enciphered online PIN block, if captured
	signature bool   // a paper signature is required
}

// cvmState is what one transaction's verification remembers across CV
// rules (HXEMV keeps the same flags): a PIN bypassed (online or offline)
// or an offline PIN blocked is not asked again, and an offline PIN the
// card accepted must show in its CVR (pinAgrees).
type cvmState struct {
	onlineBypassed  bool
	offlineBypassed bool
	offlineBlocked  bool
	offlinePINOK    bool
}

// cardholderVerification processes the CVM list (EMV Book 3 §10.5) and
// sets 9F34, the TVR and the TSI. With forcePIN (automatic top-up, loads
// from an account) it asks for an online PIN whatever the CVM list says.
// An error ends the transaction: malformed card data, a cancelled PIN
// entry, a card gone; a PIN the top-up cannot do without is returned as
// an error wrapping ErrPINBypass or ErrPINPadUnavailable.
func (t *txn) cardholderVerification(ctx context.Context, amount Amount, forcePIN bool) (cvmOutcome, error) {
	if forcePIN {
		t.res.TSI.Set(TSICVMPerformed)
		block, err := t.onlinePIN(ctx, amount)
		if err != nil {
			t.setCVMResults(cvmOnlinePIN, 0x00, cvmFailed)
			t.res.TVR.Set(TVRCVMFailed)
			return cvmOutcome{}, err
		}
		t.setCVMResults(cvmOnlinePIN, 0x00, cvmUnknown)
		return cvmOutcome{pinBlock: block}, nil
	}
	if t.aip[0]&aipCVM == 0 {
		t.setCVMResults(0x3F, 0x00, cvmUnknown) // no CVM performed
		return cvmOutcome{}, nil
	}
	list := t.data.val(0x8E)
	if len(list) <= 8 {
		// Absent, empty, or amounts without a rule (HXEMV: length 8).
		t.res.TVR.Set(TVRICCDataMissing)
		t.setCVMResults(0x3F, 0x00, cvmUnknown)
		return cvmOutcome{}, nil
	}
	if len(list)%2 != 0 {
		return cvmOutcome{}, fmt.Errorf("%w: CVM list (8E) of %d bytes: amounts X, Y and 2-byte rules", ErrCardData, len(list))
	}
	t.res.TSI.Set(TSICVMPerformed)
	return t.applyCVMList(ctx, list, amount)
}

// applyCVMList tries the rules of a well-formed CVM list in order.
func (t *txn) applyCVMList(ctx context.Context, list []byte, amount Amount) (cvmOutcome, error) {
	x, y := be32(list[0:4]), be32(list[4:8])
	var performed []byte // the last CV rule performed, with its result
	for i := 8; i+1 < len(list); i += 2 {
		rule, cond := list[i], list[i+1]
		code := rule & 0x3F
		if !t.cvmCondition(cond, code, amount, x, y) {
			continue
		}
		m, known := cvmMethods[code]
		switch {
		case !known:
			t.res.TVR.Set(TVRUnrecognisedCVM)
		case !t.supportsCVM(code):
			t.cvmNotSupported(m)
		default:
			out, result, err := m.perform(t, ctx, amount)
			if err != nil {
				return cvmOutcome{}, err
			}
			performed = []byte{rule, cond, result}
			if result != cvmFailed {
				t.setCVMResults(rule, cond, result)
				return out, nil
			}
		}
		if code == cvmFail || rule&cvmApplyNextFlag == 0 {
			break
		}
	}
	t.res.TVR.Set(TVRCVMFailed)
	if performed == nil {
		performed = []byte{0x3F, 0x00, cvmFailed}
	}
	t.setCVMResults(performed[0], performed[1], performed[2])
	return cvmOutcome{}, nil
}

func (t *txn) setCVMResults(rule, cond, result byte) {
	t.term.set(0x9F34, t.own([]byte{rule, cond, result}))
}

func be32(b []byte) uint64 {
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

// cvmCondition evaluates a CVM condition code (Annex C3 table 40). Codes
// the terminal cannot evaluate are not satisfied.
func (t *txn) cvmCondition(cond, code byte, amount Amount, x, y uint64) bool {
	// X and Y are in the application currency: an amount in another one
	// cannot be compared with them (Book 3 §10.5; HXEMV iCvmCheckCondition).
	inAppCurrency := len(t.data.val(0x9F42)) == 2 && string(t.data.val(0x9F42)) == string(t.term.val(0x5F2A))
	typ := t.term.val(0x9C)[0]
	cash := typ == 0x01
	unattended := t.k.cfg.TerminalType&0x0F >= 4
	switch cond {
	case 0x00:
		return true
	case 0x01: // unattended cash
		return cash && unattended
	case 0x02: // not unattended cash, not manual cash, not purchase with cashback
		return !cash && typ != 0x09
	case 0x03: // the terminal supports the CVM
		return t.supportsCVM(code)
	case 0x04: // manual cash
		return cash && !unattended
	case 0x05: // purchase with cashback
		return typ == 0x09
	case 0x06:
		return inAppCurrency && uint64(amount) < x
	case 0x07:
		return inAppCurrency && uint64(amount) > x
	case 0x08:
		return inAppCurrency && uint64(amount) < y
	case 0x09:
		return inAppCurrency && uint64(amount) > y
	}
	return false
}

// cvmMethod is a CVM the kernel recognises: the capabilities it needs
// (9F33 byte 2), whether it takes a PIN (for the "PIN pad not present"
// bit), and how it is performed. perform returns the CVM result byte
// (cvmFailed when it did not succeed) and an error only when the
// transaction must end.
type cvmMethod struct {
	caps    byte
	pin     byte // 0, capOnlinePIN or capPlainPIN|capEncPIN
	perform func(t *txn, ctx context.Context, amount Amount) (cvmOutcome, byte, error)
}

// cvmMethods is the table of recognised CVMs.
var cvmMethods = map[byte]cvmMethod{
	cvmFail: {perform: func(*txn, context.Context, Amount) (cvmOutcome, byte, error) {
		return cvmOutcome{}, cvmFailed, nil
	}},
	cvmOfflinePlain:    {caps: capPlainPIN, pin: capPlainPIN | capEncPIN, perform: offlinePINMethod(false, false)},
	cvmOfflinePlainSig: {caps: capPlainPIN | capSignature, pin: capPlainPIN | capEncPIN, perform: offlinePINMethod(false, true)},
	cvmOfflineEnc:      {caps: capEncPIN, pin: capPlainPIN | capEncPIN, perform: offlinePINMethod(true, false)},
	cvmOfflineEncSig:   {caps: capEncPIN | capSignature, pin: capPlainPIN | capEncPIN, perform: offlinePINMethod(true, true)},
	cvmOnlinePIN:       {caps: capOnlinePIN, pin: capOnlinePIN, perform: (*txn).onlinePINMethod},
	cvmSignature: {caps: capSignature, perform: func(*txn, context.Context, Amount) (cvmOutcome, byte, error) {
		return cvmOutcome{signature: true}, cvmUnknown, nil
	}},
	cvmNoCVM: {caps: capNoCVM, perform: func(*txn, context.Context, Amount) (cvmOutcome, byte, error) {
		return cvmOutcome{}, cvmSuccessful, nil
	}},
	cvmCardholderID: {caps: capCardholderID, perform: (*txn).cardholderIDMethod},
}

// supportsCVM reports whether the terminal supports a CVM: its
// capabilities (which New derived from the PIN pads and verifier given),
// online capability for an online PIN, and an attendant for the
// cardholder ID (HXEMV: not on an unattended terminal).
func (t *txn) supportsCVM(code byte) bool {
	m, ok := cvmMethods[code]
	if !ok || t.k.cfg.Capabilities[1]&m.caps != m.caps {
		return false
	}
	switch code {
	case cvmOnlinePIN:
		return t.k.cfg.OnlineCapable && t.onlinePINAllowed()
	case cvmCardholderID:
		return t.k.cfg.TerminalType&0x0F < 4
	}
	return true
}

// cvmNotSupported sets "PIN entry required and PIN pad not present or not
// working" for a PIN CVM the terminal cannot do (Book 3 figure 9, box T):
// for an online PIN always, for an offline PIN when the terminal supports
// neither offline PIN (HXEMV's reading).
func (t *txn) cvmNotSupported(m cvmMethod) {
	if m.pin != 0 && t.k.cfg.Capabilities[1]&m.pin == 0 {
		t.res.TVR.Set(TVRPINPadNotWorking)
	}
}

// onlinePINMethod performs "enciphered PIN verified online": the PIN block
// goes to the issuer, so the result is unknown.
func (t *txn) onlinePINMethod(ctx context.Context, amount Amount) (cvmOutcome, byte, error) {
	block, err := t.onlinePIN(ctx, amount)
	if err != nil {
		return cvmOutcome{}, cvmFailed, cancelled(ctx, err)
	}
	return cvmOutcome{pinBlock: block}, cvmUnknown, nil
}

// cancelled is the error that ends the transaction after a PIN entry or a
// check: the cardholder or attendant cancelled (ErrCancelled), or the
// context is done; nil otherwise.
func cancelled(ctx context.Context, err error) error {
	if errors.Is(err, ErrCancelled) {
		return err
	}
	return ctx.Err()
}

// onlinePINAllowed reports that the terminal takes an online PIN for the
// selected application (Application.OnlinePIN, the acquirer's DF18).
func (t *txn) onlinePINAllowed() bool {
	return t.app == nil || t.app.OnlinePIN
}

// onlinePIN asks the PIN pad for an enciphered PIN block and sets the TVR.
func (t *txn) onlinePIN(ctx context.Context, amount Amount) ([]byte, error) {
	if t.cvm.onlineBypassed {
		// HXEMV iCvmEnterOnlinePin: a cardholder who bypassed the online
		// PIN (a top-up's, an earlier rule's) is not asked again.
		return nil, ErrPINBypass
	}
	if !t.onlinePINAllowed() {
		// A top-up or a load needs the online PIN this application's
		// parameters refuse (DF18 = 00): it cannot be done here.
		return nil, fmt.Errorf("%w: no online PIN for this application (DF18 = 00)", ErrPINPadUnavailable)
	}
	pad := t.k.pinPad
	if pad == nil {
		t.res.TVR.Set(TVRPINPadNotWorking)
		return nil, ErrPINPadUnavailable
	}
	pan, err := panDigits(t.data.val(0x5A))
	if err != nil {
		return nil, err
	}
	block, err := pad.OnlinePIN(ctx, pan, amount)
	switch {
	case err == nil && len(block) != 8 && len(block) != 16:
		t.res.TVR.Set(TVRPINPadNotWorking)
		return nil, fmt.Errorf("%w: PIN block of %d bytes", ErrPINPadUnavailable, len(block))
	case err == nil:
		t.res.TVR.Set(TVROnlinePINEntered)
		return block, nil
	case errors.Is(err, ErrPINBypass):
		t.res.TVR.Set(TVRPINNotEntered)
		t.cvm.onlineBypassed = true
	case errors.Is(err, ErrCancelled), ctx.Err() != nil:
	default:
		t.res.TVR.Set(TVRPINPadNotWorking)
	}
	return nil, err
}
