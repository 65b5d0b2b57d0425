// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"github.com/go-pboc/pboc/apdu"
)

// The commands of the ED/EP application, the fuel card's grey lock and the
// PSAM, as in PURSE-NOTES §2, §4 and §5. Every builder gives Ne as the
// exact length the card answers with.

// Response lengths.
const (
	lenBalance      = 4
	lenLoadInit     = 16 // INITIALIZE FOR LOAD / FOR UNLOAD
	lenPurchaseInit = 15 // INITIALIZE FOR PURCHASE / FOR GREY LOCK
	lenUnlockInit   = 18 // INITIALIZE FOR ONLINE UNLOCK
	lenGreyStatus   = 30 // GET GREY STATUS
	lenTACMAC2      = 8  // DEBIT FOR PURCHASE, GREY LOCK, GET TRANSACTION PROVE
	lenMAC          = 4  // CREDIT FOR LOAD, DEBIT FOR UNLOAD, DEBIT FOR UNLOCK, ONLINE UNLOCK
	lenEF15         = 30
	lenEF16         = 41 // Sinopec cardholder file; ETC cards have 55
	lenEF16Long     = 55
	lenEF18         = 23
	lenPSAMMAC1     = 8  // 80 70
	lenPSAMGreyMAC1 = 12 // E0 40
	lenPSAMGMAC     = 8  // E0 44
	lenPSAMEF15     = 14
	lenPSAMEF16     = 6
	lenPSAMEF17     = 25
)

// Short file identifiers of the card and the PSAM.
const (
	sfiEF15 = 0x15 // card: public application data; PSAM MF: PSAM serial
	sfiEF16 = 0x16 // card: cardholder; PSAM MF: terminal ID
	sfiEF17 = 0x17 // PSAM ADF: key index and issuer
	sfiEF18 = 0x18 // card: transaction records (cyclic, 10 × 23)
)

// MaxRecords is the number of records of the card's cyclic EF18.
const MaxRecords = 10

// pseName is the payment system environment of a contact card.
var pseName = []byte("1PAY.SYS.DDF01")

func cmd(cla, ins, p1, p2 byte, data []byte, ne int) apdu.Command {
	return apdu.Command{CLA: cla, INS: ins, P1: p1, P2: p2, Data: data, Ne: ne}
}

// ReadBinary builds READ BINARY of n bytes of the transparent file with
// short file identifier sfi: 00 B0 (80|sfi) 00 n.
func ReadBinary(sfi byte, n int) apdu.Command { return cmd(0x00, 0xB0, 0x80|sfi, 0x00, nil, n) }

// ReadRecordEF18 builds READ RECORD of record n (1 = newest) of the
// transaction file: 00 B2 n C4 17.
func ReadRecordEF18(n byte) apdu.Command { return cmd(0x00, 0xB2, n, sfiEF18<<3|0x04, nil, lenEF18) }

// SelectFID builds SELECT by file identifier (the PSAM's MF 3F00 and ADF
// 3F01): 00 A4 00 00 02 fid.
func SelectFID(fid uint16) apdu.Command {
	return cmd(0x00, 0xA4, 0x00, 0x00, []byte{byte(fid >> 8), byte(fid)}, 0)
}

// GetBalance builds GET BALANCE of the wallet: 80 5C 00 w 04.
func GetBalance(w Wallet) apdu.Command { return cmd(0x80, 0x5C, 0x00, byte(w), nil, lenBalance) }

// initData is key index ‖ amount ‖ TID, the data of every INITIALIZE FOR
// ... with an amount.
func initData(keyIndex byte, amount Amount, tid TID) []byte {
	d := make([]byte, 0, 11)
	d = append(d, keyIndex)
	d = append(d, amount.bytes()...)
	return append(d, tid[:]...)
}

// InitializeForLoad builds INITIALIZE FOR LOAD (圈存初始化): 80 50 00 w 0B
// keyIndex ‖ amount ‖ TID, Le 10.
func InitializeForLoad(w Wallet, keyIndex byte, amount Amount, tid TID) apdu.Command {
	return cmd(0x80, 0x50, 0x00, byte(w), initData(keyIndex, amount, tid), lenLoadInit)
}

// CreditForLoad builds CREDIT FOR LOAD (圈存): 80 52 00 00 0B host date ‖
// time ‖ MAC2, Le 04.
func CreditForLoad(hostTime DateTime, mac2 MAC) apdu.Command {
	return cmd(0x80, 0x52, 0x00, 0x00, append(hostTime[:], mac2[:]...), lenMAC)
}

// InitializeForPurchase builds INITIALIZE FOR PURCHASE (消费初始化): 80 50
// 01 w 0B keyIndex ‖ amount ‖ TID, Le 0F.
func InitializeForPurchase(w Wallet, keyIndex byte, amount Amount, tid TID) apdu.Command {
	return cmd(0x80, 0x50, 0x01, byte(w), initData(keyIndex, amount, tid), lenPurchaseInit)
}

