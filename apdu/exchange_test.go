// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is one expected command and the card's answer to it.
type step struct {
	cmd  string // expected command in hex
	resp string // response in hex
	err  error  // transport error instead of a response
}

// script is a fake card that checks each command against its script.
type script struct {
	t     *testing.T
	steps []step
	sent  [][]byte
}

func (s *script) Transmit(_ context.Context, command []byte) ([]byte, error) {
	s.t.Helper()
	s.sent = append(s.sent, append([]byte(nil), command...))
	i := len(s.sent) - 1
	if i >= len(s.steps) {
		s.t.Fatalf("unexpected command %X after the script ended", command)
	}
	st := s.steps[i]
	assert.Equal(s.t, mustHex(s.t, st.cmd), command, "command %d", i)
	if st.err != nil {
		return nil, st.err
	}
	return mustHex(s.t, st.resp), nil
}

func TestExchangeSimple(t *testing.T) {
	card := &script{t: t, steps: []step{{cmd: "80CA9F7900", resp: "9F7906000000005000 9000"}}}
	r, err := Exchange(context.Background(), card, GetData(0x9F79))
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, r.SW)
	assert.Equal(t, mustHex(t, "9F7906000000005000"), r.Data)
	assert.Len(t, card.sent, 1)
}

func TestExchangeReturnsErrorStatusWithoutError(t *testing.T) {
	card := &script{t: t, steps: []step{{cmd: "00B2015C00", resp: "6A83"}}}
	r, err := Exchange(context.Background(), card, ReadRecord(11, 1))
	require.NoError(t, err)
	assert.Equal(t, SWRecordNotFound, r.SW)
	assert.Empty(t, r.Data)
}

func TestExchangeGetResponseChaining(t *testing.T) {
	card := &script{t: t, steps: []step{
		{cmd: "00A4040008A00000033301010100", resp: "6110"},
		{cmd: "00C0000010", resp: "6F1C8408A000000333010101A5 6108"},
		{cmd: "00C0000008", resp: "5004504243439000 9000"},
	}}
	r, err := Exchange(context.Background(), card, Select(mustHex(t, "A000000333010101")))
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, r.SW)
	assert.Equal(t, mustHex(t, "6F1C8408A000000333010101A5 5004504243439000"), r.Data)
	assert.Len(t, card.sent, 3)
}

func TestExchangeGetResponse256(t *testing.T) {
	card := &script{t: t, steps: []step{
		{cmd: "0088000004AABBCCDD00", resp: "6100"},
		{cmd: "00C0000000", resp: "01 9000"},
	}}
	r, err := Exchange(context.Background(), card, InternalAuthenticate(mustHex(t, "AABBCCDD")))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x01}, r.Data)
}

func TestExchangeChainingEndsWithError(t *testing.T) {
	card := &script{t: t, steps: []step{
		{cmd: "80CA9F3600", resp: "6102"},
		{cmd: "00C0000002", resp: "6F00"},
	}}
	r, err := Exchange(context.Background(), card, GetData(0x9F36))
	require.NoError(t, err)
	assert.Equal(t, SWUnknown, r.SW)
	assert.Empty(t, r.Data)
}

func TestExchangeWrongLeResend(t *testing.T) {
	card := &script{t: t, steps: []step{
		{cmd: "00B2010C00", resp: "6C05"},
		{cmd: "00B2010C05", resp: "7003500131 9000"},
	}}
	r, err := Exchange(context.Background(), card, ReadRecord(1, 1))
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, r.SW)
	assert.Equal(t, mustHex(t, "7003500131"), r.Data)
}

func TestExchangeWrongLeOnlyOnce(t *testing.T) {
	card := &script{t: t, steps: []step{
		{cmd: "00B2010C00", resp: "6C05"},
		{cmd: "00B2010C05", resp: "6C06"},
	}}
	r, err := Exchange(context.Background(), card, ReadRecord(1, 1))
	require.NoError(t, err)
	assert.Equal(t, SW(0x6C06), r.SW, "a second 6Cxx is returned, not followed")
	assert.Len(t, card.sent, 2)
}

func TestExchangeWrongLeThenChaining(t *testing.T) {
	card := &script{t: t, steps: []step{
		{cmd: "00B2010C00", resp: "6C00"},
		{cmd: "00B2010C00", resp: "6103"},
		{cmd: "00C0000003", resp: "6C02"},
		{cmd: "00C0000002", resp: "AABB 9000"},
	}}
	r, err := Exchange(context.Background(), card, ReadRecord(1, 1))
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, r.SW)
	assert.Equal(t, mustHex(t, "AABB"), r.Data)
}

