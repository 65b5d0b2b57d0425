// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/purse"
)

// Each reading PURSE-NOTES marks unverified is one switch: the terminal's
// Config, the card's profile variant and the PSAM's profile. A terminal
// and card on the same reading work; on different readings the card
// refuses and no fuel or money moves.

func dispense(t *testing.T, s *station, want purse.Amount) *purse.Result {
	t.Helper()
	res, _ := s.term.Dispense(context.Background(), s.card, purse.DispenseRequest{Nozzle: &pump{want: want}})
	require.NotNil(t, res)
	return res
}

func TestVariantUnlockCounters(t *testing.T) {
	cases := []struct {
		name       string
		term, card string
		ok         bool
	}{
		{"next on both (default, JJ)", "next", "next", true},
		{"same on both", "same", "same", true},
		{"terminal next, card same", "next", "same", false},
		{"terminal same, card next", "same", "next", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prof := cardsim.DefaultPurseProfile()
			prof.Variant.UnlockCounters = c.card
			s := newStation(t, prof, withConfig(func(cfg *purse.Config) {
				if c.term == "same" {
					cfg.UnlockCounters = purse.UnlockCountersSame
				}
			}))
			pp := psam.DefaultProfile()
			pp.UnlockCounters = c.term
			s.usePSAM(pp)
			res := dispense(t, s, 3000)
			if c.ok {
				assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
				assert.Equal(t, uint32(47000), s.card.Balance(2))
				return
			}
			assert.NotEqual(t, purse.OutcomeApproved, res.Outcome)
			assert.Equal(t, uint32(50000), s.card.Balance(2), "the card refused DEBIT FOR UNLOCK: nothing paid")
			assert.Equal(t, byte(0x01), s.card.Grey(), "and stays grey for the online unlock")
			rec, _ := s.store.Get(res.RecordID)
			assert.Equal(t, purse.StateEscape, rec.State, "the escape bill says what is owed")
			assert.Equal(t, purse.Amount(3000), rec.Amount)
		})
	}
}

// usePSAM replaces the station's PSAM.
func (s *station) usePSAM(p *psam.Profile) {
	s.t.Helper()
	ps, err := psam.New(p)
	require.NoError(s.t, err)
	s.psam = ps
	sam, err := purse.OpenPSAM(context.Background(), ps)
	require.NoError(s.t, err)
	s.sam = sam
	s.reopen()
}

func TestVariantGreySession(t *testing.T) {
	for _, c := range []struct {
		card, psam string
		ok         bool
	}{{"two-step", "two-step", true}, {"purchase", "purchase", true}, {"two-step", "purchase", false}, {"purchase", "two-step", false}} {
		prof := cardsim.DefaultPurseProfile()
		prof.Variant.GreySession = c.card
		s := newStation(t, prof)
		pp := psam.DefaultProfile()
		pp.GreySession = c.psam
		s.usePSAM(pp)
		res := dispense(t, s, 3000)
		name := c.card + "/" + c.psam
		if c.ok {
			assert.Equal(t, purse.OutcomeApproved, res.Outcome, "%s: %s", name, res.Detail)
			continue
		}
		assert.Equal(t, purse.OutcomeDeclined, res.Outcome, name)
		assert.Equal(t, byte(0), s.card.Grey(), "%s: the card refused GREY LOCK (MAC1): never grey", name)
		assert.Equal(t, uint32(50000), s.card.Balance(2), name)
	}
}

func TestVariantGreyLockType(t *testing.T) {
	for _, c := range []struct {
		card string
		term purse.TxType
		ok   bool
	}{{"91", 0x91, true}, {"92", 0x92, true}, {"91", 0x92, false}, {"92", 0x91, false}} {
		prof := cardsim.DefaultPurseProfile()
		prof.Variant.GreyLockType = c.card
		s := newStation(t, prof, withConfig(func(cfg *purse.Config) { cfg.GreyLockSAMType = c.term }))
		res := dispense(t, s, 3000)
		if c.ok {
			assert.Equal(t, purse.OutcomeApproved, res.Outcome, "%s/%v: %s", c.card, c.term, res.Detail)
			continue
		}
		assert.Equal(t, purse.OutcomeDeclined, res.Outcome)
		assert.Equal(t, byte(0), s.card.Grey())
	}
}

func TestVariantSecondFactor(t *testing.T) {
	f2 := [8]byte{0x21, 0x00, 0xFF, 0, 0, 0, 0, 0} // a city code, as a transit application sends
	pp := psam.DefaultProfile()
	master, _ := hex.DecodeString(pp.PurchaseKeys["01"])
	city, err := keys.DiversifyPurseKey(master, f2[:])
	require.NoError(t, err)
	prof := cardsim.DefaultPurseProfile()
	prof.Keys.Purchase = strings.ToUpper(hex.EncodeToString(city)) // the card's issuer key is the city's

	s := newStation(t, prof)
	ps, err := psam.New(pp)
	require.NoError(t, err)
	s.psam = ps
	sam, err := purse.OpenPSAM(context.Background(), ps, purse.WithSecondFactor(f2))
	require.NoError(t, err)
	s.sam = sam
	s.reopen()
	res, err := s.term.Purchase(context.Background(), s.card, 500)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)

	// One level only: the card refuses the PSAM's MAC1.
	s2 := newStation(t, prof)
	res, _ = s2.term.Purchase(context.Background(), s2.card, 500)
	assert.NotEqual(t, purse.OutcomeApproved, res.Outcome)
	assert.Equal(t, uint32(50000), s2.card.Balance(2))
}

func TestVariantWalletED(t *testing.T) {
	s := newStation(t, nil, withConfig(func(cfg *purse.Config) {
		cfg.Wallet = purse.ED
		cfg.PINFor = append(cfg.PINFor, purse.KindLoad, purse.KindPurchase, purse.KindFuel)
	}))
	res, err := s.term.Load(context.Background(), s.card, 1000)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	res, err = s.term.Purchase(context.Background(), s.card, 500)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	res = dispense(t, s, 700)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.Equal(t, uint32(10000+1000-500-700), s.card.Balance(1))
	assert.Equal(t, uint32(50000), s.card.Balance(2), "the EP untouched")
}

func TestVariantPINFormat(t *testing.T) {
	prof := cardsim.DefaultPurseProfile()
	prof.PIN.ASCII = true
	s := newStation(t, prof, withConfig(func(cfg *purse.Config) { cfg.PINFormat = purse.PINASCII }))
	res, err := s.term.Load(context.Background(), s.card, 1000)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)

	s2 := newStation(t, prof) // BCD to an ASCII card
	res, err = s2.term.Load(context.Background(), s2.card, 1000)
	require.NoError(t, err)
	assert.Equal(t, purse.ReasonPINIncorrect, res.Reason)
	assert.Equal(t, uint32(50000), s2.card.Balance(2))
}
