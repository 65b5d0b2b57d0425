// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/internal/cputime"
	"github.com/go-pboc/pboc/kernel"
)

// fixedRandom is a deterministic source of "unpredictable" numbers: every
// read gives the same bytes, so every transaction sends the same commands.
// It is stateless and therefore safe for concurrent transactions.
type fixedRandom struct{}

func (fixedRandom) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(0xA5 + 17*i)
	}
	return len(p), nil
}

// recording is a transport that forwards to a card and keeps every
// command/response pair, in order.
type recording struct {
	card  apdu.Transport
	pairs [][2][]byte
}

func (r *recording) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	rsp, err := r.card.Transmit(ctx, cmd)
	if err != nil {
		return nil, err
	}
	r.pairs = append(r.pairs, [2][]byte{bytes.Clone(cmd), bytes.Clone(rsp)})
	return rsp, nil
}

// replay answers each command with the response the real card gave to the
// same command bytes: the card costs a map look-up. The map is keyed by the
// command bytes within the file last selected (a card answers READ RECORD
// 01 0C from the PSE directory and from the application alike, so the
// selected DF is part of the key). A command it has not seen is an error:
// the kernel sent something new.
type replay struct {
	byDF map[string]map[string][]byte // SELECT command → the answers while it is selected
	cur  map[string][]byte
}

func isSelect(cmd []byte) bool { return len(cmd) > 1 && cmd[1] == 0xA4 }

func (r *replay) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	if isSelect(cmd) {
		r.cur = r.byDF[string(cmd)]
	}
	rsp, ok := r.cur[string(cmd)]
	if !ok {
		return nil, fmt.Errorf("replay: command %X was not recorded", cmd)
	}
	return rsp, nil
}

// recordedTxn is a transaction recorded once against cardsim.
type recordedTxn struct {
	pairs  [][2][]byte
	result *kernel.Result
}

// newReplay builds a replay transport from the recording. It fails if the
// same command got two different answers in the same selected file (the
// map could not replay it).
func (rt *recordedTxn) newReplay(tb testing.TB) *replay {
	tb.Helper()
	r := &replay{byDF: make(map[string]map[string][]byte)}
	var cur map[string][]byte
	for _, p := range rt.pairs {
		cmd, rsp := p[0], p[1]
		if isSelect(cmd) {
			if cur = r.byDF[string(cmd)]; cur == nil {
				cur = make(map[string][]byte)
				r.byDF[string(cmd)] = cur
			}
		}
		if cur == nil {
			tb.Fatalf("command %X before any SELECT", cmd)
		}
		if prev, dup := cur[string(cmd)]; dup && !bytes.Equal(prev, rsp) {
			tb.Fatalf("command %X answered twice differently: %X then %X", cmd, prev, rsp)
		}
		cur[string(cmd)] = rsp
	}
	return r
}

// benchKernel is the deterministic kernel: pinned clock, fixed UN, no
// trace (as in production).
func benchKernel(tb testing.TB, opts ...kernel.Option) *kernel.Kernel {
	tb.Helper()
	return kernelFrom(tb, testConfig(), opts...)
}

// recordPurchase runs one contact purchase against a fresh simulated card
// personalised from profile and records its APDUs.
func recordPurchase(tb testing.TB, profile string, amount kernel.Amount, opts ...kernel.Option) *recordedTxn {
	tb.Helper()
	rec := &recording{card: loadCard(tb, profile)}
	res, err := benchKernel(tb, opts...).Purchase(context.Background(), rec, amount)
	if err != nil {
		tb.Fatalf("%s: recording: %v", profile, err)
	}
	return &recordedTxn{pairs: rec.pairs, result: res}
}

// recordTap is recordPurchase for a contactless (qPBOC) tap.
func recordTap(tb testing.TB, profile string, amount kernel.Amount, opts ...kernel.Option) *recordedTxn {
	tb.Helper()
	rec := &recording{card: cardsim.NewContactless(loadCard(tb, profile))}
	res, err := benchKernel(tb, opts...).PurchaseContactless(context.Background(), rec, amount)
	if err != nil {
		tb.Fatalf("%s: recording: %v", profile, err)
	}
	return &recordedTxn{pairs: rec.pairs, result: res}
}

