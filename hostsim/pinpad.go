package hostsim

import (
	"context"
	"fmt"

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
