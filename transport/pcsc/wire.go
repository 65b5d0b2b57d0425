// SPDX-License-Identifier: Apache-2.0

package pcsc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// This file speaks pcsc-lite's client/server protocol (winscard_msg.h) over
// pcscd's UNIX socket. Every request is a header (uint32 size, uint32
// command, host byte order) and a fixed-size struct; pcscd answers with the
// same struct, return value filled in. SCardTransmit appends the command
// APDU after the struct and pcscd appends the response after its answer.
// The reader states come as a fixed array of 16 records.

// DefaultSocket is pcscd's socket on Linux. The environment variable
// PCSCLITE_CSOCK_NAME overrides it, as it does for libpcsclite.
const DefaultSocket = "/run/pcscd/pcscd.comm"

// SocketPath returns the socket this package uses when no WithSocket option
// is given: $PCSCLITE_CSOCK_NAME, or DefaultSocket.
func SocketPath() string {
	if p := os.Getenv("PCSCLITE_CSOCK_NAME"); p != "" {
		return p
	}
	return DefaultSocket
}

// Message commands (enum pcsc_msg_commands).
const (
	cmdEstablishContext = 0x01
	cmdReleaseContext   = 0x02
	cmdConnect          = 0x04
	cmdReconnect        = 0x05
	cmdDisconnect       = 0x06
	cmdTransmit         = 0x09
	cmdStatus           = 0x0B
	cmdVersion          = 0x11
	cmdGetReadersState  = 0x12
)

// Protocol versions. pcsc-lite 1.8.x–2.4.x answer CMD_GET_READERS_STATE
// with a fixed array of 16 records; 4:6 (pcsc-lite 2.5) lifted that limit
// and is not spoken here. 4:4 is tried first: it is what most installed
// daemons speak (pcsc-lite 1.8.24 to 2.2, Debian 12's 1.9.9 included), and
// pcscd logs every mismatch as an error.
const (
	protocolMajor     = 4
	protocolMinorPref = 4
	protocolMinorMin  = 3
	protocolMinorMax  = 5
)

// Sizes of the wire structs and of a reader state record.
const (
	maxReaderName   = 128
	maxATR          = 33
	maxReaders      = 16
	readerStateSize = maxReaderName + 3*4 + maxATR + 3 + 2*4 // 184, with padding after the ATR
	connectSize     = 4 + maxReaderName + 5*4                // 152
	transmitSize    = 8 * 4
	// maxBuffer is pcscd's MAX_BUFFER_SIZE_EXTENDED: the longest command
	// or response it handles.
	maxBuffer = 4 + 3 + (1 << 16) + 3 + 2
)

// Sharing modes and dispositions (winscard.h / pcsclite.h).
const (
	shareExclusive = 1
	shareShared    = 2
	leaveCard      = 0
	resetCard      = 1
	scopeSystem    = 2
)

var ne = binary.NativeEndian // pcscd uses host byte order

// conn is one socket to pcscd, holding one PC/SC context. Its methods are
// serialised by mu. Once an exchange is interrupted midway (I/O error,
// cancelled context) the byte stream cannot be resynchronised and the conn
// is marked broken. A conn is not safe for concurrent use: Card serialises
// its calls.
type conn struct {
	c      net.Conn
	minor  uint32
	ctx    uint32 // hContext
	broken error
}

// dial connects to pcscd, agrees on a protocol version and establishes a
// context.
func dial(ctx context.Context, path string) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pcsc: connect to pcscd: %w", ctx.Err())
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrNoService, path, err)
	}
	c := &conn{c: nc}
	if err := c.negotiate(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	var est [12]byte
	ne.PutUint32(est[0:], scopeSystem)
	if err := c.call(ctx, cmdEstablishContext, est[:], nil, est[:]); err != nil {
		nc.Close()
		return nil, err
	}
	if err := check("SCardEstablishContext", "", ne.Uint32(est[8:])); err != nil {
		nc.Close()
		return nil, err
	}
	c.ctx = ne.Uint32(est[4:])
	return c, nil
}

