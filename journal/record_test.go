// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaskAndHashPAN(t *testing.T) {
	assert.Equal(t, "623456******7890", MaskPAN("6234561234567890"))
	assert.Equal(t, "623456******7890", MaskPAN("6234561234567890F"), "BCD padding dropped")
	assert.Equal(t, "623456*********1234", MaskPAN("6234567890123451234"))
	assert.Equal(t, HashPAN("6234561234567890"), HashPAN("6234561234567890F"))
	assert.Equal(t, "877a60a0dede94ab7cb8b2b75c264a28937c3bb85603f1dabcd4683cddf59328", HashPAN(testPAN)) // sha256sum of the digits
	assert.Len(t, HashPAN(testPAN), 64)
	assert.NotEqual(t, HashPAN(testPAN), HashPANKeyed([]byte("k"), testPAN))
	assert.Equal(t, HashPANKeyed([]byte("k"), testPAN), HashPANKeyed([]byte("k"), testPAN+"F"))
	assert.NotEqual(t, HashPANKeyed([]byte("k1"), testPAN), HashPANKeyed([]byte("k2"), testPAN))
}

func TestRecordID(t *testing.T) {
	h := HashPAN(testPAN)
	assert.Equal(t, "txn:A000000333010106:"+h+":01:7", RecordID(KindECOfflineSale, "a000000333010106", h, "01", 7))
	assert.Equal(t, RecordID(KindDiscrepancy, "A0", h, "01", 7), RecordID(KindECOfflineSale, "A0", h, "01", 7),
		"one card transaction is one record, whatever its kind")
	assert.NotEqual(t, RecordID(KindECOfflineSale, "A0", h, "01", 7), RecordID(KindECOfflineSale, "A0", h, "02", 7),
		"a replacement card (new PSN) restarting its ATC is a different sale")
}

func TestValidate(t *testing.T) {
	good := testRecord(0)
	require.NoError(t, good.Validate())
	cases := []struct {
		name    string
		mutate  func(r *Record)
		fullPAN bool
	}{
		{"empty id", func(r *Record) { r.ID = "" }, false},
		{"long id", func(r *Record) { r.ID = string(make([]byte, maxIDLen+1)) }, false},
		{"empty kind", func(r *Record) { r.Kind = "" }, false},
		{"unmasked PAN", func(r *Record) { r.MaskedPAN = testPAN }, true},
		{"PAN with one star", func(r *Record) { r.MaskedPAN = "62345612*4567890" }, true},
		{"short PAN unmasked", func(r *Record) { r.MaskedPAN = "1234567890" }, true},
		{"PAN hash not hex", func(r *Record) { r.PANHash = "zz" }, false},
		{"PAN hash short", func(r *Record) { r.PANHash = "abcd" }, false},
		{"AID not hex", func(r *Record) { r.AID = "A00000033G" }, false},
		{"field55 not hex", func(r *Record) { r.Field55 = "9F2" }, false},
		{"field55 not TLV", func(r *Record) { r.Field55 = "9F2608AA" }, false},
		{"field55 holds the PAN", func(r *Record) { r.Field55 += "5A086234561234567890" }, true},
		{"field55 holds track 2", func(r *Record) { r.Field55 = "57086234561234567890" }, true},
		{"field55 holds track 2 in a template", func(r *Record) { r.Field55 = "70065704623456FF" }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := testRecord(0)
			c.mutate(&r)
			err := r.Validate()
			require.ErrorIs(t, err, ErrInvalid)
			assert.Equal(t, c.fullPAN, errorIsFullPAN(err), "%v", err)
		})
	}
	ok := testRecord(0)
	ok.MaskedPAN, ok.PANHash, ok.Field55, ok.Cryptogram = "", "", "", "" // a torn record knows little
	assert.NoError(t, ok.Validate())
}

func errorIsFullPAN(err error) bool { return errors.Is(err, ErrFullPAN) }

func TestSetPANKeyed(t *testing.T) {
	var r Record
	r.SetPANKeyed([]byte("terminal key"), testPAN)
	assert.Equal(t, "623456******7890", r.MaskedPAN)
	assert.Equal(t, HashPANKeyed([]byte("terminal key"), testPAN), r.PANHash)
	assert.NotEqual(t, HashPAN(testPAN), r.PANHash)
}

// A card never uses an ATC twice: the same transaction journaled under
// another kind — a discrepancy settled from the card's log for an ATC that
// already stands for a cleared sale — is refused, never a second record.
func TestOneRecordPerCardTransaction(t *testing.T) {
	file, _ := openTemp(t)
	for _, j := range []Journal{NewMemory(), file} {
		sale := testRecord(3)
		require.NoError(t, j.Append(context.Background(), sale))
		again := sale
		again.Kind, again.Cryptogram, again.CID, again.Outcome = KindDiscrepancy, "", "", "discrepancy"
		require.ErrorIs(t, j.Append(context.Background(), again), ErrConflict)
		recs, err := j.Records(context.Background())
		require.NoError(t, err)
		assert.Len(t, recs, 1)
		assert.True(t, KindECOfflineSale.Clearable())
		assert.False(t, KindDiscrepancy.Clearable())
		assert.False(t, KindTorn.Clearable())
	}
}
