// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"context"
	"testing"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/purse"
)

// FuzzParse feeds every card-answer parser the same bytes: none may panic,
// and each accepts only the exact length of its answer.
func FuzzParse(f *testing.F) {
	f.Add(make([]byte, 30))
	f.Add(append([]byte{0x01, 0x91, 0x00}, make([]byte, 27)...))
	f.Add([]byte{0x00, 0x00, 0x10, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(name string, n int, err error) {
			if (err == nil) != (len(b) == n) && !(name == "grey status" && len(b) == n) {
				t.Fatalf("%s: %d bytes accepted=%v", name, len(b), err == nil)
			}
		}
		_, err := purse.ParseBalance(b)
		check("balance", 4, err)
		_, err = purse.ParseOnlineInit(b)
		check("online init", 16, err)
		_, err = purse.ParseOfflineInit(b)
		check("offline init", 15, err)
		_, err = purse.ParseUnlockInit(b)
		check("unlock init", 18, err)
		g, err := purse.ParseGreyStatus(b)
		check("grey status", 30, err)
		if err == nil && g.Status != purse.GreyNone && g.Status != purse.GreyLocked && g.Status != purse.GreyTACUnread {
			t.Fatalf("grey status %02X accepted", g.Status)
		}
		_, err = purse.ParseAppInfo(b)
		check("EF15", 30, err)
		_, err = purse.ParseCardRecord(b)
		check("EF18", 23, err)
		if h, err := purse.ParseCardholder(b); err == nil {
			_ = h.MaskedID() + h.NameText()
		}
		_ = purse.Describe(b, b)
		if len(b) > 5 {
			_ = purse.Describe(b[:5], b[5:])
		}
	})
}

// FuzzFlow runs whole purse operations against the simulated card with its
// answers changed as the input says (flipped, truncated, replaced by a
// status word, dropped), then presents the card again. No panic, no hang,
// an approval only when the card really moved the money, and afterwards
// the card, the reserve and the records agree.
func FuzzFlow(f *testing.F) {
	f.Add(byte(0), []byte{})
	f.Add(byte(0), []byte{7, 0, 3})
	f.Add(byte(1), []byte{7, 1, 2})
	f.Add(byte(2), []byte{6, 2, 0x93})
	f.Add(byte(3), []byte{8, 3, 0, 9, 0, 1})
	f.Add(byte(3), []byte{10, 0, 0})
	f.Fuzz(func(t *testing.T, which byte, plan []byte) {
		if len(plan) > 24 {
			plan = plan[:24]
		}
		fl := flows[int(which)%len(flows)]
		s := newStation(t, nil)
		m := &mutator{card: s.card, plan: plan}
		res, _ := fl.run(s, m)
		if res == nil {
			t.Fatal("no result")
		}
		if res.Outcome == purse.OutcomeApproved {
			if c, _ := fl.moved(s); c != int64(fl.amount) {
				t.Fatalf("approved with the card moved %d of %d (%s)", c, fl.amount, res.Detail)
			}
		}
		s.comeBack(t)
		// A purchase whose MAC2 and proof are both garbled is refused
		// after the card paid: kept, TAC and all, for the issuer.
		fl.agreeUnresolved(t, s, "fuzzed", true)
	})
}

// mutator changes the card's answers: plan is a list of triples (command
// index, kind, value); kind 0 flips byte value%len, 1 cuts the answer to
// value%len bytes, 2 answers 6Fxx/93xx… by value without executing, 3 drops
// the answer after executing (torn).
type mutator struct {
	card apdu.Transport
	plan []byte
	n    int
}

func (m *mutator) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	i := m.n
	m.n++
	for j := 0; j+2 < len(m.plan); j += 3 {
		if int(m.plan[j]) != i {
			continue
		}
		kind, v := m.plan[j+1]%4, int(m.plan[j+2])
		if kind == 2 {
			return []byte{0x6F | byte(v&0x30)<<2, byte(v)}, nil
		}
		r, err := m.card.Transmit(ctx, b)
		if err != nil || len(r) == 0 {
			return r, err
		}
		r = append([]byte(nil), r...)
		switch kind {
		case 0:
			r[v%len(r)] ^= 0xA5
		case 1:
			r = r[:v%len(r)]
		case 3:
			return nil, context.DeadlineExceeded
		}
		return r, nil
	}
	return m.card.Transmit(ctx, b)
}
