// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"fmt"
)

// The card's answers, decoded. Every parser takes the response data of
// exactly the length the command asked for and refuses anything else with
// an error wrapping ErrCardData: a card that answers more or less than it
// was asked for is not trusted for any of it.

// cursor reads fields off a fixed-length answer; its caller has checked
// the length, so reads cannot run past the end.
type cursor struct{ b []byte }

func (c *cursor) take(n int) []byte { v := c.b[:n:n]; c.b = c.b[n:]; return v }
func (c *cursor) u8() byte          { return c.take(1)[0] }
func (c *cursor) u16() uint16       { v := c.take(2); return uint16(v[0])<<8 | uint16(v[1]) }
func (c *cursor) u24() uint32 {
	v := c.take(3)
	return uint32(v[0])<<16 | uint32(v[1])<<8 | uint32(v[2])
}
func (c *cursor) u32() uint32 {
	v := c.take(4)
	return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
}
func (c *cursor) amount() Amount { return Amount(c.u32()) }
func (c *cursor) mac() (m MAC)   { copy(m[:], c.take(4)); return m }
func (c *cursor) tid() (t TID)   { copy(t[:], c.take(6)); return t }
func (c *cursor) rand() (r [4]byte) {
	copy(r[:], c.take(4))
	return r
}
func (c *cursor) datetime() (d DateTime) { copy(d[:], c.take(7)); return d }

// exact checks the length of an answer and returns a cursor over it.
func exact(what string, b []byte, n int) (*cursor, error) {
	if len(b) != n {
		return nil, fmt.Errorf("%w: %s: %d bytes, want %d", ErrCardData, what, len(b), n)
	}
	return &cursor{b}, nil
}

// ParseBalance decodes the answer to GET BALANCE: 4 bytes.
func ParseBalance(b []byte) (Amount, error) {
	c, err := exact("GET BALANCE", b, lenBalance)
	if err != nil {
		return 0, err
	}
	return c.amount(), nil
}

// OnlineInit is the answer to INITIALIZE FOR LOAD and FOR UNLOAD (16
// bytes): balance ‖ online serial ‖ key version ‖ algorithm ‖ card random
// ‖ MAC1.
type OnlineInit struct {
	Balance    Amount  `json:"balance"`
	OnlineSN   uint16  `json:"online_sn"`
	KeyVersion byte    `json:"key_version"`
	Alg        byte    `json:"alg"`
	Random     [4]byte `json:"random"`
	MAC1       MAC     `json:"mac1"`
}

// ParseOnlineInit decodes the answer to INITIALIZE FOR LOAD / FOR UNLOAD.
func ParseOnlineInit(b []byte) (OnlineInit, error) {
	c, err := exact("INITIALIZE FOR LOAD/UNLOAD", b, lenLoadInit)
	if err != nil {
		return OnlineInit{}, err
	}
	return OnlineInit{Balance: c.amount(), OnlineSN: c.u16(), KeyVersion: c.u8(), Alg: c.u8(), Random: c.rand(), MAC1: c.mac()}, nil
}

// OfflineInit is the answer to INITIALIZE FOR PURCHASE and FOR GREY LOCK
// (15 bytes): balance ‖ offline serial (CTC) ‖ overdraft limit (3) ‖ key
// version ‖ algorithm ‖ card random.
type OfflineInit struct {
	Balance    Amount  `json:"balance"`
	CTC        uint16  `json:"ctc"`
	Overdraft  Amount  `json:"overdraft"`
	KeyVersion byte    `json:"key_version"`
	Alg        byte    `json:"alg"`
	Random     [4]byte `json:"random"`
}

// ParseOfflineInit decodes the answer to INITIALIZE FOR PURCHASE / FOR
// GREY LOCK.
func ParseOfflineInit(b []byte) (OfflineInit, error) {
	c, err := exact("INITIALIZE FOR PURCHASE/GREY LOCK", b, lenPurchaseInit)
	if err != nil {
		return OfflineInit{}, err
	}
	return OfflineInit{Balance: c.amount(), CTC: c.u16(), Overdraft: Amount(c.u24()), KeyVersion: c.u8(), Alg: c.u8(), Random: c.rand()}, nil
}

// UnlockInit is the answer to INITIALIZE FOR ONLINE UNLOCK (18 bytes):
// balance ‖ CTC ‖ online serial ‖ key version ‖ algorithm ‖ card random ‖
// MAC1.
type UnlockInit struct {
	Balance    Amount  `json:"balance"`
	CTC        uint16  `json:"ctc"`
	OnlineSN   uint16  `json:"online_sn"`
	KeyVersion byte    `json:"key_version"`
	Alg        byte    `json:"alg"`
	Random     [4]byte `json:"random"`
	MAC1       MAC     `json:"mac1"`
}