// DebitForPurchase builds DEBIT FOR PURCHASE (消费): 80 54 01 00 0F TTC ‖
// date ‖ time ‖ MAC1, Le 08.
func DebitForPurchase(ttc uint32, when DateTime, mac1 MAC) apdu.Command {
	d := make([]byte, 0, 15)
	d = append(d, byte(ttc>>24), byte(ttc>>16), byte(ttc>>8), byte(ttc))
	d = append(d, when[:]...)
	return cmd(0x80, 0x54, 0x01, 0x00, append(d, mac1[:]...), lenTACMAC2)
}

// InitializeForUnload builds INITIALIZE FOR UNLOAD (圈提初始化) from the ED:
// 80 50 05 01 0B keyIndex ‖ amount ‖ TID, Le 10. Only the ED can be
// unloaded.
func InitializeForUnload(keyIndex byte, amount Amount, tid TID) apdu.Command {
	return cmd(0x80, 0x50, 0x05, byte(ED), initData(keyIndex, amount, tid), lenLoadInit)
}

// DebitForUnload builds DEBIT FOR UNLOAD (圈提): 80 54 03 00 0B host date ‖
// time ‖ MAC2, Le 04.
func DebitForUnload(hostTime DateTime, mac2 MAC) apdu.Command {
	return cmd(0x80, 0x54, 0x03, 0x00, append(hostTime[:], mac2[:]...), lenMAC)
}

// GetTransactionProve builds GET TRANSACTION PROVE (取交易认证) for the
// transaction of the given type and serial: 80 5A 00 type 02 serial, Le 08.
func GetTransactionProve(typ TxType, serial uint16) apdu.Command {
	return cmd(0x80, 0x5A, 0x00, byte(typ), []byte{byte(serial >> 8), byte(serial)}, lenTACMAC2)
}

// GetGreyStatus builds GET GREY STATUS (读灰锁状态): E0 CA p1 00 1E, with
// p1 01 when the TAC-unread flag is to be cleared.
func GetGreyStatus(clearTAC bool) apdu.Command {
	var p1 byte
	if clearTAC {
		p1 = 0x01
	}
	return cmd(0xE0, 0xCA, p1, 0x00, nil, lenGreyStatus)
}

// InitializeForGreyLock builds INITIALIZE FOR GREY LOCK (灰锁初始化): E0 7A
// 08 w 07 keyIndex ‖ TID, Le 0F. The lock carries no amount.
func InitializeForGreyLock(w Wallet, keyIndex byte, tid TID) apdu.Command {
	return cmd(0xE0, 0x7A, 0x08, byte(w), append([]byte{keyIndex}, tid[:]...), lenPurchaseInit)
}

// GreyLock builds GREY LOCK (灰锁): E0 7C 08 00 13 TTC ‖ terminal random ‖
// datetime ‖ MAC1, Le 08.
func GreyLock(ttc uint32, terminalRandom [4]byte, when DateTime, mac1 MAC) apdu.Command {
	d := make([]byte, 0, 19)
	d = append(d, byte(ttc>>24), byte(ttc>>16), byte(ttc>>8), byte(ttc))
	d = append(d, terminalRandom[:]...)
	d = append(d, when[:]...)
	return cmd(0xE0, 0x7C, 0x08, 0x00, append(d, mac1[:]...), lenTACMAC2)
}

// DebitForUnlock builds DEBIT FOR UNLOCK (解扣): E0 7E 08 w 1B amount ‖ CTC
// ‖ TID ‖ TTC ‖ datetime ‖ GMAC, Le 04.
func DebitForUnlock(w Wallet, amount Amount, ctc uint16, tid TID, ttc uint32, when DateTime, gmac MAC) apdu.Command {
	d := make([]byte, 0, 27)
	d = append(d, amount.bytes()...)
	d = append(d, byte(ctc>>8), byte(ctc))
	d = append(d, tid[:]...)
	d = append(d, byte(ttc>>24), byte(ttc>>16), byte(ttc>>8), byte(ttc))
	d = append(d, when[:]...)
	return cmd(0xE0, 0x7E, 0x08, byte(w), append(d, gmac[:]...), lenMAC)
}

// InitializeForOnlineUnlock builds INITIALIZE FOR ONLINE UNLOCK (联机解扣初始化):
// E0 7A 09 w 07 keyIndex ‖ TID, Le 12.
func InitializeForOnlineUnlock(w Wallet, keyIndex byte, tid TID) apdu.Command {
	return cmd(0xE0, 0x7A, 0x09, byte(w), append([]byte{keyIndex}, tid[:]...), lenUnlockInit)
}

