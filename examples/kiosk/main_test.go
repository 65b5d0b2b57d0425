package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

const (
	aid = "A000000333010101"
	pan = "6222021000123456781" // the seed card's PAN; must never be printed
)

// session is one run of the example: what it printed and the simulated card
// and host it ran against.
type session struct {
	out    string
	fields map[string][]string
	card   *cardsim.Card
	host   *hostsim.Host
}

// field returns the last value printed under label.
func (s session) field(label string) string {
	v := s.fields[label]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

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
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	s.out = out.String()
	s.fields = make(map[string][]string)
	for _, line := range strings.Split(s.out, "\n") {
		if label, value, ok := strings.Cut(line, ":"); ok {
			s.fields[label] = append(s.fields[label], strings.TrimSpace(value))
		}
	}
	assert.NotContains(t, s.out, pan, "the full PAN is never printed")
	return s, err
}

// The default run: a designated load of 200.00 from the cardholder's
// account onto the seed card's 500.00.
func TestDesignatedLoad(t *testing.T) {
	s, err := runKiosk(t)
	require.NoError(t, err)
	t.Log("\n" + s.out)

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
	assert.Equal(t, []string{"2000.00", "1800.00"}, s.fields["back-office account"])
	assert.NotContains(t, s.out, "WARNING")

	assert.Equal(t, "700.00", s.balance())
	assert.Equal(t, "1800.00", s.account(t))
}

// Cash and non-designated loads do not touch the cardholder's account and
// need no PIN; a load up to exactly the limit is allowed.
func TestCashAndNonDesignatedLoads(t *testing.T) {
	t.Run("cash", func(t *testing.T) {
		s, err := runKiosk(t, "--type", "cash", "--amount", "300")
		require.NoError(t, err)
		assert.Equal(t, "approved_online", s.field("outcome"), s.field("detail"))
		assert.Equal(t, "loaded", s.field("reason"))
		assert.Empty(t, s.fields["online PIN"])
		assert.Equal(t, "800.00 (as the card reports it)", s.field("balance after"))
		assert.Equal(t, []string{"0.00", "300.00"}, s.fields["cash taken"])
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
			assert.Empty(t, s.fields["outcome"])
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
