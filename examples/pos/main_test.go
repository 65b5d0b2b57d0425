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
	"github.com/go-pboc/pboc/transport/pcsc"
)

// lowBalance is the repository's profile of the seed card with 5.00, as
// the tests name it from this directory.
const lowBalance = "../../testdata/cards/low-balance.json"

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

func runPOS(t *testing.T, args ...string) (session, error) {
	t.Helper()
	var s session
	inserted = func(c *cardsim.Card, h *hostsim.Host) { s.card, s.host = c, h }
	t.Cleanup(func() { inserted = nil })
	var err error
	s.Session, err = exampletest.Run(t, run, args...)
	return s, err
}

// The default run: the low-balance card pays 4.50, the sale goes online
// with the PIN, and the issuer's script refills the EC balance to 1000.00.
func TestAutomaticTopUp(t *testing.T) {
	s, err := runPOS(t)
	require.NoError(t, err)
	t.Log("\n" + s.Out)

	assert.Equal(t, "seed card with EC balance 5.00 (built-in)", s.field("card"))
	assert.Equal(t, "published keys + the simulator's test CA (A000000333 F1-F3; never in production)", s.field("CA keys"))
	assert.Equal(t, "5.00 (limit 1000.00, single limit 300.00, reset threshold 1.00)", s.field("EC balance"))
	assert.Equal(t, []string{"2000.00", "1000.50"}, s.Fields["back-office account"])
	assert.Equal(t, "622202*********6781 (AID A000000333010101)", s.field("PAN"))
	assert.Equal(t, "5.00 (as the card reported it)", s.field("balance before"))
	assert.Equal(t, "yes", s.field("top-up requested"))
	assert.Equal(t, "entered", s.field("online PIN"))
	assert.Equal(t, "approved_online", s.field("outcome"))
	assert.Equal(t, "below_reset_threshold", s.field("reason"), s.field("detail"))
	assert.Contains(t, s.field("detail"), "EC balance topped up to 1000.00")
	assert.Equal(t, "00", s.field("response code"))
	assert.Equal(t, "2000000001", s.field("script result 9F5B"), "script 00000001 successful")
	assert.Equal(t, "1000.00 (as the card reports it)", s.field("balance after"))
	assert.NotContains(t, s.Out, "WARNING")
	assert.Regexp(t, `^[0-9A-F]{16} \(CID 40\)$`, s.field("cryptogram"), "the second GENERATE AC's TC")
	assert.Equal(t, []string{"online_sale 4.50 ATC 1 CID 40 approved_online"}, s.Fields["journal record"], "journaled before the receipt")
	assert.Equal(t, "1", s.field("journal records"))

	// The state behind the printout: the card holds its limit, the
	// account paid the purchase and the refill (1000.00 - 5.00), and the
	// issuer recorded one approval.
	assert.Equal(t, "1000.00", s.balance())
	assert.Equal(t, "1000.50", s.account(t), "2000.00 - 4.50 - 995.00")
	ledger := s.host.Ledger()
	require.Len(t, ledger, 1)
	assert.Equal(t, "00", ledger[0].ResponseCode)
	assert.True(t, ledger[0].TopUp)
	assert.EqualValues(t, 995_00, ledger[0].Refill)
}

// A wrong PIN: the issuer declines, nothing moves.
func TestWrongPIN(t *testing.T) {
	s, err := runPOS(t, "--pin", "654321")
	require.NoError(t, err)
	assert.Equal(t, "declined", s.field("outcome"))
	assert.Equal(t, "pin_incorrect", s.field("reason"))
	assert.Equal(t, "55", s.field("response code"))
	assert.Equal(t, []string{"2000.00", "2000.00"}, s.Fields["back-office account"])
	assert.Equal(t, "5.00", s.balance())
	assert.Equal(t, "2000.00", s.account(t))
}

// The cardholder bypasses PIN entry: a top-up needs the PIN, so the
// terminal declines without going online.
// A bypassed top-up PIN fails only the top-up: the EC balance pays the sale
// offline (issue 13 item 3).
func TestPINBypassed(t *testing.T) {
	s, err := runPOS(t, "--pin", "")
	require.NoError(t, err)
	assert.Equal(t, "approved_offline", s.field("outcome"))
	assert.Equal(t, "ec_approved", s.field("reason"))
	assert.Empty(t, s.host.Ledger(), "nothing went online")
	assert.Equal(t, "0.50", s.balance())
	assert.Equal(t, "2000.00", s.account(t))
}

