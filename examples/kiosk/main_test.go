// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/vpcd/vpcdtest"
	"github.com/go-pboc/pboc/examples/internal/exampletest"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// defaultCard is the repository's profile of the seed card, as the tests
// name it from this directory.
const defaultCard = "../../testdata/cards/default.json"

const (
	aid = exampletest.AID
	pan = exampletest.PAN
)

// session is one run of the example: what it printed and the simulated card
// and host it ran against (nil when it had none).
type session struct {
	exampletest.Session
	card *cardsim.Card
	host *hostsim.Host
}

// field returns the last value printed under label.
func (s session) field(label string) string { return s.Field(label) }

// account is the back-office balance of the card's account.
func (s session) account(t *testing.T) string {
	t.Helper()
	a, ok := s.host.Account(pan)
	require.True(t, ok)
	return a.Balance.String()
}

// balance is the EC balance the simulated card holds.
func (s session) balance() string { return kernel.Amount(s.card.Balance(aid)).String() }

func runKiosk(t *testing.T, args ...string) (session, error) {
	t.Helper()
	var s session
	inserted = func(c *cardsim.Card, h *hostsim.Host) { s.card, s.host = c, h }
	t.Cleanup(func() { inserted = nil })
	var err error
	s.Session, err = exampletest.Run(t, runEC, args...)
	return s, err
}

// The default run: a designated load of 200.00 from the cardholder's
// account onto the seed card's 500.00.
func TestDesignatedLoad(t *testing.T) {
	s, err := runKiosk(t)
	require.NoError(t, err)
	t.Log("\n" + s.Out)

	assert.Equal(t, "seed card: PBOC debit with electronic cash (built-in)", s.field("card"))
	assert.Equal(t, "500.00 (limit 1000.00)", s.field("EC balance"))
	assert.Equal(t, "up to 500.00", s.field("can be loaded"))
	assert.Equal(t, "200.00", s.field("load"))
	assert.Equal(t, "622202*********6781 (AID A000000333010101)", s.field("PAN"))
	assert.Equal(t, "500.00 (as the card reported it)", s.field("balance before"))
	assert.Equal(t, "entered", s.field("online PIN"))
	assert.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
	assert.Equal(t, "loaded", s.field("reason"))
	assert.Equal(t, "00", s.field("response code"))
	assert.Equal(t, "2000000001", s.field("script result 9F5B"))
	assert.Equal(t, "700.00 (as the card reports it)", s.field("balance after"))
	assert.Equal(t, []string{"2000.00", "1800.00"}, s.Fields["back-office account"])
	assert.NotContains(t, s.Out, "WARNING")

	assert.Equal(t, "700.00", s.balance())
	assert.Equal(t, "1800.00", s.account(t))
	assert.Equal(t, []string{"load 200.00 ATC 1 CID 40 approved_online, STAN 000001 batch 000001, PAN sealed"}, s.Fields["journal record"], "journaled before the receipt")
}

// The kernel is wired as examples/pos wires it: the journal numbers the
// load (the STAN its online request carried) and its record keeps the PAN
// sealed under the data key in --data-dir, which gives it back.
func TestJournalRecordCarriesSTANAndSealedPAN(t *testing.T) {
	dir := t.TempDir()
	s, err := runKiosk(t, "--data-dir", dir)
	require.NoError(t, err)
	require.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
	raw, err := os.ReadFile(filepath.Join(dir, "data.key"))
	require.NoError(t, err)
	key, err := journal.NewAESGCMKey(raw)
	require.NoError(t, err)
	j, err := journal.Open(filepath.Join(dir, "journal.dat"))
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(context.Background())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, journal.KindLoad, r.Kind)
	assert.Equal(t, uint32(1), r.STAN, "the load's STAN")
	assert.Equal(t, uint32(1), r.Batch)
	require.NotNil(t, r.EncryptedPAN, "the PAN sealed")
	got, err := r.OpenPAN(context.Background(), key)
	require.NoError(t, err)
	assert.Equal(t, pan, got)
	b, err := os.ReadFile(filepath.Join(dir, "journal.dat"))
	require.NoError(t, err)
	assert.NotContains(t, string(b), pan, "never in clear")
}

