// SPDX-License-Identifier: Apache-2.0

package pcsc

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
)

// fakeDaemon plays pcscd's side of the socket protocol, from the same
// struct layouts the client uses, with scripted answers.
type fakeDaemon struct {
	t     *testing.T
	path  string
	minor uint32 // the protocol minor it speaks

	mu        sync.Mutex
	readers   []readerState // a zero name leaves an empty slot
	versions  []uint32      // minors clients offered
	pci       []uint32      // ioSendPci.dwProtocol of each transmit
	commands  [][]byte
	reconnect []uint32 // dwInitialization of each reconnect
	connects  int
	// transmit answers a command: rv and response. nil: 90 00.
	transmit func(cmd []byte) (uint32, []byte)
	// recvLen, when set, replaces the announced response length.
	recvLen uint32
	// hang makes the daemon read a transmit and never answer.
	hang bool
	// status is SCARD_STATUS's rv.
	status uint32
}

func newFakeDaemon(t *testing.T, minor uint32, readers ...readerState) *fakeDaemon {
	d := &fakeDaemon{t: t, path: filepath.Join(t.TempDir(), "pcscd.comm"), minor: minor, readers: readers}
	ln, err := net.Listen("unix", d.path)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go d.serve(c)
		}
	}()
	return d
}

func (d *fakeDaemon) opt() Option { return WithSocket(d.path) }

