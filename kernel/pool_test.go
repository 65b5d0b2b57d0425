// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// flow runs one transaction (or a sequence) against fresh simulated cards
// with a kernel built from cfg, and returns what the caller keeps.
type flow func(t *testing.T, cfg kernel.Config) any

// kernelFrom is a deterministic kernel built from cfg: fixed UN and PAN
// hash key, so that two kernels from one cfg produce the same results.
func kernelFrom(t testing.TB, cfg kernel.Config, opts ...kernel.Option) *kernel.Kernel {
	t.Helper()
	cfg.PANHashKey = []byte("pool test PAN hash key")
	k, err := kernel.New(cfg, append([]kernel.Option{kernel.WithRandom(fixedRandom{})}, opts...)...)
	require.NoError(t, err)
	return k
}

func bankKernel(t *testing.T, cfg kernel.Config, b *bank) *kernel.Kernel {
	return kernelFrom(t, cfg, kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
}

// keptFlows cover every way bytes reach the caller: the Result of each
// transaction kind (AID, cryptogram, IAD, UN, CTQ, scripts, settlements),
// Balance and the transaction log.
var keptFlows = map[string]flow{
	"offline DDA": func(t *testing.T, cfg kernel.Config) any {
		res, _ := kernelFrom(t, cfg).Purchase(context.Background(), loadCard(t, "default.json"), 1234)
		return res
	},
	"offline CDA": func(t *testing.T, cfg kernel.Config) any {
		res, _ := kernelFrom(t, cfg).Purchase(context.Background(), loadCard(t, "cda.json"), 1234)
		return res
	},
	"offline SDA": func(t *testing.T, cfg kernel.Config) any {
		res, _ := kernelFrom(t, cfg).Purchase(context.Background(), loadCard(t, "sda.json"), 1234)
		return res
	},
	"offline SM2 CDA": func(t *testing.T, cfg kernel.Config) any {
		res, _ := kernelFrom(t, cfg).Purchase(context.Background(), loadCard(t, "sm2-cda.json"), 1234)
		return res
	},
	"automatic top-up": func(t *testing.T, cfg kernel.Config) any {
		b := newBank(t, "low-balance.json", 200000)
		res, _ := bankKernel(t, cfg, b).Purchase(context.Background(), b.card, 450)
		return res
	},
	"designated load": func(t *testing.T, cfg kernel.Config) any {
		b := newBank(t, "default.json", 200000)
		res, _ := bankKernel(t, cfg, b).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 12345})
		return res
	},
	"non-designated load": func(t *testing.T, cfg kernel.Config) any {
		b := newBank(t, "default.json", 200000)
		res, _ := bankKernel(t, cfg, b).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadNonDesignated, Amount: 12345})
		return res
	},
	"cash load": func(t *testing.T, cfg kernel.Config) any {
		b := newBank(t, "default.json", 200000)
		res, _ := bankKernel(t, cfg, b).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 12345})
		return res
	},
	"contactless offline": func(t *testing.T, cfg kernel.Config) any {
		_, cl := tapCard(t, "default.json")
		res, _ := kernelFrom(t, cfg).PurchaseContactless(context.Background(), cl, 1234)
		return res
	},
	"contactless online": func(t *testing.T, cfg kernel.Config) any {
		b := newBank(t, "default.json", 200000)
		res, _ := bankKernel(t, cfg, b).PurchaseContactless(context.Background(), cardsim.NewContactless(b.card), 60000)
		return res
	},
	"contactless torn tap settled": func(t *testing.T, cfg kernel.Config) any {
		card := loadCard(t, "default.json")
		// The 5th command is GPO, where the card deducts: the answer is lost.
		faulty := cardsim.NewFaulty(cardsim.NewContactless(card), cardsim.Fault{At: 4, Kind: cardsim.FaultTorn})
		k := kernelFrom(t, cfg, kernel.WithTornLog(&kernel.MemoryTornLog{}))
		first, _ := k.PurchaseContactless(context.Background(), faulty, 1234)
		require.True(t, first.Torn, first.Detail)
		faulty.Reinsert()
		second, _ := k.PurchaseContactless(context.Background(), faulty, 1234)
		require.Equal(t, kernel.ReasonTornRecovered, second.Reason, second.Detail)
		return []*kernel.Result{first, second}
	},
	"balance": func(t *testing.T, cfg kernel.Config) any {
		bal, _ := kernelFrom(t, cfg).ReadBalance(context.Background(), loadCard(t, "default.json"))
		return bal
	},
	"transaction log": func(t *testing.T, cfg kernel.Config) any {
		k, card := kernelFrom(t, cfg), loadCard(t, "default.json")
		for _, a := range []kernel.Amount{111, 222} {
			_, err := k.Purchase(context.Background(), card, a)
			require.NoError(t, err)
		}
		log, _ := k.ReadTransactionLog(context.Background(), card)
		return log
	},
	"torn sale settled": func(t *testing.T, cfg kernel.Config) any {
		card := loadCard(t, "default.json")
		// The 16th command is GENERATE AC: the card deducts, the answer is lost.
		faulty := cardsim.NewFaulty(card, cardsim.Fault{At: genACIndex, Kind: cardsim.FaultTorn})
		k := kernelFrom(t, cfg, kernel.WithTornLog(&kernel.MemoryTornLog{}))
		first, _ := k.Purchase(context.Background(), faulty, 1234)
		require.True(t, first.Torn, first.Detail)
		faulty.Reinsert()
		second, _ := k.Purchase(context.Background(), faulty, 100)
		require.Len(t, second.Settled, 1, second.Detail)
		return []*kernel.Result{first, second}
	},
}

