// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// The qPBOC (contactless) audit: one test per rule, named after it (README
// "Contactless TVR and qualifiers"). The card is cardsim's, its
// cryptograms and fDDA signatures real.

// stripTag removes tag from the format-2 GPO answer and the records: the
// card "forgot" it.
func stripTag(inner apdu.Transport, tag tlv.Tag) apdu.Transport {
	gpoOrRecord := func(c apdu.Command) bool { return c.INS == hostile.INSGPO || c.INS == hostile.INSReadRecord }
	return hostile.NewCard(inner, hostile.Rewrite(gpoOrRecord, func(d []byte) []byte { return withoutTag(d, tag) }))
}

// sentPDOL returns what the kernel sent the card in GPO, split by its PDOL.
func sentPDOL(t *testing.T, res *kernel.Result) map[tlv.Tag][]byte {
	t.Helper()
	var pdol []byte
	for _, e := range res.Trace {
		c, err := apdu.ParseCommand(e.Command)
		require.NoError(t, err)
		r, err := apdu.ParseResponse(e.Response)
		require.NoError(t, err)
		if v, ok, _ := tlv.Find(r.Data, 0x9F38); c.INS == 0xA4 && ok {
			pdol = v
		}
		if c.INS == 0xA8 {
			dol, err := tlv.ParseDOL(pdol)
			require.NoError(t, err)
			sent, err := dol.Split(c.Data[2:])
			require.NoError(t, err)
			return sent
		}
	}
	t.Fatal("no GPO in the trace")
	return nil
}

func TestQPBOCTVRIsZeroWhenNothingFailed(t *testing.T) {
	_, cl := tapCard(t, "default.json")
	res, err := tracedKernel(t).PurchaseContactless(context.Background(), cl, 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.TVR{}, res.TVR, "a clean tap: no bit, not even ODA not performed")
	assert.Equal(t, []byte{0, 0, 0, 0, 0}, sentPDOL(t, res)[0x95], "the TVR the card's cryptogram covers")
	assert.True(t, res.TSI.Has(kernel.TSIODAPerformed))
	assert.True(t, res.TSI.Has(kernel.TSICardRiskPerformed))
	assert.False(t, res.SignatureRequired)
}

func TestQPBOCFDDAFailedSetsDDAFailed(t *testing.T) {
	_, cl := tapCard(t, "default.json")
	cfg := testConfig()
	cfg.OnlineCapable = false
	res, err := kernelFrom(t, cfg).PurchaseContactless(context.Background(), &fddaBreaker{inner: cl}, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
	// fDDA is DDA's bit (B1 b4), as HXEMV EmvModul.c iEmvOfflineDataAuth sets it.
	assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
	for _, b := range []kernel.TVRBit{kernel.TVRODANotPerformed, kernel.TVRSDAFailed, kernel.TVRCDAFailed, kernel.TVRICCDataMissing} {
		assert.False(t, res.TVR.Has(b), b)
	}
	assert.True(t, res.TSI.Has(kernel.TSIODAPerformed))
}

func TestQPBOCFDDAWithoutSignatureSetsICCDataMissing(t *testing.T) {
	card, cl := tapCard(t, "default.json")
	jr := journal.NewMemory()
	cfg := testConfig()
	cfg.OnlineCapable = false
	res, err := kernelFrom(t, cfg, kernel.WithJournal(jr)).PurchaseContactless(context.Background(), stripTag(cl, 0x9F4B), 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
	assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
	assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing), "a TC without 9F4B lacks a data object fDDA needs")
	assert.Equal(t, uint64(50000-1234), card.Balance(debitAID), "the card paid at GPO")
	assert.Len(t, ledger(t, jr)[journal.KindDiscrepancy], 1, "kept for the issuer")
}

