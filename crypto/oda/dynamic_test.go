// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"testing"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cdaCase is one GENERATE AC with CDA as a card would answer it.
type cdaCase struct {
	num, un, pdol, cdol1, cdol2, ac []byte
	cid                             byte
	resp                            []byte // response TLVs without 9F4B
	sdad                            []byte
}

func newCDA(t testing.TB, icc *pki.KeyPair, alg oda.HashAlg, second bool) *cdaCase {
	t.Helper()
	k := &cdaCase{
		num:   []byte{0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18},
		un:    []byte{0xDE, 0xAD, 0xBE, 0xEF},
		pdol:  []byte{0x01, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x01, 0x56},
		cdol1: []byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x01, 0x56, 0xDE, 0xAD, 0xBE, 0xEF},
		ac:    []byte{1, 2, 3, 4, 5, 6, 7, 8},
		cid:   0x40,
	}
	if second {
		k.cdol2 = []byte{0x30, 0x30, 0x00, 0x00}
	}
	k.resp = []byte{0x9F, 0x27, 0x01, k.cid, 0x9F, 0x36, 0x02, 0x00, 0x2A, 0x9F, 0x26, 0x08}
	k.resp = append(k.resp, k.ac...)
	k.resp = append(k.resp, 0x9F, 0x10, 0x07, 0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00)
	h := pki.TransactionDataHash(alg, k.pdol, k.cdol1, k.cdol2, k.resp)
	var err error
	k.sdad, err = pki.SignCDA(icc, k.num, k.cid, k.ac, k.un, h)
	require.NoError(t, err)
	return k
}

func (k *cdaCase) input(icc *oda.ICCKey) oda.CDAInput {
	return oda.CDAInput{ICC: icc, SDAD: k.sdad, UnpredictableNumber: k.un, PDOLData: k.pdol, CDOLData: k.cdol1,
		CDOL2Data: k.cdol2, ResponseTLVs: k.resp, CID: k.cid}
}

func cdaNegatives(t *testing.T, c *chain, k *cdaCase, sigErr error) {
	acOff := len(k.resp) - 10 - 8 // offset of the AC value in resp
	tests := []struct {
		name string
		edit func(in *oda.CDAInput)
		want error
	}{
		{"CID altered", func(in *oda.CDAInput) { in.CID = 0x80 }, oda.ErrCID},
		{"cryptogram altered in response", func(in *oda.CDAInput) { in.ResponseTLVs = flip(in.ResponseTLVs, acOff) }, oda.ErrHash},
		{"ATC altered in response", func(in *oda.CDAInput) { in.ResponseTLVs = flip(in.ResponseTLVs, 8) }, oda.ErrHash},
		{"response object dropped", func(in *oda.CDAInput) { in.ResponseTLVs = in.ResponseTLVs[:len(in.ResponseTLVs)-10] }, oda.ErrHash},
		{"PDOL data altered", func(in *oda.CDAInput) { in.PDOLData = flip(in.PDOLData, 5) }, oda.ErrHash},
		{"CDOL1 data altered", func(in *oda.CDAInput) { in.CDOLData = flip(in.CDOLData, 4) }, oda.ErrHash},
		{"CDOL2 data altered", func(in *oda.CDAInput) { in.CDOL2Data = append(append([]byte(nil), in.CDOL2Data...), 0x30) }, oda.ErrHash},
		{"unpredictable number altered", func(in *oda.CDAInput) { in.UnpredictableNumber = flip(in.UnpredictableNumber, 3) }, sigErr},
		{"SDAD altered", func(in *oda.CDAInput) { in.SDAD = flip(in.SDAD, len(in.SDAD)/2) }, nil},
		{"SDAD truncated", func(in *oda.CDAInput) { in.SDAD = in.SDAD[:len(in.SDAD)-1] }, oda.ErrKeyLength},
		{"no key", func(in *oda.CDAInput) { in.ICC = nil }, oda.ErrAlgorithm},
		{"DDA signature instead of CDA", func(in *oda.CDAInput) {
			in.SDAD, _ = pki.SignDynamicData(c.icc, k.num, in.UnpredictableNumber)
		}, oda.ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := k.input(c.iccKey)
			tc.edit(&in)
			res, err := oda.VerifyCDA(in)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			require.Nil(t, res)
		})
	}
}

