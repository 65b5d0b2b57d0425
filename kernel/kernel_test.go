// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
)

const debitAID = "A000000333010101"

var fixedNow = time.Date(2026, 11, 30, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))

func testConfig() kernel.Config {
	cfg := kernel.DefaultConfig()
	cfg.Now = func() time.Time { return fixedNow }
	cfg.Location = fixedNow.Location() // the terminal's wall clock is fixedNow's, whatever time.Local is
	cfg.CAPK = simCAPK()
	return cfg
}

// simCAPK is what a terminal trusts to talk to the simulated card: the
// published keys and, by explicit choice, the simulator's test CA.
func simCAPK() *capk.Store {
	s := capk.Builtin()
	s.Merge(capk.TestKeys())
	return s
}

func newKernel(t testing.TB, opts ...kernel.Option) *kernel.Kernel {
	t.Helper()
	k, err := kernel.New(testConfig(), opts...)
	require.NoError(t, err)
	return k
}

// tracedKernel is newKernel with Config.Trace, for tests that read the
// commands the kernel sent from Result.Trace.
func tracedKernel(t testing.TB, opts ...kernel.Option) *kernel.Kernel {
	t.Helper()
	cfg := testConfig()
	cfg.Trace = true
	k, err := kernel.New(cfg, opts...)
	require.NoError(t, err)
	return k
}

func loadCard(t testing.TB, name string) *cardsim.Card {
	t.Helper()
	p, err := cardsim.LoadProfile(filepath.Join("..", "testdata", "cards", name))
	require.NoError(t, err)
	c, err := cardsim.New(p)
	require.NoError(t, err)
	return c
}

func amt(a kernel.Amount) *kernel.Amount { return &a }

func TestPurchaseOfflineECApproved(t *testing.T) {
	card := loadCard(t, "default.json")
	before := card.Balance(debitAID)
	require.Equal(t, uint64(50000), before)
	res, err := tracedKernel(t).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonECApproved, res.Reason)
	assert.True(t, res.ECPath)
	assert.Equal(t, byte(0x40), res.CID&0xC0, "the card's TC")
	assert.Len(t, res.Cryptogram, 8)
	require.NotNil(t, res.BalanceBefore)
	require.NotNil(t, res.BalanceAfter)
	assert.Equal(t, kernel.Amount(50000), *res.BalanceBefore)
	assert.Equal(t, kernel.Amount(50000-1234), *res.BalanceAfter)
	assert.Equal(t, before-1234, card.Balance(debitAID), "the card deducted exactly the amount")
	assert.Equal(t, card.ATC(debitAID), res.ATC)
	assert.Equal(t, "622202*********", res.PAN[:15])
	assert.Equal(t, kernel.ODADDA, res.ODA, "the default card authenticates with DDA")
	assert.Empty(t, res.ODAError)
	assert.False(t, res.TVR.Has(kernel.TVRODANotPerformed))
	assert.False(t, res.TVR.Has(kernel.TVRDDAFailed))
	assert.True(t, res.TSI.Has(kernel.TSIODAPerformed))
	assert.True(t, res.TSI.Has(kernel.TSICardRiskPerformed))
	assert.Equal(t, res.APDUs, len(res.Trace))

	// A second sale continues from the new balance.
	res2, err := newKernel(t).Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res2.Outcome)
	assert.Equal(t, kernel.Amount(50000-1234), *res2.BalanceBefore)
	assert.Equal(t, kernel.Amount(50000-1334), *res2.BalanceAfter)
	assert.Equal(t, res.ATC+1, res2.ATC)
}

func TestPurchaseExactBalanceLeavesZero(t *testing.T) {
	// With an offline-only terminal the reset threshold does not force online.
	cfg := testConfig()
	cfg.OnlineCapable = false
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	card := loadCard(t, "low-balance.json")
	res, err := k.Purchase(context.Background(), card, 500)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.Amount(0), *res.BalanceAfter)
	assert.Equal(t, uint64(0), card.Balance(debitAID))
}

func TestPurchaseNotApprovedOffline(t *testing.T) {
	tests := []struct {
		name   string
		card   string
		amount kernel.Amount
		reason kernel.Reason
	}{
		{"amount above balance", "low-balance.json", 1234, kernel.ReasonInsufficientBalance},
		{"amount above single limit", "default.json", 30001, kernel.ReasonAboveSingleLimit},
		{"card without EC", "no-ec.json", 1234, kernel.ReasonECNotSupported},
		{"below reset threshold", "low-balance.json", 450, kernel.ReasonBelowResetThreshold},
		{"above terminal EC limit", "default.json", 100001, kernel.ReasonAboveTerminalLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := loadCard(t, tc.card)
			before := card.Balance(debitAID)
			res, err := newKernel(t).Purchase(context.Background(), card, tc.amount)
			require.NoError(t, err)
			assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
			assert.Equal(t, kernel.OutcomeOnlineRequired, res.Outcome, res.Detail)
			assert.Equal(t, tc.reason, res.Reason, res.Detail)
			assert.NotEmpty(t, res.Detail)
			assert.Nil(t, res.BalanceAfter)
			assert.Equal(t, before, card.Balance(debitAID), "nothing charged")
			assert.Equal(t, byte(0x00), res.CID&0xC0, "the card's transaction was closed with an AAC")
		})
	}
}

