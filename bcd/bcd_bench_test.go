// SPDX-License-Identifier: Apache-2.0

package bcd_test

import (
	"testing"

	"github.com/go-pboc/pboc/bcd"
)

// Encode, Decode and ParseAmount are benchmarked in bcd_test.go.

func BenchmarkFormatAmount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = bcd.FormatAmount(123456)
	}
}