// snapshot is everything the caller can see of v, as text.
func snapshot(t *testing.T, v any) string {
	t.Helper()
	if res, ok := v.(*kernel.Result); ok {
		c := *res
		c.Trace, c.KernelTime = nil, 0
		b, err := json.Marshal(c)
		require.NoError(t, err)
		return fmt.Sprintf("%s ODAErr=%v", b, res.ODAErr)
	}
	if rs, ok := v.([]*kernel.Result); ok {
		s := ""
		for _, r := range rs {
			s += snapshot(t, r) + "\n"
		}
		return s
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestKeptDataOutlivesTheTransaction: without a trace, a transaction's
// arena is zeroed and reused by the next transaction, so nothing the
// caller keeps may point into it. Each flow runs twice on identical cards:
// with Config.Trace (whose arena goes with the Result and is never
// reused) and without; after further transactions have reused the arena,
// what the caller kept must be identical.
func TestKeptDataOutlivesTheTransaction(t *testing.T) {
	for name, run := range keptFlows {
		t.Run(name, func(t *testing.T) {
			traced := testConfig()
			traced.Trace = true
			want := snapshot(t, run(t, traced))

			plain := testConfig()
			got := run(t, plain)
			// Other transactions take the pooled arenas and overwrite them.
			for range 4 {
				_, err := kernelFrom(t, plain).Purchase(context.Background(), loadCard(t, "two-apps.json"), 4321)
				require.NoError(t, err)
			}
			assert.Equal(t, want, snapshot(t, got))
		})
	}
}

// TestSelectorMayKeepCandidates: a Selector may keep the candidates it was
// offered (a terminal UI does); their AIDs stay valid after the
// transaction.
func TestSelectorMayKeepCandidates(t *testing.T) {
	var offered []kernel.Candidate
	choose := kernel.SelectorFunc(func(_ context.Context, c []kernel.Candidate) (int, error) {
		offered = c
		return 0, nil
	})
	_, err := newKernel(t, kernel.WithSelector(choose)).Purchase(context.Background(), loadCard(t, "two-apps.json"), 100)
	require.NoError(t, err)
	for range 4 {
		_, err := newKernel(t).Purchase(context.Background(), loadCard(t, "default.json"), 4321)
		require.NoError(t, err)
	}
	require.Len(t, offered, 2)
	assert.Equal(t, "A000000333010101", upperHex(offered[0].AID))
	assert.Equal(t, "A000000333010102", upperHex(offered[1].AID))
}
