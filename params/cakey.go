// SPDX-License-Identifier: Apache-2.0

package params

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/tlv"
)

// KindCAKey names CA public key records in errors.
const KindCAKey = "CA key"

// caKeyLengths are the tags of a CA public key record and the lengths
// their values may have.
var caKeyLengths = map[tlv.Tag]length{
	0x9F06: {5, 5}, 0x9F22: {1, 1}, 0xDF05: {3, 8}, 0xDF06: {1, 1}, 0xDF07: {1, 1},
	0xDF02: {1, capk.MaxRSAModulusLen}, 0xDF04: {0, 3}, 0xDF03: {20, 20},
}

// ParseCAKey reads one CA public key record (the package documentation
// lists its tags) into a capk.Key and validates it as capk.Store.Add
// would: a DF03 that is not the key's checksum is ErrChecksum (and
// capk.ErrChecksum). Errors are *RecordError values naming the tag.
func ParseCAKey(rec []byte, f Format) (capk.Key, error) {
	k, err := parseCAKey(rec, &f, 0)
	return k, numbered(err, KindCAKey, 0)
}

func parseCAKey(rec []byte, f *Format, number int) (capk.Key, error) {
	v, err := fields(rec, caKeyLengths, f, KindCAKey, number)
	if err != nil {
		return capk.Key{}, err
	}
	if err := require(v, 0x9F06, 0x9F22, 0xDF06, 0xDF07, 0xDF02, 0xDF03); err != nil {
		return capk.Key{}, err
	}
	var k capk.Key
	copy(k.RID[:], v[0x9F06])
	k.Index, k.HashAlg, k.Algorithm = v[0x9F22][0], v[0xDF06][0], v[0xDF07][0]
	k.Modulus, k.Exponent, k.Checksum = clone(v[0xDF02]), clone(v[0xDF04]), clone(v[0xDF03])
	if len(k.Exponent) == 0 {
		k.Exponent = nil
	}
	if d, ok := v[0xDF05]; ok {
		if k.Expiry, err = parseExpiry(d); err != nil {
			return k, tagErr(0xDF05, ErrFormat, "%w", err)
		}
	}
	return k, validateKey(&k, v)
}

// validateKey checks the key as capk does, naming the tag at fault.
func validateKey(k *capk.Key, v map[tlv.Tag][]byte) error {
	switch k.Algorithm {
	case capk.AlgRSA:
		if !bytes.Equal(k.Exponent, []byte{3}) && !bytes.Equal(k.Exponent, []byte{1, 0, 1}) {
			return tagErr(0xDF04, ErrInvalid, "RSA exponent %X, want 03 or 010001", k.Exponent)
		}
	case capk.AlgSM2:
		if len(k.Exponent) != 0 {
			return tagErr(0xDF04, ErrInvalid, "an SM2 key has no exponent")
		}
	default:
		return tagErr(0xDF07, ErrInvalid, "algorithm %02X, want 01 (RSA) or 04 (SM2)", k.Algorithm)
	}
	if k.HashAlg != capk.HashSHA1 && k.HashAlg != capk.HashSM3 {
		return tagErr(0xDF06, ErrInvalid, "hash %02X, want 01 (SHA-1) or 07 (SM3)", k.HashAlg)
	}
	err := k.Validate()
	switch {
	case errors.Is(err, capk.ErrChecksum):
		return &RecordError{Tag: 0xDF03, Err: &checksumError{fmt.Sprintf("%X is not SHA-1(RID ‖ index ‖ DF02 ‖ DF04) %X", v[0xDF03], k.ComputeChecksum())}}
	case err != nil:
		return tagErr(0xDF02, ErrInvalid, "%w", err)
	}
	return nil
}

// parseExpiry reads DF05: 8 ASCII digits YYYYMMDD, 4 BCD bytes YYYYMMDD
// or 3 BCD bytes YYMMDD (20YY). The date must exist, in years 0001-9999.
func parseExpiry(d []byte) (time.Time, error) {
	var digits string
	switch len(d) {
	case 8:
		digits = string(d)
	case 3, 4:
		n, err := bcd.Decode(d)
		if err != nil {
			return time.Time{}, err
		}
		digits = fmt.Sprintf("%0*d", 2*len(d), n)
		if len(d) == 3 {
			digits = "20" + digits
		}
	default:
		return time.Time{}, fmt.Errorf("%d bytes, want 8 ASCII digits or 3-4 BCD bytes", len(d))
	}
	t, err := time.Parse("20060102", digits)
	if err != nil || t.Format("20060102") != digits || t.Year() < 1 {
		// Year 0000 parses but is no date (and the writer could not
		// write it back).
		return time.Time{}, fmt.Errorf("%q is not a date YYYYMMDD", digits)
	}
	return t, nil
}

// AppendCAKey appends the CA public key record of k to dst (9F06 9F22
// DF05 DF06 DF07 DF02 DF04 DF03, as the UnionPay sample). A key without
// expiry has no DF05; an SM2 key has no DF04. The key must be valid (its
// checksum right): a file the writer produced always loads.
func AppendCAKey(dst []byte, k capk.Key, f Format) ([]byte, error) {
	if err := validateKey(&k, map[tlv.Tag][]byte{0xDF03: k.Checksum}); err != nil {
		return dst, numbered(err, KindCAKey, 0)
	}
	dst = tlv.Append(dst, 0x9F06, k.RID[:])
	dst = tlv.Append(dst, 0x9F22, []byte{k.Index})
	if !k.Expiry.IsZero() {
		y, m, d := k.Expiry.Date()
		if y < 1 || y > 9999 {
			return dst, numbered(tagErr(0xDF05, ErrInvalid, "expiry year %d", y), KindCAKey, 0)
		}
		if f.Expiry == ExpiryBCD {
			b, _ := bcd.Encode(make([]byte, 0, 4), uint64(y*10000+int(m)*100+d), 4)
			dst = tlv.Append(dst, 0xDF05, b)
		} else {
			dst = tlv.Append(dst, 0xDF05, fmt.Appendf(nil, "%04d%02d%02d", y, m, d))
		}
	}
	dst = tlv.Append(dst, 0xDF06, []byte{k.HashAlg})
	dst = tlv.Append(dst, 0xDF07, []byte{k.Algorithm})
	dst = tlv.Append(dst, 0xDF02, k.Modulus)
	if len(k.Exponent) > 0 {
		dst = tlv.Append(dst, 0xDF04, k.Exponent)
	}
	return tlv.Append(dst, 0xDF03, k.Checksum), nil
}
