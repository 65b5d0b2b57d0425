// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// gpoResponse returns the template of the trace's GPO response.
func gpoResponse(t *testing.T, res *kernel.Result) []byte {
	t.Helper()
	for _, e := range res.Trace {
		if len(e.Command) > 1 && e.Command[1] == 0xA8 {
			r, err := apdu.ParseResponse(e.Response)
			require.NoError(t, err)
			o, err := tlv.ParseSingle(r.Data)
			require.NoError(t, err)
			require.Equal(t, tlv.Tag(0x77), o.Tag)
			return o.Value
		}
	}
	t.Fatal("no GPO in the trace")
	return nil
}

// verifyFDDAFromTrace checks the tap's fDDA independently of the kernel:
// it rebuilds the keys from the records in the trace with the CA keys of
// the test CA keys and verifies the signature with crypto/oda.
func verifyFDDAFromTrace(t *testing.T, res *kernel.Result) {
	t.Helper()
	data := map[tlv.Tag][]byte{}
	var static []oda.Record
	var pdol, pdolData []byte
	for _, e := range res.Trace {
		c, err := apdu.ParseCommand(e.Command)
		require.NoError(t, err)
		r, err := apdu.ParseResponse(e.Response)
		require.NoError(t, err)
		require.NoError(t, tlv.Walk(r.Data, func(_ int, o tlv.TLV) error {
			if !o.Tag.Constructed() {
				data[o.Tag] = o.Value
			}
			return nil
		}))
		switch {
		case c.INS == 0xA4 && !bytes.HasSuffix(c.Data, []byte(".DDF01")):
			pdol = data[0x9F38]
		case c.INS == 0xA8:
			pdolData = c.Data[2:]
		case c.INS == 0xB2 && c.P2>>3 == 2 && c.P1 == 1:
			static = append(static, oda.Record{SFI: 2, Data: r.Data})
		}
	}
	dol, err := tlv.ParseDOL(pdol)
	require.NoError(t, err)
	sent, err := dol.Split(pdolData)
	require.NoError(t, err)
	key, ok := simCAPK().Lookup(capk.RID{0xA0, 0x00, 0x00, 0x03, 0x33}, data[0x8F][0])
	require.True(t, ok)
	pub := oda.PublicKey{Alg: oda.PKAlg(key.Algorithm), Modulus: key.Modulus, Exponent: key.Exponent}
	if pub.Alg == oda.SM2 {
		pub = oda.PublicKey{Alg: oda.SM2, Point: key.Modulus}
	}
	issuer, err := oda.RecoverIssuerKey(oda.IssuerCertInput{CA: pub, Cert: data[0x90], Remainder: data[0x92],
		Exponent: data[0x9F32], PAN: data[0x5A], Now: fixedNow})
	require.NoError(t, err)
	sd, err := oda.StaticData(static, data[0x9F4A], data[0x82])
	require.NoError(t, err)
	icc, err := oda.RecoverICCKey(oda.ICCCertInput{Issuer: issuer, Cert: data[0x9F46], Remainder: data[0x9F48],
		Exponent: data[0x9F47], PAN: data[0x5A], StaticData: sd, Now: fixedNow})
	require.NoError(t, err)
	_, err = oda.VerifyFDDA(oda.FDDAInput{ICC: icc, SDAD: data[0x9F4B], UnpredictableNumber: sent[0x9F37],
		Amount: sent[0x9F02], Currency: sent[0x5F2A], CardAuthData: data[0x9F69]})
	require.NoError(t, err, "the card's fDDA signature verifies against the test CA")
	// A different amount does not verify (version 01 signs it).
	if v := data[0x9F69]; len(v) > 0 && v[0] == 0x01 {
		other := bytes.Clone(sent[0x9F02])
		other[5] ^= 0x01
		_, err = oda.VerifyFDDA(oda.FDDAInput{ICC: icc, SDAD: data[0x9F4B], UnpredictableNumber: sent[0x9F37],
			Amount: other, Currency: sent[0x5F2A], CardAuthData: data[0x9F69]})
		require.Error(t, err)
	}
}

