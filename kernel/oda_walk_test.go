// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// flipper flips one byte of one data object in the card's answers: tag in
// a READ RECORD template, or the signature of INTERNAL AUTHENTICATE (tag
// 80) or of GENERATE AC (9F4B).
type flipper struct {
	card    apdu.Transport
	ins     byte
	tag     tlv.Tag
	pos     int
	flipped bool
}

func (f *flipper) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	rsp, err := f.card.Transmit(ctx, cmd)
	if err != nil || len(cmd) < 2 || cmd[1] != f.ins || len(rsp) < 2 {
		return rsp, err
	}
	data := rsp[:len(rsp)-2]
	if v := valueOf(data, f.tag); v != nil && f.pos < len(v) {
		off := indexOf(data, v)
		out := bytes.Clone(rsp)
		out[off+f.pos] ^= 0x01
		f.flipped = true
		return out, nil
	}
	return rsp, err
}

func indexOf(b, sub []byte) int {
	// sub aliases b: its offset is the pointer difference.
	for i := range b {
		if len(b[i:]) >= len(sub) && &b[i] == &sub[0] {
			return i
		}
	}
	return -1
}

// valueOf finds a tag's value in a BER-TLV response (aliasing it).
func valueOf(data []byte, tag tlv.Tag) []byte {
	v, ok, err := tlv.Find(data, tag)
	if err != nil || !ok || len(v) == 0 {
		return nil
	}
	return v
}

// lengthOf runs a clean purchase and returns the length of the object.
func lengthOf(t *testing.T, profile string, ins byte, tag tlv.Tag) int {
	t.Helper()
	card := loadCard(t, profile)
	res, err := tracedKernel(t).Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	n := 0
	for _, e := range res.Trace {
		if len(e.Command) > 1 && e.Command[1] == ins && len(e.Response) > 2 {
			if v := valueOf(e.Response[:len(e.Response)-2], tag); v != nil {
				n = len(v)
			}
		}
	}
	return n
}

// TestODAEveryByteOfEveryCertificateAndSignature flips each byte of each
// certificate, exponent, remainder and signature, one at a time, for SDA,
// DDA and CDA with RSA and SM2: ODA must fail with the method's TVR bit and
// the sale must not be approved offline.
func TestODAEveryByteOfEveryCertificateAndSignature(t *testing.T) {
	if testing.Short() {
		t.Skip("walks thousands of byte positions")
	}
	type object struct {
		ins byte
		tag tlv.Tag
	}
	records := func(tags ...tlv.Tag) []object {
		out := make([]object, 0, len(tags))
		for _, tg := range tags {
			out = append(out, object{0xB2, tg})
		}
		return out
	}
	tests := []struct {
		profile string
		method  kernel.ODAMethod
		bit     kernel.TVRBit
		objects []object
	}{
		{"sda.json", kernel.ODASDA, kernel.TVRSDAFailed, records(0x90, 0x92, 0x9F32, 0x93)},
		{"sm2-sda.json", kernel.ODASDA, kernel.TVRSDAFailed, records(0x90, 0x93)},
		{"default.json", kernel.ODADDA, kernel.TVRDDAFailed, append(records(0x90, 0x92, 0x9F32, 0x9F46, 0x9F47, 0x9F48), object{0x88, 0x80})},
		{"sm2-dda.json", kernel.ODADDA, kernel.TVRDDAFailed, append(records(0x90, 0x9F46), object{0x88, 0x80})},
		{"cda.json", kernel.ODACDA, kernel.TVRCDAFailed, append(records(0x90, 0x92, 0x9F32, 0x9F46, 0x9F47, 0x9F48), object{0xAE, 0x9F4B})},
		{"sm2-cda.json", kernel.ODACDA, kernel.TVRCDAFailed, append(records(0x90, 0x9F46), object{0xAE, 0x9F4B})},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			k := newKernel(t)
			card := loadCard(t, tc.profile)
			walked := 0
			for _, obj := range tc.objects {
				n := lengthOf(t, tc.profile, obj.ins, obj.tag)
				if n == 0 {
					continue // e.g. no remainder for this key size
				}
				for pos := 0; pos < n; pos++ {
					f := &flipper{card: card, ins: obj.ins, tag: obj.tag, pos: pos}
					res, err := k.Purchase(context.Background(), f, 100)
					require.NoError(t, err)
					require.True(t, f.flipped)
					where := fmt.Sprintf("%s byte %d of %d", obj.tag, pos, n)
					require.Equal(t, tc.method, res.ODA, where)
					require.True(t, res.TVR.Has(tc.bit), "%s: %s (%s)", where, res.TVR, res.Detail)
					require.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome, where)
					walked++
				}
			}
			assert.Greater(t, walked, 200, "positions walked")
			t.Logf("%s: %d byte positions flipped, each failed %s", tc.profile, walked, tc.method)
		})
	}
}
