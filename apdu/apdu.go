// SPDX-License-Identifier: Apache-2.0

// Package apdu encodes and decodes ISO/IEC 7816-4 command and response APDUs
// for an EMV / PBOC terminal: commands and their builders, status words with
// their meanings, the Transport interface, Exchange (which follows 61xx with
// GET RESPONSE and re-issues a command after 6Cxx), a tracing Transport that
// logs every APDU with the PAN masked, and a Transport that enforces a budget.
//
// Only short APDUs are supported (at most 255 bytes of command data and 256
// expected response bytes). Every byte from a card is treated as hostile:
// malformed input is reported as an error, never as a panic or an unbounded
// allocation.
package apdu

import (
	"errors"
	"fmt"
)

// ErrShortResponse reports a response APDU of fewer than two bytes, which
// cannot hold a status word.
var ErrShortResponse = errors.New("apdu: response shorter than a status word")

// ErrLimitExceeded reports that a Transport made by Limit ran out of its
// APDU or byte budget.
var ErrLimitExceeded = errors.New("apdu: limit exceeded")

// ErrMalformedCommand reports a command APDU that cannot be encoded or
// parsed as a short APDU (bad length, Lc that does not match, Ne out of
// range).
var ErrMalformedCommand = errors.New("apdu: malformed command")

// ErrChaining reports a card that kept answering 61xx beyond the number of
// GET RESPONSE rounds or the total size Exchange accepts.
var ErrChaining = errors.New("apdu: response chaining exceeds its bounds")

// Short APDU bounds.
const (
	// MaxData is the largest command data field of a short APDU (Lc).
	MaxData = 255
	// MaxNe is the largest expected response length of a short APDU,
	// encoded as Le = 00.
	MaxNe = 256
)

// Command is a command APDU.
type Command struct {
	// CLA is the class byte.
	CLA byte
	// INS is the instruction byte.
	INS byte
	// P1 is the first parameter byte.
	P1 byte
	// P2 is the second parameter byte.
	P2 byte
	// Data is the command data field (sent with Lc when not empty).
	Data []byte
	// Ne is the number of response bytes expected: 0 sends no Le byte,
	// 1..256 sends Le (256 as Le = 00).
	Ne int
}

// Validate reports whether c can be encoded as a short APDU. The error wraps
// ErrMalformedCommand.
func (c Command) Validate() error {
	if len(c.Data) > MaxData {
		return fmt.Errorf("%w: %d data bytes, at most %d", ErrMalformedCommand, len(c.Data), MaxData)
	}
	if c.Ne < 0 || c.Ne > MaxNe {
		return fmt.Errorf("%w: Ne %d, want 0..%d", ErrMalformedCommand, c.Ne, MaxNe)
	}
	return nil
}

// Bytes returns the encoding of c: CLA INS P1 P2 [Lc Data] [Le]. See
// AppendTo for commands that fail Validate.
func (c Command) Bytes() []byte {
	n := 4
	if len(c.Data) > 0 {
		n += 1 + min(len(c.Data), MaxData)
	}
	if c.Ne != 0 {
		n++
	}
	return c.AppendTo(make([]byte, 0, n))
}

// AppendTo appends the encoding of c to dst and returns the extended slice.
// It never panics: for a command that fails Validate, data beyond 255 bytes
// is dropped and an Ne outside 1..256 is encoded as Le = 00, so callers that
// need a faithful encoding must call Validate first (Exchange does).
func (c Command) AppendTo(dst []byte) []byte {
	dst = append(dst, c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		data := c.Data[:min(len(c.Data), MaxData)]
		dst = append(dst, byte(len(data)))
		dst = append(dst, data...)
	}
	if c.Ne != 0 {
		dst = append(dst, byte(c.Ne)) // 256 → 00; out of range values are truncated
	}
	return dst
}

// Name returns the name of the command's instruction, such as "SELECT" or
// "GENERATE AC", or "INS xx" (hex) for an instruction it does not know.
func (c Command) Name() string { return insName(c.INS) }

func insName(ins byte) string {
	switch ins {
	case 0xA4:
		return "SELECT"
	case 0xA8:
		return "GET PROCESSING OPTIONS"
	case 0xB2:
		return "READ RECORD"
	case 0xAE:
		return "GENERATE AC"
	case 0xCA:
		return "GET DATA"
	case 0xDA:
		return "PUT DATA"
	case 0x88:
		return "INTERNAL AUTHENTICATE"
	case 0x82:
		return "EXTERNAL AUTHENTICATE"
	case 0x84:
		return "GET CHALLENGE"
	case 0x20:
		return "VERIFY"
	case 0xC0:
		return "GET RESPONSE"
	case 0x1E:
		return "APPLICATION BLOCK"
	case 0x18:
		return "APPLICATION UNBLOCK"
	case 0x16:
		return "CARD BLOCK"
	case 0x24:
		return "PIN CHANGE/UNBLOCK"
	case 0xDC:
		return "UPDATE RECORD"
	}
	const hexDigits = "0123456789ABCDEF"
	return "INS " + string([]byte{hexDigits[ins>>4], hexDigits[ins&0x0F]})
}

// ParseCommand decodes a short command APDU of ISO/IEC 7816-4 case 1
// (header only), 2 (header, Le), 3 (header, Lc, data) or 4 (header, Lc,
// data, Le). It is strict: Lc must be non-zero and match the data that
// follows, and extended lengths are rejected. Errors wrap
// ErrMalformedCommand. Data aliases b.
//
// ParseCommand is what a card simulator uses to read the terminal's
// commands; it also turns an issuer script command (tag 86) into a Command
// that Exchange can send.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, a header needs 4", ErrMalformedCommand, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	switch {
	case len(b) == 4: // case 1
		return c, nil
	case len(b) == 5: // case 2
		c.Ne = decodeLe(b[4])
		return c, nil
	}
	lc := int(b[4])
	if lc == 0 {
		return Command{}, fmt.Errorf("%w: Lc = 00 (extended length is not supported)", ErrMalformedCommand)
	}
	switch len(b) {
	case 5 + lc: // case 3
		c.Data = b[5 : 5+lc : 5+lc]
	case 6 + lc: // case 4
		c.Data = b[5 : 5+lc : 5+lc]
		c.Ne = decodeLe(b[5+lc])
	default:
		return Command{}, fmt.Errorf("%w: Lc %d does not match the %d bytes after it", ErrMalformedCommand, lc, len(b)-5)
	}
	return c, nil
}

// decodeLe converts a short Le byte to Ne (00 means 256).
func decodeLe(le byte) int {
	if le == 0 {
		return MaxNe
	}
	return int(le)
}

// Response is a response APDU.
type Response struct {
	// Data is the response data field (without the status word).
	Data []byte
	// SW is the status word SW1 SW2.
	SW SW
}

// ParseResponse splits a response APDU into its data and status word. A
// response of fewer than two bytes fails with ErrShortResponse. Data aliases
// b (capacity limited so that appending to it never overwrites the status
// word) and is nil when the response holds only a status word.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: %d bytes", ErrShortResponse, len(b))
	}
	n := len(b) - 2
	r := Response{SW: SW(b[n])<<8 | SW(b[n+1])}
	if n > 0 {
		r.Data = b[:n:n]
	}
	return r, nil
}

// Bytes returns the encoding of r: Data followed by SW1 SW2, in a new slice.
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, byte(r.SW>>8), byte(r.SW))
}
