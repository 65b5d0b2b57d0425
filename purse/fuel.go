// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
)

// Nozzle is the dispenser's pump under the terminal's control.
type Nozzle interface {
	// Fuel releases the pump for at most limit and returns what it
	// delivered when the nozzle is hung up. An error with a Fill says the
	// pump stopped early; what it reports delivered is charged.
	Fuel(ctx context.Context, limit Amount) (Fill, error)
}

// DispenseRequest is one fuel sale.
type DispenseRequest struct {
	// Preset is the most the customer asked for; 0 means up to the
	// card's balance.
	Preset Amount
	// Nozzle is the pump.
	Nozzle Nozzle
}

// Dispense sells fuel against the card under its grey lock (灰锁):
//
//	SELECT, READ BINARY EF15 [, VERIFY]
//	GET GREY STATUS                → a lock of this terminal's is completed
//	                                 from the store (补扣); one from elsewhere
//	                                 goes to the host's online unlock
//	INITIALIZE FOR GREY LOCK       → balance, CTC, random
//	SAM GREY-LOCK MAC1 (E0 40)     → TTC, terminal random, MAC1
//	GREY LOCK                      → GTAC, MAC2 (the card is grey)
//	SAM CHECK GREY MAC2 (E0 42)
//	the pump, up to min(preset, balance)
//	SAM GMAC (E0 44)               → GMAC, PSAM-TAC
//	DEBIT FOR UNLOCK (amount, …, GMAC) → TAC
//	GET GREY STATUS (clear the TAC-unread flag)
//	GET BALANCE
//
// The record is durable before GREY LOCK, again (locked, with the GTAC)
// before the pump is released, after the nozzle is hung up, and with the
// GMAC and PSAM-TAC (the escape bill, 逃卡) before DEBIT FOR UNLOCK: a card
// pulled at any point leaves a record from which its next presentation
// here settles it exactly once.
func (t *Terminal) Dispense(ctx context.Context, card apdu.Transport, req DispenseRequest) (*Result, error) {
	x := t.newTxn(ctx, card, KindFuel)
	return x.finish(x.dispense(req))
}

func (x *txn) dispense(req DispenseRequest) error {
	if req.Nozzle == nil {
		x.end(OutcomeTerminated, ReasonCardData, "no nozzle")
		return fmt.Errorf("%w: DispenseRequest without a Nozzle", ErrConfig)
	}
	sam, ok := x.t.sam.(GreySAM)
	if !x.needStore() || !ok {
		if !ok {
			x.end(OutcomeTerminated, ReasonSAM, "the terminal has no SAM for the grey lock")
		}
		return nil
	}
	release, err := x.holdSAM()
	if err != nil {
		return err
	}
	defer release()
	if ok, err := x.begin(KindFuel); !ok || err != nil {
		return err
	}
	if ok, err := x.ungrey(); !ok || err != nil {
		return err
	}
	rec, ok, err := x.lock(req.Preset)
	if !ok || err != nil {
		return err
	}
	if err := x.fuel(rec, req.Nozzle); err != nil {
		return err
	}
	return x.unlock(rec, sam, BillNormal)
}

// lock runs the grey lock: the record is locked and durable when it
// returns true, and the pump may be released up to rec.Limit.
func (x *txn) lock(preset Amount) (*Record, bool, error) {
	w, tid := x.t.cfg.Wallet, x.tid()
	init, ok, err := x.initOffline(InitializeForGreyLock(w, x.t.cfg.KeyIndex, tid), 0)
	if !ok || err != nil {
		return nil, false, err
	}
	limit := init.Balance
	if preset > 0 && preset < limit {
		limit = preset
	}
	if limit == 0 {
		x.end(OutcomeDeclined, ReasonInsufficient, "the card's balance is 0.00")
		return nil, false, nil
	}
	when := DateTimeOf(x.now)
	sam, err := x.samMAC1(&MAC1Request{Grey: true, CardRandom: init.Random, CTC: init.CTC, Amount: init.Balance,
		Type: x.t.cfg.GreyLockSAMType, Time: when, KeyVersion: init.KeyVersion, Alg: init.Alg, ASN: x.info.ASN})
	if err != nil {
		return nil, false, err
	}
	rec := x.newRecord(KindFuel, tid)
	rec.State, rec.Type, rec.Serial, rec.TTC, rec.Time = StateDebiting, TypeGreyLock, init.CTC, sam.TTC, when
	rec.BalanceBefore, rec.Limit, rec.KeyVersion = init.Balance, limit, init.KeyVersion
	if err := x.put(&rec); err != nil { // GREY LOCK is next
		return nil, false, err
	}
	data, err := x.do(GreyLock(sam.TTC, sam.TerminalRandom, when, sam.MAC1))
	var gtac, mac2 MAC
	if err == nil {
		gtac, mac2, err = twoMACs("GREY LOCK", data)
	}
	if err != nil {
		if gtac, mac2, ok, err = x.lockLost(&rec, err); !ok || err != nil {
			return nil, false, err
		}
	}
	x.res.GTAC, x.res.MAC2 = gtac, mac2
	if ok, err := x.lockChecked(&rec, mac2); !ok || err != nil {
		return nil, false, err
	}
	rec.State, rec.MAC2 = StateLocked, x.res.MAC2
	if rec.GTAC.IsZero() {
		rec.GTAC = gtac
	}
	return &rec, true, x.put(&rec) // durable before the pump is released
}

