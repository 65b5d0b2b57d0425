// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"fmt"
	"time"
)

// begin opens the card, verifies the PIN when the operation needs it, and
// settles the card's records left pending at this terminal. It returns
// false with the result ended when the operation cannot go on.
func (x *txn) begin(k Kind) (bool, error) {
	ok, err := x.open()
	if !ok || err != nil {
		return false, err
	}
	if x.t.needsPIN(k) {
		if ok, err := x.verifyPIN(); !ok || err != nil {
			return false, err
		}
	}
	if x.t.store != nil {
		if err := x.settleCard(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// needStore ends the operation when there is no store: nothing that moves
// money runs without durable records.
func (x *txn) needStore() bool {
	if x.t.store == nil {
		x.end(OutcomeTerminated, ReasonStore, "the terminal has no store: no operation that moves money runs without durable records")
		return false
	}
	return true
}

// newRecord starts a record of this card at this terminal.
func (x *txn) newRecord(k Kind, tid TID) Record {
	s := x.t.store
	return Record{
		ID: s.newID(tid, k), Kind: k, State: StateStarted, Created: x.now, Updated: x.now,
		ASN: x.info.ASN.String(), ASNHash: x.asnHash, ASNSealed: s.sealASN(x.info.ASN),
		Wallet: x.t.cfg.Wallet, TID: tid,
	}
}

// put makes the record's new state durable before the flow goes on.
func (x *txn) put(r *Record) error {
	r.Updated = x.t.cfg.Now()
	t0 := time.Now()
	err := x.t.store.Put(x.ctx, *r)
	x.outsideSince(t0)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	x.res.RecordID = r.ID
	return nil
}

// settled adds a settlement of an earlier record to the result.
func (x *txn) settled(r *Record, detail string) {
	x.res.Settled = append(x.res.Settled, Settlement{RecordID: r.ID, Kind: r.Kind, State: r.State, Amount: r.Amount, Detail: detail})
}

// readBalance reads the wallet's balance (nil when the card does not say).
func (x *txn) readBalance(w Wallet) (*Amount, error) {
	data, err := x.do(GetBalance(w))
	if err != nil {
		return nil, err
	}
	b, err := ParseBalance(data)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// balanceAfter reads the balance after a money operation into the result
// and checks it against what the card was asked to do: a card reporting
// another balance is reported, never corrected.
func (x *txn) balanceAfter(w Wallet, want Amount) {
	b, err := x.readBalance(w)
	if err != nil || b == nil {
		return // the operation stands on the card's TAC; the balance is information
	}
	x.res.BalanceAfter = b
	if *b != want {
		x.res.Detail += fmt.Sprintf("; the card reports a balance of %s, not the %s expected", *b, want)
		x.res.Reason = ReasonBalanceMismatch
	}
}

// cardASN reads EF15 twice more and returns the ASN both reads agree on;
// ok is false when the card is gone or the reads disagree.
func (x *txn) cardASN() (ASN, bool) {
	var got [2]ASN
	for i := range got {
		data, err := x.do(ReadBinary(sfiEF15, lenEF15))
		if err != nil {
			return ASN{}, false
		}
		info, err := ParseAppInfo(data)
		if err != nil {
			return ASN{}, false
		}
		got[i] = info.ASN
	}
	return got[0], got[0] == got[1]
}

// garbledCard checks, before rec is left pending, that the ASN the
// operation took at its start is the card's. When two more reads of EF15
// agree on another one, the first read was garbled: if the key factor
// (its right 8 bytes) differs, no MAC of the operation can have verified
// on the card and rec is closed as not applied (true is returned); if only
// the first two bytes differ, the MACs were the card's, and rec is moved to
// the card's ASN, to be settled at its next presentation.
func (x *txn) garbledCard(rec *Record) (bool, error) {
	if rec.State.final() {
		return false, nil
	}
	asn, ok := x.cardASN()
	if !ok || asn == x.info.ASN {
		return false, nil
	}
	if asn.Factor() == x.info.ASN.Factor() {
		x.info.ASN, x.asnHash = asn, x.t.store.HashASN(asn)
		rec.ASN, rec.ASNHash, rec.ASNSealed = asn.String(), x.asnHash, x.t.store.sealASN(asn)
		return false, x.put(rec)
	}
	rec.State, rec.Evidence = StateNotApplied, "the ASN read at the start was garbled: no MAC of the operation could verify on the card"
	rec.Proof, rec.Host = nil, HostNone
	x.end(OutcomeDeclined, ReasonCardData, "EF15 was garbled at the start (the card says ASN %s): nothing moved", asn)
	return true, x.put(rec)
}
