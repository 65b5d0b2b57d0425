// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

const testPIN = "123456"

// bank is a card, its issuer host with a back-office account, and a PIN pad.
type bank struct {
	card *cardsim.Card
	host *hostsim.Host
	pan  string
}

func newBank(t *testing.T, profile string, account kernel.Amount) *bank {
	t.Helper()
	p, err := cardsim.LoadProfile("../testdata/cards/" + profile)
	require.NoError(t, err)
	card, err := cardsim.New(p)
	require.NoError(t, err)
	h := hostsim.New()
	acc, err := hostsim.AccountFromProfile(p.Applications[0], account, testPIN)
	require.NoError(t, err)
	require.NoError(t, h.AddAccount(acc))
	return &bank{card: card, host: h, pan: acc.PAN}
}

func (b *bank) account(t *testing.T) kernel.Amount {
	a, ok := b.host.Account(b.pan)
	require.True(t, ok)
	return a.Balance
}

func (b *bank) kernel(t *testing.T, pin string, host kernel.Host) *kernel.Kernel {
	if host == nil {
		host = b.host
	}
	return newKernel(t, kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: pin}))
}

// tracedKernel is kernel with the right PIN and Config.Trace.
func (b *bank) tracedKernel(t *testing.T) *kernel.Kernel {
	return tracedKernel(t, kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
}

func TestAutomaticTopUp(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	res, err := b.kernel(t, testPIN, nil).Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonBelowResetThreshold, res.Reason, res.Detail)
	assert.True(t, res.TopUp)
	assert.True(t, res.TVR.Has(kernel.TVROnlinePINEntered))
	assert.Equal(t, "00", res.ResponseCode)
	require.NotNil(t, res.BalanceAfter)
	assert.Equal(t, kernel.Amount(100000), *res.BalanceAfter, "refilled to the balance limit")
	assert.Equal(t, uint64(100000), b.card.Balance(debitAID), "the card really holds it")
	require.Len(t, res.Scripts, 1)
	assert.True(t, res.Scripts[0].OK)
	assert.Equal(t, byte(0x20), res.ScriptResults[0], "9F5B: script successful")
	assert.True(t, res.TSI.Has(kernel.TSIScriptPerformed))
	assert.False(t, res.TVR.Has(kernel.TVRScriptFailedAfter))
	// The sale and the refill (1000.00 − 5.00) came from the account.
	assert.Equal(t, kernel.Amount(200000-450-(100000-500)), b.account(t))
	assert.Contains(t, res.Detail, "topped up to 1000.00")
}

// A PIN the issuer rejects ends that online transaction as EMV says, and
// the result says the top-up failed for the PIN and that the EC balance
// could still pay the sale offline (issue 13 item 3).
func TestAutomaticTopUpWrongPIN(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	res, err := b.kernel(t, "999999", nil).Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome)
	assert.Equal(t, kernel.ReasonPINIncorrect, res.Reason)
	assert.Equal(t, "55", res.ResponseCode)
	assert.True(t, res.TopUpFailed)
	assert.True(t, res.ECCouldPayOffline, res.Detail)
	assert.Equal(t, uint64(500), b.card.Balance(debitAID), "the EC balance is untouched")
	assert.Equal(t, kernel.Amount(200000), b.account(t), "the account is untouched")
	assert.Empty(t, res.Scripts)
}

// A failed top-up PIN fails only the top-up (the card manual in the
// mission: "the top-up fails, but other transactions that need no PIN are
// not affected"; HXEMV EmvModul.c:803-817): the sale goes on as it would
// have without it — offline from the EC balance when that allows, else
// online with the CVM list (issue 13 item 3).
func TestAutomaticTopUpPINBypassedFailsOnlyTheTopUp(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	res, err := b.kernel(t, "", nil).Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonECApproved, res.Reason)
	assert.True(t, res.TopUpFailed)
	assert.False(t, res.TopUp)
	assert.True(t, res.TVR.Has(kernel.TVRPINNotEntered), "what happened is in the TVR")
	assert.Equal(t, uint64(50), b.card.Balance(debitAID), "paid from the EC balance")
	assert.Empty(t, b.host.Ledger(), "nothing went online")

	// No PIN pad at all: the same.
	b = newBank(t, "low-balance.json", 200000)
	res, err = newKernel(t, kernel.WithHost(b.host)).Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.True(t, res.TopUpFailed)

	// Above the balance the sale needs the issuer anyway: online without
	// the top-up, the CVM list deciding (the default card's list asks for
	// an online PIN, not entered: the issuer declines it).
	b = newBank(t, "low-balance.json", 200000)
	res, err = b.kernel(t, "", nil).Purchase(context.Background(), b.card, 600)
	require.NoError(t, err)
	assert.True(t, res.TopUpFailed, res.Detail)
	assert.False(t, res.TopUp)
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
	for _, e := range b.host.Ledger() {
		assert.False(t, e.TopUp, "no top-up was asked of the issuer")
	}
}

