// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/purse"
)

// PursePINPad is a simulated PIN pad for a fuel card's offline PIN: it
// "types" PIN and sends VERIFY itself (purse.PINPad). An empty PIN is a
// cardholder who cancels.
type PursePINPad struct {
	PIN string
}

var _ purse.PINPad = PursePINPad{}

// String describes the pad without its PIN.
func (p PursePINPad) String() string { return fmt.Sprintf("purse PIN pad, PIN set: %t", p.PIN != "") }

// GoString is String.
func (p PursePINPad) GoString() string { return p.String() }

// VerifyPIN sends 00 20 00 00 Lc PIN (BCD padded with F, or ASCII) to card.
func (p PursePINPad) VerifyPIN(ctx context.Context, card apdu.Transport, f purse.PINFormat) (apdu.SW, error) {
	if p.PIN == "" {
		return 0, fmt.Errorf("hostsim: the cardholder cancelled PIN entry")
	}
	data := cardsim.PurseVerifyData(p.PIN, f == purse.PINASCII)
	defer clear(data)
	r, err := apdu.Exchange(ctx, card, apdu.Verify(0x00, data))
	if err != nil {
		return 0, err
	}
	return r.SW, nil
}