// A sale that leaves the balance above the threshold is paid offline from
// the EC balance, without a top-up and without the issuer.
func TestNoTopUpNeeded(t *testing.T) {
	s, err := runPOS(t, "--amount", "3.00")
	require.NoError(t, err)
	assert.Equal(t, "no", s.field("top-up requested"))
	assert.Equal(t, "approved_offline", s.field("outcome"), s.field("detail"))
	assert.Equal(t, "ec_approved", s.field("reason"))
	assert.Equal(t, "2.00 (as the card reports it)", s.field("balance after"))
	assert.Equal(t, "2.00", s.balance())
	assert.Equal(t, "2000.00", s.account(t))
	assert.Empty(t, s.host.Ledger())
}

// The issuer's account cannot fund the refill: the purchase is approved
// but the card is not topped up, and the printout says so.
func TestAccountCannotFundTopUp(t *testing.T) {
	s, err := runPOS(t, "--account", "100.00")
	require.NoError(t, err)
	assert.Equal(t, "approved_online", s.field("outcome"))
	assert.Equal(t, "5.00 (as the card reports it)", s.field("balance after"))
	assert.Equal(t, "5.00", s.balance())
	assert.Equal(t, "95.50", s.account(t), "only the purchase was charged")
}

// --card names a profile file.
func TestCardFlag(t *testing.T) {
	s, err := runPOS(t, "--card", "../../testdata/cards/default.json", "--amount", "12.34")
	require.NoError(t, err)
	assert.Equal(t, "approved_offline", s.field("outcome"), s.field("detail"))
	assert.Equal(t, "500.00 (as the card reported it)", s.field("balance before"))
	assert.Equal(t, "487.66 (as the card reports it)", s.field("balance after"))
	assert.Equal(t, "487.66", s.balance())
	assert.Equal(t, []string{"ec_offline_sale 12.34 ATC 1 CID 40 approved_offline"}, s.Fields["journal record"])
}

// --data-dir keeps the journal, the torn log and their key between runs;
// without it they live in a temporary directory that is removed.
func TestDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "terminal")
	s, err := runPOS(t, "--data-dir", dir, "--amount", "3.00")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "journal.dat"), s.field("journal"))
	for _, f := range []string{"journal.dat", "torn.dat", "pan-hash.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s is card data", f)
	}
	j, err := journal.Open(filepath.Join(dir, "journal.dat"), journal.ReadOnly())
	require.NoError(t, err)
	recs, err := j.Records(context.Background())
	require.NoError(t, err)
	require.NoError(t, j.Close())
	require.Len(t, recs, 1)
	assert.Equal(t, uint64(3_00), recs[0].Amount)
	assert.NotContains(t, recs[0].MaskedPAN, "1000123456", "masked")

	s, err = runPOS(t)
	require.NoError(t, err)
	_, err = os.Stat(s.field("journal"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the temporary journal is removed at the end")
}

func TestBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--amount", "abc"},
		{"--amount", "0"},
		{"--account", "-1"},
		{"--card", "no-such-card.json"},
		{"--amount", "0"},
		{"--amount", "-1"},
		{"extra"},
	} {
		_, err := runPOS(t, args...)
		assert.Error(t, err, args)
	}
}