func tapCard(t *testing.T, profile string) (*cardsim.Card, *cardsim.ContactlessCard) {
	t.Helper()
	c := loadCard(t, profile)
	return c, cardsim.NewContactless(c)
}

func TestContactlessOfflineECApproved(t *testing.T) {
	for _, profile := range []string{"default.json", "sm2-dda.json", "ql-fdda00.json", "ql-long-key.json"} {
		t.Run(profile, func(t *testing.T) {
			card, cl := tapCard(t, profile)
			jr := journal.NewMemory()
			res, err := tracedKernel(t, kernel.WithJournal(jr)).PurchaseContactless(context.Background(), cl, 1234)
			require.NoError(t, err)
			assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
			assert.Equal(t, kernel.ReasonECApproved, res.Reason)
			assert.True(t, res.Contactless)
			assert.Equal(t, byte(0x40), res.CID, "the card's TC")
			assert.Empty(t, res.ODAError)
			assert.Equal(t, kernel.ODAfDDA, res.ODA)
			assert.False(t, res.TVR.Has(kernel.TVRDDAFailed))
			require.NotNil(t, res.BalanceAfter)
			assert.Equal(t, uint64(50000-1234), card.Balance(debitAID), "deducted once, at GPO")
			assert.Equal(t, card.Balance(debitAID), uint64(*res.BalanceAfter), "9F5D as the card reported it")
			assert.Equal(t, card.ATC(debitAID), res.ATC)
			assert.Equal(t, "622202*********", res.PAN[:15])
			assert.Equal(t, kernel.HexBytes{0x36, 0x00, 0x00, 0x80}, res.TTQ, "qPBOC, contact, online PIN, signature; fDDA 01")
			assert.Equal(t, kernel.HexBytes{0x20, 0x00}, res.CTQ)
			verifyFDDAFromTrace(t, res)
			if profile == "ql-fdda00.json" {
				_, has, _ := tlv.Find(gpoResponse(t, res), 0x9F69)
				assert.False(t, has, "version 00 sends no 9F69")
			}
			// The card logged it; the journal holds it once.
			require.Len(t, card.Log(debitAID), 1)
			recs, err := jr.Records(context.Background())
			require.NoError(t, err)
			require.Len(t, recs, 1)
			assert.Equal(t, journal.KindECOfflineSale, recs[0].Kind)
			// A contact sale afterwards sees the same balance.
			bal, err := newKernel(t).ReadBalance(context.Background(), card)
			require.NoError(t, err)
			assert.Equal(t, *res.BalanceAfter, *bal.Balance)
		})
	}
}

// TestContactlessAPDUSequence pins the exact commands of a qPBOC EC tap and
// compares its count with a contact EC purchase of the default card.
func TestContactlessAPDUSequence(t *testing.T) {
	_, cl := tapCard(t, "default.json")
	res, err := tracedKernel(t).PurchaseContactless(context.Background(), cl, 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, []string{
		"SELECT 2PAY.SYS.DDF01",
		"SELECT A000000333010101",
		"GET PROCESSING OPTIONS",
		"READ RECORD 2/1",
		"READ RECORD 3/1",
		"READ RECORD 3/2",
		"READ RECORD 3/3",
	}, commandSequence(t, res))
	assert.Equal(t, 7, res.APDUs)

	contact, err := tracedKernel(t).Purchase(context.Background(), loadCard(t, "default.json"), 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, contact.Outcome)
	assert.Equal(t, []string{
		"SELECT 1PAY.SYS.DDF01", "READ RECORD 1/1", "READ RECORD 1/2",
		"SELECT A000000333010101", "GET PROCESSING OPTIONS",
		"READ RECORD 1/1", "READ RECORD 2/1", "READ RECORD 2/2",
		"READ RECORD 3/1", "READ RECORD 3/2", "READ RECORD 3/3",
		"INTERNAL AUTHENTICATE", "GET DATA 9F79", "GET DATA 9F6D", "GENERATE AC TC",
	}, commandSequence(t, contact))
	t.Logf("APDUs: contactless EC tap %d, contact EC purchase %d", res.APDUs, contact.APDUs)
}

// slowCard adds a fixed delay to every APDU, like a contactless field.
type slowCard struct {
	inner apdu.Transport
	delay time.Duration
}

