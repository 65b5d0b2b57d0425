// SPDX-License-Identifier: Apache-2.0

// Package vpcd puts a simulated card into a PC/SC reader: it serves any
// apdu.Transport (typically a *cardsim.Card) as a virtual smart card to the
// "Virtual PCD" reader of vsmartcard (https://frankmorgner.github.io/vsmartcard/),
// so that pcscd, pcsc_scan and any PC/SC application — this project's
// transport/pcsc included — see it as a card in a reader.
//
// The vpcd reader driver, loaded by pcscd, listens on TCP (127.0.0.1:35963
// for the first reader, "Virtual PCD 00 00"; 35964 for the second); the
// virtual card connects to it. Every message in either direction is a
// 2-byte big-endian length and that many bytes. vpcd sends one-byte control
// messages — 0x00 power off, 0x01 power on, 0x02 reset, 0x04 "send your
// ATR" — and longer messages are command APDUs; the card answers the ATR
// request with its ATR and each APDU with its response. A card that closes
// the connection is a card taken out of the reader, one that connects is a
// card inserted.
//
//	card, _ := cardsim.New(cardsim.DefaultProfile())
//	err := vpcd.Serve(ctx, vpcd.DefaultAddr, card, vpcd.DefaultATR()) // until ctx is done
package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/go-pboc/pboc/apdu"
)

// DefaultAddr is where vpcd listens for the card of its first reader
// ("Virtual PCD 00 00"): port 0x8C7B of /etc/reader.conf.d/vpcd.
const DefaultAddr = "127.0.0.1:35963"

// DefaultRetryInterval is how long Serve waits before connecting again after
// vpcd was unreachable or dropped the card.
const DefaultRetryInterval = 250 * time.Millisecond

// Control messages from vpcd.
const (
	ctrlPowerOff = 0x00
	ctrlPowerOn  = 0x01
	ctrlReset    = 0x02
	ctrlATR      = 0x04
)

// maxFrame is the largest payload a frame can carry.
const maxFrame = 0xFFFF

// ErrInvalidATR reports an ATR that no reader would accept: shorter than 2
// or longer than 33 bytes, or with an initial character other than 3B
// (direct convention) or 3F (inverse convention).
var ErrInvalidATR = errors.New("vpcd: invalid ATR")

// ErrCardResponse reports a response from the card that cannot be sent to
// vpcd (empty, or longer than a frame holds). The connection is dropped, as
// if the card had been taken out.
var ErrCardResponse = errors.New("vpcd: card response cannot be sent")

// defaultATR is a T=0 contact-card ATR like those of PBOC debit cards:
// 3B 6B 00 00 — direct convention, TB1 = 00, TC1 = 00 (Fi/Di default, no
// extra guard time), T=0 only (no TD1, hence no TCK) — followed by 11
// historical bytes: category 80 and a compact-TLV pre-issuing data object
// (tag 6, 9 bytes) reading "PBOC2.0EC".
var defaultATR = []byte{0x3B, 0x6B, 0x00, 0x00, 0x80, 0x69, 'P', 'B', 'O', 'C', '2', '.', '0', 'E', 'C'}

// t1ATR is the same card offering T=1 only: TD1 = 81 (T=1 follows in
// TD2), TD2 = 31 (TA3, TB3 follow, T=1), TA3 = FE (IFSC 254), TB3 = 45
// (BWI 4, CWI 5), the same historical bytes and the TCK.
var t1ATR = withTCK([]byte{0x3B, 0xEB, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45,
	0x80, 0x69, 'P', 'B', 'O', 'C', '2', '.', '0', 'E', 'C'})

func withTCK(atr []byte) []byte {
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}

// DefaultATR returns a copy of the ATR Serve presents when given none: a
// T=0 card whose historical bytes read "PBOC2.0EC".
func DefaultATR() []byte { return bytes.Clone(defaultATR) }

// T1ATR returns a copy of an ATR for the same card speaking T=1 only, with
// its check byte.
func T1ATR() []byte { return bytes.Clone(t1ATR) }

// CheckATR reports whether atr is acceptable to present to a reader (see
// ErrInvalidATR). It does not parse the interface bytes.
func CheckATR(atr []byte) error {
	if len(atr) < 2 || len(atr) > 33 {
		return fmt.Errorf("%w: %d bytes, want 2 to 33", ErrInvalidATR, len(atr))
	}
	if atr[0] != 0x3B && atr[0] != 0x3F {
		return fmt.Errorf("%w: initial character %02X, want 3B or 3F", ErrInvalidATR, atr[0])
	}
	return nil
}

