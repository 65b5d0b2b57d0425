// SPDX-License-Identifier: Apache-2.0

package keys

// The data each purse MAC covers. Amounts and balances are 4-byte
// big-endian fen, tid the 6-byte terminal ID (the PSAM's EF16), datetime
// the 7-byte BCD YYYYMMDDhhmmss, typ the transaction type code (01 ED load,
// 02 EP load, 03 unload, 05 ED purchase, 06 EP purchase, 91 grey lock, 93
// debit for unlock, 95 online unlock). Each layout names its source in
// PURSE-NOTES.md; "chosen" marks a layout no public source shows, picked by
// analogy with the sourced ones and used the same way by the simulated
// card, PSAM and reserve host.

// purseData builds MAC data field by field: u32 appends 4 bytes
// big-endian, u16 2 bytes, b one byte, raw the bytes as they are.
type purseData []byte

func (d purseData) u32(v uint32) purseData {
	return append(d, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func (d purseData) u16(v uint16) purseData { return append(d, byte(v>>8), byte(v)) }
func (d purseData) b(v byte) purseData     { return append(d, v) }
func (d purseData) raw(v []byte) purseData { return append(d, v...) }

func newData() purseData { return make(purseData, 0, 32) }

// OnlineMAC1Data is what the card's MAC1 of INITIALIZE FOR LOAD and FOR
// UNLOAD covers: balance before ‖ amount ‖ type ‖ TID [PL; JJ; the worked
// load example].
func OnlineMAC1Data(balance, amount uint32, typ byte, tid []byte) []byte {
	return newData().u32(balance).u32(amount).b(typ).raw(tid)
}

// HostMAC2Data is what the host's MAC2 for CREDIT FOR LOAD, DEBIT FOR
// UNLOAD and ONLINE UNLOCK covers: amount ‖ type ‖ TID ‖ host datetime [PL;
// JJ; the worked load example]. The purchase MAC1 the PSAM computes has the
// same layout with the terminal's datetime [PP; the worked purchase
// example].
func HostMAC2Data(amount uint32, typ byte, tid, datetime []byte) []byte {
	return newData().u32(amount).b(typ).raw(tid).raw(datetime)
}

// PurchaseMAC1Data is what the PSAM's purchase MAC1 covers: amount ‖ type
// ‖ TID ‖ terminal datetime [PP; ClsReload; the worked purchase example].
func PurchaseMAC1Data(amount uint32, typ byte, tid, datetime []byte) []byte {
	return HostMAC2Data(amount, typ, tid, datetime)
}

// PurchaseMAC2Data is what the card's purchase MAC2 covers: the amount [PP;
// the worked purchase example].
func PurchaseMAC2Data(amount uint32) []byte { return newData().u32(amount) }

// OfflineTACData is what the card's TAC of DEBIT FOR PURCHASE covers:
// amount ‖ type ‖ TID ‖ TTC ‖ terminal datetime [ClsReload; PP partly; a
// card's own TAC in github.com/ConardLKL/ChangSha doc/华大智宝/t7_purchase.py,
// TestPursePurchaseSecondWorkedExample; the "消费indata" of an HSM
// interface, JMJDLL, repo not named by the index]. The TAC of DEBIT FOR
// UNLOCK (type 93) and the PSAM-TAC of the GMAC command use the same
// layout (chosen).
func OfflineTACData(amount uint32, typ byte, tid []byte, ttc uint32, datetime []byte) []byte {
	return newData().u32(amount).b(typ).raw(tid).u32(ttc).raw(datetime)
}

// OnlineTACData is what the card's TAC of CREDIT FOR LOAD covers: new
// balance ‖ online serial before the operation ‖ amount ‖ type ‖ TID ‖
// host datetime [a card's own TAC in github.com/ConardLKL/ChangSha
// doc/华大智宝/CSMetroScriptandLog_20151102/t2_load.py and t2_load.txt,
// TestPurseLoadSecondWorkedExample; the "充值indata" of an HSM interface,
// JMJDLL, repo not named by the index; a TAC check in
// yangdengfeng/EmpSelfService.API]. The card's MAC3 of DEBIT FOR UNLOAD
// and of ONLINE UNLOCK, and the TAC kept with them, use the same layout
// (chosen: no public source shows those inputs).
func OnlineTACData(newBalance uint32, onlineSN uint16, amount uint32, typ byte, tid, datetime []byte) []byte {
	return newData().u32(newBalance).u16(onlineSN).u32(amount).b(typ).raw(tid).raw(datetime)
}

// UnlockMAC1Data is what the card's MAC1 of INITIALIZE FOR ONLINE UNLOCK
// covers: balance ‖ offline serial (CTC) ‖ type 95 ‖ TID [JJ].
func UnlockMAC1Data(balance uint32, ctc uint16, typ byte, tid []byte) []byte {
	return newData().u32(balance).u16(ctc).b(typ).raw(tid)
}

// GreyLockMAC1Data is what the PSAM's grey-lock MAC1 covers: type 91 ‖ TID
// ‖ terminal datetime [JJ].
func GreyLockMAC1Data(typ byte, tid, datetime []byte) []byte {
	return newData().b(typ).raw(tid).raw(datetime)
}

// GreyLockMAC2Data is what the card's grey-lock MAC2 covers (chosen, after
// the purchase MAC2, with the balance the lock covers in place of the
// amount): the balance.
func GreyLockMAC2Data(balance uint32) []byte { return newData().u32(balance) }

// GTACData is what the card's GTAC of GREY LOCK covers (chosen, after the
// purchase TAC, with the balance in place of the amount): balance ‖ type
// 91 ‖ TID ‖ TTC ‖ terminal datetime.
func GTACData(balance uint32, typ byte, tid []byte, ttc uint32, datetime []byte) []byte {
	return OfflineTACData(balance, typ, tid, ttc, datetime)
}

// GMACData is what the PSAM's GMAC covers (chosen: the GMAC command's own
// data field [JJ]): type 93 ‖ ASN factor (8) ‖ CTC of the grey lock ‖
// amount.
func GMACData(typ byte, factor []byte, ctc uint16, amount uint32) []byte {
	return newData().b(typ).raw(factor).u16(ctc).u32(amount)
}
