// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"crypto/sha1"
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

// The PBOC level-2 conformance items of issue 13, one test each, named by
// the item and citing the reference it follows (the README's conformance
// table lists them).

// gpoData returns the data of the GPO command of a traced result (the
// PDOL data, inside 83).
func gpoData(t *testing.T, res *kernel.Result) []byte {
	t.Helper()
	for _, e := range res.Trace {
		if len(e.Command) > 7 && e.Command[1] == 0xA8 {
			return e.Command[7 : 7+int(e.Command[6])]
		}
	}
	t.Fatal("no GPO in the trace")
	return nil
}

// commandsOf counts the traced commands with instruction ins (and P1 P2
// when given).
func commandsOf(res *kernel.Result, ins byte, p1p2 ...byte) int {
	n := 0
	for _, e := range res.Trace {
		if len(e.Command) >= 4 && e.Command[1] == ins && (len(p1p2) < 2 || (e.Command[2] == p1p2[0] && e.Command[3] == p1p2[1])) {
			n++
		}
	}
	return n
}

// Item 1: EC is offered (9F7A = 01) only for an amount below 9F7B (PBOC
// Book 13 §7.5, HXEMV EmvModul.c:195) and only to a card whose PDOL asks
// for 9F7A; a card never offered EC is not asked why it declined it.
func TestConformance01ECOfferBelowTheLimitAndOnlyWhenAsked(t *testing.T) {
	cfg := testConfig()
	cfg.Trace = true
	for i := range cfg.Applications {
		cfg.Applications[i].ECTransactionLimit = 1000
	}
	k := kernelFrom(t, cfg)
	for _, tc := range []struct {
		amount kernel.Amount
		offer  byte
	}{{999, 0x01}, {1000, 0x00}, {1001, 0x00}} {
		res, err := k.Purchase(context.Background(), loadCard(t, "default.json"), tc.amount)
		require.NoError(t, err)
		assert.Equal(t, tc.offer, gpoData(t, res)[0], "9F7A for %s with 9F7B 10.00", tc.amount)
	}

	// A plain debit card whose PDOL has no 9F7A: no offer, no GET DATA.
	card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { pdol := "9F02065F2A02"; a.PDOL = &pdol }))
	res, err := tracedKernel(t).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.ReasonECNotSupported, res.Reason, res.Detail)
	assert.Zero(t, commandsOf(res, 0xCA, 0x9F, 0x79), "never asked why it declined an offer it never got")
}

// Item 2: on the EC path the terminal reads 9F79 and 9F6D (Book 13 §7.4.2
// as HXEMV quotes it), not 9F78 (TestEconomyContactECPurchase pins the
// sequence); ReadBalance stops once the card refused 9F79.
func TestConformance02NoSingleLimitOnTheECPathAndBalanceStops(t *testing.T) {
	res, err := tracedKernel(t).Purchase(context.Background(), loadCard(t, "default.json"), 1234)
	require.NoError(t, err)
	assert.Zero(t, commandsOf(res, 0xCA, 0x9F, 0x78))

	lies := hostile.NewCard(loadCard(t, "default.json"), hostile.Answer(func(c apdu.Command) bool {
		return c.INS == hostile.INSGetData && c.P1 == 0x9F && c.P2 == 0x79
	}, []byte{0x6A, 0x88}))
	b, err := newKernel(t).ReadBalance(context.Background(), lies)
	require.ErrorIs(t, err, kernel.ErrNoEC)
	assert.Nil(t, b.Limit)
	assert.Nil(t, b.SingleLimit)
	assert.Nil(t, b.ResetThreshold)
	assert.Equal(t, 5, b.APDUs, "SELECT PSE, 2 directory records, SELECT, one GET DATA")
}

