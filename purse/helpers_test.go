// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
)

// testNow is the fixed clock of every test station.
var testNow = time.Date(2026, 3, 15, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))

var storeKey = []byte("0123456789abcdef0123456789abcdef")

// station is one terminal with its PSAM, the reserve host, its store and
// a fuel card, all real (simulated) crypto.
type station struct {
	t       testing.TB
	card    *cardsim.PurseCard
	psam    *psam.PSAM
	reserve *hostsim.Reserve
	store   *purse.Store
	term    *purse.Terminal
	asn     purse.ASN
	path    string
	cfg     purse.Config
	pad     purse.PINPad
	sam     purse.SAM
}

// stationOpt adjusts a station before its terminal is built.
type stationOpt func(*station)

func withConfig(f func(*purse.Config)) stationOpt { return func(s *station) { f(&s.cfg) } }

func withPIN(pin string) stationOpt {
	return func(s *station) { s.pad = hostsim.PursePINPad{PIN: pin} }
}

func newStation(t testing.TB, prof *cardsim.PurseProfile, opts ...stationOpt) *station {
	t.Helper()
	if prof == nil {
		prof = cardsim.DefaultPurseProfile()
	}
	card, err := cardsim.NewPurseCard(prof)
	require.NoError(t, err)
	p, err := psam.New(psam.DefaultProfile())
	require.NoError(t, err)
	s := &station{t: t, card: card, psam: p, path: filepath.Join(fastDir(t), "purse.log"),
		cfg: purse.Config{Now: func() time.Time { return testNow }}, pad: hostsim.PursePINPad{PIN: "123456"}}
	s.reserve, s.asn, err = hostsim.ReserveFor(prof, 200000) // 2000.00
	require.NoError(t, err)
	s.reserve.SetClock(func() time.Time { return testNow })
	for _, o := range opts {
		o(s)
	}
	s.reopen()
	return s
}

// fastDir is a directory for the tests' stores: on tmpfs (/dev/shm) where
// there is one, so that the fsync of every record write costs the tests
// nothing (the crash test kills processes, not the machine: the page cache
// is the same either way), else the test's temporary directory.
func fastDir(t testing.TB) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "purse-test"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// reopen builds the terminal again on the same store file (a restart).
func (s *station) reopen() {
	s.t.Helper()
	if s.store != nil {
		require.NoError(s.t, s.store.Close())
	}
	st, err := purse.OpenStore(s.path, storeKey)
	require.NoError(s.t, err)
	s.store = st
	if s.sam == nil {
		sam, err := purse.OpenPSAM(context.Background(), s.psam)
		require.NoError(s.t, err)
		s.sam = sam
	}
	term, err := purse.New(s.cfg, purse.WithHost(s.reserve), purse.WithSAM(s.sam), purse.WithStore(st), purse.WithPINPad(s.pad))
	require.NoError(s.t, err)
	s.term = term
}

// pump is a Nozzle that delivers want (capped at the limit) at 7.85/L.
type pump struct {
	want  purse.Amount
	calls int
	limit purse.Amount
}

func (p *pump) Fuel(_ context.Context, limit purse.Amount) (purse.Fill, error) {
	p.calls++
	p.limit = limit
	a := min(p.want, limit)
	return purse.Fill{Amount: a, Volume: uint32(uint64(a) * 100 / 785), Price: 785, Grade: 92, Nozzle: 1}, nil
}
