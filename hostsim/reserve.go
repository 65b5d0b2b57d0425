// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/purse"
)

// Reserve is the simulated issuer of fuel cards: the reserve accounts
// (备付金) that pay a card's loads (圈存) and take its unloads (圈提), and
// the escape bills (逃卡) stations upload, from which it unlocks a grey
// card online (联机解扣). It implements purse.Host and checks every MAC
// with the card keys it derives from its master keys and the card's ASN:
//
//   - Authorize checks the card's MAC1 (a wrong one is declined "05" and
//     moves nothing); a load debits the reserve there and then ("51" when
//     it cannot), an unload only answers MAC2, an online unlock answers the
//     amount of the station's bill for that lock ("25" when none was
//     uploaded, unless forced unlocks are allowed: then 0.00);
//   - Confirm takes the card's evidence: a load's TAC (checked; the
//     debit stands), or its proof that it did not apply the load (a fresh
//     MAC1 over the unchanged online serial: the debit is given back); an
//     unload's MAC3 (checked: the reserve is credited); an online unlock's
//     MAC3 (checked: the bill is settled). Evidence that does not verify is
//     refused with purse.ErrEvidence and changes nothing.
//
// Both are idempotent for a request ID. The reserve never logs; ASNs in its
// ledger are masked.
type Reserve struct {
	mu          sync.Mutex
	masters     ReserveKeys
	accounts    map[purse.ASN]*purse.Amount
	auths       map[string]*reserveAuth
	bills       map[billKey]*EscapeBill
	unreachable bool
	forced      bool
	now         func() time.Time
	ledger      []ReserveEntry
	ledgerBase  int            // entries written before Restore
	carried     []AccountState // Restore's accounts of cards this reserve has no account for
}

// ReserveKeys are the issuer master keys (16 bytes each) the reserve
// derives card keys from: load (DLK), unload (DULK), TAC (DTK) and online
// unlock.
type ReserveKeys struct {
	Load, Unload, TAC, Unlock []byte
}

// ReserveKeysFromHex decodes the four master keys from hex (as in a
// cardsim fuel-card profile's "keys").
func ReserveKeysFromHex(load, unload, tac, unlock string) (ReserveKeys, error) {
	var k ReserveKeys
	for _, f := range []struct {
		s   string
		dst *[]byte
	}{{load, &k.Load}, {unload, &k.Unload}, {tac, &k.TAC}, {unlock, &k.Unlock}} {
		b, err := hex.DecodeString(f.s)
		if err != nil || len(b) != keys.KeyLen {
			return ReserveKeys{}, fmt.Errorf("%w: master key %q", ErrAccount, f.s)
		}
		*f.dst = b
	}
	return k, nil
}

// ReserveFor returns a reserve host with the master keys of the fuel-card
// profile p and an account of balance for its card, and the card's ASN.
func ReserveFor(p *cardsim.PurseProfile, balance purse.Amount) (*Reserve, purse.ASN, error) {
	k := p.Keys
	rk, err := ReserveKeysFromHex(k.Load, k.Unload, k.TAC, k.Unlock)
	if err != nil {
		return nil, purse.ASN{}, err
	}
	asn, err := purse.ParseASN(p.ASN)
	if err != nil {
		return nil, purse.ASN{}, fmt.Errorf("%w: %w", ErrAccount, err)
	}
	r := NewReserve(rk)
	r.AddAccount(asn, balance)
	return r, asn, nil
}

// EscapeBill is what a station uploads of a card left grey at its pump:
// the card, the terminal that locked, the lock's CTC and what the card owes.
type EscapeBill struct {
	ASN    purse.ASN
	TID    purse.TID
	CTC    uint16
	Amount purse.Amount
	// Settled says an online unlock has collected it.
	Settled bool
}

type billKey struct {
	asn purse.ASN
	tid purse.TID
	ctc uint16
}

// ReserveEntry is one line of the reserve's ledger.
type ReserveEntry struct {
	Seq    int
	ID     string
	Kind   purse.Kind
	ASN    string // masked
	Amount purse.Amount
	// Debit and Credit are what the reserve account lost or gained.
	Debit, Credit purse.Amount
	Code          string // "00" or the decline code
	Note          string
}

