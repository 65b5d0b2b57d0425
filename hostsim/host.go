// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// Response codes (ISO 8583 field 39, tag 8A) the host answers with.
const (
	// CodeApproved approves the transaction.
	CodeApproved = "00"
	// CodeCryptogramFailure ("do not honour") declines a request whose ARQC
	// does not verify; the response has no tag 91.
	CodeCryptogramFailure = "05"
	// CodeInvalidTransaction declines a request whose 9C does not match its kind.
	CodeInvalidTransaction = "12"
	// CodeInvalidAmount declines a request whose 9F02 differs from its
	// amount, or a load of zero.
	CodeInvalidAmount = "13"
	// CodeNoSuchAccount declines an unknown PAN.
	CodeNoSuchAccount = "14"
	// CodeFormatError declines a malformed request (field 55, EC amounts).
	CodeFormatError = "30"
	// CodeInsufficientFunds declines when the account cannot pay.
	CodeInsufficientFunds = "51"
	// CodeWrongPIN declines a wrong or missing PIN.
	CodeWrongPIN = "55"
	// CodeExceedsLimit declines a load that would take the EC balance above
	// the EC balance limit (9F77).
	CodeExceedsLimit = "61"
	// CodeSystemError declines when the host itself is misconfigured (a bad
	// PIN key).
	CodeSystemError = "96"
)

// EC data element tags used in scripts.
const (
	// TagECBalance is 9F79, the EC balance.
	TagECBalance uint16 = 0x9F79
	// TagSecondECBalance is DF79, the second-currency EC balance (PBOC 3.0).
	TagSecondECBalance uint16 = 0xDF79
	// TagECBalanceLimit is 9F77, the EC balance limit.
	TagECBalanceLimit uint16 = 0x9F77
	// TagECSingleLimit is 9F78, the EC single-transaction limit.
	TagECSingleLimit uint16 = 0x9F78
	// TagECResetThreshold is 9F6D, the EC reset threshold.
	TagECResetThreshold uint16 = 0x9F6D
)

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	// ErrUnreachable is returned by Authorize while the host is set
	// unreachable: the terminal cannot go online.
	ErrUnreachable = errors.New("hostsim: host unreachable")
	// ErrAccount reports an account that cannot be added (bad PAN, PSN,
	// algorithm or keys, or a PAN already present).
	ErrAccount = errors.New("hostsim: invalid account")
	// ErrUnknownPAN reports a PAN the host has no account for.
	ErrUnknownPAN = errors.New("hostsim: unknown PAN")
	// ErrUpdate reports a parameter update that cannot be sent as a script.
	ErrUpdate = errors.New("hostsim: invalid parameter update")
	// ErrRequest reports a nil request.
	ErrRequest = errors.New("hostsim: nil request")
)

// Account is a back-office card account.
type Account struct {
	// PAN is the card's PAN, 12 to 19 digits.
	PAN string
	// PSN is the PAN sequence number as in 5F34 (BCD: 0x01 for 01).
	PSN byte
	// Alg is the card's cryptogram algorithm (keys.TDES or keys.SM4).
	Alg keys.Alg
	// Keys are the issuer master keys the card keys are derived from.
	Keys keys.IssuerKeys
	// PIN is the cardholder's online PIN; empty means no PIN is set, so
	// every PIN block is wrong.
	PIN string
	// Balance is the back-office account purchases and designated loads
	// draw from, in minor units.
	Balance kernel.Amount
}

// String describes the account without its PIN and keys, with the PAN masked.
func (a Account) String() string {
	return fmt.Sprintf("account %s/%02X %v balance %s", tlv.MaskPAN(a.PAN), a.PSN, a.Alg, a.Balance)
}

// GoString is String, so that %#v does not print the PIN and keys either.
func (a Account) GoString() string { return a.String() }

// clone returns a copy of a that shares no key memory with it.
func (a Account) clone() Account {
	a.Keys = keys.IssuerKeys{
		AC:  append([]byte(nil), a.Keys.AC...),
		SMI: append([]byte(nil), a.Keys.SMI...),
		SMC: append([]byte(nil), a.Keys.SMC...),
	}
	return a
}