// OnlineUnlock builds ONLINE UNLOCK (联机解扣): E0 7E 09 00 0F amount ‖
// host datetime ‖ MAC2, Le 04.
func OnlineUnlock(amount Amount, hostTime DateTime, mac2 MAC) apdu.Command {
	d := make([]byte, 0, 15)
	d = append(d, amount.bytes()...)
	d = append(d, hostTime[:]...)
	return cmd(0xE0, 0x7E, 0x09, 0x00, append(d, mac2[:]...), lenMAC)
}

// SAMMAC1 builds the PSAM's MAC1 for purchase (80 70 00 00, Le 08) or for
// a grey lock (E0 40 00 00, Le 0C) over the prepared data (28 bytes, or
// 36 with a second diversification factor).
func SAMMAC1(grey bool, data []byte) apdu.Command {
	if grey {
		return cmd(0xE0, 0x40, 0x00, 0x00, data, lenPSAMGreyMAC1)
	}
	return cmd(0x80, 0x70, 0x00, 0x00, data, lenPSAMMAC1)
}

// SAMCheckMAC2 builds the PSAM's check of the card's MAC2: 80 72 00 00 04
// (purchase) or E0 42 00 00 04 (grey lock).
func SAMCheckMAC2(grey bool, mac2 MAC) apdu.Command {
	if grey {
		return cmd(0xE0, 0x42, 0x00, 0x00, mac2[:], 0)
	}
	return cmd(0x80, 0x72, 0x00, 0x00, mac2[:], 0)
}

// SAMGMAC builds the PSAM's GMAC (解扣 MAC) command: E0 44 00 00 0F type 93
// ‖ ASN factor ‖ CTC ‖ amount, Le 08.
func SAMGMAC(factor [8]byte, ctc uint16, amount Amount) apdu.Command {
	d := make([]byte, 0, 15)
	d = append(d, byte(TypeDebitUnlock))
	d = append(d, factor[:]...)
	d = append(d, byte(ctc>>8), byte(ctc))
	return cmd(0xE0, 0x44, 0x00, 0x00, append(d, amount.bytes()...), lenPSAMGMAC)
}

// commandName is one row of the table that names purse commands.
type commandName struct {
	cla, ins byte
	p1       int // -1: any
	name     string
}

// commandNames names what apdu.Command.Name does not know (the purse's
// proprietary class 80 and E0 commands, whose INS alone is ambiguous).
var commandNames = []commandName{
	{0x80, 0x50, 0x00, "INITIALIZE FOR LOAD"},
	{0x80, 0x50, 0x01, "INITIALIZE FOR PURCHASE"},
	{0x80, 0x50, 0x02, "INITIALIZE FOR CASH WITHDRAW"},
	{0x80, 0x50, 0x03, "INITIALIZE FOR CAPP PURCHASE"},
	{0x80, 0x50, 0x04, "INITIALIZE FOR UPDATE"},
	{0x80, 0x50, 0x05, "INITIALIZE FOR UNLOAD"},
	{0x80, 0x52, -1, "CREDIT FOR LOAD"},
	{0x80, 0x54, 0x01, "DEBIT FOR PURCHASE"},
	{0x80, 0x54, 0x03, "DEBIT FOR UNLOAD"},
	{0x80, 0x58, -1, "UPDATE OVERDRAW LIMIT"},
	{0x80, 0x5A, -1, "GET TRANSACTION PROVE"},
	{0x80, 0x5C, -1, "GET BALANCE"},
	{0x80, 0x5E, -1, "CHANGE/RELOAD PIN"},
	{0xE0, 0xCA, -1, "GET GREY STATUS"},
	{0xE0, 0x7A, 0x08, "INITIALIZE FOR GREY LOCK"},
	{0xE0, 0x7A, 0x09, "INITIALIZE FOR ONLINE UNLOCK"},
	{0xE0, 0x7C, -1, "GREY LOCK"},
	{0xE0, 0x7E, 0x08, "DEBIT FOR UNLOCK"},
	{0xE0, 0x7E, 0x09, "ONLINE UNLOCK"},
	{0x80, 0x70, -1, "PSAM MAC1 FOR PURCHASE"},
	{0x80, 0x72, -1, "PSAM CHECK MAC2"},
	{0xE0, 0x40, -1, "PSAM GREY-LOCK MAC1"},
	{0xE0, 0x42, -1, "PSAM CHECK GREY MAC2"},
	{0xE0, 0x44, -1, "PSAM GMAC"},
	{0x00, 0xB0, -1, "READ BINARY"},
}

// CommandName names a command of the purse, the grey lock or the PSAM
// ("INITIALIZE FOR LOAD", "GREY LOCK", "PSAM GMAC"), falling back to
// apdu.Command.Name for the others ("SELECT", "READ RECORD", "VERIFY").
func CommandName(c apdu.Command) string {
	for _, n := range commandNames {
		if n.cla == c.CLA && n.ins == c.INS && (n.p1 < 0 || byte(n.p1) == c.P1) {
			return n.name
		}
	}
	return c.Name()
}
