// SPDX-License-Identifier: Apache-2.0

// Package psam is a simulated PSAM, the terminal's purchase SAM for PBOC
// ED/EP purses and the fuel grey lock (PURSE-NOTES §4). A PSAM implements
// apdu.Transport: put it in a second reader slot, or hand it to
// purse.OpenPSAM.
//
//	SELECT 3F00 (MF): READ BINARY EF15 (serial 10 ‖ version ‖ key-card
//	  type ‖ command-set version ‖ FCI, 14 bytes), EF16 (terminal ID, 6)
//	SELECT 3F01 (purchase ADF): READ BINARY EF17 (key index ‖ issuer 8 ‖
//	  recipient 8 ‖ start 4 ‖ end 4, 25 bytes)
//	80 70 00 00 1C|24  MAC1 for purchase  → TTC ‖ MAC1
//	80 72 00 00 04     check the card's MAC2
//	E0 40 00 00 1C|24  MAC1 for a grey lock → TTC ‖ terminal random ‖ MAC1
//	E0 42 00 00 04     check the card's grey-lock MAC2
//	E0 44 00 00 0F     GMAC (type 93 ‖ ASN ‖ CTC ‖ amount) → GMAC ‖ PSAM-TAC
//
// The PSAM holds the issuer's purchase master keys (by key version) and
// TAC master key; it diversifies them by the card's ASN (the 8-byte factor
// of the MAC1 data) and, when the data carries a second factor, first by
// that factor (the order is unverified: this is the one chosen). Its TTC
// counts every MAC1. A MAC2 may be checked more than once in its session
// (a terminal re-reads a MAC2 it doubts); the session ends at the next
// MAC1 or a power cycle.
package psam

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/keys"
)

// Profile personalises a PSAM. Binary fields are hex.
type Profile struct {
	// Serial is the PSAM's serial (10 bytes), TID its terminal ID (6).
	Serial string `json:"serial"`
	TID    string `json:"tid"`
	// KeyIndex and IssuerID are EF17's.
	KeyIndex int    `json:"key_index"`
	IssuerID string `json:"issuer_id"`
	// PurchaseKeys maps a key version ("01") to its purchase master key.
	PurchaseKeys map[string]string `json:"purchase_keys"`
	// TACKey is the TAC master key (for the PSAM-TAC).
	TACKey string `json:"tac_key"`
	// TTC is the last terminal transaction serial used.
	TTC uint32 `json:"ttc"`
	// GreySession and UnlockCounters are the card variants
	// (cardsim.PurseVariant): "two-step" or "purchase"; "next" or "same".
	GreySession    string `json:"grey_session,omitempty"`
	UnlockCounters string `json:"unlock_counters,omitempty"`
}

// DefaultProfile is the seed station's PSAM: TID 000000000001, with the
// purchase (version 01) and TAC master keys of the seed fuel card.
func DefaultProfile() *Profile {
	return &Profile{
		Serial: "01000000000000000001", TID: "000000000001", KeyIndex: 1, IssuerID: "1000000000000001",
		PurchaseKeys: map[string]string{"01": "2021222324252627E0E1E2E3E4E5E6E7"},
		TACKey:       "4041424344454647C0C1C2C3C4C5C6C7",
	}
}

// PSAM is the simulated PSAM. It is safe for concurrent use.
type PSAM struct {
	mu      sync.Mutex
	prof    Profile
	serial  [10]byte
	tid     [6]byte
	issuer  [8]byte
	masters map[byte][]byte
	tacKey  []byte
	ttc     uint32
	twoStep bool
	next    bool

	df   uint16 // 3F00 or 3F01 (0: nothing selected)
	sess *session
}

// session is one MAC1's: what its MAC2 check and GMAC need.
type session struct {
	grey      bool
	sk        []byte
	amount    uint32 // purchase amount or locked balance
	factor    [8]byte
	ctc       uint16
	ttc       uint32
	time      [7]byte
	tacKey    []byte
	unlockTTC uint32 // fixed by the first GMAC
	gmacDone  bool
}

