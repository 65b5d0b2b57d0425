package kernel_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/kernel"
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
		{"signed record altered (DDA)", "default.json", []byte{0x8E, 0x0E}, kernel.TVRDDAFailed},
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
	store := capk.Builtin()
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
