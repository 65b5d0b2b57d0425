// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/apdu"
)

// Purchase takes amount from the card's wallet offline, with the SAM:
//
//	SELECT, READ BINARY EF15 [, VERIFY]
//	INITIALIZE FOR PURCHASE        → balance, CTC, random
//	SAM MAC1 (80 70)               → TTC, MAC1
//	DEBIT FOR PURCHASE (TTC, time, MAC1) → TAC, MAC2
//	SAM CHECK MAC2 (80 72)         → the card is the card
//	GET BALANCE
//
// Only the card's MAC2 from this DEBIT FOR PURCHASE, checked by the SAM,
// approves; the TAC goes in the record for clearing. The record is durable
// before DEBIT FOR PURCHASE; a lost answer is settled from the CTC.
func (t *Terminal) Purchase(ctx context.Context, card apdu.Transport, amount Amount) (*Result, error) {
	x := t.newTxn(ctx, card, KindPurchase)
	return x.finish(x.purchase(amount))
}

func (x *txn) purchase(amount Amount) error {
	x.res.Amount = amount
	if amount == 0 {
		x.end(OutcomeDeclined, ReasonCardData, "a purchase of 0.00")
		return fmt.Errorf("%w: a purchase of 0.00", ErrAmount)
	}
	if !x.needStore() || !x.needSAM() {
		return nil
	}
	release, err := x.holdSAM()
	if err != nil {
		return err
	}
	defer release()
	if ok, err := x.begin(KindPurchase); !ok || err != nil {
		return err
	}
	w, tid := x.t.cfg.Wallet, x.tid()
	init, ok, err := x.initOffline(InitializeForPurchase(w, x.t.cfg.KeyIndex, amount, tid), amount)
	if !ok || err != nil {
		return err
	}
	when := DateTimeOf(x.now)
	sam, err := x.samMAC1(&MAC1Request{CardRandom: init.Random, CTC: init.CTC, Amount: amount, Type: w.purchaseType(),
		Time: when, KeyVersion: init.KeyVersion, Alg: init.Alg, ASN: x.info.ASN})
	if err != nil {
		return err
	}
	rec := x.newRecord(KindPurchase, tid)
	rec.State, rec.Type, rec.Amount, rec.Serial, rec.TTC, rec.Time = StateDebiting, w.purchaseType(), amount, init.CTC, sam.TTC, when
	rec.BalanceBefore = init.Balance
	if err := x.put(&rec); err != nil { // DEBIT FOR PURCHASE is next
		return err
	}
	data, err := x.do(DebitForPurchase(sam.TTC, when, sam.MAC1))
	if err != nil {
		return x.lostPurchase(&rec, err)
	}
	tac, mac2, err := twoMACs("DEBIT FOR PURCHASE", data)
	if err != nil {
		return x.lostPurchase(&rec, err)
	}
	return x.purchased(&rec, tac, mac2)
}

// needSAM ends the operation when there is no SAM.
func (x *txn) needSAM() bool {
	if x.t.sam == nil {
		x.end(OutcomeTerminated, ReasonSAM, "the terminal has no SAM")
		return false
	}
	return true
}

// holdSAM waits for the SAM (one session at a time: its MAC1, MAC2 check
// and GMAC belong together) and holds it for the operation; an operation
// that holds it already gets a release that does nothing.
func (x *txn) holdSAM() (func(), error) {
	if x.samHeld {
		return func() {}, nil
	}
	select {
	case x.t.busy <- struct{}{}:
		x.samHeld = true
		return func() { x.samHeld = false; <-x.t.busy }, nil
	case <-x.ctx.Done():
		return nil, x.ctx.Err()
	}
}

// initOffline sends INITIALIZE FOR PURCHASE (or FOR GREY LOCK, amount 0)
// and decodes it. A card that says it can pay with a balance below the
// amount is not believed.
func (x *txn) initOffline(c apdu.Command, amount Amount) (OfflineInit, bool, error) {
	data, err := x.do(c)
	if err != nil {
		if sw := swOf(err); sw != 0 {
			x.cardRefused(c, sw)
			return OfflineInit{}, false, nil
		}
		return OfflineInit{}, false, err
	}
	init, err := ParseOfflineInit(data)
	if err != nil {
		return OfflineInit{}, false, err
	}
	x.res.BalanceBefore, x.res.Serial = &init.Balance, init.CTC
	if uint64(init.Balance)+uint64(init.Overdraft) < uint64(amount) {
		x.end(OutcomeDeclined, ReasonCardData, "the card accepted %s with a balance of %s", amount, init.Balance)
		return OfflineInit{}, false, fmt.Errorf("%w: purchase above the balance accepted", ErrCardData)
	}
	return init, true, nil
}