func TestQPBOCARQCSetsNoODABit(t *testing.T) {
	b := newBank(t, "default.json", 200000)
	res, err := b.tracedKernel(t).PurchaseContactless(context.Background(), cardsim.NewContactless(b.card), 60000)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	// No ODA on an online tap (HXEMV: fDDA only on the qPBOC offline route).
	assert.False(t, res.TVR.Has(kernel.TVRODANotPerformed))
	assert.False(t, res.TVR.Has(kernel.TVRDDAFailed))
	assert.False(t, res.TSI.Has(kernel.TSIODAPerformed))
}

func TestQPBOCField55CarriesTheTVRTheCryptogramCovers(t *testing.T) {
	b := newBank(t, "default.json", 200000)
	var got *kernel.AuthRequest
	host := kernel.HostFunc(func(ctx context.Context, r *kernel.AuthRequest) (*kernel.AuthResponse, error) {
		got = r
		return b.host.Authorize(ctx, r)
	})
	cfg := testConfig()
	cfg.Trace = true
	res, err := kernelFrom(t, cfg, kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})).
		PurchaseContactless(context.Background(), cardsim.NewContactless(b.card), 60000)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	require.NotNil(t, got)
	assert.True(t, res.TVR.Has(kernel.TVROnlinePINEntered), "the terminal's TVR learns the PIN")
	tvr, ok, err := tlv.Find(got.Field55, 0x95)
	require.NoError(t, err)
	require.True(t, ok)
	// The card computed its ARQC at GPO over the PDOL's 95: the issuer
	// verifies it with field 55's, so that one is what the card was sent.
	assert.Equal(t, sentPDOL(t, res)[0x95], tvr)
	// What an issuer needs of a qPBOC tap (the CUPS field 55 list and the
	// qPBOC qualifiers).
	for _, tag := range []tlv.Tag{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A,
		0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F66, 0x9F6C} {
		_, ok, err := tlv.Find(got.Field55, tag)
		require.NoError(t, err)
		assert.True(t, ok, "field 55 carries %s", tag)
	}
	assert.NotEmpty(t, got.PINBlock)
}

func TestQPBOCTTQPerAmountAndConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		amount kernel.Amount
		config func(*kernel.Config)
		want   kernel.HexBytes
	}{
		{"below every limit: qPBOC, contact, online PIN, signature; fDDA 01", 1234, nil, kernel.HexBytes{0x36, 0x00, 0x00, 0x80}},
		{"offline-only terminal: byte 1 bit 4", 1234, func(c *kernel.Config) { c.OnlineCapable = false }, kernel.HexBytes{0x3E, 0x00, 0x00, 0x80}},
		{"no contact interface: byte 1 bit 5 clear", 1234, func(c *kernel.Config) { c.Capabilities[0] &^= 0x20 }, kernel.HexBytes{0x26, 0x00, 0x00, 0x80}},
		{"no online PIN for the AID (DF18 00): byte 1 bit 3 clear", 1234, func(c *kernel.Config) { c.Applications[0].OnlinePIN = false }, kernel.HexBytes{0x32, 0x00, 0x00, 0x80}},
		{"at the contactless floor limit: offline allowed", 50000, nil, kernel.HexBytes{0x36, 0x40, 0x00, 0x80}},
		{"above the contactless floor limit: online cryptogram", 50001, nil, kernel.HexBytes{0x36, 0xC0, 0x00, 0x80}},
		{"no contactless floor limit: the floor limit 9F1B", 1234, func(c *kernel.Config) {
			c.Applications[0].ContactlessFloorLimit, c.Applications[0].FloorLimit = 0, 1000
		}, kernel.HexBytes{0x36, 0x80, 0x00, 0x80}},
		{"just below the CVM limit", 29999, nil, kernel.HexBytes{0x36, 0x00, 0x00, 0x80}},
		{"at the CVM limit: CVM required", 30000, nil, kernel.HexBytes{0x36, 0x40, 0x00, 0x80}},
		{"zero amount, online terminal: online cryptogram", 0, nil, kernel.HexBytes{0x36, 0x80, 0x00, 0x80}},
		{"status check 1.00: online cryptogram", 100, func(c *kernel.Config) { c.Applications[0].StatusCheck = true }, kernel.HexBytes{0x36, 0x80, 0x00, 0x80}},
		{"status check, 1.01: offline allowed", 101, func(c *kernel.Config) { c.Applications[0].StatusCheck = true }, kernel.HexBytes{0x36, 0x00, 0x00, 0x80}},
		{"1.00 without status check: offline allowed", 100, nil, kernel.HexBytes{0x36, 0x00, 0x00, 0x80}},
		{"base TTQ without fDDA 01: byte 4 clear", 1234, func(c *kernel.Config) { c.Applications[0].TTQ = [4]byte{0x26, 0, 0, 0} }, kernel.HexBytes{0x36, 0x00, 0x00, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cl := tapCard(t, "default.json")
			cfg := testConfig()
			if tc.config != nil {
				tc.config(&cfg)
			}
			res, err := kernelFrom(t, cfg).PurchaseContactless(context.Background(), cl, tc.amount)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.TTQ, res.Detail)
		})
	}
	t.Run("zero amount on an offline-only terminal: another interface, card not addressed", func(t *testing.T) {
		_, cl := tapCard(t, "default.json")
		cfg := testConfig()
		cfg.OnlineCapable = false
		res, err := kernelFrom(t, cfg).PurchaseContactless(context.Background(), cl, 0)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeTryAnotherInterface, res.Outcome)
		assert.Equal(t, kernel.ReasonZeroAmount, res.Reason)
		assert.Zero(t, res.APDUs)
	})
}

