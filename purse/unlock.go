// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"fmt"
	"time"
)

// Closing a grey lock: DEBIT FOR UNLOCK with the GMAC, now or (补扣) when
// the card comes back; and a card grey from elsewhere, unlocked online.

// greyStatus reads the card's grey status.
func (x *txn) greyStatus() (GreyStatus, error) {
	data, err := x.do(GetGreyStatus(false))
	if err != nil {
		return GreyStatus{}, err
	}
	g, err := ParseGreyStatus(data)
	if err != nil {
		return GreyStatus{}, err
	}
	x.res.Grey = &g
	return g, nil
}

// gmac computes the record's GMAC and PSAM-TAC and fixes the counters
// DEBIT FOR UNLOCK will carry; the record becomes the unlock's (the escape
// bill's) and is made durable.
func (x *txn) gmac(rec *Record, sam GreySAM, bill byte) error {
	t0 := time.Now()
	g, err := sam.GMAC(x.ctx, &GMACRequest{ASN: x.info.ASN, CTC: rec.Serial, Amount: rec.Amount})
	x.outsideSince(t0)
	if err != nil {
		return fmt.Errorf("%w: GMAC: %w", ErrSAM, err)
	}
	rec.GMAC, rec.PSAMTAC = g.GMAC, g.PSAMTAC
	rec.UnlockCTC, rec.UnlockTTC = rec.Serial, rec.TTC
	if x.t.cfg.UnlockCounters == UnlockCountersNext {
		rec.UnlockCTC, rec.UnlockTTC = rec.Serial+1, rec.TTC+1
	}
	rec.State, rec.BillType, rec.POSTTC = StateUnlocking, bill, x.t.store.nextPOSTTC()
	x.res.GMAC, x.res.PSAMTAC = g.GMAC, g.PSAMTAC
	return x.put(rec)
}

// escape keeps the record as an escape bill (逃卡): with its GMAC (taken
// now if the SAM still can) the card's next presentation is unlocked here.
func (x *txn) escape(rec *Record, sam GreySAM) error {
	if rec.GMAC.IsZero() {
		if err := x.gmac(rec, sam, BillEscape); err != nil {
			// No GMAC: the record keeps what it has (the amount, if
			// known); the card needs the online unlock.
			rec.Evidence = "escape without GMAC: " + err.Error()
			return x.put(rec)
		}
	}
	rec.State, rec.BillType = StateEscape, BillEscape
	return x.put(rec)
}

// unlock sends DEBIT FOR UNLOCK for the record's amount, computing its GMAC
// first when it has none, and closes the record on the card's TAC.
func (x *txn) unlock(rec *Record, sam GreySAM, bill byte) error {
	if rec.GMAC.IsZero() {
		if err := x.gmac(rec, sam, bill); err != nil {
			x.end(OutcomePending, ReasonSAM, "the SAM did not compute the GMAC (%v): the card stays grey until it is unlocked", err)
			rec.Evidence = "no GMAC: " + err.Error()
			if perr := x.put(rec); perr != nil {
				return perr
			}
			return err
		}
	}
	c := DebitForUnlock(rec.Wallet, rec.Amount, rec.UnlockCTC, rec.TID, rec.UnlockTTC, rec.Time, rec.GMAC)
	data, err := x.do(c)
	var tac MAC
	if err == nil {
		tac, err = oneMAC("DEBIT FOR UNLOCK", data)
	}
	if err != nil {
		var ok bool
		if tac, ok, err = x.unlockLost(rec, err); !ok {
			return err
		}
	}
	return x.unlocked(rec, tac, "the card's TAC of DEBIT FOR UNLOCK")
}

// unlocked closes the record on the unlock's TAC, clears the card's
// TAC-unread flag and reads the balance.
func (x *txn) unlocked(rec *Record, tac MAC, evidence string) error {
	rec.State, rec.TAC, rec.Evidence = StateApplied, tac, evidence
	if err := x.put(rec); err != nil {
		return err
	}
	x.res.TAC, x.res.GMAC, x.res.PSAMTAC, x.res.TTC = tac, rec.GMAC, rec.PSAMTAC, rec.TTC
	if _, err := x.do(GetGreyStatus(true)); err != nil && transportFailed(err) {
		return nil // the flag is cleared at the next presentation
	}
	if x.res.Outcome != OutcomeDeclined { // a lock refused for its MAC2 stays declined
		x.end(OutcomeApproved, ReasonApproved, "the card paid %s for the fuel", rec.Amount)
	}
	x.balanceAfter(rec.Wallet, rec.BalanceBefore-rec.Amount)
	return nil
}

// unlockLost handles DEBIT FOR UNLOCK without a clear answer: the grey
// status says whether the card was debited (TAC unread, with the TAC);
// still grey, the command is sent once more; unreachable, the record is
// the escape bill.
func (x *txn) unlockLost(rec *Record, cause error) (MAC, bool, error) {
	for try := 0; try < 2; try++ {
		g, err := x.greyStatus()
		if err != nil {
			break
		}
		switch {
		case g.Status == GreyTACUnread && g.TID == rec.TID && g.CTC == rec.UnlockCTC && g.Amount() == rec.Amount:
			return g.TAC, true, nil
		case g.Status == GreyLocked && g.TID == rec.TID && g.CTC == rec.Serial && swOf(cause) == 0 && try == 0:
			data, err := x.do(DebitForUnlock(rec.Wallet, rec.Amount, rec.UnlockCTC, rec.TID, rec.UnlockTTC, rec.Time, rec.GMAC))
			if err == nil {
				if tac, err := oneMAC("DEBIT FOR UNLOCK", data); err == nil {
					return tac, true, nil
				}
			}
			continue
		}
		break
	}
	if done, err := x.garbledCard(rec); done || err != nil {
		return MAC{}, false, err
	}
	rec.State, rec.BillType = StateEscape, BillEscape
	if err := x.put(rec); err != nil {
		return MAC{}, false, err
	}
	x.end(OutcomePending, ReasonLost, "DEBIT FOR UNLOCK did not complete (%v): escape bill kept; the card is settled when it comes back", cause)
	if transportFailed(cause) {
		return MAC{}, false, cause
	}
	return MAC{}, false, nil
}
