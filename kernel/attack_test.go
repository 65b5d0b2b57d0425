// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

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

// The attack tables: for each money rule of the README, the lies a card, a
// relay or a host can tell, each row asserting the rule itself (no
// approval without a cryptogram of this transaction, no money moved on
// what the card did not authenticate, nothing lost, nothing journaled
// twice), not the code path that enforces it.

// profileWith loads a card profile from testdata and changes it.
func profileWith(t *testing.T, name string, change func(a *cardsim.Application)) *cardsim.Profile {
	t.Helper()
	p, err := cardsim.LoadProfile(filepath.Join("..", "testdata", "cards", name))
	require.NoError(t, err)
	if change != nil {
		change(&p.Applications[0])
	}
	return p
}

func newCard(t *testing.T, p *cardsim.Profile) *cardsim.Card {
	t.Helper()
	c, err := cardsim.New(p)
	require.NoError(t, err)
	return c
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// bcdN is v as n BCD bytes.
func bcdN(v uint64, n int) []byte {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v%10) | byte(v/10%10)<<4
		v /= 100
	}
	return b
}

// genACIndex is the position of GENERATE AC in an offline EC sale of the
// default card (TestEconomyContactECPurchase pins the sequence).
const genACIndex = 14

// The terminal's date and time in the tests (fixedNow), as sent to cards.
var (
	testDate = []byte{0x26, 0x11, 0x30}
	testTime = []byte{0x10, 0x30, 0x00}
)

// forgedLog is a log record in the default card's format showing a sale of
// amount at the tests' date and time with the given ATC.
func forgedLog(t *testing.T, amount kernel.Amount, atc uint16) []byte {
	t.Helper()
	rec, err := hostile.LogRecord(mustHex(t, cardsim.DefaultLogFormat), map[tlv.Tag][]byte{
		0x9A: testDate, 0x9F21: testTime, 0x9F02: bcdN(uint64(amount), 6), 0x9F1A: {0x01, 0x56}, 0x5F2A: {0x01, 0x56},
		0x9C: {0x00}, 0x9F36: {byte(atc >> 8), byte(atc)},
	})
	require.NoError(t, err)
	return rec
}

// ledger checks what the journal may ask the acquirer for: each clearable
// record holds a TC, and it returns the records by kind.
func ledger(t *testing.T, jr journal.Journal) map[journal.Kind][]journal.Record {
	t.Helper()
	assertNoClearingWithoutTC(t, jr)
	recs, err := jr.Records(context.Background())
	require.NoError(t, err)
	out := map[journal.Kind][]journal.Record{}
	for _, r := range recs {
		out[r.Kind] = append(out[r.Kind], r)
	}
	return out
}

