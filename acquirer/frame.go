// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/moov-io/iso8583"
	iso8583errors "github.com/moov-io/iso8583/errors"
)

// A frame on the wire (ACQUIRER-NOTES §1):
//
//	length 2 (binary, big-endian, not counting itself)
//	TPDU   5  60 ‖ destination 2 ‖ source 2 (a reply swaps them)
//	header 6  BCD: application type 60, version, terminal status n1,
//	          processing requirement n1, sub-version n6
//	message   MTI (BCD 2), primary bitmap (8), fields; field 64 last
const (
	tpduLen   = 5
	headerLen = 6
	// minFrame is TPDU, header, MTI and bitmap.
	minFrame = tpduLen + headerLen + 2 + 8
	// MaxFrame bounds the length a peer may announce. The longest message
	// of the spec is about 1.5 KB; anything above this is garbage and the
	// connection is dropped rather than read.
	MaxFrame = 4096
)

// TPDU is the transport header: ID 60, destination and source addresses.
type TPDU [tpduLen]byte

// Swapped returns the TPDU of a reply: destination and source exchanged.
func (t TPDU) Swapped() TPDU {
	return TPDU{t[0], t[3], t[4], t[1], t[2]}
}

// Header is the 6-byte BCD message header.
type Header [headerLen]byte

// The processing requirements a reply header can carry (its 6th digit):
// what the acquirer asks the terminal to do next (ACQUIRER-NOTES §1).
const (
	RequireNothing        = 0
	RequireParamDownload  = 1
	RequireStatusUpload   = 2
	RequireSignIn         = 3
	RequireCAKeyDownload  = 4
	RequireICParamsUpdate = 5
	RequireAppUpdate      = 6
	RequireBlacklist      = 7
	RequireCLParams       = 9
)

// Requirement returns the processing requirement digit.
func (h Header) Requirement() int { return int(h[2] & 0x0F) }

// WithRequirement returns h with the processing requirement digit set.
func (h Header) WithRequirement(r int) Header {
	h[2] = h[2]&0xF0 | byte(r)&0x0F
	return h
}

// macFunc computes field 64 over a MAC block.
type macFunc func(mab []byte) ([MACLen]byte, error)

// MACState is what the reader found of field 64.
type MACState int

// The MAC states of a received message.
const (
	MACAbsent  MACState = iota // no field 64
	MACValid                   // field 64 verifies under the MAK
	MACInvalid                 // field 64 is wrong, or no key to check it
)

// FrameInfo is what the reader learnt of a received frame beyond its
// fields.
type FrameInfo struct {
	Header Header
	MAC    MACState
}

// codec frames messages for iso8583-connection (it implements
// connection.MessageReader and MessageWriter): TPDU and header around the
// packed message, field 64 computed on write and verified on read. What it
// learns of a received frame is kept beside the message until taken.
type codec struct {
	spec      *iso8583.MessageSpec
	tpdu      TPDU // written
	peer      TPDU // expected on read
	checkTPDU bool
	header    Header
	// macKey returns the MAC function for a message (keys by terminal on
	// the acquirer's side); an error makes a written MAC fail and a read
	// one invalid.
	macKey func(msg *iso8583.Message) (macFunc, error)

	mu        sync.Mutex
	in        map[*iso8583.Message]FrameInfo
	outHeader map[*iso8583.Message]Header
	corrupt   map[*iso8583.Message]bool
	// attempted holds the messages a write was started for: a message not
	// in it never left the process.
	attempted map[*iso8583.Message]bool
}

// maxInbound bounds the frames kept untaken (replies nobody asked for).
const maxInbound = 64

func newCodec(spec *iso8583.MessageSpec, tpdu, peer TPDU, header Header, check bool, macKey func(*iso8583.Message) (macFunc, error)) *codec {
	return &codec{spec: spec, tpdu: tpdu, peer: peer, checkTPDU: check, header: header, macKey: macKey,
		in: make(map[*iso8583.Message]FrameInfo), outHeader: make(map[*iso8583.Message]Header),
		corrupt: make(map[*iso8583.Message]bool), attempted: make(map[*iso8583.Message]bool)}
}

