// SPDX-License-Identifier: Apache-2.0

// Package purse is the terminal side of the PBOC electronic deposit /
// electronic purse (ED/EP, 电子存折/电子钱包) of fuel, transit and ETC
// cards, with the terminal's PSAM and the fuel dispenser's grey lock
// (灰锁). It is a flow of its own beside package kernel (which it does not
// import), over apdu. The facts it rests on, with their sources and what
// is unverified, are in PURSE-NOTES.md; every unverified reading is one
// switch (Config, the simulators' profiles).
//
//	t, err := purse.New(purse.Config{}, purse.WithHost(host), purse.WithSAM(psam),
//	    purse.WithStore(store), purse.WithPINPad(pad))
//	res, err := t.Load(ctx, card, 20000)                 // 圈存 of 200.00
//	res, err = t.Unload(ctx, card, 5000)                 // 圈提 from the ED
//	res, err = t.Purchase(ctx, card, 1234)               // offline, with the PSAM
//	res, err = t.Dispense(ctx, card, purse.DispenseRequest{Preset: 30000, Nozzle: pump})
//	res, q, err := t.Inquire(ctx, card, true)            // balances, grey status, EF18
//
// # The flows
//
// Every operation opens the card the same way (open.go, begin.go):
//
//	SELECT 1PAY.SYS.DDF01, READ RECORD (its directory), SELECT the AID
//	  (else the AIDs of Config.AIDs in order: Sinopec A000000003‖"SINOPEC",
//	  the older A00000000386980701)
//	READ BINARY EF15                     issuer, ASN, validity dates
//	VERIFY (through the PINPad)          loads, unloads, fuel (Config.PINFor)
//	settling this card's open records    settle.go, grey.go
//
// then, in load.go, unload.go, purchase.go, fuel.go and unlock.go:
//
//	load (圈存)       INITIALIZE FOR LOAD → Host.Authorize (MAC1; the reserve
//	                  debited; MAC2) → CREDIT FOR LOAD → TAC → GET BALANCE →
//	                  Host.Confirm (TAC)
//	unload (圈提)     INITIALIZE FOR UNLOAD → Host.Authorize (MAC1; MAC2) →
//	                  DEBIT FOR UNLOAD → MAC3 → GET BALANCE → Host.Confirm
//	                  (MAC3; the reserve credited)
//	purchase          INITIALIZE FOR PURCHASE → SAM MAC1 (80 70) → DEBIT FOR
//	                  PURCHASE → TAC, MAC2 → SAM CHECK MAC2 (80 72) → GET BALANCE
//	fuel              GET GREY STATUS → INITIALIZE FOR GREY LOCK → SAM E0 40 →
//	                  GREY LOCK → GTAC, MAC2 → SAM E0 42 → the pump (Nozzle) →
//	                  SAM GMAC (E0 44) → DEBIT FOR UNLOCK → TAC →
//	                  GET GREY STATUS (clear the TAC-unread flag) → GET BALANCE
//	online unlock     INITIALIZE FOR ONLINE UNLOCK → Host.Authorize (MAC1; the
//	                  bill's amount; MAC2) → ONLINE UNLOCK → MAC3 → Host.Confirm
//
// The commands are built in commands.go, the answers parsed (exact
// lengths, nothing else accepted) in parse.go, and described for traces,
// card data masked, in describe.go.
//
// # Money
//
// Only the card's own evidence from this operation approves: the TAC of
// CREDIT FOR LOAD (checked by the host), the MAC3 of DEBIT FOR UNLOAD, the
// card's MAC2 of DEBIT FOR PURCHASE or GREY LOCK checked by the SAM. The
// host moves money only on the card's evidence (MAC1 before a load's
// debit, MAC3 before an unload's credit, a fresh MAC1 over an unchanged
// online serial before a load is given back).
//
// Every step is written to the Store (a journal.Log of JSON records)
// before the card or the host is asked for the next one, so a crash or a
// card pulled at any point leaves a record that says what may have
// happened. At the card's next presentation its counters decide (the
// online serial for loads and unloads, the CTC for purchases, the grey
// status and EF18 for fuel): unchanged, the operation did not happen;
// moved by one, GET TRANSACTION PROVE gives its TAC or MAC3; anything
// else leaves the record unresolved, for the issuer. With the card still
// in the reader the same evidence is taken at once: a purchase so proved
// is approved only on the SAM's check of the proof's MAC2, and a GREY LOCK
// whose answer was lost is read back from the grey status (its GTAC and
// MAC2). A card grey from this
// terminal is completed from the stored record (补扣: the escape bill's
// amount and GMAC); one grey from elsewhere goes to the host's online
// unlock, from the bill its station uploaded (Store.EscapeBills).
//
// # Interfaces
//
// Host (the reserve account and the online unlock), SAM and GreySAM (the
// PSAM: OpenPSAM drives one in a reader slot, an apdu.Transport), PINPad
// (sends VERIFY itself: the library never holds the PIN) and Nozzle (the
// pump) belong to this package and are small. hostsim.Reserve,
// cardsim/psam.PSAM, hostsim.PursePINPad and cardsim.PurseCard are their
// simulated counterparts, with the real MACs (crypto/keys).
package purse
