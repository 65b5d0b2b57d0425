// SPDX-License-Identifier: Apache-2.0

package hostile

import (
	"bytes"
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/tlv"
)

// nth counts the matches of a lie that should strike only once.
type nth struct {
	want, seen int
}

// hit reports whether this match is the wanted one (want 0: every one).
func (n *nth) hit() bool {
	n.seen++
	return n.want == 0 || n.seen == n.want
}

// DropAnswer lets the card execute the Nth command (1-based; 0: every one)
// with instruction INS, then reports the card gone (ErrDropped): the torn
// transaction, or an answer lost on the way.
func DropAnswer(insByte byte, n int) Lie { return &drop{ins: insByte, n: nth{want: n}} }

type drop struct {
	ins byte
	n   nth
}

func (d *drop) Match(x *Exchange) bool { return x.Command.INS == d.ins && d.n.hit() }
func (d *drop) Apply(_ context.Context, x *Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error) {
	if _, err := forward(x.Command); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w after %s", ErrDropped, x.Command.Name())
}

// RefuseAfter lets the card execute the Nth command with instruction INS
// (0: every one) and answers sw instead of the card's answer: a card (or a
// relay) that says no after having done it.
func RefuseAfter(insByte byte, n int, sw apdu.SW) Lie {
	return &refuse{ins: insByte, n: nth{want: n}, sw: sw}
}

type refuse struct {
	ins byte
	n   nth
	sw  apdu.SW
}

func (r *refuse) Match(x *Exchange) bool { return x.Command.INS == r.ins && r.n.hit() }
func (r *refuse) Apply(_ context.Context, x *Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error) {
	if _, err := forward(x.Command); err != nil {
		return nil, err
	}
	return []byte{byte(r.sw >> 8), byte(r.sw)}, nil
}

// Answer answers every command that match accepts with rsp (data and
// status word), without asking the card.
func Answer(match func(apdu.Command) bool, rsp []byte) Lie {
	return &answer{match: match, rsp: append([]byte(nil), rsp...)}
}

type answer struct {
	match func(apdu.Command) bool
	rsp   []byte
}

func (a *answer) Match(x *Exchange) bool { return a.match(x.Command) }
func (a *answer) Apply(context.Context, *Exchange, func(apdu.Command) ([]byte, error)) ([]byte, error) {
	return append([]byte(nil), a.rsp...), nil
}

// GetData answers GET DATA of tag with value (9000) without asking the
// card: a balance, a limit or a log format the card does not hold.
func GetData(tag tlv.Tag, value []byte) Lie {
	p1, p2 := byte(tag>>8), byte(tag)
	return Answer(func(c apdu.Command) bool { return c.INS == INSGetData && c.P1 == p1 && c.P2 == p2 }, ok(tlv.Append(nil, tag, value)))
}

// ReadRecord answers READ RECORD of record rec in file sfi with data
// (9000): a forged log entry, a record of another card.
func ReadRecord(sfi, rec byte, data []byte) Lie {
	return Answer(func(c apdu.Command) bool {
		return c.INS == INSReadRecord && c.P1 == rec && c.P2 == sfi<<3|0x04
	}, ok(data))
}

// Rewrite passes the commands match accepts to the card and rewrites the
// answer's data with fn (the status word is kept).
func Rewrite(match func(apdu.Command) bool, fn func(data []byte) []byte) Lie {
	return &rewrite{match: match, fn: fn}
}

type rewrite struct {
	match func(apdu.Command) bool
	fn    func([]byte) []byte
}

func (r *rewrite) Match(x *Exchange) bool { return r.match(x.Command) }
func (r *rewrite) Apply(_ context.Context, x *Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error) {
	rsp, err := forward(x.Command)
	if err != nil {
		return nil, err
	}
	resp, err := split(rsp)
	if err != nil {
		return rsp, nil
	}
	return append(r.fn(bytes.Clone(resp.Data)), byte(resp.SW>>8), byte(resp.SW)), nil
}

// OtherCard answers the commands with the given instructions from another
// card: a card emulator that carries this card's PAN but not its keys, or
// a relay that mixes two cards. Both cards see every SELECT and GPO (the
// real card's answers are the ones returned), so the other card is in step.
func OtherCard(other apdu.Transport, instructions ...byte) Lie {
	return &otherCard{other: other, ins: instructions}
}

type otherCard struct {
	other apdu.Transport
	ins   []byte
}

func (o *otherCard) Match(x *Exchange) bool {
	return bytes.IndexByte(o.ins, x.Command.INS) >= 0 || x.Command.INS == INSSelect || x.Command.INS == INSGPO
}
func (o *otherCard) Apply(ctx context.Context, x *Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error) {
	if x.Command.INS == INSSelect || x.Command.INS == INSGPO {
		// Both cards see the selection and the GPO, so that the other one
		// is in step for what it answers; the real card answers them.
		_, _ = o.other.Transmit(ctx, x.Command.Bytes())
		return forward(x.Command)
	}
	return o.other.Transmit(ctx, x.Command.Bytes())
}