// take returns and forgets what the reader learnt of msg.
func (c *codec) take(msg *iso8583.Message) (FrameInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.in[msg]
	delete(c.in, msg)
	return in, ok
}

// setHeader makes the next write of msg carry h instead of the default.
func (c *codec) setHeader(msg *iso8583.Message, h Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outHeader[msg] = h
}

// WriteMessage packs msg, fills field 64 when its bit is set, and writes the
// whole frame with one Write.
func (c *codec) WriteMessage(w io.Writer, msg *iso8583.Message) error {
	frame, err := c.frame(msg)
	if err != nil {
		return &iso8583errors.PackError{Err: err}
	}
	c.mu.Lock()
	if len(c.attempted) >= maxInbound {
		clear(c.attempted)
	}
	c.attempted[msg] = true
	c.mu.Unlock()
	_, err = w.Write(frame)
	stepHook("wrote:" + str(msg, 0))
	return err
}

// wasAttempted reports (and forgets) whether a write of msg was started:
// if not, the message never left the process.
func (c *codec) wasAttempted(msg *iso8583.Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := c.attempted[msg]
	delete(c.attempted, msg)
	return ok
}

// frame returns the bytes WriteMessage writes.
func (c *codec) frame(msg *iso8583.Message) ([]byte, error) {
	packed, err := msg.Pack()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	if hasMAC(packed) {
		f, err := c.macKey(msg)
		if err != nil {
			return nil, err
		}
		mac, err := f(packed[:len(packed)-MACLen])
		if err != nil {
			return nil, err
		}
		copy(packed[len(packed)-MACLen:], mac[:])
		c.mu.Lock()
		if c.corrupt[msg] {
			packed[len(packed)-1] ^= 0x01
			delete(c.corrupt, msg)
		}
		c.mu.Unlock()
	}
	n := tpduLen + headerLen + len(packed)
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: frame of %d bytes (at most %d)", ErrMessage, n, MaxFrame)
	}
	c.mu.Lock()
	h, ok := c.outHeader[msg]
	delete(c.outHeader, msg)
	c.mu.Unlock()
	if !ok {
		h = c.header
	}
	out := make([]byte, 0, 2+n)
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	out = append(out, c.tpdu[:]...)
	out = append(out, h[:]...)
	return append(out, packed...), nil
}

// hasMAC reports whether bit 64 is set in a packed message (MTI 2 bytes,
// then the primary bitmap).
func hasMAC(packed []byte) bool {
	return len(packed) >= 2+8+MACLen && packed[9]&0x01 != 0
}