// Entry is one line of the host's ledger: what it did with one request.
type Entry struct {
	// Seq numbers the entries from 1.
	Seq int
	// PAN is the masked PAN.
	PAN string
	// Kind is the request kind.
	Kind kernel.RequestKind
	// Amount is the request amount.
	Amount kernel.Amount
	// TopUp is the request's top-up flag.
	TopUp bool
	// ATC is the card's ATC (9F36), 0 when field 55 could not be read.
	ATC uint16
	// ResponseCode is the response code sent.
	ResponseCode string
	// AuthCode is the authorisation code sent ("" on a decline).
	AuthCode string
	// Debit is what was drawn from the account (purchase, refill, load).
	Debit kernel.Amount
	// Credit is what a reversal gave back to the account.
	Credit kernel.Amount
	// Refill is the part of Debit that refilled the EC balance on a top-up.
	Refill kernel.Amount
	// ScriptBalance is the EC balance (9F79) the balance script sets, nil
	// when no balance script was sent.
	ScriptBalance *kernel.Amount
	// Updates lists the tags of the queued parameter updates sent.
	Updates []uint16
	// Balance is the account balance after the request.
	Balance kernel.Amount
	// Replay is set when the request repeated an answered one and got the
	// stored response without any new effect.
	Replay bool
	// Note says why, for declines and for approvals without a top-up.
	Note string
}

// update is a queued EC parameter update.
type update struct {
	tag   uint16
	value []byte
}

// account is the host's state for one PAN.
type account struct {
	Account
	pending []update
}

// replayKey identifies an answered request.
type replayKey struct {
	pan  string
	atc  uint16
	arqc [keys.CryptogramLen]byte
}

// Option configures a Host.
type Option func(*Host)

// WithScriptsBeforeCompletion sends the host's PUT DATA scripts in template
// 71, run by the terminal before the second GENERATE AC, instead of 72
// (after it). The card's second cryptogram then carries, in its IAD, the EC
// balance after the script, which proves the script's outcome at once.
func WithScriptsBeforeCompletion() Option { return func(h *Host) { h.scriptTemplate = tagScript71 } }

// WithPINKey sets the key online PIN blocks are enciphered with (shared with
// the PIN pad): keys.TDES with an 8-byte format-0 block or keys.SM4 with the
// 16-byte block of keys.PINBlock16. The default is keys.TDES with
// DefaultPINKey. A key of the wrong length makes every PIN check answer "96".
func WithPINKey(alg keys.Alg, key []byte) Option {
	return func(h *Host) {
		h.pinAlg = alg
		h.pinKey = append([]byte(nil), key...)
	}
}

// defaultPINKey is a test key; never use it with real cards.
var defaultPINKey = [keys.KeyLen]byte{
	0x0B, 0x1C, 0x2D, 0x3E, 0x4F, 0x51, 0x62, 0x73,
	0x84, 0x95, 0xA6, 0xB7, 0xC8, 0xD9, 0xEA, 0xFB,
}

// DefaultPINKey returns a copy of the test PIN key a Host and a PINPad use
// when none is given. It is a published test value, not a secret.
func DefaultPINKey() []byte { return append([]byte(nil), defaultPINKey[:]...) }

// Host is a simulated issuer host. It implements kernel.Host and is safe for
// concurrent use. Create one with New.
type Host struct {
	pinAlg         keys.Alg
	pinKey         []byte
	scriptTemplate tlv.Tag
	unreachable    atomic.Bool

	mu            sync.Mutex
	accounts      map[string]*account
	answered      map[replayKey]*kernel.AuthResponse
	effects       map[replayKey]effect
	ledger        []Entry
	authSeq       uint32
	scriptSeq     uint32
	nonDesignated kernel.Amount
	cash          kernel.Amount
}

var _ kernel.Host = (*Host)(nil)