// --reader: the low-balance card served through pcscd and vpcd. The example
// prints what the kernel reports and leaves the simulated card alone.
// Without --card there is no issuer: the top-up ends online_required and
// the card keeps its balance. With --card the simulated issuer is built
// from the card's profile: the top-up goes through as on the simulated
// card.
func TestReader(t *testing.T) {
	profile, err := cardsim.LoadProfile(lowBalance)
	require.NoError(t, err)
	served, err := cardsim.New(profile)
	require.NoError(t, err)
	srv := vpcdtest.Serve(t, served)
	cardLine := fmt.Sprintf("in reader %q (ATR %X, T=0)", srv.Reader, srv.ATR)

	t.Run("no issuer", func(t *testing.T) {
		s, err := runPOS(t, "--reader", srv.Reader, "--test-ca")
		require.NoError(t, err)
		t.Log("\n" + s.Out)
		assert.Nil(t, s.card, "no simulated card in the example")
		assert.Nil(t, s.host, "no issuer host")
		assert.Equal(t, cardLine, s.field("card"))
		assert.Equal(t, "published keys + the simulator's test CA (A000000333 F1-F3; never in production)", s.field("CA keys"), "--test-ca")
		assert.Contains(t, s.field("issuer host"), "none: ")
		assert.Contains(t, s.field("issuer host"), "online_required")
		assert.Equal(t, "5.00 (limit 1000.00, single limit 300.00, reset threshold 1.00)", s.field("EC balance"))
		assert.Equal(t, []string{"- (no issuer host)", "- (no issuer host)"}, s.Fields["back-office account"])
		assert.Equal(t, exampletest.MaskedPAN+" (AID "+aid+")", s.field("PAN"))
		assert.Equal(t, "5.00 (as the card reported it)", s.field("balance before"))
		assert.Equal(t, "yes", s.field("top-up requested"))
		assert.Equal(t, "online_required", s.field("outcome"), s.field("detail"))
		assert.Empty(t, s.Fields["response code"])
		assert.Empty(t, s.Fields["script result 9F5B"])
		assert.Equal(t, "5.00", kernel.Amount(served.Balance(aid)).String(), "nothing taken from the card")
		assert.NotZero(t, served.ATC(aid), "the transaction ran on the served card")
	})

	t.Run("issuer from --card", func(t *testing.T) {
		atc := served.ATC(aid)
		s, err := runPOS(t, "--reader", srv.Reader, "--test-ca", "--card", lowBalance)
		require.NoError(t, err)
		t.Log("\n" + s.Out)
		assert.Nil(t, s.card, "no simulated card in the example")
		require.NotNil(t, s.host)
		assert.Equal(t, cardLine, s.field("card"))
		assert.Contains(t, s.field("issuer host"), "simulated, with the keys of "+lowBalance)
		assert.Equal(t, "5.00 (as the card reported it)", s.field("balance before"))
		assert.Equal(t, "entered", s.field("online PIN"))
		assert.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
		assert.Equal(t, "below_reset_threshold", s.field("reason"))
		assert.Equal(t, "00", s.field("response code"))
		assert.Equal(t, "2000000001", s.field("script result 9F5B"))
		assert.Equal(t, "1000.00 (as the card reports it)", s.field("balance after"))
		assert.Equal(t, []string{"2000.00", "1000.50"}, s.Fields["back-office account"])
		assert.NotContains(t, s.Out, "WARNING")

		assert.Equal(t, "1000.00", kernel.Amount(served.Balance(aid)).String(), "the served card was topped up")
		assert.Greater(t, served.ATC(aid), atc)
		assert.Equal(t, "1000.50", s.account(t))
	})

	t.Run("published keys only", func(t *testing.T) {
		// Without --test-ca the terminal trusts no key of the test CA that
		// signed the served card: ODA fails, so the sale cannot stay offline.
		s, err := runPOS(t, "--reader", srv.Reader, "--amount", "1.00")
		require.NoError(t, err)
		assert.Equal(t, "published keys only (capk.Builtin)", s.field("CA keys"))
		assert.NotEqual(t, "approved_offline", s.field("outcome"), s.field("detail"))
	})

	t.Run("bad reader", func(t *testing.T) {
		_, err := runPOS(t, "--reader", "no such reader")
		require.ErrorIs(t, err, pcsc.ErrNoReader)
		assert.ErrorContains(t, err, `--reader "no such reader"`)
	})
}

// The online request goes through the acquirer link over ISO 8583 to the
// loopback acquirer: sign-in, the sale (its trace number the journal's, as
// the kernel drew it), then the script result advice; the journal's record
// carries the same trace number as the sale.
func TestThroughTheAcquirer(t *testing.T) {
	s, err := runPOS(t)
	require.NoError(t, err)
	assert.Contains(t, s.field("acquirer"), "loopback simulator at 127.0.0.1:")
	assert.Equal(t, []string{
		"0800 stan 000001 60.1 00 60.3 001, answered 00",
		"0200 stan 000002 60.1 22 60.3 000, answered 00",
		"0620 stan 000003 60.1 00 60.3 951, answered 00",
	}, s.Fields["acquirer received"])
	assert.NotContains(t, s.Out, "WARNING")
}
