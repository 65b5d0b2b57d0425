// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/tlv"
)

// phase is where the selected application is in a transaction.
type phase int

const (
	phaseSelected phase = iota // ADF selected, waiting for GPO
	phaseGPO                   // GPO done, first GENERATE AC allowed
	phaseARQC                  // first GENERATE AC returned ARQC
	phaseDone                  // TC or AAC returned: transaction over
)

// Cryptogram types as in P1 bits 8-7 of GENERATE AC and in the CID.
const (
	acAAC  byte = 0x00
	acTC   byte = 0x40
	acARQC byte = 0x80
)

// Issuer authentication states of a transaction.
const (
	issuerAuthNone   = iota // not performed
	issuerAuthOK            // ARPC verified
	issuerAuthFailed        // ARPC wrong: the second GENERATE AC declines
)

// session is the volatile state of the card between resets.
type session struct {
	pse      bool // the PSE is the current DF
	app      int  // index of the selected application, -1 for none
	phase    phase
	ecPath   bool               // GPO chose the EC path
	afl      []byte             // AFL returned by GPO
	pdolData []byte             // PDOL data of GPO (CDA hash)
	cdol1    map[tlv.Tag][]byte // data of the first GENERATE AC, split from cdol1Raw
	cdol1Raw []byte             // the same, as sent (CDA hash): a copy, never the command buffer
	// arqc is the ARQC of the first GENERATE AC; issuer scripts are
	// accepted while it is set (until the next SELECT).
	arqc       []byte
	issuerAuth int // issuerAuthNone, issuerAuthOK or issuerAuthFailed
	// fddaRecord is the record (SFI 4 record 1, 70[9F4B]) that carries
	// the fDDA signature of a qPBOC GPO whose response it would not fit.
	fddaRecord []byte
	// challenge is the answer of a GET CHALLENGE, valid for the next
	// command only; pinCVR the CVR's offline PIN bits (pin.go).
	challenge []byte
	pinCVR    byte
}

// Card is a simulated PBOC 2.0 contact card with electronic cash. It
// implements apdu.Transport and is safe for concurrent use; APDUs are
// executed one at a time.
type Card struct {
	mu     sync.Mutex
	prof   *Profile // normalised personalisation
	apps   []*app
	pseFCI []byte
	// ppseFCI is the answer to SELECT 2PAY.SYS.DDF01 over the contactless
	// interface; nil when no application is contactless.
	ppseFCI []byte
	// sessCL reports that the current session is on the contactless
	// interface: a command on the other interface starts a new session.
	sessCL bool
	s      session
}

var _ apdu.Transport = (*Card)(nil)

// New personalises a card from p. The profile is validated and copied; p
// is not modified and may be reused.
func New(p *Profile) (*Card, error) {
	if p == nil {
		return nil, &ProfileError{Msg: "nil profile"}
	}
	prof := p.clone()
	apps, err := compile(prof)
	if err != nil {
		return nil, err
	}
	for i, a := range apps {
		psn := a.prof.PANSequence // 0..99 (ParseProfile), BCD as in 5F34
		ck, err := a.imk.Derive(a.alg, a.prof.PAN, byte(psn/10<<4|psn%10))
		if err != nil {
			return nil, fmt.Errorf("cardsim: applications[%d]: derive card keys: %w", i, err)
		}
		a.cardKeys = ck
		if err := a.personaliseODA(); err != nil {
			return nil, fmt.Errorf("cardsim: applications[%d]: offline data authentication: %w", i, err)
		}
	}
	c := &Card{prof: prof, apps: apps, s: session{app: -1}}
	if prof.PSE {
		c.pseFCI = tlv.Encode(tlv.Constructed(tagFCI,
			tlv.TLV{Tag: tagDFName, Value: []byte(pseName)},
			tlv.Constructed(tagFCIProp,
				tlv.TLV{Tag: tagSFI, Value: []byte{0x01}},
				tlv.TLV{Tag: tagLanguage, Value: []byte(prof.Language)})))
	}
	c.ppseFCI = buildPPSE(apps)
	return c, nil
}

