// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// What a grey card tells the pump, and what the pump does about it:
//
//	status  whose   what the terminal does
//	01 grey  ours   the stored record completes the sale (补扣): DEBIT
//	                FOR UNLOCK with its amount and GMAC (settleFuel)
//	01 grey  other  the host's online unlock (联机解扣), else refused
//	10 TAC   ours   the unlock's TAC closes the record, the flag cleared
//	10 TAC   other  the TAC is kept (a foreign_tac record), the flag cleared
//	00 none  ours   the card's EF18 and CTC say whether our lock was ever
//	                made and how it ended
//
// "Ours" is the terminal ID of the grey status and the record's CTC: a
// grey status names the terminal that locked.

// ungrey settles what the grey status shows before a new lock. It returns
// false with the result ended when the card stays grey.
func (x *txn) ungrey() (bool, error) {
	g, err := x.greyStatus()
	if err != nil {
		if swOf(err) != 0 {
			return true, nil // a card without the grey-lock commands: nothing to settle
		}
		return false, err
	}
	switch g.Status {
	case GreyTACUnread:
		if err := x.foreignTAC(g); err != nil {
			return false, err
		}
		return true, nil
	case GreyLocked:
		if done, err := x.reviveLock(g); done || err != nil {
			return done, err
		}
		// Grey from elsewhere, or from this terminal's sale that
		// settleCard could not complete (no GMAC, delivery unknown): the
		// host's online unlock, from the bill the station uploaded.
		return x.onlineUnlock(g)
	}
	return true, nil
}

// reviveLock handles a card grey from a lock this terminal recorded as
// not made (the card said it was not grey, or refused GREY LOCK, and then
// was): the pump was never released, so the lock is completed for 0.00.
func (x *txn) reviveLock(g GreyStatus) (bool, error) {
	sam, ok := x.t.sam.(GreySAM)
	if !ok || g.TID != x.tid() {
		return false, nil
	}
	for _, r := range x.t.store.Records() {
		if r.Kind == KindFuel && r.ASNHash == x.asnHash && r.State == StateNotApplied && r.TID == g.TID && r.Serial == g.CTC {
			rec := r
			rec.State, rec.Amount, rec.Evidence = StateDebiting, 0, "grey after all: "+rec.Evidence
			done, err := x.completeLock(&rec, sam)
			if done {
				x.settled(&rec, "a lock recorded as not made, found on the card: released for 0.00")
			}
			return done, err
		}
	}
	return false, nil
}

// closeOwnLock closes this terminal's open record of the lock an online
// unlock just released: the host collected its bill.
func (x *txn) closeOwnLock(g GreyStatus, paid Amount) error {
	for _, r := range x.t.store.forCard(x.asnHash) {
		if r.Kind == KindFuel && r.Serial == g.CTC && r.TID == g.TID && !r.State.final() {
			rec := r
			rec.State, rec.Amount = StateUnlockedOnline, paid
			rec.Evidence = fmt.Sprintf("released by the host's online unlock for %s", paid)
			if err := x.put(&rec); err != nil {
				return err
			}
			x.settled(&rec, rec.Evidence)
		}
	}
	return nil
}

// foreignTAC keeps the TAC of an unlock the card has not had read (the
// terminal that unlocked it lost the card before clearing the flag), then
// clears the flag. Our own unlocks are closed by settleCard before this.
func (x *txn) foreignTAC(g GreyStatus) error {
	known := false
	for _, r := range x.t.store.Records() {
		if r.Kind == KindFuel && r.ASNHash == x.asnHash && r.TID == g.TID && r.UnlockCTC == g.CTC && r.TAC == g.TAC {
			known = true
		}
	}
	if !known {
		rec := x.newRecord(KindForeignTAC, g.TID)
		rec.State, rec.Type, rec.Amount, rec.Serial, rec.Time, rec.TAC = StateApplied, g.Type, g.Amount(), g.CTC, g.Time, g.TAC
		rec.Evidence = "the card's grey status (TAC unread) from terminal " + g.TID.String()
		if err := x.put(&rec); err != nil {
			return err
		}
	}
	_, err := x.do(GetGreyStatus(true))
	return err
}