// ParseUnlockInit decodes the answer to INITIALIZE FOR ONLINE UNLOCK.
func ParseUnlockInit(b []byte) (UnlockInit, error) {
	c, err := exact("INITIALIZE FOR ONLINE UNLOCK", b, lenUnlockInit)
	if err != nil {
		return UnlockInit{}, err
	}
	return UnlockInit{Balance: c.amount(), CTC: c.u16(), OnlineSN: c.u16(), KeyVersion: c.u8(), Alg: c.u8(), Random: c.rand(), MAC1: c.mac()}, nil
}

// Grey status values (the first byte of GET GREY STATUS).
const (
	GreyNone      byte = 0x00 // not locked
	GreyLocked    byte = 0x01 // locked (灰锁)
	GreyTACUnread byte = 0x10 // unlocked, the TAC of the unlock not read yet
)

// GreyStatus is the answer to GET GREY STATUS (30 bytes): status ‖ type ‖
// ET id ‖ balance ‖ CTC ‖ TID ‖ datetime ‖ amount-or-MAC2 ‖ GTAC-or-TAC
// [IPT; JJ reads the TID at 9 and the GTAC at 26]. While locked the
// fourth-last field is the lock's MAC2 and the last its GTAC; with the TAC
// unread they are the amount debited for unlock and its TAC.
type GreyStatus struct {
	Status  byte     `json:"status"`
	Type    TxType   `json:"type"`
	ETID    byte     `json:"et_id"`
	Balance Amount   `json:"balance"`
	CTC     uint16   `json:"ctc"`
	TID     TID      `json:"tid"`
	Time    DateTime `json:"time"`
	Word    [4]byte  `json:"word"` // MAC2 (locked) or amount (TAC unread)
	TAC     MAC      `json:"tac"`  // GTAC (locked) or TAC (TAC unread)
}

// ParseGreyStatus decodes the answer to GET GREY STATUS. A status other
// than 00, 01 or 10 is refused.
func ParseGreyStatus(b []byte) (GreyStatus, error) {
	c, err := exact("GET GREY STATUS", b, lenGreyStatus)
	if err != nil {
		return GreyStatus{}, err
	}
	g := GreyStatus{Status: c.u8(), Type: TxType(c.u8()), ETID: c.u8(), Balance: c.amount(), CTC: c.u16(), TID: c.tid(), Time: c.datetime()}
	copy(g.Word[:], c.take(4))
	g.TAC = c.mac()
	switch g.Status {
	case GreyNone, GreyLocked, GreyTACUnread:
		return g, nil
	}
	return GreyStatus{}, fmt.Errorf("%w: grey status %02X", ErrCardData, g.Status)
}

// MAC2 is the lock's MAC2 (meaningful while Status is GreyLocked).
func (g GreyStatus) MAC2() MAC { return MAC(g.Word) }

// Amount is the amount debited for unlock (meaningful while Status is
// GreyTACUnread).
func (g GreyStatus) Amount() Amount { return amountAt(g.Word[:]) }

// StatusName names the grey status: "none", "grey", "TAC unread".
func (g GreyStatus) StatusName() string {
	switch g.Status {
	case GreyLocked:
		return "grey"
	case GreyTACUnread:
		return "TAC unread"
	}
	return "none"
}

// twoMACs decodes an 8-byte answer of two 4-byte values (TAC ‖ MAC2 of
// DEBIT FOR PURCHASE, GTAC ‖ MAC2 of GREY LOCK, MAC ‖ TAC of GET
// TRANSACTION PROVE, GMAC ‖ PSAM-TAC of the PSAM).
func twoMACs(what string, b []byte) (MAC, MAC, error) {
	c, err := exact(what, b, lenTACMAC2)
	if err != nil {
		return MAC{}, MAC{}, err
	}
	return c.mac(), c.mac(), nil
}

// oneMAC decodes a 4-byte answer (TAC of CREDIT FOR LOAD and DEBIT FOR
// UNLOCK, MAC3 of DEBIT FOR UNLOAD and ONLINE UNLOCK).
func oneMAC(what string, b []byte) (MAC, error) {
	c, err := exact(what, b, lenMAC)
	if err != nil {
		return MAC{}, err
	}
	return c.mac(), nil
}

// AppInfo is the card's public application data, EF15 (30 bytes): issuer
// ID 8 ‖ application type ‖ application version ‖ ASN 10 ‖ start date 4 ‖
// end date 4 ‖ command-set version ‖ RFU [NF; IPT; N9].
type AppInfo struct {
	IssuerID   [8]byte `json:"-"`
	AppType    byte    `json:"app_type"`
	AppVersion byte    `json:"app_version"`
	ASN        ASN     `json:"-"`
	Start      [4]byte `json:"-"`
	End        [4]byte `json:"-"`
	CommandSet byte    `json:"command_set"`
}

