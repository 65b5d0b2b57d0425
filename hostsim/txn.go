// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// Issuer script template tags.
const (
	tagScript71   tlv.Tag = 0x71
	tagScript72   tlv.Tag = 0x72
	tagScriptID   tlv.Tag = 0x9F18
	tagScriptCmd  tlv.Tag = 0x86
	tagIssuerAuth tlv.Tag = 0x91
)

// txnTypes maps request kinds to the transaction type (9C) they must carry.
var txnTypes = map[kernel.RequestKind]byte{
	kernel.RequestPurchase:          0x00,
	kernel.RequestLoadDesignated:    0x60,
	kernel.RequestLoadNonDesignated: 0x62,
	kernel.RequestLoadCash:          0x63,
}

// txn is one authenticated request being decided.
type txn struct {
	h      *Host
	req    *kernel.AuthRequest
	f      *field55
	alg    keys.Alg
	acSK   []byte
	smiSK  []byte
	e      Entry
	effect effect
}

// plan is the outcome of a request before anything is changed.
type plan struct {
	code, note    string
	debit, refill kernel.Amount
	ecBalance     *kernel.Amount // 9F79 for the balance script
	nonDesignated kernel.Amount
	cash          kernel.Amount
}

// decide answers an authenticated request for account a and applies its
// effects. The caller holds t.h.mu.
func (t *txn) decide(a *account) *kernel.AuthResponse {
	h := t.h
	p := t.evaluate(a)
	var scripts []byte
	var sent []uint16
	if p.code == CodeApproved {
		var err error
		if scripts, sent, err = t.scripts(a, p.ecBalance); err != nil {
			p = plan{code: CodeSystemError, note: err.Error()}
			scripts, sent = nil, nil
		}
	}
	resp := &kernel.AuthResponse{ResponseCode: p.code, Scripts: scripts}
	arpc, err := keys.ARPC(t.alg, t.acSK, t.f.arqc, []byte(p.code))
	if err != nil { // lengths are checked; not expected
		p = plan{code: CodeSystemError, note: "ARPC: " + err.Error()}
		resp = &kernel.AuthResponse{ResponseCode: p.code}
	} else {
		resp.IssuerAuthData = append(arpc, p.code...)
	}

	if p.code == CodeApproved {
		t.effect = effect{scripted: p.ecBalance != nil, kind: t.req.Kind, debit: p.debit, refill: p.refill,
			nonDesignated: p.nonDesignated, cash: p.cash}
		if t.req.Kind == kernel.RequestLoadDesignated {
			t.effect.refill = p.debit
		}
		a.Balance -= p.debit
		h.nonDesignated += p.nonDesignated
		h.cash += p.cash
		a.pending = nil // all sent, or the balance script superseded them
		h.scriptSeq += uint32(len(sent))
		if p.ecBalance != nil {
			h.scriptSeq++
		}
		h.authSeq++
		resp.AuthCode = fmt.Sprintf("%06d", (h.authSeq-1)%999999+1)
	}
	e := t.e
	e.ResponseCode, e.AuthCode, e.Note = resp.ResponseCode, resp.AuthCode, p.note
	if p.code == CodeApproved {
		e.Debit, e.Refill, e.ScriptBalance, e.Updates = p.debit, p.refill, p.ecBalance, sent
	}
	e.Balance = a.Balance
	h.record(e)
	return resp
}

// evaluate decides the response code and the effects of the request on an
// account without changing anything.
func (t *txn) evaluate(a *account) plan {
	req, f := t.req, t.f
	want, ok := txnTypes[req.Kind]
	if !ok {
		return plan{code: CodeInvalidTransaction, note: fmt.Sprintf("unknown request kind %d", int(req.Kind))}
	}
	if f.txnType != want {
		return plan{code: CodeInvalidTransaction, note: fmt.Sprintf("9C %02X does not match a %v request (%02X)", f.txnType, req.Kind, want)}
	}
	if f.amount != uint64(req.Amount) {
		return plan{code: CodeInvalidAmount, note: fmt.Sprintf("9F02 %d differs from the request amount %s", f.amount, req.Amount)}
	}
	if p, ok := t.checkPIN(a.Account); !ok {
		return p
	}
	if req.Kind == kernel.RequestPurchase {
		return t.purchase(a)
	}
	return t.load(a.Account)
}

// checkPIN verifies the PIN block, and its presence where it is required.
func (t *txn) checkPIN(a Account) (plan, bool) {
	req := t.req
	if req.PINBlock == nil {
		if req.Kind == kernel.RequestLoadDesignated || (req.Kind == kernel.RequestPurchase && req.TopUp) {
			return plan{code: CodeWrongPIN, note: "online PIN required for a top-up or a designated load"}, false
		}
		return plan{}, true
	}
	match, err := t.h.pinMatches(req.PINBlock, req.PAN, a.PIN)
	switch {
	case errors.Is(err, errPINFormat):
		return plan{code: CodeFormatError, note: err.Error()}, false
	case err != nil:
		return plan{code: CodeSystemError, note: err.Error()}, false
	case !match:
		return plan{code: CodeWrongPIN, note: "wrong PIN"}, false
	}
	return plan{}, true
}

