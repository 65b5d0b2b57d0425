// SPDX-License-Identifier: Apache-2.0

package reference

import (
	"crypto/sha256"
	"sync"
	"testing"
)

// BenchmarkComputeParallel hashes 2 KB per operation in every goroutine
// and allocates nothing: the machine's own scaling from one core to two.
func BenchmarkComputeParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 2048)
		for pb.Next() {
			sum := sha256.Sum256(buf)
			buf[0] ^= sum[0]
		}
	})
}

// sink keeps the allocations of BenchmarkAllocParallel from being
// optimised away.
var (
	sinkMu sync.Mutex
	sink   [][]byte
)

// BenchmarkAllocParallel allocates what a contact purchase allocates
// (about 2 KB in 53 objects) and does nothing else: the Go runtime's cost
// of that garbage, and how it scales from one core to two.
func BenchmarkAllocParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		keep := make([][]byte, 53)
		for pb.Next() {
			for i := range keep {
				keep[i] = make([]byte, 24+i%4*8)
			}
		}
		sinkMu.Lock()
		sink = keep[:1]
		sinkMu.Unlock()
	})
}
