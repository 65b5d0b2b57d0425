// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
)

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte{0x90, 0x00})
	f.Add([]byte{0x6A})
	f.Add([]byte{0x70, 0x03, 0x5A, 0x01, 0x12, 0x61, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			if !errors.Is(err, ErrShortResponse) || len(b) >= 2 {
				t.Fatalf("ParseResponse(% X): %v", b, err)
			}
			return
		}
		if !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("round trip % X -> % X", b, r.Bytes())
		}
		_ = r.SW.String()
	})
}

func FuzzParseCommand(f *testing.F) {
	f.Add([]byte{0x84, 0x1E, 0x00, 0x00})
	f.Add([]byte{0x00, 0x84, 0x00, 0x00, 0x00})
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00, 0x00})
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedCommand) {
				t.Fatalf("ParseCommand(% X): %v", b, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed command fails Validate: %v", err)
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("round trip % X -> % X", b, c.Bytes())
		}
		_ = c.Name()
	})
}

// FuzzExchange plays fuzzed card answers, each prefixed by its length byte,
// to Exchange through the tracer: no panic, no hang, bounded output.
func FuzzExchange(f *testing.F) {
	f.Add(byte(0xB2), []byte{2, 0x61, 0x05, 7, 1, 2, 3, 4, 5, 0x90, 0x00})
	f.Add(byte(0xB2), []byte{2, 0x6C, 0x05, 2, 0x61, 0x00, 2, 0x6C, 0x01, 3, 0xAA, 0x90, 0x00})
	f.Add(byte(0xCA), []byte{2, 0x61, 0xFF, 2, 0x61, 0xFF, 2, 0x61, 0xFF})
	f.Add(byte(0xB2), []byte{22, 0x70, 0x12, 0x5A, 0x08, 0x62, 0x34, 0x56, 0x12, 0x34, 0x56, 0x78, 0x90,
		0x57, 0x06, 0x62, 0x34, 0x56, 0x12, 0x34, 0xD2, 0x90, 0x00})
	f.Add(byte(0x20), []byte{1, 0x63})
	f.Fuzz(func(t *testing.T, ins byte, script []byte) {
		calls := 0
		card := TransportFunc(func(_ context.Context, _ []byte) ([]byte, error) {
			calls++
			if calls > 2+MaxGetResponse {
				t.Fatalf("Exchange sent %d commands", calls)
			}
			if len(script) == 0 {
				return nil, io.ErrUnexpectedEOF
			}
			n := int(script[0])
			script = script[1:]
			n = min(n, len(script))
			resp := script[:n]
			script = script[n:]
			return resp, nil
		})
		logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
		tr := NewTracer(card, logger)
		r, err := Exchange(context.Background(), tr, Command{CLA: 0x00, INS: ins, P1: 1, P2: 0x0C, Data: []byte{1}, Ne: 256})
		if err != nil {
			return
		}
		if len(r.Data) > MaxResponseData {
			t.Fatalf("response of %d bytes", len(r.Data))
		}
		if r.SW>>8 == 0x61 {
			t.Fatalf("Exchange returned %s", r.SW)
		}
	})
}
