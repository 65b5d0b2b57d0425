// SPDX-License-Identifier: Apache-2.0

package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
)

// fakeCard answers every command with its INS and 9000, or with what fail
// says, and counts resets.
type fakeCard struct {
	mu       sync.Mutex
	commands [][]byte
	resets   int
	fail     func(cmd []byte) ([]byte, error)
}

func (c *fakeCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commands = append(c.commands, cmd)
	if c.fail != nil {
		if resp, err := c.fail(cmd); resp != nil || err != nil {
			return resp, err
		}
	}
	return []byte{cmd[1], 0x90, 0x00}, nil
}

func (c *fakeCard) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resets++
}

func (c *fakeCard) counts() (commands, resets int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.commands), c.resets
}

// fakeVPCD plays the reader driver's side of the protocol.
type fakeVPCD struct {
	t  *testing.T
	ln net.Listener
}

func newFakeVPCD(t *testing.T) *fakeVPCD {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return &fakeVPCD{t: t, ln: ln}
}

func (v *fakeVPCD) accept() net.Conn {
	v.t.Helper()
	require.NoError(v.t, v.ln.(*net.TCPListener).SetDeadline(time.Now().Add(5*time.Second)))
	c, err := v.ln.Accept()
	require.NoError(v.t, err, "the card connects to vpcd")
	require.NoError(v.t, c.SetDeadline(time.Now().Add(5*time.Second)))
	v.t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, payload ...byte) {
	t.Helper()
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(payload)))
	_, err := c.Write(append(msg, payload...))
	require.NoError(t, err)
}

func recv(t *testing.T, c net.Conn) []byte {
	t.Helper()
	msg, err := readFrame(c)
	require.NoError(t, err)
	return msg
}

func startServer(t *testing.T, s *Server) (cancel func() error) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	var err error
	cancel = func() error {
		once.Do(func() {
			stop()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Error("Serve did not return after its context was cancelled")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = cancel() })
	return cancel
}

func TestServeSpeaksVPCD(t *testing.T) {
	v := newFakeVPCD(t)
	card := &fakeCard{}
	atr := T1ATR()
	cancel := startServer(t, &Server{Addr: v.ln.Addr().String(), Card: card, ATR: atr, RetryInterval: 10 * time.Millisecond})

	c := v.accept()
	send(t, c, ctrlPowerOn)
	send(t, c, ctrlATR)
	assert.Equal(t, atr, recv(t, c), "ATR on request")
	_, resets := card.counts()
	assert.Equal(t, 1, resets, "power on resets the card")

	selectPSE := apdu.Select([]byte("1PAY.SYS.DDF01")).Bytes()
	send(t, c, selectPSE...)
	assert.Equal(t, []byte{0xA4, 0x90, 0x00}, recv(t, c), "the card's response")

	send(t, c, ctrlReset)
	send(t, c, 0x03) // not a control message vpcd sends: ignored
	send(t, c)       // an empty message: ignored
	send(t, c, ctrlPowerOff)
	send(t, c, ctrlATR)
	assert.Equal(t, atr, recv(t, c))
	commands, resets := card.counts()
	assert.Equal(t, 3, resets, "power on, reset and power off each reset the card")
	assert.Equal(t, 1, commands, "control messages do not reach the card")
	assert.Equal(t, selectPSE, card.commands[0])

	// vpcd drops the card: Serve connects again.
	c.Close()
	c2 := v.accept()
	send(t, c2, ctrlATR)
	assert.Equal(t, atr, recv(t, c2), "reconnected")

	assert.ErrorIs(t, cancel(), context.Canceled)
	_, err := c2.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "cancelling Serve closes the connection: card removed")
}

func TestServeDefaultsAndOverrides(t *testing.T) {
	v := newFakeVPCD(t)
	card := &fakeCard{}
	resets := 0
	startServer(t, &Server{Addr: v.ln.Addr().String(), Card: card, Reset: func() { resets++ }})
	c := v.accept()
	send(t, c, ctrlATR)
	assert.Equal(t, DefaultATR(), recv(t, c), "nil ATR: DefaultATR")
	send(t, c, ctrlReset)
	send(t, c, ctrlATR)
	recv(t, c)
	assert.Equal(t, 1, resets, "Server.Reset replaces the card's Reset")
	_, cardResets := card.counts()
	assert.Zero(t, cardResets)
}