// Rule 1: only a cryptogram of this transaction approves. No recovery path
// — a torn tap, a lost or refused GENERATE AC answer, a settled torn
// record — ever returns an approval; unauthenticated card data settles the
// terminal's own records at most.
func TestRuleOnlyACryptogramApproves(t *testing.T) {
	const amount = 1234
	t.Run("a torn tap, then another card whose log forges that tap", func(t *testing.T) {
		torn, jr := &kernel.MemoryTornLog{}, journal.NewMemory()
		k := newKernel(t, kernel.WithTornLog(torn), kernel.WithJournal(jr))
		// The first card sees the GPO data and leaves without answering.
		victim := loadCard(t, "default.json")
		res, err := k.PurchaseContactless(context.Background(), hostile.NewCard(cardsim.NewContactless(victim), hostile.DropAnswer(hostile.INSGPO, 1)), amount)
		require.NoError(t, err)
		require.Equal(t, kernel.OutcomeTryAgain, res.Outcome, res.Detail)
		require.Equal(t, 1, torn.Len())
		// The next tap is a card whose log shows a sale of that amount at
		// that date and time: it paid nothing.
		liar := loadCard(t, "default.json")
		lies := hostile.NewCard(cardsim.NewContactless(liar), hostile.ReadRecord(11, 1, forgedLog(t, amount, 1)))
		res, err = k.PurchaseContactless(context.Background(), lies, amount)
		require.NoError(t, err)
		require.Positive(t, lies.Told(0), "the forged entry was read")
		assert.False(t, approved(res.Outcome), "approved on a log entry: %s", res.Detail)
		assert.Equal(t, uint64(50000), liar.Balance(debitAID), "and the liar was not charged by the recovery")
		assert.Empty(t, ledger(t, jr)[journal.KindECOfflineSale], "nothing to clear: no TC")
	})
	t.Run("a contact sale whose GENERATE AC answer is lost, its balance changed", func(t *testing.T) {
		card := loadCard(t, "default.json")
		jr := journal.NewMemory()
		k := newKernel(t, kernel.WithTornLog(&kernel.MemoryTornLog{}), kernel.WithJournal(jr))
		res, err := k.Purchase(context.Background(), hostile.NewCard(card, hostile.DropAnswer(hostile.INSGenerateAC, 1)), amount)
		require.Error(t, err)
		assert.False(t, approved(res.Outcome), res.Detail)
		assert.True(t, res.Discrepancy, res.Detail)
		assert.Equal(t, uint64(50000-amount), card.Balance(debitAID), "the card did pay")
		l := ledger(t, jr)
		require.Len(t, l[journal.KindDiscrepancy], 1, "the money the card paid is not forgotten")
		assert.Empty(t, l[journal.KindECOfflineSale])
	})
	t.Run("a GENERATE AC refused after the card deducted", func(t *testing.T) {
		card := loadCard(t, "default.json")
		jr := journal.NewMemory()
		res, err := newKernel(t, kernel.WithJournal(jr)).Purchase(context.Background(),
			hostile.NewCard(card, hostile.RefuseAfter(hostile.INSGenerateAC, 1, 0x6985)), amount)
		require.Error(t, err)
		assert.False(t, approved(res.Outcome), res.Detail)
		assert.True(t, res.Discrepancy)
		require.Len(t, ledger(t, jr)[journal.KindDiscrepancy], 1)
	})
	// The card would go online (its single limit is below the amount); the
	// terminal, told a higher single limit, asks for a TC, and a relay
	// makes the card's ARQC look like one.
	arqcAsTC := func(cvrToo bool) hostile.Lie {
		return hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSGenerateAC }, func(d []byte) []byte {
			if len(d) > 2 && d[0] == 0x80 && d[2]&0xC0 == 0x80 {
				d[2] = d[2]&0x3F | 0x40 // CID
				if cvrToo && len(d) > 2+11+4 {
					d[2+11+4] = d[2+11+4]&^0x30 | 0x10 // CVR: "TC in the first GENERATE AC"
				}
			}
			return d
		})
	}
	for _, cvrToo := range []bool{false, true} {
		name := "a relay turns the card's ARQC into a TC"
		if cvrToo {
			name += ", CVR and all"
		}
		t.Run(name, func(t *testing.T) {
			card := loadCard(t, "default.json")
			jr := journal.NewMemory()
			lies := hostile.NewCard(card, hostile.GetData(0x9F78, bcdN(50000, 6)), arqcAsTC(cvrToo))
			res, _ := newKernel(t, kernel.WithJournal(jr)).Purchase(context.Background(), lies, 40000)
			require.Positive(t, lies.Told(1), "the relay rewrote the answer")
			assert.False(t, approved(res.Outcome), "approved on an ARQC dressed as a TC: %s", res.Detail)
			assert.Equal(t, uint64(50000), card.Balance(debitAID))
			assert.Empty(t, ledger(t, jr)[journal.KindECOfflineSale])
		})
	}
}