// Cash and non-designated loads do not touch the cardholder's account and
// need no PIN; a load up to exactly the limit is allowed.
func TestCashAndNonDesignatedLoads(t *testing.T) {
	t.Run("cash", func(t *testing.T) {
		s, err := runKiosk(t, "--type", "cash", "--amount", "300")
		require.NoError(t, err)
		assert.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
		assert.Equal(t, "loaded", s.field("reason"))
		assert.Empty(t, s.Fields["online PIN"])
		assert.Equal(t, "800.00 (as the card reports it)", s.field("balance after"))
		assert.Equal(t, []string{"0.00", "300.00"}, s.Fields["cash taken"])
		assert.Equal(t, "800.00", s.balance())
		assert.Equal(t, "2000.00", s.account(t))
		assert.Equal(t, kernel.Amount(300_00), s.host.CashTotal())
	})
	t.Run("non-designated up to the limit", func(t *testing.T) {
		s, err := runKiosk(t, "--type", "non-designated", "--amount", "500.00")
		require.NoError(t, err)
		assert.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
		assert.Equal(t, "1000.00 (as the card reports it)", s.field("balance after"))
		assert.Equal(t, "500.00", s.field("non-designated funds"))
		assert.Equal(t, "1000.00", s.balance())
		assert.Equal(t, "2000.00", s.account(t))
		assert.Equal(t, kernel.Amount(500_00), s.host.NonDesignatedTotal())
	})
}

// A load above the limit is refused before anything goes online: no
// request at the issuer, no transaction on the card, nothing charged.
func TestLoadAboveLimitRefused(t *testing.T) {
	for _, typ := range []string{"designated", "non-designated", "cash"} {
		t.Run(typ, func(t *testing.T) {
			s, err := runKiosk(t, "--type", typ, "--amount", "500.01")
			require.ErrorIs(t, err, errRefused)
			assert.Equal(t, "loading 500.01 would bring the EC balance to 1000.01, above the card's limit of 1000.00; "+
				"at most 500.00 can be loaded. Nothing was charged.", s.field("REFUSED"))
			assert.Empty(t, s.Fields["outcome"])
			assert.Empty(t, s.host.Ledger(), "nothing went online")
			assert.Zero(t, s.card.ATC(aid), "no transaction started on the card")
			assert.Equal(t, "500.00", s.balance())
			assert.Equal(t, "2000.00", s.account(t))
			assert.Zero(t, s.host.CashTotal())
			assert.Zero(t, s.host.NonDesignatedTotal())
		})
	}
}

// A wrong PIN on a designated load: the issuer declines, nothing moves.
func TestDesignatedLoadWrongPIN(t *testing.T) {
	s, err := runKiosk(t, "--pin", "000000")
	require.NoError(t, err)
	assert.Equal(t, "declined", s.field("outcome"))
	assert.Equal(t, "pin_incorrect", s.field("reason"))
	assert.Equal(t, "500.00", s.balance())
	assert.Equal(t, "2000.00", s.account(t))
}

// The account cannot fund a designated load: declined with "51".
func TestDesignatedLoadInsufficientFunds(t *testing.T) {
	s, err := runKiosk(t, "--account", "100.00")
	require.NoError(t, err)
	assert.Equal(t, "declined", s.field("outcome"))
	assert.Equal(t, "51", s.field("response code"))
	assert.Equal(t, "500.00", s.balance())
	assert.Equal(t, "100.00", s.account(t))
}

func TestBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--amount", "abc"},
		{"--amount", "0"},
		{"--type", "credit"},
		{"--card", "no-such-card.json"},
		{"extra"},
	} {
		_, err := runKiosk(t, args...)
		assert.Error(t, err, args)
		assert.NotErrorIs(t, err, errRefused, args)
	}
}