// An unreachable host applies the default action codes to a top-up sale;
// it does not force an AAC (issue 13 item 3).
func TestAutomaticTopUpHostUnreachableAppliesTheDefaultAction(t *testing.T) {
	// Action codes whose default action approves what this sale's TVR says.
	card := newCard(t, profileWith(t, "low-balance.json", func(a *cardsim.Application) { a.IACDefault = "0000000000" }))
	cfg := testConfig()
	for i := range cfg.Applications {
		cfg.Applications[i].TACDefault = [5]byte{}
	}
	h := hostsim.New()
	h.SetUnreachable(true)
	k := kernelFrom(t, cfg, kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
	res, err := k.Purchase(context.Background(), card, 450)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonUnableToGoOnline, res.Reason)
	assert.True(t, res.TopUpFailed)
	assert.Equal(t, byte(0x40), res.CID&0xC0, "the card's TC")
}

// scriptBreaker corrupts the MAC of every script the host returns; the
// host's reversals stay available.
type scriptBreaker struct{ *hostsim.Host }

func (h scriptBreaker) Authorize(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	resp, err := h.Host.Authorize(ctx, req)
	if err == nil && len(resp.Scripts) > 0 {
		s := bytes.Clone(resp.Scripts)
		s[len(s)-1] ^= 0xFF
		resp.Scripts = s
	}
	return resp, err
}

// A script the card refuses leaves the top-up or load unproven: a GET
// DATA saying "unchanged" is not evidence (a relay or an emulator can say
// it), so nothing is given back on it. The request is kept pending and
// settled at the card's next presentation from the balance the card MACs
// into its first cryptogram: reversed at the host, which verifies that
// cryptogram, and only then.
func TestScriptRefusedIsReversedOnlyOnTheCardsEvidence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile string
		run     func(k *kernel.Kernel, card apdu.Transport) (*kernel.Result, error)
		before  kernel.Amount
		charged kernel.Amount // what the account keeps paying for after the reversal
		outcome kernel.Outcome
	}{
		{"top-up", "low-balance.json", func(k *kernel.Kernel, card apdu.Transport) (*kernel.Result, error) {
			return k.Purchase(context.Background(), card, 450)
		}, 500, 450, kernel.OutcomeApprovedOnline},
		{"designated load", "default.json", func(k *kernel.Kernel, card apdu.Transport) (*kernel.Result, error) {
			return k.Load(context.Background(), card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 10000})
		}, 50000, 0, kernel.OutcomeTerminated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBank(t, tc.profile, 200000)
			torn := &kernel.MemoryTornLog{}
			k := newKernel(t, kernel.WithHost(scriptBreaker{b.host}), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(torn))
			res, err := tc.run(k, b.card)
			require.NoError(t, err)
			assert.Equal(t, tc.outcome, res.Outcome, res.Detail)
			assert.Equal(t, kernel.ReasonScriptFailed, res.Reason, res.Detail)
			require.Len(t, res.Scripts, 1)
			assert.Equal(t, byte(0x11), res.ScriptResults[0], "9F5B: first command failed")
			assert.True(t, res.TVR.Has(kernel.TVRScriptFailedAfter))
			require.NotNil(t, res.BalanceAfter)
			assert.Equal(t, tc.before, *res.BalanceAfter, "the result says what the card reports")
			assert.False(t, res.Reversed, "not given back on a GET DATA: %s", res.Detail)
			assert.True(t, res.Torn, "kept pending")
			assert.Less(t, b.account(t), kernel.Amount(200000-tc.charged), "the EC part is still charged")

			// The card comes back: its first cryptogram's MACed balance
			// shows the script did not take effect; the host verifies it.
			res2, err := k.Purchase(context.Background(), b.card, 100)
			require.NoError(t, err)
			require.Len(t, res2.Settled, 1, res2.Detail)
			assert.True(t, res2.Settled[0].Reversed, res2.Detail)
			assert.Zero(t, torn.Len())
			spent := kernel.Amount(0)
			if res2.Outcome == kernel.OutcomeApprovedOnline {
				spent = 100
			}
			assert.Equal(t, kernel.Amount(200000)-tc.charged-spent, b.account(t), "nothing lost: the account got the EC part back")
			assert.Equal(t, uint64(tc.before)-uint64(100-spent), b.card.Balance(debitAID))
		})
	}
}

