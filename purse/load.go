// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/apdu"
)

// Load moves amount from the card's reserve account at the host into the
// card's wallet (圈存):
//
//	SELECT, READ BINARY EF15, VERIFY (PIN pad)
//	INITIALIZE FOR LOAD            → balance, online serial, random, MAC1
//	host: Authorize                → checks MAC1, debits the reserve, MAC2
//	CREDIT FOR LOAD (host time, MAC2) → TAC
//	GET BALANCE                    → the card's new balance
//	host: Confirm (TAC)
//
// The record is durable before the host is asked (the host may debit even
// if its answer is lost) and again before CREDIT FOR LOAD. A load the card
// did not apply is never left debited: the terminal proves it with a fresh
// INITIALIZE FOR LOAD of amount 0 (MAC1 over the unchanged online serial)
// and the host gives the money back on that proof, now or, when it cannot
// be reached, from the store later (Flush).
func (t *Terminal) Load(ctx context.Context, card apdu.Transport, amount Amount) (*Result, error) {
	x := t.newTxn(ctx, card, KindLoad)
	return x.finish(x.load(amount))
}

func (x *txn) load(amount Amount) error {
	x.res.Amount = amount
	if amount == 0 {
		x.end(OutcomeDeclined, ReasonCardData, "a load of 0.00")
		return fmt.Errorf("%w: a load of 0.00", ErrAmount)
	}
	if !x.needStore() || !x.needHost() {
		return nil
	}
	if ok, err := x.begin(KindLoad); !ok || err != nil {
		return err
	}
	w := x.t.cfg.Wallet
	tid := x.tid()
	init, ok, err := x.initOnline(InitializeForLoad(w, x.t.cfg.KeyIndex, amount, tid))
	if !ok || err != nil {
		return err
	}
	rec := x.newRecord(KindLoad, tid)
	rec.Type, rec.Amount, rec.Serial, rec.BalanceBefore = w.loadType(), amount, init.OnlineSN, init.Balance
	if err := x.put(&rec); err != nil { // before the host can debit
		return err
	}
	resp, ok, err := x.authorize(&rec, &init)
	if !ok || err != nil {
		return err
	}
	rec.State, rec.MAC2, rec.Time = StateAuthorized, resp.MAC2, resp.Time
	if err := x.put(&rec); err != nil { // the host has debited: CREDIT is next
		return err
	}
	data, err := x.do(CreditForLoad(resp.Time, resp.MAC2))
	if err != nil {
		return x.lostOnline(&rec, err)
	}
	tac, err := oneMAC("CREDIT FOR LOAD", data)
	if err != nil {
		return x.lostOnline(&rec, err)
	}
	return x.applied(&rec, tac, MAC{}, init.Balance+amount)
}

// tid is the terminal ID sent to the card: the SAM's when there is one.
func (x *txn) tid() TID {
	if x.t.sam != nil {
		return x.t.sam.TerminalID()
	}
	return TID{}
}

// needHost ends the operation when there is no host.
func (x *txn) needHost() bool {
	if x.t.host == nil {
		x.end(OutcomeDeclined, ReasonHostUnreachable, "the terminal has no host")
		return false
	}
	return true
}

// initOnline sends INITIALIZE FOR LOAD or FOR UNLOAD and decodes the
// answer, ending the result on the card's refusals (9401 balance, 6985
// limit, ...).
func (x *txn) initOnline(c apdu.Command) (OnlineInit, bool, error) {
	data, err := x.do(c)
	if err != nil {
		if sw := swOf(err); sw != 0 {
			x.cardRefused(c, sw)
			return OnlineInit{}, false, nil
		}
		return OnlineInit{}, false, err
	}
	init, err := ParseOnlineInit(data)
	if err != nil {
		return OnlineInit{}, false, err
	}
	x.res.BalanceBefore, x.res.Serial, x.res.MAC1, x.res.TID = &init.Balance, init.OnlineSN, init.MAC1, x.tid()
	return init, true, nil
}

// cardRefused ends the result on a refusal of an INITIALIZE command.
func (x *txn) cardRefused(c apdu.Command, sw apdu.SW) {
	switch sw {
	case 0x9401:
		x.end(OutcomeDeclined, ReasonInsufficient, "%s: %s insufficient balance", CommandName(c), sw)
	case 0x9403:
		x.end(OutcomeDeclined, ReasonCardRefused, "%s: %s key not found", CommandName(c), sw)
	case apdu.SWConditionsNotSatisfied:
		x.end(OutcomeDeclined, ReasonCardRefused, "%s: %s (over the card's limit, locked, or the PIN not verified)", CommandName(c), sw)
	default:
		x.end(OutcomeDeclined, ReasonCardRefused, "%s: %s", CommandName(c), sw)
	}
}

