// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// mutator plays a fuzzer's plan against a real card: for the APDUs the plan
// names it flips, truncates, replaces or drops the card's answer.
type mutator struct {
	card apdu.Transport
	plan []byte
	n    int
}

func (m *mutator) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	i := m.n
	m.n++
	rsp, err := m.card.Transmit(ctx, cmd)
	if err != nil {
		return rsp, err
	}
	for p := 0; p+3 <= len(m.plan); p += 3 {
		if int(m.plan[p]) != i {
			continue
		}
		op, arg := m.plan[p+1], int(m.plan[p+2])
		rsp = bytes.Clone(rsp)
		switch op % 6 {
		case 0: // flip a byte
			if len(rsp) > 0 {
				rsp[arg%len(rsp)] ^= byte(op | 1)
			}
		case 1: // truncate
			if len(rsp) > 0 {
				rsp = rsp[:arg%len(rsp)]
			}
		case 2: // another status word, data kept
			if len(rsp) >= 2 {
				rsp[len(rsp)-2], rsp[len(rsp)-1] = byte(0x60+arg%0x10), byte(arg)
			}
		case 3: // the card goes away
			return nil, errors.New("fuzz: card removed")
		case 4: // garbage appended to the data (a few hundred bytes at most:
			// the harness must not spend the time, the kernel's byte budget
			// is tested on its own)
			if len(rsp) >= 2 && len(rsp) < 1024 {
				sw := bytes.Clone(rsp[len(rsp)-2:])
				garbage := m.plan[p:]
				if len(garbage) > 256 {
					garbage = garbage[:256]
				}
				rsp = append(append(rsp[:len(rsp)-2], garbage...), sw...)
			}
		case 5: // the rest of the plan as the whole answer
			return append([]byte(nil), m.plan[p+3:]...), nil
		}
	}
	return rsp, nil
}

// FuzzPurchase runs whole purchases against the simulated card with its
// answers mutated, and checks the invariants a payment terminal must keep
// whatever the card says: no panic, no hang, a defined outcome, no offline
// approval without the card's TC, no balance the card did not report — and
// the accounting: the journal asks for money only with a TC the card sent,
// a sale the card really paid is in the journal (as a sale or a
// discrepancy) or in the torn log, once, and a sale it did not pay is
// never cleared.
func FuzzPurchase(f *testing.F) {
	f.Add([]byte{}, uint16(1234))
	f.Add([]byte{5, 0, 3}, uint16(100))   // GPO answer flipped
	f.Add([]byte{6, 1, 7}, uint16(100))   // a record truncated
	f.Add([]byte{12, 3, 0}, uint16(1234)) // removed at GENERATE AC
	f.Add([]byte{12, 0, 1}, uint16(1234)) // GENERATE AC answer flipped
	f.Add([]byte{9, 2, 0x85}, uint16(50)) // GET DATA 6985
	f.Add([]byte{3, 5, 0, 0x6F, 0x02, 0x84, 0x00, 0x90, 0x00}, uint16(1))
	f.Add([]byte{4, 4, 9, 0x70, 0x81, 0xFF}, uint16(30001))
	// An amount seed with bit 16 set runs a card whose CVM list asks for
	// an enciphered, then a plaintext offline PIN, with an offline PIN pad.
	f.Add([]byte{}, uint16(0x8000|1234))
	f.Add([]byte{15, 2, 0xC1}, uint16(0x8000|1234)) // GET DATA 9F17 answered 6xC1
	f.Add([]byte{16, 0, 9}, uint16(0x8000|1234))    // the challenge flipped
	f.Add([]byte{17, 2, 0x83}, uint16(0x8000|1234)) // VERIFY answered 6x83
	profile := cardsim.DefaultProfile()
	pinProfile := cardsim.DefaultProfile()
	pinProfile.Applications[0].CVMList = "000000000000000044004100" + "1F00"
	f.Fuzz(func(t *testing.T, plan []byte, amountSeed uint16) {
		p, opts := profile, []kernel.Option(nil)
		if amountSeed&0x8000 != 0 {
			p, opts = pinProfile, []kernel.Option{kernel.WithOfflinePINPad(hostsim.OfflinePINPad{PIN: testPIN})}
		}
		card, err := cardsim.New(p)
		if err != nil {
			t.Fatal(err)
		}
		torn, jr := &kernel.MemoryTornLog{}, journal.NewMemory()
		k, err := kernel.New(testConfig(), append(opts, kernel.WithTornLog(torn), kernel.WithJournal(jr))...)
		if err != nil {
			t.Fatal(err)
		}
		before := card.Balance(debitAID)
		amount := kernel.Amount(amountSeed%40000) + 1
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		// The harness records what the card said (the kernel runs as in
		// production, without its own trace).
		rec := &recording{card: &mutator{card: card, plan: plan}}
		res, _ := k.Purchase(ctx, rec, amount)
		if time.Since(start) > 4*time.Second {
			t.Fatalf("the purchase took %s", time.Since(start))
		}
		if res == nil {
			t.Fatal("nil result")
		}
		switch res.Outcome {
		case kernel.OutcomeTerminated, kernel.OutcomeApprovedOffline, kernel.OutcomeDeclined,
			kernel.OutcomeApprovedOnline, kernel.OutcomeOnlineRequired:
		default:
			t.Fatalf("undefined outcome %d", res.Outcome)
		}
		if res.Outcome == kernel.OutcomeApprovedOnline {
			t.Fatal("approved online without a host")
		}
		trace := make([]kernel.Exchange, len(rec.pairs))
		for i, p := range rec.pairs {
			trace[i] = kernel.Exchange{Command: p[0], Response: p[1]}
		}
		if res.Outcome == kernel.OutcomeApprovedOffline && !sawTC(trace) {
			t.Fatalf("offline approval without a TC from the card: %s", res.Detail)
		}
		for _, b := range []*kernel.Amount{res.BalanceBefore, res.BalanceAfter} {
			if b != nil && !cardReported(trace, *b) {
				t.Fatalf("balance %s was never reported by the card", *b)
			}
		}
		checkAccounts(t, jr, torn, trace, before-card.Balance(debitAID), amount)
		checkOfflinePIN(t, res)
	})
}