// benchProfiles are the contact EC purchases benchmarked, one per ODA
// method; default.json (DDA, RSA e=3) is the reference.
var benchProfiles = []struct{ name, file string }{
	{"DDA", "default.json"},
	{"SDA", "sda.json"},
	{"CDA", "cda.json"},
	{"SM2-DDA", "sm2-dda.json"},
}

// BenchmarkPurchaseContactEC is the kernel's own cost of a whole contact
// EC purchase (PSE, SELECT, GPO, records, ODA, EC decision, GENERATE AC):
// the card is replayed from a recording of the simulated card, so the
// kernel does all its work (parsing, RSA verification of the real card's
// certificates and signature, DOLs, trace) and the card costs nothing.
func BenchmarkPurchaseContactEC(b *testing.B) {
	ctx := context.Background()
	for _, p := range benchProfiles {
		b.Run(p.name, func(b *testing.B) {
			rt := recordPurchase(b, p.file, 1234)
			if rt.result.Outcome != kernel.OutcomeApprovedOffline {
				b.Fatalf("recorded outcome %s: %s", rt.result.Outcome, rt.result.Detail)
			}
			k := benchKernel(b)
			card := rt.newReplay(b)
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				res, err := k.Purchase(ctx, card, 1234)
				if err != nil || res.Outcome != kernel.OutcomeApprovedOffline {
					b.Fatalf("replay: %v %v", err, res)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkPurchaseContactlessFDDA is BenchmarkPurchaseContactEC for a
// qPBOC tap (PPSE, SELECT, GPO with the card's decision, records, fDDA
// over the recorded signature): the kernel's own cost of a contactless EC
// sale.
func BenchmarkPurchaseContactlessFDDA(b *testing.B) {
	ctx := context.Background()
	for _, p := range []struct{ name, file string }{
		{"RSA", "default.json"},
		{"RSA-fDDA00", "ql-fdda00.json"},
		{"SM2", "sm2-dda.json"},
	} {
		b.Run(p.name, func(b *testing.B) {
			rt := recordTap(b, p.file, 1234)
			if rt.result.Outcome != kernel.OutcomeApprovedOffline || rt.result.ODA != kernel.ODAfDDA {
				b.Fatalf("recorded outcome %s (%s): %s", rt.result.Outcome, rt.result.ODA, rt.result.Detail)
			}
			k := benchKernel(b)
			card := rt.newReplay(b)
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				res, err := k.PurchaseContactless(ctx, card, 1234)
				if err != nil || res.Outcome != kernel.OutcomeApprovedOffline || res.ODAError != "" {
					b.Fatalf("replay: %v %v", err, res)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkPurchaseContactECParallel is one Kernel serving 16 pumps at
// once (a fuel-station controller): 16 goroutines, each with its own
// replay transport, share b.N whole DDA purchases on the one Kernel.
// ns/op is wall time per purchase, so with -cpu 1,2 the ratio shows the
// scaling (2× is linear).
func BenchmarkPurchaseContactECParallel(b *testing.B) {
	const pumps = 16
	ctx := context.Background()
	rt := recordPurchase(b, "default.json", 1234)
	k := benchKernel(b)
	cards := make([]*replay, pumps)
	for i := range cards {
		cards[i] = rt.newReplay(b)
	}
	var (
		next   atomic.Int64
		failed atomic.Pointer[string]
		wg     sync.WaitGroup
	)
	b.ReportAllocs()
	// The set-up (the card's keys, the recording) leaves garbage that the
	// collector would otherwise clear inside the measured section, more
	// of it the shorter the run: start from a clean heap.
	runtime.GC()
	b.ResetTimer()
	cpu := cputime.Process()
	for _, card := range cards {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				res, err := k.Purchase(ctx, card, 1234)
				if err != nil || res.Outcome != kernel.OutcomeApprovedOffline {
					msg := fmt.Sprintf("replay: %v %v", err, res)
					failed.Store(&msg)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	reportCPU(b, cpu)
	if msg := failed.Load(); msg != nil {
		b.Fatal(*msg)
	}
}

// reportCPU adds the process CPU time per operation since start
// (cpu-ns/op): the kernel's own cost, unaffected by other processes that
// share the machine. With parallel goroutines it is the CPU per purchase
// summed over the cores, so it stays flat when scaling is linear.
func reportCPU(b *testing.B, start time.Duration) {
	if start == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
}