// purchase decides a purchase and its optional top-up. The top-up refills
// to the balance limit, or to the value of a queued update of the balance
// tag: that is the issuer's own choice of refill, and what it debits.
func (t *txn) purchase(a *account) plan {
	req := t.req
	if a.Balance < req.Amount {
		return plan{code: CodeInsufficientFunds, note: fmt.Sprintf("account balance %s below the amount %s", a.Balance, req.Amount)}
	}
	p := plan{code: CodeApproved, debit: req.Amount}
	if !req.TopUp {
		return p
	}
	if req.ECBalance == nil || req.ECLimit == nil {
		p.note = "no top-up: EC balance or limit missing from the request"
		return p
	}
	if *req.ECBalance > kernel.MaxAmount || *req.ECLimit > kernel.MaxAmount {
		p.note = "no top-up: EC balance or limit outside the n12 range"
		return p
	}
	target := t.refillTarget(a, *req.ECLimit)
	switch {
	case *req.ECBalance >= target && target == *req.ECLimit:
		p.note = "no top-up: EC balance already at the limit"
	case *req.ECBalance >= target:
		p.note = "no top-up: EC balance already at the issuer's refill target " + target.String()
	case a.Balance-req.Amount < target-*req.ECBalance:
		p.note = fmt.Sprintf("no top-up: account covers the purchase but not the refill of %s", target-*req.ECBalance)
	default:
		p.refill = target - *req.ECBalance
		p.debit += p.refill
		p.ecBalance = &target
		p.note = fmt.Sprintf("top-up of %s", p.refill)
	}
	return p
}

// balanceTag is the tag the request's balance script sets: 9F79, or DF79
// for a sale in the card's second EC currency.
func (t *txn) balanceTag() uint16 {
	if t.req.ECBalanceTag == TagSecondECBalance {
		return TagSecondECBalance
	}
	return TagECBalance
}

// refillTarget is the last queued n12 update of the balance tag, else limit.
func (t *txn) refillTarget(a *account, limit kernel.Amount) kernel.Amount {
	target := limit
	for _, u := range a.pending {
		if u.tag != t.balanceTag() {
			continue
		}
		if v, err := bcd.Decode(u.value); err == nil && len(u.value) == 6 && v <= uint64(kernel.MaxAmount) {
			target = kernel.Amount(v)
		}
	}
	return target
}

// load decides a designated, non-designated or cash load.
func (t *txn) load(a Account) plan {
	req := t.req
	if req.Amount == 0 {
		return plan{code: CodeInvalidAmount, note: "load of zero"}
	}
	if req.ECBalance == nil || req.ECLimit == nil {
		return plan{code: CodeFormatError, note: "load without the EC balance and limit"}
	}
	bal, limit := *req.ECBalance, *req.ECLimit
	if bal > kernel.MaxAmount || limit > kernel.MaxAmount {
		return plan{code: CodeFormatError, note: "EC balance or limit outside the n12 range"}
	}
	nb := bal + req.Amount // both ≤ MaxAmount: no overflow
	if nb > limit {
		return plan{code: CodeExceedsLimit, note: fmt.Sprintf("new EC balance %s would exceed the limit %s", nb, limit)}
	}
	p := plan{code: CodeApproved, ecBalance: &nb}
	switch req.Kind {
	case kernel.RequestLoadDesignated:
		if a.Balance < req.Amount {
			return plan{code: CodeInsufficientFunds, note: fmt.Sprintf("account balance %s below the load %s", a.Balance, req.Amount)}
		}
		p.debit = req.Amount
	case kernel.RequestLoadNonDesignated:
		p.nonDesignated = req.Amount
		p.note = "funded by a non-designated account"
	default:
		p.cash = req.Amount
		p.note = "cash paid at the counter"
	}
	return p
}

// scripts builds the balance script (when ecBalance is set) and the queued
// parameter updates of a (but for those of the balance tag on a top-up,
// whose balance script already sets their value), numbering them after the host's script counter.
// It changes nothing; it returns the tags of the updates included.
func (t *txn) scripts(a *account, ecBalance *kernel.Amount) ([]byte, []uint16, error) {
	var out []byte
	seq := t.h.scriptSeq
	if ecBalance != nil {
		v, err := amountN12(*ecBalance)
		if err != nil {
			return nil, nil, err
		}
		seq++
		if out, err = t.appendScript(out, seq, t.balanceTag(), v); err != nil {
			return nil, nil, err
		}
	}
	sent := make([]uint16, 0, len(a.pending))
	for _, u := range a.pending {
		if ecBalance != nil && t.req.Kind == kernel.RequestPurchase && u.tag == t.balanceTag() {
			continue // the top-up's balance script already sets this value
		}
		seq++
		var err error
		if out, err = t.appendScript(out, seq, u.tag, u.value); err != nil {
			return nil, nil, err
		}
		sent = append(sent, u.tag)
	}
	return out, sent, nil
}

// appendScript appends one template (72, or 71 with
// WithScriptsBeforeCompletion) with script id seq holding a PUT DATA of tag
// and value.
func (t *txn) appendScript(dst []byte, seq uint32, tag uint16, value []byte) ([]byte, error) {
	cmd, err := keys.ECUpdateScript(t.alg, t.smiSK, tag, value, t.f.tags[0x9F36], t.f.arqc)
	if err != nil {
		return nil, fmt.Errorf("hostsim: script %04X: %w", tag, err)
	}
	id := binary.BigEndian.AppendUint32(nil, seq)
	return append(dst, tlv.Encode(tlv.Constructed(t.h.scriptTemplate,
		tlv.TLV{Tag: tagScriptID, Value: id},
		tlv.TLV{Tag: tagScriptCmd, Value: cmd}))...), nil
}
