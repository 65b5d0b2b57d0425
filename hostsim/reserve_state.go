// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/go-pboc/pboc/purse"
)

// ReserveState is what a Reserve keeps between the runs of a program that
// simulates one issuer across runs (pboc purse --state): every account's
// balance, the authorisations it answered — so that a request ID used again
// is recognised (its retry answered the same, other data under it declined
// "94") and a confirmation a terminal queued in an earlier run finds what
// it confirms —, the escape bills, and how many ledger entries it wrote
// (the next entry's Seq follows). A card is named by AccountID and masked,
// never in clear, and no session key is kept: Restore derives it again
// from the request, checking its MAC1.
type ReserveState struct {
	Accounts []AccountState `json:"accounts"`
	// Ledger is the number of ledger entries written so far.
	Ledger int `json:"ledger"`
}

// AccountState is one card's reserve account.
type AccountState struct {
	// ID is the reserve's AccountID of the card; Card its ASN masked,
	// for people.
	ID      string       `json:"id"`
	Card    string       `json:"card"`
	Balance purse.Amount `json:"balance"`
	// Auths are the authorisations answered for the card, Bills its
	// stations' escape bills.
	Auths []AuthState `json:"authorizations,omitempty"`
	Bills []BillState `json:"escape_bills,omitempty"`
}

// AuthState is one answered Authorize and what followed it.
type AuthState struct {
	Request  purse.HostRequest  `json:"request"`
	Response purse.HostResponse `json:"response"`
	// Debited is what a load took from the reserve; Credited says an
	// unload paid in, Reversed a load given back, Closed that the
	// operation was confirmed (applied or not).
	Debited  purse.Amount `json:"debited,omitempty"`
	Credited bool         `json:"credited,omitempty"`
	Reversed bool         `json:"reversed,omitempty"`
	Closed   bool         `json:"closed,omitempty"`
}

// BillState is one escape bill of the card.
type BillState struct {
	TID     purse.TID    `json:"tid"`
	CTC     uint16       `json:"ctc"`
	Amount  purse.Amount `json:"amount"`
	Settled bool         `json:"settled,omitempty"`
}

// AccountID is the reserve's name for the card's account in a
// ReserveState: an HMAC-SHA-256 of the ASN under a key derived from the
// reserve's master keys (which whoever reads the state holds anyway), so
// that the state file holds no card number.
func (r *Reserve) AccountID(asn purse.ASN) string {
	k := sha256.New()
	k.Write([]byte("hostsim reserve account"))
	for _, m := range [][]byte{r.masters.Load, r.masters.Unload, r.masters.TAC, r.masters.Unlock} {
		k.Write(m)
	}
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(asn[:])
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// State returns the reserve's state, the accounts in AccountID order
// (and those Restore carried without knowing their card, as they were).
func (r *Reserve) State() ReserveState {
	r.mu.Lock()
	defer r.mu.Unlock()
	byASN := map[purse.ASN]*AccountState{}
	for asn, bal := range r.accounts {
		byASN[asn] = &AccountState{ID: r.AccountID(asn), Card: asn.String(), Balance: *bal}
	}
	for _, a := range r.auths {
		if acc := byASN[a.req.ASN]; acc != nil {
			acc.Auths = append(acc.Auths, AuthState{Request: a.req, Response: a.resp, Debited: a.debited,
				Credited: a.credited, Reversed: a.reversed, Closed: a.closed})
		}
	}
	for k, b := range r.bills {
		if acc := byASN[k.asn]; acc != nil {
			acc.Bills = append(acc.Bills, BillState{TID: b.TID, CTC: b.CTC, Amount: b.Amount, Settled: b.Settled})
		}
	}
	st := ReserveState{Ledger: r.ledgerBase + len(r.ledger), Accounts: append([]AccountState(nil), r.carried...)}
	for _, acc := range byASN {
		sort.Slice(acc.Auths, func(i, j int) bool { return acc.Auths[i].Request.ID < acc.Auths[j].Request.ID })
		sort.Slice(acc.Bills, func(i, j int) bool {
			x, y := acc.Bills[i], acc.Bills[j]
			return x.TID.String() < y.TID.String() || x.TID == y.TID && x.CTC < y.CTC
		})
		st.Accounts = append(st.Accounts, *acc)
	}
	sort.Slice(st.Accounts, func(i, j int) bool { return st.Accounts[i].ID < st.Accounts[j].ID })
	return st
}

// Restore continues from st: each account of st whose card the reserve
// has an account for (AddAccount, ReserveFor: the balance given there is
// only an opening balance) takes st's balance, authorisations and bills;
// the others are kept as they are and given back by State. The ledger
// numbering continues from st.Ledger. An authorisation whose MAC1 does not
// verify under the reserve's keys (a state of other keys, or altered) is
// an error wrapping ErrAccount, and the reserve is left unchanged.
func (r *Reserve) Restore(st ReserveState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	byID := map[string]purse.ASN{}
	for asn := range r.accounts {
		byID[r.AccountID(asn)] = asn
	}
	balances := map[purse.ASN]purse.Amount{}
	auths := map[string]*reserveAuth{}
	bills := map[billKey]*EscapeBill{}
	var carried []AccountState
	for _, acc := range st.Accounts {
		asn, ok := byID[acc.ID]
		if !ok {
			carried = append(carried, acc)
			continue
		}
		balances[asn] = acc.Balance
		for _, s := range acc.Auths {
			req := s.Request
			req.ASN = asn
			a, err := r.checkMAC1(&req)
			if err != nil {
				return fmt.Errorf("%w: authorisation %s of card %s: %w", ErrAccount, req.ID, acc.Card, err)
			}
			a.resp, a.debited, a.credited, a.reversed, a.closed = s.Response, s.Debited, s.Credited, s.Reversed, s.Closed
			auths[req.ID] = a
		}
		for _, b := range acc.Bills {
			bills[billKey{asn, b.TID, b.CTC}] = &EscapeBill{ASN: asn, TID: b.TID, CTC: b.CTC, Amount: b.Amount, Settled: b.Settled}
		}
	}
	if st.Ledger < 0 {
		return fmt.Errorf("%w: ledger count %d", ErrAccount, st.Ledger)
	}
	for asn, b := range balances {
		*r.accounts[asn] = b
	}
	for id, a := range auths {
		r.auths[id] = a
	}
	for k, b := range bills {
		r.bills[k] = b
	}
	r.carried, r.ledgerBase, r.ledger = carried, st.Ledger, nil
	return nil
}