var _ apdu.Transport = (*PSAM)(nil)

// New personalises a PSAM from p (copied).
func New(p *Profile) (*PSAM, error) {
	if p == nil {
		return nil, fmt.Errorf("psam: nil profile")
	}
	s := &PSAM{prof: *p, masters: map[byte][]byte{}, ttc: p.TTC}
	s.prof.PurchaseKeys = map[string]string{}
	for _, f := range []struct {
		v   string
		dst []byte
	}{{p.Serial, s.serial[:]}, {p.TID, s.tid[:]}, {p.IssuerID, s.issuer[:]}} {
		b, err := hex.DecodeString(f.v)
		if err != nil || len(b) != len(f.dst) {
			return nil, fmt.Errorf("psam: %q is not %d bytes of hex", f.v, len(f.dst))
		}
		copy(f.dst, b)
	}
	for v, k := range p.PurchaseKeys {
		vb, err1 := hex.DecodeString(v)
		kb, err2 := hex.DecodeString(k)
		if err1 != nil || err2 != nil || len(vb) != 1 || len(kb) != 16 {
			return nil, fmt.Errorf("psam: purchase key %q: want a version byte and 16 bytes", v)
		}
		s.masters[vb[0]], s.prof.PurchaseKeys[v] = kb, k
	}
	var err error
	if s.tacKey, err = hex.DecodeString(p.TACKey); err != nil || len(s.tacKey) != 16 {
		return nil, fmt.Errorf("psam: tac_key: want 16 bytes of hex")
	}
	if p.KeyIndex < 1 || p.KeyIndex > 255 {
		return nil, fmt.Errorf("psam: key_index %d", p.KeyIndex)
	}
	s.twoStep = p.GreySession == "" || p.GreySession == "two-step"
	s.next = p.UnlockCounters == "" || p.UnlockCounters == "next"
	if !s.twoStep && p.GreySession != "purchase" || !s.next && p.UnlockCounters != "same" {
		return nil, fmt.Errorf("psam: variant %q/%q", p.GreySession, p.UnlockCounters)
	}
	return s, nil
}

// Transmit executes one command APDU.
func (s *PSAM) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	if ctx != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("psam: %w", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.execute(command).Bytes(), nil
}

// Reset is a power cycle: the selection and the session are lost, the TTC
// is kept.
func (s *PSAM) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.df, s.sess = 0, nil
}

// TTC returns the last terminal transaction serial.
func (s *PSAM) TTC() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ttc
}

// Snapshot returns the profile with the current TTC.
func (s *PSAM) Snapshot() *Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.prof
	p.TTC = s.ttc
	b, _ := json.Marshal(p)
	var out Profile
	_ = json.Unmarshal(b, &out)
	return &out
}

func sw(v apdu.SW) apdu.Response { return apdu.Response{SW: v} }

type handler func(s *PSAM, c apdu.Command) apdu.Response

var commands = map[[2]byte]handler{
	{0x00, 0xA4}: (*PSAM).selectFile,
	{0x00, 0xB0}: (*PSAM).readBinary,
	{0x80, 0x70}: (*PSAM).mac1,
	{0xE0, 0x40}: (*PSAM).mac1,
	{0x80, 0x72}: (*PSAM).checkMAC2,
	{0xE0, 0x42}: (*PSAM).checkMAC2,
	{0xE0, 0x44}: (*PSAM).gmac,
}

