// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/kernel"
)

// frameTap is a TCP relay between the link and the simulator that keeps
// every frame the link sends.
type frameTap struct {
	addr   string
	mu     sync.Mutex
	frames [][]byte
}

func newFrameTap(t testing.TB, target string) *frameTap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	tap := &frameTap{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(c, s); c.Close() }()
			go func() { tap.relay(c, s); s.Close() }()
		}
	}()
	return tap
}

// relay copies the link's frames to the simulator, keeping each.
func (f *frameTap) relay(from io.Reader, to io.Writer) {
	for {
		var l [2]byte
		if _, err := io.ReadFull(from, l[:]); err != nil {
			return
		}
		frame := make([]byte, 2+int(binary.BigEndian.Uint16(l[:])))
		copy(frame, l[:])
		if _, err := io.ReadFull(from, frame[2:]); err != nil {
			return
		}
		f.mu.Lock()
		f.frames = append(f.frames, frame)
		f.mu.Unlock()
		if _, err := to.Write(frame); err != nil {
			return
		}
	}
}

// sent returns the first frame sent with that MTI and 60.1 (and 60.3 when
// not empty), unpacked.
func (f *frameTap) sent(t *testing.T, mti, type601, net603 string) *iso8583.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, frame := range f.frames {
		msg := iso8583.NewMessage(acquirer.Spec(acquirer.Variant{}))
		require.NoError(t, msg.Unpack(frame[2+5+6:]))
		m, _ := msg.GetMTI()
		f60, _ := msg.GetString(60)
		p, err := acquirer.ParseField60(f60)
		if m == mti && err == nil && p.Type == type601 && (net603 == "" || p.Network == net603) {
			return msg
		}
	}
	t.Fatalf("no %s %s/%s was sent", mti, type601, net603)
	return nil
}

// fieldSet lists the fields a message carries (MTI and bitmap left out).
func fieldSet(msg *iso8583.Message) []int {
	var ids []int
	for id := range msg.GetFields() {
		if id > 1 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// The link's own messages next to recorded ones of the same kind: which
// fields each carries, and, for the fields both carry, the same packed
// length where the field is fixed and the same field-60 layout. The table
// is the comparison the README reports; a change to what the link sends
// fails the row.
func TestOurMessagesBesideRecordedOnes(t *testing.T) {
	r := newRig(t, rigOptions{tap: true, variant: acquirer.Variant{Keys: acquirer.KeysTDESNoTDK}})
	require.NoError(t, r.link.SignIn(context.Background()), "a 003 sign-in against the simulator")
	res := r.purchase(35000)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome)
	r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.DropAfterForward})
	r.purchase(35000)
	require.NoError(t, r.link.Flush(context.Background()))
	_, err := r.link.Settle(context.Background())
	require.NoError(t, err)

	fixed := map[int]bool{3: true, 4: true, 11: true, 12: true, 13: true, 14: true, 22: true, 23: true, 25: true,
		26: true, 37: true, 38: true, 39: true, 41: true, 42: true, 49: true, 52: true, 53: true, 64: true}
	for _, tc := range []struct {
		name                  string
		mti, type601, net603  string
		recorded              string
		ours, onlyOurs, onlyR []int
	}{
		{"sign-in", "0800", "00", "003", "sign-in request 0800, 60.3 003, 62 'Sequence No' and terminal serial, header 61",
			[]int{11, 41, 42, 60, 63}, nil, []int{62}},
		{"sale (a swiped one recorded)", "0200", "22", "000", "sale 0200 whose track 2 is enciphered under the TDK (hex digits in 35)",
			[]int{2, 3, 4, 11, 14, 22, 23, 25, 26, 41, 42, 49, 52, 53, 55, 60, 64}, []int{2, 14, 23, 26, 52, 55}, []int{35}},
		{"sale with field 55 (an IC one recorded)", "0200", "22", "000", "a third-party acquirer's IC sale: 46 terminal data, 62, 63",
			[]int{2, 3, 4, 11, 14, 22, 23, 25, 26, 41, 42, 49, 52, 53, 55, 60, 64}, nil, []int{12, 13, 46, 62, 63}},
		{"reversal", "0400", "22", "000", "IC reversal 0400, 39 '06', 55 with 95 9F1E 9F10",
			[]int{2, 3, 4, 11, 14, 22, 23, 25, 39, 41, 42, 49, 55, 60, 64}, nil, nil},
		{"settlement", "0500", "00", "201", "settlement 0500, 48 totals, 60.3 201",
			[]int{11, 41, 42, 48, 49, 60, 63}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours := r.tap.sent(t, tc.mti, tc.type601, tc.net603)
			rec := acquirer.RecordedMessage(t, tc.recorded)
			got, want := fieldSet(ours), fieldSet(rec)
			assert.Equal(t, tc.ours, got, "the fields the link sends")
			var onlyOurs, onlyRec []int
			for _, id := range got {
				if !slices.Contains(want, id) {
					onlyOurs = append(onlyOurs, id)
				}
			}
			for _, id := range want {
				if !slices.Contains(got, id) {
					onlyRec = append(onlyRec, id)
				}
			}
			assert.Equal(t, tc.onlyOurs, onlyOurs, "sent by the link, not in the recording")
			assert.Equal(t, tc.onlyR, onlyRec, "in the recording, not sent by the link")
			for _, id := range got {
				if !fixed[id] || !slices.Contains(want, id) {
					continue
				}
				a, err := ours.GetField(id).Pack()
				require.NoError(t, err)
				b, err := rec.GetField(id).Pack()
				require.NoError(t, err)
				assert.Len(t, a, len(b), "field %d packs to the recording's length", id)
			}
			o60, _ := ours.GetString(60)
			r60, _ := rec.GetString(60)
			po, err := acquirer.ParseField60(o60)
			require.NoError(t, err)
			pr, err := acquirer.ParseField60(r60)
			require.NoError(t, err)
			assert.Equal(t, pr.Type, po.Type, "60.1")
			assert.Equal(t, pr.Network, po.Network, "60.3")
			assert.LessOrEqual(t, len(po.Rest), len(pr.Rest)+1, "60.4 onwards: %q, recorded %q", po.Rest, pr.Rest)
			t.Logf("| %s | %v | %v | %v | 60 %s, recorded %s |", tc.name, got, onlyOurs, onlyRec, o60, r60)
		})
	}
}

// Field 14: the sale carries the card's expiry (5F24 351231 → 3512), as
// UnionPay asks when the terminal can read it, and its reversal repeats it.
func TestSaleAndReversalCarryTheCardsExpiry(t *testing.T) {
	r := newRig(t, rigOptions{tap: true})
	r.sim.Inject(acquirersim.Fault{MTI: "0200", Type60: "22", Kind: acquirersim.DropAfterForward})
	r.purchase(35000)
	require.NoError(t, r.link.Flush(context.Background()))
	for _, mti := range []string{"0200", "0400"} {
		msg := r.tap.sent(t, mti, "22", "000")
		got, err := msg.GetString(14)
		require.NoError(t, err)
		assert.Equal(t, "3512", got, "%s field 14", mti)
	}
}

func TestValidYYMM(t *testing.T) {
	for s, want := range map[string]bool{"3512": true, "2501": true, "2500": false, "2513": false, "25A1": false, "351": false, "": false} {
		assert.Equal(t, want, acquirer.ValidYYMM(s), "%q", s)
	}
}