// authorize asks the host for MAC2. On a decline nothing moved: the record
// is closed. When the host cannot be reached it may still have debited a
// load: the card's proof that it did not apply it is taken now and queued
// for the host.
func (x *txn) authorize(rec *Record, init *OnlineInit) (*HostResponse, bool, error) {
	req := &HostRequest{ID: rec.ID, Kind: rec.Kind, ASN: x.info.ASN, Wallet: rec.Wallet, TID: rec.TID, Type: rec.Type,
		Amount: rec.Amount, Balance: init.Balance, OnlineSN: init.OnlineSN, KeyVersion: init.KeyVersion, Alg: init.Alg,
		Random: init.Random, MAC1: init.MAC1}
	t0 := time.Now()
	resp, err := x.t.host.Authorize(x.ctx, req)
	x.outsideSince(t0)
	var de *DeclineError
	switch {
	case err == nil && resp.Amount != rec.Amount:
		// A host that answers another amount than asked is not trusted
		// for its MAC2 either: the card would be credited what the MAC2
		// covers, not what the reserve was debited.
		err = fmt.Errorf("%w: the host answered %s for %s", ErrHost, resp.Amount, rec.Amount)
	case err == nil:
		x.res.MAC2, x.res.Time = resp.MAC2, resp.Time
		return resp, true, nil
	case errors.As(err, &de) || errors.Is(err, ErrDeclined):
		rec.State, rec.Evidence = StateNotApplied, "declined by the host: "+err.Error()
		x.end(OutcomeDeclined, ReasonHostDeclined, "%v", err)
		return nil, false, x.put(rec)
	}
	x.end(OutcomeDeclined, ReasonHostUnreachable, "the host did not answer: %v", err)
	if rec.Kind != KindLoad {
		rec.State, rec.Evidence = StateNotApplied, "no MAC2 from the host: the card was never asked"
		return nil, false, x.put(rec)
	}
	// The reserve may have been debited: keep the proof that the card
	// did not apply the load, for the host to give the money back.
	if err := x.settleOnline(rec); err != nil {
		return nil, false, err
	}
	return nil, false, nil
}

// applied closes a load or unload the card applied (tac for a load, mac3
// for an unload), reads the balance and hands the evidence to the host.
func (x *txn) applied(rec *Record, tac, mac3 MAC, want Amount) error {
	rec.State, rec.TAC, rec.MAC3, rec.Host = StateApplied, tac, mac3, HostPending
	rec.Evidence = "the card's answer"
	if err := x.put(rec); err != nil {
		return err
	}
	x.res.TAC, x.res.MAC3 = tac, mac3
	x.end(OutcomeApproved, ReasonApproved, "the card applied the %s of %s", rec.Kind, rec.Amount)
	x.balanceAfter(rec.Wallet, want)
	if x.res.BalanceAfter != nil {
		rec.BalanceAfter = x.res.BalanceAfter
	}
	x.res.HostConfirmed = x.confirmOrProve(rec) == nil
	return nil
}

// confirmOrProve confirms rec with the host and, when the host refuses the
// card's answer as evidence (garbled on its way), asks the card, still
// present, for its proof and confirms again.
func (x *txn) confirmOrProve(rec *Record) error {
	err := x.confirm(rec)
	if !errors.Is(err, ErrEvidence) {
		return err
	}
	if perr := x.reprove(rec); perr != nil {
		return err
	}
	if rec.Host != HostConfirmed {
		return err
	}
	x.res.TAC, x.res.MAC3 = rec.TAC, rec.MAC3
	return nil
}

// lostOnline handles a CREDIT FOR LOAD or DEBIT FOR UNLOAD (or ONLINE
// UNLOCK) whose answer is not the card's clear word: a status word, a
// malformed answer, or no answer. The card's online serial decides; when
// the card cannot be asked the record stays for its next presentation.
func (x *txn) lostOnline(rec *Record, cause error) error {
	if err := x.settleOnline(rec); err != nil || !rec.State.final() {
		if done, gerr := x.garbledCard(rec); done || gerr != nil {
			return gerr
		}
		x.end(OutcomePending, ReasonLost, "the card's answer was lost (%v): the %s is settled when the card comes back", cause, rec.Kind)
		if transportFailed(cause) {
			return cause
		}
		return err
	}
	switch rec.State {
	case StateApplied:
		x.res.TAC, x.res.MAC3 = rec.TAC, rec.MAC3
		x.end(OutcomeApproved, ReasonApproved, "the card applied the %s (proved by its counter after: %v)", rec.Kind, cause)
		x.res.BalanceAfter = rec.BalanceAfter
	default:
		x.end(OutcomeDeclined, ReasonCardRefused, "the card did not apply the %s: %v", rec.Kind, cause)
	}
	x.res.HostConfirmed = rec.Host == HostConfirmed
	return nil
}
