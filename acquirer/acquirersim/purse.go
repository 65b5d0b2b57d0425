// SPDX-License-Identifier: Apache-2.0

package acquirersim

import (
	"errors"
	"strconv"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
)

// purseTypes are the purse messages by 60.1 (the link's reading: see
// acquirer.PurseHost): the operation, its processing code and condition
// code.
var purseTypes = map[string]struct {
	kind       purse.Kind
	proc, cond string
}{
	"48": {purse.KindLoad, "600000", "91"},
	"49": {purse.KindUnload, "210000", "00"},
	"52": {purse.KindOnlineUnlock, "000000", "00"},
}

// purseAuthorize forwards a purse request (0200, 60.1 48, 49, 52) to the
// reserve, which checks MAC1 (and debits a load's reserve), and answers
// its MAC2 in field 62. The reserve's request ID is the terminal's record
// ID qualified by the terminal ID: a request sent again is the same one.
func (s *Sim) purseAuthorize(r *request) *answer {
	pt := purseTypes[r.f60.Type]
	if s.cfg.Reserve == nil {
		return reply("40")
	}
	if str(r.msg, f3) != pt.proc || str(r.msg, f25) != pt.cond {
		return reply("12")
	}
	req, err := acquirer.ParsePurseRequest(bin(r.msg, f62))
	if err != nil {
		return reply("30")
	}
	amt, err := strconv.ParseUint(str(r.msg, f4), 10, 32)
	if err != nil {
		return reply("30")
	}
	req.Kind, req.Amount, req.ID = pt.kind, purse.Amount(amt), r.tid+"/"+req.ID
	ctx, cancel := issuerCtx()
	defer cancel()
	resp, err := s.cfg.Reserve.Authorize(ctx, req)
	if err != nil {
		return reply(purseCode(err))
	}
	return reply("00", f62, acquirer.MarshalPurseReply(resp))
}

// purseConfirm hands a purse confirmation (0220) to the reserve: a load's
// TAC, an unload's or unlock's MAC3 (the reserve credited on it), or the
// proof that a load was not applied (the debit given back on it).
func (s *Sim) purseConfirm(r *request) *answer {
	pt := purseTypes[r.f60.Type]
	if s.cfg.Reserve == nil {
		return reply("40")
	}
	if str(r.msg, f3) != pt.proc || str(r.msg, f25) != pt.cond {
		return reply("12")
	}
	c, err := acquirer.ParsePurseConfirmation(bin(r.msg, f62))
	if err != nil {
		return reply("30")
	}
	c.Kind, c.ID = pt.kind, r.tid+"/"+c.ID
	ctx, cancel := issuerCtx()
	defer cancel()
	if err := s.cfg.Reserve.Confirm(ctx, c); err != nil {
		return reply(purseCode(err))
	}
	return reply("00")
}

// purseCode is the response code of a reserve's refusal: its decline code,
// acquirer.PurseEvidenceRefused for evidence it refused, 91 when it is
// down, 96 otherwise.
func purseCode(err error) string {
	var de *purse.DeclineError
	switch {
	case errors.As(err, &de) && len(de.Code) == 2:
		return de.Code
	case errors.Is(err, purse.ErrEvidence):
		return acquirer.PurseEvidenceRefused
	case errors.Is(err, hostsim.ErrUnreachable):
		return "91"
	default:
		return "96"
	}
}
