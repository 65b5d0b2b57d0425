// SPDX-License-Identifier: Apache-2.0

package acquirersim

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/kernel"
)

// Field numbers the simulator reads and writes.
const (
	f2  = 2
	f3  = 3
	f4  = 4
	f11 = 11
	f12 = 12
	f13 = 13
	f22 = 22
	f23 = 23
	f25 = 25
	f32 = 32
	f37 = 37
	f38 = 38
	f39 = 39
	f41 = 41
	f42 = 42
	f48 = 48
	f49 = 49
	f52 = 52
	f54 = 54
	f55 = 55
	f60 = 60
	f61 = 61
	f62 = 62
	f64 = 64
)

// handler answers one request: the reply's response code and extra
// fields, or nil for no reply.
type handler func(s *Sim, r *request) *answer

// request is one routed request.
type request struct {
	msg  *iso8583.Message
	info acquirer.FrameInfo
	f60  acquirer.Field60
	tid  string
}

// answer is what a handler decides.
type answer struct {
	code  string
	extra map[int]any
}

func reply(code string, kv ...any) *answer {
	a := &answer{code: code, extra: make(map[int]any)}
	for i := 0; i+1 < len(kv); i += 2 {
		if id, ok := kv[i].(int); ok {
			a.extra[id] = kv[i+1]
		}
	}
	return a
}

// routes maps MTI/60.1/60.3 to the handlers: the message table of the
// notes, from the acquirer's side. A reversal is routed by its MTI alone
// (its 60 is the original's).
var routes = map[string]handler{
	"0800/00/001": (*Sim).signIn,
	"0800/00/003": (*Sim).signIn,
	"0800/00/004": (*Sim).signIn,
	"0820/00/002": (*Sim).ok,
	"0820/00/301": (*Sim).ok,
	"0200/01/000": (*Sim).balance,
	"0200/22/000": (*Sim).authorize,
	"0200/45/000": (*Sim).authorize,
	"0200/46/000": (*Sim).authorize,
	"0200/47/000": (*Sim).authorize,
	"0200/36/000": (*Sim).offlineUpload,
	"0320/36/000": (*Sim).offlineUpload,
	"0320/00/203": (*Sim).tcUpload,
	"0320/00/205": (*Sim).tcUpload,
	"0320/00/207": (*Sim).batchEnd,
	"0320/00/202": (*Sim).batchEnd,
	"0400":        (*Sim).reversal,
	"0620/00/951": (*Sim).advice,
	"0500/00/201": (*Sim).settle,
	"0820/00/372": (*Sim).caKeyQuery,
	"0800/00/370": (*Sim).caKeyDownload,
	"0800/00/371": (*Sim).ok,
	"0820/00/382": (*Sim).paramQuery,
	"0800/00/380": (*Sim).paramDownload,
	"0800/00/381": (*Sim).ok,
	"0200/48/000": (*Sim).purseAuthorize,
	"0200/49/000": (*Sim).purseAuthorize,
	"0200/52/000": (*Sim).purseAuthorize,
	"0220/48/000": (*Sim).purseConfirm,
	"0220/49/000": (*Sim).purseConfirm,
	"0220/52/000": (*Sim).purseConfirm,
}

// macRequired lists the requests that must carry a valid MAC.
var macRequired = map[string]bool{"0200": true, "0220": true, "0400": true, "0620": true}

// dispatch routes req and builds the reply; rec is its entry in the log.
func (s *Sim) dispatch(msg *iso8583.Message, info acquirer.FrameInfo, f acquirer.Field60, rec int) *iso8583.Message {
	mti, _ := msg.GetMTI()
	h, ok := routes[mti+"/"+f.Type+"/"+f.Network]
	if !ok {
		h, ok = routes[mti]
	}
	var a *answer
	switch {
	case !ok:
		a = reply("12") // invalid transaction
	case macRequired[mti] && info.MAC != acquirer.MACValid:
		a = reply("A0") // MAC error: nothing is done on an unauthenticated request
	default:
		a = h(s, &request{msg: msg, info: info, f60: f, tid: str(msg, f41)})
	}
	if a == nil {
		return nil
	}
	s.mu.Lock()
	s.received[rec].Response = a.code
	s.mu.Unlock()
	out, err := s.replyTo(msg, info, a)
	if err != nil {
		return nil
	}
	return out
}

