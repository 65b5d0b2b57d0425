// SPDX-License-Identifier: Apache-2.0

package apdu_test

import (
	"testing"

	"github.com/go-pboc/pboc/apdu"
)

// The benchmarks of Exchange, ParseCommand and AppendTo are in
// exchange_test.go; these cover the rest of a kernel's per-APDU work.

var cdol1Data = []byte{
	0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x56, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x56, 0x26, 0x11, 0x30, 0x00, 0xA5, 0xB6, 0xC7, 0xD8, 0x10, 0x30, 0x00,
}

// BenchmarkCommandBytes is the encoding Exchange sends (one allocation, the
// command the transport receives).
func BenchmarkCommandBytes(b *testing.B) {
	c := apdu.GenerateAC(apdu.ACTypeTC, cdol1Data)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Bytes()
	}
}

func BenchmarkParseResponse(b *testing.B) {
	raw := make([]byte, 258)
	raw[256], raw[257] = 0x90, 0x00
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apdu.ParseResponse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSWString(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = apdu.SW(0x6A83).String()
	}
}
