// SPDX-License-Identifier: Apache-2.0

// Package hostile lies to a terminal. A Card wraps a real card's transport
// (the simulated card, or a card in a reader) and, for the commands its
// Lies match, rewrites what the terminal sends (a relay clearing TTQ bits),
// rewrites or replaces what the card answers (a forged log entry, a CTQ, a
// balance, another card's data), answers without asking the card, drops
// an answer after the card acted on the command, or replays an earlier
// one. A Host wraps an issuer and approves without scripts, with broken
// scripts, or late.
//
// It exists to test the money rules — only a cryptogram approves, money
// moves at the host only on what the card authenticated, nothing is lost,
// nothing is charged twice — against cards and networks that do not play
// fair, in this project's tests and in a lab's. Every lie is a plain value
// that names what it does; a test composes them.
package hostile

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/tlv"
)

// ErrDropped is the error a Card returns for an answer a Lie dropped: the
// card executed the command, the terminal never hears of it.
var ErrDropped = errors.New("hostile: the answer was dropped")

// Exchange is one command as a Lie sees it: what the terminal sent, the
// command's position, and what the card has said so far in this session.
type Exchange struct {
	// N is the 0-based index of the command on this Card.
	N int
	// Command is the command as the terminal sent it (parsed).
	Command apdu.Command
	// PDOL is the PDOL of the last application the card selected (from its
	// FCI), for lies that find terminal data in the GPO command.
	PDOL tlv.DOL
}

// Lie is one way of lying. Match says whether it applies to a command; the
// first matching Lie of a Card decides the exchange.
type Lie interface {
	Match(x *Exchange) bool
	// Apply runs the exchange: it may change the command before calling
	// forward (which sends it to the real card), change or replace the
	// answer, or not call forward at all.
	Apply(ctx context.Context, x *Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error)
}

// Card is an apdu.Transport that lies as its Lies say and passes every other
// command through to Inner unchanged. It is safe for concurrent use (one
// command at a time, as a card).
type Card struct {
	Inner apdu.Transport
	Lies  []Lie

	mu   sync.Mutex
	n    int
	pdol tlv.DOL
	// Told counts the commands each Lie decided (by index in Lies).
	told map[int]int
}

// NewCard returns a Card that lies to the terminal about inner.
func NewCard(inner apdu.Transport, lies ...Lie) *Card {
	return &Card{Inner: inner, Lies: lies, told: map[int]int{}}
}

// Told reports how many commands the i-th Lie decided: a test that expects
// a lie to be told checks it was.
func (c *Card) Told(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.told[i]
}

// Transmit applies the first matching Lie, or passes cmd through.
func (c *Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	parsed, err := apdu.ParseCommand(cmd)
	if err != nil {
		return c.Inner.Transmit(ctx, cmd)
	}
	x := &Exchange{N: c.n, Command: parsed, PDOL: c.pdol}
	c.n++
	forward := func(cm apdu.Command) ([]byte, error) {
		rsp, err := c.Inner.Transmit(ctx, cm.Bytes())
		if err == nil && cm.INS == 0xA4 {
			c.learnPDOL(rsp)
		}
		return rsp, err
	}
	for i, l := range c.Lies {
		if l.Match(x) {
			c.told[i]++
			return l.Apply(ctx, x, forward)
		}
	}
	return forward(parsed)
}

// learnPDOL keeps the PDOL of a SELECT answer.
func (c *Card) learnPDOL(rsp []byte) {
	r, err := apdu.ParseResponse(rsp)
	if err != nil || r.SW != apdu.SWSuccess {
		return
	}
	if v, ok, err := tlv.Find(r.Data, 0x9F38); err == nil && ok {
		if d, err := tlv.ParseDOL(v); err == nil {
			c.pdol = d
		}
	}
}

// Instructions of the commands the lies name.
const (
	INSSelect     = 0xA4
	INSGPO        = 0xA8
	INSReadRecord = 0xB2
	INSGetData    = 0xCA
	INSGenerateAC = 0xAE
	INSInternal   = 0x88
	INSPutData    = 0xDA
)

// ok is a 9000 answer with data.
func ok(data []byte) []byte { return append(append([]byte(nil), data...), 0x90, 0x00) }

// split parses a card answer.
func split(rsp []byte) (apdu.Response, error) {
	r, err := apdu.ParseResponse(rsp)
	if err != nil {
		return apdu.Response{}, fmt.Errorf("hostile: %w", err)
	}
	return r, nil
}