// Rule 2: the card's answer must fit the question, on every interface.
func TestRuleTheAnswerMustFitTheQuestion(t *testing.T) {
	rich := func(a *cardsim.Application) {
		a.EC.Balance, a.EC.SingleLimit = "1000.00", "1000.00"
	}
	offline := func(res *kernel.Result) bool { return res.Outcome == kernel.OutcomeApprovedOffline }
	for _, tc := range []struct {
		name    string
		profile func(a *cardsim.Application)
		lies    func(t *testing.T) []hostile.Lie
		amount  kernel.Amount
		opts    []kernel.Option
		config  func(c *kernel.Config)
		refused func(res *kernel.Result) bool
	}{
		{
			name: "a relay clears the TTQ's online-cryptogram and CVM bits on a 600.00 tap", profile: rich, amount: 60000,
			lies: func(*testing.T) []hostile.Lie {
				return []hostile.Lie{hostile.RelayTTQ([4]byte{0, 0xC0, 0, 0}, [4]byte{})}
			},
			refused: func(res *kernel.Result) bool { return !approved(res.Outcome) },
		},
		{
			name: "a relay clears the TTQ's CVM bit on a 400.00 tap (above the CVM limit, below the floor)", profile: rich, amount: 40000,
			lies: func(*testing.T) []hostile.Lie {
				return []hostile.Lie{hostile.RelayTTQ([4]byte{0, 0x40, 0, 0}, [4]byte{})}
			},
			refused: func(res *kernel.Result) bool { return !approved(res.Outcome) },
		},
		{
			name: "the card asks for an online PIN and the terminal has no PIN pad", amount: 60000, profile: rich,
			opts:    []kernel.Option{kernel.WithHost(kernel.HostFunc(approveAll))},
			refused: func(res *kernel.Result) bool { return !approved(res.Outcome) },
		},
		{
			name: "the card asks for an online PIN and the application takes none (DF18 = 00)", amount: 60000, profile: rich,
			opts: []kernel.Option{kernel.WithHost(kernel.HostFunc(approveAll)), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})},
			config: func(c *kernel.Config) {
				for i := range c.Applications {
					c.Applications[i].OnlinePIN = false
				}
			},
			refused: func(res *kernel.Result) bool {
				return !approved(res.Outcome) && res.Reason == kernel.ReasonCVMNotPerformed && res.TTQ[0]&0x04 == 0
			},
		},
		{
			name: "the card asks for a signature and the terminal takes none", amount: 1234,
			lies:   func(*testing.T) []hostile.Lie { return []hostile.Lie{hostile.SetCTQ([2]byte{0x40, 0}, [2]byte{})} },
			config: func(c *kernel.Config) { c.Applications[0].TTQ = [4]byte{0x24, 0, 0, 0x80} },
			refused: func(res *kernel.Result) bool {
				return !approved(res.Outcome) && res.Reason == kernel.ReasonCVMNotPerformed
			},
		},
		{
			name: "an expired card taps", amount: 1234, profile: func(a *cardsim.Application) { a.Expiry = "261129" },
			refused: func(res *kernel.Result) bool { return !offline(res) && res.TVR.Has(kernel.TVRExpiredApplication) },
		},
		{
			name: "a card not yet effective taps", amount: 1234, profile: func(a *cardsim.Application) { a.Effective = "261201" },
			refused: func(res *kernel.Result) bool { return !offline(res) && res.TVR.Has(kernel.TVRNotYetEffective) },
		},
		{
			name: "another card's records (its PAN, not its keys)", amount: 1234,
			lies: func(t *testing.T) []hostile.Lie {
				other := profileWith(t, "default.json", func(a *cardsim.Application) { a.PAN = "6222021000999999997" })
				return []hostile.Lie{hostile.OtherCard(cardsim.NewContactless(newCard(t, other)), hostile.INSReadRecord)}
			},
			refused: func(res *kernel.Result) bool { return !offline(res) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := newCard(t, profileWith(t, "default.json", tc.profile))
			before := card.Balance(debitAID)
			var lies []hostile.Lie
			if tc.lies != nil {
				lies = tc.lies(t)
			}
			jr := journal.NewMemory()
			cfg := testConfig()
			if tc.config != nil {
				tc.config(&cfg)
			}
			k := kernelFrom(t, cfg, append([]kernel.Option{kernel.WithJournal(jr)}, tc.opts...)...)
			res, err := k.PurchaseContactless(context.Background(), hostile.NewCard(cardsim.NewContactless(card), lies...), tc.amount)
			require.NoError(t, err)
			assert.True(t, tc.refused(res), "%s / %s: %s", res.Outcome, res.Reason, res.Detail)
			l := ledger(t, jr)
			assert.Empty(t, l[journal.KindECOfflineSale], "nothing to clear")
			if card.Balance(debitAID) != before {
				// The card answered TC and paid: kept for the issuer.
				assert.Len(t, l[journal.KindDiscrepancy], 1, "the money the card paid is not forgotten")
				assert.True(t, res.Discrepancy)
			}
		})
	}
	t.Run("the card asks for a signature the terminal takes: approved, the receipt asks for it", func(t *testing.T) {
		// A card personalised so (CTQ 6000): fDDA 01 signs the CTQ, so a
		// relay's rewritten CTQ would fail fDDA instead (TestRuleFDDA01SignsTheCTQ).
		card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) {
			a.QPBOC = &cardsim.QPBOC{CTQ: "6000"}
		}))
		res, err := newKernel(t).PurchaseContactless(context.Background(), cardsim.NewContactless(card), 1234)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
		assert.True(t, res.SignatureRequired)
	})
	t.Run("contact: a TC to a request for an online cryptogram", func(t *testing.T) {
		card := loadCard(t, "default.json")
		lies := hostile.NewCard(card, hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSGenerateAC }, func(d []byte) []byte {
			if len(d) > 2 && d[0] == 0x80 {
				d[2] = d[2]&0x3F | 0x40
			}
			return d
		}))
		res, _ := newKernel(t).Purchase(context.Background(), lies, 40000) // above the balance: online
		assert.False(t, approved(res.Outcome), res.Detail)
	})
}

