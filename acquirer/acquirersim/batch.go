package acquirersim

import (
	"fmt"
	"strconv"

	"github.com/go-pboc/pboc/kernel"
)

// settlement is a terminal's 0500 awaiting its batch end.
type settlement struct {
	terminal Totals
	balanced bool
}

// field48Len is a settlement's field 48: debit amount n12, count n3,
// credit amount n12, count n3, code n1, for domestic and foreign cards.
const field48Len = 62

// parseTotals reads the domestic half of a settlement's field 48.
func parseTotals(s string) (Totals, error) {
	if len(s) < 31 {
		return Totals{}, fmt.Errorf("field 48 of %d digits", len(s))
	}
	var n [4]uint64
	for i, r := range [][2]int{{0, 12}, {12, 15}, {15, 27}, {27, 30}} {
		v, err := strconv.ParseUint(s[r[0]:r[1]], 10, 64)
		if err != nil {
			return Totals{}, err
		}
		n[i] = v
	}
	return Totals{DebitAmount: kernel.Amount(n[0]), DebitCount: int(n[1]), CreditAmount: kernel.Amount(n[2]), CreditCount: int(n[3])}, nil
}

// settle compares the terminal's totals with the acquirer's and answers
// with the code in each half of field 48: 1 balanced, 2 not.
func (s *Sim) settle(r *request) *answer {
	totals := str(r.msg, f48)
	t, err := parseTotals(totals)
	if err != nil || len(totals) != field48Len {
		return reply("30")
	}
	s.mu.Lock()
	acq := *s.totals(r.tid, r.f60.Batch)
	term := s.terminal(r.tid)
	balanced := acq == t
	if term.settlements == nil {
		term.settlements = make(map[uint32]settlement)
	}
	term.settlements[r.f60.Batch] = settlement{terminal: t, balanced: balanced}
	s.mu.Unlock()
	code := byte('2')
	if balanced {
		code = '1'
	}
	out := []byte(totals)
	out[30], out[61] = code, code
	return reply("00", f48, string(out))
}

// tcUpload takes the final TC of an online approval: it must verify and
// belong to an approval of this terminal.
func (s *Sim) tcUpload(r *request) *answer {
	pan, f55 := str(r.msg, f2), bin(r.msg, f55)
	psn, err := psnOf(r)
	if err != nil {
		return reply("30")
	}
	atc, _, err := s.verifyTC(pan, psn, f55)
	if err != nil {
		return reply("05")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.auths {
		if a.req != nil && a.key.tid == r.tid && a.req.PAN == pan && a.atc == atc && a.code == "00" && !a.reversed {
			if !a.tc {
				a.tc = true
				s.terminal(r.tid).tcUploads++
			}
			return reply("00")
		}
	}
	return reply("25")
}

// batchEnd closes the terminal's batch: the next sign-in gives the next
// number.
func (s *Sim) batchEnd(r *request) *answer {
	count, err := strconv.Atoi(str(r.msg, f48))
	if err != nil {
		return reply("30")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.terminal(r.tid)
	st := t.settlements[r.f60.Batch]
	s.batches = append(s.batches, Batch{TerminalID: r.tid, Number: r.f60.Batch, Acquirer: *s.totals(r.tid, r.f60.Batch),
		Terminal: st.terminal, Balanced: st.balanced, TCUploads: t.tcUploads, Count: count})
	t.tcUploads = 0
	t.batch = r.f60.Batch%999999 + 1
	return reply("00")
}
