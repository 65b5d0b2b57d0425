// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/tlv"
)

// PurseCard is a simulated fuel card: the PBOC electronic deposit /
// electronic purse (ED/EP) application with the fuel grey lock, as
// PURSE-NOTES.md describes it. It implements apdu.Transport, is strict
// about every command (class, parameters, lengths, order) and computes the
// real MACs with card keys it diversifies from the profile's master keys by
// its ASN:
//
//	SELECT 1PAY.SYS.DDF01 / AID; READ BINARY EF15 (30), EF16 (41);
//	READ RECORD EF18 (cyclic, 10 × 23, 1 = newest); VERIFY;
//	GET BALANCE (the ED needs the PIN);
//	INITIALIZE FOR LOAD / PURCHASE / UNLOAD, CREDIT FOR LOAD,
//	DEBIT FOR PURCHASE / UNLOAD (9302 on a wrong MAC, 9401 balance,
//	6985 over the limit or while grey, 6982 without the PIN where needed);
//	GET TRANSACTION PROVE (the last online and offline transactions of each
//	wallet, else 9406);
//	GET GREY STATUS, INITIALIZE FOR GREY LOCK, GREY LOCK, DEBIT FOR
//	UNLOCK, INITIALIZE FOR ONLINE UNLOCK, ONLINE UNLOCK.
//
// The PIN, once verified, holds until the card is reset or reselected. The
// card refuses to lock twice and refuses loads, unloads and purchases while
// grey. It is safe for concurrent use.
type PurseCard struct {
	mu      sync.Mutex
	prof    *PurseProfile
	c       *pursePersonal
	keys    [5][]byte // load, purchase, unload, tac, unlock: this card's
	grey    purseGrey
	proofs  []purseProof
	records [][]byte
	s       purseSession
	nonce   uint64
}

var _ apdu.Transport = (*PurseCard)(nil)

type purseWallet struct {
	balance, limit, overdraft uint32
	onlineSN, offlineSN       uint16
}

type purseGrey struct {
	status, typ, wallet byte
	balance             uint32
	ctc                 uint16
	ttc                 uint32
	tid                 [6]byte
	time                [7]byte
	word, tac           [4]byte
	cardRand, termRand  [4]byte
}

type purseProof struct {
	typ    byte
	serial uint16
	mac    [4]byte
	tac    [4]byte
}

// purseSession is what a power cycle forgets.
type purseSession struct {
	app   bool // the application is selected (else the PSE or nothing)
	pse   bool
	pinOK bool
	init  *purseInit
}

// purseInit is a pending INITIALIZE.
type purseInit struct {
	op      byte // purseOpLoad, …
	wallet  byte
	typ     byte
	amount  uint32
	tid     [6]byte
	random  [4]byte
	sk      []byte // online operations: the session key
	balance uint32
	serial  uint16 // online serial or CTC at INITIALIZE
}

const (
	purseOpLoad byte = iota + 1
	purseOpUnload
	purseOpPurchase
	purseOpGrey
	purseOpUnlock
)

// Key slots.
const (
	keyLoad = iota
	keyPurchase
	keyUnload
	keyTAC
	keyUnlock
)

// Status words of the purse.
const (
	swMACError     apdu.SW = 0x9302
	swInsufficient apdu.SW = 0x9401
	swKeyNotFound  apdu.SW = 0x9403
	swNoProof      apdu.SW = 0x9406
)

// NewPurseCard personalises a fuel card from p (validated and copied).
func NewPurseCard(p *PurseProfile) (*PurseCard, error) {
	if p == nil {
		return nil, &ProfileError{Msg: "nil profile"}
	}
	b, err := json2(p)
	if err != nil {
		return nil, err
	}
	prof, err := ParsePurseProfile(b)
	if err != nil {
		return nil, err
	}
	c, _ := compilePurse(prof)
	card := &PurseCard{prof: prof, c: c, records: c.records}
	factor := c.asn[2:]
	for i, m := range c.masters {
		if card.keys[i], err = keys.DiversifyPurseKey(m, factor); err != nil {
			return nil, fmt.Errorf("cardsim: purse key %d: %w", i, err)
		}
	}
	if err := card.restore(prof); err != nil {
		return nil, err
	}
	return card, nil
}

// Transmit executes one command APDU. The error is non-nil only when ctx
// is done.
func (p *PurseCard) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cardsim: transmit: %w", err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.execute(command).Bytes(), nil
}

// Reset simulates a power cycle: the selection, the PIN and any pending
// INITIALIZE are forgotten; balances, counters, records and the grey lock
// persist.
func (p *PurseCard) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.s = purseSession{}
}

// purseHandler executes one command with p.mu held.
type purseHandler func(p *PurseCard, c apdu.Command) apdu.Response