// --reader: the seed card served through pcscd and vpcd. The example prints
// what the kernel reports and leaves the simulated card alone. Without
// --card there is no issuer to authorise the load: it ends online_required
// and the card keeps its balance. With --card the simulated issuer is built
// from the card's profile and the load goes through as on the simulated
// card.
func TestReader(t *testing.T) {
	profile, err := cardsim.LoadProfile(defaultCard)
	require.NoError(t, err)
	served, err := cardsim.New(profile)
	require.NoError(t, err)
	srv := vpcdtest.Serve(t, served)
	cardLine := fmt.Sprintf("in reader %q (ATR %X, T=0)", srv.Reader, srv.ATR)

	t.Run("no issuer", func(t *testing.T) {
		s, err := runKiosk(t, "--reader", srv.Reader, "--test-ca")
		require.NoError(t, err)
		t.Log("\n" + s.Out)
		assert.Nil(t, s.card, "no simulated card in the example")
		assert.Nil(t, s.host, "no issuer host")
		assert.Equal(t, cardLine, s.field("card"))
		assert.Contains(t, s.field("issuer host"), "none: ")
		assert.Equal(t, "500.00 (limit 1000.00)", s.field("EC balance"))
		assert.Equal(t, "up to 500.00", s.field("can be loaded"))
		assert.Equal(t, []string{"- (no issuer host)", "- (no issuer host)"}, s.Fields["back-office account"])
		assert.Equal(t, "online_required", s.field("outcome"), s.field("detail"))
		assert.Equal(t, "unable_to_go_online", s.field("reason"))
		assert.Equal(t, "500.00 (as the card reported it)", s.field("balance before"))
		assert.Empty(t, s.Fields["response code"])
		assert.Equal(t, "500.00", kernel.Amount(served.Balance(aid)).String(), "nothing loaded")
	})

	t.Run("issuer from --card", func(t *testing.T) {
		s, err := runKiosk(t, "--reader", srv.Reader, "--test-ca", "--card", defaultCard, "--amount", "150.00")
		require.NoError(t, err)
		t.Log("\n" + s.Out)
		assert.Nil(t, s.card, "no simulated card in the example")
		require.NotNil(t, s.host)
		assert.Equal(t, cardLine, s.field("card"))
		assert.Contains(t, s.field("issuer host"), "simulated, with the keys of "+defaultCard)
		assert.Equal(t, exampletest.MaskedPAN+" (AID "+aid+")", s.field("PAN"))
		assert.Equal(t, "500.00 (as the card reported it)", s.field("balance before"))
		assert.Equal(t, "entered", s.field("online PIN"))
		assert.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
		assert.Equal(t, "loaded", s.field("reason"))
		assert.Equal(t, "00", s.field("response code"))
		assert.Equal(t, "2000000001", s.field("script result 9F5B"))
		assert.Equal(t, "650.00 (as the card reports it)", s.field("balance after"))
		assert.Equal(t, []string{"2000.00", "1850.00"}, s.Fields["back-office account"])
		assert.NotContains(t, s.Out, "WARNING")

		assert.Equal(t, "650.00", kernel.Amount(served.Balance(aid)).String(), "the served card was loaded")
		assert.Equal(t, "1850.00", s.account(t))
	})

	t.Run("refused before going online", func(t *testing.T) {
		atc := served.ATC(aid)
		s, err := runKiosk(t, "--reader", srv.Reader, "--test-ca", "--card", defaultCard, "--amount", "350.01")
		require.ErrorIs(t, err, errRefused)
		assert.Equal(t, "up to 350.00", s.field("can be loaded"))
		assert.NotEmpty(t, s.field("REFUSED"))
		assert.Empty(t, s.host.Ledger(), "nothing went online")
		assert.Equal(t, atc, served.ATC(aid), "no transaction on the card")
		assert.Equal(t, "650.00", kernel.Amount(served.Balance(aid)).String())
	})
}