func TestQPBOCConsumerDeviceCVMReplacesTheSignatureWhenFDDA01SignsIt(t *testing.T) {
	for _, tc := range []struct {
		profile string
		sign    bool
	}{
		{"default.json", false},  // fDDA 01: 9F69 signs the CTQ, the device verified
		{"ql-fdda00.json", true}, // fDDA 00 signs no CTQ: the claim does not count
	} {
		t.Run(tc.profile, func(t *testing.T) {
			card := newCard(t, profileWith(t, tc.profile, func(a *cardsim.Application) {
				q := cardsim.QPBOC{}
				if a.QPBOC != nil {
					q = *a.QPBOC
				}
				q.CTQ = "6080" // online if ODA fails, signature, consumer device CVM performed
				a.QPBOC = &q
			}))
			res, err := newKernel(t).PurchaseContactless(context.Background(), cardsim.NewContactless(card), 1234)
			require.NoError(t, err)
			assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
			assert.Equal(t, tc.sign, res.SignatureRequired)
			assert.Equal(t, !tc.sign, strings.Contains(res.Detail, "consumer device"), res.Detail)
		})
	}
}

func TestQPBOCConsumerDeviceCVMSatisfiesTheCVMRequiredOnline(t *testing.T) {
	// No online PIN for the AID: the card's ARQC asks for none (cardsim adds
	// online PIN only when the TTQ offers it), CVM is required (30000 on).
	cfg := testConfig()
	cfg.Applications[0].OnlinePIN = false
	for _, tc := range []struct {
		ctq      string
		outcome  kernel.Outcome
		reason   kernel.Reason
		signHere bool
	}{
		{"2080", kernel.OutcomeApprovedOnline, kernel.ReasonOnlineApproved, false}, // the phone verified
		{"2000", kernel.OutcomeDeclined, kernel.ReasonCVMNotPerformed, false},      // nobody verified
		{"6000", kernel.OutcomeApprovedOnline, kernel.ReasonOnlineApproved, true},  // a signature
	} {
		t.Run(tc.ctq, func(t *testing.T) {
			card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.QPBOC = &cardsim.QPBOC{CTQ: tc.ctq} }))
			res, err := kernelFrom(t, cfg, kernel.WithHost(kernel.HostFunc(approveAll))).
				PurchaseContactless(context.Background(), cardsim.NewContactless(card), 60000)
			require.NoError(t, err)
			assert.Equal(t, tc.outcome, res.Outcome, res.Detail)
			assert.Equal(t, tc.reason, res.Reason)
			assert.Equal(t, tc.signHere, res.SignatureRequired)
		})
	}
}