// settleFuel settles an open fuel record of this card from its grey status
// (read here when g is nil). It returns whether the record is final.
func (x *txn) settleFuel(rec *Record, g *GreyStatus) (bool, error) {
	sam, ok := x.t.sam.(GreySAM)
	if !ok {
		return false, nil // only a terminal with its SAM settles its locks
	}
	release, err := x.holdSAM()
	if err != nil {
		return false, err
	}
	defer release()
	if g == nil {
		st, err := x.greyStatus()
		if err != nil {
			if swOf(err) != 0 {
				return false, nil
			}
			return false, err
		}
		g = &st
	}
	switch {
	case g.Status == GreyLocked && g.TID == rec.TID && g.CTC == rec.Serial:
		return x.completeLock(rec, sam)
	case g.Status == GreyTACUnread && g.TID == rec.TID && g.CTC == rec.UnlockCTC && !rec.GMAC.IsZero() && g.Amount() == rec.Amount:
		if err := x.unlocked(rec, g.TAC, "the card's grey status: TAC unread"); err != nil {
			return false, err
		}
		return true, nil
	}
	return x.fuelFromCard(rec)
}

// completeLock completes our lock still on the card (补扣): with the
// record's amount and GMAC, or, when the pump was never released, for
// 0.00. A record whose pump was released but whose delivery is not known
// is left for the station.
func (x *txn) completeLock(rec *Record, sam GreySAM) (bool, error) {
	switch rec.State {
	case StateDebiting:
		rec.Amount = 0 // the pump is released only once the lock is durable
	case StateLocked:
		rec.Evidence = "grey, and the delivery under the lock was not recorded: the station's online unlock (its totaliser) settles it"
		return false, nil
	}
	bill := BillUnlock
	if err := x.unlock(rec, sam, bill); err != nil {
		var se *StatusError
		if errors.As(err, &se) || errors.Is(err, ErrSAM) {
			return false, nil // the card stays grey: the online unlock
		}
		return false, err
	}
	if rec.State == StateApplied {
		rec.BillType = BillUnlock
		if err := x.put(rec); err != nil {
			return false, err
		}
	}
	// The result is the new sale's; the 补扣 is a settlement.
	x.res.Outcome, x.res.Reason, x.res.Detail = OutcomeTerminated, "", ""
	x.res.BalanceAfter, x.res.TAC, x.res.GMAC, x.res.PSAMTAC = nil, MAC{}, MAC{}, MAC{}
	return rec.State.final(), nil
}

// fuelFromCard settles a fuel record whose lock the card no longer shows:
// its EF18 has our DEBIT FOR UNLOCK (then it is applied) or an online
// unlock (then the host settled the bill); with neither, a CTC unchanged
// since the record says the lock never happened.
func (x *txn) fuelFromCard(rec *Record) (bool, error) {
	recs, err := x.readRecords()
	if err != nil {
		return false, err
	}
	for _, cr := range recs {
		switch {
		case cr.Type == TypeDebitUnlock && cr.TID == rec.TID && cr.Serial == rec.UnlockCTC && !rec.GMAC.IsZero() && cr.Amount == rec.Amount:
			tac := MAC{}
			if data, err := x.do(GetTransactionProve(TypeDebitUnlock, rec.UnlockCTC)); err == nil {
				if _, t, err := twoMACs("GET TRANSACTION PROVE", data); err == nil {
					tac = t
				}
			}
			rec.State, rec.TAC = StateApplied, tac
			rec.Evidence = fmt.Sprintf("EF18: debit for unlock %d of %s from %s", cr.Serial, cr.Amount, cr.TID)
			return true, x.put(rec)
		case cr.Type == TypeOnlineUnlock && cr.Time.String() >= rec.Time.String():
			rec.State = StateUnlockedOnline
			rec.Evidence = fmt.Sprintf("EF18: unlocked online (%s, serial %d): the host settles the bill", cr.Amount, cr.Serial)
			return true, x.put(rec)
		}
	}
	probe, err := x.probeOffline(rec.Wallet, rec.TID)
	if err != nil {
		if swOf(err) != 0 {
			return false, nil // the card will not say (grey from elsewhere, say): kept
		}
		return false, err
	}
	if probe.CTC == rec.Serial {
		rec.State, rec.Evidence = StateNotApplied, fmt.Sprintf("not grey and CTC still %d: the lock was never made", probe.CTC)
	} else {
		rec.State, rec.Evidence = StateUnresolved, fmt.Sprintf("not grey, CTC %d → %d, no unlock of ours in EF18: for the issuer", rec.Serial, probe.CTC)
	}
	return true, x.put(rec)
}

// emptyEF18 is an unused EF18 slot as some cards answer it.
var emptyEF18 [lenEF18]byte