// purseCommands is the card's instruction table, by CLA and INS.
var purseCommands = map[[2]byte]purseHandler{
	{0x00, 0xA4}: (*PurseCard).selectFile,
	{0x00, 0xB0}: (*PurseCard).readBinary,
	{0x00, 0xB2}: (*PurseCard).readRecord,
	{0x00, 0x20}: (*PurseCard).verify,
	{0x80, 0x5C}: (*PurseCard).getBalance,
	{0x80, 0x50}: (*PurseCard).initialize,
	{0x80, 0x52}: (*PurseCard).creditForLoad,
	{0x80, 0x54}: (*PurseCard).debit,
	{0x80, 0x5A}: (*PurseCard).transactionProve,
	{0xE0, 0xCA}: (*PurseCard).greyStatus,
	{0xE0, 0x7A}: (*PurseCard).initGrey,
	{0xE0, 0x7C}: (*PurseCard).greyLock,
	{0xE0, 0x7E}: (*PurseCard).unlock,
}

func (p *PurseCard) execute(raw []byte) apdu.Response {
	c, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	h, ok := purseCommands[[2]byte{c.CLA, c.INS}]
	if !ok {
		for k := range purseCommands {
			if k[1] == c.INS {
				return sw(apdu.SWCLANotSupported)
			}
		}
		return sw(apdu.SWINSNotSupported)
	}
	if c.INS != 0xA4 && !p.s.app && !(c.INS == 0xB2 && p.s.pse) {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	resp := h(p, c)
	if resp.SW == apdu.SWSuccess && c.Ne > 0 && len(resp.Data) > c.Ne {
		return sw(apdu.SW(0x6C00 | uint16(len(resp.Data)&0xFF)))
	}
	return resp
}

// selectFile selects the PSE or the application by name.
func (p *PurseCard) selectFile(c apdu.Command) apdu.Response {
	if c.P1 != 0x04 || c.P2 != 0x00 {
		return sw(apdu.SWIncorrectP1P2)
	}
	switch {
	case string(c.Data) == pseName && p.prof.PSE:
		p.s = purseSession{pse: true}
		fci := tlv.Encode(tlv.Constructed(tagFCI, tlv.TLV{Tag: tagDFName, Value: []byte(pseName)},
			tlv.Constructed(tagFCIProp, tlv.TLV{Tag: tagSFI, Value: []byte{0x01}})))
		return apdu.Response{Data: fci, SW: apdu.SWSuccess}
	case len(c.Data) >= 5 && bytes.HasPrefix(p.c.aid, c.Data):
		p.s = purseSession{app: true}
		fci := tlv.Encode(tlv.Constructed(tagFCI, tlv.TLV{Tag: tagDFName, Value: p.c.aid},
			tlv.Constructed(tagFCIProp, tlv.TLV{Tag: tagAppVersion, Value: []byte{0x02}})))
		return apdu.Response{Data: fci, SW: apdu.SWSuccess}
	}
	return sw(apdu.SWFileNotFound)
}

// readBinary reads EF15 or EF16 by SFI.
func (p *PurseCard) readBinary(c apdu.Command) apdu.Response {
	if c.P1&0x80 == 0 || c.P2 != 0 || len(c.Data) != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	var f []byte
	switch c.P1 & 0x1F {
	case 0x15:
		f = p.c.ef15
	case 0x16:
		f = p.c.ef16
	default:
		return sw(apdu.SWFileNotFound)
	}
	if c.Ne > 0 && c.Ne < len(f) {
		f = f[:c.Ne]
	}
	return apdu.Response{Data: f, SW: apdu.SWSuccess}
}

// readRecord reads the PSE directory (SFI 1) or EF18.
func (p *PurseCard) readRecord(c apdu.Command) apdu.Response {
	n, sfi := int(c.P1), c.P2>>3
	if c.P2&0x07 != 0x04 || n == 0 || len(c.Data) != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	switch {
	case p.s.pse && sfi == 1:
		if n != 1 {
			return sw(apdu.SWRecordNotFound)
		}
		entry := []tlv.TLV{{Tag: tagAID, Value: p.c.aid}}
		if len(p.c.label) > 0 {
			entry = append(entry, tlv.TLV{Tag: tagLabel, Value: p.c.label})
		}
		return apdu.Response{Data: tlv.Encode(tlv.Constructed(tagRecord, tlv.Constructed(tagDirEntry, entry...))), SW: apdu.SWSuccess}
	case p.s.app && sfi == 0x18:
		if n > len(p.records) {
			return sw(apdu.SWRecordNotFound)
		}
		return apdu.Response{Data: p.records[n-1], SW: apdu.SWSuccess}
	case !p.s.app && !p.s.pse:
		return sw(apdu.SWConditionsNotSatisfied)
	}
	return sw(apdu.SWFileNotFound)
}

// verify checks the offline PIN.
func (p *PurseCard) verify(c apdu.Command) apdu.Response {
	if c.P1 != 0 || c.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if p.c.tries == 0 {
		return sw(apdu.SWAuthMethodBlocked)
	}
	if !keys.Equal(c.Data, p.c.pin) {
		p.c.tries--
		p.s.pinOK = false
		if p.c.tries == 0 {
			return sw(apdu.SWAuthMethodBlocked)
		}
		return sw(apdu.SW(0x63C0 | uint16(p.c.tries)))
	}
	p.c.tries = p.c.tryLimit
	p.s.pinOK = true
	return sw(apdu.SWSuccess)
}

// wallet returns the wallet P2 names, or nil.
func (p *PurseCard) wallet(p2 byte) *purseWallet {
	if p2 == 1 || p2 == 2 {
		return p.c.wallets[p2]
	}
	return nil
}

// getBalance answers the wallet's balance.
func (p *PurseCard) getBalance(c apdu.Command) apdu.Response {
	w := p.wallet(c.P2)
	if c.P1 != 0 || w == nil {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.P2 == 1 && !p.s.pinOK {
		return sw(apdu.SWSecurityNotSatisfied)
	}
	return apdu.Response{Data: u32(w.balance), SW: apdu.SWSuccess}
}

// random returns the card's next random: deterministic from the card's
// identity and counters, so that a run can be replayed.
func (p *PurseCard) random() [4]byte {
	p.nonce++
	var in [10 + 8 + 8]byte
	copy(in[:], p.c.asn[:])
	binary.BigEndian.PutUint64(in[10:], p.nonce)
	for i, w := range p.c.wallets[1:] {
		if w != nil {
			binary.BigEndian.PutUint16(in[18+4*i:], w.onlineSN)
			binary.BigEndian.PutUint16(in[20+4*i:], w.offlineSN)
		}
	}
	h := sha256.Sum256(in[:])
	return [4]byte(h[:4])
}

// addRecord puts a transaction record in EF18 (newest first, 10 kept).
func (p *PurseCard) addRecord(serial uint16, overdraft, amount uint32, typ byte, tid [6]byte, when []byte) {
	r := make([]byte, 0, 23)
	r = append(r, byte(serial>>8), byte(serial))
	r = append(r, byte(overdraft>>16), byte(overdraft>>8), byte(overdraft))
	r = append(r, u32(amount)...)
	r = append(r, typ)
	r = append(r, tid[:]...)
	r = append(r, when...)
	p.records = append([][]byte{r}, p.records...)
	if len(p.records) > 10 {
		p.records = p.records[:10]
	}
}

// keep remembers the proof of a transaction for GET TRANSACTION PROVE:
// the last of each type's counter family is enough (the terminal asks for
// the one it lost).
func (p *PurseCard) keep(pr purseProof) {
	out := p.proofs[:0]
	for _, q := range p.proofs {
		if q.typ != pr.typ {
			out = append(out, q)
		}
	}
	p.proofs = append(out, pr)
	if len(p.proofs) > 8 {
		p.proofs = p.proofs[len(p.proofs)-8:]
	}
}

func u32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// Balance returns the wallet's balance in fen (1 ED, 2 EP).
func (p *PurseCard) Balance(wallet byte) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.wallet(wallet); w != nil {
		return w.balance
	}
	return 0
}

// Serials returns the wallet's online and offline serials.
func (p *PurseCard) Serials(wallet byte) (online, offline uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.wallet(wallet); w != nil {
		return w.onlineSN, w.offlineSN
	}
	return 0, 0
}

// Grey returns the grey status byte (0 none, 1 grey, 0x10 TAC unread).
func (p *PurseCard) Grey() byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grey.status
}

