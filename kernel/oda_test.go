// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

func TestODAMethodsApproveOffline(t *testing.T) {
	tests := []struct {
		profile string
		method  kernel.ODAMethod
	}{
		{"sda.json", kernel.ODASDA},
		{"default.json", kernel.ODADDA},
		{"cda.json", kernel.ODACDA},
		{"sm2-dda.json", kernel.ODADDA},
		{"sm2-cda.json", kernel.ODACDA},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			card := loadCard(t, tc.profile)
			before := card.Balance(debitAID)
			res, err := newKernel(t).Purchase(context.Background(), card, 1234)
			require.NoError(t, err)
			assert.Equal(t, tc.method, res.ODA)
			assert.Empty(t, res.ODAError)
			assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
			assert.True(t, res.TSI.Has(kernel.TSIODAPerformed))
			for _, bit := range []kernel.TVRBit{kernel.TVRODANotPerformed, kernel.TVRSDAFailed, kernel.TVRDDAFailed, kernel.TVRCDAFailed, kernel.TVRICCDataMissing} {
				assert.False(t, res.TVR.Has(bit), "%s", res.TVR)
			}
			assert.Equal(t, tc.method == kernel.ODASDA, res.TVR.Has(kernel.TVRSDASelected))
			assert.Equal(t, before-1234, card.Balance(debitAID))
			assert.Len(t, res.Cryptogram, 8)
		})
	}
}

func TestTerminalCapabilitiesChooseTheMethod(t *testing.T) {
	// A terminal without CDA falls back to DDA on a CDA card (its AIP also
	// offers DDA); without DDA and CDA it finds nothing to do.
	cfg := testConfig()
	cfg.Capabilities[2] = 0xC0 // SDA, DDA
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	res, err := k.Purchase(context.Background(), loadCard(t, "cda.json"), 100)
	require.NoError(t, err)
	assert.Equal(t, kernel.ODADDA, res.ODA)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
}

func TestNoODAIsNotApprovedOffline(t *testing.T) {
	card := loadCard(t, "no-oda.json")
	res, err := newKernel(t).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.ODANone, res.ODA)
	assert.True(t, res.TVR.Has(kernel.TVRODANotPerformed))
	assert.False(t, res.TSI.Has(kernel.TSIODAPerformed))
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
	assert.Equal(t, kernel.ReasonTerminalDecision, res.Reason, res.Detail)
	assert.Equal(t, uint64(50000), card.Balance(debitAID))
}

// flipIn corrupts one byte inside the value of a tag wherever a READ RECORD
// response carries it.
func flipIn(card interface {
	Transmit(context.Context, []byte) ([]byte, error)
}, tag []byte) *mangle {
	return &mangle{card: card, ins: 0xB2, fn: func(r []byte) []byte {
		i := bytes.Index(r, tag)
		if i < 0 {
			return r
		}
		r = bytes.Clone(r)
		r[i+len(tag)+10] ^= 0x01 // inside the value, past the length
		return r
	}}
}

func TestODAFailuresAreNotApprovedOffline(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		tag     []byte
		bit     kernel.TVRBit
	}{
		{"issuer certificate corrupted (DDA)", "default.json", []byte{0x90, 0x81}, kernel.TVRDDAFailed},
		{"ICC certificate corrupted (DDA)", "default.json", []byte{0x9F, 0x46, 0x81}, kernel.TVRDDAFailed},
		{"SSAD corrupted (SDA)", "sda.json", []byte{0x93, 0x81}, kernel.TVRSDAFailed},
		{"signed record altered (DDA)", "default.json", []byte{0x8E, 0x10}, kernel.TVRDDAFailed},
		{"ICC certificate corrupted (CDA)", "cda.json", []byte{0x9F, 0x46, 0x81}, kernel.TVRCDAFailed},
		{"SM2 issuer certificate corrupted", "sm2-dda.json", []byte{0x90, 0x81}, kernel.TVRDDAFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := loadCard(t, tc.profile)
			before := card.Balance(debitAID)
			res, err := newKernel(t).Purchase(context.Background(), flipIn(card, tc.tag), 1234)
			require.NoError(t, err)
			assert.True(t, res.TVR.Has(tc.bit), "%s: %s", res.TVR, res.ODAError)
			assert.NotEmpty(t, res.ODAError)
			assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
			assert.Equal(t, kernel.ReasonODAFailed, res.Reason, res.Detail)
			assert.Equal(t, before, card.Balance(debitAID), "nothing charged")
		})
	}
}

