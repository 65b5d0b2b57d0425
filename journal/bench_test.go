// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend is one durable clearing record: encode, one write, fsync.
func BenchmarkAppend(b *testing.B) {
	j, _ := openTemp(b)
	recs := benchRecords(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := j.Append(context.Background(), recs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend16Pumps is a forecourt controller: 16 goroutines appending
// at once; each Append still has its own fsync.
func BenchmarkAppend16Pumps(b *testing.B) {
	j, _ := openTemp(b)
	recs := benchRecords(b.N + 64)
	var next atomic.Int64
	b.SetParallelism((16 + 1) / 2) // × GOMAXPROCS goroutines; 16 on 2 CPUs
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := j.Append(context.Background(), recs[next.Add(1)-1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendDuplicate is a retried Append of a record already stored:
// validation and encoding only, no I/O.
func BenchmarkAppendDuplicate(b *testing.B) {
	j, _ := openTemp(b)
	r := testRecord(0)
	if err := j.Append(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := j.Append(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScan decodes a 1000-record journal, as Open and Records do.
func BenchmarkScan(b *testing.B) {
	var data []byte
	for _, r := range benchRecords(1000) {
		fr, err := encodeRecord(&r)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, fr...)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		st, _, err := scan(data, "bench", 0)
		if err != nil || len(st.recs) != 1000 {
			b.Fatal(err)
		}
	}
}

// benchRecords returns n records with distinct IDs.
func benchRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = testRecord(i % 1000)
		recs[i].ID = fmt.Sprintf("bench:%d", i)
	}
	return recs
}

// BenchmarkNextSTAN draws STANs from a File: with the default block one
// write and fsync per 100 STANs, with block 1 one per STAN.
func BenchmarkNextSTAN(b *testing.B) {
	for _, block := range []uint32{defaultSTANBlock, 1} {
		b.Run(fmt.Sprintf("block=%d", block), func(b *testing.B) {
			j, err := Open(b.TempDir()+"/journal.dat", WithSTANBlock(block))
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			b.ReportAllocs()
			for range b.N {
				if _, _, err := j.NextSTAN(context.Background()); err != nil {
					b.Fatal(err)
				}
				if j.st.lastCount > maxSTAN-2 { // keep the batch from filling up
					j.st.lastCount, j.st.topCount = 0, 0
				}
			}
		})
	}
}

// BenchmarkMark is one durable upload state change.
func BenchmarkMark(b *testing.B) {
	j, _ := openTemp(b)
	r := testRecord(0)
	if err := j.Append(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := j.Mark(context.Background(), r.ID, UploadEvent{State: UploadSent}); err != nil {
			b.Fatal(err)
		}
	}
}