func TestPurchaseRefusesBadAmounts(t *testing.T) {
	card := loadCard(t, "default.json")
	for _, a := range []kernel.Amount{0, kernel.MaxAmount + 1} {
		res, err := newKernel(t).Purchase(context.Background(), card, a)
		require.ErrorIs(t, err, kernel.ErrAmount)
		assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
		assert.Zero(t, res.APDUs, "nothing sent to the card")
	}
	for _, s := range []string{"-1", "abc", "12.345", "1234567890123", "", "1e3"} {
		_, err := kernel.ParseAmount(s)
		assert.Error(t, err, s)
	}
	a, err := kernel.ParseAmount("12.34")
	require.NoError(t, err)
	assert.Equal(t, kernel.Amount(1234), a)
	assert.Equal(t, "12.34", a.String())
}

func commandNames(t *testing.T, res *kernel.Result) []string {
	t.Helper()
	var out []string
	for _, e := range res.Trace {
		c, err := apdu.ParseCommand(e.Command)
		require.NoError(t, err)
		out = append(out, c.Name())
	}
	return out
}

func TestSelectionWithAndWithoutPSE(t *testing.T) {
	for _, name := range []string{"default.json", "no-pse.json"} {
		t.Run(name, func(t *testing.T) {
			card := loadCard(t, name)
			res, err := tracedKernel(t).Purchase(context.Background(), card, 100)
			require.NoError(t, err)
			assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
			assert.Equal(t, debitAID, upperHex(res.AID))
			first, err := apdu.ParseCommand(res.Trace[0].Command)
			require.NoError(t, err)
			assert.Equal(t, []byte("1PAY.SYS.DDF01"), first.Data, "the PSE is always tried first")
			names := commandNames(t, res)
			if name == "default.json" {
				assert.Equal(t, "READ RECORD", names[1], "the PSE directory is read")
			} else {
				assert.Equal(t, "SELECT", names[1], "no PSE: the list of AIDs")
			}
		})
	}
}

func upperHex(b []byte) string {
	const d = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return string(out)
}

func TestSelectionPriorityAndCardholderChoice(t *testing.T) {
	// two-apps.json: credit (priority 2) listed before debit (priority 1).
	card := loadCard(t, "two-apps.json")
	res, err := newKernel(t).Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	assert.Equal(t, "A000000333010101", upperHex(res.AID), "highest priority wins without a selector")

	var offered []kernel.Candidate
	choose := kernel.SelectorFunc(func(_ context.Context, c []kernel.Candidate) (int, error) {
		offered = c
		return 1, nil
	})
	card = loadCard(t, "two-apps.json")
	res, err = newKernel(t, kernel.WithSelector(choose)).Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	require.Len(t, offered, 2)
	assert.Equal(t, 1, offered[0].Priority, "candidates are offered by priority")
	assert.Equal(t, 2, offered[1].Priority)
	assert.Equal(t, "A000000333010102", upperHex(res.AID), "the cardholder's choice is used")

	cancel := kernel.SelectorFunc(func(context.Context, []kernel.Candidate) (int, error) { return 0, kernel.ErrCancelled })
	res, err = newKernel(t, kernel.WithSelector(cancel)).Purchase(context.Background(), loadCard(t, "two-apps.json"), 100)
	require.ErrorIs(t, err, kernel.ErrCancelled)
	assert.Equal(t, kernel.ReasonCancelled, res.Reason)
}

// chaining answers every response that carries data with 61xx first and
// serves it through GET RESPONSE, and answers the first READ RECORD with
// 6Cxx when the terminal's Le is not exact.
type chaining struct {
	card    apdu.Transport
	pending []byte
	sixC    bool
}

func (c *chaining) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) >= 2 && cmd[1] == 0xC0 { // GET RESPONSE
		p := c.pending
		c.pending = nil
		return p, nil
	}
	if len(cmd) >= 2 && cmd[1] == 0xB2 && !c.sixC {
		c.sixC = true
		rsp, err := c.card.Transmit(ctx, cmd)
		if err != nil || len(rsp) <= 2 {
			return rsp, err
		}
		return []byte{0x6C, byte(len(rsp) - 2)}, nil
	}
	rsp, err := c.card.Transmit(ctx, cmd)
	if err != nil || len(rsp) <= 2 || len(rsp) > 257 {
		return rsp, err
	}
	c.pending = rsp
	return []byte{0x61, byte(len(rsp) - 2)}, nil
}

func TestPurchaseThrough61xxAnd6Cxx(t *testing.T) {
	card := loadCard(t, "default.json")
	res, err := tracedKernel(t).Purchase(context.Background(), &chaining{card: card}, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, uint64(50000-1234), card.Balance(debitAID))
	assert.Contains(t, commandNames(t, res), "GET RESPONSE")
}