// Server is a virtual card for vpcd. The zero value is not usable: Card is
// required. vpcd holds one card per reader: while another virtual card is
// connected to the same port, the Server's connection waits, unanswered,
// until that card leaves.
type Server struct {
	// Addr is vpcd's address; empty means DefaultAddr.
	Addr string
	// Card answers the command APDUs. A Transmit error drops the connection:
	// pcscd then sees the card taken out, and Serve inserts it again after
	// RetryInterval.
	Card apdu.Transport
	// ATR is the answer to reset; nil means DefaultATR().
	ATR []byte
	// Reset is called when vpcd powers the card on or off or resets it, so
	// the card forgets its session. Nil means Card's own Reset() method, if
	// it has one (*cardsim.Card has).
	Reset func()
	// Logger receives connection and power events (Info) and every APDU
	// (Debug); nil discards them.
	Logger *slog.Logger
	// RetryInterval is the pause between connection attempts; 0 means
	// DefaultRetryInterval.
	RetryInterval time.Duration
}

// Serve connects the card to vpcd at addr and answers it, connecting again
// whenever vpcd is unreachable or drops the connection, until ctx is done.
// atr nil means DefaultATR(). If card has a Reset() method it is called on
// every power-on, power-off and reset. Serve returns ctx's error
// (context.Canceled or context.DeadlineExceeded), or ErrInvalidATR at once.
func Serve(ctx context.Context, addr string, card apdu.Transport, atr []byte) error {
	s := &Server{Addr: addr, Card: card, ATR: atr}
	return s.Serve(ctx)
}

// Serve runs the server until ctx is done; see the function Serve.
func (s *Server) Serve(ctx context.Context) error {
	if s.Card == nil {
		return errors.New("vpcd: Server.Card is nil")
	}
	atr := s.ATR
	if atr == nil {
		atr = defaultATR
	}
	if err := CheckATR(atr); err != nil {
		return err
	}
	addr := s.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	retry := s.RetryInterval
	if retry <= 0 {
		retry = DefaultRetryInterval
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sess := &session{card: s.Card, atr: bytes.Clone(atr), reset: s.resetFunc(), log: log}
	var d net.Dialer
	unreachable := false // log the first failure of a streak only
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			unreachable = false
			log.Info("vpcd: connected: card inserted", "addr", addr)
			err = sess.serveConn(ctx, c)
			c.Close()
			if ctx.Err() == nil {
				log.Info("vpcd: disconnected: card removed", "addr", addr, "cause", err)
			}
		} else if !unreachable && ctx.Err() == nil {
			unreachable = true
			log.Info("vpcd: cannot connect, retrying", "addr", addr, "err", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Server) resetFunc() func() {
	if s.Reset != nil {
		return s.Reset
	}
	if r, ok := s.Card.(interface{ Reset() }); ok {
		return r.Reset
	}
	return func() {}
}

// session answers vpcd on one connection.
type session struct {
	card  apdu.Transport
	atr   []byte
	reset func()
	log   *slog.Logger
}

// serveConn answers the messages read from rw until it fails, the peer
// closes it or ctx is done (which closes c if it is an io.Closer). It
// returns the cause; io.EOF when vpcd closed the connection cleanly.
func (s *session) serveConn(ctx context.Context, rw io.ReadWriter) error {
	if c, ok := rw.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	nc, _ := rw.(net.Conn)
	for {
		if nc != nil {
			quickAck(nc)
		}
		// A fresh buffer per message: the card may keep slices of the
		// command (cardsim keeps the GENERATE AC data).
		msg, err := readFrame(rw)
		if err != nil {
			return err
		}
		switch {
		case len(msg) == 0:
			// vpcd never sends an empty message; ignore it.
		case len(msg) == 1:
			if err := s.control(rw, msg[0]); err != nil {
				return err
			}
		default:
			resp, err := s.card.Transmit(ctx, msg)
			if err != nil {
				return fmt.Errorf("vpcd: card: %w", err)
			}
			if len(resp) == 0 || len(resp) > maxFrame {
				return fmt.Errorf("%w: %d bytes", ErrCardResponse, len(resp))
			}
			s.log.Debug("vpcd: apdu", "command", apdu.Command{INS: msg[1]}.Name(), "len", len(msg), "response_len", len(resp))
			if err := writeFrame(rw, resp); err != nil {
				return err
			}
		}
	}
}

// control handles a one-byte control message.
func (s *session) control(w io.Writer, b byte) error {
	switch b {
	case ctrlPowerOff:
		s.log.Info("vpcd: power off")
		s.reset()
	case ctrlPowerOn:
		s.log.Info("vpcd: power on")
		s.reset()
	case ctrlReset:
		s.log.Info("vpcd: reset")
		s.reset()
	case ctrlATR:
		return writeFrame(w, s.atr)
	default:
		s.log.Info("vpcd: unknown control message ignored", "byte", b)
	}
	return nil
}

// readFrame reads one message: a 2-byte big-endian length and the payload.
// A stream that ends inside a frame is
// io.ErrUnexpectedEOF; one that ends between frames is io.EOF.
func readFrame(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(hdr[:])) // at most 64 KiB
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// writeFrame writes payload (at most maxFrame bytes) as one message.
func writeFrame(w io.Writer, payload []byte) error {
	if len(payload) > maxFrame {
		return fmt.Errorf("%w: %d bytes", ErrCardResponse, len(payload))
	}
	msg := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(msg, uint16(len(payload)))
	copy(msg[2:], payload)
	_, err := w.Write(msg)
	return err
}
