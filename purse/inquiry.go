// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"

	"github.com/go-pboc/pboc/apdu"
)

// WalletBalance is one wallet's balance.
type WalletBalance struct {
	Wallet  Wallet `json:"wallet"`
	Balance Amount `json:"balance"`
}

// Inquiry is what Inquire read from the card.
type Inquiry struct {
	// Balances lists the wallets the card answered GET BALANCE for.
	Balances []WalletBalance `json:"balances"`
	// Grey is the grey status (nil for a card without the command).
	Grey *GreyStatus `json:"grey,omitempty"`
	// Cardholder is EF16 (nil when the card refused it).
	Cardholder *Cardholder `json:"-"`
	// Records is EF18, newest first.
	Records []CardRecord `json:"records"`
}

// Inquire reads the card without moving money (balance and record
// inquiry):
//
//	SELECT, READ BINARY EF15 [, VERIFY when a PIN pad is set: the ED's
//	balance needs the PIN]
//	GET BALANCE of the EP and the ED
//	GET GREY STATUS
//	READ BINARY EF16 and READ RECORD EF18 1..10, with records set
//
// Open records of the card at this terminal are settled on the way (the
// inquiry is a presentation like any other).
func (t *Terminal) Inquire(ctx context.Context, card apdu.Transport, records bool) (*Result, *Inquiry, error) {
	x := t.newTxn(ctx, card, KindInquiry)
	q := &Inquiry{}
	err := x.inquire(q, records)
	res, err := x.finish(err)
	return res, q, err
}

func (x *txn) inquire(q *Inquiry, records bool) error {
	ok, err := x.open()
	if !ok || err != nil {
		return err
	}
	pin := false
	if x.t.pad != nil {
		if pin, err = x.verifyPIN(); err != nil {
			return err
		}
	}
	if x.t.store != nil {
		if err := x.settleCard(); err != nil {
			return err
		}
	}
	for _, w := range []Wallet{EP, ED} {
		if w == ED && !pin {
			continue
		}
		b, err := x.readBalance(w)
		if transportFailed(err) {
			return err
		}
		if err == nil {
			q.Balances = append(q.Balances, WalletBalance{w, *b})
			if w == x.t.cfg.Wallet {
				x.res.BalanceAfter = b
			}
		}
	}
	if g, err := x.greyStatus(); err == nil {
		q.Grey = &g
	} else if transportFailed(err) {
		return err
	}
	if records {
		if err := x.inquireRecords(q); err != nil {
			return err
		}
	}
	x.end(OutcomeDone, ReasonInquiry, "read the card")
	return nil
}

func (x *txn) inquireRecords(q *Inquiry) error {
	if data, err := x.do(ReadBinary(sfiEF16, lenEF16)); err == nil {
		if h, err := ParseCardholder(data); err == nil {
			q.Cardholder = &h
		}
	} else if transportFailed(err) {
		return err
	}
	recs, err := x.readRecords()
	if err != nil {
		return err
	}
	q.Records, x.res.Records = recs, recs
	return nil
}