// reserveAuth is one Authorize the reserve answered.
type reserveAuth struct {
	req      purse.HostRequest
	resp     purse.HostResponse
	sk       []byte
	debited  purse.Amount // what a load took from the reserve
	credited bool         // an unload paid in
	reversed bool         // a load given back
	closed   bool         // confirmed (applied or not)
}

// NewReserve returns a reserve host with the given master keys and no
// accounts. Its clock is time.Now (SetClock changes it).
func NewReserve(k ReserveKeys) *Reserve {
	return &Reserve{masters: k, accounts: map[purse.ASN]*purse.Amount{}, auths: map[string]*reserveAuth{},
		bills: map[billKey]*EscapeBill{}, now: time.Now}
}

// SetClock sets the host's clock (the date and time MAC2 covers).
func (r *Reserve) SetClock(now func() time.Time) { r.mu.Lock(); r.now = now; r.mu.Unlock() }

// AddAccount opens the card's reserve account with a balance.
func (r *Reserve) AddAccount(asn purse.ASN, balance purse.Amount) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := balance
	r.accounts[asn] = &b
}

// Balance returns the card's reserve balance (0 without an account).
func (r *Reserve) Balance(asn purse.ASN) purse.Amount {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.accounts[asn]; b != nil {
		return *b
	}
	return 0
}

// SetUnreachable makes every call fail as if the host were down.
func (r *Reserve) SetUnreachable(down bool) { r.mu.Lock(); r.unreachable = down; r.mu.Unlock() }

// AllowForcedUnlock lets an online unlock without a bill go through for
// 0.00 (a forced unlock [JJ]); by default it is declined.
func (r *Reserve) AllowForcedUnlock(yes bool) { r.mu.Lock(); r.forced = yes; r.mu.Unlock() }

// AddEscapeBill records a station's escape bill.
func (r *Reserve) AddEscapeBill(b EscapeBill) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bills[billKey{b.ASN, b.TID, b.CTC}] = &b
}

// Bill returns the escape bill of a lock.
func (r *Reserve) Bill(asn purse.ASN, tid purse.TID, ctc uint16) (EscapeBill, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bills[billKey{asn, tid, ctc}]
	if !ok {
		return EscapeBill{}, false
	}
	return *b, true
}

// Ledger returns a copy of the ledger: the entries written since
// NewReserve, or since Restore (whose entries Seq goes on numbering).
func (r *Reserve) Ledger() []ReserveEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReserveEntry(nil), r.ledger...)
}

func (r *Reserve) log(e ReserveEntry) {
	e.Seq = r.ledgerBase + len(r.ledger) + 1
	r.ledger = append(r.ledger, e)
}

