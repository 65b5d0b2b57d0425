// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-pboc/pboc/bcd"
)

// PurseProfile personalises a PurseCard, a fuel card with the PBOC ED/EP
// application. Amounts are decimal yuan strings, binary data hex.
//
//	{
//	  "name": "seed fuel card",
//	  "pse": true,                         1PAY.SYS.DDF01 listing the AID
//	  "aid": "A000000003" + "SINOPEC",     hex, 5-16 bytes (default Sinopec)
//	  "label": "SINOPEC",
//	  "issuer_id": "1000000000000001",     EF15, 8 bytes
//	  "app_type": 1, "app_version": 1,
//	  "asn": "10000001000000000001",       EF15 ASN, 20 digits
//	  "start": "20240101", "end": "20351231",
//	  "cardholder": {"card_type": 1, "staff": 0, "name": "ZHANG SAN",
//	                 "id_number": "110101199001011234", "id_type": 0},
//	  "wallets": {                         at least one of ed, ep
//	    "ep": {"balance": "500.00", "limit": "10000.00", "overdraft": "0.00",
//	           "online_sn": 0, "offline_sn": 0}
//	  },
//	  "pin": {"value": "123456", "tries": 3, "ascii": false},
//	  "pin_for_grey": true,                INITIALIZE FOR GREY LOCK needs the PIN
//	  "keys": {"load": "..", "purchase": "..", "unload": "..", "tac": "..",
//	           "unlock": ".."},            16-byte issuer master keys; the card
//	                                       derives its own with the ASN
//	  "key_index": 1, "key_version": 1, "alg": 0,
//	  "records": ["..."],                  EF18, newest first, 23 bytes each
//	  "variant": {"grey_session": "two-step" | "purchase",
//	              "unlock_counters": "next" | "same",
//	              "grey_lock_type": "91"},
//	  "grey": {...}, "proofs": [...]       state, written by Snapshot
//	}
type PurseProfile struct {
	Name       string           `json:"name"`
	PSE        bool             `json:"pse"`
	AID        string           `json:"aid,omitempty"`
	Label      string           `json:"label,omitempty"`
	IssuerID   string           `json:"issuer_id"`
	AppType    int              `json:"app_type"`
	AppVersion int              `json:"app_version"`
	ASN        string           `json:"asn"`
	Start      string           `json:"start"`
	End        string           `json:"end"`
	Cardholder PurseCardholder  `json:"cardholder"`
	Wallets    PurseWallets     `json:"wallets"`
	PIN        PursePIN         `json:"pin"`
	PINForGrey bool             `json:"pin_for_grey"`
	Keys       PurseMasterKeys  `json:"keys"`
	KeyIndex   int              `json:"key_index,omitempty"`
	KeyVersion int              `json:"key_version,omitempty"`
	Alg        int              `json:"alg"`
	Records    []string         `json:"records,omitempty"`
	Variant    PurseVariant     `json:"variant"`
	Grey       *PurseGreyState  `json:"grey,omitempty"`
	Proofs     []PurseProofJSON `json:"proofs,omitempty"`
}

// PurseCardholder is EF16 (41 bytes on the card).
type PurseCardholder struct {
	CardType int    `json:"card_type"`
	Staff    int    `json:"staff"`
	Name     string `json:"name"`      // ASCII, at most 20
	IDNumber string `json:"id_number"` // ASCII, at most 18
	IDType   int    `json:"id_type"`
}

// PurseWallets are the card's wallets; a missing one answers 6A86.
type PurseWallets struct {
	ED *PurseWallet `json:"ed,omitempty"`
	EP *PurseWallet `json:"ep,omitempty"`
}

// PurseWallet is one wallet's balance, limits and counters.
type PurseWallet struct {
	Balance   string `json:"balance"`
	Limit     string `json:"limit"`
	Overdraft string `json:"overdraft,omitempty"`
	OnlineSN  int    `json:"online_sn"`
	OfflineSN int    `json:"offline_sn"`
}

