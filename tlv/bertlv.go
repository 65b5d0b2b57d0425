// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"fmt"

	"github.com/moov-io/bertlv"
)

// ToBERTLV converts objects to moov-io bertlv values. A constructed object's
// value is decoded into TLVs (with Value nil, as bertlv.Decode does); a
// primitive object's Value is shared, not copied. Decoding errors are *Error
// values whose offsets are relative to the value of the top-level object
// being converted.
func ToBERTLV(objs []TLV) ([]bertlv.TLV, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	out := make([]bertlv.TLV, len(objs))
	for i, o := range objs {
		out[i].Tag = o.Tag.String()
		if !o.Tag.Constructed() {
			out[i].Value = o.Value
			continue
		}
		kids, err := decodeBER(o.Value, 0, len(o.Value), 1)
		if err != nil {
			return nil, fmt.Errorf("tlv: converting %s: %w", o.Tag, err)
		}
		out[i].TLVs = kids
	}
	return out, nil
}

// DecodeBERTLV decodes b into moov-io bertlv values: the same result as
// bertlv.Decode for well-formed EMV data, but with this package's strict
// rules (lengths of at most 3 bytes, bounded nesting, 00 and FF padding) and
// an *Error instead of a panic on hostile input such as a length field of
// 8 bytes. Primitive values alias b.
func DecodeBERTLV(b []byte) ([]bertlv.TLV, error) {
	return decodeBER(b, 0, len(b), 0)
}

func decodeBER(b []byte, lo, hi, depth int) ([]bertlv.TLV, error) {
	n := 0
	for i := skipPad(b, lo, hi); i < hi; i = skipPad(b, i, hi) {
		if depth >= MaxDepth {
			return nil, errAt(i, ErrTooDeep)
		}
		_, _, ve, err := header(b, i, hi)
		if err != nil {
			return nil, err
		}
		n++
		i = ve
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]bertlv.TLV, 0, n)
	for i := skipPad(b, lo, hi); i < hi; i = skipPad(b, i, hi) {
		t, vs, ve, _ := header(b, i, hi) // validated above
		o := bertlv.TLV{Tag: t.String()}
		if t.Constructed() {
			kids, err := decodeBER(b, vs, ve, depth+1)
			if err != nil {
				return nil, err
			}
			o.TLVs = kids
		} else {
			o.Value = b[vs:ve:ve]
		}
		out = append(out, o)
		i = ve
	}
	return out, nil
}

// FromBERTLV converts moov-io bertlv values to objects. Tags must be valid
// hexadecimal BER tags of 1 to 4 bytes (ErrInvalidTag, ErrTagTooLong); an
// element with TLVs must have a constructed tag (ErrNotConstructed) and gets
// the encoding of its children as Value (its own Value is then ignored, as
// bertlv.Encode does); nesting deeper than MaxDepth is ErrTooDeep. Primitive
// values are shared, not copied.
func FromBERTLV(in []bertlv.TLV) ([]TLV, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]TLV, len(in))
	for i, x := range in {
		t, v, err := fromBER(x, 0)
		if err != nil {
			return nil, fmt.Errorf("tlv: bertlv element %d: %w", i, err)
		}
		out[i] = TLV{Tag: t, Value: v}
	}
	return out, nil
}

// fromBER returns the tag and the value of x at nesting depth depth.
func fromBER(x bertlv.TLV, depth int) (Tag, []byte, error) {
	if depth >= MaxDepth {
		return 0, nil, ErrTooDeep
	}
	t, err := ParseTag(x.Tag)
	if err != nil {
		return 0, nil, err
	}
	if len(x.TLVs) == 0 {
		return t, x.Value, nil
	}
	if !t.Constructed() {
		return 0, nil, fmt.Errorf("tag %s: %w", t, ErrNotConstructed)
	}
	var v []byte
	for _, c := range x.TLVs {
		ct, cv, err := fromBER(c, depth+1)
		if err != nil {
			return 0, nil, err
		}
		v = Append(v, ct, cv)
	}
	return t, v, nil
}
