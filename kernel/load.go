// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
)

// LoadKind is the kind of EC load (圈存).
type LoadKind int

// The load kinds PBOC defines.
const (
	// LoadDesignated draws from the cardholder's own (designated) account
	// and needs the account's online PIN.
	LoadDesignated LoadKind = iota
	// LoadNonDesignated draws from another account the issuer names.
	LoadNonDesignated
	// LoadCash is paid in cash at the counter or kiosk.
	LoadCash
)

var loadKindNames = [...]string{"designated", "non-designated", "cash"}

// String is "designated", "non-designated" or "cash".
func (k LoadKind) String() string {
	if k >= 0 && int(k) < len(loadKindNames) {
		return loadKindNames[k]
	}
	return "unknown"
}

// ParseLoadKind parses the names String returns.
func ParseLoadKind(s string) (LoadKind, error) {
	for i, n := range loadKindNames {
		if n == s {
			return LoadKind(i), nil
		}
	}
	return 0, fmt.Errorf("%w: load type %q (want designated, non-designated or cash)", ErrConfig, s)
}

func (k LoadKind) txnType() (byte, RequestKind) {
	switch k {
	case LoadNonDesignated:
		return TxnLoadNonDesignated, RequestLoadNonDesignated
	case LoadCash:
		return TxnLoadCash, RequestLoadCash
	}
	return TxnLoadDesignated, RequestLoadDesignated
}

// LoadRequest asks for an EC load.
type LoadRequest struct {
	Kind   LoadKind
	Amount Amount
}

// Load credits the card's EC balance by req.Amount through the issuer: the
// terminal reads the balance and the limit, refuses a load that would exceed
// the limit before going online, asks for an ARQC, and the issuer's script
// (PUT DATA 9F79 with MAC) sets the new balance. The result reports the
// balance the card holds afterwards, read from the card.
func (k *Kernel) Load(ctx context.Context, card apdu.Transport, req LoadRequest) (*Result, error) {
	res := &Result{Amount: req.Amount}
	t := k.newTxn(card, res)
	defer t.release()
	if req.Amount == 0 || req.Amount > MaxAmount {
		return t.fail(fmt.Errorf("%w: %s (must be 0.01 to %s)", ErrAmount, req.Amount, MaxAmount))
	}
	if req.Kind < LoadDesignated || req.Kind > LoadCash {
		return t.fail(fmt.Errorf("%w: load kind %d", ErrConfig, req.Kind))
	}
	txnType, kind := req.Kind.txnType()
	if err := t.setTerminalData(req.Amount, txnType); err != nil {
		return t.fail(err)
	}
	if err := t.selectAndInitiate(ctx, req.Amount); err != nil {
		return t.fail(err)
	}
	if err := t.readRecords(ctx); err != nil {
		return t.fail(err)
	}
	if err := t.checkMandatory(); err != nil {
		return t.fail(err)
	}
	if err := t.performODA(ctx); err != nil {
		return t.fail(err)
	}
	// After ODA: what the card may settle depends on whether it is the
	// card its certificates name.
	if err := t.settleTorn(ctx); err != nil {
		return t.fail(err)
	}
	t.processingRestrictions()
	if err := t.chooseECCurrency(ctx); err != nil {
		return t.fail(err)
	}
	bal, err := t.ecAmount(ctx, t.ec.balance, false)
	if err != nil {
		return t.fail(err)
	}
	limit, err := t.ecAmount(ctx, t.ec.limit, false)
	if err != nil {
		return t.fail(err)
	}
	if bal == nil || limit == nil {
		return t.decline(ctx, ReasonECNotSupported, "the card has no electronic cash balance to load")
	}
	res.BalanceBefore, t.ecLimit = bal, limit
	detail := fmt.Sprintf("%s load of %s onto EC balance %s (limit %s)", req.Kind, req.Amount, *bal, *limit)
	if *bal+req.Amount > *limit {
		return t.decline(ctx, ReasonAboveBalanceLimit, fmt.Sprintf("%s: the balance would be %s, above the limit: refused before going online", detail, *bal+req.Amount))
	}
	if req.Kind == LoadDesignated {
		cvm, err := t.cardholderVerification(ctx, req.Amount, true)
		if err != nil && !isPINFailure(err) {
			return t.fail(err)
		}
		if err != nil {
			return t.decline(ctx, ReasonPINNotEntered, detail+"; online PIN not entered: "+err.Error())
		}
		t.pinBlock = cvm.pinBlock
	} else {
		t.term.set(0x9F34, []byte{0x3F, 0x00, 0x00})
	}
	if err := t.terminalRiskManagement(ctx, req.Amount, false); err != nil {
		return t.fail(err)
	}
	if t.actionAnalysis() == apdu.ACTypeAAC {
		return t.decline(ctx, ReasonTerminalDecision, detail+"; declined by terminal action analysis")
	}
	return t.goOnline(ctx, onlineRequest{kind: kind, amount: req.Amount, pinBlock: t.pinBlock, reason: ReasonLoaded, detail: detail})
}