// PursePIN is the card's offline PIN.
type PursePIN struct {
	Value string `json:"value"`
	// Tries is the tries left (default Limit), Limit what a right PIN
	// restores (default 3).
	Tries *int `json:"tries,omitempty"`
	Limit int  `json:"limit,omitempty"`
	ASCII bool `json:"ascii,omitempty"`
}

// PurseMasterKeys are the issuer's master keys, hex.
type PurseMasterKeys struct {
	Load     string `json:"load"`
	Purchase string `json:"purchase"`
	Unload   string `json:"unload"`
	TAC      string `json:"tac"`
	Unlock   string `json:"unlock"`
}

// PurseVariant selects among the readings of the sources that PURSE-NOTES
// marks unverified; the zero value is the default of each.
type PurseVariant struct {
	// GreySession is "two-step" (default: t = 3DES(DPK, random ‖ CTC ‖
	// TTC), SESPK = DES(t, terminal random ‖ 80000000) [JJ]) or
	// "purchase" (the purchase session key).
	GreySession string `json:"grey_session,omitempty"`
	// UnlockCounters is "next" (default: GREY LOCK moves the CTC and DEBIT
	// FOR UNLOCK carries the lock's CTC+1 and TTC+1 [JJ]) or "same".
	UnlockCounters string `json:"unlock_counters,omitempty"`
	// GreyLockType is the type code the grey-lock MAC1 covers ("91",
	// default [JJ]; "92" [YKT]).
	GreyLockType string `json:"grey_lock_type,omitempty"`
}

// PurseGreyState is the card's grey-lock state as Snapshot writes it.
type PurseGreyState struct {
	Status     int    `json:"status"` // 1 grey, 16 TAC unread
	Type       int    `json:"type"`
	Wallet     int    `json:"wallet"`
	Balance    uint32 `json:"balance"`
	CTC        int    `json:"ctc"`
	TTC        uint32 `json:"ttc"`
	TID        string `json:"tid"`
	Time       string `json:"time"`
	Word       string `json:"word"` // MAC2 (grey) or amount (TAC unread)
	TAC        string `json:"tac"`  // GTAC or TAC
	CardRandom string `json:"card_random,omitempty"`
	TermRandom string `json:"terminal_random,omitempty"`
}

// PurseProofJSON is one kept transaction proof (GET TRANSACTION PROVE).
type PurseProofJSON struct {
	Type   int    `json:"type"`
	Serial int    `json:"serial"`
	MAC    string `json:"mac"`
	TAC    string `json:"tac"`
}

//go:embed profiles/fuel.json
var fuelJSON []byte

// DefaultPurseProfile returns the seed fuel card: Sinopec AID with a PSE,
// EP balance 500.00 (limit 10000.00), ED balance 100.00, PIN 123456, and
// test master keys anyone can read (profiles/fuel.json; psam.DefaultProfile
// holds the same purchase and TAC keys).
func DefaultPurseProfile() *PurseProfile {
	p, err := ParsePurseProfile(fuelJSON)
	if err != nil {
		panic("cardsim: embedded fuel profile is invalid: " + err.Error())
	}
	return p
}

