// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Settling what a lost answer left open. The card's counters decide
// whether a lost operation happened:
//
//   - online (load, unload, online unlock): a fresh INITIALIZE FOR LOAD of
//     amount 0 answers the wallet's online serial under MAC1. Unchanged:
//     the card did not apply it (for a load, the answer is the proof the
//     host gives the money back on). One more: the card did; GET
//     TRANSACTION PROVE with the old serial gives its TAC or MAC3. Further
//     on, or no proof: the card was used elsewhere in between, and the
//     record is kept as unresolved for the issuer.
//   - purchase: INITIALIZE FOR PURCHASE of amount 0 answers the CTC, the
//     same way, GET TRANSACTION PROVE giving the TAC.
//   - fuel: the grey status and EF18 (fuel.go).
//
// settleCard runs these for every record of the presented card that is
// still open at this terminal, oldest first.

// settleCard settles the card's open records.
func (x *txn) settleCard() error {
	for _, r := range x.t.store.forCard(x.asnHash) {
		rec := r
		var err error
		switch {
		case rec.State.final(): // the host refused its evidence
			err = x.reprove(&rec)
		default:
			err = x.settleKind(&rec)
		}
		if err != nil {
			if swOf(err) != 0 {
				continue // the card refused to say (a grey card refuses INITIALIZE): kept
			}
			return err
		}
		if rec.State.final() {
			x.settled(&rec, rec.Evidence)
		}
	}
	return nil
}

// settleKind settles an open record by its kind.
func (x *txn) settleKind(rec *Record) error {
	var err error
	switch rec.Kind {
	case KindLoad, KindUnload, KindOnlineUnlock:
		err = x.settleOnline(rec)
	case KindPurchase:
		err = x.settleOffline(rec)
	case KindFuel:
		_, err = x.settleFuel(rec, nil)
	}
	return err
}

// reprove asks the card again for the evidence the host refused (garbled
// on its way): the proof of an applied load, unload or online unlock (GET
// TRANSACTION PROVE), or a fresh proof that a load was not applied, and
// hands it to the host again.
func (x *txn) reprove(rec *Record) error {
	if rec.State == StateNotApplied {
		// The host refused the proof that a load did not happen (garbled
		// on its way): the card's serial is asked again.
		rec.State, rec.Proof, rec.Host = StateAuthorized, nil, HostNone
		return x.settleOnline(rec)
	}
	data, err := x.do(GetTransactionProve(rec.Type, rec.Serial))
	if err != nil {
		return err
	}
	mac, tac, err := twoMACs("GET TRANSACTION PROVE", data)
	if err != nil {
		return err
	}
	if rec.Kind == KindLoad {
		rec.TAC = tac
	} else {
		rec.MAC3, rec.TAC = mac, tac
	}
	rec.Host, rec.Evidence = HostPending, rec.Evidence+"; GET TRANSACTION PROVE after the host refused"
	if err := x.put(rec); err != nil {
		return err
	}
	x.res.HostConfirmed = x.confirm(rec) == nil
	return nil
}

// probeOnline reads the wallet's online serial under MAC1.
func (x *txn) probeOnline(w Wallet, tid TID) (OnlineInit, error) {
	data, err := x.do(InitializeForLoad(w, x.t.cfg.KeyIndex, 0, tid))
	if err != nil {
		return OnlineInit{}, err
	}
	return ParseOnlineInit(data)
}

// settleOnline settles a load, unload or online unlock from the card's
// online serial. The record is updated and, when it reaches a final state,
// stored and handed to the host.
func (x *txn) settleOnline(rec *Record) error {
	if rec.State == StateStarted && rec.Kind != KindLoad {
		// No MAC2 came: the card cannot have applied an unload or
		// unlock, and the host moved no money.
		rec.State, rec.Evidence = StateNotApplied, "no MAC2 reached the card"
		return x.put(rec)
	}
	probe, err := x.probeOnline(rec.Wallet, rec.TID)
	if err != nil {
		return err
	}
	if probe.OnlineSN == rec.Serial {
		rec.State, rec.Evidence = StateNotApplied, fmt.Sprintf("online serial still %d (MAC1-authenticated)", probe.OnlineSN)
		if rec.Kind == KindLoad && rec.Host != HostConfirmed {
			rec.Proof, rec.Host = &probe, HostPending // the reserve may have been debited: give it back
		}
	} else {
		state := rec.State
		if err := x.prove(rec, probe.OnlineSN, probe.Balance); err != nil {
			return err
		}
		if rec.State == StateNotApplied && rec.Kind == KindLoad && rec.Host != HostConfirmed {
			// Not applied by the card's history, after a serial that
			// did not match: the reserve's money comes back only on a
			// proof, so the card is asked once more.
			if again, err := x.probeOnline(rec.Wallet, rec.TID); err == nil && again.OnlineSN == rec.Serial {
				rec.Proof, rec.Host = &again, HostPending
			} else {
				rec.State = state // kept for the next presentation
			}
		}
	}
	if err := x.put(rec); err != nil {
		return err
	}
	if rec.Host == HostPending {
		x.res.HostConfirmed = x.confirm(rec) == nil
	}
	return nil
}

// swNoProof is the card's answer to GET TRANSACTION PROVE for a
// transaction it keeps no proof of.
const swNoProof = 0x9406

