package hostsim

import (
	"context"
	"fmt"

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