// approveAll is an issuer that approves everything.
func approveAll(context.Context, *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	return &kernel.AuthResponse{ResponseCode: "00"}, nil
}

// Rule 3: money moves at the host only on evidence the card authenticated.
// A GET DATA of the balance is no evidence: an emulator with a real card's
// PAN, or a relay in front of the real card, answers it as it likes.
func TestRuleMoneyMovesOnlyOnAuthenticatedEvidence(t *testing.T) {
	const load = 10000
	staleBalance := hostile.GetData(0x9F79, bcdN(50000, 6)) // the balance before the load
	// loadTorn runs a designated load whose outcome a relay hides: the
	// card takes the script, the relay says the balance did not change.
	loadTorn := func(t *testing.T) (*bank, *kernel.Kernel, *kernel.MemoryTornLog) {
		b := newBank(t, "default.json", 200000)
		torn := &kernel.MemoryTornLog{}
		k := newKernel(t, kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(torn))
		lies := hostile.NewCard(b.card, hostile.Rewrite(func(c apdu.Command) bool {
			return c.INS == hostile.INSGetData && c.P1 == 0x9F && c.P2 == 0x79
		}, func(d []byte) []byte { return tlv.Append(nil, 0x9F79, bcdN(50000, 6)) }))
		// The first GET DATA 9F79 (before the load) is honest by chance
		// of value: the relay answers the same for every one.
		res, err := k.Load(context.Background(), lies, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: load})
		require.NoError(t, err)
		require.False(t, approved(res.Outcome), "not proven: %s", res.Detail)
		require.False(t, res.Reversed, "never reversed on a GET DATA: %s", res.Detail)
		require.Equal(t, uint64(60000), b.card.Balance(debitAID), "the card was credited")
		require.Equal(t, kernel.Amount(200000-load), b.account(t), "and the account still pays for it")
		require.Equal(t, 1, torn.Len())
		return b, k, torn
	}
	t.Run("an emulator with the real PAN (it fails DDA) says the load did not take", func(t *testing.T) {
		b, k, torn := loadTorn(t)
		other := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) { a.PAN = "6222021000999999997" }))
		emulator := hostile.NewCard(b.card, hostile.OtherCard(other, hostile.INSInternal), staleBalance)
		res, err := k.Purchase(context.Background(), emulator, 100)
		require.NoError(t, err)
		assert.True(t, res.TVR.Has(kernel.TVRDDAFailed))
		assert.Empty(t, res.Settled, res.Detail)
		assert.Equal(t, 1, torn.Len(), "kept for the issuer")
		sale := kernel.Amount(0)
		if res.Outcome == kernel.OutcomeApprovedOnline {
			sale = 100 // DDA failed: the 1.00 went online, and was approved
		}
		assert.Equal(t, kernel.Amount(200000-load)-sale, b.account(t), "no refund on an unauthenticated card's word")
	})
	t.Run("the real card comes back: its MACed balance shows the load took", func(t *testing.T) {
		b, k, torn := loadTorn(t)
		res, err := k.Purchase(context.Background(), hostile.NewCard(b.card, staleBalance), 100)
		require.NoError(t, err)
		require.Len(t, res.Settled, 1, res.Detail)
		assert.True(t, res.Settled[0].Happened)
		assert.False(t, res.Settled[0].Reversed)
		assert.Zero(t, torn.Len())
		assert.Equal(t, kernel.Amount(200000-load), b.account(t), "no refund: the card holds the load")
	})
	t.Run("the card was used elsewhere in between: not conclusive", func(t *testing.T) {
		b, k, torn := loadTorn(t)
		_, err := newKernel(t).Purchase(context.Background(), b.card, 100) // another terminal
		require.NoError(t, err)
		res, err := k.Purchase(context.Background(), b.card, 100)
		require.NoError(t, err)
		assert.Empty(t, res.Settled, res.Detail)
		assert.Equal(t, 1, torn.Len(), "kept for the issuer")
		assert.Equal(t, kernel.Amount(200000-load), b.account(t))
	})
	t.Run("the host refuses evidence that does not verify", func(t *testing.T) {
		b := newBank(t, "default.json", 200000)
		var req *kernel.AuthRequest
		spy := kernel.HostFunc(func(ctx context.Context, r *kernel.AuthRequest) (*kernel.AuthResponse, error) {
			req = r
			return b.host.Authorize(ctx, r)
		})
		k := newKernel(t, kernel.WithHost(&hostile.Host{Inner: spy, Lie: hostile.NoScripts}), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
		_, err := k.Purchase(context.Background(), b.card, 40000) // online: a cryptogram with the balance
		require.NoError(t, err)
		require.NotNil(t, req)
		// A reversal claiming that ARQC as its evidence, with the balance
		// in its IAD altered: the MAC no longer verifies.
		ev := &kernel.Evidence{Field55: alterIADBalance(t, req.Field55), ATC: 1, Balance: 50000}
		forged := *req
		forged.Evidence = ev
		before := b.account(t)
		require.ErrorIs(t, b.host.ReverseScript(context.Background(), &forged), hostsim.ErrEvidence)
		assert.Equal(t, before, b.account(t))
	})
}