// checkOfflinePIN: an approval whose CVM results claim a verified offline
// PIN (01/03/04/05 … 02 or 00) rests on a card whose CVR in the
// cryptogram says it verified one (PBOC CVR byte 2 bit 3, not bit 2).
func checkOfflinePIN(t *testing.T, res *kernel.Result) {
	t.Helper()
	r := valueOf(res.Field55, 0x9F34)
	if res.Outcome != kernel.OutcomeApprovedOffline || len(r) != 3 || r[2] == 0x01 {
		return
	}
	switch r[0] & 0x3F {
	case 0x01, 0x03, 0x04, 0x05:
		iad := res.IAD
		if len(iad) >= 8 && iad[0] == 0x07 && iad[2] == 0x01 && (iad[4]&0x04 == 0 || iad[4]&0x02 != 0) {
			t.Fatalf("approved on an offline PIN (9F34 %X) the card's CVR (%X) does not show verified", r, iad[3:7])
		}
	}
}

// checkAccounts is the accounting invariant: every clearable record holds
// a TC the card sent; the card's real deduction is recorded once (a
// clearable sale, a discrepancy, or a torn record), and without one there
// is no clearable sale.
func checkAccounts(t *testing.T, jr journal.Journal, torn *kernel.MemoryTornLog, trace []kernel.Exchange, deducted uint64, amount kernel.Amount) {
	t.Helper()
	recs, err := jr.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sales, discrepancies := 0, 0
	for _, r := range recs {
		switch {
		case r.Kind.Clearable():
			sales++
			if !isTC(r.CID) || !sentCryptogram(trace, r.Cryptogram) {
				t.Fatalf("clearable record %s without a TC the card sent (CID %s, AC %s)", r.ID, r.CID, r.Cryptogram)
			}
		case r.Kind == journal.KindDiscrepancy:
			discrepancies++
		default:
			t.Fatalf("record of kind %s", r.Kind)
		}
	}
	switch {
	case deducted != 0 && deducted != uint64(amount):
		t.Fatalf("the card deducted %d for a sale of %s", deducted, amount)
	case deducted == 0 && sales > 0:
		t.Fatalf("a clearable sale the card did not pay")
	case deducted != 0 && sales+discrepancies+torn.Len() != 1:
		t.Fatalf("the card paid: %d sales, %d discrepancies, %d torn records (want exactly one)", sales, discrepancies, torn.Len())
	}
}

// isTC reports a CID (hex) of type TC (bits 8-7 01).
func isTC(cid string) bool {
	b, err := hex.DecodeString(cid)
	return err == nil && len(b) == 1 && b[0]&0xC0 == 0x40
}

// sentCryptogram reports whether the card sent the cryptogram (hex) in a
// GENERATE AC answer.
func sentCryptogram(trace []kernel.Exchange, ac string) bool {
	b, err := hex.DecodeString(ac)
	if err != nil || len(b) != 8 {
		return false
	}
	for _, e := range trace {
		if len(e.Command) >= 2 && e.Command[1] == 0xAE && bytes.Contains(e.Response, b) {
			return true
		}
	}
	return false
}

// sawTC reports whether the card answered a GENERATE AC with a TC.
func sawTC(trace []kernel.Exchange) bool {
	for _, e := range trace {
		if len(e.Command) < 2 || e.Command[1] != 0xAE || len(e.Response) < 3 {
			continue
		}
		r, err := apdu.ParseResponse(e.Response)
		if err != nil || r.SW != apdu.SWSuccess {
			continue
		}
		o, err := tlv.ParseSingle(r.Data)
		if err != nil {
			continue
		}
		switch o.Tag {
		case 0x80:
			if len(o.Value) > 0 && o.Value[0]&0xC0 == 0x40 {
				return true
			}
		case 0x77:
			if cid, ok, _ := tlv.Find(o.Value, 0x9F27); ok && len(cid) == 1 && cid[0]&0xC0 == 0x40 {
				return true
			}
		}
	}
	return false
}

// cardReported reports whether an amount appears in a card response, as n12
// (9F79) or as the 5-byte balance of the issuer discretionary data.
func cardReported(trace []kernel.Exchange, a kernel.Amount) bool {
	n12, err := bcd.Encode(nil, uint64(a), 6)
	if err != nil {
		return false
	}
	for _, e := range trace {
		if bytes.Contains(e.Response, n12) || bytes.Contains(e.Response, n12[1:]) {
			return true
		}
	}
	return false
}