// Replay answers the second and later commands with instruction INS with
// the card's answer to the first, without asking the card again.
func Replay(insByte byte) Lie { return &replay{ins: insByte} }

type replay struct {
	ins   byte
	first []byte
}

func (r *replay) Match(x *Exchange) bool { return x.Command.INS == r.ins }
func (r *replay) Apply(_ context.Context, x *Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error) {
	if r.first != nil {
		return bytes.Clone(r.first), nil
	}
	rsp, err := forward(x.Command)
	if err == nil {
		r.first = bytes.Clone(rsp)
	}
	return rsp, err
}

// RelayTTQ is a relay between the terminal and the card that changes the
// terminal transaction qualifiers (9F66) in the GPO data on the way to the
// card: clear bits are cleared, set bits set (for example clear byte 2 bits
// 8 and 7, online cryptogram and CVM required, to have a card approve
// offline and without cardholder verification what the terminal would
// not).
func RelayTTQ(clear, set [4]byte) Lie { return &relayTTQ{clear: clear, set: set} }

type relayTTQ struct{ clear, set [4]byte }

func (r *relayTTQ) Match(x *Exchange) bool { return x.Command.INS == INSGPO && x.PDOL != nil }
func (r *relayTTQ) Apply(_ context.Context, x *Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error) {
	c := x.Command
	c.Data = bytes.Clone(c.Data)
	if off, ok := dolOffset(x.PDOL, 0x9F66); ok && len(c.Data) >= 2+off+4 && c.Data[0] == 0x83 {
		for i := range 4 {
			c.Data[2+off+i] = c.Data[2+off+i]&^r.clear[i] | r.set[i]
		}
	}
	return forward(c)
}

// dolOffset is the offset of tag's value in data built from d.
func dolOffset(d tlv.DOL, tag tlv.Tag) (int, bool) {
	off := 0
	for _, e := range d {
		if e.Tag == tag {
			return off, true
		}
		off += e.Len
	}
	return 0, false
}

// SetCTQ rewrites the card qualifiers (9F6C) in the card's GPO answer (a
// format-2 template): set bits set, clear bits cleared.
func SetCTQ(set, clear [2]byte) Lie {
	return Rewrite(func(c apdu.Command) bool { return c.INS == INSGPO }, func(data []byte) []byte {
		return replaceTag(data, 0x9F6C, func(v []byte) []byte {
			out := bytes.Clone(v)
			for i := 0; i < len(out) && i < 2; i++ {
				out[i] = out[i]&^clear[i] | set[i]
			}
			return out
		})
	})
}

// replaceTag rewrites the value of tag inside a template (one level deep)
// with fn; anything it cannot parse is left as it is.
func replaceTag(data []byte, tag tlv.Tag, fn func([]byte) []byte) []byte {
	o, err := tlv.ParseSingle(data)
	if err != nil || !o.Tag.Constructed() {
		return data
	}
	objs, err := tlv.Parse(o.Value)
	if err != nil {
		return data
	}
	var inner []byte
	for _, x := range objs {
		v := x.Value
		if x.Tag == tag {
			v = fn(v)
		}
		inner = tlv.Append(inner, x.Tag, v)
	}
	return tlv.Append(nil, o.Tag, inner)
}

// LogRecord builds a transaction log record in the card's log format
// (9F4F, a DOL): each field from values, zeros where values has none.
func LogRecord(format []byte, values map[tlv.Tag][]byte) ([]byte, error) {
	d, err := tlv.ParseDOL(format)
	if err != nil {
		return nil, fmt.Errorf("hostile: log format: %w", err)
	}
	var out []byte
	for _, e := range d {
		v := make([]byte, e.Len)
		copy(v[max(0, e.Len-len(values[e.Tag])):], values[e.Tag])
		out = append(out, v...)
	}
	return out, nil
}

// Unplug takes the card away before the Nth command with instruction INS
// (1-based; 0: every one) reaches it: the card does nothing, the terminal
// gets an error.
func Unplug(insByte byte, n int) Lie { return &unplug{ins: insByte, n: nth{want: n}} }

type unplug struct {
	ins byte
	n   nth
}

func (u *unplug) Match(x *Exchange) bool { return x.Command.INS == u.ins && u.n.hit() }
func (u *unplug) Apply(context.Context, *Exchange, func(apdu.Command) ([]byte, error)) ([]byte, error) {
	return nil, fmt.Errorf("%w: unplugged before %s", ErrDropped, "the command")
}