func (d *fakeDaemon) serve(c net.Conn) {
	defer c.Close()
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		body := make([]byte, ne.Uint32(hdr[0:]))
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		out, ok := d.answer(c, ne.Uint32(hdr[4:]), body)
		if !ok {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (d *fakeDaemon) answer(c net.Conn, cmd uint32, b []byte) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch cmd {
	case cmdVersion:
		d.versions = append(d.versions, ne.Uint32(b[4:]))
		rv := uint32(CodeSuccess)
		if ne.Uint32(b[4:]) != d.minor {
			rv = uint32(CodeServiceStopped)
		}
		ne.PutUint32(b[4:], d.minor)
		ne.PutUint32(b[8:], rv)
	case cmdEstablishContext:
		ne.PutUint32(b[4:], 0xC0FFEE)
	case cmdReleaseContext:
	case cmdGetReadersState:
		return encodeReaderStates(d.readers), true
	case cmdConnect:
		d.connects++
		name := cString(b[4 : 4+maxReaderName])
		rv := uint32(CodeUnknownReader)
		for _, r := range d.readers {
			if r.name != name {
				continue
			}
			rv = uint32(CodeSuccess)
			if r.state&statePresent == 0 {
				rv = uint32(CodeNoSmartcard)
			}
			ne.PutUint32(b[140:], 0x42)
			ne.PutUint32(b[144:], r.protocol)
		}
		ne.PutUint32(b[148:], rv)
	case cmdReconnect:
		d.reconnect = append(d.reconnect, ne.Uint32(b[12:]))
		ne.PutUint32(b[16:], d.readers[0].protocol)
	case cmdDisconnect:
	case cmdStatus:
		ne.PutUint32(b[4:], d.status)
	case cmdTransmit:
		cmd := make([]byte, ne.Uint32(b[12:]))
		if _, err := io.ReadFull(c, cmd); err != nil {
			return nil, false
		}
		if d.hang {
			d.mu.Unlock()
			_, _ = c.Read(make([]byte, 1)) // until the client gives up
			d.mu.Lock()
			return nil, false
		}
		d.pci = append(d.pci, ne.Uint32(b[4:]))
		d.commands = append(d.commands, cmd)
		rv, resp := uint32(CodeSuccess), []byte{0x90, 0x00}
		if d.transmit != nil {
			rv, resp = d.transmit(cmd)
		}
		n := uint32(len(resp))
		if d.recvLen != 0 {
			n = d.recvLen
		}
		ne.PutUint32(b[24:], n)
		ne.PutUint32(b[28:], rv)
		if rv == uint32(CodeSuccess) {
			b = append(b, resp...)
		}
		if n > uint32(len(resp)) && n <= maxBuffer {
			_, _ = c.Write(b) // short answer, then the daemon dies
			return nil, false
		}
	default:
		d.t.Errorf("fake pcscd: unexpected command %d", cmd)
		return nil, false
	}
	return b, true
}

// encodeReaderStates lays the records out as pcscd does: 16 slots of 184
// bytes, ATR padded to 36.
func encodeReaderStates(rs []readerState) []byte {
	out := make([]byte, maxReaders*readerStateSize)
	for i, r := range rs {
		rec := out[i*readerStateSize:]
		copy(rec[:maxReaderName-1], r.name)
		ne.PutUint32(rec[128:], 1) // event counter
		ne.PutUint32(rec[132:], r.state)
		copy(rec[140:140+maxATR], r.atr)
		ne.PutUint32(rec[176:], uint32(len(r.atr)))
		ne.PutUint32(rec[180:], r.protocol)
	}
	return out
}

var (
	atrT0 = []byte{0x3B, 0x6B, 0x00, 0x00, 0x80, 0x69, 'P', 'B', 'O', 'C', '2', '.', '0', 'E', 'C'}
	atrT1 = []byte{0x3B, 0x80, 0x81, 0x01, 0x00}
)

func cardIn(name string, proto Protocol, atr []byte) readerState {
	return readerState{name: name, state: statePresent | statePowered, atr: atr, protocol: uint32(proto)}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNoService(t *testing.T) {
	_, err := Readers(ctxT(t), WithSocket(filepath.Join(t.TempDir(), "absent")))
	assert.ErrorIs(t, err, ErrNoService)
	_, err = Open(ctxT(t), "", WithSocket(filepath.Join(t.TempDir(), "absent")))
	assert.ErrorIs(t, err, ErrNoService)
}

func TestVersionNegotiation(t *testing.T) {
	for _, tc := range []struct {
		server  uint32
		offered []uint32
		err     error
	}{
		{server: 4, offered: []uint32{4}},
		{server: 3, offered: []uint32{4, 3}},
		{server: 5, offered: []uint32{4, 5}},
		{server: 6, offered: []uint32{4}, err: ErrProtocol},
		{server: 2, offered: []uint32{4}, err: ErrProtocol},
	} {
		d := newFakeDaemon(t, tc.server, cardIn("R", T0, atrT0))
		names, err := Readers(ctxT(t), d.opt())
		if tc.err != nil {
			assert.ErrorIs(t, err, tc.err, "server 4:%d", tc.server)
		} else {
			require.NoError(t, err, "server 4:%d", tc.server)
			assert.Equal(t, []string{"R"}, names)
		}
		assert.Equal(t, tc.offered, d.versions, "server 4:%d", tc.server)
	}
}

func TestReaderStates(t *testing.T) {
	d := newFakeDaemon(t, 4,
		cardIn("Reader A 00 00", T1, atrT1),
		readerState{}, // a reader was unplugged: pcscd leaves the slot empty
		readerState{name: "Reader B 01 00", state: stateAbsent},
	)
	states, err := ReaderStates(ctxT(t), d.opt())
	require.NoError(t, err)
	assert.Equal(t, []ReaderState{
		{Name: "Reader A 00 00", CardPresent: true, Powered: true, ATR: atrT1, Protocol: T1},
		{Name: "Reader B 01 00", ATR: []byte{}},
	}, states)

	// A hostile ATR length is clamped to the 33 bytes of the record.
	buf := encodeReaderStates([]readerState{cardIn("X", T0, atrT0)})
	ne.PutUint32(buf[176:], 0xFFFFFFFF)
	got := parseReaderStates(buf)
	require.Len(t, got, 1)
	assert.Len(t, got[0].atr, maxATR)
}

func TestPickReader(t *testing.T) {
	states := []readerState{
		{name: "Virtual PCD 00 00", state: stateAbsent},
		cardIn("Virtual PCD 00 01", T0, atrT0),
		cardIn("ACS ACR38U 00 00", T0, atrT0),
	}
	for _, tc := range []struct{ name, want string }{
		{"", "Virtual PCD 00 01"},                  // first reader with a card
		{"Virtual PCD 00 00", "Virtual PCD 00 00"}, // exact, even empty
		{"acr38", "ACS ACR38U 00 00"},              // unique substring, any case
		{"virtual pcd", "Virtual PCD 00 01"},       // ambiguous, one holds a card
	} {
		got, err := pickReader(states, tc.name)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
	_, err := pickReader(states, "Gemalto")
	assert.ErrorIs(t, err, ErrNoReader)
	_, err = pickReader(states, "00")
	assert.ErrorIs(t, err, ErrNoReader, "ambiguous")
	_, err = pickReader(nil, "")
	assert.ErrorIs(t, err, ErrNoReader)
	_, err = pickReader(states[:1], "")
	assert.ErrorIs(t, err, ErrCardRemoved, "no card anywhere")
}

func TestOpenAndTransmit(t *testing.T) {
	for _, proto := range []Protocol{T0, T1} {
		d := newFakeDaemon(t, 4, cardIn("R 00 00", proto, atrT0), readerState{name: "Empty 00 00", state: stateAbsent})
		d.transmit = func(cmd []byte) (uint32, []byte) { return 0, []byte{0x61, 0x10} }
		ctx := ctxT(t)
		card, err := Open(ctx, "r 00", d.opt())
		require.NoError(t, err, proto)
		assert.Equal(t, "R 00 00", card.Reader())
		assert.Equal(t, proto, card.Protocol())
		assert.Equal(t, atrT0, card.ATR())

		resp, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0x00})
		require.NoError(t, err)
		assert.Equal(t, []byte{0x61, 0x10}, resp, "61xx is returned as it is, for apdu.Exchange")
		assert.Equal(t, []uint32{uint32(proto)}, d.pci, "the PCI names the protocol in use")
		assert.Equal(t, [][]byte{{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0x00}}, d.commands)
		assert.NoError(t, card.Status(ctx))

		_, err = card.Transmit(ctx, []byte{0x00, 0xA4})
		assert.ErrorIs(t, err, apdu.ErrMalformedCommand)

		require.NoError(t, card.Close())
		require.NoError(t, card.Close(), "twice")
		_, err = card.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
		assert.ErrorIs(t, err, ErrClosed)

		_, err = Open(ctx, "Empty", d.opt())
		assert.ErrorIs(t, err, ErrCardRemoved)
		var perr *Error
		require.ErrorAs(t, err, &perr)
		assert.Equal(t, CodeNoSmartcard, perr.Code)
		_, err = Open(ctx, "nowhere", d.opt())
		assert.ErrorIs(t, err, ErrNoReader)
	}
}

func TestTransmitAfterReset(t *testing.T) {
	d := newFakeDaemon(t, 4, cardIn("R", T0, atrT0))
	reset := true
	d.transmit = func(cmd []byte) (uint32, []byte) {
		if reset {
			reset = false
			return uint32(CodeResetCard), nil
		}
		return 0, []byte{0x90, 0x00}
	}
	ctx := ctxT(t)
	card, err := Open(ctx, "R", d.opt())
	require.NoError(t, err)
	defer card.Close()

	resp, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00})
	require.NoError(t, err, "a SELECT is sent again after reconnecting")
	assert.Equal(t, []byte{0x90, 0x00}, resp)
	assert.Len(t, d.commands, 2)
	assert.Equal(t, []uint32{leaveCard}, d.reconnect, "reconnected without resetting again")

	d.mu.Lock()
	reset = true
	d.mu.Unlock()
	_, err = card.Transmit(ctx, []byte{0x80, 0xAE, 0x40, 0x00, 0x00})
	require.ErrorIs(t, err, ErrCardReset, "a GENERATE AC after a reset must not be replayed")
	assert.ErrorIs(t, err, CodeResetCard)
	assert.Len(t, d.commands, 3)
	_, err = card.Transmit(ctx, []byte{0x80, 0xAE, 0x40, 0x00, 0x00})
	require.NoError(t, err, "reconnected: the next transaction can start")

	require.NoError(t, card.Reset(ctx))
	assert.Equal(t, []uint32{leaveCard, leaveCard, resetCard}, d.reconnect)
}

