// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
)

// Unload moves amount from the card's ED back to its reserve account at
// the host (圈提):
//
//	SELECT, READ BINARY EF15, VERIFY (PIN pad)
//	INITIALIZE FOR UNLOAD          → balance, online serial, random, MAC1
//	host: Authorize                → checks MAC1, MAC2 (no money moves yet)
//	DEBIT FOR UNLOAD (host time, MAC2) → MAC3
//	GET BALANCE
//	host: Confirm (MAC3)           → the reserve is credited
//
// Only the ED can be unloaded (the command's P2 is 01 whatever
// Config.Wallet says). The host credits the reserve only on the card's
// MAC3; a MAC3 lost with the card is recovered from the card (GET
// TRANSACTION PROVE) at its next presentation and queued until the host
// takes it.
func (t *Terminal) Unload(ctx context.Context, card apdu.Transport, amount Amount) (*Result, error) {
	x := t.newTxn(ctx, card, KindUnload)
	x.res.Wallet = ED
	return x.finish(x.unload(amount))
}

func (x *txn) unload(amount Amount) error {
	x.res.Amount = amount
	if amount == 0 {
		x.end(OutcomeDeclined, ReasonCardData, "an unload of 0.00")
		return fmt.Errorf("%w: an unload of 0.00", ErrAmount)
	}
	if !x.needStore() || !x.needHost() {
		return nil
	}
	if ok, err := x.begin(KindUnload); !ok || err != nil {
		return err
	}
	tid := x.tid()
	init, ok, err := x.initOnline(InitializeForUnload(x.t.cfg.KeyIndex, amount, tid))
	if !ok || err != nil {
		return err
	}
	if init.Balance < amount {
		// The card should have refused (9401); one that did not is not
		// trusted with the unload.
		x.end(OutcomeDeclined, ReasonCardData, "the card accepted an unload of %s with a balance of %s", amount, init.Balance)
		return fmt.Errorf("%w: unload above the balance accepted", ErrCardData)
	}
	rec := x.newRecord(KindUnload, tid)
	rec.Wallet, rec.Type, rec.Amount, rec.Serial, rec.BalanceBefore = ED, TypeUnload, amount, init.OnlineSN, init.Balance
	if err := x.put(&rec); err != nil {
		return err
	}
	resp, ok, err := x.authorize(&rec, &init)
	if !ok || err != nil {
		return err
	}
	rec.State, rec.MAC2, rec.Time = StateAuthorized, resp.MAC2, resp.Time
	if err := x.put(&rec); err != nil { // DEBIT FOR UNLOAD is next
		return err
	}
	data, err := x.do(DebitForUnload(resp.Time, resp.MAC2))
	if err != nil {
		return x.lostOnline(&rec, err)
	}
	mac3, err := oneMAC("DEBIT FOR UNLOAD", data)
	if err != nil {
		return x.lostOnline(&rec, err)
	}
	return x.applied(&rec, MAC{}, mac3, init.Balance-amount)
}