// Transmit executes one command APDU and returns the response APDU (data
// and status word). Card-level refusals are status words with a nil error;
// the error is non-nil only when ctx is already done.
func (c *Card) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	return c.transmit(ctx, command, false)
}

// transmit executes one command received on the contact or the
// contactless interface.
func (c *Card) transmit(ctx context.Context, command []byte, contactless bool) ([]byte, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cardsim: transmit: %w", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if contactless != c.sessCL {
		// The card is powered by one interface at a time.
		c.s = session{app: -1}
		c.sessCL = contactless
	}
	return c.execute(command).Bytes(), nil
}

// Reset simulates a power cycle: the selection and any transaction in
// progress are forgotten. Balances, counters and the log persist.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s = session{app: -1}
}

// find returns the application with the given AID (hex, any case).
func (c *Card) find(aid string) *app {
	b, err := hex.DecodeString(aid)
	if err != nil {
		return nil
	}
	for _, a := range c.apps {
		if bytes.Equal(a.aid, b) {
			return a
		}
	}
	return nil
}

// Balance returns the EC balance in minor units (fen) of the application
// with the given AID (hex), or 0 if there is none.
func (c *Card) Balance(aid string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.find(aid); a != nil {
		return a.balance
	}
	return 0
}

// SecondBalance returns the second-currency EC balance (DF79) of the
// application with the given AID (hex), or 0 if there is none.
func (c *Card) SecondBalance(aid string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.find(aid); a != nil && a.second != nil {
		return a.second.balance
	}
	return 0
}

// ATC returns the application transaction counter of the application with
// the given AID (hex), or 0 if there is none.
func (c *Card) ATC(aid string) uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.find(aid); a != nil {
		return a.atc
	}
	return 0
}

// PINTries returns the PIN try counter (9F17) of the application with the
// given AID (hex), or -1 if there is none.
func (c *Card) PINTries(aid string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.find(aid); a != nil {
		return int(a.pinTries)
	}
	return -1
}

// Log returns copies of the transaction log records of the application
// with the given AID (hex), newest first, as READ RECORD SFI 11 returns
// them; nil if there is no such application.
func (c *Card) Log(aid string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.find(aid)
	if a == nil {
		return nil
	}
	out := make([][]byte, len(a.log))
	for i, r := range a.log {
		out[i] = append([]byte(nil), r...)
	}
	return out
}

// Snapshot returns the card's current state as a profile: the
// personalisation with the current EC balances and limits (which issuer
// scripts may have changed), ATCs, last online ATCs, PIN try counters,
// transaction logs and load logs. New(Snapshot()) continues where this card is.
func (c *Card) Snapshot() *Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.prof.clone()
	for i, a := range c.apps {
		ap := &p.Applications[i]
		ap.EC.Balance = bcd.FormatAmount(a.balance)
		ap.ATC = int(a.atc)
		ap.LastOnlineATC = int(a.lastOnlineATC)
		tries := int(a.pinTries)
		ap.PIN.Tries = &tries
		ap.EC.BalanceLimit = bcd.FormatAmount(a.limit)
		ap.EC.SingleLimit = bcd.FormatAmount(a.single)
		ap.EC.ResetThreshold = bcd.FormatAmount(a.threshold)
		if s := a.second; s != nil && ap.EC.SecondCurrency != nil {
			sc := ap.EC.SecondCurrency
			sc.Balance, sc.BalanceLimit = bcd.FormatAmount(s.balance), bcd.FormatAmount(s.limit)
			sc.SingleLimit, sc.ResetThreshold = bcd.FormatAmount(s.single), bcd.FormatAmount(s.threshold)
		}
		ap.Log = nil
		for _, r := range a.log {
			ap.Log = append(ap.Log, strings.ToUpper(hex.EncodeToString(r)))
		}
		ap.LoadLog = nil
		for _, r := range a.loadLog {
			ap.LoadLog = append(ap.LoadLog, strings.ToUpper(hex.EncodeToString(r)))
		}
	}
	return p
}