func TestCardRemoved(t *testing.T) {
	d := newFakeDaemon(t, 4, cardIn("R", T1, atrT1))
	d.transmit = func([]byte) (uint32, []byte) { return uint32(CodeRemovedCard), nil }
	d.status = uint32(CodeRemovedCard)
	ctx := ctxT(t)
	card, err := Open(ctx, "", d.opt())
	require.NoError(t, err)
	_, err = card.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.ErrorIs(t, err, ErrCardRemoved)
	assert.NotErrorIs(t, err, ErrCardReset)
	assert.EqualError(t, err, `pcsc: SCardTransmit "R": SCARD_W_REMOVED_CARD (0x80100069)`)
	assert.ErrorIs(t, card.Status(ctx), ErrCardRemoved)
	assert.NoError(t, card.Close(), "nothing to disconnect from is not a Close error")
}

func TestHostileDaemon(t *testing.T) {
	d := newFakeDaemon(t, 4, cardIn("R", T0, atrT0))
	d.recvLen = maxBuffer + 1
	ctx := ctxT(t)
	card, err := Open(ctx, "R", d.opt())
	require.NoError(t, err)
	_, err = card.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.ErrorIs(t, err, ErrProtocol, "an absurd response length is refused, not allocated")
	_, err = card.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	assert.ErrorIs(t, err, ErrClosed, "the stream cannot be trusted any more")
	assert.NoError(t, card.Close())

	// A response shorter than announced: pcscd went away mid-answer.
	d.mu.Lock()
	d.recvLen = 10
	d.mu.Unlock()
	card, err = Open(ctx, "R", d.opt())
	require.NoError(t, err)
	_, err = card.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	assert.ErrorIs(t, err, ErrNoService)
	assert.ErrorContains(t, err, "pcscd closed the connection")
	assert.NoError(t, card.Close())
}