func (s slowCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	time.Sleep(s.delay)
	return s.inner.Transmit(ctx, cmd)
}

func TestContactlessTapBudget(t *testing.T) {
	const delay = 10 * time.Millisecond
	_, cl := tapCard(t, "default.json")
	start := time.Now()
	res, err := tracedKernel(t).PurchaseContactless(context.Background(), slowCard{cl, delay}, 1234)
	total := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	require.Len(t, res.Trace, 7)
	var inCard time.Duration
	for _, e := range res.Trace {
		assert.GreaterOrEqual(t, e.Duration, delay, "each APDU's time is measured")
		inCard += e.Duration
	}
	assert.GreaterOrEqual(t, inCard, 7*delay)
	assert.Positive(t, res.KernelTime)
	assert.LessOrEqual(t, inCard+res.KernelTime, total, "kernel time is what is left of the total")
	t.Logf("7 APDUs × %s: in the card %s, in the kernel %s (fDDA and certificate recovery)", delay, inCard, res.KernelTime)
}

func TestContactlessTryAnotherInterface(t *testing.T) {
	t.Run("amount at the contactless limit", func(t *testing.T) {
		card, cl := tapCard(t, "default.json")
		res, err := newKernel(t).PurchaseContactless(context.Background(), cl, 100000)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeTryAnotherInterface, res.Outcome)
		assert.Equal(t, kernel.ReasonAboveContactlessLimit, res.Reason, res.Detail)
		assert.Zero(t, res.APDUs, "the card is not addressed")
		assert.Equal(t, uint64(50000), card.Balance(debitAID))
	})
	t.Run("balance below the reset threshold after the sale", func(t *testing.T) {
		card, cl := tapCard(t, "low-balance.json")
		atc := card.ATC(debitAID)
		res, err := newKernel(t).PurchaseContactless(context.Background(), cl, 450)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeTryAnotherInterface, res.Outcome)
		assert.Equal(t, kernel.ReasonBelowResetThreshold, res.Reason)
		assert.Contains(t, res.Detail, "5.00 − amount 4.50 = 0.50 would be below the reset threshold 1.00")
		assert.Equal(t, uint64(500), card.Balance(debitAID), "nothing charged")
		assert.Equal(t, atc, card.ATC(debitAID), "the card refused GPO")
		// Inserted, the same sale is an automatic top-up online.
		contact, err := newKernel(t).Purchase(context.Background(), card, 450)
		require.NoError(t, err)
		assert.Equal(t, kernel.ReasonBelowResetThreshold, contact.Reason)
	})
	t.Run("fDDA fails and the CTQ asks for contact", func(t *testing.T) {
		_, cl := tapCard(t, "ql-ctq-contact.json")
		cfg := testConfig()
		cfg.OnlineCapable = false
		k, err := kernel.New(cfg)
		require.NoError(t, err)
		res, err := k.PurchaseContactless(context.Background(), &fddaBreaker{inner: cl}, 1234)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeTryAnotherInterface, res.Outcome, res.Detail)
		assert.Equal(t, kernel.ReasonODAFailed, res.Reason)
	})
}

// fddaBreaker flips a byte in the middle of the fDDA signature (9F4B) of
// the GPO response or of a record.
type fddaBreaker struct{ inner apdu.Transport }

func (f *fddaBreaker) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	rsp, err := f.inner.Transmit(ctx, cmd)
	if err != nil {
		return rsp, err
	}
	out := bytes.Clone(rsp)
	if i := bytes.Index(out, []byte{0x9F, 0x4B}); i >= 0 && i+4 < len(out) {
		l := int(out[i+2])
		start := i + 3
		if l == 0x81 {
			l, start = int(out[i+3]), i+4
		}
		if start+l/2 < len(out) {
			out[start+l/2] ^= 0x55
		}
	}
	return out, nil
}

