// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"

	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/kernel"
)

// PINPad is a simulated PIN pad that "types" a fixed PIN. It implements
// kernel.PINPad: it builds the ISO 9564 format-0 PIN block for the PAN (the
// 8-byte block for TDES, the 16-byte keys.PINBlock16 form for SM4) and
// enciphers it with the PIN key it shares with the Host (WithPINKey).
type PINPad struct {
	// Key is the PIN encryption key; nil means DefaultPINKey.
	Key []byte
	// Alg is the PIN encryption algorithm; zero means keys.TDES.
	Alg keys.Alg
	// PIN is the PIN the cardholder enters; empty means the cardholder
	// bypasses PIN entry (kernel.ErrPINBypass).
	PIN string
}

var _ kernel.PINPad = PINPad{}

// String describes the PIN pad without its PIN and key.
func (p PINPad) String() string {
	return fmt.Sprintf("PIN pad %v, PIN set: %t", p.alg(), p.PIN != "")
}

// GoString is String, so that %#v does not print the PIN and key either.
func (p PINPad) GoString() string { return p.String() }

func (p PINPad) alg() keys.Alg {
	if p.Alg == 0 {
		return keys.TDES
	}
	return p.Alg
}

// OnlinePIN returns the enciphered PIN block for pan. amount is what the
// pad would display; it does not enter the block. An empty PIN gives
// kernel.ErrPINBypass; a PIN or PAN the block cannot hold, or an unusable
// key, an error wrapping keys.ErrInput or keys.ErrKeyLength.
func (p PINPad) OnlinePIN(ctx context.Context, pan string, _ kernel.Amount) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hostsim: PIN pad: %w", err)
	}
	if p.PIN == "" {
		return nil, kernel.ErrPINBypass
	}
	key := p.Key
	if key == nil {
		key = defaultPINKey[:]
	}
	alg := p.alg()
	build := keys.PINBlock
	if alg == keys.SM4 {
		build = keys.PINBlock16
	}
	block, err := build(p.PIN, pan)
	if err != nil {
		return nil, fmt.Errorf("hostsim: PIN pad: %w", err)
	}
	defer clear(block)
	enc, err := keys.EncryptPINBlock(alg, key, block)
	if err != nil {
		return nil, fmt.Errorf("hostsim: PIN pad: %w", err)
	}
	return enc, nil
}

// OfflinePINPad is a simulated PIN pad for the PIN the card verifies
// (offline PIN). It implements kernel.OfflinePINPad: it "types" PIN and
// builds the VERIFY data itself — the plaintext block of EMV format 2
// (keys.OfflinePINBlock), or, when the kernel gives it the card's key and
// challenge, that block enciphered under the key (EMV Book 2 §7.2,
// keys.EncipherOfflinePIN) with a random pad from Rand.
type OfflinePINPad struct {
	// PIN is the PIN the cardholder enters; empty means the cardholder
	// bypasses PIN entry (kernel.ErrPINBypass).
	PIN string
	// Rand is the source of the random pad of an enciphered PIN; nil
	// means crypto/rand.
	Rand io.Reader
}

var _ kernel.OfflinePINPad = OfflinePINPad{}

// String describes the PIN pad without its PIN.
func (p OfflinePINPad) String() string {
	return fmt.Sprintf("offline PIN pad, PIN set: %t", p.PIN != "")
}

// GoString is String, so that %#v does not print the PIN either.
func (p OfflinePINPad) GoString() string { return p.String() }

// OfflinePIN returns the VERIFY data for req: the plaintext PIN block, or
// the enciphered one when req.Key is set. An empty PIN gives
// kernel.ErrPINBypass; a PIN the block cannot hold, or a key or challenge
// that cannot encipher it, an error wrapping keys.ErrInput.
func (p OfflinePINPad) OfflinePIN(ctx context.Context, req kernel.OfflinePINRequest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hostsim: offline PIN pad: %w", err)
	}
	if p.PIN == "" {
		return nil, kernel.ErrPINBypass
	}
	block, err := keys.OfflinePINBlock(p.PIN)
	if err != nil {
		return nil, fmt.Errorf("hostsim: offline PIN pad: %w", err)
	}
	if req.Key == nil {
		return block, nil
	}
	defer clear(block)
	random := p.Rand
	if random == nil {
		random = rand.Reader
	}
	enc, err := keys.EncipherOfflinePIN(req.Key.Modulus, req.Key.Exponent, block, req.Challenge, random)
	if err != nil {
		return nil, fmt.Errorf("hostsim: offline PIN pad: %w", err)
	}
	return enc, nil
}

// OfflinePINSequence is an offline PIN pad at which the cardholder types
// PINs in turn, one per entry (a wrong PIN, then the right one), and
// bypasses once they run out. It notes every request. It is safe for
// concurrent use.
type OfflinePINSequence struct {
	mu   sync.Mutex
	pins []string
	reqs []kernel.OfflinePINRequest
}

var _ kernel.OfflinePINPad = (*OfflinePINSequence)(nil)

// NewOfflinePINSequence returns a pad that types pins in turn.
func NewOfflinePINSequence(pins ...string) *OfflinePINSequence {
	return &OfflinePINSequence{pins: append([]string(nil), pins...)}
}

// OfflinePIN types the next PIN as OfflinePINPad does, or bypasses
// (kernel.ErrPINBypass) when none is left.
func (s *OfflinePINSequence) OfflinePIN(ctx context.Context, req kernel.OfflinePINRequest) ([]byte, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	var pin string
	if len(s.pins) > 0 {
		pin, s.pins = s.pins[0], s.pins[1:]
	}
	s.mu.Unlock()
	return OfflinePINPad{PIN: pin}.OfflinePIN(ctx, req)
}

// Requests returns the requests the pad was given, in order.
func (s *OfflinePINSequence) Requests() []kernel.OfflinePINRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]kernel.OfflinePINRequest(nil), s.reqs...)
}

// String describes the pad without its PINs.
func (s *OfflinePINSequence) String() string { return "offline PIN pad typing a sequence" }

// GoString is String, so that %#v does not print the PINs either.
func (s *OfflinePINSequence) GoString() string { return s.String() }