// lockChecked has the SAM check the lock's MAC2. A MAC2 the SAM refuses
// is checked once more as the card's grey status repeats it (an answer
// garbled on its way); refused again, it is not a genuine card's: the pump
// stays shut, and the card, which may be genuine and grey, is unlocked for
// 0.00.
func (x *txn) lockChecked(rec *Record, mac2 MAC) (bool, error) {
	err := x.checkMAC2(true, mac2)
	var refused *StatusError
	if errors.As(err, &refused) {
		if g, gerr := x.greyStatus(); gerr == nil && g.Status == GreyLocked && g.TID == rec.TID && g.CTC == rec.Serial {
			if err = x.checkMAC2(true, g.MAC2()); err == nil {
				rec.GTAC = g.TAC
				x.res.GTAC, x.res.MAC2 = g.TAC, g.MAC2()
			}
		}
	}
	if err == nil {
		return true, nil
	}
	x.end(OutcomeDeclined, ReasonMAC2Invalid, "the SAM refused the card's grey-lock MAC2 (%v): no fuel", err)
	rec.Amount = 0
	if uerr := x.unlock(rec, x.t.sam.(GreySAM), BillNormal); uerr != nil {
		return false, uerr
	}
	x.end(OutcomeDeclined, ReasonMAC2Invalid, "the SAM refused the card's grey-lock MAC2 (%v): no fuel; the lock was released for 0.00", err)
	return false, nil
}

// lockLost handles a GREY LOCK without a clear answer. The grey status
// says whether the card locked, whatever the answer said (a status word can
// be garbled as well as data); when the card cannot be asked, the GMAC for
// 0.00 is taken now, while the SAM still has the lock's session, so that
// the card's next presentation can be unlocked here. It returns the GTAC
// and the MAC2, in GREY LOCK's order.
func (x *txn) lockLost(rec *Record, cause error) (gtac, mac2 MAC, ok bool, err error) {
	g, err := x.greyStatus()
	if err != nil && swOf(err) == 0 {
		g, err = x.greyStatus() // an answer garbled once is asked for twice
	}
	if err == nil && g.Status == GreyLocked && g.TID == rec.TID && g.CTC == rec.Serial {
		return g.TAC, g.MAC2(), true, nil // locked: the status has its GTAC and MAC2
	}
	if err == nil && g.Status != GreyLocked {
		rec.State, rec.Evidence = StateNotApplied, "GREY LOCK failed and the card is not grey: "+cause.Error()
		x.end(OutcomeDeclined, ReasonCardRefused, "GREY LOCK: %v", cause)
		return MAC{}, MAC{}, false, x.put(rec)
	}
	if done, gerr := x.garbledCard(rec); done || gerr != nil {
		return MAC{}, MAC{}, false, gerr
	}
	rec.Amount = 0
	if gerr := x.escape(rec, x.t.sam.(GreySAM)); gerr != nil {
		return MAC{}, MAC{}, false, gerr
	}
	x.end(OutcomePending, ReasonCardRemoved, "GREY LOCK's answer and the grey status are lost (%v): if the card is grey it is unlocked for 0.00 when it comes back", cause)
	if transportFailed(cause) {
		return MAC{}, MAC{}, false, cause
	}
	return MAC{}, MAC{}, false, nil
}

// fuel releases the pump and records what it delivered.
func (x *txn) fuel(rec *Record, n Nozzle) error {
	fill, err := n.Fuel(x.ctx, rec.Limit)
	amount := fill.Amount
	if amount > rec.BalanceBefore {
		// An overrun (过冲) past what the card holds: the card pays its
		// balance, the rest is the station's.
		amount = rec.BalanceBefore
	}
	rec.State, rec.Amount, rec.Fill = StateDispensed, amount, &fill
	x.res.Fill, x.res.Amount = &fill, amount
	if perr := x.put(rec); perr != nil {
		return perr
	}
	if err != nil {
		x.res.Detail = fmt.Sprintf("the pump stopped: %v", err)
	}
	return nil
}
