// SPDX-License-Identifier: Apache-2.0

package params

import (
	"fmt"

	"github.com/go-pboc/pboc/tlv"
)

// Format says how the records are read and written where sources
// disagree. The zero value is the reading of the UnionPay POS programs the
// project's notes cite.
type Format struct {
	// ASI is how DF01, the application selection indicator, is read and
	// written.
	ASI ASIReading
	// VersionTag is the tag the writer gives the application version:
	// 0x9F08 (0, the default: what the CUP samples carry) or 0x9F09 (the
	// EMV terminal tag, which the spec text names). Both are read.
	VersionTag tlv.Tag
	// Expiry is how the writer encodes DF05. All three forms are read.
	Expiry ExpiryEncoding
	// AllowUnknown skips tags this package does not know instead of
	// refusing the record; Skipped, if set, is told of each.
	AllowUnknown bool
	// Skipped is called for every unknown tag skipped (record is 1-based;
	// 0 for a record read on its own).
	Skipped func(kind string, record int, tag tlv.Tag)
}

// ASIReading is a reading of DF01.
type ASIReading int

// The two readings of DF01 found in the sources (ACQUIRER-NOTES §7).
const (
	// ASIZeroExact: 00 exact match, 01 partial match. The default: a
	// UnionPay POS program maps it so (LiaoYang_POS posmacro.h: FULL_MATCH
	// 0x00, PART_MATCH 0x01; tranproc.c: DF01 == 0 → FULL_MATCH), and a
	// vendor's AID list agrees (a truncated AID carries 01, full AIDs 00).
	ASIZeroExact ASIReading = iota
	// ASIZeroPartial: 00 partial match, 01 exact, as some terminal SDK
	// headers define their selection flag.
	ASIZeroPartial
)

// String names the reading.
func (a ASIReading) String() string {
	if a == ASIZeroPartial {
		return "00-partial"
	}
	return "00-exact"
}

// partial reads DF01.
func (a ASIReading) partial(v byte) (bool, error) {
	if v > 1 {
		return false, fmt.Errorf("%w: %02X, want 00 or 01", ErrFormat, v)
	}
	return (v == 1) != (a == ASIZeroPartial), nil
}

// byteFor writes DF01.
func (a ASIReading) byteFor(partial bool) byte {
	if partial != (a == ASIZeroPartial) {
		return 1
	}
	return 0
}

// ExpiryEncoding is a form of DF05.
type ExpiryEncoding int

// The forms of DF05.
const (
	// ExpiryASCII is eight ASCII digits YYYYMMDD, as CUP hosts send it.
	ExpiryASCII ExpiryEncoding = iota
	// ExpiryBCD is four BCD bytes YYYYMMDD, which some terminals also
	// accept (LiaoYang_POS tranproc.c).
	ExpiryBCD
)

func (f *Format) skipped(kind string, record int, tag tlv.Tag) {
	if f.Skipped != nil {
		f.Skipped(kind, record, tag)
	}
}

func (f *Format) versionTag() tlv.Tag {
	if f.VersionTag == 0x9F09 {
		return 0x9F09
	}
	return 0x9F08
}