// Item 4: a top-up succeeds when the card holds what the issuer's script
// set, whatever the issuer chose to refill to — not only 9F77.
func TestConformance04TopUpToTheIssuersValue(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	require.NoError(t, b.host.QueueUpdate(b.pan, 0x9F79, bcdN(80000, 6))) // the issuer refills to 800.00
	res, err := b.kernel(t, testPIN, nil).Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.NotEqual(t, kernel.ReasonScriptFailed, res.Reason, res.Detail)
	require.NotNil(t, res.BalanceAfter)
	assert.Equal(t, kernel.Amount(80000), *res.BalanceAfter)
	assert.Equal(t, uint64(80000), b.card.Balance(debitAID))
}

// Item 5: the issuer discretionary data in 9F10 is found by its length
// byte, ID 01 with 10 bytes or more (HXEMV): a card with a longer IDD
// still reports its balance in its TC, without a GET DATA.
func TestConformance05IDDByItsLengthByte(t *testing.T) {
	longer := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSGenerateAC }, func(d []byte) []byte {
		o, err := tlv.ParseSingle(d)
		if err != nil || o.Tag != 0x80 || len(o.Value) < 11+19 {
			return d
		}
		v := append([]byte(nil), o.Value...)
		v[11+8] = 0x0B      // IDD length 11
		v = append(v, 0xEE) // one more IDD byte
		return tlv.Append(nil, 0x80, v)
	})
	res, err := tracedKernel(t).Purchase(context.Background(), hostile.NewCard(loadCard(t, "default.json"), longer), 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	require.NotNil(t, res.BalanceAfter)
	assert.Equal(t, kernel.Amount(50000-1234), *res.BalanceAfter)
	assert.Equal(t, 1, commandsOf(res, 0xCA, 0x9F, 0x79), "only the GET DATA before the sale")
}

// Item 8: fDDA fails and the card sent no CTQ: declined, not online
// (qpboc-kernel QfDDAProcess.java:32-35).
func TestConformance08FDDAFailsWithoutCTQDeclines(t *testing.T) {
	noCTQ := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSGPO }, func(d []byte) []byte {
		o, err := tlv.ParseSingle(d)
		if err != nil {
			return d
		}
		objs, _ := tlv.Parse(o.Value)
		var inner []byte
		for _, x := range objs {
			v := x.Value
			switch x.Tag {
			case 0x9F6C:
				continue
			case 0x9F4B:
				v = append([]byte(nil), v...)
				v[len(v)/2] ^= 0x01 // fDDA fails
			}
			inner = tlv.Append(inner, x.Tag, v)
		}
		return tlv.Append(nil, 0x77, inner)
	})
	k := newKernel(t, kernel.WithHost(kernel.HostFunc(approveAll)))
	res, err := k.PurchaseContactless(context.Background(), hostile.NewCard(cardsim.NewContactless(loadCard(t, "default.json")), noCTQ), 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonODAFailed, res.Reason)
	assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
}

// Item 9: fDDA version 00 is refused when the terminal supports version 01
// and the card's application version is 0030 or later (PBOC公告03, HXEMV
// EmvDAuth.c:1090-1103); an older card's version 00 is accepted.
func TestConformance09FDDAVersion00FromA0030Card(t *testing.T) {
	for _, tc := range []struct {
		version string
		ok      bool
	}{{"0020", true}, {"0030", false}} {
		card := newCard(t, profileWith(t, "ql-fdda00.json", func(a *cardsim.Application) { a.ApplicationVersion = tc.version }))
		res, err := newKernel(t).PurchaseContactless(context.Background(), cardsim.NewContactless(card), 1234)
		require.NoError(t, err)
		assert.Equal(t, tc.ok, res.Outcome == kernel.OutcomeApprovedOffline, "9F08 %s: %s", tc.version, res.Detail)
		assert.Equal(t, !tc.ok, res.TVR.Has(kernel.TVRDDAFailed))
	}
}

