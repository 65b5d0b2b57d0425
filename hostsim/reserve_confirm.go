// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/purse"
)

// Confirm takes the card's evidence of what it did (purse.Host).
func (r *Reserve) Confirm(ctx context.Context, c *purse.HostConfirmation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unreachable {
		return ErrUnreachable
	}
	a, ok := r.auths[c.ID]
	if !ok {
		// Nothing was authorised (the request never arrived, or was
		// declined): there is nothing to give back or to pay in.
		if c.Applied {
			return fmt.Errorf("%w: %s: no authorisation of that ID", purse.ErrEvidence, c.ID)
		}
		r.log(ReserveEntry{ID: c.ID, Kind: c.Kind, ASN: c.ASN.String(), Code: "00", Note: "nothing authorised: closed"})
		return nil
	}
	if a.req.ASN != c.ASN || a.req.Kind != c.Kind {
		return fmt.Errorf("%w: %s: another card or kind", purse.ErrEvidence, c.ID)
	}
	if a.closed {
		return nil // a retry
	}
	var err error
	switch {
	case c.Applied:
		err = r.applied(a, c)
	case a.req.Kind == purse.KindLoad:
		err = r.notLoaded(a, c)
	default:
		r.log(ReserveEntry{ID: c.ID, Kind: c.Kind, ASN: c.ASN.String(), Code: "00", Note: "not applied: nothing moved"})
	}
	if err == nil {
		a.closed = true
	}
	return err
}

// applied checks the TAC (load) or MAC3 (unload, online unlock).
func (r *Reserve) applied(a *reserveAuth, c *purse.HostConfirmation) error {
	q := a.req
	amount := a.resp.Amount
	newBal := uint32(q.Balance) + uint32(amount)
	if q.Kind != purse.KindLoad {
		newBal = uint32(q.Balance) - uint32(amount)
	}
	data := keys.OnlineTACData(newBal, q.OnlineSN, uint32(amount), byte(q.Type), q.TID[:], a.resp.Time[:])
	var ok bool
	if q.Kind == purse.KindLoad {
		dtk, err := cardKey(r.masters.TAC, q.ASN)
		if err != nil {
			return err
		}
		tac, err := keys.PurseTAC(dtk, data)
		if err != nil {
			return err
		}
		ok = keys.Equal(tac, c.TAC[:])
	} else {
		ok, _ = keys.VerifyPurseMAC(a.sk, data, c.MAC3[:])
	}
	if !ok {
		return fmt.Errorf("%w: %s: the card's TAC/MAC3 does not verify", purse.ErrEvidence, c.ID)
	}
	e := ReserveEntry{ID: c.ID, Kind: q.Kind, ASN: q.ASN.String(), Amount: amount, Code: "00", Note: "applied on the card's evidence"}
	switch q.Kind {
	case purse.KindUnload:
		*r.accounts[q.ASN] += amount
		a.credited, e.Credit = true, amount
	case purse.KindOnlineUnlock:
		if b, ok := r.bills[billKey{q.ASN, q.Grey.TID, q.Grey.CTC}]; ok {
			b.Settled = true
		}
	}
	r.log(e)
	return nil
}

// notLoaded gives a load back on the card's proof: a MAC1 under a fresh
// session over the online serial the load was authorised at.
func (r *Reserve) notLoaded(a *reserveAuth, c *purse.HostConfirmation) error {
	p, q := c.Proof, a.req
	if p == nil {
		return fmt.Errorf("%w: %s: a load reversal needs the card's proof", purse.ErrEvidence, c.ID)
	}
	k, err := cardKey(r.masters.Load, q.ASN)
	if err != nil {
		return err
	}
	sk, err := keys.PurseSessionKey(k, keys.OnlineSessionInput(p.Random, p.OnlineSN))
	if err != nil {
		return err
	}
	ok, _ := keys.VerifyPurseMAC(sk, keys.OnlineMAC1Data(uint32(p.Balance), 0, byte(q.Type), q.TID[:]), p.MAC1[:])
	if !ok || p.OnlineSN != q.OnlineSN {
		return fmt.Errorf("%w: %s: the proof does not show online serial %d unchanged", purse.ErrEvidence, c.ID, q.OnlineSN)
	}
	*r.accounts[q.ASN] += a.debited
	r.log(ReserveEntry{ID: c.ID, Kind: q.Kind, ASN: q.ASN.String(), Amount: a.debited, Credit: a.debited, Code: "00",
		Note: "load not applied (card's proof): given back"})
	a.reversed = true
	return nil
}
