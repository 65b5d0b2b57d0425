// SPDX-License-Identifier: Apache-2.0

package pcsc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-pboc/pboc/apdu"
)

// Protocol is a card transmission protocol, as PC/SC numbers them
// (SCARD_PROTOCOL_T0, SCARD_PROTOCOL_T1); values may be or-ed to offer
// several.
type Protocol uint32

// The protocols.
const (
	// T0 is the character protocol T=0.
	T0 Protocol = 1
	// T1 is the block protocol T=1.
	T1 Protocol = 2
	// AnyProtocol lets the reader pick T=0 or T=1 from the ATR.
	AnyProtocol = T0 | T1
)

// String returns "T=0", "T=1", "T=0|T=1" or the number.
func (p Protocol) String() string {
	switch p {
	case T0:
		return "T=0"
	case T1:
		return "T=1"
	case AnyProtocol:
		return "T=0|T=1"
	}
	return fmt.Sprintf("protocol 0x%X", uint32(p))
}

type options struct {
	socket    string
	protocols Protocol
	share     uint32
}

// Option configures Readers, ReaderStates and Open.
type Option func(*options)

// WithSocket talks to pcscd on path instead of SocketPath().
func WithSocket(path string) Option { return func(o *options) { o.socket = path } }

// WithProtocols restricts the protocols Open accepts (default AnyProtocol).
func WithProtocols(p Protocol) Option { return func(o *options) { o.protocols = p } }

// Exclusive makes Open take the card for this process alone
// (SCARD_SHARE_EXCLUSIVE): no other application can connect to it, or reset
// it, until Close. Without it the card is shared, and another application's
// reset shows up as ErrCardReset.
func Exclusive() Option { return func(o *options) { o.share = shareExclusive } }

func newOptions(opts []Option) options {
	o := options{socket: SocketPath(), protocols: AnyProtocol, share: shareShared}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// closeTimeout bounds Close, which has no context.
const closeTimeout = 5 * time.Second

// ReaderState is what pcscd knows of a reader.
type ReaderState struct {
	// Name is the reader's name, e.g. "Virtual PCD 00 00".
	Name string
	// CardPresent reports a card in the reader.
	CardPresent bool
	// Powered reports that the card is powered (it has answered to reset).
	Powered bool
	// ATR is the card's answer to reset, empty if none.
	ATR []byte
	// Protocol is the protocol in use with the card, 0 if none yet.
	Protocol Protocol
}

// ReaderStates lists the readers pcscd knows, with their cards.
func ReaderStates(ctx context.Context, opts ...Option) ([]ReaderState, error) {
	o := newOptions(opts)
	c, err := dial(ctx, o.socket)
	if err != nil {
		return nil, err
	}
	states, err := c.readerStates(ctx)
	if rerr := c.release(ctx); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	out := make([]ReaderState, len(states))
	for i, s := range states {
		out[i] = publicState(s)
	}
	return out, nil
}

func publicState(s readerState) ReaderState {
	return ReaderState{
		Name:        s.name,
		CardPresent: s.state&statePresent != 0,
		Powered:     s.state&statePowered != 0,
		ATR:         s.atr,
		Protocol:    Protocol(s.protocol),
	}
}

// Readers lists the names of the readers pcscd knows. An empty list is not
// an error.
func Readers(ctx context.Context, opts ...Option) ([]string, error) {
	states, err := ReaderStates(ctx, opts...)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = s.Name
	}
	return names, nil
}

// Card is a connection to the card in a reader. It implements
// apdu.Transport: Transmit sends the bytes of one command APDU and returns
// the card's response as it is; GET RESPONSE after 61xx and the re-issue
// after 6Cxx (which T=0 cards use for case-2 and case-4 commands) are left
// to apdu.Exchange. A Card is safe for concurrent use; commands are sent one
// at a time.
type Card struct {
	mu     sync.Mutex
	conn   *conn
	opts   options
	reader string
	handle uint32
	proto  Protocol
	atr    []byte
}

var _ apdu.Transport = (*Card)(nil)

// Open connects to the card in reader. The name is matched exactly, else as
// a case-insensitive substring of one reader name ("Virtual PCD"; if
// several readers match, the only one holding a card is taken). An empty
// name takes the first reader holding a card.
//
// Errors: ErrNoService when pcscd cannot be reached, ErrNoReader when no
// reader matches, ErrCardRemoved when the reader is empty, an *Error for
// other refusals of pcscd (errors.Is(err, CodeSharingViolation) when another
// application holds the card exclusively).
func Open(ctx context.Context, reader string, opts ...Option) (*Card, error) {
	o := newOptions(opts)
	c, err := dial(ctx, o.socket)
	if err != nil {
		return nil, err
	}
	card, err := open(ctx, c, reader, o)
	if err != nil {
		_ = c.release(ctx)
		return nil, err
	}
	return card, nil
}

func open(ctx context.Context, c *conn, reader string, o options) (*Card, error) {
	states, err := c.readerStates(ctx)
	if err != nil {
		return nil, err
	}
	name, err := pickReader(states, reader)
	if err != nil {
		return nil, err
	}
	handle, proto, err := c.connect(ctx, name, o.share, uint32(o.protocols))
	if err != nil {
		return nil, err
	}
	card := &Card{conn: c, opts: o, reader: name, handle: handle, proto: Protocol(proto)}
	if err := card.refreshATR(ctx); err != nil {
		return nil, err
	}
	return card, nil
}