// ReadMessage reads one frame. A frame whose announced length is out of
// range ends the connection (the stream cannot be trusted to be in step);
// a complete frame that does not parse is an *UnpackError, which
// iso8583-connection skips, and is never delivered.
func (c *codec) ReadMessage(r io.Reader) (*iso8583.Message, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n < minFrame || n > MaxFrame {
		return nil, fmt.Errorf("%w: frame length %d (%d to %d)", ErrMessage, n, minFrame, MaxFrame)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	msg, in, err := c.parse(frame)
	if err != nil {
		return nil, &iso8583errors.UnpackError{Err: err} // no raw bytes: they hold card data
	}
	c.mu.Lock()
	if len(c.in) >= maxInbound {
		clear(c.in)
	}
	c.in[msg] = in
	c.mu.Unlock()
	return msg, nil
}

// parse checks the TPDU and header of a frame, unpacks the message and
// verifies field 64 if present.
func (c *codec) parse(frame []byte) (*iso8583.Message, FrameInfo, error) {
	var in FrameInfo
	var t TPDU
	copy(t[:], frame)
	if t[0] != 0x60 || (c.checkTPDU && t != c.peer) {
		return nil, in, fmt.Errorf("%w: TPDU % X, want % X", ErrMessage, t[:], c.peer[:])
	}
	copy(in.Header[:], frame[tpduLen:])
	// The application type is the one this side sends: 60 by default;
	// some acquirers use 61 and answer in kind (yangyongzhen/Easy8583Ans,
	// yangyongzhen/go8583), which Variant.Header expresses.
	if in.Header[0] != c.header[0] {
		return nil, in, fmt.Errorf("%w: header application type %02X, want %02X", ErrMessage, in.Header[0], c.header[0])
	}
	body := frame[tpduLen+headerLen:]
	msg := iso8583.NewMessage(c.spec)
	if err := unpack(msg, body); err != nil {
		return nil, in, err
	}
	if !hasMAC(body) {
		return msg, in, nil
	}
	in.MAC = MACInvalid
	if f, err := c.macKey(msg); err == nil {
		want, err := f(body[:len(body)-MACLen])
		if err == nil && subtle.ConstantTimeCompare(want[:], body[len(body)-MACLen:]) == 1 {
			in.MAC = MACValid
		}
	}
	return msg, in, nil
}

// unpack unpacks body into msg, turning a panic of the unpacker into an
// error: a peer's bytes must never take the process down.
func unpack(msg *iso8583.Message, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: unpacker panicked", ErrMessage)
		}
	}()
	if err := msg.Unpack(body); err != nil {
		var ue *iso8583errors.UnpackError
		if errors.As(err, &ue) {
			return fmt.Errorf("%w: field %s: %v", ErrMessage, ue.FieldID, ue.Err)
		}
		return fmt.Errorf("%w: %v", ErrMessage, err)
	}
	return nil
}

// backgroundMAC adapts a SecurityModule to the codec, which has no context
// of its own (iso8583-connection's writer interface has none).
func backgroundMAC(m SecurityModule) macFunc {
	return func(mab []byte) ([MACLen]byte, error) { return m.MAC(context.Background(), mab) }
}

// Codec frames messages on the acquirer's side of the link: it reads
// frames with the terminal's TPDU, writes replies with the TPDU swapped and
// the header given (SetHeader), and computes and verifies field 64 under
// the MAK its lookup returns for the message's terminal (field 41). It
// implements iso8583-connection's MessageReader and MessageWriter, for
// acquirer simulators and test harnesses.
type Codec struct{ c *codec }

// NewAcquirerCodec returns the acquirer's codec for variant v. mak returns
// the MAK in force for a terminal ID (nil: none, every MAC is invalid).
func NewAcquirerCodec(v Variant, mak func(terminalID string) []byte) *Codec {
	v = v.withDefaults()
	lookup := func(msg *iso8583.Message) (macFunc, error) {
		k := mak(str(msg, fTerminalID))
		if k == nil {
			return nil, ErrNoKeys
		}
		return func(mab []byte) ([MACLen]byte, error) { return CUPMAC(k, mab) }, nil
	}
	return &Codec{newCodec(Spec(v), v.TPDU.Swapped(), v.TPDU, v.Header, !v.LooseTPDU, lookup)}
}

// Spec returns the moov-io message spec of variant v.
func Spec(v Variant) *iso8583.MessageSpec { return newSpec(v.withDefaults().Field60Max) }

// ReadMessage implements connection.MessageReader.
func (c *Codec) ReadMessage(r io.Reader) (*iso8583.Message, error) { return c.c.ReadMessage(r) }

// WriteMessage implements connection.MessageWriter.
func (c *Codec) WriteMessage(w io.Writer, msg *iso8583.Message) error {
	return c.c.WriteMessage(w, msg)
}

// Info returns (once) what was read of msg's frame: its header and the
// state of its MAC.
func (c *Codec) Info(msg *iso8583.Message) (FrameInfo, bool) { return c.c.take(msg) }

// SetHeader makes the write of msg carry h (to ask the terminal for
// something with the processing requirement).
func (c *Codec) SetHeader(msg *iso8583.Message, h Header) { c.c.setHeader(msg, h) }

// CorruptMAC makes the write of msg carry a wrong MAC (a simulator's
// fault).
func (c *Codec) CorruptMAC(msg *iso8583.Message) {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	c.c.corrupt[msg] = true
}
