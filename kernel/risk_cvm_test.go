// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// cardPatched is the default card with changes to its first application.
func cardPatched(t *testing.T, patch func(*cardsim.Application)) *cardsim.Card {
	t.Helper()
	p, err := cardsim.LoadProfile("../testdata/cards/default.json")
	require.NoError(t, err)
	patch(&p.Applications[0])
	b, err := json.Marshal(p)
	require.NoError(t, err)
	p, err = cardsim.ParseProfile(b)
	require.NoError(t, err)
	c, err := cardsim.New(p)
	require.NoError(t, err)
	return c
}

func hexTVR(t *testing.T, s string) kernel.TVR {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	require.Len(t, b, 5)
	return kernel.TVR(b)
}

// TestRiskAndCVMBranchesBitByBit asserts the whole TVR and TSI, byte for
// byte, for each terminal risk management and cardholder verification
// branch. Every card here is the default DDA card, so ODA passes and the
// TSI always holds ODA (80), card risk management (20) and terminal risk
// management (08).
func TestRiskAndCVMBranchesBitByBit(t *testing.T) {
	withPIN := func(pin string) []kernel.Option {
		return []kernel.Option{kernel.WithPINPad(hostsim.PINPad{PIN: pin})}
	}
	tests := []struct {
		name    string
		card    func(*cardsim.Application)
		cfg     func(*kernel.Config)
		opts    []kernel.Option
		amount  kernel.Amount
		tvr     string // the whole TVR, hex
		tsi     string
		cvmRule byte // 9F34 byte 1 without bit 8: method and apply-next (0: not checked)
	}{
		// Terminal risk management.
		// The EC card's CVM list asks no CVM under X (one fen above its
		// single limit): CVM performed, 1F06, nothing in the TVR.
		{name: "EC offline sale: the card's list asks no CVM, no floor limit", amount: 100,
			tvr: "0000000000", tsi: "E800", cvmRule: 0x1F},
		{name: "floor limit exceeded (non-EC sale, floor 0.00)", amount: 35000, opts: withPIN("123456"),
			tvr: "0000048000", tsi: "E800", cvmRule: 0x42},
		{name: "below the floor limit, randomly selected", amount: 35000, opts: withPIN("123456"),
			cfg: func(c *kernel.Config) {
				for i := range c.Applications {
					c.Applications[i].FloorLimit, c.Applications[i].TargetPercent, c.Applications[i].MaxTargetPercent = 100000, 99, 99
					c.Applications[i].RandomThreshold = 100000
				}
			},
			tvr: "0000041000", tsi: "E800", cvmRule: 0x42},
		{name: "velocity: LCOL and UCOL exceeded", amount: 35000, opts: withPIN("123456"),
			card: func(a *cardsim.Application) {
				a.ATC, a.LastOnlineATC = 10, 1
				a.Extra = map[string]string{"9F14": "02", "9F23": "05"}
			},
			tvr: "000004E000", tsi: "E800", cvmRule: 0x42},
		{name: "velocity: new card, within limits", amount: 35000, opts: withPIN("123456"),
			card: func(a *cardsim.Application) {
				a.ATC, a.LastOnlineATC = 0, 0
				a.Extra = map[string]string{"9F14": "02", "9F23": "05"}
			},
			tvr: "0008048000", tsi: "E800", cvmRule: 0x42},
		{name: "card on the exception file", amount: 100,
			cfg: func(c *kernel.Config) { c.ExceptionFile = []string{"6222021000123456781"} },
			tvr: "1000000000", tsi: "E800", cvmRule: 0x1F},
		// Cardholder verification (the CVM list is 42 03 / 5E 03 / 1F 03).
		{name: "online PIN entered", amount: 35000, opts: withPIN("123456"),
			tvr: "0000048000", tsi: "E800", cvmRule: 0x42},
		{name: "PIN bypassed: signature next", amount: 35000, opts: withPIN(""),
			tvr: "0000088000", tsi: "E800", cvmRule: 0x5E},
		{name: "no PIN pad: signature next", amount: 35000,
			tvr: "0000108000", tsi: "E800", cvmRule: 0x5E},
		{name: "PIN bypassed, no fallback: CVM failed", amount: 35000, opts: withPIN(""),
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000000203" },
			tvr:  "0000888000", tsi: "E800", cvmRule: 0x02},
		{name: "unrecognised CVM, then no CVM required", amount: 35000,
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000007A001F03" },
			tvr:  "0000408000", tsi: "E800", cvmRule: 0x1F},
		// EMV Book 3 §10.5: "if the terminal supports the CVM" is a
		// condition; an unrecognised CVM is not supported, so the rule is
		// skipped without "unrecognised CVM".
		{name: "unrecognised CVM if supported: skipped", amount: 35000,
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000007A031F03" },
			tvr:  "0000008000", tsi: "E800", cvmRule: 0x1F},
		{name: "CVM fail rule", amount: 35000,
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000000000" },
			tvr:  "0000808000", tsi: "E800", cvmRule: 0x00},
		{name: "amount condition: under X (1000.00) no CVM", amount: 35000,
			card: func(a *cardsim.Application) { a.CVMList = "000186A0000000001F0642035E03" },
			tvr:  "0000008000", tsi: "E800", cvmRule: 0x1F},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			k, err := kernel.New(cfg, tc.opts...)
			require.NoError(t, err)
			var card apdu.Transport
			if tc.card != nil {
				card = cardPatched(t, tc.card)
			} else {
				card = loadCard(t, "default.json")
			}
			res, err := k.Purchase(context.Background(), card, tc.amount)
			require.NoError(t, err)
			assert.Equal(t, hexTVR(t, tc.tvr), res.TVR, "TVR: %s", res.TVR)
			assert.Equal(t, tc.tsi, upperHex(res.TSI[:]), "TSI: %s", res.TSI)
			if tc.cvmRule != 0 || tc.name == "CVM fail rule" {
				require.NotEmpty(t, res.Field55)
				cvmr := valueOf(res.Field55, 0x9F34)
				require.Len(t, cvmr, 3)
				assert.Equal(t, tc.cvmRule, cvmr[0]&0x7F, "CVM results %X (method and apply-next bit)", cvmr)
			}
		})
	}
}