// New returns a host without accounts.
func New(opts ...Option) *Host {
	h := &Host{
		pinAlg:         keys.TDES,
		pinKey:         DefaultPINKey(),
		scriptTemplate: tagScript72,
		accounts:       make(map[string]*account),
		answered:       make(map[replayKey]*kernel.AuthResponse),
		effects:        make(map[replayKey]effect),
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// AddAccount adds an account. The PAN must be new to the host, the PSN BCD,
// the algorithm TDES or SM4 and the issuer keys 16 bytes each; otherwise the
// error wraps ErrAccount. The host keeps its own copy of the keys.
func (h *Host) AddAccount(a Account) error {
	if a.Alg != keys.TDES && a.Alg != keys.SM4 {
		return fmt.Errorf("%w: algorithm %v", ErrAccount, a.Alg)
	}
	if len(a.PAN) < 12 || len(a.PAN) > 19 || strings.Trim(a.PAN, "0123456789") != "" {
		return fmt.Errorf("%w: PAN %s is not 12 to 19 digits", ErrAccount, tlv.MaskPAN(a.PAN))
	}
	if _, err := a.Keys.Derive(a.Alg, a.PAN, a.PSN); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrAccount, tlv.MaskPAN(a.PAN), err)
	}
	if a.Balance > kernel.MaxAmount {
		return fmt.Errorf("%w: %s: balance %s is above the n12 range", ErrAccount, tlv.MaskPAN(a.PAN), a.Balance)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.accounts[a.PAN]; ok {
		return fmt.Errorf("%w: %s is already present", ErrAccount, tlv.MaskPAN(a.PAN))
	}
	h.accounts[a.PAN] = &account{Account: a.clone()}
	return nil
}

// Account returns a copy of the account for pan, with its current balance.
func (h *Host) Account(pan string) (Account, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.accounts[pan]
	if !ok {
		return Account{}, false
	}
	return a.clone(), true
}

// Ledger returns a copy of the ledger, oldest entry first.
func (h *Host) Ledger() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Entry, len(h.ledger))
	for i, e := range h.ledger {
		e.Updates = append([]uint16(nil), e.Updates...)
		if e.ScriptBalance != nil {
			v := *e.ScriptBalance
			e.ScriptBalance = &v
		}
		out[i] = e
	}
	return out
}

// NonDesignatedTotal returns the total of the approved non-designated loads:
// what the other accounts that funded them owe.
func (h *Host) NonDesignatedTotal() kernel.Amount {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nonDesignated
}

// CashTotal returns the total of the approved cash loads: the cash the
// counters took.
func (h *Host) CashTotal() kernel.Amount {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cash
}

// SetUnreachable makes Authorize fail with an error wrapping ErrUnreachable
// (true) or answer again (false).
func (h *Host) SetUnreachable(down bool) { h.unreachable.Store(down) }

// QueueUpdate queues an EC parameter update for pan — typically 9F77
// (balance limit), 9F78 (single limit) or 9F6D (reset threshold) with an n12
// value — to be sent as a PUT DATA script with the next approved
// authorisation of that PAN. An unknown PAN is an error wrapping
// ErrUnknownPAN; a value too long for a PUT DATA command (more than 251
// bytes) one wrapping ErrUpdate.
func (h *Host) QueueUpdate(pan string, tag uint16, value []byte) error {
	if len(value) > 255-keys.ScriptMACLen {
		return fmt.Errorf("%w: %04X value of %d bytes", ErrUpdate, tag, len(value))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.accounts[pan]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPAN, tlv.MaskPAN(pan))
	}
	a.pending = append(a.pending, update{tag: tag, value: append([]byte(nil), value...)})
	return nil
}

