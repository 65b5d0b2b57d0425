// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
)

// The fault-and-lie walk: every purse flow is run once clean to count its
// card and PSAM commands, then again with every fault at every command of
// the card, and of the PSAM, and with the host failing or lying at each of
// its calls. After each run the card comes back (to a restarted terminal on
// the same store, the host reachable again) and must leave the card, the
// reserve account and the terminal's records agreeing: the money moved
// exactly once or not at all, every record of the card is final, and no
// confirmation is left for the host.

var cardFaults = []cardsim.Fault{
	{Kind: cardsim.FaultRemove}, {Kind: cardsim.FaultReaderError}, {Kind: cardsim.FaultTimeout},
	{Kind: cardsim.FaultSW, SW: 0x6F00}, {Kind: cardsim.FaultSW, SW: 0x9302}, {Kind: cardsim.FaultTruncate},
	{Kind: cardsim.FaultCorrupt}, {Kind: cardsim.FaultTorn},
}

// flow is one purse operation under test and what it must move.
type flow struct {
	name   string
	amount purse.Amount
	run    func(s *station, card apdu.Transport) (*purse.Result, error)
	// moved returns how much the card's wallet and the reserve moved
	// (card gain, reserve loss for a load; card loss, reserve gain for an
	// unload; card loss and 0 for a purchase or fuel).
	moved func(s *station) (card, reserve int64)
}

var flows = []flow{
	{"load", 20000, func(s *station, c apdu.Transport) (*purse.Result, error) {
		return s.term.Load(context.Background(), c, 20000)
	}, func(s *station) (int64, int64) {
		return int64(s.card.Balance(2)) - 50000, 200000 - int64(s.reserve.Balance(s.asn))
	}},
	{"unload", 5000, func(s *station, c apdu.Transport) (*purse.Result, error) {
		return s.term.Unload(context.Background(), c, 5000)
	}, func(s *station) (int64, int64) {
		return 10000 - int64(s.card.Balance(1)), int64(s.reserve.Balance(s.asn)) - 200000
	}},
	{"purchase", 1234, func(s *station, c apdu.Transport) (*purse.Result, error) {
		return s.term.Purchase(context.Background(), c, 1234)
	}, func(s *station) (int64, int64) { return 50000 - int64(s.card.Balance(2)), 0 }},
	{"fuel", 25000, func(s *station, c apdu.Transport) (*purse.Result, error) {
		return s.term.Dispense(context.Background(), c, purse.DispenseRequest{Preset: 30000, Nozzle: &pump{want: 25000}})
	}, func(s *station) (int64, int64) { return 50000 - int64(s.card.Balance(2)), 0 }},
}

// counting counts the commands through a transport.
type counting struct {
	t apdu.Transport
	n int
}

func (c *counting) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	c.n++
	return c.t.Transmit(ctx, b)
}

// comeBack presents the card again to a restarted terminal (the PSAM
// reopened), with the host reachable: the station first uploads its escape
// bills, as it does each day, so that a lock it could not complete is
// released by the online unlock.
func (s *station) comeBack(t *testing.T) {
	t.Helper()
	s.psam.Reset()
	sam, err := purse.OpenPSAM(context.Background(), s.psam)
	require.NoError(t, err)
	s.sam = sam
	s.reopen()
	ctx := context.Background()
	_, _, err = s.term.Inquire(ctx, s.card, false)
	require.NoError(t, err, "the settling presentation")
	if s.card.Grey() == 0x01 {
		for _, r := range s.store.EscapeBills() {
			asn, err := s.store.OpenASN(r)
			require.NoError(t, err)
			s.reserve.AddEscapeBill(hostsim.EscapeBill{ASN: asn, TID: r.TID, CTC: r.Serial, Amount: r.Amount})
		}
		_, err = s.term.Dispense(ctx, s.card, purse.DispenseRequest{Nozzle: &pump{}})
		require.NoError(t, err, "the station's online unlock")
	}
	_, err = s.term.Flush(ctx)
	require.NoError(t, err)
}

// agree checks the invariants after the card came back.
func (f flow) agree(t *testing.T, s *station, what string) { f.agreeUnresolved(t, s, what, false) }