func TestExchangeEndlessChainingIsBounded(t *testing.T) {
	var calls int
	card := TransportFunc(func(context.Context, []byte) ([]byte, error) {
		calls++
		if calls > 100 {
			t.Fatal("Exchange does not stop")
		}
		return []byte{0xAA, 0x61, 0x01}, nil
	})
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		_, err = Exchange(context.Background(), card, GetData(0x9F79))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Exchange hangs on a card that answers 61xx forever")
	}
	require.ErrorIs(t, err, ErrChaining)
	assert.Equal(t, 1+MaxGetResponse, calls)
	assert.Contains(t, err.Error(), "apdu: GET DATA:")
}

func TestExchangeChainingSizeBounded(t *testing.T) {
	big := make([]byte, 40<<10)
	card := TransportFunc(func(context.Context, []byte) ([]byte, error) {
		return append(append([]byte(nil), big...), 0x61, 0x00), nil
	})
	_, err := Exchange(context.Background(), card, GetData(0x9F79))
	require.ErrorIs(t, err, ErrChaining)
	assert.Contains(t, err.Error(), "65536")
}

func TestExchangeContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	card := &script{t: t}
	_, err := Exchange(ctx, card, GetChallenge())
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, card.sent, "nothing is sent once ctx is done")
}

func TestExchangeContextCancelledDuringChaining(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls int
	card := TransportFunc(func(context.Context, []byte) ([]byte, error) {
		calls++
		cancel() // the operator aborts while the card is talking
		return []byte{0x61, 0x10}, nil
	})
	_, err := Exchange(ctx, card, GetChallenge())
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, calls)
}

func TestExchangeTransportError(t *testing.T) {
	gone := errors.New("card removed")
	card := &script{t: t, steps: []step{{cmd: "80AE800002010200", err: gone}}}
	_, err := Exchange(context.Background(), card, GenerateAC(ACTypeARQC, []byte{1, 2}))
	require.ErrorIs(t, err, gone)
	assert.Equal(t, "apdu: GENERATE AC: card removed", err.Error())
}

func TestExchangeShortResponse(t *testing.T) {
	card := &script{t: t, steps: []step{{cmd: "0084000000", resp: "90"}}}
	_, err := Exchange(context.Background(), card, GetChallenge())
	assert.ErrorIs(t, err, ErrShortResponse)

	card = &script{t: t, steps: []step{{cmd: "0084000000", resp: "6108"}, {cmd: "00C0000008", resp: ""}}}
	_, err = Exchange(context.Background(), card, GetChallenge())
	assert.ErrorIs(t, err, ErrShortResponse)
}

func TestExchangeMalformedCommand(t *testing.T) {
	card := &script{t: t}
	_, err := Exchange(context.Background(), card, Command{INS: 0xDA, Data: make([]byte, 256)})
	require.ErrorIs(t, err, ErrMalformedCommand)
	assert.Empty(t, card.sent)
	_, err = Exchange(context.Background(), nil, GetChallenge())
	assert.Error(t, err)
}

func TestTransportFunc(t *testing.T) {
	var got []byte
	var tr Transport = TransportFunc(func(_ context.Context, c []byte) ([]byte, error) {
		got = c
		return []byte{0x90, 0x00}, nil
	})
	resp, err := tr.Transmit(context.Background(), []byte{1, 2, 3, 4})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x90, 0x00}, resp)
	assert.Equal(t, []byte{1, 2, 3, 4}, got)
}

func echo9000() Transport {
	return TransportFunc(func(context.Context, []byte) ([]byte, error) { return []byte{0x01, 0x02, 0x90, 0x00}, nil })
}

func TestLimitAPDUs(t *testing.T) {
	tr := Limit(echo9000(), 3, 0)
	for i := 0; i < 3; i++ {
		_, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
		require.NoError(t, err, "APDU %d", i+1)
	}
	_, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
	require.ErrorIs(t, err, ErrLimitExceeded)
	assert.Contains(t, err.Error(), "3 APDUs")
	// Through Exchange the error keeps its identity.
	_, err = Exchange(context.Background(), tr, GetChallenge())
	assert.ErrorIs(t, err, ErrLimitExceeded)
}