func (s *PSAM) execute(raw []byte) apdu.Response {
	c, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	h, ok := commands[[2]byte{c.CLA, c.INS}]
	if !ok {
		return sw(apdu.SWINSNotSupported)
	}
	if c.INS != 0xA4 && c.INS != 0xB0 && s.df != 0x3F01 {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	return h(s, c)
}

func (s *PSAM) selectFile(c apdu.Command) apdu.Response {
	if c.P1 != 0 || c.P2 != 0 || len(c.Data) != 2 {
		return sw(apdu.SWIncorrectP1P2)
	}
	fid := binary.BigEndian.Uint16(c.Data)
	if fid != 0x3F00 && fid != 0x3F01 {
		return sw(apdu.SWFileNotFound)
	}
	s.df, s.sess = fid, nil
	return sw(apdu.SWSuccess)
}

func (s *PSAM) readBinary(c apdu.Command) apdu.Response {
	if c.P1&0x80 == 0 || c.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	var f []byte
	switch {
	case s.df == 0x3F00 && c.P1&0x1F == 0x15:
		f = append(append(append([]byte{}, s.serial[:]...), 0x01, 0x01, 0x01), 0x00)
	case s.df == 0x3F00 && c.P1&0x1F == 0x16:
		f = s.tid[:]
	case s.df == 0x3F01 && c.P1&0x1F == 0x17:
		f = append([]byte{byte(s.prof.KeyIndex)}, s.issuer[:]...)
		f = append(f, s.issuer[:]...)                                 // recipient
		f = append(f, 0x20, 0x24, 0x01, 0x01, 0x20, 0x35, 0x12, 0x31) // start, end
	default:
		return sw(apdu.SWFileNotFound)
	}
	if c.Ne > 0 && c.Ne < len(f) {
		f = f[:c.Ne]
	}
	return apdu.Response{Data: f, SW: apdu.SWSuccess}
}

// cardKey diversifies the master key by the second factor (if any) and
// then by the card's.
func cardKey(master []byte, factor, second []byte) ([]byte, error) {
	k := master
	if second != nil {
		var err error
		if k, err = keys.DiversifyPurseKey(k, second); err != nil {
			return nil, err
		}
	}
	return keys.DiversifyPurseKey(k, factor)
}

// mac1 is 80 70 (purchase) and E0 40 (grey lock): card random ‖ CTC ‖
// amount ‖ type ‖ datetime ‖ key version ‖ alg ‖ factor [‖ factor 2].
func (s *PSAM) mac1(c apdu.Command) apdu.Response {
	if c.P1 != 0 || c.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	d := c.Data
	if len(d) != 28 && len(d) != 36 {
		return sw(apdu.SWWrongLength)
	}
	s.sess = nil
	cardRand, ctc, amount, typ := [4]byte(d[:4]), binary.BigEndian.Uint16(d[4:6]), binary.BigEndian.Uint32(d[6:10]), d[10]
	when, kv, alg, factor := [7]byte(d[11:18]), d[18], d[19], [8]byte(d[20:28])
	var second []byte
	if len(d) == 36 {
		second = d[28:36]
	}
	master, ok := s.masters[kv]
	if !ok || alg != 0x00 {
		return sw(0x9403) // key not found
	}
	dpk, err := cardKey(master, factor[:], second)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	grey := c.CLA == 0xE0
	s.ttc++
	ss := &session{grey: grey, amount: amount, factor: factor, ctc: ctc, ttc: s.ttc, time: when}
	if ss.tacKey, err = keys.DiversifyPurseKey(s.tacKey, factor[:]); err != nil {
		return sw(apdu.SWUnknown)
	}
	var out []byte
	if grey {
		return s.greyMAC1(ss, dpk, cardRand, typ)
	}
	if ss.sk, err = keys.PurseSessionKey(dpk, keys.OfflineSessionInput(cardRand, ctc, s.ttc)); err != nil {
		return sw(apdu.SWUnknown)
	}
	mac, err := keys.PurseMAC(ss.sk, keys.PurchaseMAC1Data(amount, typ, s.tid[:], when[:]))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	s.sess = ss
	out = binary.BigEndian.AppendUint32(out, s.ttc)
	return apdu.Response{Data: append(out, mac...), SW: apdu.SWSuccess}
}

func (s *PSAM) greyMAC1(ss *session, dpk []byte, cardRand [4]byte, typ byte) apdu.Response {
	termRand := s.random(ss)
	var err error
	if s.twoStep {
		ss.sk, err = keys.GreyLockSessionKey(dpk, cardRand, ss.ctc, ss.ttc, termRand)
	} else {
		ss.sk, err = keys.PurseSessionKey(dpk, keys.OfflineSessionInput(cardRand, ss.ctc, ss.ttc))
	}
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	mac, err := keys.PurseMAC(ss.sk, keys.GreyLockMAC1Data(typ, s.tid[:], ss.time[:]))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	s.sess = ss
	out := binary.BigEndian.AppendUint32(nil, ss.ttc)
	out = append(out, termRand[:]...)
	return apdu.Response{Data: append(out, mac...), SW: apdu.SWSuccess}
}

// random is the terminal random of a grey lock: deterministic from the
// PSAM and the session, so that runs replay.
func (s *PSAM) random(ss *session) [4]byte {
	h := sha256.New()
	h.Write(s.serial[:])
	h.Write(ss.factor[:])
	h.Write(binary.BigEndian.AppendUint32(nil, ss.ttc))
	return [4]byte(h.Sum(nil)[:4])
}

// checkMAC2 checks the card's MAC2 of the session's purchase (80 72) or
// grey lock (E0 42).
func (s *PSAM) checkMAC2(c apdu.Command) apdu.Response {
	if c.P1 != 0 || c.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if len(c.Data) != 4 {
		return sw(apdu.SWWrongLength)
	}
	ss := s.sess
	if ss == nil || ss.grey != (c.CLA == 0xE0) {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	data := keys.PurchaseMAC2Data(ss.amount)
	if ss.grey {
		data = keys.GreyLockMAC2Data(ss.amount)
	}
	if ok, _ := keys.VerifyPurseMAC(ss.sk, data, c.Data); !ok {
		return sw(0x9302)
	}
	return sw(apdu.SWSuccess)
}

// gmac is E0 44: type 93 ‖ factor ‖ CTC ‖ amount → GMAC ‖ PSAM-TAC. The
// GMAC is the session key's MAC of the command data; the PSAM-TAC is the
// TAC the card's DEBIT FOR UNLOCK will answer (amount ‖ 93 ‖ TID ‖ TTC of
// the unlock ‖ the lock's datetime).
func (s *PSAM) gmac(c apdu.Command) apdu.Response {
	if c.P1 != 0 || c.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	d := c.Data
	if len(d) != 15 {
		return sw(apdu.SWWrongLength)
	}
	ss := s.sess
	if ss == nil || !ss.grey {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if d[0] != 0x93 || [8]byte(d[1:9]) != ss.factor || binary.BigEndian.Uint16(d[9:11]) != ss.ctc {
		return sw(apdu.SWWrongData) // not the locked card, or not its lock
	}
	amount := binary.BigEndian.Uint32(d[11:15])
	if !ss.gmacDone {
		ss.unlockTTC, ss.gmacDone = ss.ttc, true
		if s.next {
			s.ttc++
			ss.unlockTTC = s.ttc
		}
	}
	gmac, err := keys.PurseMAC(ss.sk, keys.GMACData(0x93, ss.factor[:], ss.ctc, amount))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	tac, err := keys.PurseTAC(ss.tacKey, keys.OfflineTACData(amount, 0x93, s.tid[:], ss.unlockTTC, ss.time[:]))
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	return apdu.Response{Data: append(gmac, tac...), SW: apdu.SWSuccess}
}

// ForCard is the profile of a PSAM for the cards of p's issuer: the
// default PSAM with p's purchase master key (under p's key version), its
// TAC master key and its variants, and the terminal ID tid (12 hex digits;
// "" keeps 000000000001).
func ForCard(p *cardsim.PurseProfile, tid string) *Profile {
	out := DefaultProfile()
	out.PurchaseKeys = map[string]string{fmt.Sprintf("%02X", p.KeyVersion): p.Keys.Purchase}
	out.TACKey, out.GreySession, out.UnlockCounters = p.Keys.TAC, p.Variant.GreySession, p.Variant.UnlockCounters
	if tid != "" {
		out.TID, out.Serial = tid, "01000000000000"+tid[len(tid)-6:]
	}
	return out
}
