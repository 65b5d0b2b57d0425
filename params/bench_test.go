// SPDX-License-Identifier: Apache-2.0

package params_test

import (
	"encoding/hex"
	"testing"

	"github.com/go-pboc/pboc/params"
)

// BenchmarkParseAID reads the sample AID parameter record.
func BenchmarkParseAID(b *testing.B) {
	rec, _ := hex.DecodeString(sampleAID)
	b.ReportAllocs()
	for range b.N {
		if _, err := params.ParseAID(rec, params.Format{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCAKey reads the sample CA key record, its SHA-1 checksum
// verified.
func BenchmarkParseCAKey(b *testing.B) {
	rec, _ := hex.DecodeString(sampleCAKey)
	b.ReportAllocs()
	for range b.N {
		if _, err := params.ParseCAKey(rec, params.Format{}); err != nil {
			b.Fatal(err)
		}
	}
}