// Item 10: a signature the card asks for is reported (CTQ byte 1 bit 7),
// and a tap that requires cardholder verification whose card sent no CTQ
// asks for a signature (JR/T 0025.12 §7.6/7.8, as HXEMV PbocCtls.c quotes
// it).
func TestConformance10SignatureReported(t *testing.T) {
	card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.EC.Balance, a.EC.SingleLimit = "1000.00", "1000.00" }))
	relay := hostile.RelayTTQ([4]byte{0, 0x40, 0, 0}, [4]byte{}) // the card sees no CVM requirement and answers TC
	dropCTQ := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSGPO }, func(d []byte) []byte {
		o, err := tlv.ParseSingle(d)
		if err != nil {
			return d
		}
		objs, _ := tlv.Parse(o.Value)
		var inner []byte
		for _, x := range objs {
			if x.Tag != 0x9F6C {
				inner = tlv.Append(inner, x.Tag, x.Value)
			}
		}
		return tlv.Append(nil, 0x77, inner)
	})
	both := &stacked{lies: []hostile.Lie{relay, dropCTQ}}
	res, err := newKernel(t).PurchaseContactless(context.Background(), hostile.NewCard(cardsim.NewContactless(card), both), 40000)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.True(t, res.SignatureRequired, "no CTQ on a tap that requires CVM: a signature")
}

// stacked applies several lies to one command: each one's change of the
// command reaches the next, each one's change of the answer the previous.
type stacked struct{ lies []hostile.Lie }

func (s *stacked) Match(x *hostile.Exchange) bool {
	for _, l := range s.lies {
		if l.Match(x) {
			return true
		}
	}
	return false
}

func (s *stacked) Apply(ctx context.Context, x *hostile.Exchange, forward func(apdu.Command) ([]byte, error)) ([]byte, error) {
	next := forward
	for i := len(s.lies) - 1; i >= 0; i-- {
		l, inner := s.lies[i], next
		next = func(c apdu.Command) ([]byte, error) {
			y := *x
			y.Command = c
			return l.Apply(ctx, &y, inner)
		}
	}
	return next(x.Command)
}

// Item 11: GPO 6985 on a tap removes the application and the next one is
// tried (as EMV Book 3 §10.1 on contact; QPOS does so; HXEMV ends the tap
// — we follow EMV).
func TestConformance11TapGPO6985TriesTheNextApplication(t *testing.T) {
	card := loadCard(t, "two-apps.json")
	lies := hostile.NewCard(cardsim.NewContactless(card), hostile.Answer(func(c apdu.Command) bool { return c.INS == hostile.INSGPO }, []byte{0x69, 0x85}))
	res, err := tracedKernel(t).PurchaseContactless(context.Background(), lies, 1234)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, commandsOf(res, 0xA8), 2, "a GPO for the next application: %s", res.Detail)
}

// Item 12: "ICC data missing" when ODA cannot be done for lack of 9F32,
// 93, 9F46, 9F47 or a needed remainder, not only 8F/90 (HXEMV
// EmvDAuth.c:210-220, 265-272, 423-433).
func TestConformance12ICCDataMissing(t *testing.T) {
	for _, tc := range []struct {
		profile string
		tag     tlv.Tag
	}{{"default.json", 0x9F32}, {"default.json", 0x9F46}, {"default.json", 0x9F47}, {"default.json", 0x9F48}, {"sda.json", 0x93}} {
		t.Run(tc.tag.String(), func(t *testing.T) {
			drop := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSReadRecord }, func(d []byte) []byte {
				return withoutTag(d, tc.tag)
			})
			res, err := newKernel(t).Purchase(context.Background(), hostile.NewCard(loadCard(t, tc.profile), drop), 1234)
			require.NoError(t, err)
			require.NotEmpty(t, res.ODAError, "%s removed, ODA fails", tc.tag)
			assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing), "%s: %s", tc.tag, res.ODAError)
		})
	}
}

// withoutTag removes tag from a 70 record template or a 77 format 2
// answer; anything else is returned as it is.
func withoutTag(d []byte, tag tlv.Tag) []byte {
	o, err := tlv.ParseSingle(d)
	if err != nil || o.Tag != 0x70 && o.Tag != 0x77 {
		return d
	}
	objs, err := tlv.Parse(o.Value)
	if err != nil {
		return d
	}
	var inner []byte
	for _, x := range objs {
		if x.Tag != tag {
			inner = tlv.Append(inner, x.Tag, x.Value)
		}
	}
	return tlv.Append(nil, o.Tag, inner)
}