// alterIADBalance changes one digit of the EC balance in field 55's 9F10.
func alterIADBalance(t *testing.T, f55 []byte) []byte {
	t.Helper()
	objs, err := tlv.Parse(f55)
	require.NoError(t, err)
	var out []byte
	for _, o := range objs {
		v := append([]byte(nil), o.Value...)
		if o.Tag == 0x9F10 {
			require.Greater(t, len(v), 14)
			v[14] ^= 0x01
		}
		out = tlv.Append(out, o.Tag, v)
	}
	return out
}

// Rule 4: a torn record is kept until evidence settles it.
func TestRuleTornRecordsAreKeptUntilEvidenceSettlesThem(t *testing.T) {
	const amount = 1234
	tornSale := func(t *testing.T, p *cardsim.Profile, k *kernel.Kernel) *cardsim.Card {
		card := newCard(t, p)
		faulty := cardsim.NewFaulty(card, cardsim.Fault{At: genACIndex, Kind: cardsim.FaultTorn}) // the GENERATE AC
		res, _ := k.Purchase(context.Background(), faulty, amount)
		require.True(t, res.Torn, res.Detail)
		return card
	}
	t.Run("the card's log rolled over: kept", func(t *testing.T) {
		torn, jr := &kernel.MemoryTornLog{}, journal.NewMemory()
		k := newKernel(t, kernel.WithTornLog(torn), kernel.WithJournal(jr))
		card := tornSale(t, profileWith(t, "default.json", nil), k)
		later := testConfig()
		later.Now = func() time.Time { return fixedNow.Add(time.Hour) }
		elsewhere, err := kernel.New(later)
		require.NoError(t, err)
		for range 10 { // ten sales at another terminal, an hour later
			res, err := elsewhere.Purchase(context.Background(), card, 100)
			require.NoError(t, err)
			require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
		}
		res, err := k.Purchase(context.Background(), card, 100)
		require.NoError(t, err)
		assert.Empty(t, res.Settled, "no conclusion from a log that no longer covers it")
		assert.Equal(t, 1, torn.Len(), "kept")
	})
	t.Run("the card logs no time: settled once by its unique entry, with the card's ATC and time", func(t *testing.T) {
		noTime := profileWith(t, "default.json", func(a *cardsim.Application) {
			a.CDOL1 = "9F02069F03069F1A0295055F2A029A039C019F37049F4E14"
			a.LogFormat = "9A039F02069F03069F1A025F2A029F4E149C019F3602"
		})
		torn, jr := &kernel.MemoryTornLog{}, journal.NewMemory()
		k := newKernel(t, kernel.WithTornLog(torn), kernel.WithJournal(jr))
		card := tornSale(t, noTime, k)
		res, err := k.Purchase(context.Background(), card, 100)
		require.NoError(t, err)
		require.Len(t, res.Settled, 1, res.Detail)
		assert.True(t, res.Settled[0].Happened)
		assert.Equal(t, uint16(1), res.Settled[0].ATC)
		d := ledger(t, jr)[journal.KindDiscrepancy]
		require.Len(t, d, 1)
		assert.Equal(t, uint16(1), d[0].ATC, "journaled with the card's ATC")
		assert.Equal(t, uint64(amount), d[0].Amount)
		assert.Zero(t, torn.Len())
	})
	t.Run("a torn sale the card did not make, beside a same-day sale of the same amount, with no time in the log: kept", func(t *testing.T) {
		noTime := profileWith(t, "default.json", func(a *cardsim.Application) {
			a.CDOL1 = "9F02069F03069F1A0295055F2A029A039C019F37049F4E14"
			a.LogFormat = "9A039F02069F03069F1A025F2A029F4E149C019F3602"
		})
		torn, jr := &kernel.MemoryTornLog{}, journal.NewMemory()
		k := newKernel(t, kernel.WithTornLog(torn), kernel.WithJournal(jr))
		card := newCard(t, noTime)
		// A sale the terminal journals, then a torn one the card never saw.
		res, err := k.Purchase(context.Background(), card, amount)
		require.NoError(t, err)
		require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
		faulty := cardsim.NewFaulty(card, cardsim.Fault{At: genACIndex, Kind: cardsim.FaultRemove})
		res, _ = k.Purchase(context.Background(), faulty, amount)
		require.True(t, res.Torn, res.Detail)
		faulty.Reinsert()
		res, err = k.Purchase(context.Background(), faulty, 100)
		require.NoError(t, err)
		assert.Empty(t, res.Settled, "the only entry stands for the journaled sale: %s", res.Detail)
		assert.Equal(t, 1, torn.Len(), "kept for the issuer")
		l := ledger(t, jr)
		assert.Len(t, l[journal.KindECOfflineSale], 2, "the first sale and the 1.00")
		assert.Empty(t, l[journal.KindDiscrepancy], "never journaled twice")
	})
	t.Run("another lane's tap of the same amount in the same second does not settle a torn tap", func(t *testing.T) {
		torn, jr := &kernel.MemoryTornLog{}, journal.NewMemory()
		k := newKernel(t, kernel.WithTornLog(torn), kernel.WithJournal(jr))
		// Pump 1: a card leaves before the GPO reaches it.
		res, err := k.PurchaseContactless(context.Background(),
			hostile.NewCard(cardsim.NewContactless(loadCard(t, "default.json")), hostile.Unplug(hostile.INSGPO, 1)), amount)
		require.NoError(t, err)
		require.True(t, res.Torn, res.Detail)
		// Pump 2, the same second: another card pays the same amount.
		other := cardsim.NewContactless(loadCard(t, "default.json"))
		res, err = k.PurchaseContactless(context.Background(), other, amount)
		require.NoError(t, err)
		require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
		// It taps again: its own sale in its log settles nothing.
		res, err = k.PurchaseContactless(context.Background(), other, amount)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
		assert.Empty(t, res.Settled)
		assert.Equal(t, 1, torn.Len(), "pump 1's torn tap is kept")
		l := ledger(t, jr)
		assert.Len(t, l[journal.KindECOfflineSale], 2)
		assert.Empty(t, l[journal.KindDiscrepancy])
	})
}

