// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// The test terminal and its keys (test values, never production ones).
const (
	terminalID    = "12345678"
	merchantID    = "123456789012345"
	cardholderPIN = "123456"
)

var (
	testTMK     = []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01}
	testDataKey = []byte("0123456789abcdef0123456789abcdef")
)

// rig is one terminal, its acquirer and the issuer behind it, over TCP on
// loopback: the simulated card, a kernel whose host is the link, the
// link's durable state, the journal, the acquirer simulator and hostsim.
type rig struct {
	t       testing.TB
	dir     string
	profile *cardsim.Profile
	card    *cardsim.Card
	host    *hostsim.Host
	sim     *acquirersim.Sim
	module  *acquirer.SoftModule
	state   *acquirer.State
	journal *journal.File
	link    *acquirer.Link
	kernel  *kernel.Kernel
	pan     string
	pin     string
	variant acquirer.Variant
	simAddr string // where the simulator listens, kept across its restarts
	dataKey journal.DataKey
	tap     *frameTap // between the link and the simulator, when asked for
}

// rigOptions shape a rig.
type rigOptions struct {
	ecBalance string        // the card's EC balance; "" keeps the profile's
	account   kernel.Amount // the back-office account; 0 means 2000.00
	timeout   time.Duration // the link's reply timeout; 0 means 2s
	variant   acquirer.Variant
	page      int  // download entries per query reply; 0 means the simulator's default
	tap       bool // record the frames the link sends (rig.tap)
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	p := cardsim.DefaultProfile()
	if o.ecBalance != "" {
		p.Applications[0].EC.Balance = o.ecBalance
	}
	if o.account == 0 {
		o.account = 200000
	}
	r := &rig{t: t, dir: t.TempDir(), profile: p, pin: cardholderPIN, variant: o.variant}
	var err error
	r.dataKey, err = journal.NewAESGCMKey(testDataKey)
	require.NoError(t, err)
	r.card, err = cardsim.New(p)
	require.NoError(t, err)
	r.pan = p.Applications[0].PAN
	r.host = hostsim.New()
	acct, err := hostsim.AccountFromProfile(p.Applications[0], o.account, cardholderPIN)
	require.NoError(t, err)
	require.NoError(t, r.host.AddAccount(acct))
	r.sim, err = acquirersim.New(acquirersim.Config{Host: r.host, TMK: testTMK, Variant: o.variant, Page: o.page,
		CAKeys: acquirersim.CAKeyRecords(capk.TestKeys()), ICParams: acquirersim.SampleAIDRecords()})
	require.NoError(t, err)
	require.NoError(t, r.sim.Start("127.0.0.1:0"))
	t.Cleanup(r.sim.Close)
	if o.tap {
		r.tap = newFrameTap(t, r.sim.Addr())
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	r.journal, err = journal.Open(filepath.Join(r.dir, "journal.dat"))
	require.NoError(t, err)
	t.Cleanup(func() { r.journal.Close() })
	r.open(o.timeout)
	return r
}

// open (re)opens the terminal side from its files: the state, the link and
// the kernel, as a terminal does at power-up.
func (r *rig) open(timeout time.Duration) {
	t := r.t
	var err error
	r.module, err = acquirer.NewSoftModule(testTMK)
	require.NoError(t, err)
	r.state, err = acquirer.OpenState(context.Background(), filepath.Join(r.dir, "acquirer.state"), r.dataKey)
	require.NoError(t, err)
	t.Cleanup(func() { r.state.Close() })
	addr := r.sim.Addr()
	if r.tap != nil {
		addr = r.tap.addr
	}
	cfg := acquirer.Config{Addr: addr, TerminalID: terminalID, MerchantID: merchantID, Timeout: timeout,
		ConnectTimeout: time.Second, Variant: r.variant}
	r.link, err = acquirer.Open(context.Background(), cfg, r.module, r.state,
		acquirer.WithClearing(acquirer.JournalClearing(r.journal, r.dataKey)),
		acquirer.WithEvidence(acquirer.JournalEvidence(r.journal)), acquirer.WithCounter(r.journal))
	require.NoError(t, err)
	t.Cleanup(func() { r.link.Close() })
	_ = r.link.SignIn(context.Background()) // as a POS at power-up; a test that needs it checks Status
	kc := kernel.DefaultConfig()
	kc.CAPK = capk.Builtin()
	kc.CAPK.Merge(capk.TestKeys()) // the simulated card is signed by the test CA
	r.kernel, err = kernel.New(kc, kernel.WithHost(r.link), kernel.WithPINPad(r.module.PINPad(r.pin)),
		kernel.WithJournal(r.journal), kernel.WithCounter(r.journal), kernel.WithDataKey(r.dataKey),
		kernel.WithTornLog(&kernel.MemoryTornLog{}))
	require.NoError(t, err)
}

// restart is a terminal crash and power-up: the link is abandoned (no
// Close, no word to the acquirer), its state file released as the dead
// process's would be, and both are opened again from disk.
func (r *rig) restart() {
	require.NoError(r.t, r.state.Close())
	r.open(2 * time.Second)
}

// account is the issuer's back-office balance.
func (r *rig) account() kernel.Amount {
	a, ok := r.host.Account(r.pan)
	require.True(r.t, ok)
	return a.Balance
}

// ecBalance is the EC balance the card holds (from the simulator itself).
func (r *rig) ecBalance() kernel.Amount {
	return kernel.Amount(r.card.Balance(r.profile.Applications[0].AID))
}

func (r *rig) purchase(amount kernel.Amount) *kernel.Result {
	r.t.Helper()
	res, err := r.kernel.Purchase(context.Background(), r.card, amount)
	require.NoError(r.t, err)
	return res
}

// captureSale runs a purchase of 350.00 (online, with PIN) on the
// simulated card and keeps the request the kernel sent: its ARQC is real.
// A sale captured with an offline EC approval is journaled too.
func captureSale(t testing.TB, j journal.Journal) crashRequest {
	t.Helper()
	card, err := cardsim.New(cardsim.DefaultProfile())
	require.NoError(t, err)
	cfg := kernel.DefaultConfig()
	cfg.CAPK = capk.Builtin()
	cfg.CAPK.Merge(capk.TestKeys())
	var got kernel.AuthRequest
	host := kernel.HostFunc(func(_ context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
		got = *req
		got.Field55 = append([]byte(nil), req.Field55...)
		return nil, errors.New("captured")
	})
	pad := kernel.PINPadFunc(func(context.Context, string, kernel.Amount) ([]byte, error) { return make([]byte, 8), nil })
	opts := []kernel.Option{kernel.WithHost(host), kernel.WithPINPad(pad)}
	if j != nil {
		key, err := journal.NewAESGCMKey(testDataKey)
		require.NoError(t, err)
		opts = append(opts, kernel.WithJournal(j), kernel.WithCounter(j.(journal.Counter)), kernel.WithDataKey(key))
	}
	k, err := kernel.New(cfg, opts...)
	require.NoError(t, err)
	_, err = k.Purchase(context.Background(), card, 35000)
	require.NoError(t, err)
	require.NotEmpty(t, got.Field55)
	got.STAN, got.Batch = 0, 0 // a child numbers it from its own journal
	if j != nil {
		res, err := k.Purchase(context.Background(), card, 1234) // an offline EC sale, journaled
		require.NoError(t, err)
		require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
	}
	return crashRequest{Req: got, PIN: cardholderPIN}
}
