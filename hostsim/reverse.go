// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// effect is what an approved request with a balance script moved, kept so
// that a reversal can undo exactly that.
type effect struct {
	scripted      bool
	kind          kernel.RequestKind
	debit         kernel.Amount // everything drawn from the account
	refill        kernel.Amount // account money that went to the EC balance
	nonDesignated kernel.Amount
	cash          kernel.Amount
}

var (
	_ kernel.ScriptReverser = (*Host)(nil)
	_ kernel.Reverser       = (*Host)(nil)
)

// ReverseScript undoes the EC part of an approved request whose balance
// script did not take effect on the card: the refill of a top-up or the
// whole of a load goes back where it came from (the account, the
// non-designated source, or the cash drawer to be refunded). The purchase
// part of a top-up stands. It is idempotent: a second reversal of the same
// request changes nothing.
//
// Money goes back only on what the card proved: with req.Evidence, the
// cryptogram and the MACed balance in its IAD must verify under the card's
// keys and show the card still holding the balance before the request
// (checkEvidence; otherwise ErrEvidence and nothing moves); without it, the
// terminal states that none of the request's scripts reached the card.
func (h *Host) ReverseScript(ctx context.Context, req *kernel.AuthRequest) error {
	if req == nil {
		return ErrRequest
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hostsim: %w", err)
	}
	if h.unreachable.Load() {
		return fmt.Errorf("hostsim: reverse %s: %w", tlv.MaskPAN(req.PAN), ErrUnreachable)
	}
	if req.Evidence != nil {
		orig, err := parseField55(req.Field55)
		if err != nil {
			return fmt.Errorf("hostsim: reverse: %w", err)
		}
		if err := h.checkEvidence(req, orig); err != nil {
			h.mu.Lock()
			h.record(Entry{PAN: tlv.MaskPAN(req.PAN), Kind: req.Kind, Amount: req.Amount, TopUp: req.TopUp, ATC: orig.atc, Note: "script reversal refused: " + err.Error()})
			h.mu.Unlock()
			return err
		}
	}
	return h.reverse(req, false)
}

// Reverse undoes every effect of an approved request that the card did not
// complete (the card declined or went away in the second GENERATE AC): the
// account gets back what was drawn and the tallies drop what was counted.
// It is idempotent.
func (h *Host) Reverse(ctx context.Context, req *kernel.AuthRequest) error {
	if req == nil {
		return ErrRequest
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hostsim: %w", err)
	}
	if h.unreachable.Load() {
		return fmt.Errorf("hostsim: reverse %s: %w", tlv.MaskPAN(req.PAN), ErrUnreachable)
	}
	return h.reverse(req, true)
}

func (h *Host) reverse(req *kernel.AuthRequest, all bool) error {
	f, err := parseField55(req.Field55)
	if err != nil {
		return fmt.Errorf("hostsim: reverse: %w", err)
	}
	key := replayKey{pan: req.PAN, atc: f.atc}
	copy(key.arqc[:], f.arqc)
	h.mu.Lock()
	defer h.mu.Unlock()
	eff, ok := h.effects[key]
	if !ok || (!all && !eff.scripted) {
		return nil // nothing to undo, or already undone
	}
	back, note := eff.refill, "reversal: the balance script did not take effect on the card"
	if all {
		back, note = eff.debit, "reversal: the card did not complete the approved request"
		delete(h.effects, key)
	} else {
		eff.scripted, eff.debit, eff.refill = false, eff.debit-eff.refill, 0
		h.effects[key] = eff
	}
	a := h.accounts[req.PAN]
	a.Balance += back
	h.nonDesignated -= eff.nonDesignated
	h.cash -= eff.cash
	if !all {
		eff.nonDesignated, eff.cash = 0, 0
		h.effects[key] = eff
	}
	h.record(Entry{PAN: tlv.MaskPAN(req.PAN), Kind: eff.kind, Amount: req.Amount, TopUp: req.TopUp, ATC: f.atc,
		Balance: a.Balance, Credit: back, Note: note})
	return nil
}

