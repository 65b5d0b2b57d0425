// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"context"
	"fmt"
)

// Bounds on response chaining in Exchange.
const (
	// MaxGetResponse is the number of GET RESPONSE commands Exchange sends
	// for one command before it gives up with ErrChaining.
	MaxGetResponse = 16
	// MaxResponseData is the largest response data, in bytes, that Exchange
	// assembles from chained responses before it gives up with ErrChaining.
	MaxResponseData = 64 << 10
)

// Transport sends one command APDU to a card and returns its response APDU
// (data followed by SW1 SW2). Implementations should honour ctx so that a
// cancelled transaction does not wait on a silent card. Like io.Writer's
// Write, Transmit must not modify command, nor keep it after it returns:
// a caller may encode the next command into the same buffer.
type Transport interface {
	Transmit(ctx context.Context, command []byte) (response []byte, err error)
}

// CommandTransport is a Transport that takes commands unencoded. Exchange
// calls TransmitCommand, where a transport has it, instead of encoding the
// command itself and calling Transmit: the transport may then encode into
// a buffer of its own rather than a new one per command.
type CommandTransport interface {
	Transport
	TransmitCommand(ctx context.Context, c Command) (response []byte, err error)
}

// TransportFunc adapts a function to the Transport interface.
type TransportFunc func(ctx context.Context, command []byte) ([]byte, error)

// Transmit calls f(ctx, command).
func (f TransportFunc) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	return f(ctx, command)
}

// Exchange sends c over t and returns the card's response, handling the
// transport-level status words of ISO/IEC 7816-4 the way an EMV terminal
// does:
//
//   - 6Cxx: c is sent once more with Le = xx;
//   - 61xx: GET RESPONSE with Le = xx (00 meaning 256) is sent, and again
//     while the card answers 61xx, concatenating the data; after
//     MaxGetResponse rounds or MaxResponseData bytes the exchange fails with
//     ErrChaining. A GET RESPONSE answered with 6Cxx is re-sent with Le = xx
//     (counting as a round).
//
// Every other status word, success or not, is returned in the Response with
// a nil error: the caller decides what a status word means for its command.
// The error reports what went wrong with the exchange itself: an invalid
// command (ErrMalformedCommand), a cancelled ctx (checked before each
// transmission), a transport error, a response too short to hold a status
// word (ErrShortResponse) or ErrChaining. It has the form
// "apdu: <command name>: ..." and wraps the cause.
//
// When no chaining took place, the response Data aliases the buffer returned
// by the transport.
func Exchange(ctx context.Context, t Transport, c Command) (Response, error) {
	name := c.Name()
	if t == nil {
		return Response{}, fmt.Errorf("apdu: %s: nil transport", name)
	}
	if err := c.Validate(); err != nil {
		return Response{}, fmt.Errorf("apdu: %s: %w", name, err)
	}
	r, err := roundTrip(ctx, t, c)
	if err != nil {
		return Response{}, fmt.Errorf("apdu: %s: %w", name, err)
	}
	if r.SW>>8 == 0x6C {
		c.Ne = decodeLe(byte(r.SW))
		if r, err = roundTrip(ctx, t, c); err != nil {
			return Response{}, fmt.Errorf("apdu: %s: re-sent with Le for %d bytes: %w", name, c.Ne, err)
		}
	}
	if r.SW>>8 != 0x61 {
		return r, nil
	}
	var data []byte
	if len(r.Data) > MaxResponseData {
		return Response{}, fmt.Errorf("apdu: %s: %w: more than %d response bytes", name, ErrChaining, MaxResponseData)
	}
	if len(r.Data) > 0 {
		data = append(data, r.Data...)
	}
	for round := 1; ; round++ {
		if round > MaxGetResponse {
			return Response{}, fmt.Errorf("apdu: %s: %w: card still answers %s after %d GET RESPONSE commands",
				name, ErrChaining, r.SW, MaxGetResponse)
		}
		gr := GetResponse(decodeLe(byte(r.SW)))
		if r.SW>>8 == 0x6C { // the card wants a different Le for GET RESPONSE
			gr.Ne = decodeLe(byte(r.SW))
		}
		if r, err = roundTrip(ctx, t, gr); err != nil {
			return Response{}, fmt.Errorf("apdu: %s: GET RESPONSE %d: %w", name, round, err)
		}
		if len(data)+len(r.Data) > MaxResponseData {
			return Response{}, fmt.Errorf("apdu: %s: %w: more than %d response bytes", name, ErrChaining, MaxResponseData)
		}
		if r.SW>>8 == 0x6C {
			continue
		}
		data = append(data, r.Data...)
		if r.SW>>8 != 0x61 {
			return Response{Data: data, SW: r.SW}, nil
		}
	}
}

// roundTrip checks ctx, transmits c and parses the answer.
func roundTrip(ctx context.Context, t Transport, c Command) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	var raw []byte
	var err error
	if ct, ok := t.(CommandTransport); ok {
		raw, err = ct.TransmitCommand(ctx, c)
	} else {
		raw, err = t.Transmit(ctx, c.Bytes())
	}
	if err != nil {
		return Response{}, err
	}
	return ParseResponse(raw)
}
