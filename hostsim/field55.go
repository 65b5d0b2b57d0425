// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/tlv"
)

// ErrField55 reports a field 55 the host cannot use; Authorize answers it
// with CodeFormatError and puts the reason in the ledger note.
var ErrField55 = errors.New("hostsim: malformed field 55")

// required lists the field 55 tags the host needs and their lengths; a
// negative length is a minimum.
var required = [...]struct {
	tag tlv.Tag
	n   int
}{
	{0x9F26, 8}, {0x9F27, 1}, {0x9F10, -8}, {0x9F36, 2}, {0x9F37, 4},
	{0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5}, {0x5F2A, 2},
	{0x9A, 3}, {0x9C, 1}, {0x82, 2},
}

// field55 is the part of field 55 the host uses. Values alias the request.
type field55 struct {
	tags    map[uint32][]byte
	arqc    []byte
	atc     uint16
	alg     keys.Alg
	amount  uint64
	txnType byte
}

// value returns the value of tag, or nil; it is the keys.ACData source.
func (f *field55) value(tag uint32) []byte { return f.tags[tag] }

// parseField55 reads field 55: top-level BER-TLV, each tag at most once, the
// required tags present with their lengths, the CID an ARQC, 9F02 BCD and
// the 9F10 algorithm byte TDES or SM4. Errors wrap ErrField55.
func parseField55(b []byte) (*field55, error) { return parseCryptogramData(b, false) }

// parseCryptogramData is parseField55 for a cryptogram of any type (TC,
// ARQC or AAC) when anyCryptogram is set: the card's evidence.
func parseCryptogramData(b []byte, anyCryptogram bool) (*field55, error) {
	objs, err := tlv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrField55, err)
	}
	f := &field55{tags: make(map[uint32][]byte, len(objs))}
	for _, o := range objs {
		if _, dup := f.tags[uint32(o.Tag)]; dup {
			return nil, fmt.Errorf("%w: tag %v appears twice", ErrField55, o.Tag)
		}
		f.tags[uint32(o.Tag)] = o.Value
	}
	for _, r := range required {
		v, ok := f.tags[uint32(r.tag)]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: tag %v missing", ErrField55, r.tag)
		case r.n >= 0 && len(v) != r.n, r.n < 0 && len(v) < -r.n:
			return nil, fmt.Errorf("%w: tag %v is %d bytes", ErrField55, r.tag, len(v))
		}
	}
	if cid := f.tags[0x9F27][0]; cid&0xC0 != 0x80 && !anyCryptogram {
		return nil, fmt.Errorf("%w: 9F27 %02X is not an ARQC", ErrField55, cid)
	}
	f.alg = keys.Alg(f.tags[0x9F10][7])
	if f.alg != keys.TDES && f.alg != keys.SM4 {
		return nil, fmt.Errorf("%w: 9F10 algorithm %v", ErrField55, f.alg)
	}
	if f.amount, err = bcd.Decode(f.tags[0x9F02]); err != nil {
		return nil, fmt.Errorf("%w: 9F02: %w", ErrField55, err)
	}
	f.arqc = f.tags[0x9F26]
	atc := f.tags[0x9F36]
	f.atc = uint16(atc[0])<<8 | uint16(atc[1])
	f.txnType = f.tags[0x9C][0]
	return f, nil
}