// agreeUnresolved is agree where an unresolved purchase is allowed: the
// card paid, and the SAM that would have checked its MAC2 was gone. Such a
// record keeps the card's TAC for the issuer, and counts as paid. With a
// lying card (FuzzFlow) a record may also stay open under the false ASN
// the card gave, or unresolved where its counters contradict each other;
// the money check still holds: the records' applied amounts are what the
// card really paid.
func (f flow) agreeUnresolved(t *testing.T, s *station, what string, unresolved bool) {
	t.Helper()
	card, reserve := f.moved(s)
	switch f.name {
	case "load", "unload":
		assert.Equal(t, card, reserve, "%s: the card and the reserve moved the same", what)
		assert.Contains(t, []int64{0, int64(f.amount)}, card, "%s: all or nothing", what)
	default:
		assert.Contains(t, []int64{0, int64(f.amount)}, card, "%s: the card paid all or nothing", what)
	}
	assert.NotEqual(t, byte(0x01), s.card.Grey(), "%s: the card is not left grey", what)
	var applied int64
	for _, r := range s.store.Records() {
		if asn, err := s.store.OpenASN(r); err == nil && asn != s.asn {
			// The card lied about its ASN (EF15) when the record was
			// made: an open record belongs to a card that never comes
			// back, and is kept. What it applied still counts below.
			if r.State == purse.StateApplied {
				applied += int64(r.Amount)
			}
			continue
		}
		assert.True(t, r.State != purse.StateStarted && r.State != purse.StateAuthorized && r.State != purse.StateDebiting &&
			r.State != purse.StateLocked && r.State != purse.StateDispensed && r.State != purse.StateUnlocking && r.State != purse.StateEscape,
			"%s: record %s left %s", what, r.ID, r.State)
		assert.NotEqual(t, purse.HostPending, r.Host, "%s: record %s not confirmed", what, r.ID)
		assert.NotEqual(t, purse.HostRefused, r.Host, "%s: record %s refused", what, r.ID)
		if unresolved && r.State == purse.StateUnresolved && r.Kind == purse.KindPurchase {
			assert.False(t, r.TAC.IsZero(), "%s: an unresolved purchase keeps the card's TAC", what)
			applied += int64(r.Amount)
			continue
		}
		if unresolved && r.State == purse.StateUnresolved {
			// A card whose answers contradict each other (a counter that
			// goes back): kept for the issuer, counted as nothing — were
			// the card to have paid, the sum below would say so.
			continue
		}
		assert.NotEqual(t, purse.StateUnresolved, r.State, "%s: record %s unresolved: %s", what, r.ID, r.Evidence)
		if r.State == purse.StateApplied || r.State == purse.StateUnlockedOnline {
			if r.Kind == purse.KindOnlineUnlock {
				continue // the host's record of the same money
			}
			applied += int64(r.Amount)
		}
	}
	assert.Equal(t, card, applied, "%s: the records say what the card did", what)
}

func TestFaultAtEveryCardCommand(t *testing.T) {
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			clean := newStation(t, nil)
			cc := &counting{t: clean.card}
			res, err := f.run(clean, cc)
			require.NoError(t, err)
			require.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
			runs := 0
			for i := 0; i < cc.n; i++ {
				for _, fk := range cardFaults {
					fk.At = i
					what := fmt.Sprintf("%s at command %d (%s)", fk.Kind, i, swName(fk))
					s := newStation(t, nil)
					sl, hl := s.watchPSAM(t), s.watchHost(t)
					fc := cardsim.NewFaulty(s.card, fk)
					res, _ := f.run(s, fc)
					require.NotNil(t, res, what)
					if answerLost(fk) {
						// No answer is no lie: what the recovery hands
						// the PSAM and the host is the card's, and passes.
						assert.Empty(t, sl.refused(), "%s: the PSAM refused nothing", what)
						assert.Empty(t, hl.failures, "%s: the host refused nothing", what)
					}
					if res.Outcome == purse.OutcomeApproved {
						c, _ := f.moved(s)
						assert.Equal(t, int64(f.amount), c, "%s: approved means paid", what)
					}
					fc.Reinsert()
					s.comeBack(t)
					f.agree(t, s, what)
					runs++
				}
			}
			t.Logf("%s: %d card commands, %d faulted runs", f.name, cc.n, runs)
		})
	}
}

// answerLost tells the faults that lose the card's answer (or the card)
// from those that change it: after these, nothing the terminal sends the
// PSAM may be refused.
func answerLost(f cardsim.Fault) bool {
	switch f.Kind {
	case cardsim.FaultRemove, cardsim.FaultReaderError, cardsim.FaultTimeout, cardsim.FaultTruncate, cardsim.FaultTorn:
		return true
	}
	return false
}

func swName(f cardsim.Fault) string {
	if f.Kind == cardsim.FaultSW {
		return fmt.Sprintf("%04X", f.SW)
	}
	return f.Kind.String()
}

