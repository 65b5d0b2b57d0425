// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// The TVR (95) and TSI (9B) bits a certification lab checks, each rule
// with a case where its bit must be set and one where it must not (EMV
// Book 3 §10, Annex C5/C6; HXEMV EmvModul.c). The README's conformance
// section lists, bit by bit, where each is set and which test asserts it.

// onlineAmount is above the default card's EC balance: the non-EC path,
// where floor limit, random selection and velocity checking run.
const onlineAmount kernel.Amount = 60000

// getData answers GET DATA of tag with rsp (data and status word).
func getData(tag uint16, rsp []byte) hostile.Lie {
	return hostile.Answer(func(c apdu.Command) bool {
		return c.INS == hostile.INSGetData && c.P1 == byte(tag>>8) && c.P2 == byte(tag)
	}, rsp)
}

// purchaseTVR runs a purchase and returns its result.
func purchaseTVR(t *testing.T, k *kernel.Kernel, card apdu.Transport, amount kernel.Amount) *kernel.Result {
	t.Helper()
	res, err := k.Purchase(context.Background(), card, amount)
	require.NoError(t, err)
	return res
}

// velocityCard is the default card with LCOL 3 and UCOL 5 and the given
// counters (the card adds one to its ATC at GPO).
func velocityCard(t *testing.T, atc, lastOnline int) *cardsim.Card {
	return newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) {
		a.ATC, a.LastOnlineATC = atc, lastOnline
		a.Extra = map[string]string{"9F14": "03", "9F23": "05"}
	}))
}

// EMV Book 3 §10.6.3: "new card" when the last online ATC register the
// card returns is zero, and only then.
func TestTVRNewCardWhenLastOnlineATCIsZero(t *testing.T) {
	res := purchaseTVR(t, newKernel(t), velocityCard(t, 0, 0), onlineAmount)
	assert.True(t, res.TVR.Has(kernel.TVRNewCard), "%s", res.TVR)
	assert.False(t, res.TVR.Has(kernel.TVRLCOLExceeded), "ATC 1, last online 0: within LCOL 3")

	res = purchaseTVR(t, newKernel(t), velocityCard(t, 4, 2), onlineAmount)
	assert.False(t, res.TVR.Has(kernel.TVRNewCard), "last online ATC 2: %s", res.TVR)

	// The last online ATC is returned (zero) but the ATC is not: both
	// limits, ICC data missing, and still a new card.
	lies := hostile.NewCard(velocityCard(t, 0, 0), getData(0x9F36, []byte{0x6A, 0x88}))
	res = purchaseTVR(t, newKernel(t), lies, onlineAmount)
	assert.True(t, res.TVR.Has(kernel.TVRNewCard), "%s", res.TVR)
	assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing))
	assert.True(t, res.TVR.Has(kernel.TVRLCOLExceeded))
	assert.True(t, res.TVR.Has(kernel.TVRUCOLExceeded))

	// Not returned at all: no "new card" (nothing says it is zero).
	lies = hostile.NewCard(velocityCard(t, 0, 0), getData(0x9F13, []byte{0x6A, 0x88}))
	res = purchaseTVR(t, newKernel(t), lies, onlineAmount)
	assert.False(t, res.TVR.Has(kernel.TVRNewCard), "%s", res.TVR)
	assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing))
}

// EMV Book 3 §10.6.3 (HXEMV EmvModul.c:1314): an ATC not above the last
// online ATC sets both consecutive offline limits, without "ICC data
// missing" (both registers were returned).
func TestTVRBothOfflineLimitsWhenATCIsNotAboveLastOnlineATC(t *testing.T) {
	for _, last := range [][]byte{{0x00, 0x01}, {0x00, 0x09}} { // the card's ATC is 1 after GPO
		lies := hostile.NewCard(velocityCard(t, 0, 0), getData(0x9F13, append([]byte{0x9F, 0x13, 0x02}, append(last, 0x90, 0x00)...)))
		res := purchaseTVR(t, newKernel(t), lies, onlineAmount)
		assert.True(t, res.TVR.Has(kernel.TVRLCOLExceeded), "last online ATC %X: %s", last, res.TVR)
		assert.True(t, res.TVR.Has(kernel.TVRUCOLExceeded), "last online ATC %X", last)
		assert.False(t, res.TVR.Has(kernel.TVRICCDataMissing))
		assert.False(t, res.TVR.Has(kernel.TVRNewCard))
	}
}

