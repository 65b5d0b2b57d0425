// SPDX-License-Identifier: Apache-2.0

package acquirersim

import (
	"strconv"

	"github.com/go-pboc/pboc/journal"
)

// settlement is a terminal's 0500 awaiting its batch end.
type settlement struct {
	terminal journal.Totals
	balanced bool
}

// settle compares the terminal's totals (field 48) with the acquirer's
// and answers with each side's code in field 48: 1 balanced, 2 not.
func (s *Sim) settle(r *request) *answer {
	req48 := str(r.msg, f48)
	t, _, _, err := journal.ParseField48(req48)
	if err != nil {
		return reply("30")
	}
	t.Batch = r.f60.Batch
	s.mu.Lock()
	acq := *s.totals(r.tid, r.f60.Batch)
	term := s.terminal(r.tid)
	if term.settlements == nil {
		term.settlements = make(map[uint32]settlement)
	}
	term.settlements[r.f60.Batch] = settlement{terminal: t, balanced: acq == t}
	s.mu.Unlock()
	out := []byte(req48)
	out[30], out[61] = code(acq.Domestic == t.Domestic), code(acq.Foreign == t.Foreign)
	return reply("00", f48, string(out))
}

func code(balanced bool) byte {
	if balanced {
		return '1'
	}
	return '2'
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
