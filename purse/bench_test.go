// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/purse"
)

// The kernel's cost of a purse purchase and of a fuel sale, the card and
// the PSAM excluded: both are replayed from a recording of a real run (the
// clock is fixed and the card's and PSAM's randoms deterministic, so every
// run sends the same commands), so the terminal does all its work —
// selection, parsing, the record writes, the checks — while the card and
// PSAM cost a slice lookup. Besides ns/op (which includes the fsync of each
// record write) it reports kernel-ns/op, Result.KernelTime: the time in
// this package with the card, SAM, host and store excluded.

// tape is a recorded conversation, replayed in order.
type tape struct {
	cmds, resps [][]byte
	i           int
	record      apdu.Transport // set while recording
}

func (t *tape) Transmit(ctx context.Context, c []byte) ([]byte, error) {
	if t.record != nil {
		r, err := t.record.Transmit(ctx, c)
		if err == nil {
			t.cmds = append(t.cmds, append([]byte(nil), c...))
			t.resps = append(t.resps, append([]byte(nil), r...))
		}
		return r, err
	}
	if t.i >= len(t.cmds) || !bytes.Equal(c, t.cmds[t.i]) {
		return nil, fmt.Errorf("replay: command %d %X is not the recorded one", t.i, c)
	}
	r := t.resps[t.i]
	t.i++
	return r, nil
}

// benchStores runs the benchmark with the store on the test's disk and,
// where there is one, on tmpfs (/dev/shm), where an fsync costs nothing
// and ns/op is the CPU of the whole operation, store included.
func benchStores(b *testing.B, run func(term *purse.Terminal, card apdu.Transport) (*purse.Result, error)) {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		b.Run("store=tmpfs", func(b *testing.B) {
			dir, err := os.MkdirTemp("/dev/shm", "purse-bench")
			if err != nil {
				b.Skip(err)
			}
			defer os.RemoveAll(dir)
			benchFlow(b, filepath.Join(dir, "purse.log"), run)
		})
	}
	b.Run("store=disk", func(b *testing.B) { benchFlow(b, filepath.Join(b.TempDir(), "purse.log"), run) })
}

func benchFlow(b *testing.B, path string, run func(term *purse.Terminal, card apdu.Transport) (*purse.Result, error)) {
	s := newStation(b, nil)
	s.path = path
	s.reopen()
	card, sam := &tape{record: s.card}, &tape{record: s.psam}
	psamOpen, err := purse.OpenPSAM(context.Background(), sam)
	if err != nil {
		b.Fatal(err)
	}
	term, err := purse.New(s.cfg, purse.WithSAM(psamOpen), purse.WithStore(s.store), purse.WithPINPad(s.pad))
	if err != nil {
		b.Fatal(err)
	}
	opened := len(sam.cmds) // OpenPSAM's commands are not replayed
	if _, err := run(term, card); err != nil {
		b.Fatal(err)
	}
	card.record, sam.record = nil, nil
	b.ReportAllocs()
	b.ResetTimer()
	var kernel int64
	for i := 0; i < b.N; i++ {
		card.i, sam.i = 0, opened
		res, err := run(term, card)
		if err != nil || res.Outcome != purse.OutcomeApproved {
			b.Fatalf("replay %d: %v %+v", i, err, res)
		}
		kernel += int64(res.KernelTime)
	}
	b.ReportMetric(float64(kernel)/float64(b.N), "kernel-ns/op")
}

func BenchmarkPursePurchase(b *testing.B) {
	benchStores(b, func(t *purse.Terminal, c apdu.Transport) (*purse.Result, error) {
		return t.Purchase(context.Background(), c, 1234)
	})
}

func BenchmarkFuelSale(b *testing.B) {
	benchStores(b, func(t *purse.Terminal, c apdu.Transport) (*purse.Result, error) {
		return t.Dispense(context.Background(), c, purse.DispenseRequest{Nozzle: &pump{want: 25000}})
	})
}