// negotiate sends CMD_VERSION with the preferred version and, if pcscd
// answers with another version this client speaks, once more with that one.
func (c *conn) negotiate(ctx context.Context) error {
	minor := uint32(protocolMinorPref)
	for range 2 {
		var v [12]byte
		ne.PutUint32(v[0:], protocolMajor)
		ne.PutUint32(v[4:], minor)
		if err := c.call(ctx, cmdVersion, v[:], nil, v[:]); err != nil {
			return err
		}
		major, srvMinor, rv := ne.Uint32(v[0:]), ne.Uint32(v[4:]), ne.Uint32(v[8:])
		if rv == uint32(CodeSuccess) {
			c.minor = minor
			return nil
		}
		if major != protocolMajor || srvMinor < protocolMinorMin || srvMinor > protocolMinorMax || srvMinor == minor {
			return fmt.Errorf("%w: pcscd speaks protocol %d:%d, this client %d:%d to %d:%d (%s)",
				ErrProtocol, major, srvMinor, protocolMajor, protocolMinorMin, protocolMajor, protocolMinorMax, Code(rv))
		}
		minor = srvMinor
	}
	return fmt.Errorf("%w: pcscd refused every protocol version", ErrProtocol)
}

// call sends command with req (and extra, sent after it without being
// counted in the header, as SCardTransmit's APDU is) and reads len(resp)
// bytes of answer. resp may alias req.
func (c *conn) call(ctx context.Context, command uint32, req, extra, resp []byte) error {
	return c.exchange(ctx, func() error {
		msg := make([]byte, 8, 8+len(req)+len(extra))
		ne.PutUint32(msg[0:], uint32(len(req)))
		ne.PutUint32(msg[4:], command)
		msg = append(msg, req...)
		msg = append(msg, extra...)
		if _, err := c.c.Write(msg); err != nil {
			return err
		}
		_, err := io.ReadFull(c.c, resp)
		return err
	})
}