// EMV Book 3 §10.6.3: ATC − last online ATC above LCOL sets LCOL, above
// UCOL also UCOL; at or under LCOL neither.
func TestTVRConsecutiveOfflineLimitsByTheATCDifference(t *testing.T) {
	for _, tc := range []struct {
		atc, last  int // before GPO, which adds one to the ATC
		lcol, ucol bool
	}{
		{atc: 2, last: 0, lcol: false, ucol: false}, // difference 3 = LCOL
		{atc: 3, last: 0, lcol: true, ucol: false},  // 4
		{atc: 4, last: 0, lcol: true, ucol: false},  // 5 = UCOL
		{atc: 5, last: 0, lcol: true, ucol: true},   // 6
		{atc: 8, last: 6, lcol: false, ucol: false}, // 3
	} {
		res := purchaseTVR(t, newKernel(t), velocityCard(t, tc.atc, tc.last), onlineAmount)
		assert.Equal(t, tc.lcol, res.TVR.Has(kernel.TVRLCOLExceeded), "ATC %d, last %d: %s", tc.atc+1, tc.last, res.TVR)
		assert.Equal(t, tc.ucol, res.TVR.Has(kernel.TVRUCOLExceeded), "ATC %d, last %d", tc.atc+1, tc.last)
		assert.False(t, res.TVR.Has(kernel.TVRICCDataMissing))
	}
	// Without LCOL and UCOL the card is not asked: no bit.
	res := purchaseTVR(t, newKernel(t), loadCard(t, "default.json"), onlineAmount)
	assert.False(t, res.TVR.Has(kernel.TVRLCOLExceeded) || res.TVR.Has(kernel.TVRUCOLExceeded) || res.TVR.Has(kernel.TVRNewCard), "%s", res.TVR)
}

// EMV Book 3 §10.4.2 (HXEMV iEmvProcRistrictions): the application usage
// control. "Valid at ATMs" at an ATM, "valid at terminals other than ATMs"
// elsewhere; the domestic or international goods/services bits only when
// the card gives its issuer country code (5F28).
func TestTVRServiceNotAllowedByApplicationUsageControl(t *testing.T) {
	atm := func(c *kernel.Config) {
		c.TerminalType = 0x14
		c.AdditionalCapabilities[0] |= 0x80 // cash
	}
	noCountry := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSReadRecord }, func(d []byte) []byte {
		return withoutTag(d, 0x5F28)
	})
	for _, tc := range []struct {
		name     string
		auc      string
		country  int
		cfg      func(*kernel.Config)
		lies     []hostile.Lie
		notAllow bool
	}{
		{name: "all uses", auc: "FF00"},
		{name: "not valid at terminals other than ATMs", auc: "FE00", notAllow: true},
		{name: "ATM, valid at ATMs", auc: "FF00", cfg: atm},
		{name: "ATM, not valid at ATMs", auc: "FD00", cfg: atm, notAllow: true},
		{name: "domestic card, domestic goods only", auc: "2100"},
		{name: "domestic card, domestic services only", auc: "0900"},
		{name: "domestic card, international goods and services only", auc: "1500", notAllow: true},
		{name: "foreign card, international services only", auc: "0500", country: 840},
		{name: "foreign card, domestic goods and services only", auc: "2900", country: 840, notAllow: true},
		{name: "no issuer country code: no country check", auc: "2900", lies: []hostile.Lie{noCountry}},
		{name: "no issuer country code, not valid here", auc: "1400", lies: []hostile.Lie{noCountry}, notAllow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) {
				a.AUC = tc.auc
				if tc.country != 0 {
					a.Country = tc.country
				}
			}))
			res := purchaseTVR(t, kernelFrom(t, cfg), hostile.NewCard(card, tc.lies...), 1234)
			assert.Equal(t, tc.notAllow, res.TVR.Has(kernel.TVRServiceNotAllowed), "%s", res.TVR)
			if tc.notAllow {
				assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, "TAC denial has the bit: %s", res.Detail)
			}
		})
	}
}

