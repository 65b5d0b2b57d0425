package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/examples/internal/demo"
	"github.com/go-pboc/pboc/examples/internal/demo/demotest"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

const (
	aid = demotest.AID
	pan = demotest.PAN
)

// session is one run of the example: what it printed and the simulated card
// and host it ran against (nil when it had none).
type session struct {
	demotest.Session
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
	s.Session, err = demotest.Run(t, run, args...)
	return s, err
}

// The default run: the low-balance card pays 4.50, the sale goes online
// with the PIN, and the issuer's script refills the EC balance to 1000.00.
func TestAutomaticTopUp(t *testing.T) {
	s, err := runPOS(t)
	require.NoError(t, err)
	t.Log("\n" + s.Out)

	assert.Equal(t, "seed card with EC balance 5.00 (testdata/cards/low-balance.json)", s.field("card"))
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

// --card takes a path relative to the working directory or to the
// repository root.
func TestCardFlag(t *testing.T) {
	s, err := runPOS(t, "--card", "testdata/cards/default.json", "--amount", "12.34")
	require.NoError(t, err)
	assert.Equal(t, "approved_offline", s.field("outcome"), s.field("detail"))
	assert.Equal(t, "500.00 (as the card reported it)", s.field("balance before"))
	assert.Equal(t, "487.66 (as the card reports it)", s.field("balance after"))
	assert.Equal(t, "487.66", s.balance())
}

func TestBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--amount", "abc"},
		{"--amount", "0"},
		{"--account", "-1"},
		{"--card", "no-such-card.json"},
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
	profile, _, err := demo.LoadProfile(defaultCard, false, nil)
	require.NoError(t, err)
	srv := demotest.ServePCSC(t, profile)
	cardLine := fmt.Sprintf("in reader %q (ATR %X, T=0)", srv.Reader, srv.ATR)

	t.Run("no issuer", func(t *testing.T) {
		s, err := runPOS(t, "--reader", srv.Reader, "--test-ca")
		require.NoError(t, err)
		t.Log("\n" + s.Out)
		assert.Nil(t, s.card, "no simulated card in the example")
		assert.Nil(t, s.host, "no issuer host")
		assert.Equal(t, cardLine, s.field("card"))
		assert.Contains(t, s.field("issuer host"), "none: ")
		assert.Contains(t, s.field("issuer host"), "online_required")
		assert.Equal(t, "5.00 (limit 1000.00, single limit 300.00, reset threshold 1.00)", s.field("EC balance"))
		assert.Equal(t, []string{"- (no issuer host)", "- (no issuer host)"}, s.Fields["back-office account"])
		assert.Equal(t, demotest.MaskedPAN+" (AID "+aid+")", s.field("PAN"))
		assert.Equal(t, "5.00 (as the card reported it)", s.field("balance before"))
		assert.Equal(t, "yes", s.field("top-up requested"))
		assert.Equal(t, "online_required", s.field("outcome"), s.field("detail"))
		assert.Empty(t, s.Fields["response code"])
		assert.Empty(t, s.Fields["script result 9F5B"])
		assert.Equal(t, "5.00", kernel.Amount(srv.Card.Balance(aid)).String(), "nothing taken from the card")
		assert.NotZero(t, srv.Card.ATC(aid), "the transaction ran on the served card")
	})

	t.Run("issuer from --card", func(t *testing.T) {
		atc := srv.Card.ATC(aid)
		s, err := runPOS(t, "--reader", srv.Reader, "--test-ca", "--card", defaultCard)
		require.NoError(t, err)
		t.Log("\n" + s.Out)
		assert.Nil(t, s.card, "no simulated card in the example")
		require.NotNil(t, s.host)
		assert.Equal(t, cardLine, s.field("card"))
		assert.Contains(t, s.field("issuer host"), "simulated, with the keys of "+defaultCard)
		assert.Equal(t, "5.00 (as the card reported it)", s.field("balance before"))
		assert.Equal(t, "entered", s.field("online PIN"))
		assert.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
		assert.Equal(t, "below_reset_threshold", s.field("reason"))
		assert.Equal(t, "00", s.field("response code"))
		assert.Equal(t, "2000000001", s.field("script result 9F5B"))
		assert.Equal(t, "1000.00 (as the card reports it)", s.field("balance after"))
		assert.Equal(t, []string{"2000.00", "1000.50"}, s.Fields["back-office account"])
		assert.NotContains(t, s.Out, "WARNING")

		assert.Equal(t, "1000.00", kernel.Amount(srv.Card.Balance(aid)).String(), "the served card was topped up")
		assert.Greater(t, srv.Card.ATC(aid), atc)
		assert.Equal(t, "1000.50", s.account(t))
	})

	t.Run("bad reader", func(t *testing.T) {
		_, err := runPOS(t, "--reader", "no such reader")
		require.ErrorIs(t, err, pcsc.ErrNoReader)
		assert.ErrorContains(t, err, `--reader "no such reader"`)
	})
}

// The online request goes through the loopback acquirer over ISO 8583:
// sign-in, the sale, then the script result advice; --acquirer direct
// calls the simulated issuer without the link.
func TestThroughTheAcquirer(t *testing.T) {
	s, err := runPOS(t)
	require.NoError(t, err)
	assert.Contains(t, s.field("acquirer"), "loopback simulator at 127.0.0.1:")
	assert.Equal(t, []string{
		"0800 stan 000001 60.1 00 60.3 001, answered 00",
		"0200 stan 000002 60.1 22 60.3 000, answered 00",
		"0620 stan 000003 60.1 00 60.3 951, answered 00",
	}, s.Fields["acquirer received"])

	s, err = runPOS(t, "--acquirer", "direct")
	require.NoError(t, err)
	assert.Empty(t, s.Fields["acquirer"])
	assert.Empty(t, s.Fields["acquirer received"])
	assert.Equal(t, "approved_online", s.field("outcome"))
	assert.Equal(t, "1000.50", s.account(t))
}