func decline(code, format string, args ...any) error {
	return &purse.DeclineError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// cardKey derives the card's key from a master key.
func cardKey(master []byte, asn purse.ASN) ([]byte, error) {
	f := asn.Factor()
	return keys.DiversifyPurseKey(master, f[:])
}

var _ purse.Host = (*Reserve)(nil)

// Authorize checks MAC1 and answers MAC2 (purse.Host).
func (r *Reserve) Authorize(ctx context.Context, req *purse.HostRequest) (*purse.HostResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unreachable {
		return nil, ErrUnreachable
	}
	if a, ok := r.auths[req.ID]; ok {
		if !sameRequest(&a.req, req) {
			return nil, decline("94", "request %s again with other data", req.ID)
		}
		resp := a.resp
		return &resp, nil // a retry: nothing moves twice
	}
	bal := r.accounts[req.ASN]
	if bal == nil {
		r.log(ReserveEntry{ID: req.ID, Kind: req.Kind, ASN: req.ASN.String(), Amount: req.Amount, Code: "14"})
		return nil, decline("14", "no reserve account for card %s", req.ASN)
	}
	a, err := r.checkMAC1(req)
	if err != nil {
		r.log(ReserveEntry{ID: req.ID, Kind: req.Kind, ASN: req.ASN.String(), Amount: req.Amount, Code: "05", Note: err.Error()})
		return nil, err
	}
	switch req.Kind {
	case purse.KindLoad:
		if *bal < req.Amount {
			r.log(ReserveEntry{ID: req.ID, Kind: req.Kind, ASN: req.ASN.String(), Amount: req.Amount, Code: "51"})
			return nil, decline("51", "the reserve holds %s, less than %s", *bal, req.Amount)
		}
		*bal -= req.Amount
		a.debited = req.Amount
	case purse.KindOnlineUnlock:
		if err := r.unlockAmount(a, req); err != nil {
			return nil, err
		}
	}
	if err := r.answer(a); err != nil {
		return nil, err
	}
	r.auths[req.ID] = a
	r.log(ReserveEntry{ID: req.ID, Kind: req.Kind, ASN: req.ASN.String(), Amount: a.resp.Amount, Debit: a.debited, Code: "00"})
	resp := a.resp
	return &resp, nil
}

// checkMAC1 derives the session key and verifies the card's MAC1.
func (r *Reserve) checkMAC1(req *purse.HostRequest) (*reserveAuth, error) {
	master, data := r.masters.Load, keys.OnlineMAC1Data(uint32(req.Balance), uint32(req.Amount), byte(req.Type), req.TID[:])
	switch req.Kind {
	case purse.KindUnload:
		master = r.masters.Unload
	case purse.KindOnlineUnlock:
		master, data = r.masters.Unlock, keys.UnlockMAC1Data(uint32(req.Balance), req.CTC, byte(req.Type), req.TID[:])
	case purse.KindLoad:
	default:
		return nil, decline("12", "kind %q", req.Kind)
	}
	k, err := cardKey(master, req.ASN)
	if err != nil {
		return nil, decline("96", "%v", err)
	}
	sk, err := keys.PurseSessionKey(k, keys.OnlineSessionInput(req.Random, req.OnlineSN))
	if err != nil {
		return nil, decline("96", "%v", err)
	}
	if ok, _ := keys.VerifyPurseMAC(sk, data, req.MAC1[:]); !ok {
		return nil, decline("05", "MAC1 of card %s does not verify", req.ASN)
	}
	return &reserveAuth{req: *req, sk: sk}, nil
}

// unlockAmount finds the bill of the lock the grey status names.
func (r *Reserve) unlockAmount(a *reserveAuth, req *purse.HostRequest) error {
	if req.Grey == nil || req.Grey.Status != purse.GreyLocked {
		return decline("12", "online unlock of a card that does not say it is grey")
	}
	b, ok := r.bills[billKey{req.ASN, req.Grey.TID, req.Grey.CTC}]
	switch {
	case ok && !b.Settled:
		a.resp.Amount = b.Amount
	case r.forced:
		a.resp.Amount = 0
	default:
		r.log(ReserveEntry{ID: req.ID, Kind: req.Kind, ASN: req.ASN.String(), Code: "25",
			Note: fmt.Sprintf("no escape bill from %s for CTC %d", req.Grey.TID, req.Grey.CTC)})
		return decline("25", "no escape bill from terminal %s for this lock yet", req.Grey.TID)
	}
	if a.resp.Amount > req.Balance {
		return decline("51", "the card holds %s, less than the bill's %s", req.Balance, a.resp.Amount)
	}
	return nil
}

// answer computes MAC2 over amount ‖ type ‖ TID ‖ host time.
func (r *Reserve) answer(a *reserveAuth) error {
	if a.req.Kind != purse.KindOnlineUnlock {
		a.resp.Amount = a.req.Amount
	}
	a.resp.Time = purse.DateTimeOf(r.now())
	mac2, err := keys.PurseMAC(a.sk, keys.HostMAC2Data(uint32(a.resp.Amount), byte(a.req.Type), a.req.TID[:], a.resp.Time[:]))
	if err != nil {
		return decline("96", "%v", err)
	}
	a.resp.MAC2 = purse.MAC(mac2)
	return nil
}

// sameRequest reports whether two requests carry the same data.
func sameRequest(a, b *purse.HostRequest) bool {
	x, y := *a, *b
	x.Grey, y.Grey = nil, nil
	if x != y || (a.Grey == nil) != (b.Grey == nil) {
		return false
	}
	return a.Grey == nil || *a.Grey == *b.Grey
}