// EMV Book 3 §10.4.1: the card's application version (9F08) against the
// terminal's (9F09), only when the card gives one.
func TestTVRVersionsDifferWhenTheCardsVersionIsNotTheTerminals(t *testing.T) {
	for _, tc := range []struct {
		version string
		differ  bool
	}{{"0030", false}, {"0020", true}} {
		cfg := testConfig()
		for i := range cfg.Applications {
			cfg.Applications[i].Version = [2]byte{0x00, 0x30}
		}
		card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.ApplicationVersion = tc.version }))
		res := purchaseTVR(t, kernelFrom(t, cfg), card, 1234)
		assert.Equal(t, tc.differ, res.TVR.Has(kernel.TVRVersionsDiffer), "card %s: %s", tc.version, res.TVR)
	}
}

// EMV Book 3 §10.4.3: expired after 5F24 (the expiry day itself is still
// valid), not yet effective before 5F25 (the effective day is). The test
// clock is 30 November 2026.
func TestTVRExpiredAndNotYetEffectiveByTheDates(t *testing.T) {
	for _, tc := range []struct {
		effective, expiry    string
		notEffective, expire bool
	}{
		{effective: "261130", expiry: "261130"},
		{effective: "240101", expiry: "261129", expire: true},
		{effective: "261201", expiry: "351231", notEffective: true},
		{effective: "491231", expiry: "500101", expire: true, notEffective: true}, // 2049, and 1950
	} {
		card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.Effective, a.Expiry = tc.effective, tc.expiry }))
		res := purchaseTVR(t, newKernel(t), card, 1234)
		assert.Equal(t, tc.expire, res.TVR.Has(kernel.TVRExpiredApplication), "%s-%s: %s", tc.effective, tc.expiry, res.TVR)
		assert.Equal(t, tc.notEffective, res.TVR.Has(kernel.TVRNotYetEffective), "%s-%s: %s", tc.effective, tc.expiry, res.TVR)
	}
}

// EMV Book 3 §7.2: 5F24, 5A, 8C and 8D are mandatory; without one the
// transaction ends with "ICC data missing" and no GENERATE AC (so no card
// risk management in the TSI).
func TestTVRICCDataMissingWhenAMandatoryObjectIsMissing(t *testing.T) {
	for _, tag := range []tlv.Tag{0x5F24, 0x5A, 0x8C, 0x8D} {
		t.Run(tag.String(), func(t *testing.T) {
			drop := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSReadRecord }, func(d []byte) []byte {
				return withoutTag(d, tag)
			})
			res, err := newKernel(t).Purchase(context.Background(), hostile.NewCard(loadCard(t, "default.json"), drop), 1234)
			require.ErrorIs(t, err, kernel.ErrCardData)
			assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
			assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing), "%s", res.TVR)
			assert.False(t, res.TSI.Has(kernel.TSICardRiskPerformed))
			assert.False(t, res.TSI.Has(kernel.TSITerminalRiskPerformed))
		})
	}
	res := purchaseTVR(t, newKernel(t), loadCard(t, "default.json"), 1234)
	assert.False(t, res.TVR.Has(kernel.TVRICCDataMissing), "%s", res.TVR)
	assert.True(t, res.TSI.Has(kernel.TSICardRiskPerformed))
	assert.True(t, res.TSI.Has(kernel.TSITerminalRiskPerformed))
}

