// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/tlv"
)

// What settles what. The kernel acts on three grades of evidence, and each
// may settle only what its grade allows (the README's "which evidence
// settles what" table):
//
//   - A cryptogram of this transaction, whose request fits what the
//     terminal asked (a TC for a TC request, on a path where ODA passed when
//     the path requires it) approves a sale. Nothing else ever approves.
//   - Authenticated card state — the EC balance that the card MACs into the
//     issuer discretionary data of a cryptogram of this presentation, after
//     ODA passed — may move money at the host (a script reversal), because
//     the issuer can verify it: the request carries it as Evidence and the
//     host checks the cryptogram and the MAC before it gives anything back.
//   - Unauthenticated card data — log entries, GET DATA balances, a status
//     word — may settle the terminal's own records (a torn sale found in
//     the card's log becomes a discrepancy record for reconciliation; a
//     sale shown conclusively absent is forgotten), but it never approves,
//     never refunds, never asks the acquirer for money.

// Evidence is what a card authenticated in one presentation: a cryptogram
// the issuer can verify, with the data it covers, and the EC balance the
// card MACed into its issuer application data. The kernel attaches it to a
// request whose money movement depends on the card's state (a script
// reversal); a host must verify Field55's cryptogram and the balance MAC
// before it acts, and refuse when they do not verify.
type Evidence struct {
	// Field55 is the cryptogram (9F26, 9F27, 9F36) with the data it covers
	// and the IAD (9F10) holding the MACed balance, as ISO 8583 field 55.
	Field55 []byte
	// ATC is the card's ATC of the cryptogram.
	ATC uint16
	// Balance is the EC balance in the IAD's issuer discretionary data;
	// Deducted is the amount that cryptogram itself took (an offline EC
	// TC), so Balance + Deducted is what the card held before it.
	Balance, Deducted Amount
	// ODA is the offline data authentication that passed in that
	// presentation.
	ODA ODAMethod
}

// BalanceBefore is the EC balance the card held before the evidence's
// cryptogram.
func (e *Evidence) BalanceBefore() Amount { return e.Balance + e.Deducted }

// iadBalance returns the EC balance in PBOC issuer application data: 9F10
// is a length byte (07: DKI, CVN, CVR (4), algorithm), that many bytes,
// then the issuer discretionary data — its own length byte, ID 01, the
// balance (5 bytes BCD) and a 4-byte MAC. Each part is found by its
// length byte, so a longer first part (a longer CVR) is passed over. What
// if it is a lie? The terminal cannot check the MAC: a balance read here
// reports what the card says (never more), and is evidence only for an
// issuer that verifies it.
func iadBalance(iad []byte) (Amount, bool) {
	if len(iad) < 1 || int(iad[0]) < 7 || 1+int(iad[0]) > len(iad) {
		return 0, false
	}
	idd := iad[1+int(iad[0]):]
	if len(idd) < 11 || int(idd[0]) < 10 || int(idd[0])+1 > len(idd) || idd[1] != 0x01 {
		return 0, false
	}
	n, err := bcd.Decode(idd[2:7])
	if err != nil {
		return 0, false
	}
	return Amount(n), true
}

// cardAuthenticated reports that the card proved in this presentation that
// it holds the private key its certificates name: DDA or fDDA verified its
// signature over the terminal's unpredictable number, or CDA verified the
// signature on a cryptogram. SDA does not count: static data can be copied
// onto an emulator with the PAN. What money an unauthenticated card can
// move: none (see the table above).
func (t *txn) cardAuthenticated() bool {
	tvr := t.res.TVR
	if tvr.Has(TVRODANotPerformed) || tvr.Has(TVRDDAFailed) || tvr.Has(TVRCDAFailed) || t.cdaFailed {
		return false
	}
	switch t.res.ODA {
	case ODADDA, ODAfDDA:
		return t.data.val(0x9F4C) != nil // the ICC dynamic number of a verified signature
	case ODACDA:
		return t.cdaVerified
	}
	return false
}

// evidenceTags are the data that let an issuer verify a cryptogram and
// the balance in its IAD.
var evidenceTags = []tlv.Tag{
	0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A,
	0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41,
}

// evidence returns the card's authenticated state from the cryptogram of
// this presentation, or nil when there is none worth the name: ODA did not
// pass, no GENERATE AC answered, or the IAD carries no balance.
func (t *txn) evidence() *Evidence {
	if !t.cardAuthenticated() || t.res.Cryptogram == nil || t.ec.second {
		return nil
	}
	bal, ok := iadBalance(t.res.IAD)
	if !ok {
		return nil
	}
	e := &Evidence{Field55: t.field55(evidenceTags), ATC: t.res.ATC, Balance: bal, ODA: t.res.ODA}
	if t.res.CID&0xC0 == apdu.ACTypeTC && t.res.ECPath && !t.secondAC {
		e.Deducted = t.res.Amount
	}
	return e
}