func sw(s apdu.SW) apdu.Response { return apdu.Response{SW: s} }

// execute runs one APDU with c.mu held.
func (c *Card) execute(raw []byte) apdu.Response {
	// A challenge is good for the command right after GET CHALLENGE.
	challenge := c.s.challenge
	c.s.challenge = nil
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	if cmd.CLA != 0x00 && cmd.CLA != 0x80 && cmd.CLA != 0x84 && !(cmd.CLA == 0x04 && cmd.INS == 0xDA) {
		return sw(apdu.SWCLANotSupported)
	}
	var resp apdu.Response
	switch cmd.INS {
	case 0x84:
		resp = c.withCLA(cmd, 0x00, c.getChallenge)
	case 0x20:
		resp = c.withCLA(cmd, 0x00, func(cmd apdu.Command) apdu.Response { return c.verify(cmd, challenge) })
	case 0xA4:
		resp = c.withCLA(cmd, 0x00, c.selectFile)
	case 0xB2:
		resp = c.withCLA(cmd, 0x00, c.readRecord)
	case 0xA8:
		resp = c.withCLA(cmd, 0x80, c.getProcessingOptions)
	case 0xCA:
		resp = c.withCLA(cmd, 0x80, c.getData)
	case 0xAE:
		resp = c.withCLA(cmd, 0x80, c.generateAC)
	case 0x88:
		resp = c.withCLA(cmd, 0x00, c.internalAuthenticate)
	case 0x82:
		resp = c.withCLA(cmd, 0x00, c.externalAuthenticate)
	case 0xDA:
		resp = c.putData(cmd)
	default:
		return sw(apdu.SWINSNotSupported)
	}
	// A response longer than the terminal's Le is refused with 6Cxx so the
	// terminal can re-issue the command with the exact length (ISO 7816-4).
	if resp.SW == apdu.SWSuccess && cmd.Ne > 0 && len(resp.Data) > cmd.Ne {
		return sw(apdu.SW(0x6C00 | uint16(len(resp.Data)&0xFF)))
	}
	return resp
}

func (c *Card) withCLA(cmd apdu.Command, cla byte, h func(apdu.Command) apdu.Response) apdu.Response {
	if cmd.CLA != cla {
		return sw(apdu.SWCLANotSupported)
	}
	return h(cmd)
}

// selectFile implements SELECT by DF name (P1 04), first (P2 00) or next
// (P2 02) occurrence, with partial AID matching.
func (c *Card) selectFile(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0x04 || (cmd.P2 != 0x00 && cmd.P2 != 0x02) {
		return sw(apdu.SWIncorrectP1P2)
	}
	if len(cmd.Data) == 0 || len(cmd.Data) > 16 {
		return sw(apdu.SWWrongLength)
	}
	if c.sessCL {
		return c.selectContactless(cmd)
	}
	if string(cmd.Data) == pseName {
		if c.pseFCI == nil || cmd.P2 == 0x02 {
			return sw(apdu.SWFileNotFound)
		}
		c.s = session{pse: true, app: -1}
		return apdu.Response{Data: c.pseFCI, SW: apdu.SWSuccess}
	}
	start := 0
	if cmd.P2 == 0x02 && c.s.app >= 0 {
		start = c.s.app + 1
	}
	for i := start; i < len(c.apps); i++ {
		if bytes.HasPrefix(c.apps[i].aid, cmd.Data) {
			c.s = session{app: i, phase: phaseSelected}
			return apdu.Response{Data: c.apps[i].fci, SW: apdu.SWSuccess}
		}
	}
	// A failed SELECT leaves the current selection as it was.
	return sw(apdu.SWFileNotFound)
}

