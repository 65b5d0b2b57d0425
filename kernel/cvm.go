package kernel

import (
	"context"
	"errors"
	"fmt"
)

// CVM codes (EMV Book 3 Annex C3), the low 6 bits of a CV rule's first byte.
const (
	cvmFail          = 0x00
	cvmOfflinePlain  = 0x01
	cvmOnlinePIN     = 0x02
	cvmSignature     = 0x1E
	cvmNoCVM         = 0x1F
	cvmApplyNextFlag = 0x40
)

// cvmOutcome is what cardholder verification produced.
type cvmOutcome struct {
	pinBlock  []byte // the enciphered online PIN block, if captured
	signature bool   // a paper signature is required
}

// cardholderVerification processes the CVM list (EMV Book 3 §10.5) and
// sets 9F34, the TVR and the TSI. With forcePIN (automatic top-up, loads
// from an account) it asks for an online PIN whatever the CVM list says.
func (t *txn) cardholderVerification(ctx context.Context, amount Amount, forcePIN bool) (cvmOutcome, error) {
	if forcePIN {
		t.res.TSI.Set(TSICVMPerformed)
		block, err := t.onlinePIN(ctx, amount)
		if err != nil {
			t.term[0x9F34] = []byte{cvmOnlinePIN, 0x00, 0x01}
			t.res.TVR.Set(TVRCVMFailed)
			return cvmOutcome{}, err
		}
		t.term[0x9F34] = []byte{cvmOnlinePIN, 0x00, 0x00}
		return cvmOutcome{pinBlock: block}, nil
	}
	if t.aip[0]&aipCVM == 0 {
		t.term[0x9F34] = []byte{0x3F, 0x00, 0x00} // no CVM performed
		return cvmOutcome{}, nil
	}
	t.res.TSI.Set(TSICVMPerformed)
	list := t.data[0x8E]
	if len(list) < 10 || len(list)%2 != 0 {
		t.res.TVR.Set(TVRICCDataMissing)
		t.res.TVR.Set(TVRCVMFailed)
		t.term[0x9F34] = []byte{0x3F, 0x00, 0x01}
		return cvmOutcome{}, nil
	}
	x, y := be32(list[0:4]), be32(list[4:8])
	for i := 8; i+1 < len(list); i += 2 {
		rule, cond := list[i], list[i+1]
		if !t.cvmCondition(cond, amount, x, y) {
			continue
		}
		out, ok, err := t.performCVM(ctx, rule&0x3F, amount)
		if err != nil {
			return cvmOutcome{}, err
		}
		if ok {
			result := byte(0x00) // unknown: online PIN and signature are verified later
			if rule&0x3F == cvmNoCVM {
				result = 0x02
			}
			t.term[0x9F34] = []byte{rule, cond, result}
			return out, nil
		}
		if rule&cvmApplyNextFlag == 0 {
			t.term[0x9F34] = []byte{rule, cond, 0x01}
			t.res.TVR.Set(TVRCVMFailed)
			return cvmOutcome{}, nil
		}
	}
	t.term[0x9F34] = []byte{0x3F, 0x00, 0x01}
	t.res.TVR.Set(TVRCVMFailed)
	return cvmOutcome{}, nil
}

func be32(b []byte) uint64 {
	return uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

// cvmCondition evaluates a CVM condition code (Annex C3 table 40).
func (t *txn) cvmCondition(cond byte, amount Amount, x, y uint64) bool {
	inAppCurrency := t.data[0x9F42] != nil && string(t.data[0x9F42]) == string(t.term[0x5F2A])
	cash := t.term[0x9C][0] == 0x01
	switch cond {
	case 0x00:
		return true
	case 0x01: // unattended cash
		return cash && t.k.cfg.TerminalType&0x0F >= 4
	case 0x02: // not unattended cash, not manual cash, not cashback
		return !cash && t.term[0x9C][0] != 0x09
	case 0x03: // terminal supports the CVM: decided when performing it
		return true
	case 0x04: // manual cash
		return cash && t.k.cfg.TerminalType&0x0F < 4
	case 0x05: // purchase with cashback
		return t.term[0x9C][0] == 0x09
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

// performCVM tries one method. ok reports success; an error ends the
// transaction (only context or PIN pad cancellation).
func (t *txn) performCVM(ctx context.Context, method byte, amount Amount) (cvmOutcome, bool, error) {
	caps := t.k.cfg.Capabilities[1]
	switch method {
	case cvmFail:
		return cvmOutcome{}, false, nil
	case cvmOnlinePIN:
		if caps&0x40 == 0 || !t.k.cfg.OnlineCapable {
			return cvmOutcome{}, false, nil
		}
		block, err := t.onlinePIN(ctx, amount)
		if err != nil {
			if errors.Is(err, ErrCancelled) || ctx.Err() != nil {
				return cvmOutcome{}, false, err
			}
			return cvmOutcome{}, false, nil
		}
		return cvmOutcome{pinBlock: block}, true, nil
	case cvmSignature:
		return cvmOutcome{signature: true}, caps&0x20 != 0, nil
	case cvmNoCVM:
		return cvmOutcome{}, caps&0x08 != 0, nil
	case cvmOfflinePlain, 0x03, 0x04, 0x05:
		// Offline PIN is not supported by this terminal.
		return cvmOutcome{}, false, nil
	}
	t.res.TVR.Set(TVRUnrecognisedCVM)
	return cvmOutcome{}, false, nil
}

// onlinePIN asks the PIN pad for an enciphered PIN block and sets the TVR.
func (t *txn) onlinePIN(ctx context.Context, amount Amount) ([]byte, error) {
	pad := t.k.pinPad
	if pad == nil {
		t.res.TVR.Set(TVRPINPadNotWorking)
		return nil, ErrPINPadUnavailable
	}
	pan, err := panDigits(t.data[0x5A])
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
	case errors.Is(err, ErrCancelled), ctx.Err() != nil:
	default:
		t.res.TVR.Set(TVRPINPadNotWorking)
	}
	return nil, err
}