// ErrEvidence is wrapped by the error ReverseScript returns when the card's
// evidence does not verify or does not show the script without effect:
// nothing is given back.
var ErrEvidence = errors.New("hostsim: the card's evidence does not support a reversal")

// checkEvidence verifies the card's evidence for a script reversal (see
// kernel.ScriptReverser): the cryptogram verifies under the card's keys,
// the balance in its IAD carries the card's MAC, its ATC is the request's
// or the next one, and the balance the card held before it is the balance
// before the request — of the same purse: the IAD carries only the
// application currency's, so no evidence reverses a second-currency
// (DF79) script. The caller holds no lock.
func (h *Host) checkEvidence(req *kernel.AuthRequest, orig *field55) error {
	ev := req.Evidence
	if req.ECBalanceTag == TagSecondECBalance {
		// The IAD MACs the application currency's balance (9F79): it
		// says nothing of the second purse the script refilled.
		return fmt.Errorf("%w: a cryptogram's balance is the first EC currency's, the script refilled DF79", ErrEvidence)
	}
	f, err := parseCryptogramData(ev.Field55, true)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEvidence, err)
	}
	if f.atc != orig.atc && f.atc != orig.atc+1 {
		return fmt.Errorf("%w: cryptogram of ATC %d for a request of ATC %d", ErrEvidence, f.atc, orig.atc)
	}
	if f.atc == orig.atc {
		// Of the request's own ATC only its second GENERATE AC comes after
		// a script: the request's ARQC shows the balance before it, and
		// would "prove" any script void.
		iad := f.tags[0x9F10]
		if bytes.Equal(f.arqc, orig.arqc) || len(iad) < 8 || iad[4]&0xC0 == 0x80 {
			return fmt.Errorf("%w: a cryptogram of the request's ATC that is not its second GENERATE AC", ErrEvidence)
		}
	}
	h.mu.Lock()
	acct, ok := h.accounts[req.PAN]
	var a Account
	if ok {
		a = acct.clone()
	}
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: no account", ErrEvidence)
	}
	ck, err := a.Keys.Derive(a.Alg, a.PAN, a.PSN)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEvidence, err)
	}
	acSK, err := keys.SessionKey(a.Alg, ck.AC, f.atc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEvidence, err)
	}
	if ok, err := keys.VerifyCryptogram(a.Alg, acSK, keys.ACData(f.value), f.arqc); err != nil || !ok {
		return fmt.Errorf("%w: the cryptogram does not verify", ErrEvidence)
	}
	bal, err := h.macedBalance(a, ck, f)
	if err != nil {
		return err
	}
	before := bal
	if f.tags[0x9F27][0]&0xC0 == 0x40 && ev.Deducted > 0 && uint64(ev.Deducted) == f.amount {
		before += f.amount // an offline EC TC: the IAD holds the balance after it
	}
	if req.ECBalance == nil || before != uint64(*req.ECBalance) {
		return fmt.Errorf("%w: the card held %d before its cryptogram, not the request's balance", ErrEvidence, before)
	}
	return nil
}

// macedBalance returns the EC balance of the cryptogram's IAD (issuer
// discretionary data ID 01: balance 5 ‖ MAC 4) after checking the card's
// MAC under the integrity session key of the cryptogram's ATC.
func (h *Host) macedBalance(a Account, ck keys.CardKeys, f *field55) (uint64, error) {
	iad := f.tags[0x9F10]
	if len(iad) < 8+11 || iad[8] < 10 || iad[9] != 0x01 {
		return 0, fmt.Errorf("%w: the IAD carries no EC balance", ErrEvidence)
	}
	bal, mac := iad[10:15], iad[15:19]
	sk, err := keys.SessionKey(a.Alg, ck.SMI, f.atc)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrEvidence, err)
	}
	want, err := keys.ScriptMAC(a.Alg, sk, bal)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrEvidence, err)
	}
	if subtle.ConstantTimeCompare(want, mac) != 1 {
		return 0, fmt.Errorf("%w: the balance MAC does not verify", ErrEvidence)
	}
	return bcd.Decode(bal)
}