// withoutSDAD removes the signed dynamic data (9F4B) from a format 2
// GENERATE AC answer (data and status word); with plainAC it puts a
// cryptogram (9F26) in the clear instead, as a card may.
func withoutSDAD(plainAC bool) func(r []byte) []byte {
	return func(r []byte) []byte {
		if len(r) < 2 {
			return r
		}
		o, err := tlv.ParseSingle(withoutTag(r[:len(r)-2], 0x9F4B))
		if err != nil || o.Tag != 0x77 {
			return r
		}
		inner := o.Value
		if plainAC {
			inner = tlv.Append(bytes.Clone(inner), 0x9F26, bytes.Repeat([]byte{0xAC}, 8))
		}
		return append(tlv.Append(nil, 0x77, inner), r[len(r)-2:]...)
	}
}

// EMV Book 2 §6.6: a CDA answer without its signature (9F4B) fails CDA for
// want of ICC data; a wrong signature fails it with the data present. An
// answer whose cryptogram was only in the signature lacks the cryptogram
// itself: card data error, the transaction ends (HXEMV terminates on
// missing CDA data too, citing EMV bulletin SU-54).
func TestTVRICCDataMissingWhenTheCDASignatureIsAbsent(t *testing.T) {
	res := purchaseTVR(t, newKernel(t), &mangle{card: loadCard(t, "cda.json"), ins: 0xAE, fn: withoutSDAD(true)}, 1234)
	assert.True(t, res.TVR.Has(kernel.TVRCDAFailed), "%s", res.TVR)
	assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing), "%s: %s", res.TVR, res.ODAError)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome)

	wrong := &mangle{card: loadCard(t, "cda.json"), ins: 0xAE, fn: func(r []byte) []byte {
		if i := bytes.Index(r, []byte{0x9F, 0x4B}); i >= 0 {
			r = bytes.Clone(r)
			r[i+8] ^= 0x01
		}
		return r
	}}
	res = purchaseTVR(t, newKernel(t), wrong, 1234)
	assert.True(t, res.TVR.Has(kernel.TVRCDAFailed))
	assert.False(t, res.TVR.Has(kernel.TVRICCDataMissing), "%s", res.TVR)

	res, err := newKernel(t).Purchase(context.Background(), &mangle{card: loadCard(t, "cda.json"), ins: 0xAE, fn: withoutSDAD(false)}, 1234)
	require.ErrorIs(t, err, kernel.ErrCardData)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
}

// EMV Book 2 §6.6 (HXEMV EmvModul.c, first GENERATE AC): CDA is asked for
// with a TC or an ARQC only. When terminal action analysis asks for an AAC
// CDA is not performed: "offline data authentication was not performed",
// and the TSI does not say it was; a GENERATE AC with CDA sets the TSI.
func TestTVRODANotPerformedWhenCDAIsNotRequestedWithAnAAC(t *testing.T) {
	declined := newCard(t, profileWith(t, "cda.json", func(a *cardsim.Application) { a.AUC = "FE00" }))
	res := purchaseTVR(t, tracedKernel(t), declined, 1234)
	require.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ODACDA, res.ODA)
	assert.True(t, res.TVR.Has(kernel.TVRODANotPerformed), "%s", res.TVR)
	assert.False(t, res.TVR.Has(kernel.TVRCDAFailed))
	assert.False(t, res.TSI.Has(kernel.TSIODAPerformed), "%s", res.TSI)
	assert.Equal(t, 1, commandsOf(res, 0xAE, 0x00, 0x00), "GENERATE AC for an AAC, without the CDA bit")
	assert.Equal(t, res.TVR[:], valueOf(res.Field55, 0x95), "the card was sent this TVR")

	res = purchaseTVR(t, tracedKernel(t), loadCard(t, "cda.json"), 1234)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.False(t, res.TVR.Has(kernel.TVRODANotPerformed), "%s", res.TVR)
	assert.True(t, res.TSI.Has(kernel.TSIODAPerformed), "%s", res.TSI)
	assert.Equal(t, 1, commandsOf(res, 0xAE, 0x50, 0x00), "GENERATE AC for a TC with CDA")

	// CDA whose preparation fails (no CA key): performed, and failed.
	cfg := testConfig()
	cfg.CAPK = nil
	res = purchaseTVR(t, kernelFrom(t, cfg), loadCard(t, "cda.json"), 1234)
	assert.True(t, res.TVR.Has(kernel.TVRCDAFailed), "%s", res.TVR)
	assert.True(t, res.TSI.Has(kernel.TSIODAPerformed), "%s", res.TSI)
}