// ParseAppInfo decodes EF15.
func ParseAppInfo(b []byte) (AppInfo, error) {
	c, err := exact("EF15", b, lenEF15)
	if err != nil {
		return AppInfo{}, err
	}
	var a AppInfo
	copy(a.IssuerID[:], c.take(8))
	a.AppType, a.AppVersion = c.u8(), c.u8()
	copy(a.ASN[:], c.take(10))
	copy(a.Start[:], c.take(4))
	copy(a.End[:], c.take(4))
	a.CommandSet = c.u8()
	return a, nil
}

// Cardholder is the cardholder file EF16 of a Sinopec card (41 bytes):
// card type ‖ staff flag ‖ name 20 ‖ ID number 18 ‖ ID type [IPT; JJ].
// ETC cards answer 55 bytes whose split no source shows: their first 41
// bytes are read the same way and the rest kept in Extra.
type Cardholder struct {
	CardType byte
	Staff    byte
	Name     []byte // as on the card (GB 2312 or ASCII, space or 00 padded)
	IDNumber []byte // ASCII
	IDType   byte
	Extra    []byte
}

// ParseCardholder decodes EF16 of 41 or 55 bytes.
func ParseCardholder(b []byte) (Cardholder, error) {
	n := lenEF16
	if len(b) == lenEF16Long {
		n = lenEF16Long
	}
	c, err := exact("EF16", b, n)
	if err != nil {
		return Cardholder{}, err
	}
	h := Cardholder{CardType: c.u8(), Staff: c.u8(), Name: c.take(20), IDNumber: c.take(18), IDType: c.u8()}
	if n == lenEF16Long {
		h.Extra = c.take(lenEF16Long - lenEF16)
	}
	return h, nil
}

// MaskedID returns the ID number with all but its first 3 and last 4
// characters replaced by '*': it is personal data, never printed whole.
func (h Cardholder) MaskedID() string {
	id := []byte(trimPadding(h.IDNumber))
	for i := 3; i < len(id)-4; i++ {
		id[i] = '*'
	}
	return string(id)
}

// NameText returns the name when it is printable ASCII, else its hex.
func (h Cardholder) NameText() string { return printable(h.Name) }

// CardRecord is one EF18 transaction record (23 bytes): serial 2 ‖ overdraft
// limit 3 ‖ amount 4 ‖ type ‖ TID 6 ‖ date 4 ‖ time 3 [NF; IPT].
type CardRecord struct {
	Serial    uint16   `json:"serial"`
	Overdraft Amount   `json:"overdraft"`
	Amount    Amount   `json:"amount"`
	Type      TxType   `json:"type"`
	TID       TID      `json:"tid"`
	Time      DateTime `json:"time"`
}

// ParseCardRecord decodes one EF18 record.
func ParseCardRecord(b []byte) (CardRecord, error) {
	c, err := exact("EF18 record", b, lenEF18)
	if err != nil {
		return CardRecord{}, err
	}
	return CardRecord{Serial: c.u16(), Overdraft: Amount(c.u24()), Amount: c.amount(), Type: TxType(c.u8()), TID: c.tid(), Time: c.datetime()}, nil
}

// PSAMInfo is what the terminal reads from its PSAM: the serial (MF EF15,
// 10 of 14 bytes), the terminal ID (MF EF16) and the key index and issuer
// (ADF EF17, 25 bytes: key index ‖ issuer 8 ‖ recipient 8 ‖ start 4 ‖ end
// 4) [IPT; YKT; JJ].
type PSAMInfo struct {
	Serial   [10]byte
	Version  byte
	TID      TID
	KeyIndex byte
	IssuerID [8]byte
}

func parsePSAMEF15(p *PSAMInfo, b []byte) error {
	c, err := exact("PSAM EF15", b, lenPSAMEF15)
	if err != nil {
		return err
	}
	copy(p.Serial[:], c.take(10))
	p.Version = c.u8()
	return nil
}

func parsePSAMEF16(p *PSAMInfo, b []byte) error {
	c, err := exact("PSAM EF16", b, lenPSAMEF16)
	if err != nil {
		return err
	}
	p.TID = c.tid()
	return nil
}

func parsePSAMEF17(p *PSAMInfo, b []byte) error {
	c, err := exact("PSAM EF17", b, lenPSAMEF17)
	if err != nil {
		return err
	}
	p.KeyIndex = c.u8()
	copy(p.IssuerID[:], c.take(8))
	return nil
}

// trimPadding drops trailing spaces, 00 and FF.
func trimPadding(b []byte) string {
	n := len(b)
	for n > 0 && (b[n-1] == ' ' || b[n-1] == 0 || b[n-1] == 0xFF) {
		n--
	}
	return string(b[:n])
}

// printable returns the trimmed bytes as text when they are printable
// ASCII, else in hex.
func printable(b []byte) string {
	s := trimPadding(b)
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return fmt.Sprintf("%X", []byte(s))
		}
	}
	return s
}