// With the issuer's script before the second GENERATE AC (template 71),
// the second cryptogram's IAD carries the card's MACed balance after it:
// a refused script is proven at once and reversed on that evidence.
func TestScriptBeforeCompletionIsProvenByTheSecondCryptogram(t *testing.T) {
	b := newBank(t, "default.json", 200000)
	h := hostsim.New(hostsim.WithScriptsBeforeCompletion())
	acc, ok := b.host.Account(b.pan)
	require.True(t, ok)
	require.NoError(t, h.AddAccount(acc))
	b.host = h

	// Refused: reversed now, on the card's authenticated balance.
	k := newKernel(t, kernel.WithHost(scriptBreaker{h}), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(&kernel.MemoryTornLog{}))
	res, err := k.Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 10000})
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonScriptFailed, res.Reason)
	assert.True(t, res.TVR.Has(kernel.TVRScriptFailedBefore))
	assert.True(t, res.Reversed, res.Detail)
	assert.False(t, res.Torn)
	assert.Equal(t, kernel.Amount(200000), b.account(t))
	assert.Equal(t, uint64(50000), b.card.Balance(debitAID))

	// Taken: proven by the same cryptogram.
	k = newKernel(t, kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
	res, err = k.Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 10000})
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.Amount(60000), *res.BalanceAfter)
	assert.Equal(t, uint64(60000), b.card.Balance(debitAID))
	assert.Equal(t, kernel.Amount(190000), b.account(t))
}

// bankWith is newBank with the default card's EC balance and threshold set.
func bankWith(t *testing.T, balance, threshold string, account kernel.Amount) *bank {
	t.Helper()
	p, err := cardsim.LoadProfile("../testdata/cards/default.json")
	require.NoError(t, err)
	p.Applications[0].EC.Balance, p.Applications[0].EC.ResetThreshold = balance, threshold
	b, err := json.Marshal(p)
	require.NoError(t, err)
	p, err = cardsim.ParseProfile(b)
	require.NoError(t, err)
	card, err := cardsim.New(p)
	require.NoError(t, err)
	h := hostsim.New()
	acc, err := hostsim.AccountFromProfile(p.Applications[0], account, testPIN)
	require.NoError(t, err)
	require.NoError(t, h.AddAccount(acc))
	return &bank{card: card, host: h, pan: acc.PAN}
}

// The seed examples of the issue: balance 200.00, limit 1000.00, threshold
// 1.00, purchase 210.00 → online with PIN, approved, 1000.00 after the
// script, the purchase charged to the account; and threshold 50.00 with
// balance 51.00 and purchase 2.00 → online (51 − 2 < 50).
func TestAutomaticTopUpSeedExamples(t *testing.T) {
	tests := []struct {
		balance, threshold string
		amount             kernel.Amount
		before             kernel.Amount
		reason             kernel.Reason
	}{
		{"200.00", "1.00", 21000, 20000, kernel.ReasonInsufficientBalance},
		{"51.00", "50.00", 200, 5100, kernel.ReasonBelowResetThreshold},
	}
	for _, tc := range tests {
		t.Run(tc.balance+"/"+tc.threshold, func(t *testing.T) {
			b := bankWith(t, tc.balance, tc.threshold, 200000)
			res, err := b.kernel(t, testPIN, nil).Purchase(context.Background(), b.card, tc.amount)
			require.NoError(t, err)
			assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
			assert.Equal(t, tc.reason, res.Reason)
			assert.True(t, res.TopUp)
			assert.True(t, res.TVR.Has(kernel.TVROnlinePINEntered), "online PIN")
			assert.Equal(t, tc.before, *res.BalanceBefore)
			assert.Equal(t, kernel.Amount(100000), *res.BalanceAfter)
			assert.Equal(t, uint64(100000), b.card.Balance(debitAID))
			refill := 100000 - tc.before
			assert.Equal(t, kernel.Amount(200000)-tc.amount-refill, b.account(t), "the purchase and the refill from the account")
		})
	}
}