// pickReader resolves the name given to Open.
func pickReader(states []readerState, name string) (string, error) {
	if len(states) == 0 {
		return "", fmt.Errorf("%w: pcscd knows no reader", ErrNoReader)
	}
	present := func(s readerState) bool { return s.state&statePresent != 0 }
	if name == "" {
		for _, s := range states {
			if present(s) {
				return s.name, nil
			}
		}
		return "", fmt.Errorf("%w: no card in any reader", ErrCardRemoved)
	}
	var matches, withCard []string
	for _, s := range states {
		if s.name == name {
			return name, nil
		}
		if strings.Contains(strings.ToLower(s.name), strings.ToLower(name)) {
			matches = append(matches, s.name)
			if present(s) {
				withCard = append(withCard, s.name)
			}
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(withCard) == 1:
		return withCard[0], nil
	case len(matches) == 0:
		all := make([]string, len(states))
		for i, s := range states {
			all[i] = s.name
		}
		return "", fmt.Errorf("%w: %q (readers: %q)", ErrNoReader, name, all)
	}
	return "", fmt.Errorf("%w: %q is ambiguous, it matches %q", ErrNoReader, name, matches)
}

// refreshATR reads the card's ATR and protocol from pcscd's reader states.
func (c *Card) refreshATR(ctx context.Context) error {
	states, err := c.conn.readerStates(ctx)
	if err != nil {
		return err
	}
	for _, s := range states {
		if s.name == c.reader {
			if s.state&statePresent == 0 {
				return &Error{Op: "SCardStatus", Reader: c.reader, Code: CodeRemovedCard}
			}
			c.atr = s.atr
			return nil
		}
	}
	return &Error{Op: "SCardStatus", Reader: c.reader, Code: CodeReaderUnavailable}
}

// Reader returns the name of the card's reader.
func (c *Card) Reader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reader
}

// ATR returns a copy of the card's answer to reset, as of Open or the last
// Reconnect or Reset.
func (c *Card) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.atr)
}

// Protocol returns the protocol in use, T0 or T1.
func (c *Card) Protocol() Protocol {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proto
}

// Transmit sends one command APDU and returns the response APDU (data and
// SW1 SW2) exactly as the card gave it.
//
// When pcscd reports that the card was reset since the last command
// (another application reset it), Transmit reconnects; a SELECT (INS A4),
// which starts afresh anyway, is then sent again transparently, any other
// command fails with ErrCardReset because the card has lost the state it
// relied on. A missing card is ErrCardRemoved; a cancelled ctx interrupts
// the exchange and leaves the Card unusable (ErrClosed): the card's state
// is then unknown, so Close it and Open again.
func (c *Card) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	if len(command) < 4 || len(command) > maxBuffer {
		return nil, fmt.Errorf("pcsc: transmit: %w: %d bytes", apdu.ErrMalformedCommand, len(command))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, ErrClosed
	}
	resp, err := c.conn.transmit(ctx, c.reader, c.handle, uint32(c.proto), command)
	if !errors.Is(err, ErrCardReset) {
		return resp, err
	}
	if rerr := c.reconnect(ctx, leaveCard); rerr != nil {
		return nil, fmt.Errorf("pcsc: reconnect after reset: %w", rerr)
	}
	if command[1] != 0xA4 {
		return nil, err
	}
	return c.conn.transmit(ctx, c.reader, c.handle, uint32(c.proto), command)
}

// Status checks the connection: nil while the card that was opened is
// present and has not been reset, ErrCardRemoved or ErrCardReset otherwise.
func (c *Card) Status(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return ErrClosed
	}
	return c.conn.status(ctx, c.reader, c.handle)
}

// Reconnect re-establishes the connection to the card in the same reader
// without resetting it: after ErrCardReset (Transmit already does it), or
// after ErrCardRemoved once a card is back in the reader.
func (c *Card) Reconnect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return ErrClosed
	}
	return c.reconnect(ctx, leaveCard)
}

// Reset warm-resets the card (SCardReconnect with SCARD_RESET_CARD): the
// card forgets its selected application and any transaction in progress.
func (c *Card) Reset(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return ErrClosed
	}
	return c.reconnect(ctx, resetCard)
}

// reconnect calls SCardReconnect; when the handle no longer works (the card
// was removed and maybe replaced) it connects anew.
func (c *Card) reconnect(ctx context.Context, init uint32) error {
	proto, err := c.conn.reconnect(ctx, c.reader, c.handle, c.opts.share, uint32(c.opts.protocols), init)
	if errors.Is(err, ErrCardRemoved) || errors.Is(err, CodeInvalidHandle) {
		_ = c.conn.disconnect(ctx, c.reader, c.handle, leaveCard)
		var handle uint32
		handle, proto, err = c.conn.connect(ctx, c.reader, c.opts.share, uint32(c.opts.protocols))
		if err == nil {
			c.handle = handle
		}
	}
	if err != nil {
		return err
	}
	c.proto = Protocol(proto)
	return c.refreshATR(ctx)
}

// Close disconnects from the card, leaving it powered and as it is, and
// ends the session with pcscd (when an interrupted exchange broke the
// connection, it just closes the socket: pcscd then cleans up). Closing
// twice is not an error.
func (c *Card) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	if c.conn.broken != nil { // nothing can be said to pcscd any more
		err := c.conn.c.Close()
		c.conn = nil
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := c.conn.disconnect(ctx, c.reader, c.handle, leaveCard)
	if errors.Is(err, ErrCardRemoved) || errors.Is(err, ErrCardReset) {
		err = nil // nothing left to disconnect from
	}
	if rerr := c.conn.release(ctx); err == nil {
		err = rerr
	}
	c.conn = nil
	return err
}