func TestCancelInterruptsTransmit(t *testing.T) {
	d := newFakeDaemon(t, 4, cardIn("R", T0, atrT0))
	d.hang = true
	card, err := Open(ctxT(t), "R", d.opt())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(ctxT(t))
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = card.Transmit(ctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 2*time.Second, "cancel interrupts the blocked read")
	_, err = card.Transmit(ctxT(t), []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, card.Close())

	d2 := newFakeDaemon(t, 4, cardIn("R", T0, atrT0))
	d2.hang = true
	card, err = Open(ctxT(t), "R", d2.opt())
	require.NoError(t, err)
	tctx, tcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer tcancel()
	_, err = card.Transmit(tctx, []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	require.ErrorIs(t, err, context.DeadlineExceeded, "the deadline becomes the socket's")
	assert.NoError(t, card.Close())
}

func TestErrors(t *testing.T) {
	for code, sentinels := range map[Code][]error{
		CodeRemovedCard:        {ErrCardRemoved},
		CodeNoSmartcard:        {ErrCardRemoved},
		CodeReaderUnavailable:  {ErrCardRemoved, ErrNoReader},
		CodeUnknownReader:      {ErrNoReader},
		CodeNoReadersAvailable: {ErrNoReader},
		CodeResetCard:          {ErrCardReset},
		CodeNoService:          {ErrNoService},
		CodeServiceStopped:     {ErrNoService},
		CodeSharingViolation:   nil,
	} {
		err := error(&Error{Op: "SCardTransmit", Code: code})
		for _, s := range []error{ErrCardRemoved, ErrNoReader, ErrCardReset, ErrNoService} {
			want := false
			for _, w := range sentinels {
				want = want || w == s
			}
			assert.Equal(t, want, errors.Is(err, s), "%s is %v", code, s)
		}
		assert.ErrorIs(t, err, code)
	}
	assert.Equal(t, "SCARD_E_SHARING_VIOLATION (0x8010000B)", CodeSharingViolation.String())
	assert.Equal(t, "PC/SC error 0x80100099", Code(0x80100099).Error())
	assert.Equal(t, "pcsc: SCardConnect: SCARD_E_TIMEOUT (0x8010000A)", (&Error{Op: "SCardConnect", Code: CodeTimeout}).Error())
	assert.Equal(t, "T=0|T=1", AnyProtocol.String())
	assert.Equal(t, "protocol 0x4", Protocol(4).String())
}