func TestMissingAndRevokedCAKeys(t *testing.T) {
	// No CA key at all.
	cfg := testConfig()
	cfg.CAPK = capk.NewStore()
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	res, err := k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
	assert.Contains(t, res.ODAError, "no CA public key")
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)

	// The issuer certificate (serial 000001 under F1) is revoked.
	store := simCAPK()
	rid, err := capk.ParseRID("A000000333")
	require.NoError(t, err)
	store.Revoke(rid, 0xF1, [3]byte{0, 0, 1})
	cfg.CAPK = store
	k, err = kernel.New(cfg)
	require.NoError(t, err)
	res, err = k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
	assert.Contains(t, res.ODAError, "revoked")
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
}

func TestCDACorruptedSignatureInGenerateAC(t *testing.T) {
	card := loadCard(t, "cda.json")
	before := card.Balance(debitAID)
	m := &mangle{card: card, ins: 0xAE, fn: func(r []byte) []byte {
		i := bytes.Index(r, []byte{0x9F, 0x4B})
		if i < 0 {
			return r
		}
		r = bytes.Clone(r)
		r[i+8] ^= 0x01
		return r
	}}
	res, err := newKernel(t).Purchase(context.Background(), m, 1234)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRCDAFailed))
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome)
	assert.Equal(t, kernel.ReasonODAFailed, res.Reason)
	// The card returned a TC and deducted; the result reports what the card holds.
	require.NotNil(t, res.BalanceAfter)
	assert.Equal(t, card.Balance(debitAID), uint64(*res.BalanceAfter))
	assert.Equal(t, before-1234, card.Balance(debitAID))
	assert.Contains(t, res.Detail, "deducted")
}

// replaceIn replaces bytes in every READ RECORD answer that holds them.
func replaceIn(card apdu.Transport, old, new []byte) *mangle {
	return &mangle{card: card, ins: 0xB2, fn: func(r []byte) []byte {
		return bytes.Replace(r, old, new, 1)
	}}
}

// Each way ODA can fail has its own reason, testable with errors.Is.
func TestODAFailureReasons(t *testing.T) {
	rid, err := capk.ParseRID("A000000333")
	require.NoError(t, err)
	expiredCA := simCAPK()
	key, ok := expiredCA.Lookup(rid, 0xF1)
	require.True(t, ok)
	key.Expiry = time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC)
	require.NoError(t, expiredCA.Add(key))
	revoked := simCAPK()
	revoked.Revoke(rid, 0xF1, [3]byte{0, 0, 1})

	tests := []struct {
		name   string
		cfg    func(*kernel.Config)
		wrap   func(apdu.Transport) apdu.Transport
		want   error
		extras []kernel.TVRBit
	}{
		{name: "expired issuer certificate", cfg: func(c *kernel.Config) {
			c.Now = func() time.Time { return time.Date(2036, 1, 15, 12, 0, 0, 0, time.UTC) } // after 12/35
		}, want: oda.ErrExpired},
		{name: "expired CA key", cfg: func(c *kernel.Config) { c.CAPK = expiredCA }, want: kernel.ErrCAKeyExpired},
		{name: "revoked issuer certificate", cfg: func(c *kernel.Config) { c.CAPK = revoked }, want: oda.ErrRevoked},
		{name: "CA key not in the terminal", cfg: func(c *kernel.Config) { c.CAPK = capk.NewStore() }, want: kernel.ErrCAKeyNotFound},
		{name: "issuer identifier not matching the PAN", wrap: func(c apdu.Transport) apdu.Transport {
			return replaceIn(c, []byte{0x5A, 0x0A, 0x62, 0x22, 0x02}, []byte{0x5A, 0x0A, 0x62, 0x22, 0x03})
		}, want: oda.ErrIssuerID},
		{name: "missing CA public key index", wrap: func(c apdu.Transport) apdu.Transport {
			return replaceIn(c, []byte{0x8F, 0x01, 0xF1}, []byte{0xC1, 0x01, 0xF1})
		}, want: kernel.ErrCAKeyIndexMissing, extras: []kernel.TVRBit{kernel.TVRICCDataMissing}},
		{name: "wrong issuer exponent", wrap: func(c apdu.Transport) apdu.Transport {
			return replaceIn(c, []byte{0x9F, 0x32, 0x01, 0x03}, []byte{0x9F, 0x32, 0x01, 0x05})
		}, want: oda.ErrAlgorithm},
		{name: "9F4A lists a tag other than the AIP", wrap: func(c apdu.Transport) apdu.Transport {
			return replaceIn(c, []byte{0x9F, 0x4A, 0x01, 0x82}, []byte{0x9F, 0x4A, 0x01, 0x83})
		}, want: oda.ErrStaticData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			k, err := kernel.New(cfg)
			require.NoError(t, err)
			var card apdu.Transport = loadCard(t, "default.json")
			if tc.wrap != nil {
				card = tc.wrap(card)
			}
			res, err := k.Purchase(context.Background(), card, 100)
			require.NoError(t, err)
			require.Error(t, res.ODAErr)
			assert.ErrorIs(t, res.ODAErr, tc.want, res.ODAError)
			assert.True(t, res.TVR.Has(kernel.TVRDDAFailed), "%s", res.TVR)
			for _, b := range tc.extras {
				assert.True(t, res.TVR.Has(b), "%s", res.TVR)
			}
			assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
		})
	}
}