// EMV Book 3 §10.10 (HXEMV EmvModul.c iEmvScriptProc, after EMV cases
// 2CO.034): issuer scripts the terminal cannot process still count as
// processed in the TSI, and fail in the TVR; no scripts, neither.
func TestTSIScriptPerformedWhenTheScriptsAreMalformed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scripts []byte
		tsi     bool
	}{
		{name: "no scripts"},
		{name: "malformed scripts", scripts: []byte{0x72, 0x05, 0x86, 0x09}, tsi: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBank(t, "low-balance.json", 200000)
			host := kernel.HostFunc(func(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
				resp, err := b.host.Authorize(ctx, req)
				if err == nil {
					resp.Scripts = tc.scripts
				}
				return resp, err
			})
			res := purchaseTVR(t, b.kernel(t, testPIN, host), b.card, 1234)
			require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
			assert.Equal(t, tc.tsi, res.TSI.Has(kernel.TSIScriptPerformed), "%s", res.TSI)
			assert.Equal(t, tc.tsi, res.TVR.Has(kernel.TVRScriptFailedAfter), "%s", res.TVR)
			// An unparsable field names no template: it fails before and after.
			assert.Equal(t, tc.tsi, res.TVR.Has(kernel.TVRScriptFailedBefore), "%s", res.TVR)
			assert.True(t, res.TSI.Has(kernel.TSIIssuerAuthPerformed))
			assert.False(t, res.TVR.Has(kernel.TVRIssuerAuthFailed))
		})
	}
}

// EMV Book 3 §9.2.2 and §5.4: "default TDOL used" when the CDOL asks for
// the TC hash (98), the card has no TDOL (97) and the terminal's default
// one is used; not when the card has its own or nobody asks for 98.
func TestTVRDefaultTDOLUsedOnlyWhenTheCardHasNoTDOL(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cdol1 string
		extra map[string]string
		set   bool
	}{
		{name: "98 asked, no 97", cdol1: cardsim.DefaultCDOL1 + "9814", set: true},
		{name: "98 asked, the card's 97", cdol1: cardsim.DefaultCDOL1 + "9814", extra: map[string]string{"97": "9F0206"}},
		{name: "98 not asked", cdol1: cardsim.DefaultCDOL1},
	} {
		card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.CDOL1, a.Extra = tc.cdol1, tc.extra }))
		cfg := testConfig()
		for i := range cfg.Applications {
			cfg.Applications[i].TDOL = []byte{0x9F, 0x02, 0x06}
		}
		res := purchaseTVR(t, kernelFrom(t, cfg), card, 1234)
		assert.Equal(t, tc.set, res.TVR.Has(kernel.TVRDefaultTDOLUsed), "%s: %s", tc.name, res.TVR)
		assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, "%s: %s", tc.name, res.Detail)
	}
}

// No path of this kernel lets a merchant force a sale online, so "merchant
// forced transaction online" is never set; nor is an RFU bit.
func TestTVRMerchantForcedOnlineIsNeverSet(t *testing.T) {
	for _, profile := range []string{"default.json", "cda.json", "sda.json", "low-balance.json", "no-oda.json"} {
		for _, amount := range []kernel.Amount{1234, onlineAmount} {
			b := newBank(t, profile, 200000)
			res := purchaseTVR(t, newKernel(t, kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})), b.card, amount)
			assert.False(t, res.TVR.Has(kernel.TVRMerchantForcedOnline), "%s %s: %s", profile, amount, res.TVR)
			rfu := kernel.TVR{0x01, 0x07, 0x03, 0x07, 0x0F}
			for i := range rfu {
				assert.Zero(t, res.TVR[i]&rfu[i], "%s %s: RFU bits of TVR byte %d: %s", profile, amount, i+1, res.TVR)
			}
			assert.Zero(t, res.TSI[0]&0x03|res.TSI[1], "%s: RFU bits of the TSI: %s", profile, res.TSI)
		}
	}
}