func TestCDARSA(t *testing.T) {
	for _, exp := range []int{3, 65537} {
		c := newRSAChain(t, 1408, 1408, 1152, exp)
		for _, second := range []bool{false, true} {
			k := newCDA(t, c.icc, oda.SHA1, second)
			res, err := oda.VerifyCDA(k.input(c.iccKey))
			require.NoError(t, err)
			assert.Equal(t, k.num, res.ICCDynamicNumber)
			assert.Equal(t, k.cid, res.CID)
			assert.Equal(t, k.ac, res.Cryptogram)
		}
		// First-GEN-AC signature checked as if it were the second.
		k := newCDA(t, c.icc, oda.SHA1, false)
		in := k.input(c.iccKey)
		in.CDOL2Data = []byte{0x30, 0x30}
		_, err := oda.VerifyCDA(in)
		require.ErrorIs(t, err, oda.ErrHash)
	}
	c := newRSAChain(t, 1408, 1408, 1152, 3)
	k := newCDA(t, c.icc, oda.SHA1, true)
	t.Run("negative", func(t *testing.T) { cdaNegatives(t, c, k, oda.ErrHash) })

	t.Run("recovered data too short for CDA", func(t *testing.T) {
		in := k.input(c.iccKey)
		in.SDAD = tamperRSA(t, c.icc, k.sdad, func(r []byte) {
			r[3] = 1 + 8 + 1 + 8 + 19
			reseal(r, k.un)
		})
		_, err := oda.VerifyCDA(in)
		require.ErrorIs(t, err, oda.ErrFormat)
	})
}

type fddaCase struct {
	num, un, amount, currency, cad, sdad []byte
}

func newFDDA(t testing.TB, icc *pki.KeyPair, version byte) *fddaCase {
	t.Helper()
	f := &fddaCase{
		num:      []byte{0x00, 0x2A},
		un:       []byte{0x01, 0x02, 0x03, 0x04},
		amount:   []byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34},
		currency: []byte{0x01, 0x56},
		cad:      []byte{version, 0xAB, 0xCD, 0xEF, 0x01, 0x00, 0x00, 0x00},
	}
	var err error
	f.sdad, err = pki.SignFDDA(icc, f.num, f.un, f.amount, f.currency, f.cad)
	require.NoError(t, err)
	return f
}

func (f *fddaCase) input(icc *oda.ICCKey) oda.FDDAInput {
	return oda.FDDAInput{ICC: icc, SDAD: f.sdad, UnpredictableNumber: f.un, Amount: f.amount, Currency: f.currency, CardAuthData: f.cad}
}

func fddaNegatives(t *testing.T, icc *oda.ICCKey, v00, v01 *fddaCase, sigErr error) {
	tests := []struct {
		name string
		f    *fddaCase
		edit func(in *oda.FDDAInput)
		want error
	}{
		{"v01 amount altered", v01, func(in *oda.FDDAInput) { in.Amount = flip(in.Amount, 5) }, sigErr},
		{"v01 currency altered", v01, func(in *oda.FDDAInput) { in.Currency = flip(in.Currency, 1) }, sigErr},
		{"v01 UN altered", v01, func(in *oda.FDDAInput) { in.UnpredictableNumber = flip(in.UnpredictableNumber, 0) }, sigErr},
		{"v01 9F69 altered", v01, func(in *oda.FDDAInput) { in.CardAuthData = flip(in.CardAuthData, 4) }, sigErr},
		{"v01 checked as v00", v01, func(in *oda.FDDAInput) { in.CardAuthData = nil }, sigErr},
		{"v00 UN altered", v00, func(in *oda.FDDAInput) { in.UnpredictableNumber = flip(in.UnpredictableNumber, 2) }, sigErr},
		{"v00 amount altered is not signed", v00, func(in *oda.FDDAInput) { in.Amount = flip(in.Amount, 5) }, nil},
		{"version 02", v00, func(in *oda.FDDAInput) { in.CardAuthData = []byte{0x02} }, oda.ErrFormat},
		{"v01 amount missing", v01, func(in *oda.FDDAInput) { in.Amount = nil }, oda.ErrFormat},
		{"UN short", v00, func(in *oda.FDDAInput) { in.UnpredictableNumber = in.UnpredictableNumber[:3] }, oda.ErrFormat},
		{"SDAD truncated", v00, func(in *oda.FDDAInput) { in.SDAD = in.SDAD[:len(in.SDAD)-1] }, oda.ErrKeyLength},
		{"no key", v00, func(in *oda.FDDAInput) { in.ICC = nil }, oda.ErrAlgorithm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.f.input(icc)
			tc.edit(&in)
			num, err := oda.VerifyFDDA(in)
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, tc.f.num, num)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, num)
		})
	}
}

func TestFDDARSA(t *testing.T) {
	c := newRSAChain(t, 1984, 1408, 1024, 3)
	v00, v01 := newFDDA(t, c.icc, 0x00), newFDDA(t, c.icc, 0x01)
	for _, f := range []*fddaCase{v00, v01} {
		num, err := oda.VerifyFDDA(f.input(c.iccKey))
		require.NoError(t, err)
		assert.Equal(t, f.num, num)
	}
	// 9F69 absent: version 00.
	f := newFDDA(t, c.icc, 0x00)
	f.cad = nil
	f.sdad, _ = pki.SignFDDA(c.icc, f.num, f.un, nil, nil, nil)
	_, err := oda.VerifyFDDA(f.input(c.iccKey))
	require.NoError(t, err)
	fddaNegatives(t, c.iccKey, v00, v01, oda.ErrHash)
}