// Authorize answers an online authorisation request (see the package
// documentation for the rules). It returns an error only when there is no
// answer: the host is unreachable (ErrUnreachable), the context is done, or
// req is nil (ErrRequest). Declines are responses, not errors.
func (h *Host) Authorize(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	if req == nil {
		return nil, ErrRequest
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hostsim: %w", err)
	}
	if h.unreachable.Load() {
		return nil, fmt.Errorf("hostsim: authorise %s: %w", tlv.MaskPAN(req.PAN), ErrUnreachable)
	}
	e := Entry{PAN: tlv.MaskPAN(req.PAN), Kind: req.Kind, Amount: req.Amount, TopUp: req.TopUp}

	f, err := parseField55(req.Field55)
	if err != nil {
		return h.unauthenticated(e, req.PAN, CodeFormatError, err.Error()), nil
	}
	e.ATC = f.atc

	h.mu.Lock()
	acct, ok := h.accounts[req.PAN]
	var a Account
	if ok {
		a = acct.clone()
	}
	h.mu.Unlock()
	if !ok {
		return h.unauthenticated(e, req.PAN, CodeNoSuchAccount, "no account for this PAN"), nil
	}
	if f.alg != a.Alg {
		return h.unauthenticated(e, req.PAN, CodeCryptogramFailure, fmt.Sprintf("9F10 algorithm %v, the account's is %v", f.alg, a.Alg)), nil
	}
	ck, err := a.Keys.Derive(a.Alg, a.PAN, a.PSN)
	if err != nil { // AddAccount checked this already
		return h.unauthenticated(e, req.PAN, CodeSystemError, "card key derivation: "+err.Error()), nil
	}
	acSK, err := keys.SessionKey(a.Alg, ck.AC, f.atc)
	if err != nil {
		return h.unauthenticated(e, req.PAN, CodeSystemError, "AC session key: "+err.Error()), nil
	}
	valid, err := keys.VerifyCryptogram(a.Alg, acSK, keys.ACData(f.value), f.arqc)
	if err != nil || !valid {
		return h.unauthenticated(e, req.PAN, CodeCryptogramFailure, "ARQC does not verify"), nil
	}
	smiSK, err := keys.SessionKey(a.Alg, ck.SMI, f.atc)
	if err != nil {
		return h.unauthenticated(e, req.PAN, CodeSystemError, "SMI session key: "+err.Error()), nil
	}

	key := replayKey{pan: req.PAN, atc: f.atc}
	copy(key.arqc[:], f.arqc)
	tx := &txn{h: h, req: req, f: f, alg: a.Alg, acSK: acSK, smiSK: smiSK, e: e}

	h.mu.Lock()
	defer h.mu.Unlock()
	if prev, ok := h.answered[key]; ok {
		e.ResponseCode, e.AuthCode = prev.ResponseCode, prev.AuthCode
		e.Replay = true
		e.Balance = h.accounts[req.PAN].Balance
		e.Note = "repeated request: stored response sent again"
		h.record(e)
		return cloneResponse(prev), nil
	}
	resp := tx.decide(h.accounts[req.PAN])
	h.answered[key] = resp
	if resp.ResponseCode == CodeApproved {
		h.effects[key] = tx.effect
	}
	return cloneResponse(resp), nil
}

// unauthenticated records and returns a decline that carries no tag 91.
func (h *Host) unauthenticated(e Entry, pan, code, note string) *kernel.AuthResponse {
	h.mu.Lock()
	defer h.mu.Unlock()
	e.ResponseCode = code
	e.Note = note
	if a, ok := h.accounts[pan]; ok {
		e.Balance = a.Balance
	}
	h.record(e)
	return &kernel.AuthResponse{ResponseCode: code}
}

// record appends e to the ledger. The caller holds h.mu.
func (h *Host) record(e Entry) {
	e.Seq = len(h.ledger) + 1
	h.ledger = append(h.ledger, e)
}

// cloneResponse returns a copy of r that shares no memory with it.
func cloneResponse(r *kernel.AuthResponse) *kernel.AuthResponse {
	c := *r
	c.IssuerAuthData = bytes.Clone(r.IssuerAuthData)
	c.Scripts = bytes.Clone(r.Scripts)
	return &c
}

// amountN12 encodes v as n12 (6 bytes BCD).
func amountN12(v kernel.Amount) ([]byte, error) {
	b, err := bcd.Encode(make([]byte, 0, 6), uint64(v), 6)
	if err != nil {
		return nil, fmt.Errorf("hostsim: amount %s: %w", v, err)
	}
	return b, nil
}

// pinMatches reports whether the enciphered PIN block holds pin for pan.
// A block of the wrong length is errPINFormat; a host key that cannot
// decipher is errPINKey.
func (h *Host) pinMatches(block []byte, pan, pin string) (bool, error) {
	if len(block) != h.pinAlg.BlockSize() {
		return false, errPINFormat
	}
	clearBlock, err := keys.DecryptPINBlock(h.pinAlg, h.pinKey, block)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errPINKey, err)
	}
	defer clear(clearBlock)
	got, err := keys.PINFromBlock(clearBlock, pan)
	if err != nil || pin == "" {
		return false, nil // an undecodable block is a wrong PIN
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(pin)) == 1, nil
}

var (
	errPINFormat = errors.New("PIN block length does not match the PIN key algorithm")
	errPINKey    = errors.New("host PIN key unusable")
)