var samFaults = []cardsim.Fault{
	{Kind: cardsim.FaultRemove}, {Kind: cardsim.FaultReaderError}, {Kind: cardsim.FaultSW, SW: 0x6F00},
	{Kind: cardsim.FaultSW, SW: 0x9302}, {Kind: cardsim.FaultCorrupt}, {Kind: cardsim.FaultTruncate}, {Kind: cardsim.FaultTorn},
}

func TestFaultAtEveryPSAMCommand(t *testing.T) {
	for _, f := range flows[2:] { // purchase and fuel use the PSAM
		t.Run(f.name, func(t *testing.T) {
			n := psamCommands(t, f)
			for i := 0; i < n; i++ {
				for _, fk := range samFaults {
					fk.At = i
					what := fmt.Sprintf("PSAM %s at command %d", swName(fk), i)
					s := newStation(t, nil)
					fp := cardsim.NewFaulty(s.psam, fk)
					sam, err := purse.OpenPSAM(context.Background(), fp)
					if err != nil {
						continue // the PSAM failed while being opened: no terminal
					}
					s.sam = sam
					s.reopen()
					res, _ := f.run(s, s.card)
					require.NotNil(t, res, what)
					s.comeBack(t)
					f.agreeUnresolved(t, s, what, true)
				}
			}
			t.Logf("%s: %d PSAM commands, OpenPSAM's included", f.name, n)
		})
	}
}

// psamCommands counts the PSAM commands of a clean run (OpenPSAM's first).
func psamCommands(t *testing.T, f flow) int {
	s := newStation(t, nil)
	cp := &counting{t: s.psam}
	sam, err := purse.OpenPSAM(context.Background(), cp)
	require.NoError(t, err)
	s.sam = sam
	s.reopen()
	res, err := f.run(s, s.card)
	require.NoError(t, err)
	require.Equal(t, purse.OutcomeApproved, res.Outcome)
	return cp.n
}

// faultyHost fails or lies at its n-th call (0-based, Authorize and
// Confirm counted together).
type faultyHost struct {
	h     purse.Host
	at, n int
	kind  string
}

var errDown = errors.New("host down")

func (f *faultyHost) Authorize(ctx context.Context, req *purse.HostRequest) (*purse.HostResponse, error) {
	i := f.n
	f.n++
	if i != f.at {
		return f.h.Authorize(ctx, req)
	}
	switch f.kind {
	case "down":
		return nil, errDown
	case "lost": // the host did it; its answer is lost
		_, _ = f.h.Authorize(ctx, req)
		return nil, errDown
	}
	resp, err := f.h.Authorize(ctx, req)
	if err != nil {
		return resp, err
	}
	switch f.kind {
	case "mac2":
		resp.MAC2[0] ^= 0xFF
	case "amount":
		resp.Amount++
	case "time":
		resp.Time[6] ^= 0x01
	}
	return resp, nil
}

func (f *faultyHost) Confirm(ctx context.Context, c *purse.HostConfirmation) error {
	i := f.n
	f.n++
	if i == f.at && (f.kind == "down" || f.kind == "lost") {
		if f.kind == "lost" {
			_ = f.h.Confirm(ctx, c)
		}
		return errDown
	}
	return f.h.Confirm(ctx, c)
}

func TestHostFaultsAndLies(t *testing.T) {
	for _, f := range flows[:2] { // load and unload talk to the host
		for at := 0; at < 2; at++ {
			for _, kind := range []string{"down", "lost", "mac2", "amount", "time"} {
				what := fmt.Sprintf("%s: host %s at call %d", f.name, kind, at)
				s := newStation(t, nil)
				fh := &faultyHost{h: s.reserve, at: at, kind: kind}
				term, err := purse.New(s.cfg, purse.WithHost(fh), purse.WithSAM(s.sam), purse.WithStore(s.store), purse.WithPINPad(s.pad))
				require.NoError(t, err)
				s.term = term
				res, _ := f.run(s, s.card)
				require.NotNil(t, res, what)
				if res.Outcome == purse.OutcomeApproved {
					c, _ := f.moved(s)
					assert.Equal(t, int64(f.amount), c, "%s: approved means done", what)
				}
				if at == 0 && kind != "lost" {
					c, r := f.moved(s)
					assert.Zero(t, c, "%s: nothing on the card", what)
					assert.Zero(t, r, "%s: nothing at the reserve", what)
				}
				s.comeBack(t)
				f.agree(t, s, what)
			}
		}
	}
}