// refuse answers req with code, doing nothing.
func (s *Sim) refuse(req *iso8583.Message, info acquirer.FrameInfo, code string, rec int) *iso8583.Message {
	s.mu.Lock()
	s.received[rec].Response = code
	s.mu.Unlock()
	out, err := s.replyTo(req, info, reply(code))
	if err != nil {
		return nil
	}
	return out
}

// replyTo builds the reply to req: its MTI + 10, 3 4 11 25 41 42 49 60
// copied, 12 13 32 37 39 set, 64 when the request had one.
func (s *Sim) replyTo(req *iso8583.Message, info acquirer.FrameInfo, a *answer) (*iso8583.Message, error) {
	mti, _ := req.GetMTI()
	out := iso8583.NewMessage(s.spec)
	out.MTI(mti[:2] + string(mti[2]+1) + mti[3:])
	for _, id := range []int{f3, f4, f11, f25, f41, f42, f49, f60} {
		if v := str(req, id); v != "" {
			if err := out.Field(id, v); err != nil {
				return nil, err
			}
		}
	}
	now := time.Now()
	s.mu.Lock()
	s.rrn++
	rrn := fmt.Sprintf("%012d", s.rrn)
	s.mu.Unlock()
	set := map[int]any{f12: now.Format("150405"), f13: now.Format("0102"), f32: s.cfg.AcquirerID, f37: rrn, f39: a.code}
	for id, v := range a.extra {
		set[id] = v
	}
	if info.MAC != acquirer.MACAbsent {
		set[f64] = make([]byte, acquirer.MACLen)
	}
	for id, v := range set {
		var err error
		switch v := v.(type) {
		case string:
			err = out.Field(id, v)
		case []byte:
			err = out.BinaryField(id, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ok approves a management message that needs nothing done (sign-off,
// echo, end of a download).
func (s *Sim) ok(*request) *answer { return reply("00") }

// signIn issues new working keys under the TMK.
func (s *Sim) signIn(r *request) *answer {
	mode := acquirer.KeysDES
	switch r.f60.Network {
	case "004":
		mode = acquirer.KeysTDES
	case "003":
		mode = acquirer.KeysTDESNoTDK
	}
	pik, mak, tdk, err := newKeys(mode)
	if err != nil {
		return reply("96")
	}
	w, err := acquirer.SealWorkingKeys(mode, s.cfg.TMK, pik, mak, tdk)
	if err != nil {
		return reply("96")
	}
	s.mu.Lock()
	t := s.terminal(r.tid)
	t.pik, t.mak = pik, mak
	batch := t.batch
	s.mu.Unlock()
	f := acquirer.Field60{Type: "00", Batch: batch, Network: r.f60.Network}
	return reply("00", f60, f.String(), f62, w.Field62())
}

// str returns field id of msg as a string ("" when absent).
func str(msg *iso8583.Message, id int) string {
	if msg.GetField(id) == nil {
		return ""
	}
	v, err := msg.GetString(id)
	if err != nil {
		return ""
	}
	return v
}

// bin returns field id of msg as bytes (nil when absent).
func bin(msg *iso8583.Message, id int) []byte {
	if msg.GetField(id) == nil {
		return nil
	}
	v, err := msg.GetBytes(id)
	if err != nil {
		return nil
	}
	return v
}

// amount reads field 4.
func amount(msg *iso8583.Message) (kernel.Amount, bool) {
	v, err := strconv.ParseUint(str(msg, f4), 10, 64)
	return kernel.Amount(v), err == nil
}

func sortAuths(a []Auth) {
	slices.SortFunc(a, func(x, y Auth) int {
		return cmp.Or(cmp.Compare(x.TerminalID, y.TerminalID), cmp.Compare(x.Batch, y.Batch), cmp.Compare(x.STAN, y.STAN))
	})
}

func sortUploads(u []Upload) {
	slices.SortFunc(u, func(x, y Upload) int {
		return cmp.Or(cmp.Compare(x.TerminalID, y.TerminalID), cmp.Compare(x.PAN, y.PAN), cmp.Compare(x.ATC, y.ATC))
	})
}