// prove asks the card for its proof of the record's transaction (GET
// TRANSACTION PROVE, old serial): MAC ‖ TAC. Without one (9406), the card's EF18
// decides: the record's transaction there (its type, terminal, amount and
// time) means the card did it but cannot prove it (unresolved, for the
// issuer); its absence from a history that reaches back past the record
// means the card never did (a counter that moved was another transaction,
// or the record took a garbled counter from the card).
func (x *txn) prove(rec *Record, now uint16, balance Amount) error {
	data, err := x.do(GetTransactionProve(rec.Type, rec.Serial))
	if transportFailed(err) {
		return err
	}
	var mac, tac MAC
	if err == nil {
		mac, tac, err = twoMACs("GET TRANSACTION PROVE", data)
	}
	if err != nil && swOf(err) != swNoProof {
		// Not the card's "no proof" (9406): an answer garbled on its way.
		// The record stays as it is, for the next presentation.
		rec.Evidence = fmt.Sprintf("serial moved to %d; GET TRANSACTION PROVE answered %v: asked again next time", now, err)
		return nil
	}
	if err != nil {
		return x.fromHistory(rec, now, err)
	}
	rec.State, rec.Host = StateApplied, HostPending
	rec.Evidence = fmt.Sprintf("serial moved to %d; GET TRANSACTION PROVE %d", now, rec.Serial)
	switch rec.Kind {
	case KindLoad:
		rec.TAC = tac
	case KindPurchase:
		rec.MAC2, rec.TAC, rec.Host = mac, tac, HostNone
	default: // unload, online unlock: the card's MAC3 is what the host needs
		rec.MAC3, rec.TAC = mac, tac
	}
	if rec.Kind != KindPurchase {
		b := balance
		rec.BalanceAfter = &b
	}
	return nil
}

// fromHistory settles a record the card has no proof of from its EF18.
func (x *txn) fromHistory(rec *Record, now uint16, cause error) error {
	recs, err := x.readRecords()
	if err != nil {
		return err
	}
	for _, cr := range recs {
		if cr.Type == rec.Type && cr.TID == rec.TID && cr.Amount == rec.Amount && (rec.Time.IsZero() || historyTime(cr) == rec.Time) {
			rec.State = StateUnresolved
			rec.Evidence = fmt.Sprintf("in the card's EF18 (serial %d) but without its proof (%v): for the issuer", cr.Serial, cause)
			return nil
		}
	}
	if len(recs) < MaxRecords || historyTime(recs[len(recs)-1]).String() < rec.Time.String() {
		rec.State = StateNotApplied
		rec.Evidence = fmt.Sprintf("serial %d, not %d, and not in the card's EF18, which reaches back past it", now, rec.Serial)
		return nil
	}
	rec.State = StateUnresolved
	rec.Evidence = fmt.Sprintf("serial %d moved to %d, no proof (%v), EF18 does not reach back: for the issuer", rec.Serial, now, cause)
	return nil
}

// historyTime is an EF18 record's date and time.
func historyTime(r CardRecord) DateTime { return r.Time }

// confirm hands the record's evidence to the host and stores the host's
// answer. A host that cannot be reached leaves the record pending (Flush
// retries); one that refuses the evidence marks it refused, for the card's
// proof at its next presentation.
func (x *txn) confirm(rec *Record) error {
	if x.t.host == nil {
		return ErrHost
	}
	t0 := time.Now()
	err := confirmRecord(x.ctx, x.t, rec)
	x.outsideSince(t0)
	return err
}

// confirmRecord sends the confirmation of rec and stores the outcome.
func confirmRecord(ctx context.Context, t *Terminal, rec *Record) error {
	asn, err := t.store.OpenASN(*rec)
	if err != nil {
		return err
	}
	c := &HostConfirmation{ID: rec.ID, Kind: rec.Kind, ASN: asn, Applied: rec.State == StateApplied,
		TAC: rec.TAC, MAC3: rec.MAC3, Proof: rec.Proof}
	if rec.BalanceAfter != nil {
		c.NewBalance = *rec.BalanceAfter
	}
	err = t.host.Confirm(ctx, c)
	switch {
	case err == nil:
		rec.Host = HostConfirmed
	case errors.Is(err, ErrEvidence):
		rec.Host = HostRefused
	default:
		return fmt.Errorf("%w: %w", ErrHost, err)
	}
	rec.Updated = t.cfg.Now()
	if perr := t.store.Put(ctx, *rec); perr != nil {
		return perr
	}
	return err
}

// Flush hands every queued confirmation to the host (loads given back on
// the card's proof, TACs and MAC3s the host has not seen). It returns the
// number confirmed and the first error; records the host could not take
// stay queued.
func (t *Terminal) Flush(ctx context.Context) (int, error) {
	if t.store == nil || t.host == nil {
		return 0, nil
	}
	n := 0
	var first error
	for _, r := range t.store.Pending() {
		if r.Host != HostPending || !r.State.final() {
			continue
		}
		rec := r
		if err := confirmRecord(ctx, t, &rec); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		n++
	}
	return n, first
}

// probeOffline reads the wallet's offline serial (CTC).
func (x *txn) probeOffline(w Wallet, tid TID) (OfflineInit, error) {
	data, err := x.do(InitializeForPurchase(w, x.t.cfg.KeyIndex, 0, tid))
	if err != nil {
		return OfflineInit{}, err
	}
	return ParseOfflineInit(data)
}

// settleOffline settles a purchase from the card's CTC.
func (x *txn) settleOffline(rec *Record) error {
	if rec.State == StateStarted {
		rec.State, rec.Evidence = StateNotApplied, "DEBIT FOR PURCHASE was never sent"
		return x.put(rec)
	}
	probe, err := x.probeOffline(rec.Wallet, rec.TID)
	if err != nil {
		return err
	}
	if probe.CTC == rec.Serial {
		rec.State, rec.Evidence = StateNotApplied, fmt.Sprintf("CTC still %d", probe.CTC)
	} else if err := x.prove(rec, probe.CTC, 0); err != nil {
		return err
	}
	return x.put(rec)
}