// samMAC1 asks the SAM for MAC1.
func (x *txn) samMAC1(req *MAC1Request) (*MAC1Response, error) {
	t0 := time.Now()
	resp, err := x.t.sam.MAC1(x.ctx, req)
	x.outsideSince(t0)
	if err != nil {
		x.end(OutcomeTerminated, ReasonSAM, "the SAM did not compute MAC1: %v", err)
		return nil, fmt.Errorf("%w: %w", ErrSAM, err)
	}
	x.res.TTC, x.res.MAC1, x.res.TID = resp.TTC, resp.MAC1, x.tid()
	return resp, nil
}

// checkMAC2 has the SAM check the card's MAC2.
func (x *txn) checkMAC2(grey bool, mac2 MAC) error {
	t0 := time.Now()
	err := x.t.sam.CheckMAC2(x.ctx, grey, mac2)
	x.outsideSince(t0)
	return err
}

// purchased checks the card's MAC2 with the SAM and closes the purchase.
// A MAC2 the SAM refuses is not the card's word: the card is asked once
// for its proof (GET TRANSACTION PROVE), whose MAC2 the SAM checks again;
// if that fails too the goods are refused and the record kept, TAC and
// all, for the issuer (a genuine card may have debited itself).
func (x *txn) purchased(rec *Record, tac, mac2 MAC) error {
	x.res.TAC, x.res.MAC2 = tac, mac2
	err := x.checkMAC2(false, mac2)
	var refused *StatusError
	if errors.As(err, &refused) { // the SAM refused it (not: the SAM is gone)
		if data, perr := x.do(GetTransactionProve(rec.Type, rec.Serial)); perr == nil {
			if m, t, perr := twoMACs("GET TRANSACTION PROVE", data); perr == nil && x.checkMAC2(false, m) == nil {
				tac, mac2, err = t, m, nil
			}
		}
	}
	rec.TAC, rec.MAC2 = tac, mac2
	if err != nil {
		rec.State, rec.Evidence = StateUnresolved, "the SAM refused the card's MAC2: "+err.Error()
		if perr := x.put(rec); perr != nil {
			return perr
		}
		x.end(OutcomeDeclined, ReasonMAC2Invalid, "the SAM refused the card's MAC2 (%v): do not hand over the goods; the record is kept for the issuer", err)
		return nil
	}
	rec.State, rec.Evidence = StateApplied, "the card's MAC2, checked by the SAM"
	if err := x.put(rec); err != nil {
		return err
	}
	x.res.TAC, x.res.MAC2 = tac, mac2
	x.end(OutcomeApproved, ReasonApproved, "the card paid %s", rec.Amount)
	x.balanceAfter(rec.Wallet, rec.BalanceBefore-rec.Amount)
	return nil
}

// lostPurchase settles a DEBIT FOR PURCHASE without a clear answer from
// the CTC, now if the card is still there, else at its next presentation.
// A debit proved now is approved only on the SAM's check of its MAC2.
func (x *txn) lostPurchase(rec *Record, cause error) error {
	if sw := swOf(cause); sw != 0 {
		// The card refused DEBIT FOR PURCHASE (MAC1 wrong, 9302 …): its
		// CTC says whether it debited anyway.
		x.res.Detail = cause.Error()
	}
	if err := x.settleOffline(rec); err != nil || !rec.State.final() {
		if done, gerr := x.garbledCard(rec); done || gerr != nil {
			return gerr
		}
		x.end(OutcomePending, ReasonLost, "the card's answer was lost (%v): the purchase is settled when the card comes back", cause)
		if transportFailed(cause) {
			return cause
		}
		return err
	}
	if rec.State == StateApplied {
		// The CTC moved and the card proved the debit; its MAC2 from
		// that proof is checked by the SAM, whose session is still this
		// purchase's, as the lost answer's would have been.
		if err := x.purchased(rec, rec.TAC, rec.MAC2); err != nil || rec.State != StateApplied {
			return err
		}
		x.end(OutcomeApproved, ReasonApproved, "the card paid %s (proved by its CTC and GET TRANSACTION PROVE after: %v)", rec.Amount, cause)
		return nil
	}
	x.end(OutcomeDeclined, ReasonCardRefused, "the card did not pay: %v (%s)", cause, rec.Evidence)
	return nil
}