func TestQPBOCNoCTQOnAnOnlineTapIsASignature(t *testing.T) {
	cfg := testConfig()
	cfg.Applications[0].OnlinePIN = false
	_, cl := tapCard(t, "default.json")
	res, err := kernelFrom(t, cfg, kernel.WithHost(kernel.HostFunc(approveAll))).
		PurchaseContactless(context.Background(), stripTag(cl, 0x9F6C), 60000)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.True(t, res.SignatureRequired, "JR/T 0025.12 §7.6: no CTQ and CVM required means a signature")
}

func TestRuleFDDA01SignsTheCTQ(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set, clear [2]byte
	}{
		{"a relay sets consumer device CVM performed", [2]byte{0, 0x80}, [2]byte{}},
		{"a relay sets signature required", [2]byte{0x40, 0}, [2]byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card, cl := tapCard(t, "default.json")
			jr := journal.NewMemory()
			res, err := newKernel(t, kernel.WithJournal(jr)).PurchaseContactless(context.Background(), hostile.NewCard(cl, hostile.SetCTQ(tc.set, tc.clear)), 1234)
			require.NoError(t, err)
			assert.False(t, approved(res.Outcome), res.Detail)
			assert.True(t, res.TVR.Has(kernel.TVRDDAFailed), "the CTQ the card signed in 9F69 is not 9F6C")
			assert.Contains(t, res.ODAError, "9F69")
			assert.Equal(t, uint64(50000-1234), card.Balance(debitAID))
			assert.Len(t, ledger(t, jr)[journal.KindDiscrepancy], 1)
		})
	}
}

func TestQPBOCExceptionFileSetsItsBit(t *testing.T) {
	_, cl := tapCard(t, "default.json")
	cfg := testConfig()
	cfg.ExceptionFile = []string{"6222021000123456781"}
	res, err := kernelFrom(t, cfg).PurchaseContactless(context.Background(), cl, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
	assert.True(t, res.TVR.Has(kernel.TVRCardOnExceptionFile))
	assert.True(t, res.Discrepancy, "the card paid at GPO")
}

func TestQPBOCTheSameCardTappedTwiceIsTwoSales(t *testing.T) {
	card, cl := tapCard(t, "default.json")
	jr := journal.NewMemory()
	k := newKernel(t, kernel.WithJournal(jr), kernel.WithTornLog(&kernel.MemoryTornLog{}))
	first, err := k.PurchaseContactless(context.Background(), cl, 1234)
	require.NoError(t, err)
	second, err := k.PurchaseContactless(context.Background(), cl, 1234)
	require.NoError(t, err)
	// A completed tap leaves no torn record: the second tap is a sale of
	// its own, with its own TC and ATC, not a recovery.
	assert.Equal(t, kernel.OutcomeApprovedOffline, first.Outcome)
	assert.Equal(t, kernel.OutcomeApprovedOffline, second.Outcome, second.Detail)
	assert.NotEqual(t, kernel.ReasonTornRecovered, second.Reason)
	assert.Equal(t, first.ATC+1, second.ATC)
	assert.Equal(t, uint64(50000-2*1234), card.Balance(debitAID))
	assert.Len(t, ledger(t, jr)[journal.KindECOfflineSale], 2)
}

func TestQPBOCTrack2DoesNotReplaceThe5APAN(t *testing.T) {
	// The GPO's 57 says another PAN; the PAN is 5A's (the one fDDA's ICC
	// certificate binds), 57 only stands in when 5A is absent.
	_, cl := tapCard(t, "default.json")
	other := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSGPO }, func(d []byte) []byte {
		i := bytes.Index(d, []byte{0x57, 0x13, 0x62, 0x22, 0x02})
		if i >= 0 {
			d[i+5] = 0x99
		}
		return d
	})
	res, err := newKernel(t).PurchaseContactless(context.Background(), hostile.NewCard(cl, other), 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, "622202*********", res.PAN[:15])
	assert.Equal(t, "781", res.PAN[len(res.PAN)-3:], "5A's last digits")
}