func TestServeDropsTheConnectionWhenTheCardFails(t *testing.T) {
	v := newFakeVPCD(t)
	card := &fakeCard{fail: func(cmd []byte) ([]byte, error) {
		switch cmd[1] {
		case 0xEE:
			return nil, errors.New("card pulled out")
		case 0xEF:
			return []byte{}, nil
		}
		return nil, nil
	}}
	startServer(t, &Server{Addr: v.ln.Addr().String(), Card: card, RetryInterval: 10 * time.Millisecond})

	for _, ins := range []byte{0xEE, 0xEF} {
		c := v.accept()
		send(t, c, 0x00, ins, 0x00, 0x00)
		_, err := c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "INS %02X: the card left the reader", ins)
	}
	c := v.accept()
	send(t, c, 0x00, 0xB2, 0x01, 0x0C, 0x00)
	assert.Equal(t, []byte{0xB2, 0x90, 0x00}, recv(t, c), "inserted again, it answers")
}

func TestServeRetriesUntilVPCDListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nobody listens yet
	cancel := startServer(t, &Server{Addr: addr, Card: &fakeCard{}, RetryInterval: 10 * time.Millisecond})
	time.Sleep(50 * time.Millisecond)

	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	v := &fakeVPCD{t: t, ln: ln}
	t.Cleanup(func() { ln.Close() })
	c := v.accept()
	send(t, c, ctrlATR)
	assert.Equal(t, DefaultATR(), recv(t, c))
	assert.ErrorIs(t, cancel(), context.Canceled)
}

func TestServeRejectsBadArguments(t *testing.T) {
	ctx := context.Background()
	for _, atr := range [][]byte{{}, {0x3B}, {0x3A, 0x00}, bytes.Repeat([]byte{0x3B}, 34)} {
		assert.ErrorIs(t, Serve(ctx, "127.0.0.1:1", &fakeCard{}, atr), ErrInvalidATR, "%X", atr)
	}
	assert.Error(t, Serve(ctx, "127.0.0.1:1", nil, nil))

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, Serve(cctx, "127.0.0.1:1", &fakeCard{}, nil), context.Canceled)
}

func TestATRs(t *testing.T) {
	for name, tc := range map[string]struct {
		atr        []byte
		historical []byte
	}{
		"T=0": {DefaultATR(), DefaultATR()[4:]},
		"T=1": {T1ATR(), T1ATR()[8 : len(T1ATR())-1]},
	} {
		require.NoError(t, CheckATR(tc.atr), name)
		assert.Equal(t, byte(0x3B), tc.atr[0], "%s: direct convention", name)
		assert.Len(t, tc.historical, int(tc.atr[1]&0x0F), "%s: K in T0", name)
		assert.Equal(t, append([]byte{0x80, 0x69}, "PBOC2.0EC"...), tc.historical, "%s: historical bytes", name)
	}
	t1 := T1ATR()
	var x byte
	for _, b := range t1[1:] {
		x ^= b
	}
	assert.Zero(t, x, "T=1 ATR: T0..TCK XOR to zero")
	assert.Len(t, DefaultATR(), 4+11, "T=0: TS T0 TB1 TC1 and 11 historical bytes, no TCK")

	a := DefaultATR()
	a[0] = 0
	assert.Equal(t, byte(0x3B), DefaultATR()[0], "DefaultATR returns a copy")
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writeFrame(&buf, []byte{1, 2, 3}))
	assert.Equal(t, []byte{0, 3, 1, 2, 3}, buf.Bytes())
	got, err := readFrame(&buf)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, got)

	_, err = readFrame(&buf)
	assert.ErrorIs(t, err, io.EOF, "clean end between frames")
	_, err = readFrame(bytes.NewReader([]byte{0}))
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "half a length")
	_, err = readFrame(bytes.NewReader([]byte{0, 5, 1, 2}))
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "truncated payload")
	assert.ErrorIs(t, writeFrame(&buf, make([]byte, maxFrame+1)), ErrCardResponse)
}
