// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"encoding/hex"
	"encoding/json"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/keys"
)

// The fuel card's grey lock (PURSE-NOTES §5): GET GREY STATUS, INITIALIZE
// FOR GREY LOCK, GREY LOCK, DEBIT FOR UNLOCK, INITIALIZE FOR ONLINE UNLOCK
// and ONLINE UNLOCK. The lock's session key and counters are kept in the
// card's non-volatile state, so that the terminal that locked can complete
// the sale (补扣) after a power cycle.

const (
	greyNone      byte = 0x00
	greyLocked    byte = 0x01
	greyTACUnread byte = 0x10
	typeUnlock    byte = 0x93
	typeOnline    byte = 0x95
)

// greyStatus is E0 CA P1 00 (read) or 01 (read, then clear the TAC-unread
// flag): status ‖ type ‖ ET id ‖ balance ‖ CTC ‖ TID ‖ datetime ‖ word ‖ TAC.
func (p *PurseCard) greyStatus(c apdu.Command) apdu.Response {
	if (c.P1 != 0 && c.P1 != 1) || c.P2 != 0 || len(c.Data) != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	g := p.grey
	d := make([]byte, 0, 30)
	if g.status == greyNone {
		d = append(d, make([]byte, 30)...)
	} else {
		d = append(d, g.status, g.typ, g.wallet)
		d = append(d, u32(g.balance)...)
		d = append(d, byte(g.ctc>>8), byte(g.ctc))
		d = append(d, g.tid[:]...)
		d = append(d, g.time[:]...)
		d = append(d, g.word[:]...)
		d = append(d, g.tac[:]...)
	}
	if c.P1 == 1 && g.status == greyTACUnread {
		p.grey = purseGrey{}
	}
	return apdu.Response{Data: d, SW: apdu.SWSuccess}
}