func TestContactlessFDDAFailure(t *testing.T) {
	t.Run("offline-only terminal declines", func(t *testing.T) {
		card, cl := tapCard(t, "default.json")
		cfg := testConfig()
		cfg.OnlineCapable = false
		k, err := kernel.New(cfg)
		require.NoError(t, err)
		res, err := k.PurchaseContactless(context.Background(), &fddaBreaker{inner: cl}, 1234)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
		assert.Equal(t, kernel.ReasonODAFailed, res.Reason)
		assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
		assert.NotEmpty(t, res.ODAError)
		assert.Equal(t, byte(0x08), res.TTQ[0]&0x08, "TTQ says offline only")
		// The card approved and deducted before the terminal could check:
		// the result says so, with the balance the card reported.
		assert.Equal(t, uint64(50000-1234), card.Balance(debitAID))
		require.NotNil(t, res.BalanceAfter)
		assert.Equal(t, card.Balance(debitAID), uint64(*res.BalanceAfter))
		assert.Contains(t, res.Detail, "already deducted")
	})
	t.Run("online-capable terminal goes online", func(t *testing.T) {
		_, cl := tapCard(t, "default.json")
		var got *kernel.AuthRequest
		host := kernel.HostFunc(func(_ context.Context, r *kernel.AuthRequest) (*kernel.AuthResponse, error) {
			got = r
			return &kernel.AuthResponse{ResponseCode: "00"}, nil
		})
		res, err := newKernel(t, kernel.WithHost(host)).PurchaseContactless(context.Background(), &fddaBreaker{inner: cl}, 1234)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
		assert.Equal(t, kernel.ReasonODAFailed, res.Reason)
		require.NotNil(t, got)
		assert.Equal(t, kernel.Amount(1234), got.Amount)
		cid, ok, err := tlv.Find(got.Field55, 0x9F27)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, []byte{0x40}, cid, "the card's TC goes online")
	})
	t.Run("online-capable terminal without host", func(t *testing.T) {
		_, cl := tapCard(t, "default.json")
		res, err := newKernel(t).PurchaseContactless(context.Background(), &fddaBreaker{inner: cl}, 1234)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeOnlineRequired, res.Outcome, res.Detail)
		assert.Equal(t, kernel.ReasonODAFailed, res.Reason)
	})
}

func TestContactlessOnlineAndDecline(t *testing.T) {
	t.Run("above the floor limit: ARQC approved by the issuer", func(t *testing.T) {
		b := newBank(t, "default.json", 200000)
		cl := cardsim.NewContactless(b.card)
		res, err := b.kernel(t, testPIN, nil).PurchaseContactless(context.Background(), cl, 60000)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
		assert.Equal(t, kernel.ReasonOnlineApproved, res.Reason)
		assert.Equal(t, byte(0x80), res.CID)
		assert.Equal(t, byte(0xC0), res.TTQ[1]&0xC0, "online cryptogram and CVM required")
		assert.True(t, res.TVR.Has(kernel.TVROnlinePINEntered), "the CTQ asked for online PIN")
		assert.Equal(t, kernel.Amount(200000-60000), b.account(t), "charged to the account")
		assert.Equal(t, uint64(50000), b.card.Balance(debitAID), "the EC balance is untouched")
		require.NotNil(t, res.BalanceBefore)
		assert.Equal(t, kernel.Amount(50000), *res.BalanceBefore)
	})
	t.Run("ARQC without host", func(t *testing.T) {
		card, cl := tapCard(t, "default.json")
		res, err := newKernel(t).PurchaseContactless(context.Background(), cl, 60000)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeOnlineRequired, res.Outcome)
		assert.Contains(t, res.Detail, "nothing charged")
		assert.Equal(t, uint64(50000), card.Balance(debitAID))
	})
	t.Run("offline-only terminal, amount above the balance: AAC", func(t *testing.T) {
		card, cl := tapCard(t, "low-balance.json")
		cfg := testConfig()
		cfg.OnlineCapable = false
		k, err := kernel.New(cfg)
		require.NoError(t, err)
		res, err := k.PurchaseContactless(context.Background(), cl, 1000)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeDeclined, res.Outcome, res.Detail)
		assert.Equal(t, kernel.ReasonCardDeclined, res.Reason)
		assert.Equal(t, uint64(500), card.Balance(debitAID))
	})
	t.Run("no PPSE", func(t *testing.T) {
		p, err := cardsim.LoadProfile("../testdata/cards/default.json")
		require.NoError(t, err)
		p.Applications[0].QPBOC = &cardsim.QPBOC{Disabled: true}
		c, err := cardsim.New(p)
		require.NoError(t, err)
		res, err := newKernel(t).PurchaseContactless(context.Background(), cardsim.NewContactless(c), 100)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeTryAnotherInterface, res.Outcome)
		assert.Equal(t, kernel.ReasonNoContactless, res.Reason)
		assert.Equal(t, 1, res.APDUs)
	})
}

