// SPDX-License-Identifier: Apache-2.0

package acquirersim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// The financial requests, by 60.1: the kind, processing code and
// condition code each must carry.
var financial = map[string]struct {
	kind       kernel.RequestKind
	proc, cond string
}{
	"22": {kernel.RequestPurchase, "000000", "00"},
	"45": {kernel.RequestLoadDesignated, "600000", "91"},
	"46": {kernel.RequestLoadCash, "630000", "91"},
	"47": {kernel.RequestLoadNonDesignated, "620000", "91"},
}

// authorize forwards a sale or an EC load to the issuer and records it.
func (s *Sim) authorize(r *request) *answer {
	fin := financial[r.f60.Type]
	if str(r.msg, f3) != fin.proc || str(r.msg, f25) != fin.cond {
		return reply("12")
	}
	req, err := s.authRequest(r, fin.kind)
	if err != nil {
		return reply("30")
	}
	key := authKey{tid: r.tid, batch: r.f60.Batch, stan: str(r.msg, f11)}
	s.mu.Lock()
	if _, seen := s.auths[key]; seen {
		// A repeat, or its reversal came first (on another connection):
		// nothing is forwarded again.
		s.mu.Unlock()
		return reply("25")
	}
	a := &auth{key: key, done: make(chan struct{})}
	s.auths[key] = a
	s.mu.Unlock()
	ctx, cancel := issuerCtx()
	defer cancel()
	resp, err := s.cfg.Host.Authorize(ctx, req)
	s.mu.Lock()
	a.req, a.atc = req, atcOf(req.Field55)
	if err == nil {
		a.code, a.authCode = resp.ResponseCode, resp.AuthCode
		if resp.Approved() {
			count(s.totals(r.tid, key.batch), fin.kind, domestic(req.Field55), req.Amount, 1)
		}
	}
	close(a.done)
	s.mu.Unlock()
	if err != nil {
		return reply("91") // issuer unavailable
	}
	var icc []byte
	if len(resp.IssuerAuthData) > 0 {
		icc = tlv.Append(icc, 0x91, resp.IssuerAuthData)
	}
	icc = append(icc, resp.Scripts...)
	ans := reply(resp.ResponseCode)
	if len(icc) > 0 {
		ans.extra[f55] = icc
	}
	if len(resp.AuthCode) == 6 {
		ans.extra[f38] = resp.AuthCode
	}
	return ans
}