// ASN returns the card's ASN digits.
func (p *PurseCard) ASN() string { return strings.ToUpper(hex.EncodeToString(p.c.asn[:])) }

// Snapshot returns the card's state as a profile; NewPurseCard of it
// continues where this card is (a power cycle in between).
func (p *PurseCard) Snapshot() *PurseProfile {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json2(p.prof)
	out, _ := ParsePurseProfile(b)
	for i, w := range []*PurseWallet{out.Wallets.ED, out.Wallets.EP} {
		if s := p.c.wallets[i+1]; w != nil && s != nil {
			w.Balance, w.OnlineSN, w.OfflineSN = bcd.FormatAmount(uint64(s.balance)), int(s.onlineSN), int(s.offlineSN)
		}
	}
	tries := int(p.c.tries)
	out.PIN.Tries = &tries
	out.Records = nil
	for _, r := range p.records {
		out.Records = append(out.Records, strings.ToUpper(hex.EncodeToString(r)))
	}
	out.Grey, out.Proofs = p.greyJSON(), nil
	for _, pr := range p.proofs {
		out.Proofs = append(out.Proofs, PurseProofJSON{Type: int(pr.typ), Serial: int(pr.serial),
			MAC: hex.EncodeToString(pr.mac[:]), TAC: hex.EncodeToString(pr.tac[:])})
	}
	return out
}
