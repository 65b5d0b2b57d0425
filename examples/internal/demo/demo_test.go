package demo

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

const pan = "6222021000123456781"

// A profile path relative to the repository root is found from this
// package's directory; an absolute or missing path is not searched for.
func TestFindFile(t *testing.T) {
	p, ok := FindFile("testdata/cards/default.json")
	require.True(t, ok)
	assert.True(t, filepath.IsAbs(p), p)
	_, err := os.Stat(p)
	assert.NoError(t, err)

	_, ok = FindFile("testdata/cards/no-such.json")
	assert.False(t, ok)
	_, ok = FindFile(filepath.Join(t.TempDir(), "no-such.json"))
	assert.False(t, ok)
}

func TestLoadProfile(t *testing.T) {
	p, src, err := LoadProfile("testdata/cards/low-balance.json", true, nil)
	require.NoError(t, err)
	assert.Equal(t, "testdata/cards/low-balance.json", src)
	assert.Equal(t, "5.00", p.Applications[0].EC.Balance)

	// A missing default falls back to the built-in card.
	p, src, err = LoadProfile("testdata/cards/no-such.json", true, nil)
	require.NoError(t, err)
	assert.Equal(t, "built-in", src)
	assert.Equal(t, cardsim.DefaultProfile().Name, p.Name)
	p, _, err = LoadProfile("testdata/cards/no-such.json", true, func() *cardsim.Profile {
		p := cardsim.DefaultProfile()
		p.Name = "fallback"
		return p
	})
	require.NoError(t, err)
	assert.Equal(t, "fallback", p.Name)

	// A missing profile named by the user is an error.
	_, _, err = LoadProfile("testdata/cards/no-such.json", false, nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func parse(t *testing.T, args ...string) *CardFlags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cf CardFlags
	cf.Register(fs, "testdata/cards/default.json", true)
	require.NoError(t, fs.Parse(args))
	return &cf
}

func TestOpenSimulatedCard(t *testing.T) {
	cf := parse(t)
	assert.False(t, cf.CardSet())
	card, err := cf.Open(context.Background())
	require.NoError(t, err)
	require.NotNil(t, card.Sim)
	assert.Nil(t, card.PCSC)
	assert.Same(t, card.Sim, card.Transport)
	assert.Equal(t, "testdata/cards/default.json", card.Source)
	assert.Equal(t, card.Profile.Name+" (testdata/cards/default.json)", card.Describe())
	assert.NoError(t, card.Close())

	cf = parse(t, "--card", "testdata/cards/low-balance.json")
	assert.True(t, cf.CardSet())
	card, err = cf.Open(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 5_00, card.Sim.Balance("A000000333010101"))

	_, err = parse(t, "--card", "no-such.json").Open(context.Background())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// With --reader the profile is loaded only when --card is given, and a
// missing one is an error before any reader is opened.
func TestOpenReaderErrors(t *testing.T) {
	_, err := parse(t, "--reader", "x", "--card", "no-such.json").Open(context.Background())
	assert.ErrorIs(t, err, os.ErrNotExist)

	sock := filepath.Join(t.TempDir(), "no-pcscd.comm")
	t.Setenv("PCSCLITE_CSOCK_NAME", sock)
	if pcsc.SocketPath() != sock {
		t.Skip("pcsc does not take its socket from PCSCLITE_CSOCK_NAME")
	}
	_, err = parse(t, "--reader", "Virtual PCD").Open(context.Background())
	require.ErrorIs(t, err, pcsc.ErrNoService)
	assert.ErrorContains(t, err, `--reader "Virtual PCD"`)
}

func TestIssuer(t *testing.T) {
	h, err := NewIssuer(nil, 100)
	require.NoError(t, err)
	assert.Nil(t, h, "no profile, no issuer")
	assert.Len(t, Terminal(nil, "123456"), 1, "the PIN pad only")

	p, _, err := LoadProfile("testdata/cards/two-apps.json", false, nil)
	require.NoError(t, err)
	h, err = NewIssuer(p, 2000_00)
	require.NoError(t, err)
	for _, app := range p.Applications {
		a, ok := h.Account(app.PAN)
		require.True(t, ok, app.AID)
		assert.Equal(t, kernel.Amount(2000_00), a.Balance)
	}
	assert.Len(t, Terminal(h, "123456"), 2, "the PIN pad and the host")
	assert.Equal(t, "2000.00", AccountBalance(h, pan))
	assert.Equal(t, "-", AccountBalance(h, "6222020000000000000"))
	assert.Equal(t, "- (no issuer host)", AccountBalance(nil, pan))

	var w bytes.Buffer
	PrintIssuer(&w, &Card{}, nil)
	assert.Contains(t, w.String(), "issuer host:           none: ")
	w.Reset()
	PrintIssuer(&w, &Card{}, h)
	assert.Equal(t, "issuer host:           simulated\n", w.String())
	w.Reset()
	PrintLedger(&w, nil)
	PrintLedger(&w, h)
	assert.Empty(t, w.String(), "an empty ledger")
}

func TestReceipt(t *testing.T) {
	var w bytes.Buffer
	Field(&w, "outcome", "%s", "approved_offline")
	assert.Equal(t, "outcome:               approved_offline\n", w.String())
	a := kernel.Amount(12_34)
	assert.Equal(t, "12.34", AmountOrDash(&a))
	assert.Equal(t, "-", AmountOrDash(nil))
	assert.Equal(t, "-", Dash(""))
	assert.Equal(t, "x", Dash("x"))
}