// authRequest is the issuer's view of a request: the card fields, field 55
// (a top-up or a load says the EC balance and limit with 9F79 and 9F77 in
// it), and the PIN block translated from the terminal's PIK to the
// issuer's PIN key.
func (s *Sim) authRequest(r *request, kind kernel.RequestKind) (*kernel.AuthRequest, error) {
	amt, ok := amount(r.msg)
	if !ok {
		return nil, errors.New("amount")
	}
	psn, err := psnOf(r)
	if err != nil {
		return nil, err
	}
	f55 := bin(r.msg, f55)
	req := &kernel.AuthRequest{Kind: kind, Amount: amt, PAN: str(r.msg, f2), PANSequence: psn, Field55: f55}
	req.ECBalance, req.ECLimit = ecAmount(f55, 0x9F79), ecAmount(f55, 0x9F77)
	if req.ECBalance == nil && req.ECLimit == nil { // the card's second EC currency (PBOC 3.0)
		req.ECBalance, req.ECLimit = ecAmount(f55, 0xDF79), ecAmount(f55, 0xDF77)
		if req.ECBalance != nil {
			req.ECBalanceTag = hostsim.TagSecondECBalance
		}
	}
	req.TopUp = kind == kernel.RequestPurchase && req.ECBalance != nil && req.ECLimit != nil
	if block := bin(r.msg, f52); block != nil {
		if req.PINBlock, err = s.translatePIN(r.tid, block); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// translatePIN deciphers a PIN block under the terminal's PIK and
// enciphers it under the issuer's PIN key, as an acquirer's HSM does.
func (s *Sim) translatePIN(tid string, block []byte) ([]byte, error) {
	s.mu.Lock()
	pik := s.terminal(tid).pik
	s.mu.Unlock()
	if pik == nil {
		return nil, errors.New("no PIK")
	}
	clearBlock, err := keys.DecryptPINBlock(keys.TDES, doubleLength(pik), block)
	if err != nil {
		return nil, err
	}
	defer clear(clearBlock)
	return keys.EncryptPINBlock(keys.TDES, s.cfg.IssuerPINKey, clearBlock)
}

func doubleLength(k []byte) []byte {
	if len(k) == 8 {
		return append(append([]byte(nil), k...), k...)
	}
	return k
}

// reversal undoes a financial request at the issuer: matched by terminal,
// the original's batch (its 60 is the original's) and trace number. An
// unknown original is 25; a reversal repeated changes nothing. A load's
// reversal that carries script results (DF31) is a script reversal: see
// undoScript.
func (s *Sim) reversal(r *request) *answer {
	key := authKey{tid: r.tid, batch: r.f60.Batch, stan: str(r.msg, f11)}
	a, code := s.original(key)
	if a == nil {
		return reply(code)
	}
	ctx, cancel := issuerCtx()
	defer cancel()
	f55 := bin(r.msg, f55)
	var err error
	if tlvValue(f55, 0xDF31) != nil && a.req.Kind != kernel.RequestPurchase {
		err = s.undoScript(ctx, a, f55)
	} else {
		err = s.cfg.Host.Reverse(ctx, a.req)
	}
	if errors.Is(err, hostsim.ErrEvidence) {
		return reply("A5") // the card's evidence does not verify: nothing given back
	} else if err != nil {
		return reply("91")
	}
	s.mu.Lock()
	a.reversed = true
	count(s.totals(r.tid, key.batch), a.req.Kind, domestic(a.req.Field55), a.req.Amount, -1)
	s.mu.Unlock()
	return reply("00")
}

// original returns the approved original of a reversal, waiting for its
// issuer answer if it is in flight; nil and the code to answer when there
// is nothing to undo (25: unknown, remembered so that a late original is
// never forwarded; 00: declined or already reversed).
func (s *Sim) original(key authKey) (*auth, string) {
	s.mu.Lock()
	a, ok := s.auths[key]
	if !ok {
		done := make(chan struct{})
		close(done)
		s.auths[key] = &auth{key: key, done: done, early: true}
		s.mu.Unlock()
		return nil, "25"
	}
	s.mu.Unlock()
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		return nil, "91"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.early || a.reversed || a.code != "00" {
		return nil, "00"
	}
	return a, ""
}

// undoScript gives back the EC part of an approved top-up or load whose
// script did not take effect, as the script results say: "not performed"
// (no script reached the card) is the terminal's word, which the issuer
// takes; "failed" needs the card's evidence — the cryptogram in field 55,
// which the issuer verifies with the card's keys, and 8A Y1 when it was an
// offline EC approval that deducted 9F02. Successful scripts move nothing.
func (s *Sim) undoScript(ctx context.Context, a *auth, f55 []byte) error {
	results := tlvValue(f55, 0xDF31)
	failed, notPerformed := false, false
	for i := 0; i+5 <= len(results); i += 5 {
		switch results[i] >> 4 {
		case 0:
			notPerformed = true
		case 1:
			failed = true
		}
	}
	req := *a.req
	switch {
	case failed:
		ev := &kernel.Evidence{Field55: without(f55, 0xDF31, 0x8A)}
		if string(tlvValue(f55, 0x8A)) == "Y1" {
			if v, err := bcd.Decode(tlvValue(f55, 0x9F02)); err == nil {
				ev.Deducted = kernel.Amount(v)
			}
		}
		req.Evidence = ev
	case !notPerformed:
		return nil
	}
	return s.cfg.Host.ReverseScript(ctx, &req)
}

// without returns data's top-level objects but those with the tags.
func without(data []byte, tags ...tlv.Tag) []byte {
	objs, err := tlv.Parse(data)
	if err != nil {
		return nil
	}
	var out []byte
	for _, o := range objs {
		if !slices.Contains(tags, o.Tag) {
			out = tlv.Append(out, o.Tag, o.Value)
		}
	}
	return out
}

// advice records a script result advice; the scripts of an approved
// top-up that did not take effect have their refill taken back at the
// issuer (undoScript).
func (s *Sim) advice(r *request) *answer {
	orig := str(r.msg, f61)
	if len(orig) < 12 {
		return reply("30")
	}
	batch, err := strconv.ParseUint(orig[:6], 10, 32)
	if err != nil {
		return reply("30")
	}
	key := authKey{tid: r.tid, batch: uint32(batch), stan: orig[6:12]}
	s.mu.Lock()
	a, ok := s.auths[key]
	if ok && a.req != nil {
		a.advices++
	}
	s.mu.Unlock()
	if !ok || a.req == nil {
		return reply("25")
	}
	if a.code != "00" || a.reversed {
		return reply("00")
	}
	ctx, cancel := issuerCtx()
	defer cancel()
	if err := s.undoScript(ctx, a, bin(r.msg, f55)); errors.Is(err, hostsim.ErrEvidence) {
		return reply("A5")
	} else if err != nil {
		return reply("91")
	}
	return reply("00")
}

// balance answers a balance inquiry after checking the PIN.
func (s *Sim) balance(r *request) *answer {
	pan := str(r.msg, f2)
	acct, ok := s.cfg.Host.Account(pan)
	if !ok {
		return reply("14")
	}
	block := bin(r.msg, f52)
	if block == nil {
		return reply("55")
	}
	issuerBlock, err := s.translatePIN(r.tid, block)
	if err != nil {
		return reply("96")
	}
	clearBlock, err := keys.DecryptPINBlock(keys.TDES, s.cfg.IssuerPINKey, issuerBlock)
	if err != nil {
		return reply("96")
	}
	defer clear(clearBlock)
	pin, err := keys.PINFromBlock(clearBlock, pan)
	if err != nil || acct.PIN == "" || subtle.ConstantTimeCompare([]byte(pin), []byte(acct.PIN)) != 1 {
		return reply("55")
	}
	return reply("00", f54, fmt.Sprintf("1002156C%012d", uint64(acct.Balance)))
}

// verifyTC checks the final cryptogram of an uploaded sale with the card's
// keys: evidence the card signed this amount.
func (s *Sim) verifyTC(pan string, psn byte, f55 []byte) (uint16, []byte, error) {
	acct, ok := s.cfg.Host.Account(pan)
	if !ok {
		return 0, nil, errors.New("no account")
	}
	values := map[uint32][]byte{}
	objs, err := tlv.Parse(f55)
	if err != nil {
		return 0, nil, err
	}
	for _, o := range objs {
		values[uint32(o.Tag)] = o.Value
	}
	tc, cid, atc := values[0x9F26], values[0x9F27], values[0x9F36]
	if len(tc) != 8 || len(cid) != 1 || cid[0]&0xC0 != 0x40 || len(atc) != 2 {
		return 0, nil, errors.New("not a TC")
	}
	ck, err := acct.Keys.Derive(acct.Alg, pan, psn)
	if err != nil {
		return 0, nil, err
	}
	n := uint16(atc[0])<<8 | uint16(atc[1])
	sk, err := keys.SessionKey(acct.Alg, ck.AC, n)
	if err != nil {
		return 0, nil, err
	}
	valid, err := keys.VerifyCryptogram(acct.Alg, sk, keys.ACData(func(tag uint32) []byte { return values[tag] }), tc)
	if err != nil || !valid {
		return 0, nil, errors.New("the TC does not verify")
	}
	return n, tc, nil
}

// offlineUpload accepts an offline sale once: its TC must verify and its
// amount match 9F02; a copy already received is 94 and counted once.
func (s *Sim) offlineUpload(r *request) *answer {
	pan, f55 := str(r.msg, f2), bin(r.msg, f55)
	psn, err := psnOf(r)
	amt, ok := amount(r.msg)
	if err != nil || !ok {
		return reply("30")
	}
	if v, err := bcd.Decode(tlvValue(f55, 0x9F02)); err != nil || kernel.Amount(v) != amt {
		return reply("13")
	}
	atc, tc, err := s.verifyTC(pan, psn, f55)
	if err != nil {
		return reply("05")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := uploadKey{pan: pan, atc: atc}
	if u, dup := s.uploads[k]; dup {
		u.Copies++
		return reply("94")
	}
	batch := r.f60.Batch
	s.uploads[k] = &Upload{TerminalID: r.tid, Batch: batch, PAN: tlv.MaskPAN(pan), ATC: atc, Amount: amt, TC: tc, Copies: 1}
	count(s.totals(r.tid, batch), kernel.RequestPurchase, domestic(f55), amt, 1)
	return reply("00")
}

// psnOf reads field 23 (n3: 0 and the two BCD digits of 5F34).
func psnOf(r *request) (byte, error) {
	v := str(r.msg, f23)
	if len(v) != 3 {
		return 0, errors.New("field 23")
	}
	n, err := strconv.ParseUint(v[1:], 16, 8)
	return byte(n), err
}

// atcOf reads 9F36 from field 55.
func atcOf(f55 []byte) uint16 {
	if v := tlvValue(f55, 0x9F36); len(v) == 2 {
		return uint16(v[0])<<8 | uint16(v[1])
	}
	return 0
}

// ecAmount reads an n12 amount from field 55, nil when absent or bad.
func ecAmount(f55 []byte, tag tlv.Tag) *kernel.Amount {
	v := tlvValue(f55, tag)
	if len(v) != 6 {
		return nil
	}
	n, err := bcd.Decode(v)
	if err != nil {
		return nil
	}
	a := kernel.Amount(n)
	return &a
}

// tlvValue returns the value of tag in TLV data, or nil.
func tlvValue(data []byte, tag tlv.Tag) []byte {
	v, _, _ := tlv.Find(data, tag)
	return v
}