// exchange runs fn under ctx: the context's deadline becomes the socket's
// and cancelling it interrupts blocked I/O. Any failure breaks the conn.
func (c *conn) exchange(ctx context.Context, fn func() error) error {
	if c.broken != nil {
		return c.broken
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline() // zero: none
	if err := c.c.SetDeadline(deadline); err != nil {
		c.broken = fmt.Errorf("%w: %w", ErrClosed, err)
		return c.broken
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	err := fn()
	stopped := stop()
	if err == nil && !stopped {
		// ctx ended just as the exchange finished: the answer is complete,
		// but the deadline is now in the past; clear it for the next call.
		if derr := c.c.SetDeadline(time.Time{}); derr != nil {
			err = derr
		}
	}
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		c.broken = fmt.Errorf("%w: exchange with pcscd interrupted: %w", ErrClosed, ctxErr)
		return fmt.Errorf("pcsc: %w", ctxErr)
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		c.broken = fmt.Errorf("%w: exchange with pcscd timed out", ErrClosed)
		return fmt.Errorf("pcsc: %w", context.DeadlineExceeded)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: pcscd closed the connection", ErrNoService)
	}
	c.broken = fmt.Errorf("%w: %w", ErrClosed, err)
	return err
}

// readerState is one record of pcscd's reader state array.
type readerState struct {
	name     string
	state    uint32
	atr      []byte
	protocol uint32
}

// Reader state bits (pcsclite.h).
const (
	stateAbsent  = 0x0002
	statePresent = 0x0004
	statePowered = 0x0010
)

// readerStates fetches pcscd's reader state array.
func (c *conn) readerStates(ctx context.Context) ([]readerState, error) {
	buf := make([]byte, maxReaders*readerStateSize)
	if err := c.call(ctx, cmdGetReadersState, nil, nil, buf); err != nil {
		return nil, err
	}
	return parseReaderStates(buf), nil
}

// parseReaderStates decodes the reader state array, skipping empty slots
// (pcscd does not compact the array when a reader goes away).
func parseReaderStates(buf []byte) []readerState {
	var out []readerState
	for off := 0; off+readerStateSize <= len(buf); off += readerStateSize {
		rec := buf[off : off+readerStateSize]
		name := cString(rec[:maxReaderName])
		if name == "" {
			continue
		}
		atrLen := min(int(ne.Uint32(rec[176:])), maxATR)
		out = append(out, readerState{
			name:     name,
			state:    ne.Uint32(rec[132:]),
			atr:      bytes.Clone(rec[140 : 140+atrLen]),
			protocol: ne.Uint32(rec[180:]),
		})
	}
	return out
}

// cString returns the bytes of b up to the first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// connect is SCardConnect: it returns hCard and the active protocol.
func (c *conn) connect(ctx context.Context, reader string, share, protocols uint32) (uint32, uint32, error) {
	if len(reader) >= maxReaderName {
		return 0, 0, fmt.Errorf("%w: reader name %q too long", ErrNoReader, reader)
	}
	var m [connectSize]byte
	ne.PutUint32(m[0:], c.ctx)
	copy(m[4:4+maxReaderName], reader)
	ne.PutUint32(m[132:], share)
	ne.PutUint32(m[136:], protocols)
	if err := c.call(ctx, cmdConnect, m[:], nil, m[:]); err != nil {
		return 0, 0, err
	}
	if err := check("SCardConnect", reader, ne.Uint32(m[148:])); err != nil {
		return 0, 0, err
	}
	return ne.Uint32(m[140:]), ne.Uint32(m[144:]), nil
}

// reconnect is SCardReconnect: it returns the active protocol.
func (c *conn) reconnect(ctx context.Context, reader string, card, share, protocols, init uint32) (uint32, error) {
	var m [24]byte
	ne.PutUint32(m[0:], card)
	ne.PutUint32(m[4:], share)
	ne.PutUint32(m[8:], protocols)
	ne.PutUint32(m[12:], init)
	if err := c.call(ctx, cmdReconnect, m[:], nil, m[:]); err != nil {
		return 0, err
	}
	if err := check("SCardReconnect", reader, ne.Uint32(m[20:])); err != nil {
		return 0, err
	}
	return ne.Uint32(m[16:]), nil
}

// disconnect is SCardDisconnect.
func (c *conn) disconnect(ctx context.Context, reader string, card, disposition uint32) error {
	var m [12]byte
	ne.PutUint32(m[0:], card)
	ne.PutUint32(m[4:], disposition)
	if err := c.call(ctx, cmdDisconnect, m[:], nil, m[:]); err != nil {
		return err
	}
	return check("SCardDisconnect", reader, ne.Uint32(m[8:]))
}

// status is SCardStatus's server part: it reports whether the handle is
// still good (not reset, not removed).
func (c *conn) status(ctx context.Context, reader string, card uint32) error {
	var m [8]byte
	ne.PutUint32(m[0:], card)
	if err := c.call(ctx, cmdStatus, m[:], nil, m[:]); err != nil {
		return err
	}
	return check("SCardStatus", reader, ne.Uint32(m[4:]))
}

// transmit is SCardTransmit with the PCI of protocol.
func (c *conn) transmit(ctx context.Context, reader string, card, protocol uint32, command []byte) ([]byte, error) {
	var resp []byte
	var rv uint32
	err := c.exchange(ctx, func() error {
		msg := make([]byte, 8+transmitSize, 8+transmitSize+len(command))
		ne.PutUint32(msg[0:], transmitSize)
		ne.PutUint32(msg[4:], cmdTransmit)
		m := msg[8:]
		ne.PutUint32(m[0:], card)
		ne.PutUint32(m[4:], protocol) // ioSendPci.dwProtocol
		ne.PutUint32(m[8:], 8)        // ioSendPci.cbPciLength
		ne.PutUint32(m[12:], uint32(len(command)))
		ne.PutUint32(m[16:], 0) // ioRecvPci, unused
		ne.PutUint32(m[20:], 8)
		ne.PutUint32(m[24:], maxBuffer) // room for the response
		msg = append(msg, command...)
		if _, err := c.c.Write(msg); err != nil {
			return err
		}
		var a [transmitSize]byte
		if _, err := io.ReadFull(c.c, a[:]); err != nil {
			return err
		}
		rv = ne.Uint32(a[28:])
		if rv != uint32(CodeSuccess) {
			return nil // no response bytes follow an error
		}
		n := ne.Uint32(a[24:])
		if n > maxBuffer {
			return fmt.Errorf("%w: pcscd announced a %d-byte response", ErrProtocol, n)
		}
		resp = make([]byte, n)
		_, err := io.ReadFull(c.c, resp)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := check("SCardTransmit", reader, rv); err != nil {
		return nil, err
	}
	return resp, nil
}

// release ends the PC/SC context and closes the socket.
func (c *conn) release(ctx context.Context) error {
	var err error
	if c.broken == nil {
		var m [8]byte
		ne.PutUint32(m[0:], c.ctx)
		if err = c.call(ctx, cmdReleaseContext, m[:], nil, m[:]); err == nil {
			err = check("SCardReleaseContext", "", ne.Uint32(m[4:]))
		}
	}
	if cerr := c.c.Close(); err == nil && cerr != nil {
		err = cerr
	}
	c.broken = ErrClosed
	return err
}