// readRecords reads EF18, newest first, until the card has no more: a
// status other than 9000 (6A83 after the last record) or a record of 23
// zero bytes, which is how some cards answer the unused slots of the
// cyclic file (a real T-Union card does; no transaction has serial 0000,
// type 00 and no terminal).
func (x *txn) readRecords() ([]CardRecord, error) {
	var out []CardRecord
	for n := byte(1); n <= MaxRecords; n++ {
		r, err := x.exchange(ReadRecordEF18(n))
		if err != nil {
			return nil, err
		}
		if !r.SW.OK() || bytes.Equal(r.Data, emptyEF18[:]) {
			break
		}
		cr, err := ParseCardRecord(r.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, cr)
	}
	return out, nil
}

// onlineUnlock has the host unlock a card grey from elsewhere (联机解扣):
// INITIALIZE FOR ONLINE UNLOCK, the host's amount and MAC2, ONLINE UNLOCK,
// MAC3 to the host. It returns true when the card is no longer grey.
func (x *txn) onlineUnlock(g GreyStatus) (bool, error) {
	if x.t.host == nil {
		x.end(OutcomeDeclined, ReasonGreyElsewhere, "the card is grey from terminal %s (CTC %d): go to the station for the online unlock", g.TID, g.CTC)
		return false, nil
	}
	w, tid := x.t.cfg.Wallet, x.tid()
	data, err := x.do(InitializeForOnlineUnlock(w, x.t.cfg.KeyIndex, tid))
	if err != nil {
		if swOf(err) != 0 {
			x.end(OutcomeDeclined, ReasonGreyElsewhere, "the card is grey from terminal %s and refused the online unlock: %v", g.TID, err)
			return false, nil
		}
		return false, err
	}
	init, err := ParseUnlockInit(data)
	if err != nil {
		return false, err
	}
	rec := x.newRecord(KindOnlineUnlock, tid)
	rec.Type, rec.Serial, rec.BalanceBefore = TypeOnlineUnlock, init.OnlineSN, init.Balance
	if err := x.put(&rec); err != nil {
		return false, err
	}
	resp, ok, err := x.unlockAuthorize(&rec, &init, g)
	if !ok || err != nil {
		return false, err
	}
	data, err = x.do(OnlineUnlock(resp.Amount, resp.Time, resp.MAC2))
	var mac3 MAC
	if err == nil {
		mac3, err = oneMAC("ONLINE UNLOCK", data)
	}
	if err != nil {
		if lerr := x.lostOnline(&rec, err); lerr != nil || rec.State != StateApplied {
			return false, lerr
		}
	} else {
		rec.State, rec.MAC3, rec.Host, rec.Evidence = StateApplied, mac3, HostPending, "the card's MAC3"
		if err := x.put(&rec); err != nil {
			return false, err
		}
		_ = x.confirm(&rec) // queued in the store when the host is away
	}
	x.settled(&rec, "online unlock of the grey lock from "+g.TID.String())
	x.res.Outcome, x.res.Reason, x.res.Detail = OutcomeTerminated, "", ""
	return true, x.closeOwnLock(g, rec.Amount)
}

// unlockAuthorize asks the host for the online unlock's amount and MAC2.
func (x *txn) unlockAuthorize(rec *Record, init *UnlockInit, g GreyStatus) (*HostResponse, bool, error) {
	req := &HostRequest{ID: rec.ID, Kind: KindOnlineUnlock, ASN: x.info.ASN, Wallet: rec.Wallet, TID: rec.TID,
		Type: TypeOnlineUnlock, Balance: init.Balance, OnlineSN: init.OnlineSN, CTC: init.CTC, KeyVersion: init.KeyVersion,
		Alg: init.Alg, Random: init.Random, MAC1: init.MAC1, Grey: &g}
	t0 := time.Now()
	resp, err := x.t.host.Authorize(x.ctx, req)
	x.outsideSince(t0)
	if err == nil && resp.Amount > init.Balance {
		err = fmt.Errorf("%w: the host asks %s of a card holding %s", ErrHost, resp.Amount, init.Balance)
	}
	if err != nil {
		rec.State, rec.Evidence = StateNotApplied, "no online unlock: "+err.Error()
		x.end(OutcomeDeclined, ReasonGreyElsewhere, "the card is grey from terminal %s and the host did not unlock it: %v", g.TID, err)
		return nil, false, x.put(rec)
	}
	rec.State, rec.Amount, rec.MAC2, rec.Time = StateAuthorized, resp.Amount, resp.MAC2, resp.Time
	return resp, true, x.put(rec)
}
