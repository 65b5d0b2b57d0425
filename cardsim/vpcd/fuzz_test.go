// SPDX-License-Identifier: Apache-2.0

package vpcd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
)

// FuzzServeConn feeds arbitrary bytes, as if from vpcd, to a session: it
// must never panic, must stop at the end of the input, and everything it
// writes must be well-formed frames, one per ATR request or command
// answered.
func FuzzServeConn(f *testing.F) {
	frame := func(p ...byte) []byte { return append([]byte{byte(len(p) >> 8), byte(len(p))}, p...) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	f.Add(cat(frame(ctrlPowerOn), frame(ctrlATR), frame(0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00)))
	f.Add(cat(frame(ctrlReset), frame(), frame(0x03), frame(ctrlPowerOff)))
	f.Add([]byte{0xFF, 0xFF, 0x00}) // announces 64 KiB, sends one byte
	f.Add(cat(frame(0x00, 0xEE), []byte{0}))
	f.Add(cat(frame(0x80, 0xEF, 0x00, 0x00))) // the card answers nothing

	f.Fuzz(func(t *testing.T, in []byte) {
		card := &fakeCard{fail: func(cmd []byte) ([]byte, error) {
			switch cmd[1] {
			case 0xEE:
				return nil, errors.New("card pulled out")
			case 0xEF:
				return []byte{}, nil
			}
			return nil, nil
		}}
		s := &session{card: card, atr: DefaultATR(), reset: card.Reset, log: slog.New(slog.DiscardHandler)}
		var out bytes.Buffer
		err := s.serveConn(context.Background(), struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), &out})
		if err == nil {
			t.Fatal("serveConn returned nil before the end of its input")
		}
		replies := 0
		for out.Len() > 0 {
			msg, err := readFrame(&out)
			if err != nil {
				t.Fatalf("malformed output frame: %v", err)
			}
			if len(msg) == 0 {
				t.Fatal("empty frame sent: vpcd would take it as a dead card")
			}
			replies++
		}
		// Replay the input: every ATR request and every command is answered,
		// up to the first command the card fails (which ends the session).
		wantReplies, wantCommands := 0, 0
		r := bytes.NewReader(in)
		for {
			msg, err := readFrame(r)
			if err != nil {
				break
			}
			if len(msg) == 1 && msg[0] == ctrlATR {
				wantReplies++
			}
			if len(msg) >= 2 {
				wantCommands++
				if msg[1] == 0xEE || msg[1] == 0xEF {
					break
				}
				wantReplies++
			}
		}
		commands, _ := card.counts()
		if replies != wantReplies || commands != wantCommands {
			t.Fatalf("%d replies and %d commands to the card, want %d and %d", replies, commands, wantReplies, wantCommands)
		}
	})
}