func TestOnlinePurchaseWithoutTopUp(t *testing.T) {
	// 350.00 on the seed card (500.00): above the single limit, and
	// 500 − 350 stays above the threshold: online, no top-up.
	b := newBank(t, "default.json", 200000)
	res, err := b.kernel(t, testPIN, nil).Purchase(context.Background(), b.card, 35000)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonAboveSingleLimit, res.Reason)
	assert.False(t, res.TopUp)
	assert.Equal(t, uint64(50000), b.card.Balance(debitAID), "charged to the account, not the EC balance")
	assert.Equal(t, kernel.Amount(200000-35000), b.account(t))
	assert.NotEmpty(t, res.Field55)
}

// The PAN sequence number is BCD (5F34) in the card key derivation on
// both sides: a card with PSN 10 (5F34 = 10, not 0A) is approved online.
func TestPANSequenceAboveNineDerivesTheSameKeys(t *testing.T) {
	p := profileWith(t, "default.json", func(a *cardsim.Application) { a.PANSequence = 10 })
	card := newCard(t, p)
	h := hostsim.New()
	acc, err := hostsim.AccountFromProfile(p.Applications[0], 200000, testPIN)
	require.NoError(t, err)
	require.NoError(t, h.AddAccount(acc))
	res, err := newKernel(t, kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})).Purchase(context.Background(), card, 35000)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.Amount(200000-35000), func() kernel.Amount { a, _ := h.Account(acc.PAN); return a.Balance }())
}

func TestHostUnreachableUsesDefaultAction(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	b.host.SetUnreachable(true)
	res, err := b.kernel(t, testPIN, nil).Purchase(context.Background(), b.card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome)
	assert.Equal(t, kernel.ReasonUnableToGoOnline, res.Reason)
	assert.Equal(t, byte(0x00), res.CID&0xC0)
	assert.Equal(t, uint64(500), b.card.Balance(debitAID))
}

func TestIssuerAuthenticationFailure(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	badARPC := kernel.HostFunc(func(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
		resp, err := b.host.Authorize(ctx, req)
		if err == nil {
			resp.IssuerAuthData = bytes.Clone(resp.IssuerAuthData)
			resp.IssuerAuthData[0] ^= 0x01
		}
		return resp, err
	})
	res, err := b.kernel(t, testPIN, badARPC).Purchase(context.Background(), b.card, 1234)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRIssuerAuthFailed))
	assert.True(t, res.TSI.Has(kernel.TSIIssuerAuthPerformed))
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, "the card refuses a TC after failed issuer authentication")
}

func TestLoads(t *testing.T) {
	for _, kind := range []kernel.LoadKind{kernel.LoadDesignated, kernel.LoadNonDesignated, kernel.LoadCash} {
		t.Run(kind.String(), func(t *testing.T) {
			b := newBank(t, "default.json", 200000)
			res, err := b.kernel(t, testPIN, nil).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kind, Amount: 12345})
			require.NoError(t, err)
			assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
			assert.Equal(t, kernel.ReasonLoaded, res.Reason, res.Detail)
			require.NotNil(t, res.BalanceBefore)
			require.NotNil(t, res.BalanceAfter)
			assert.Equal(t, *res.BalanceBefore+12345, *res.BalanceAfter, "exactly previous + amount")
			assert.Equal(t, uint64(*res.BalanceAfter), b.card.Balance(debitAID))
			want := kernel.Amount(200000)
			if kind == kernel.LoadDesignated {
				want -= 12345
				assert.True(t, res.TVR.Has(kernel.TVROnlinePINEntered))
			}
			assert.Equal(t, want, b.account(t))
		})
	}
}

func TestLoadAboveLimitRefusedBeforeOnline(t *testing.T) {
	b := newBank(t, "default.json", 200000)
	res, err := b.kernel(t, testPIN, nil).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 50001})
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome)
	assert.Equal(t, kernel.ReasonAboveBalanceLimit, res.Reason)
	assert.Empty(t, b.host.Ledger(), "refused before going online")
	assert.Equal(t, uint64(50000), b.card.Balance(debitAID))

	// Exactly up to the limit is fine.
	res, err = b.kernel(t, testPIN, nil).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 50000})
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.Equal(t, uint64(100000), b.card.Balance(debitAID))
}

func TestLoadWithoutHost(t *testing.T) {
	card := loadCard(t, "default.json")
	res, err := newKernel(t).Load(context.Background(), card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 100})
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeOnlineRequired, res.Outcome)
	assert.Equal(t, uint64(50000), card.Balance(debitAID))
}
