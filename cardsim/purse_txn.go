// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/keys"
)

// The purse's money commands: INITIALIZE FOR LOAD / PURCHASE / UNLOAD,
// CREDIT FOR LOAD, DEBIT FOR PURCHASE / UNLOAD and GET TRANSACTION PROVE,
// with the MACs of crypto/keys (purse.go, purse_data.go).

// initialize is 80 50: P1 00 load, 01 purchase, 05 unload; P2 the wallet.
func (p *PurseCard) initialize(c apdu.Command) apdu.Response {
	w := p.wallet(c.P2)
	op := map[byte]byte{0x00: purseOpLoad, 0x01: purseOpPurchase, 0x05: purseOpUnload}[c.P1]
	if op == 0 || w == nil || (op == purseOpUnload && c.P2 != 1) {
		return sw(apdu.SWIncorrectP1P2)
	}
	if len(c.Data) != 11 {
		return sw(apdu.SWWrongLength)
	}
	p.s.init = nil
	if p.grey.status == 0x01 {
		return sw(apdu.SWConditionsNotSatisfied) // a grey card moves no money until unlocked
	}
	if c.Data[0] != p.c.keyIndex {
		return sw(swKeyNotFound)
	}
	if (op != purseOpPurchase || c.P2 == 1) && !p.s.pinOK {
		return sw(apdu.SWSecurityNotSatisfied) // loads, unloads and ED purchases need the PIN
	}
	in := &purseInit{op: op, wallet: c.P2, amount: be32(c.Data[1:5]), random: p.random()}
	copy(in.tid[:], c.Data[5:11])
	switch op {
	case purseOpLoad:
		if uint64(w.balance)+uint64(in.amount) > uint64(w.limit) {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		in.typ = c.P2 // 01 ED load, 02 EP load
		return p.initOnlineAnswer(w, in, keyLoad)
	case purseOpUnload:
		if in.amount > w.balance {
			return sw(swInsufficient)
		}
		in.typ = 0x03
		return p.initOnlineAnswer(w, in, keyUnload)
	}
	if uint64(in.amount) > uint64(w.balance)+uint64(w.overdraft) {
		return sw(swInsufficient)
	}
	in.typ = 0x04 + c.P2 // 05 ED purchase, 06 EP purchase
	return p.initOfflineAnswer(w, in)
}

// initOnlineAnswer is balance ‖ online serial ‖ key version ‖ alg ‖ random
// ‖ MAC1.
func (p *PurseCard) initOnlineAnswer(w *purseWallet, in *purseInit, key int) apdu.Response {
	sk, err := keys.PurseSessionKey(p.keys[key], keys.OnlineSessionInput(in.random, w.onlineSN))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	mac1, err := keys.PurseMAC(sk, keys.OnlineMAC1Data(w.balance, in.amount, in.typ, in.tid[:]))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	in.sk, in.balance, in.serial = sk, w.balance, w.onlineSN
	p.s.init = in
	d := append(u32(w.balance), byte(w.onlineSN>>8), byte(w.onlineSN), p.c.keyVersion, p.c.alg)
	d = append(append(d, in.random[:]...), mac1...)
	return apdu.Response{Data: d, SW: apdu.SWSuccess}
}

// initOfflineAnswer is balance ‖ CTC ‖ overdraft (3) ‖ key version ‖ alg ‖
// random.
func (p *PurseCard) initOfflineAnswer(w *purseWallet, in *purseInit) apdu.Response {
	in.balance, in.serial = w.balance, w.offlineSN
	p.s.init = in
	d := append(u32(w.balance), byte(w.offlineSN>>8), byte(w.offlineSN))
	d = append(d, byte(w.overdraft>>16), byte(w.overdraft>>8), byte(w.overdraft), p.c.keyVersion, p.c.alg)
	return apdu.Response{Data: append(d, in.random[:]...), SW: apdu.SWSuccess}
}

// pending returns the pending INITIALIZE of op and forgets it: every
// INITIALIZE allows one command, whatever its outcome.
func (p *PurseCard) pending(op byte) *purseInit {
	in := p.s.init
	p.s.init = nil
	if in == nil || in.op != op {
		return nil
	}
	return in
}

// follow checks the parameters and length of the command that follows an
// INITIALIZE of op, and returns that pending INITIALIZE, or the refusal.
func (p *PurseCard) follow(c apdu.Command, p1 byte, n int, op byte) (*purseInit, apdu.Response) {
	switch {
	case c.P1 != p1 || c.P2 != 0:
		return nil, sw(apdu.SWIncorrectP1P2)
	case len(c.Data) != n:
		return nil, sw(apdu.SWWrongLength)
	}
	in := p.pending(op)
	if in == nil {
		return nil, sw(apdu.SWConditionsNotSatisfied)
	}
	return in, apdu.Response{}
}

// creditForLoad is 80 52 00 00 0B: host date ‖ time ‖ MAC2 → TAC.
func (p *PurseCard) creditForLoad(c apdu.Command) apdu.Response {
	in, refused := p.follow(c, 0x00, 11, purseOpLoad)
	if in == nil {
		return refused
	}
	when, mac2 := c.Data[:7], c.Data[7:]
	if ok, _ := keys.VerifyPurseMAC(in.sk, keys.HostMAC2Data(in.amount, in.typ, in.tid[:], when), mac2); !ok {
		return sw(swMACError)
	}
	w := p.c.wallets[in.wallet]
	w.balance += in.amount
	w.onlineSN++
	tac, err := keys.PurseTAC(p.keys[keyTAC], keys.OnlineTACData(w.balance, in.serial, in.amount, in.typ, in.tid[:], when))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	p.addRecord(in.serial, w.overdraft, in.amount, in.typ, in.tid, when)
	p.keep(purseProof{typ: in.typ, serial: in.serial, mac: [4]byte(mac2), tac: [4]byte(tac)})
	return apdu.Response{Data: tac, SW: apdu.SWSuccess}
}

// debit is 80 54: P1 01 DEBIT FOR PURCHASE (TTC ‖ date ‖ time ‖ MAC1 →
// TAC ‖ MAC2), P1 03 DEBIT FOR UNLOAD (date ‖ time ‖ MAC2 → MAC3).
func (p *PurseCard) debit(c apdu.Command) apdu.Response {
	if c.P1 == 0x03 {
		in, refused := p.follow(c, 0x03, 11, purseOpUnload)
		if in == nil {
			return refused
		}
		return p.debitForUnload(in, c.Data)
	}
	in, refused := p.follow(c, 0x01, 15, purseOpPurchase)
	if in == nil {
		return refused
	}
	return p.debitForPurchase(in, c.Data)
}

func (p *PurseCard) debitForPurchase(in *purseInit, d []byte) apdu.Response {
	ttc, when, mac1 := be32(d[:4]), d[4:11], d[11:15]
	sk, err := keys.PurseSessionKey(p.keys[keyPurchase], keys.OfflineSessionInput(in.random, in.serial, ttc))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	if ok, _ := keys.VerifyPurseMAC(sk, keys.PurchaseMAC1Data(in.amount, in.typ, in.tid[:], when), mac1); !ok {
		return sw(swMACError)
	}
	w := p.c.wallets[in.wallet]
	w.balance -= min(in.amount, w.balance) // INITIALIZE checked balance + overdraft
	w.offlineSN++
	mac2, err := keys.PurseMAC(sk, keys.PurchaseMAC2Data(in.amount))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	tac, err := keys.PurseTAC(p.keys[keyTAC], keys.OfflineTACData(in.amount, in.typ, in.tid[:], ttc, when))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	p.addRecord(in.serial, w.overdraft, in.amount, in.typ, in.tid, when)
	p.keep(purseProof{typ: in.typ, serial: in.serial, mac: [4]byte(mac2), tac: [4]byte(tac)})
	return apdu.Response{Data: append(tac, mac2...), SW: apdu.SWSuccess}
}

func (p *PurseCard) debitForUnload(in *purseInit, d []byte) apdu.Response {
	when, mac2 := d[:7], d[7:]
	if ok, _ := keys.VerifyPurseMAC(in.sk, keys.HostMAC2Data(in.amount, in.typ, in.tid[:], when), mac2); !ok {
		return sw(swMACError)
	}
	return p.debitOnline(in, in.amount, in.typ, when)
}

// debitOnline takes amount from the wallet for an unload or an online
// unlock whose MAC2 verified: the online serial moves, the record and the
// proof are kept, and the answer is MAC3 (the TAC is kept with it).
func (p *PurseCard) debitOnline(in *purseInit, amount uint32, typ byte, when []byte) apdu.Response {
	w := p.c.wallets[in.wallet]
	if amount > w.balance {
		return sw(swInsufficient)
	}
	w.balance -= amount
	w.onlineSN++
	data := keys.OnlineTACData(w.balance, in.serial, amount, typ, in.tid[:], when)
	mac3, err := keys.PurseMAC(in.sk, data)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	tac, err := keys.PurseTAC(p.keys[keyTAC], data)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	p.addRecord(in.serial, w.overdraft, amount, typ, in.tid, when)
	p.keep(purseProof{typ: typ, serial: in.serial, mac: [4]byte(mac3), tac: [4]byte(tac)})
	return apdu.Response{Data: mac3, SW: apdu.SWSuccess}
}

// transactionProve is 80 5A 00 type 02 serial → MAC ‖ TAC of that
// transaction, while the card still keeps it.
func (p *PurseCard) transactionProve(c apdu.Command) apdu.Response {
	if c.P1 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if len(c.Data) != 2 {
		return sw(apdu.SWWrongLength)
	}
	serial := uint16(c.Data[0])<<8 | uint16(c.Data[1])
	for _, pr := range p.proofs {
		if pr.typ == c.P2 && pr.serial == serial {
			return apdu.Response{Data: append(pr.mac[:], pr.tac[:]...), SW: apdu.SWSuccess}
		}
	}
	return sw(swNoProof)
}