// Rule 5: top-ups and loads end as the card really holds.
func TestRuleTopUpsAndLoadsEndAsTheCardHolds(t *testing.T) {
	t.Run("a top-up approved without scripts is a failed top-up, its refill reversed", func(t *testing.T) {
		b := newBank(t, "low-balance.json", 200000)
		k := newKernel(t, kernel.WithHost(&hostile.Host{Inner: b.host, Lie: hostile.NoScripts}), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
		res, err := k.Purchase(context.Background(), b.card, 450)
		require.NoError(t, err)
		assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, "the sale stands: %s", res.Detail)
		assert.Equal(t, kernel.ReasonScriptFailed, res.Reason)
		assert.True(t, res.Reversed)
		assert.Equal(t, uint64(500), b.card.Balance(debitAID))
		assert.Equal(t, kernel.Amount(200000-450), b.account(t), "only the sale is charged")
	})
	t.Run("a load whose script sets another balance is not a success", func(t *testing.T) {
		b := newBank(t, "default.json", 200000)
		require.NoError(t, b.host.QueueUpdate(b.pan, 0x9F79, bcdN(99900, 6))) // a second script: 999.00
		torn := &kernel.MemoryTornLog{}
		k := newKernel(t, kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(torn))
		res, err := k.Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 10000})
		require.NoError(t, err)
		assert.False(t, approved(res.Outcome), "the card holds %d, not previous + amount: %s", b.card.Balance(debitAID), res.Detail)
		assert.Equal(t, kernel.ReasonScriptFailed, res.Reason)
		assert.Equal(t, 1, torn.Len(), "kept for reconciliation")
	})
	t.Run("a late issuer: no approval, and what it took is given back", func(t *testing.T) {
		b := newBank(t, "default.json", 200000)
		k := newKernel(t, kernel.WithHost(&hostile.Host{Inner: b.host, Lie: hostile.Late(time.Second)}), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		res, _ := k.Load(ctx, b.card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 10000})
		assert.False(t, approved(res.Outcome), res.Detail)
		assert.Equal(t, uint64(50000), b.card.Balance(debitAID))
		assert.Equal(t, kernel.Amount(200000), b.account(t), "the unanswered approval was reversed")
	})
}