// LoadPurseProfile reads and validates a fuel-card profile file.
func LoadPurseProfile(path string) (*PurseProfile, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > MaxProfileSize {
		return nil, &ProfileError{Msg: fmt.Sprintf("%s is %d bytes, more than %d", path, st.Size(), MaxProfileSize)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cardsim: load fuel-card profile: %w", err)
	}
	p, err := ParsePurseProfile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePurseProfile decodes and validates a fuel-card profile. Unknown
// fields are refused; errors are *ProfileError naming the field.
func ParsePurseProfile(b []byte) (*PurseProfile, error) {
	if len(b) > MaxProfileSize {
		return nil, &ProfileError{Msg: fmt.Sprintf("document is %d bytes, more than %d", len(b), MaxProfileSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p PurseProfile
	if err := dec.Decode(&p); err != nil {
		return nil, &ProfileError{Msg: "not a fuel-card profile", Err: err}
	}
	if _, err := compilePurse(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Marshal writes the profile as indented JSON.
func (p *PurseProfile) Marshal() ([]byte, error) {
	if _, err := compilePurse(p); err != nil {
		return nil, err
	}
	return json.MarshalIndent(p, "", "  ")
}

// pursePersonal is a validated profile in the card's own terms.
type pursePersonal struct {
	aid, label, ef15, ef16 []byte
	asn                    [10]byte
	wallets                [3]*purseWallet // index 1 ED, 2 EP
	pin                    []byte          // the VERIFY data that matches
	tries, tryLimit        byte
	masters                [5][]byte // load, purchase, unload, tac, unlock
	keyIndex, keyVersion   byte
	alg                    byte
	records                [][]byte
	greyType               byte
	twoStep, nextCounters  bool
}

func amountField(field, s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	v, err := bcd.ParseAmount(s)
	if err != nil || v > 0xFFFFFFFF {
		return 0, fieldErr(field, "%q is not an amount of at most 42949672.95", s)
	}
	return uint32(v), nil
}

func dateField(field, s string) ([]byte, error) {
	if _, err := time.Parse("20060102", s); err != nil {
		return nil, fieldErr(field, "%q is not a date YYYYMMDD", s)
	}
	b, _ := hex.DecodeString(s)
	return b, nil
}

// compilePurse validates p and fills its defaults.
func compilePurse(p *PurseProfile) (*pursePersonal, error) {
	c := &pursePersonal{}
	if err := c.identity(p); err != nil {
		return nil, err
	}
	if err := c.wallet(p); err != nil {
		return nil, err
	}
	if err := c.secrets(p); err != nil {
		return nil, err
	}
	if err := c.state(p); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *pursePersonal) identity(p *PurseProfile) error {
	if p.AID == "" {
		p.AID = strings.ToUpper(hex.EncodeToString(append([]byte{0xA0, 0, 0, 0, 0x03}, "SINOPEC"...)))
	}
	aid, err := hex.DecodeString(p.AID)
	if err != nil || len(aid) < 5 || len(aid) > 16 {
		return fieldErr("aid", "want 5 to 16 bytes of hex")
	}
	c.aid, c.label = aid, []byte(p.Label)
	issuer, err := hexField("issuer_id", p.IssuerID, 8, 8)
	if err != nil {
		return err
	}
	asn, err := hexField("asn", p.ASN, 10, 10)
	if err != nil || strings.ContainsAny(strings.ToUpper(p.ASN), "ABCDEF") {
		return fieldErr("asn", "want 20 decimal digits")
	}
	copy(c.asn[:], asn)
	start, err := dateField("start", p.Start)
	if err != nil {
		return err
	}
	end, err := dateField("end", p.End)
	if err != nil {
		return err
	}
	if p.AppType < 0 || p.AppType > 255 || p.AppVersion < 0 || p.AppVersion > 255 {
		return fieldErr("app_type", "app_type and app_version are bytes")
	}
	c.ef15 = append(append(append(append(append(issuer, byte(p.AppType), byte(p.AppVersion)), asn...), start...), end...), 0x01, 0x00)
	return c.cardholder(p.Cardholder)
}

func (c *pursePersonal) cardholder(h PurseCardholder) error {
	if len(h.Name) > 20 || len(h.IDNumber) > 18 {
		return fieldErr("cardholder", "name at most 20 and id_number at most 18 characters")
	}
	ef16 := []byte{byte(h.CardType), byte(h.Staff)}
	ef16 = append(ef16, []byte(fmt.Sprintf("%-20s", h.Name))...)
	ef16 = append(ef16, []byte(fmt.Sprintf("%-18s", h.IDNumber))...)
	c.ef16 = append(ef16, byte(h.IDType))
	return nil
}

func (c *pursePersonal) wallet(p *PurseProfile) error {
	for i, w := range []*PurseWallet{p.Wallets.ED, p.Wallets.EP} {
		if w == nil {
			continue
		}
		name := []string{"wallets.ed", "wallets.ep"}[i]
		bal, err := amountField(name+".balance", w.Balance)
		if err != nil {
			return err
		}
		limit, err := amountField(name+".limit", w.Limit)
		if err != nil {
			return err
		}
		od, err := amountField(name+".overdraft", w.Overdraft)
		if err != nil || od > 0xFFFFFF {
			return fieldErr(name+".overdraft", "at most 167772.15")
		}
		if limit == 0 || bal > limit {
			return fieldErr(name+".balance", "%s is above the limit %s", w.Balance, w.Limit)
		}
		if w.OnlineSN < 0 || w.OnlineSN > 0xFFFF || w.OfflineSN < 0 || w.OfflineSN > 0xFFFF {
			return fieldErr(name, "serials are 0 to 65535")
		}
		c.wallets[i+1] = &purseWallet{balance: bal, limit: limit, overdraft: od, onlineSN: uint16(w.OnlineSN), offlineSN: uint16(w.OfflineSN)}
	}
	if c.wallets[1] == nil && c.wallets[2] == nil {
		return fieldErr("wallets", "at least one of ed and ep")
	}
	return nil
}

func (c *pursePersonal) secrets(p *PurseProfile) error {
	pin := p.PIN.Value
	if len(pin) < 4 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "" {
		return fieldErr("pin.value", "4 to 12 digits")
	}
	c.pin = PurseVerifyData(pin, p.PIN.ASCII)
	if p.PIN.Limit == 0 {
		p.PIN.Limit = 3
	}
	if p.PIN.Tries == nil {
		t := p.PIN.Limit
		p.PIN.Tries = &t
	}
	if p.PIN.Limit < 1 || p.PIN.Limit > 15 || *p.PIN.Tries < 0 || *p.PIN.Tries > p.PIN.Limit {
		return fieldErr("pin.tries", "limit 1 to 15, tries 0 to limit")
	}
	c.tries, c.tryLimit = byte(*p.PIN.Tries), byte(p.PIN.Limit)
	for i, k := range []string{p.Keys.Load, p.Keys.Purchase, p.Keys.Unload, p.Keys.TAC, p.Keys.Unlock} {
		b, err := hexField("keys."+[]string{"load", "purchase", "unload", "tac", "unlock"}[i], k, 16, 16)
		if err != nil {
			return err
		}
		c.masters[i] = b
	}
	if p.KeyIndex == 0 {
		p.KeyIndex = 1
	}
	if p.KeyVersion == 0 {
		p.KeyVersion = 1
	}
	if p.KeyIndex > 255 || p.KeyVersion > 255 || p.Alg != 0 {
		return fieldErr("key_index", "key index and version are bytes; alg is 0 (3DES: SM4 is unverified)")
	}
	c.keyIndex, c.keyVersion = byte(p.KeyIndex), byte(p.KeyVersion)
	return nil
}

func (c *pursePersonal) state(p *PurseProfile) error {
	if len(p.Records) > 10 {
		return fieldErr("records", "at most 10")
	}
	for i, r := range p.Records {
		b, err := hexField(fmt.Sprintf("records[%d]", i), r, 23, 23)
		if err != nil {
			return err
		}
		c.records = append(c.records, b)
	}
	v := &p.Variant
	switch v.GreySession {
	case "", "two-step":
		v.GreySession, c.twoStep = "two-step", true
	case "purchase":
	default:
		return fieldErr("variant.grey_session", "two-step or purchase")
	}
	switch v.UnlockCounters {
	case "", "next":
		v.UnlockCounters, c.nextCounters = "next", true
	case "same":
	default:
		return fieldErr("variant.unlock_counters", "next or same")
	}
	if v.GreyLockType == "" {
		v.GreyLockType = "91"
	}
	t, err := hexField("variant.grey_lock_type", v.GreyLockType, 1, 1)
	if err != nil {
		return err
	}
	c.greyType = t[0]
	return nil
}

// PurseVerifyData is the VERIFY data for pin: BCD padded with F (12 34 56
// for 123456, 12 34 5F for 12345), or ASCII.
func PurseVerifyData(pin string, ascii bool) []byte {
	if ascii {
		return []byte(pin)
	}
	out := make([]byte, 0, (len(pin)+1)/2)
	for i := 0; i < len(pin); i += 2 {
		hi := pin[i] - '0'
		lo := byte(0x0F)
		if i+1 < len(pin) {
			lo = pin[i+1] - '0'
		}
		out = append(out, hi<<4|lo)
	}
	return out
}