// Production trusts only published keys: a kernel built from
// DefaultConfig with no CA key store of its own trusts capk.Builtin, which
// holds none of the simulator's test CA, so a card signed by that CA (whose
// private keys anyone can regenerate) fails ODA and is never approved
// offline, on contact or contactless.
func TestDefaultConfigTrustsNoTestKey(t *testing.T) {
	cfg := kernel.DefaultConfig()
	cfg.Now = func() time.Time { return fixedNow }
	require.Nil(t, cfg.CAPK)
	k, err := kernel.New(cfg)
	require.NoError(t, err)

	res, err := k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
	require.ErrorIs(t, res.ODAErr, kernel.ErrCAKeyNotFound)
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
	assert.NotEqual(t, kernel.OutcomeApprovedOnline, res.Outcome)

	res, err = k.PurchaseContactless(context.Background(), cardsim.NewContactless(loadCard(t, "default.json")), 100)
	require.NoError(t, err)
	require.ErrorIs(t, res.ODAErr, kernel.ErrCAKeyNotFound)
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
}

// The issuer certificate of the last card of an issuer is kept (its RSA
// recovery is a quarter of a purchase), keyed by the exact bytes it came
// from; what depends on the transaction is still checked every time: a
// serial revoked after the first sale, a date past the certificate's
// expiry, and a certificate whose bytes differ all fail ODA on the next
// card.
func TestIssuerCacheStillChecksEachTransaction(t *testing.T) {
	rid, err := capk.ParseRID("A000000333")
	require.NoError(t, err)
	store := simCAPK()
	cfg := testConfig()
	cfg.CAPK = store
	now := fixedNow
	cfg.Now = func() time.Time { return now }
	k := kernelFrom(t, cfg)
	res, err := k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.NoError(t, err)
	require.Empty(t, res.ODAError, "the first card opens the certificate")

	store.Revoke(rid, 0xF1, [3]byte{0, 0, 1})
	res, err = k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.NoError(t, err)
	assert.ErrorIs(t, res.ODAErr, oda.ErrRevoked, "revoked after it was kept")

	// A fresh cache, then a date past the certificates' expiry.
	store = simCAPK()
	cfg.CAPK = store
	k = kernelFrom(t, cfg)
	_, err = k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.NoError(t, err)
	now = time.Date(2036, 1, 1, 10, 0, 0, 0, fixedNow.Location())
	res, err = k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.NoError(t, err)
	assert.ErrorIs(t, res.ODAErr, oda.ErrExpired)

	now = fixedNow
	flip := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSReadRecord }, func(d []byte) []byte {
		if v, ok, _ := tlv.Find(d, 0x90); ok && len(v) > 20 {
			i := bytes.Index(d, v)
			d[i+len(v)/2] ^= 0x01
		}
		return d
	})
	res, err = k.Purchase(context.Background(), hostile.NewCard(loadCard(t, "default.json"), flip), 100)
	require.NoError(t, err)
	assert.NotEmpty(t, res.ODAError, "a certificate of other bytes is opened again, and fails")
}