// The request's own ARQC shows the balance before the script: it is no
// evidence that the script did not take effect, and the host refuses it.
func TestRuleTheRequestsOwnARQCIsNoEvidence(t *testing.T) {
	b := newBank(t, "default.json", 200000)
	var req *kernel.AuthRequest
	spy := kernel.HostFunc(func(ctx context.Context, r *kernel.AuthRequest) (*kernel.AuthResponse, error) {
		req = r
		return b.host.Authorize(ctx, r)
	})
	k := newKernel(t, kernel.WithHost(spy), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))
	res, err := k.Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 10000})
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	forged := *req
	forged.Evidence = &kernel.Evidence{Field55: req.Field55, ATC: res.ATC, Balance: 50000}
	before := b.host.CashTotal()
	require.ErrorIs(t, b.host.ReverseScript(context.Background(), &forged), hostsim.ErrEvidence)
	assert.Equal(t, before, b.host.CashTotal(), "nothing given back")
	assert.Equal(t, uint64(60000), b.card.Balance(debitAID))
}

// Rule 3 across purses: the balance a cryptogram's IAD MACs is the
// application currency's (9F79). A torn top-up of the card's second EC
// currency (DF79) is never settled — least of all reversed at the host —
// by a first-currency sale whose balance happens to equal the second
// purse's balance before the top-up: the refill the card holds would be
// paid back.
func TestRuleEvidenceOfOnePurseNeverSettlesTheOther(t *testing.T) {
	p := profileWith(t, "dual-currency.json", func(a *cardsim.Application) {
		a.EC.Balance = "100.00" // the CNY purse holds what the USD purse held before its top-up
		a.EC.SecondCurrency.ResetThreshold = "90.00"
	})
	card := newCard(t, p)
	h := hostsim.New()
	acc, err := hostsim.AccountFromProfile(p.Applications[0], 200000, testPIN)
	require.NoError(t, err)
	require.NoError(t, h.AddAccount(acc))
	torn := &kernel.MemoryTornLog{}
	opts := []kernel.Option{kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(torn)}
	usd := testConfig()
	usd.CurrencyCode = 840

	// A relay answers every GET DATA DF79 with the balance before the
	// top-up: the card takes the refill, the terminal cannot prove it.
	stale := hostile.Rewrite(func(c apdu.Command) bool {
		return c.INS == hostile.INSGetData && c.P1 == 0xDF && c.P2 == 0x79
	}, func([]byte) []byte { return tlv.Append(nil, 0xDF79, bcdN(10000, 6)) })
	res, err := kernelFrom(t, usd, opts...).Purchase(context.Background(), hostile.NewCard(card, stale), 1234)
	require.NoError(t, err)
	require.True(t, res.TopUp, res.Detail)
	require.Equal(t, uint64(20000), card.SecondBalance(debitAID), "the card took the refill")
	require.Equal(t, 1, torn.Len(), "the refill is not proven: %s", res.Detail)
	require.Equal(t, uint16(840), torn.Records()[0].ECCurrency)
	account := func() kernel.Amount { a, _ := h.Account(acc.PAN); return a.Balance }
	charged := account()

	// The same card, next ATC, pays 1.00 in CNY offline: its IAD's MACed
	// balance shows 100.00 before the sale, which equals DF79 before the
	// top-up.
	res, err = kernelFrom(t, testConfig(), opts...).Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Empty(t, res.Settled, res.Detail)
	assert.Equal(t, 1, torn.Len(), "kept for the issuer")
	assert.Equal(t, charged, account(), "no refund of a refill the card holds")
	assert.Equal(t, uint64(20000), card.SecondBalance(debitAID))

	// And the issuer refuses such evidence itself, should a terminal send it.
	kept := torn.Records()[0]
	req := *kept.Request
	req.PAN = acc.PAN
	ev := &kernel.Evidence{Field55: res.Field55, ATC: res.ATC, Balance: 9900, Deducted: 100}
	req.Evidence = ev
	require.ErrorIs(t, h.ReverseScript(context.Background(), &req), hostsim.ErrEvidence)
	assert.Equal(t, charged, account())
}