// TestContactlessTornTap removes the card at GPO (executed, or not), then
// taps it again for the same sale: the card is charged exactly once and
// never approved on its log's word. A tap the card completed is found in
// its log and kept as a discrepancy (no cryptogram: not an approval, not
// charged again); one it did not is kept in the torn log (another card may
// be the one that was torn) and the new tap is a sale of its own.
func TestContactlessTornTap(t *testing.T) {
	const amount = 1234
	for _, kind := range []cardsim.FaultKind{cardsim.FaultTorn, cardsim.FaultRemove} {
		t.Run(kind.String(), func(t *testing.T) {
			card, cl := tapCard(t, "default.json")
			faulty := cardsim.NewFaulty(cl, cardsim.Fault{At: 2, Kind: kind}) // 0 PPSE, 1 AID, 2 GPO
			torn := &kernel.MemoryTornLog{}
			jr := journal.NewMemory()
			k := newKernel(t, kernel.WithTornLog(torn), kernel.WithJournal(jr))
			res, err := k.PurchaseContactless(context.Background(), faulty, amount)
			require.NoError(t, err)
			assert.Equal(t, kernel.OutcomeTryAgain, res.Outcome, res.Detail)
			assert.Equal(t, kernel.ReasonCardRemoved, res.Reason)
			assert.True(t, res.Torn)
			assert.Equal(t, 1, torn.Len())
			charged := card.Balance(debitAID) != 50000
			assert.Equal(t, kind == cardsim.FaultTorn, charged)

			faulty.Reinsert()
			res2, err := k.PurchaseContactless(context.Background(), faulty, amount)
			require.NoError(t, err)
			assert.Equal(t, uint64(50000-amount), card.Balance(debitAID), "charged exactly once")
			recs, err := jr.Records(context.Background())
			require.NoError(t, err)
			require.Len(t, recs, 1, "the sale is journaled once")
			if charged {
				assert.Equal(t, kernel.OutcomeDeclined, res2.Outcome, "the log is not a cryptogram: %s", res2.Detail)
				assert.Equal(t, kernel.ReasonTornRecovered, res2.Reason)
				require.Len(t, res2.Settled, 1)
				assert.True(t, res2.Settled[0].Happened)
				assert.Zero(t, torn.Len())
				require.NotNil(t, res2.BalanceAfter)
				assert.Equal(t, kernel.Amount(50000-amount), *res2.BalanceAfter)
				assert.Equal(t, journal.KindDiscrepancy, recs[0].Kind, "kept for reconciliation, never for clearing")
				assert.False(t, recs[0].Kind.Clearable())
			} else {
				assert.Equal(t, kernel.OutcomeApprovedOffline, res2.Outcome, res2.Detail)
				assert.Equal(t, kernel.ReasonECApproved, res2.Reason)
				assert.Empty(t, res2.Settled)
				assert.Equal(t, 1, torn.Len(), "not in this card's log: kept, never dropped")
				assert.Equal(t, journal.KindECOfflineSale, recs[0].Kind)
			}
			assert.Len(t, card.Log(debitAID), 1)

			// A later tap is a new sale.
			res3, err := k.PurchaseContactless(context.Background(), faulty, amount)
			require.NoError(t, err)
			assert.Equal(t, kernel.ReasonECApproved, res3.Reason, "the second tap's own log entry settles nothing: %s", res3.Detail)
			assert.Empty(t, res3.Settled)
			assert.Equal(t, uint64(50000-2*amount), card.Balance(debitAID))
		})
	}
}