func TestLimitBytes(t *testing.T) {
	var sent int
	inner := TransportFunc(func(context.Context, []byte) ([]byte, error) {
		sent++
		return []byte{0x01, 0x02, 0x90, 0x00}, nil
	})
	tr := Limit(inner, 0, 18) // each exchange costs 5 + 4 = 9 bytes
	for i := 0; i < 2; i++ {
		_, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
		require.NoError(t, err)
	}
	_, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
	require.ErrorIs(t, err, ErrLimitExceeded)
	assert.Equal(t, 2, sent, "a command over budget is not sent")

	// A response that blows the budget is discarded, and the limit sticks.
	tr = Limit(inner, 0, 8)
	resp, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
	require.ErrorIs(t, err, ErrLimitExceeded)
	assert.Nil(t, resp)
	_, err = tr.Transmit(context.Background(), []byte{0})
	assert.ErrorIs(t, err, ErrLimitExceeded)
}

func TestLimitUnlimitedAndErrors(t *testing.T) {
	tr := Limit(echo9000(), 0, 0)
	for i := 0; i < 1000; i++ {
		_, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
		require.NoError(t, err)
	}
	gone := errors.New("gone")
	tr = Limit(TransportFunc(func(context.Context, []byte) ([]byte, error) { return nil, gone }), 1, 0)
	_, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
	assert.ErrorIs(t, err, gone)
}

func TestLimitConcurrent(t *testing.T) {
	tr := Limit(echo9000(), 50, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, failed := 0, 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				_, err := tr.Transmit(context.Background(), []byte{0, 0x84, 0, 0, 0})
				mu.Lock()
				if err == nil {
					ok++
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 50, ok)
	assert.Equal(t, 50, failed)
}

func BenchmarkExchange(b *testing.B) {
	b.ReportAllocs()
	resp := []byte{0x9F, 0x79, 0x06, 0, 0, 0, 0, 0x50, 0, 0x90, 0x00}
	card := TransportFunc(func(context.Context, []byte) ([]byte, error) { return resp, nil })
	ctx := context.Background()
	cmd := GetData(0x9F79)
	for b.Loop() {
		if _, err := Exchange(ctx, card, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExchangeChained(b *testing.B) {
	b.ReportAllocs()
	first, second := []byte{0x61, 0x80}, make([]byte, 0x82)
	second[0x80], second[0x81] = 0x90, 0x00
	n := 0
	card := TransportFunc(func(context.Context, []byte) ([]byte, error) {
		n++
		if n%2 == 1 {
			return first, nil
		}
		return second, nil
	})
	ctx := context.Background()
	for b.Loop() {
		if _, err := Exchange(ctx, card, ReadRecord(1, 1)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommand(b *testing.B) {
	b.ReportAllocs()
	in := Select([]byte("2PAY.SYS.DDF01")).Bytes()
	for b.Loop() {
		if _, err := ParseCommand(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommandAppendTo(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	c := GenerateAC(ACTypeTC, make([]byte, 40))
	for b.Loop() {
		buf = c.AppendTo(buf[:0])
	}
}

// commandScript is a script that takes commands unencoded, encoding them
// into one buffer it reuses.
type commandScript struct {
	script
	buf      []byte
	commands []Command
}

func (s *commandScript) TransmitCommand(ctx context.Context, c Command) ([]byte, error) {
	s.commands = append(s.commands, c)
	s.buf = c.AppendTo(s.buf[:0])
	return s.Transmit(ctx, s.buf)
}

// TestExchangeUsesTransmitCommand: a CommandTransport gets every command
// of the exchange (the GET RESPONSE and the 6Cxx re-send included) as a
// Command, and the exchange is the same as over Transmit.
func TestExchangeUsesTransmitCommand(t *testing.T) {
	card := &commandScript{script: script{t: t, steps: []step{
		{cmd: "00B2011400", resp: "6C05"},
		{cmd: "00B2011405", resp: "6102"},
		{cmd: "00C0000002", resp: "ABCD 9000"},
	}}}
	r, err := Exchange(context.Background(), card, ReadRecord(2, 1))
	require.NoError(t, err)
	assert.Equal(t, SWSuccess, r.SW)
	assert.Equal(t, mustHex(t, "ABCD"), r.Data)
	require.Len(t, card.commands, 3, "every command went through TransmitCommand")
	assert.Equal(t, byte(0xB2), card.commands[0].INS)
	assert.Equal(t, 5, card.commands[1].Ne)
	assert.Equal(t, byte(0xC0), card.commands[2].INS)
}
