// SPDX-License-Identifier: Apache-2.0

package cardsim_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// scribbler passes each command on and then overwrites the command buffer,
// as a terminal may once Transmit has returned: the apdu.Transport
// contract says Transmit must not keep (or modify) the command.
type scribbler struct{ next apdu.Transport }

func (s scribbler) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	resp, err := s.next.Transmit(ctx, command)
	for i := range command {
		command[i] = 0x30 // '0'
	}
	return resp, err
}

// flow is one transaction of the walk.
type flow struct {
	name string
	card string // profile in testdata/cards
	run  func(ctx context.Context, k *kernel.Kernel, card apdu.Transport) error
}

var scribbleNow = time.Date(2026, 3, 15, 10, 30, 45, 0, time.Local)

// purchaseFlow, loadFlow and tapFlow run a transaction and check that it
// was approved.
func purchaseFlow(amount kernel.Amount, want kernel.Outcome) func(context.Context, *kernel.Kernel, apdu.Transport) error {
	return func(ctx context.Context, k *kernel.Kernel, card apdu.Transport) error {
		res, err := k.Purchase(ctx, card, amount)
		if err == nil && res.Outcome != want {
			return &outcomeError{res}
		}
		return err
	}
}

func loadFlow(kind kernel.LoadKind, amount kernel.Amount) func(context.Context, *kernel.Kernel, apdu.Transport) error {
	return func(ctx context.Context, k *kernel.Kernel, card apdu.Transport) error {
		res, err := k.Load(ctx, card, kernel.LoadRequest{Kind: kind, Amount: amount})
		if err == nil && res.Outcome != kernel.OutcomeApprovedOnline {
			return &outcomeError{res}
		}
		return err
	}
}

type outcomeError struct{ res *kernel.Result }

func (e *outcomeError) Error() string { return e.res.Outcome.String() + ": " + e.res.Detail }

// TestCommandBufferNotKept runs every flow twice on fresh cards: once with
// the kernel's commands left alone, once with each command buffer
// overwritten after Transmit returns. With a fixed clock and unpredictable
// number both runs send the same commands, so the card must end in the
// same state — balance, ATC, transaction log and load log — and its log
// must say what the terminal sent (amount, date, time, merchant). A card
// that kept a slice of a command (the CDOL1 data, logged at the second
// GENERATE AC or by a script) logs the scribbled bytes instead.
func TestCommandBufferNotKept(t *testing.T) {
	flows := []flow{
		{"contact offline", "default.json", purchaseFlow(12_34, kernel.OutcomeApprovedOffline)},
		{"contact online", "default.json", purchaseFlow(300_01, kernel.OutcomeApprovedOnline)},
		{"automatic top-up", "low-balance.json", purchaseFlow(4_50, kernel.OutcomeApprovedOnline)},
		{"designated load", "default.json", loadFlow(kernel.LoadDesignated, 100_00)},
		{"non-designated load", "default.json", loadFlow(kernel.LoadNonDesignated, 100_00)},
		{"cash load", "default.json", loadFlow(kernel.LoadCash, 100_00)},
		{"contactless", "default.json", func(ctx context.Context, k *kernel.Kernel, card apdu.Transport) error {
			res, err := k.PurchaseContactless(ctx, card, 12_34)
			if err == nil && res.Outcome != kernel.OutcomeApprovedOffline {
				return &outcomeError{res}
			}
			return err
		}},
		{"balance", "default.json", func(ctx context.Context, k *kernel.Kernel, card apdu.Transport) error {
			b, err := k.ReadBalance(ctx, card)
			if err == nil && (b.Balance == nil || *b.Balance != 500_00) {
				t.Errorf("balance read %v, want 500.00", b.Balance)
			}
			return err
		}},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			clean := runFlow(t, f, false)
			scribbled := runFlow(t, f, true)
			assert.Equal(t, clean.state, scribbled.state, "the card's state does not depend on the terminal's buffer after the call")
			assert.Equal(t, clean.log, scribbled.log, "the card's log as the kernel reads it")
		})
	}
}

// flowState is what a flow left on the card.
type flowState struct {
	state *cardsim.Profile
	log   []kernel.LogEntry
}

func runFlow(t *testing.T, f flow, scribble bool) flowState {
	t.Helper()
	ctx := context.Background()
	p, err := cardsim.LoadProfile(filepath.Join("..", "testdata", "cards", f.card))
	require.NoError(t, err)
	card, err := cardsim.New(p)
	require.NoError(t, err)
	host := hostsim.New()
	for _, app := range p.Applications {
		acc, err := hostsim.AccountFromProfile(app, 2000_00, "123456")
		require.NoError(t, err)
		require.NoError(t, host.AddAccount(acc))
	}
	cfg := kernel.DefaultConfig()
	cfg.CAPK = capk.Builtin()
	cfg.CAPK.Merge(capk.TestKeys())
	cfg.Now = func() time.Time { return scribbleNow }
	k, err := kernel.New(cfg, kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: "123456"}),
		kernel.WithRandom(rand.NewChaCha8([32]byte{1})))
	require.NoError(t, err)

	var tr apdu.Transport = card
	if f.name == "contactless" {
		tr = cardsim.NewContactless(card)
	}
	if scribble {
		tr = scribbler{tr}
	}
	require.NoError(t, f.run(ctx, k, tr))

	var reader apdu.Transport = card
	if scribble {
		reader = scribbler{card}
	}
	log, err := k.ReadTransactionLog(ctx, reader)
	require.NoError(t, err)
	checkLog(t, f, log)
	return flowState{state: card.Snapshot(), log: log}
}

// checkLog checks the newest log entry against what the terminal sent.
func checkLog(t *testing.T, f flow, log []kernel.LogEntry) {
	t.Helper()
	want := map[string]kernel.Amount{"contact offline": 12_34, "contact online": 300_01, "automatic top-up": 4_50, "contactless": 12_34}
	amount, sale := want[f.name]
	if !sale {
		return // loads and reads are not in the transaction log
	}
	require.NotEmpty(t, log, "the sale is in the card's log")
	e := log[0]
	assert.Equal(t, amount, e.Amount)
	assert.Equal(t, scribbleNow.Format("2006-01-02 15:04:05"), e.Time.Format("2006-01-02 15:04:05"), "the terminal's date and time")
	assert.Equal(t, uint16(156), e.Currency)
	assert.Equal(t, kernel.DefaultConfig().MerchantName, e.Merchant, "9F4E as sent")
}