// readRecord implements READ RECORD by SFI (P2 = SFI<<3 | 4).
func (c *Card) readRecord(cmd apdu.Command) apdu.Response {
	rec, sfi := int(cmd.P1), int(cmd.P2>>3)
	if cmd.P2&0x07 != 0x04 || rec == 0 || rec == 0xFF || sfi == 0 || sfi == 31 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if len(cmd.Data) != 0 {
		return sw(apdu.SWWrongLength)
	}
	if c.s.pse {
		if sfi != 1 {
			return sw(apdu.SWFileNotFound)
		}
		if rec > len(c.apps) {
			return sw(apdu.SWRecordNotFound)
		}
		return apdu.Response{Data: c.apps[rec-1].dirRecord, SW: apdu.SWSuccess}
	}
	if c.s.app < 0 {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a := c.apps[c.s.app]
	switch sfi {
	case logSFI, loadLogSFI:
		log := a.log
		if sfi == loadLogSFI {
			log = a.loadLog
		}
		if rec > len(log) {
			return sw(apdu.SWRecordNotFound)
		}
		return apdu.Response{Data: log[rec-1], SW: apdu.SWSuccess}
	case 1, 2:
	case odaSFI:
		if len(a.odaRecords) == 0 {
			return sw(apdu.SWFileNotFound)
		}
	case fddaSFI:
		if c.s.fddaRecord == nil {
			return sw(apdu.SWFileNotFound)
		}
		if rec != 1 || !inAFL(c.s.afl, sfi, rec) {
			return sw(apdu.SWRecordNotFound)
		}
		return apdu.Response{Data: c.s.fddaRecord, SW: apdu.SWSuccess}
	default:
		return sw(apdu.SWFileNotFound)
	}
	if c.s.phase == phaseSelected {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if !inAFL(c.s.afl, sfi, rec) {
		return sw(apdu.SWRecordNotFound)
	}
	data := a.record(sfi, rec)
	if data == nil {
		return sw(apdu.SWRecordNotFound)
	}
	return apdu.Response{Data: data, SW: apdu.SWSuccess}
}

func inAFL(afl []byte, sfi, rec int) bool {
	for i := 0; i+4 <= len(afl); i += 4 {
		if int(afl[i]>>3) == sfi && rec >= int(afl[i+1]) && rec <= int(afl[i+2]) {
			return true
		}
	}
	return false
}

// getProcessingOptions implements GET PROCESSING OPTIONS: it checks the
// PDOL data, increments the ATC and picks the EC or the normal path.
func (c *Card) getProcessingOptions(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.s.app < 0 || c.s.phase != phaseSelected {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if c.sessCL {
		return c.qpbocGPO(cmd)
	}
	a := c.apps[c.s.app]
	obj, err := tlv.ParseSingle(cmd.Data)
	if err != nil || len(tlv.Append(nil, obj.Tag, obj.Value)) != len(cmd.Data) {
		return sw(apdu.SWWrongLength)
	}
	if obj.Tag != tagCommandTmpl {
		return sw(apdu.SWWrongData)
	}
	if len(obj.Value) != a.pdol.Len() {
		return sw(apdu.SWWrongLength)
	}
	var pd map[tlv.Tag][]byte
	if len(a.pdol) > 0 {
		if pd, err = a.pdol.Split(obj.Value); err != nil {
			return sw(apdu.SWWrongLength)
		}
	}
	if a.atc == 0xFFFF {
		// The ATC must never wrap: the application is exhausted.
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a.atc++
	ec := false
	if a.ecEnabled {
		if ind, ok := pd[tagECTermSupprt]; ok && len(ind) == 1 && ind[0] == 0x01 {
			ec = a.ecAllows(pd)
		}
	}
	afl := a.afl(ec)
	c.s.phase, c.s.ecPath, c.s.afl = phaseGPO, ec, afl
	c.s.pdolData = append([]byte(nil), obj.Value...)
	data := make([]byte, 0, 2+len(a.aip)+len(afl))
	data = append(data, a.aip...)
	data = append(data, afl...)
	return apdu.Response{Data: tlv.Append(nil, tagRespFormat1, data), SW: apdu.SWSuccess}
}

// ecAllows reports whether an offline EC payment of the amount in data
// (9F02, and 5F2A when present) fits the balance, the single-transaction
// limit and the application currency.
func (a *app) ecAllows(data map[tlv.Tag][]byte) bool {
	raw, ok := data[tagAmount]
	if !ok {
		return false
	}
	amount, err := bcd.Decode(raw)
	if err != nil {
		return false
	}
	p := a.purse(data[tagTxnCurrency])
	return p != nil && amount <= p.balance && amount <= p.single
}

// getData implements GET DATA for the EC amounts, the counters, the log
// format and the PIN try counter.
func (c *Card) getData(cmd apdu.Command) apdu.Response {
	if len(cmd.Data) != 0 {
		return sw(apdu.SWWrongLength)
	}
	if c.s.app < 0 {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a := c.apps[c.s.app]
	tag := tlv.Tag(uint32(cmd.P1)<<8 | uint32(cmd.P2))
	var v []byte
	switch tag {
	case tagECBalance, tagECLimit, tagECSingle, tagECThreshold:
		if !a.ecEnabled {
			return sw(apdu.SWRefDataNotFound)
		}
		amt := map[tlv.Tag]uint64{tagECBalance: a.balance, tagECLimit: a.limit,
			tagECSingle: a.single, tagECThreshold: a.threshold}[tag]
		v = bcdN(amt, 6)
	case tagEC2Currency, tagEC2Balance, tagEC2Limit, tagEC2Single, tagEC2Threshold:
		s := a.second
		if !a.ecEnabled || s == nil {
			return sw(apdu.SWRefDataNotFound)
		}
		if tag == tagEC2Currency {
			v = s.cur
			break
		}
		amt := map[tlv.Tag]uint64{tagEC2Balance: s.balance, tagEC2Limit: s.limit,
			tagEC2Single: s.single, tagEC2Threshold: s.threshold}[tag]
		v = bcdN(amt, 6)
	case tagATC:
		v = []byte{byte(a.atc >> 8), byte(a.atc)}
	case tagLastOnline:
		v = []byte{byte(a.lastOnlineATC >> 8), byte(a.lastOnlineATC)}
	case tagLogFormat:
		v = a.logFmtRaw
	case tagPINTries:
		v = []byte{a.pinTries}
	case tagLoadLogFmt:
		v = loadLogFormatRaw
	default:
		return sw(apdu.SWRefDataNotFound)
	}
	return apdu.Response{Data: tlv.Append(nil, tag, v), SW: apdu.SWSuccess}
}

// GENERATE AC reference control parameter (P1) bits.
const (
	p1Type byte = 0xC0 // cryptogram type
	p1CDA  byte = 0x10 // CDA signature requested
	p1RFU  byte = 0x2F
)

// generateAC implements the first and second GENERATE AC.
func (c *Card) generateAC(cmd apdu.Command) apdu.Response {
	req := cmd.P1 & p1Type
	if cmd.P2 != 0 || req == 0xC0 || cmd.P1&p1RFU != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.s.app < 0 {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a := c.apps[c.s.app]
	cda := cmd.P1&p1CDA != 0
	if cda && a.oda != odaCDA {
		// Only a card personalised for CDA signs its cryptograms.
		return sw(apdu.SWIncorrectP1P2)
	}
	switch c.s.phase {
	case phaseGPO:
		return c.firstAC(a, req, cda, cmd.Data)
	case phaseARQC:
		return c.secondAC(a, req, cda, cmd.Data)
	default:
		return sw(apdu.SWConditionsNotSatisfied)
	}
}

func (c *Card) firstAC(a *app, req byte, cda bool, command []byte) apdu.Response {
	if len(command) != a.cdol1.Len() {
		return sw(apdu.SWWrongLength)
	}
	// The CDOL1 data outlives this command (the second GENERATE AC, the
	// load log of a script), and the terminal may reuse its command buffer
	// once Transmit returns (apdu.Transport): keep a copy and split that.
	data := append([]byte(nil), command...)
	d, err := a.cdol1.Split(data)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	typ := acARQC
	switch {
	case req == acAAC:
		typ = acAAC
	case req == acTC && c.s.ecPath && a.ecAllows(d):
		typ = acTC
	}
	cvr := []byte{0x03, 0x80 | typ>>2 | c.s.pinCVR, 0x00, 0x00} // 2nd GENERATE AC not requested
	p := a.purse(d[tagTxnCurrency])
	if p == nil {
		p = &a.ecPurse // only a TC (ecAllows) deducts, and it found one
	}
	newBalance := p.balance
	if typ == acTC {
		amount, _ := bcd.Decode(d[tagAmount]) // checked by ecAllows
		newBalance -= amount
	}
	// The IDD (ID 01) carries the application currency's balance.
	iddBalance := a.balance
	if p == &a.ecPurse {
		iddBalance = newBalance
	}
	idd, err := a.balanceIDD(iddBalance)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	var sig *cdaInput
	if cda {
		sig = &cdaInput{un: d[tagUN], parts: [][]byte{c.s.pdolData, data}}
	}
	resp, ac, err := a.respond(typ, cvr, idd, d, sig)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	c.s.cdol1, c.s.cdol1Raw = d, data
	switch typ {
	case acTC:
		p.balance = newBalance
		a.addLog(d, typ)
		c.s.phase = phaseDone
	case acAAC:
		c.s.phase = phaseDone
	default:
		c.s.phase = phaseARQC
		c.s.arqc = ac
	}
	return resp
}

func (c *Card) secondAC(a *app, req byte, cda bool, data []byte) apdu.Response {
	if len(data) != a.cdol2.Len() {
		return sw(apdu.SWWrongLength)
	}
	d2, err := a.cdol2.Split(data)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	// Issuer authentication data asked for in the CDOL2 (tag 91) counts
	// as an EXTERNAL AUTHENTICATE when none was sent; all zeros means
	// the terminal has none.
	ia, hasIA := d2[tagIssuerAuth]
	if hasIA && c.s.issuerAuth == issuerAuthNone && !allZero(ia) {
		c.s.issuerAuth = a.checkIssuerAuth(c.s.arqc, ia)
	}
	arc := d2[tagARC]
	typ := acAAC
	switch {
	case req == acTC && string(arc) == "00" && c.s.issuerAuth != issuerAuthFailed:
		typ = acTC
	case req == acTC && string(arc) == "Y3":
		// Unable to go online, approved offline by the terminal's default
		// action (EMV Book 4 §A6): this card's own rules accept it.
		typ = acTC
	}
	cvr := []byte{0x03, typ | acARQC>>2 | c.s.pinCVR, 0x00, 0x00}
	if s := string(arc); s == "Y3" || s == "Z3" {
		cvr[1] |= 0x01 // unable to go online
	}
	if c.s.issuerAuth == issuerAuthFailed {
		cvr[1] |= 0x08 // issuer authentication performed and failed
	}
	merged := make(map[tlv.Tag][]byte, len(c.s.cdol1)+len(d2))
	for k, v := range c.s.cdol1 {
		merged[k] = v
	}
	for k, v := range d2 {
		merged[k] = v
	}
	var sig *cdaInput
	if cda {
		sig = &cdaInput{un: d2[tagUN], parts: [][]byte{c.s.pdolData, c.s.cdol1Raw, data}}
	}
	idd, err := a.balanceIDD(a.balance)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	resp, _, err := a.respond(typ, cvr, idd, merged, sig)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	if s := string(arc); s != "Y3" && s != "Z3" {
		a.lastOnlineATC = a.atc
	}
	if typ == acTC {
		a.addLog(c.s.cdol1, typ)
	}
	c.s.phase = phaseDone
	return resp
}

// cdaInput is what a CDA signature covers besides the cryptogram: the
// terminal's unpredictable number and the data of the transaction data
// hash (PDOL data, CDOL1 data and, for the second GENERATE AC, CDOL2 data).
type cdaInput struct {
	un    []byte
	parts [][]byte
}

// respond computes the application cryptogram and encodes the GENERATE AC
// response in the application's format, or, when sig is not nil and the
// cryptogram is not an AAC, as a CDA response in format 2 with 9F4B in
// place of 9F26. It returns the response and the cryptogram.
func (a *app) respond(typ byte, cvr, idd []byte, d map[tlv.Tag][]byte, sig *cdaInput) (apdu.Response, []byte, error) {
	iad := make([]byte, 0, 8+len(idd))
	iad = append(iad, 0x07, 0x01, 0x01)
	iad = append(iad, cvr...)
	iad = append(iad, a.algID)
	iad = append(iad, idd...)
	atc := []byte{byte(a.atc >> 8), byte(a.atc)}
	ac, err := a.cryptogram(d, atc, iad)
	if err != nil {
		return apdu.Response{}, nil, err
	}
	cid := tlv.TLV{Tag: tagCID, Value: []byte{typ}}
	atcObj := tlv.TLV{Tag: tagATC, Value: atc}
	iadObj := tlv.TLV{Tag: tagIAD, Value: iad}
	var out []byte
	switch {
	case sig != nil && typ != acAAC:
		// EMV Book 2 §6.6.1: the cryptogram travels inside the signature;
		// the hash covers the response objects other than 9F4B, in order.
		resp := tlv.Encode(cid, atcObj, iadObj)
		parts := append(append([][]byte(nil), sig.parts...), resp)
		hash := pki.TransactionDataHash(a.hashAlg(), parts...)
		sdad, err := pki.SignCDA(a.icc, a.dynamicNumber(), typ, ac, sig.un, hash)
		if err != nil {
			return apdu.Response{}, nil, fmt.Errorf("cardsim: CDA signature: %w", err)
		}
		out = tlv.Encode(tlv.Constructed(tagRespFormat2, cid, atcObj, tlv.TLV{Tag: tagSDAD, Value: sdad}, iadObj))
	case sig != nil || a.format == 2:
		out = tlv.Encode(tlv.Constructed(tagRespFormat2, cid, atcObj, tlv.TLV{Tag: tagAC, Value: ac}, iadObj))
	default:
		v := make([]byte, 0, 1+2+len(ac)+len(iad))
		v = append(v, typ)
		v = append(v, atc...)
		v = append(v, ac...)
		v = append(v, iad...)
		out = tlv.Append(nil, tagRespFormat1, v)
	}
	if len(out) > maxRecordBytes {
		return apdu.Response{}, nil, fmt.Errorf("cardsim: GENERATE AC response of %d bytes", len(out))
	}
	return apdu.Response{Data: out, SW: apdu.SWSuccess}, ac, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// addLog records a transaction in the log, newest first, keeping at most
// MaxLogEntries records.
func (a *app) addLog(d map[tlv.Tag][]byte, cid byte) {
	rec := make([]byte, 0, a.logFmt.Len())
	for _, e := range a.logFmt {
		var v []byte
		switch e.Tag {
		case tagATC:
			v = []byte{byte(a.atc >> 8), byte(a.atc)}
		case tagCID:
			v = []byte{cid}
		default:
			v = d[e.Tag]
		}
		var format tlv.Format
		if info, ok := tlv.Lookup(e.Tag); ok {
			format = info.Format
		}
		rec = tlv.Fit(rec, v, e.Len, format)
	}
	a.log = append([][]byte{rec}, a.log...)
	if len(a.log) > MaxLogEntries {
		a.log = a.log[:MaxLogEntries]
	}
}

// balanceIDD is the issuer discretionary data an EC application puts in
// the IAD of every cryptogram (PBOC: ID 01): 0A 01, the EC balance (5 bytes
// BCD) — after the deduction for an offline approval, as it stands for an
// ARQC or AAC — and its MAC under the session integrity key of the current
// ATC. The cryptogram covers the IAD, so an issuer that verifies the
// cryptogram also learns the balance the card really holds. An application
// without EC puts none.
func (a *app) balanceIDD(balance uint64) ([]byte, error) {
	if !a.ecEnabled {
		return nil, nil
	}
	bal := bcdN(balance, 6)[1:]
	sk, err := keys.SessionKey(a.alg, a.cardKeys.SMI, a.atc)
	if err != nil {
		return nil, err
	}
	mac, err := keys.ScriptMAC(a.alg, sk, bal)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{0x0A, 0x01}, bal...), mac...), nil
}
