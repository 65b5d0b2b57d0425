// SPDX-License-Identifier: Apache-2.0

package params

import (
	"strconv"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/tlv"
)

// Bounds of what the readers accept.
const (
	// MaxRecordLen bounds one record (a 248-byte CA key record is 300).
	MaxRecordLen = 2048
	// MaxRecords bounds the records of one file.
	MaxRecords = 512
	// MaxFileLen bounds a parameter file.
	MaxFileLen = 1 << 20
)

// length is the value lengths a tag may have.
type length struct{ min, max int }

// fields parses one record into its values by tag: well-formed TLV, no
// template, no tag twice, each value's length one its tag allows, unknown
// tags refused (or skipped with f.AllowUnknown). number is the record's
// position, for f.Skipped.
func fields(rec []byte, lengths map[tlv.Tag]length, f *Format, kind string, number int) (map[tlv.Tag][]byte, error) {
	if len(rec) > MaxRecordLen {
		return nil, tagErr(0, ErrTooLarge, "%d bytes, more than %d", len(rec), MaxRecordLen)
	}
	objs, err := tlv.Parse(rec)
	if err != nil {
		return nil, tagErr(0, ErrFormat, "%w", err)
	}
	if len(objs) == 0 {
		return nil, tagErr(0, ErrFormat, "empty record")
	}
	out := make(map[tlv.Tag][]byte, len(objs))
	for _, o := range objs {
		l, known := lengths[o.Tag]
		switch _, dup := out[o.Tag]; {
		case o.Tag.Constructed():
			return nil, tagErr(o.Tag, ErrFormat, "a template; parameter records are flat")
		case !known && f.AllowUnknown:
			f.skipped(kind, number, o.Tag)
			continue
		case !known:
			return nil, tagErr(o.Tag, ErrUnknownTag, "not one this terminal knows in %s records", kind)
		case dup:
			return nil, tagErr(o.Tag, ErrDuplicate, "twice in the record")
		case len(o.Value) < l.min || len(o.Value) > l.max:
			return nil, tagErr(o.Tag, ErrFormat, "%d bytes, want %s", len(o.Value), l)
		}
		out[o.Tag] = o.Value
	}
	return out, nil
}

func (l length) String() string {
	if l.min == l.max {
		return strconv.Itoa(l.min)
	}
	return strconv.Itoa(l.min) + " to " + strconv.Itoa(l.max)
}

// require returns the error for the first of tags missing from v.
func require(v map[tlv.Tag][]byte, tags ...tlv.Tag) error {
	for _, t := range tags {
		if _, ok := v[t]; !ok {
			return tagErr(t, ErrMissing, "absent")
		}
	}
	return nil
}

// n12 reads an n12 amount (6 BCD bytes).
func n12(v map[tlv.Tag][]byte, tag tlv.Tag) (uint64, bool, error) {
	b, ok := v[tag]
	if !ok {
		return 0, false, nil
	}
	n, err := bcd.Decode(b)
	if err != nil {
		return 0, true, tagErr(tag, ErrFormat, "%w", err)
	}
	return n, true, nil
}

// binary4 reads a b4 amount (big-endian).
func binary4(v map[tlv.Tag][]byte, tag tlv.Tag) uint64 {
	b := v[tag]
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

// percent reads an n2 percentage (one BCD byte, 0-99).
func percent(v map[tlv.Tag][]byte, tag tlv.Tag) (int, error) {
	b, ok := v[tag]
	if !ok {
		return 0, nil
	}
	n, err := bcd.Decode(b)
	if err != nil {
		return 0, tagErr(tag, ErrFormat, "%w", err)
	}
	return int(n), nil
}