// Item 14: a terminal supporting SM2/SM3/SM4 sends DF69 = 01 when the PDOL
// asks for it (a PBOC 3.0 SM2 card's PDOL ends DF6001 DF6901); one that does
// not sends 00; an unknown PDOL tag (DF60 here) stays zeros.
func TestConformance14DF69(t *testing.T) {
	for _, sm := range []bool{true, false} {
		card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { pdol := "9F7A019F02065F2A02DF6001DF6901"; a.PDOL = &pdol }))
		cfg := testConfig()
		cfg.Trace, cfg.SM = true, sm
		res, err := kernelFrom(t, cfg).Purchase(context.Background(), card, 1234)
		require.NoError(t, err)
		data := gpoData(t, res)
		want := byte(0)
		if sm {
			want = 1
		}
		assert.Equal(t, want, data[len(data)-1], "DF69 with SM %t", sm)
		assert.Equal(t, byte(0), data[len(data)-2], "DF60 unknown: zeros")
	}
}

// Item 17: velocity checking whose GET DATA of the ATC or last online ATC
// fails sets "ICC data missing" and both consecutive-offline-limit bits;
// a last online ATC of 0 sets "new card" (EMV Book 3 §10.6.3; HXEMV
// EmvModul.c:1309-1322).
func TestConformance17VelocityChecking(t *testing.T) {
	withLimits := func(a *cardsim.Application) { a.Extra = map[string]string{"9F14": "03", "9F23": "05"} }
	// Above the balance: the online path, where velocity checking runs.
	lies := hostile.NewCard(newCard(t, profileWith(t, "default.json", withLimits)),
		hostile.Answer(func(c apdu.Command) bool { return c.INS == hostile.INSGetData && c.P1 == 0x9F && c.P2 == 0x13 }, []byte{0x6A, 0x88}))
	res, err := newKernel(t).Purchase(context.Background(), lies, 60000)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing))
	assert.True(t, res.TVR.Has(kernel.TVRLCOLExceeded))
	assert.True(t, res.TVR.Has(kernel.TVRUCOLExceeded))

	res, err = newKernel(t).Purchase(context.Background(), newCard(t, profileWith(t, "default.json", withLimits)), 60000)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRNewCard), "last online ATC 0")
	assert.False(t, res.TVR.Has(kernel.TVRICCDataMissing))
}

// Item 18: unable to go online, 8A is Y3 when the second GENERATE AC asks
// for a TC and Z3 with an AAC (EMV Book 4 §A6; HXEMV EmvModul.c:2239-2250).
func TestConformance18UnableToGoOnlineY3Z3(t *testing.T) {
	for _, tc := range []struct {
		tacDefault [5]byte
		want       string
	}{{[5]byte{}, "Y3"}, {[5]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "Z3"}} {
		card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.IACDefault = "0000000000" }))
		cfg := testConfig()
		cfg.Trace = true
		for i := range cfg.Applications {
			cfg.Applications[i].TACDefault = tc.tacDefault
		}
		h := hostsim.New()
		h.SetUnreachable(true)
		res, err := kernelFrom(t, cfg, kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})).Purchase(context.Background(), card, 60000)
		require.NoError(t, err)
		var second []byte
		n := 0
		for _, e := range res.Trace {
			if len(e.Command) > 7 && e.Command[1] == 0xAE {
				if n++; n == 2 {
					second = e.Command[5:]
				}
			}
		}
		require.NotNil(t, second, res.Detail)
		assert.Equal(t, tc.want, string(second[:2]), "8A leads the CDOL2 data")
	}
}

