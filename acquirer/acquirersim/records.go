// SPDX-License-Identifier: Apache-2.0

package acquirersim

import (
	"bytes"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/purse"
	"github.com/go-pboc/pboc/tlv"
)

// Received is one message the simulator received, as its log keeps it: no
// PIN block, key, track or full PAN.
type Received struct {
	Seq        int
	Time       time.Time
	MTI        string
	STAN       string
	Processing string
	Type60     string // 60.1
	Network    string // 60.3
	TerminalID string
	PAN        string // masked (a fuel card's ASN, masked, for a purse message)
	Amount     string
	Reason     string // field 39 of a request (a reversal's reason)
	MAC        acquirer.MACState
	Fault      FaultKind
	Response   string // field 39 of the reply sent ("" when none)
}

// receive logs req. The returned index lets dispatch record the response.
func (s *Sim) receive(req *iso8583.Message, info acquirer.FrameInfo, fault FaultKind) int {
	mti, _ := req.GetMTI()
	f, _ := acquirer.ParseField60(str(req, f60))
	r := Received{Time: time.Now(), MTI: mti, STAN: str(req, f11), Processing: str(req, f3), Type60: f.Type,
		Network: f.Network, TerminalID: str(req, f41), Amount: str(req, f4), Reason: str(req, f39), MAC: info.MAC, Fault: fault}
	if pan := str(req, f2); pan != "" {
		r.PAN = tlv.MaskPAN(pan)
	} else if _, ok := purseTypes[f.Type]; ok && len(bin(req, f62)) >= 10 {
		var asn purse.ASN // a fuel card is named by its ASN in field 62
		copy(asn[:], bin(req, f62))
		r.PAN = asn.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Seq = len(s.received) + 1
	s.received = append(s.received, r)
	return len(s.received) - 1
}

// Received returns the log of every message received, oldest first.
func (s *Sim) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// authKey identifies a financial request: terminal, batch, trace number.
type authKey struct {
	tid   string
	batch uint32
	stan  string
}

// auth is a financial request the acquirer forwarded to the issuer.
type auth struct {
	key      authKey
	req      *kernel.AuthRequest // as the issuer saw it (PIN block under its key)
	atc      uint16
	code     string
	authCode string
	reversed bool
	advices  int
	tc       bool // the final TC was uploaded
	// done is closed once the issuer answered; a reversal waits for it.
	done chan struct{}
	// early: the reversal arrived before the original, which is then
	// never forwarded.
	early bool
}

// Auth is a financial request as Auths reports it.
type Auth struct {
	TerminalID string
	Batch      uint32
	STAN       string
	Kind       kernel.RequestKind
	TopUp      bool
	PAN        string // masked (a fuel card's ASN, masked, for a purse message)
	ATC        uint16
	Amount     kernel.Amount
	Response   string
	AuthCode   string
	// Reversed: a reversal undid it at the issuer. Advices counts the
	// script advices received for it; TC that its final TC was uploaded.
	Reversed bool
	Advices  int
	TC       bool
}

// Auths returns every financial request forwarded to the issuer, in
// trace-number order within each terminal and batch.
func (s *Sim) Auths() []Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Auth, 0, len(s.auths))
	for _, a := range s.auths {
		if a.req == nil {
			continue // a reversal without its original
		}
		out = append(out, Auth{TerminalID: a.key.tid, Batch: a.key.batch, STAN: a.key.stan, Kind: a.req.Kind, TopUp: a.req.TopUp,
			PAN: tlv.MaskPAN(a.req.PAN), ATC: a.atc, Amount: a.req.Amount, Response: a.code, AuthCode: a.authCode,
			Reversed: a.reversed, Advices: a.advices, TC: a.tc})
	}
	sortAuths(out)
	return out
}

// uploadKey identifies an offline sale: the card's PAN and ATC.
type uploadKey struct {
	pan string
	atc uint16
}

// Upload is an offline sale the acquirer accepted.
type Upload struct {
	TerminalID string
	Batch      uint32
	PAN        string // masked (a fuel card's ASN, masked, for a purse message)
	ATC        uint16
	Amount     kernel.Amount
	TC         []byte
	// Copies counts how many times it was received (1 when uploaded once).
	Copies int
}

// Uploads returns the offline sales accepted, each once.
func (s *Sim) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.uploads))
	for _, u := range s.uploads {
		c := *u
		c.TC = append([]byte(nil), u.TC...)
		out = append(out, c)
	}
	sortUploads(out)
	return out
}

// count adds (sign 1) or takes back (-1) a request in a batch's totals, by
// the rule of journal.BatchTotals, which the terminal reports: a sale is a
// debit, a cash load a credit (the merchant took the cash); a load from an
// account moves no merchant money. A card is domestic when its AID (84 in
// field 55) is UnionPay's.
func count(t *journal.Totals, kind kernel.RequestKind, domestic bool, amount kernel.Amount, sign int) {
	side := &t.Foreign
	if domestic {
		side = &t.Domestic
	}
	add := func(n, a *uint64) {
		*n = uint64(int64(*n) + int64(sign))
		*a = uint64(int64(*a) + int64(sign)*int64(amount))
	}
	switch kind {
	case kernel.RequestPurchase:
		add(&side.DebitCount, &side.DebitAmount)
	case kernel.RequestLoadCash:
		add(&side.CreditCount, &side.CreditAmount)
	}
}

// domestic reports a UnionPay card, by the AID in field 55.
func domestic(f55 []byte) bool {
	return bytes.HasPrefix(tlvValue(f55, 0x84), []byte{0xA0, 0x00, 0x00, 0x03, 0x33})
}

// Totals returns the acquirer's totals for terminal tid's batch.
func (s *Sim) Totals(tid string, batch uint32) journal.Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.totals(tid, batch)
}

// totals returns (creating) a batch's totals. The caller holds s.mu.
func (s *Sim) totals(tid string, batch uint32) *journal.Totals {
	t := s.terminal(tid)
	tot, ok := t.totals[batch]
	if !ok {
		tot = &journal.Totals{Batch: batch}
		t.totals[batch] = tot
	}
	return tot
}

// Batch is a batch the terminal settled and closed.
type Batch struct {
	TerminalID string
	Number     uint32
	// Acquirer is what the acquirer counted; Terminal what the 0500 said.
	Acquirer, Terminal journal.Totals
	Balanced           bool
	// TCUploads counts the final TCs uploaded; Count is the batch end's
	// count of the messages uploaded in the batch.
	TCUploads int
	Count     int
}

// Batches returns the closed batches, oldest first.
func (s *Sim) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Batch(nil), s.batches...)
}
