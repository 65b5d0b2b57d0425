// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/internal/cputime"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// BenchmarkSaleRoundTrip is one sale through the loopback link per
// iteration: Authorize packs the 0200 and MACs it (CUP ECB under the MAK),
// TCP to the simulator, which checks the MAC, translates the PIN block,
// has hostsim verify the ARQC, and answers with a MAC'd 0210 that the link
// checks. The same captured request is sent each time (the issuer answers
// a repeat from its memory after verifying the ARQC, so no account runs
// dry). "durable" keeps the link's state in a file (an fsync for each of
// the arming, the reply and the settling of the previous sale);
// "volatile" in memory, which measures the wire alone. cpu-sec/op is the
// process's CPU per sale: the terminal's, the acquirer's and the issuer's.
func BenchmarkSaleRoundTrip(b *testing.B) {
	req := captureSale(b, nil)
	for _, mode := range []string{"volatile", "durable"} {
		b.Run(mode, func(b *testing.B) {
			link, module := benchLink(b, mode == "durable")
			r := req.Req
			var err error
			r.PINBlock, err = module.PINPad(req.PIN).OnlinePIN(context.Background(), r.PAN, r.Amount)
			require.NoError(b, err)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Process()
			for i := 0; i < b.N; i++ {
				resp, err := link.Authorize(ctx, &r)
				if err != nil || resp.ResponseCode != "00" {
					b.Fatalf("sale %d: %v %v", i, resp, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sales/s")
			if cpu := cputime.Process() - cpu0; cpu > 0 {
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-sec/op")
			}
		})
	}
}

// benchLink is a signed-in link to a fresh simulator and issuer.
func benchLink(b *testing.B, durable bool) (*acquirer.Link, *acquirer.SoftModule) {
	b.Helper()
	p := cardsim.DefaultProfile()
	host := hostsim.New()
	acct, err := hostsim.AccountFromProfile(p.Applications[0], kernel.MaxAmount, cardholderPIN)
	require.NoError(b, err)
	require.NoError(b, host.AddAccount(acct))
	sim, err := acquirersim.New(acquirersim.Config{Host: host, TMK: testTMK})
	require.NoError(b, err)
	require.NoError(b, sim.Start("127.0.0.1:0"))
	b.Cleanup(sim.Close)
	module, err := acquirer.NewSoftModule(testTMK)
	require.NoError(b, err)
	key, err := journal.NewAESGCMKey(testDataKey)
	require.NoError(b, err)
	state := acquirer.NewVolatileState(key)
	if durable {
		state, err = acquirer.OpenState(context.Background(), filepath.Join(b.TempDir(), "state"), key)
		require.NoError(b, err)
	}
	b.Cleanup(func() { state.Close() })
	cfg := acquirer.Config{Addr: sim.Addr(), TerminalID: terminalID, MerchantID: merchantID, Timeout: 5 * time.Second}
	link, err := acquirer.Open(context.Background(), cfg, module, state)
	require.NoError(b, err)
	b.Cleanup(func() { link.Close() })
	require.NoError(b, link.SignIn(context.Background()))
	return link, module
}