// Item 19: PSE directory entries that name a DDF (9D) are followed, depth
// bounded (EMV Book 1 §12.3.2; HXEMV EmvSele.c:559-650).
func TestConformance19PSEDirectoryFollowsDDFs(t *testing.T) {
	ddf := []byte("1PAY.SYS.DDF02")
	aid := []byte{0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01}
	psr := tlv.Append(nil, 0x70, tlv.Append(nil, 0x61, tlv.Append(nil, 0x9D, ddf)))
	fci := tlv.Append(nil, 0x6F, append(tlv.Append(nil, 0x84, ddf), tlv.Append(nil, 0xA5, tlv.Append(nil, 0x88, []byte{0x09}))...))
	entry := tlv.Append(nil, 0x70, tlv.Append(nil, 0x61, append(tlv.Append(nil, 0x4F, aid), tlv.Append(nil, 0x87, []byte{0x01})...)))
	lies := hostile.NewCard(loadCard(t, "default.json"),
		hostile.ReadRecord(1, 1, psr),
		hostile.Answer(func(c apdu.Command) bool { return c.INS == hostile.INSSelect && bytes.Equal(c.Data, ddf) }, append(fci, 0x90, 0x00)),
		hostile.ReadRecord(9, 1, entry),
		hostile.Answer(func(c apdu.Command) bool { return c.INS == hostile.INSReadRecord && c.P2 == 9<<3|4 && c.P1 == 2 }, []byte{0x6A, 0x83}),
	)
	res, err := tracedKernel(t).Purchase(context.Background(), lies, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Positive(t, lies.Told(1), "the DDF was selected")
	assert.Positive(t, lies.Told(2), "and its directory read")
	assert.Zero(t, commandsOf(res, 0xA4, 0x04, 0x02), "no SELECT NEXT over the AID list: the PSE sufficed")
}

// Item 7: the load log (DF4D / DF4F) reads like the transaction log: after
// a cash load, its newest record says 9F79 went from the balance before to
// the balance after, with the load's date and ATC.
func TestConformance07LoadLog(t *testing.T) {
	b := newBank(t, "default.json", 200000)
	res, err := b.kernel(t, testPIN, nil).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 10000})
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	entries, err := newKernel(t).ReadLoadLog(context.Background(), b.card)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	e := entries[0]
	assert.Equal(t, "9F79", e.Tag)
	assert.Equal(t, kernel.Amount(50000), e.Before)
	assert.Equal(t, kernel.Amount(60000), e.After)
	assert.Equal(t, res.ATC, e.ATC)
	assert.Equal(t, fixedNow.Format("2006-01-02"), e.Time.Format("2006-01-02"))

	// A card without a load log says so.
	_, err = newKernel(t).ReadLoadLog(context.Background(), hostile.NewCard(loadCard(t, "default.json"),
		hostile.Answer(func(c apdu.Command) bool { return c.INS == hostile.INSGetData && c.P1 == 0xDF && c.P2 == 0x4F }, []byte{0x6A, 0x88})))
	require.ErrorIs(t, err, kernel.ErrNoLog)
}

// Item 6: second-currency EC (PBOC 3.0). When the card's second EC
// currency (DF71) is the transaction currency, the terminal decides and
// reports on DF79 (balance) and DF76 (reset threshold), and the card pays
// from that purse; the application currency's balance is untouched. Below
// DF76 the top-up refills DF79.
func TestConformance06SecondCurrencyEC(t *testing.T) {
	usd := func() kernel.Config {
		cfg := testConfig()
		cfg.CurrencyCode = 840
		cfg.Trace = true
		return cfg
	}
	card := loadCard(t, "dual-currency.json")
	res, err := kernelFrom(t, usd()).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, uint16(840), res.ECCurrency)
	require.NotNil(t, res.BalanceBefore)
	assert.Equal(t, kernel.Amount(10000), *res.BalanceBefore, "DF79")
	require.NotNil(t, res.BalanceAfter)
	assert.Equal(t, kernel.Amount(10000-1234), *res.BalanceAfter)
	assert.Equal(t, uint64(10000-1234), card.SecondBalance(debitAID))
	assert.Equal(t, uint64(50000), card.Balance(debitAID), "the CNY purse is untouched")
	assert.Positive(t, commandsOf(res, 0xCA, 0xDF, 0x79))
	assert.Zero(t, commandsOf(res, 0xCA, 0x9F, 0x79))

	// In CNY the same card pays from 9F79 and is not asked for DF71.
	res, err = tracedKernel(t).Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	assert.Zero(t, res.ECCurrency)
	assert.Zero(t, commandsOf(res, 0xCA, 0xDF, 0x71))
	assert.Equal(t, uint64(50000-100), card.Balance(debitAID))

	// ReadBalance reports both purses.
	bal, err := newKernel(t).ReadBalance(context.Background(), card)
	require.NoError(t, err)
	require.NotNil(t, bal.Second)
	assert.Equal(t, uint16(840), bal.Second.Currency)
	assert.Equal(t, kernel.Amount(10000-1234), *bal.Second.Balance)
	assert.Equal(t, kernel.Amount(20000), *bal.Second.Limit)

	// Below DF76: an automatic top-up of the USD purse.
	p := profileWith(t, "dual-currency.json", func(a *cardsim.Application) { a.EC.SecondCurrency.ResetThreshold = "90.00" })
	c2 := newCard(t, p)
	h := hostsim.New()
	acc, err := hostsim.AccountFromProfile(p.Applications[0], 200000, testPIN)
	require.NoError(t, err)
	require.NoError(t, h.AddAccount(acc))
	res, err = kernelFrom(t, usd(), kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})).Purchase(context.Background(), c2, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.True(t, res.TopUp, res.Detail)
	assert.Equal(t, uint64(20000), c2.SecondBalance(debitAID), "DF79 refilled to DF77")
	assert.Equal(t, uint64(50000), c2.Balance(debitAID))
}