// initGrey is E0 7A: P1 08 INITIALIZE FOR GREY LOCK (key index ‖ TID →
// as INITIALIZE FOR PURCHASE), P1 09 INITIALIZE FOR ONLINE UNLOCK (→
// balance ‖ CTC ‖ online serial ‖ key version ‖ alg ‖ random ‖ MAC1).
func (p *PurseCard) initGrey(c apdu.Command) apdu.Response {
	w := p.wallet(c.P2)
	if (c.P1 != 0x08 && c.P1 != 0x09) || w == nil {
		return sw(apdu.SWIncorrectP1P2)
	}
	if len(c.Data) != 7 {
		return sw(apdu.SWWrongLength)
	}
	p.s.init = nil
	if c.Data[0] != p.c.keyIndex {
		return sw(swKeyNotFound)
	}
	in := &purseInit{wallet: c.P2, random: p.random()}
	copy(in.tid[:], c.Data[1:7])
	if c.P1 == 0x09 {
		if p.grey.status != greyLocked || p.grey.wallet != c.P2 {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		return p.initUnlockAnswer(w, in)
	}
	if p.grey.status == greyLocked {
		return sw(apdu.SWConditionsNotSatisfied) // already grey: unlock first
	}
	if p.prof.PINForGrey && !p.s.pinOK {
		return sw(apdu.SWSecurityNotSatisfied)
	}
	in.op, in.typ = purseOpGrey, p.c.greyType
	return p.initOfflineAnswer(w, in)
}

func (p *PurseCard) initUnlockAnswer(w *purseWallet, in *purseInit) apdu.Response {
	sk, err := keys.PurseSessionKey(p.keys[keyUnlock], keys.OnlineSessionInput(in.random, w.onlineSN))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	mac1, err := keys.PurseMAC(sk, keys.UnlockMAC1Data(w.balance, w.offlineSN, typeOnline, in.tid[:]))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	in.op, in.typ, in.sk, in.balance, in.serial = purseOpUnlock, typeOnline, sk, w.balance, w.onlineSN
	p.s.init = in
	d := append(u32(w.balance), byte(w.offlineSN>>8), byte(w.offlineSN), byte(w.onlineSN>>8), byte(w.onlineSN), p.c.keyVersion, p.c.alg)
	d = append(append(d, in.random[:]...), mac1...)
	return apdu.Response{Data: d, SW: apdu.SWSuccess}
}

// sessionKey is the grey lock's SESPK (PurseVariant.GreySession).
func (p *PurseCard) sessionKey(cardRand [4]byte, ctc uint16, ttc uint32, termRand [4]byte) ([]byte, error) {
	if p.c.twoStep {
		return keys.GreyLockSessionKey(p.keys[keyPurchase], cardRand, ctc, ttc, termRand)
	}
	return keys.PurseSessionKey(p.keys[keyPurchase], keys.OfflineSessionInput(cardRand, ctc, ttc))
}

// greyLock is E0 7C 08 00: TTC ‖ terminal random ‖ datetime ‖ MAC1 →
// GTAC ‖ MAC2. The card is grey from here.
func (p *PurseCard) greyLock(c apdu.Command) apdu.Response {
	in, refused := p.follow(c, 0x08, 19, purseOpGrey)
	if in == nil {
		return refused
	}
	ttc, termRand, when, mac1 := be32(c.Data[:4]), [4]byte(c.Data[4:8]), c.Data[8:15], c.Data[15:19]
	sk, err := p.sessionKey(in.random, in.serial, ttc, termRand)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	if ok, _ := keys.VerifyPurseMAC(sk, keys.GreyLockMAC1Data(in.typ, in.tid[:], when), mac1); !ok {
		return sw(swMACError)
	}
	w := p.c.wallets[in.wallet]
	mac2, err := keys.PurseMAC(sk, keys.GreyLockMAC2Data(w.balance))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	gtac, err := keys.PurseTAC(p.keys[keyTAC], keys.GTACData(w.balance, byte(0x91), in.tid[:], ttc, when))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	p.grey = purseGrey{status: greyLocked, typ: 0x91, wallet: in.wallet, balance: w.balance, ctc: in.serial, ttc: ttc,
		tid: in.tid, time: [7]byte(when), word: [4]byte(mac2), tac: [4]byte(gtac), cardRand: in.random, termRand: termRand}
	if p.c.nextCounters {
		w.offlineSN++ // the lock is a transaction of its own
	}
	return apdu.Response{Data: append(gtac, mac2...), SW: apdu.SWSuccess}
}

// unlock is E0 7E: P1 08 DEBIT FOR UNLOCK (amount ‖ CTC ‖ TID ‖ TTC ‖
// datetime ‖ GMAC → TAC), P1 09 ONLINE UNLOCK (amount ‖ datetime ‖ MAC2 →
// MAC3).
func (p *PurseCard) unlock(c apdu.Command) apdu.Response {
	switch {
	case c.P1 == 0x08 && p.wallet(c.P2) != nil:
		if len(c.Data) != 27 {
			return sw(apdu.SWWrongLength)
		}
		return p.debitForUnlock(c.P2, c.Data)
	case c.P1 == 0x09:
		in, refused := p.follow(c, 0x09, 15, purseOpUnlock)
		if in == nil {
			return refused
		}
		return p.onlineUnlock(in, c.Data)
	}
	return sw(apdu.SWIncorrectP1P2)
}

// debitForUnlock completes the lock for the amount the GMAC covers; only
// the terminal that locked (its TID, the lock's counters) can.
func (p *PurseCard) debitForUnlock(wallet byte, d []byte) apdu.Response {
	g := p.grey
	if g.status != greyLocked || g.wallet != wallet {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	amount, ctc, tid, ttc, when, gmac := be32(d[:4]), uint16(d[4])<<8|uint16(d[5]), [6]byte(d[6:12]), be32(d[12:16]), d[16:23], d[23:27]
	wantCTC, wantTTC := g.ctc, g.ttc
	if p.c.nextCounters {
		wantCTC, wantTTC = g.ctc+1, g.ttc+1
	}
	if ctc != wantCTC || ttc != wantTTC || tid != g.tid {
		return sw(apdu.SWWrongData)
	}
	sk, err := p.sessionKey(g.cardRand, g.ctc, g.ttc, g.termRand)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	factor := p.c.asn[2:]
	if ok, _ := keys.VerifyPurseMAC(sk, keys.GMACData(typeUnlock, factor, g.ctc, amount), gmac); !ok {
		return sw(swMACError)
	}
	w := p.c.wallets[wallet]
	if uint64(amount) > uint64(w.balance)+uint64(w.overdraft) {
		return sw(swInsufficient)
	}
	w.balance -= min(amount, w.balance)
	w.offlineSN++
	tac, err := keys.PurseTAC(p.keys[keyTAC], keys.OfflineTACData(amount, typeUnlock, tid[:], ttc, when))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	p.addRecord(ctc, w.overdraft, amount, typeUnlock, tid, when)
	p.keep(purseProof{typ: typeUnlock, serial: ctc, mac: [4]byte(gmac), tac: [4]byte(tac)})
	p.grey = purseGrey{status: greyTACUnread, typ: typeUnlock, wallet: wallet, balance: w.balance, ctc: ctc, ttc: ttc,
		tid: tid, time: [7]byte(when), word: [4]byte(u32(amount)), tac: [4]byte(tac)}
	return apdu.Response{Data: tac, SW: apdu.SWSuccess}
}

// onlineUnlock releases the lock for the amount the host's MAC2 covers.
func (p *PurseCard) onlineUnlock(in *purseInit, d []byte) apdu.Response {
	if p.grey.status != greyLocked {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	amount, when, mac2 := be32(d[:4]), d[4:11], d[11:15]
	if ok, _ := keys.VerifyPurseMAC(in.sk, keys.HostMAC2Data(amount, typeOnline, in.tid[:], when), mac2); !ok {
		return sw(swMACError)
	}
	resp := p.debitOnline(in, amount, typeOnline, when)
	if resp.SW.OK() {
		p.grey = purseGrey{}
	}
	return resp
}

// greyJSON writes the grey state for Snapshot.
func (p *PurseCard) greyJSON() *PurseGreyState {
	g := p.grey
	if g.status == greyNone {
		return nil
	}
	h := hex.EncodeToString
	return &PurseGreyState{Status: int(g.status), Type: int(g.typ), Wallet: int(g.wallet), Balance: g.balance, CTC: int(g.ctc),
		TTC: g.ttc, TID: h(g.tid[:]), Time: h(g.time[:]), Word: h(g.word[:]), TAC: h(g.tac[:]),
		CardRandom: h(g.cardRand[:]), TermRandom: h(g.termRand[:])}
}

// restore reads the grey state and the proofs of a profile.
func (p *PurseCard) restore(prof *PurseProfile) error {
	for i, pr := range prof.Proofs {
		mac, err1 := hex.DecodeString(pr.MAC)
		tac, err2 := hex.DecodeString(pr.TAC)
		if err1 != nil || err2 != nil || len(mac) != 4 || len(tac) != 4 || pr.Type < 0 || pr.Type > 255 || pr.Serial < 0 || pr.Serial > 0xFFFF {
			return fieldErr("proofs", "entry %d is not a proof", i)
		}
		p.proofs = append(p.proofs, purseProof{typ: byte(pr.Type), serial: uint16(pr.Serial), mac: [4]byte(mac), tac: [4]byte(tac)})
	}
	g := prof.Grey
	if g == nil {
		return nil
	}
	fields := []struct {
		s   string
		dst []byte
	}{{g.TID, nil}, {g.Time, nil}, {g.Word, nil}, {g.TAC, nil}, {g.CardRandom, nil}, {g.TermRandom, nil}}
	var st purseGrey
	dsts := [][]byte{st.tid[:], st.time[:], st.word[:], st.tac[:], st.cardRand[:], st.termRand[:]}
	for i, f := range fields {
		b, err := hex.DecodeString(f.s)
		if err != nil || len(b) != len(dsts[i]) {
			return fieldErr("grey", "field %d is not %d bytes of hex", i, len(dsts[i]))
		}
		copy(dsts[i], b)
	}
	if (g.Status != 1 && g.Status != 0x10) || (g.Wallet != 1 && g.Wallet != 2) || g.CTC < 0 || g.CTC > 0xFFFF || g.Type < 0 || g.Type > 255 {
		return fieldErr("grey", "status, wallet, ctc or type out of range")
	}
	st.status, st.typ, st.wallet, st.balance, st.ctc, st.ttc = byte(g.Status), byte(g.Type), byte(g.Wallet), g.Balance, uint16(g.CTC), g.TTC
	p.grey = st
	return nil
}

// json2 encodes v (a profile) for a round trip through the validator.
func json2(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &ProfileError{Msg: "cannot encode the profile", Err: err}
	}
	return b, nil
}