// mangle changes the response to the n-th command with the given INS.
type mangle struct {
	card apdu.Transport
	ins  byte
	fn   func([]byte) []byte
}

func (m *mangle) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	rsp, err := m.card.Transmit(ctx, cmd)
	if err == nil && len(cmd) > 1 && cmd[1] == m.ins {
		rsp = m.fn(rsp)
	}
	return rsp, err
}

func TestMalformedCardResponses(t *testing.T) {
	sw := func(s ...byte) func([]byte) []byte { return func([]byte) []byte { return s } }
	tests := []struct {
		name string
		ins  byte
		fn   func([]byte) []byte
		want error
	}{
		{"truncated GPO TLV", 0xA8, func(r []byte) []byte { return append(r[:3:3], 0x90, 0x00) }, kernel.ErrCardData},
		{"GPO wrong template", 0xA8, func(r []byte) []byte { return append([]byte{0x71, 0x06, 0x7C, 0, 0x08, 1, 1, 0}, 0x90, 0x00) }, kernel.ErrCardData},
		{"GPO 6A82", 0xA8, sw(0x6A, 0x82), kernel.ErrCardStatus},
		{"SELECT 6A82 everywhere", 0xA4, sw(0x6A, 0x82), kernel.ErrNoApplication},
		{"record truncated", 0xB2, func(r []byte) []byte { return append(r[:len(r)/2:len(r)/2], 0x90, 0x00) }, kernel.ErrCardData},
		{"GENERATE AC truncated", 0xAE, func(r []byte) []byte { return append(r[:5:5], 0x90, 0x00) }, kernel.ErrCardData},
		{"GET DATA wrong tag", 0xCA, func(r []byte) []byte { return []byte{0x9F, 0x77, 0x01, 0x00, 0x90, 0x00} }, kernel.ErrCardData},
		{"one-byte response", 0xA8, sw(0x90), apdu.ErrShortResponse},
		{"empty response", 0xB2, sw(), apdu.ErrShortResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := loadCard(t, "default.json")
			before := card.Balance(debitAID)
			res, err := newKernel(t).Purchase(context.Background(), &mangle{card: card, ins: tc.ins, fn: tc.fn}, 1234)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			require.NotNil(t, res)
			assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
			assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
			if tc.ins == 0xAE {
				// The card executed GENERATE AC (TC, balance deducted) and
				// only its answer was mangled: the result reports the
				// balance the card now holds.
				require.NotNil(t, res.BalanceAfter)
				assert.Equal(t, card.Balance(debitAID), uint64(*res.BalanceAfter))
				assert.Equal(t, before-1234, card.Balance(debitAID))
				assert.Contains(t, res.Detail, "kept as a discrepancy")
				return
			}
			assert.Equal(t, before, card.Balance(debitAID))
		})
	}
}

func TestTransportErrorIsTerminated(t *testing.T) {
	boom := errors.New("reader unplugged")
	dead := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) { return nil, boom })
	res, err := newKernel(t).Purchase(context.Background(), dead, 100)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
	assert.Equal(t, kernel.ReasonTransport, res.Reason)
}

func TestReadBalanceAndLog(t *testing.T) {
	card := loadCard(t, "default.json")
	k := newKernel(t)
	b, err := k.ReadBalance(context.Background(), card)
	require.NoError(t, err)
	assert.Equal(t, amt(50000), b.Balance)
	assert.Equal(t, amt(100000), b.Limit)
	assert.Equal(t, amt(30000), b.SingleLimit)
	assert.Equal(t, amt(100), b.ResetThreshold)

	for _, a := range []kernel.Amount{111, 222, 333} {
		res, err := k.Purchase(context.Background(), card, a)
		require.NoError(t, err)
		require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
	}
	log, err := k.ReadTransactionLog(context.Background(), card)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(log), 3)
	assert.Equal(t, kernel.Amount(333), log[0].Amount, "newest first")
	assert.Equal(t, kernel.Amount(222), log[1].Amount)
	assert.Equal(t, kernel.Amount(111), log[2].Amount)
	assert.Equal(t, uint16(156), log[0].Currency)
	assert.True(t, fixedNow.Equal(log[0].Time), "the instant the terminal sent: %v, want %v", log[0].Time, fixedNow)

	_, err = k.ReadBalance(context.Background(), loadCard(t, "no-ec.json"))
	assert.ErrorIs(t, err, kernel.ErrNoEC)
}

func TestConcurrentTransactionsOnOneKernel(t *testing.T) {
	k := newKernel(t)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			card := loadCard(t, "default.json")
			for j := 0; j < 5; j++ {
				res, err := k.Purchase(context.Background(), card, 100)
				if !assert.NoError(t, err) || !assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome) {
					return
				}
			}
			assert.Equal(t, uint64(50000-500), card.Balance(debitAID))
		}()
	}
	wg.Wait()
}

func TestContextDeadlineHonoured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := newKernel(t).Purchase(ctx, loadCard(t, "default.json"), 100)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
}