// Item 13: the default DDOL is a per-application terminal parameter
// (UnionPay DF14; EMV Book 2 §6.5.1), used when the card has no DDOL; with
// neither, DDA cannot be done ("ICC data missing"). The default TDOL
// likewise feeds the TC hash (98) when the CDOL asks for it and the card
// has no TDOL, and the TVR says "default TDOL used" (EMV Book 3 §5.4).
func TestConformance13DefaultDDOLAndTDOL(t *testing.T) {
	noDDOL := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSReadRecord }, func(d []byte) []byte { return withoutTag(d, 0x9F49) })
	for _, tc := range []struct {
		ddol   []byte
		dataLn int
	}{{[]byte{0x9F, 0x37, 0x04, 0x9F, 0x02, 0x06}, 10}, {nil, 0}} {
		cfg := testConfig()
		cfg.Trace = true
		for i := range cfg.Applications {
			cfg.Applications[i].DefaultDDOL = tc.ddol
		}
		res, err := kernelFrom(t, cfg).Purchase(context.Background(), hostile.NewCard(loadCard(t, "default.json"), noDDOL), 1234)
		require.NoError(t, err)
		var ia []byte
		for _, e := range res.Trace {
			if len(e.Command) > 5 && e.Command[1] == 0x88 {
				ia = e.Command[5 : 5+int(e.Command[4])]
			}
		}
		if tc.ddol == nil {
			assert.Nil(t, ia, "no INTERNAL AUTHENTICATE without a DDOL")
			assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
			assert.True(t, res.TVR.Has(kernel.TVRICCDataMissing))
			continue
		}
		assert.Len(t, ia, tc.dataLn, "the default DDOL's data: UN and amount")
		assert.Equal(t, res.UnpredictableNumber, kernel.HexBytes(ia[:4]))
	}

	// A card whose CDOL1 asks for the TC hash and which has no TDOL.
	card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) {
		a.CDOL1 = cardsim.DefaultCDOL1 + "9814"
	}))
	cfg := testConfig()
	cfg.Trace = true
	for i := range cfg.Applications {
		cfg.Applications[i].TDOL = []byte{0x9F, 0x02, 0x06}
	}
	res, err := kernelFrom(t, cfg).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRDefaultTDOLUsed))
	var genAC []byte
	for _, e := range res.Trace {
		if len(e.Command) > 5 && e.Command[1] == 0xAE {
			genAC = e.Command[5 : 5+int(e.Command[4])]
		}
	}
	want := sha1.Sum(bcdN(1234, 6))
	assert.Equal(t, want[:], genAC[len(genAC)-20:], "98 = SHA-1 of the default TDOL's data")
}