// TestContactlessFaultAtEveryAPDU injects every fault at every APDU of a
// tap: the outcome is defined, an approval always has the card's
// deduction, and the card never loses more than the amount. Presented
// again, a tap the card completed is settled from its log; one it did not
// stays in the torn log (it may be another card's), never dropped.
func TestContactlessFaultAtEveryAPDU(t *testing.T) {
	const amount = 1234
	for _, fc := range everyFault(7) {
		t.Run(fc.String(), func(t *testing.T) {
			card, cl := tapCard(t, "default.json")
			faulty := cardsim.NewFaulty(cl, cardsim.Fault{At: fc.at, Kind: fc.kind, SW: fc.sw})
			torn := &kernel.MemoryTornLog{}
			k := newKernel(t, kernel.WithTornLog(torn))
			res, _ := k.PurchaseContactless(withDeadline(t), faulty, amount)
			require.NotNil(t, res)
			after := card.Balance(debitAID)
			require.Contains(t, []uint64{50000, 50000 - amount}, after)
			if approved(res.Outcome) {
				assert.Equal(t, uint64(50000-amount), after)
			}
			faulty.Reinsert()
			res2, err := k.PurchaseContactless(withDeadline(t), faulty, amount)
			require.NoError(t, err)
			if res.Outcome == kernel.OutcomeTryAgain || !approved(res.Outcome) && after == 50000 {
				// Presented again for the same sale: charged once in all.
				if approved(res2.Outcome) {
					assert.Equal(t, uint64(50000-amount), card.Balance(debitAID), res2.Detail)
				}
			}
			if res.Torn && after != 50000 {
				assert.Zero(t, torn.Len(), "a torn tap the card completed is settled at the next tap: %s", res2.Detail)
			}
			if !res.Torn {
				assert.Zero(t, torn.Len())
			}
		})
	}
}

func TestContactlessZeroAmountAndStatusCheck(t *testing.T) {
	_, cl := tapCard(t, "default.json")
	res, err := newKernel(t).PurchaseContactless(context.Background(), cl, 0)
	require.NoError(t, err)
	assert.Equal(t, byte(0x80), res.TTQ[1]&0x80, "zero amount: online cryptogram")
	assert.Equal(t, kernel.OutcomeOnlineRequired, res.Outcome, res.Detail)

	cfg := testConfig()
	cfg.OnlineCapable = false
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	res, err = k.PurchaseContactless(context.Background(), cl, 0)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeTryAnotherInterface, res.Outcome)
	assert.Equal(t, kernel.ReasonZeroAmount, res.Reason)

	cfg = testConfig()
	for i := range cfg.Applications {
		cfg.Applications[i].StatusCheck = true
	}
	k, err = kernel.New(cfg)
	require.NoError(t, err)
	res, err = k.PurchaseContactless(context.Background(), cl, 100)
	require.NoError(t, err)
	assert.Equal(t, byte(0x80), res.TTQ[1]&0x80, "status check: online cryptogram")
	res, err = k.PurchaseContactless(context.Background(), cl, 101)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
}

func TestContactlessHostileResponses(t *testing.T) {
	mangles := []func([]byte) []byte{
		func(b []byte) []byte { return b[:len(b)/2] },
		func(b []byte) []byte { return append([]byte{0x6F, 0x81}, b...) },
		func([]byte) []byte { return []byte{0x77, 0x03, 0x9F, 0x27, 0x00, 0x90, 0x00} },
		func([]byte) []byte { return []byte{0x77, 0x04, 0x9F, 0x10, 0x01, 0x07, 0x90, 0x00} },
	}
	for at := 0; at < 7; at++ {
		for mi, m := range mangles {
			t.Run(fmt.Sprintf("apdu%d/mangle%d", at, mi), func(t *testing.T) {
				card, cl := tapCard(t, "default.json")
				n := 0
				mangle := apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
					rsp, err := cl.Transmit(ctx, cmd)
					n++
					if err != nil || n-1 != at {
						return rsp, err
					}
					return m(rsp), nil
				})
				res, _ := newKernel(t).PurchaseContactless(context.Background(), mangle, 1234)
				require.NotNil(t, res)
				if approved(res.Outcome) {
					assert.Equal(t, uint64(50000-1234), card.Balance(debitAID))
				}
			})
		}
	}
}
