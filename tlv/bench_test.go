// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"testing"

	"github.com/moov-io/bertlv"
)

// BenchmarkDecodeRecord compares full decoding (template and its children) of
// a READ RECORD response.
func BenchmarkDecodeRecord(b *testing.B) {
	rec := testRecord()
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			top, err := ParseSingle(rec)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Parse(top.Value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseAppend", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		dst := make([]TLV, 0, 32)
		for b.Loop() {
			top, err := ParseSingle(rec)
			if err != nil {
				b.Fatal(err)
			}
			if dst, err = ParseAppend(dst[:0], top.Value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Find", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if _, ok, err := Find(rec, 0x9F4A); !ok || err != nil {
				b.Fatal("not found", err)
			}
		}
	})
	b.Run("Walk", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		n := 0
		fn := func(int, TLV) error { n++; return nil }
		for b.Loop() {
			if err := Walk(rec, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeBERTLV", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if _, err := DecodeBERTLV(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bertlv.Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if _, err := bertlv.Decode(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncodeRecord compares encoding the same record from decoded form.
func BenchmarkEncodeRecord(b *testing.B) {
	rec := testRecord()
	top, err := ParseSingle(rec)
	if err != nil {
		b.Fatal(err)
	}
	kids, err := Parse(top.Value)
	if err != nil {
		b.Fatal(err)
	}
	moov, err := bertlv.Decode(rec)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Encode(Constructed(0x70, kids...))
		}
	})
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		inner := make([]byte, 0, 256)
		out := make([]byte, 0, 256)
		for b.Loop() {
			inner = inner[:0]
			for _, k := range kids {
				inner = Append(inner, k.Tag, k.Value)
			}
			out = Append(out[:0], 0x70, inner)
		}
	})
	b.Run("bertlv.Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bertlv.Encode(moov); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDOLBuild(b *testing.B) {
	d, err := ParseDOL(h(pbocCDOL1))
	if err != nil {
		b.Fatal(err)
	}
	src := mapSource{
		0x9F02: h("000000001234"), 0x9F03: h("000000000000"), 0x9F1A: h("0156"),
		0x95: h("0000000000"), 0x5F2A: h("0156"), 0x9A: h("250102"), 0x9C: h("00"),
		0x9F37: h("A1B2C3D4"), 0x9F21: h("235959"), 0x9F4E: []byte("GO-PBOC SHOP"),
	}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = d.Build(buf[:0], src)
	}
}

func BenchmarkParseDOL(b *testing.B) {
	cdol := h(pbocCDOL1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDOL(cdol); err != nil {
			b.Fatal(err)
		}
	}
}
