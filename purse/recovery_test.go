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
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
)

// The recoveries named by the issue, one row each: the card's counters
// decide whether a lost operation happened, and its next presentation
// settles it exactly once.

// atCommand returns the index of the nth (1-based) command of the given
// name in a clean run of the flow.
func atCommand(t *testing.T, f flow, name string, nth int) int {
	t.Helper()
	s := newStation(t, nil)
	rec := &recorder{t: s.card}
	_, err := f.run(s, rec)
	require.NoError(t, err)
	seen := 0
	for i, n := range rec.names {
		if n == name {
			seen++
			if seen == nth {
				return i
			}
		}
	}
	t.Fatalf("no %d-th %s in %v", nth, name, rec.names)
	return -1
}

// recorder names the card commands of a run.
type recorder struct {
	t     apdu.Transport
	names []string
}

func (r *recorder) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if c, err := apdu.ParseCommand(b); err == nil {
		r.names = append(r.names, purse.CommandName(c))
	}
	return r.t.Transmit(ctx, b)
}

func TestLoadTornAtCredit(t *testing.T) {
	f := flows[0]
	i := atCommand(t, f, "CREDIT FOR LOAD", 1)
	s := newStation(t, nil)
	fc := cardsim.NewFaulty(s.card, cardsim.Fault{At: i, Kind: cardsim.FaultTorn})
	res, err := f.run(s, fc)
	require.Error(t, err)
	assert.Equal(t, purse.OutcomePending, res.Outcome, res.Detail)
	assert.Equal(t, uint32(70000), s.card.Balance(2), "the card applied it")
	assert.Equal(t, purse.Amount(180000), s.reserve.Balance(s.asn), "the reserve paid it")
	rec, ok := s.store.Get(res.RecordID)
	require.True(t, ok)
	assert.Equal(t, purse.StateAuthorized, rec.State, "kept until the card says")

	fc.Reinsert()
	s.reopen()
	res2, _, err := s.term.Inquire(context.Background(), s.card, false)
	require.NoError(t, err)
	require.Len(t, res2.Settled, 1)
	assert.Equal(t, purse.StateApplied, res2.Settled[0].State)
	assert.Contains(t, res2.Settled[0].Detail, "GET TRANSACTION PROVE")
	rec, _ = s.store.Get(res.RecordID)
	assert.Equal(t, purse.HostConfirmed, rec.Host, "the card's TAC reached the host")
	assert.False(t, rec.TAC.IsZero())
	assert.Equal(t, purse.Amount(180000), s.reserve.Balance(s.asn), "debited once")

	// Presented again: nothing more to settle, nothing moves.
	res3, _, err := s.term.Inquire(context.Background(), s.card, false)
	require.NoError(t, err)
	assert.Empty(t, res3.Settled)
	assert.Equal(t, uint32(70000), s.card.Balance(2))
}

func TestLoadHostLostAfterDebit(t *testing.T) {
	s := newStation(t, nil)
	fh := &faultyHost{h: s.reserve, at: 0, kind: "lost"}
	// The host debits, its answer is lost, and it stays down for the
	// reversal: the proof waits in the store.
	down := &downAfter{h: fh, after: 1}
	term, err := purse.New(s.cfg, purse.WithHost(down), purse.WithSAM(s.sam), purse.WithStore(s.store), purse.WithPINPad(s.pad))
	require.NoError(t, err)
	res, err := term.Load(context.Background(), s.card, 20000)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeDeclined, res.Outcome)
	assert.Equal(t, purse.ReasonHostUnreachable, res.Reason)
	assert.Equal(t, uint32(50000), s.card.Balance(2), "the card was never credited")
	assert.Equal(t, purse.Amount(180000), s.reserve.Balance(s.asn), "the host debited before its answer was lost")
	rec, _ := s.store.Get(res.RecordID)
	assert.Equal(t, purse.StateNotApplied, rec.State)
	assert.Equal(t, purse.HostPending, rec.Host)
	require.NotNil(t, rec.Proof, "the card's proof, taken while it was there")

	n, err := s.term.Flush(context.Background()) // the host is back
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, purse.Amount(200000), s.reserve.Balance(s.asn), "given back on the card's proof")
	n, err = s.term.Flush(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "once")
	assert.Equal(t, purse.Amount(200000), s.reserve.Balance(s.asn))
}

// downAfter passes the first calls to h and fails every later one.
type downAfter struct {
	h     purse.Host
	after int
	n     int
}

func (d *downAfter) Authorize(ctx context.Context, r *purse.HostRequest) (*purse.HostResponse, error) {
	d.n++
	if d.n > d.after {
		return nil, errDown
	}
	return d.h.Authorize(ctx, r)
}

func (d *downAfter) Confirm(ctx context.Context, c *purse.HostConfirmation) error {
	d.n++
	if d.n > d.after {
		return errDown
	}
	return d.h.Confirm(ctx, c)
}

func TestReversalNeedsTheCardsProof(t *testing.T) {
	s := newStation(t, nil)
	res, err := s.term.Load(context.Background(), s.card, 20000)
	require.NoError(t, err)
	require.Equal(t, purse.OutcomeApproved, res.Outcome)
	// A terminal that claims the applied load did not happen: its
	// "proof" is a fresh INITIALIZE of the card, whose serial moved.
	init, err := freshInit(s)
	require.NoError(t, err)
	err = s.reserve.Confirm(context.Background(), &purse.HostConfirmation{ID: res.RecordID, Kind: purse.KindLoad, ASN: s.asn, Proof: &init})
	assert.NoError(t, err, "the load was confirmed already: a second confirmation changes nothing")
	assert.Equal(t, purse.Amount(180000), s.reserve.Balance(s.asn))

	// An unconfirmed load with a forged proof is refused.
	s2 := newStation(t, nil)
	fh := &faultyHost{h: s2.reserve, at: 1, kind: "down"}
	term, err := purse.New(s2.cfg, purse.WithHost(fh), purse.WithSAM(s2.sam), purse.WithStore(s2.store), purse.WithPINPad(s2.pad))
	require.NoError(t, err)
	res, err = term.Load(context.Background(), s2.card, 20000)
	require.NoError(t, err)
	require.Equal(t, purse.OutcomeApproved, res.Outcome)
	require.False(t, res.HostConfirmed)
	init, err = freshInit(s2)
	require.NoError(t, err)
	err = s2.reserve.Confirm(context.Background(), &purse.HostConfirmation{ID: res.RecordID, Kind: purse.KindLoad, ASN: s2.asn, Proof: &init})
	assert.ErrorIs(t, err, purse.ErrEvidence, "the card's serial moved: the load happened")
	init.OnlineSN--
	err = s2.reserve.Confirm(context.Background(), &purse.HostConfirmation{ID: res.RecordID, Kind: purse.KindLoad, ASN: s2.asn, Proof: &init})
	assert.ErrorIs(t, err, purse.ErrEvidence, "a serial changed after the card's MAC1")
	assert.Equal(t, purse.Amount(180000), s2.reserve.Balance(s2.asn), "nothing given back")
	n, err := term.Flush(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the TAC queued in the store reaches the host")
}

// freshInit takes an INITIALIZE FOR LOAD of 0.00 from the card (after its
// PIN), as a terminal's proof would.
func freshInit(s *station) (purse.OnlineInit, error) {
	ctx := context.Background()
	for _, c := range []apdu.Command{apdu.Select([]byte("1PAY.SYS.DDF01")), apdu.Select(purse.DefaultAIDs()[0])} {
		if _, err := apdu.Exchange(ctx, s.card, c); err != nil {
			return purse.OnlineInit{}, err
		}
	}
	if _, err := (hostsim.PursePINPad{PIN: "123456"}).VerifyPIN(ctx, s.card, purse.PINBCD); err != nil {
		return purse.OnlineInit{}, err
	}
	r, err := apdu.Exchange(ctx, s.card, purse.InitializeForLoad(purse.EP, 1, 0, s.sam.TerminalID()))
	if err != nil {
		return purse.OnlineInit{}, err
	}
	return purse.ParseOnlineInit(r.Data)
}

// pullable is a card in a reader that can be pulled out and put back.
type pullable struct {
	card *cardsim.PurseCard
	out  bool
}

func (p *pullable) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if p.out {
		return nil, cardsim.ErrCardRemoved
	}
	return p.card.Transmit(ctx, b)
}

func (p *pullable) Reinsert() { p.out = false; p.card.Reset() }

// removeWhilePumping is a nozzle that pulls the card out mid-dispense.
type removeWhilePumping struct {
	pump
	card *pullable
}

func (r *removeWhilePumping) Fuel(ctx context.Context, limit purse.Amount) (purse.Fill, error) {
	r.card.out = true
	return r.pump.Fuel(ctx, limit)
}

func TestCardPulledMidDispense(t *testing.T) {
	s := newStation(t, nil)
	fc := &pullable{card: s.card}
	nz := &removeWhilePumping{pump: pump{want: 12345}, card: fc}
	res, err := s.term.Dispense(context.Background(), fc, purse.DispenseRequest{Nozzle: nz})
	require.Error(t, err)
	assert.Equal(t, purse.OutcomePending, res.Outcome, res.Detail)
	assert.Equal(t, byte(0x01), s.card.Grey(), "the card left grey")
	rec, ok := s.store.Get(res.RecordID)
	require.True(t, ok)
	assert.Equal(t, purse.StateEscape, rec.State)
	assert.Equal(t, purse.BillEscape, rec.BillType)
	assert.Equal(t, purse.Amount(12345), rec.Amount)
	for name, m := range map[string]purse.MAC{"GTAC": rec.GTAC, "GMAC": rec.GMAC, "PSAM-TAC": rec.PSAMTAC} {
		assert.False(t, m.IsZero(), "the escape bill has its %s", name)
	}
	assert.NotZero(t, rec.TTC, "and the PSAM TTC")

	// The customer comes back to the same pump: 补扣, exactly once.
	fc.Reinsert()
	s.reopen()
	p := &pump{want: 1000}
	res2, err := s.term.Dispense(context.Background(), s.card, purse.DispenseRequest{Nozzle: p})
	require.NoError(t, err)
	require.Len(t, res2.Settled, 1, res2.Detail)
	assert.Equal(t, purse.StateApplied, res2.Settled[0].State)
	rec, _ = s.store.Get(res.RecordID)
	assert.Equal(t, purse.BillUnlock, rec.BillType, "the bill is a 补扣")
	assert.Equal(t, rec.PSAMTAC, rec.TAC, "the card's TAC is the escape bill's PSAM-TAC")
	assert.Equal(t, purse.OutcomeApproved, res2.Outcome, "and the new sale")
	assert.Equal(t, uint32(50000-12345-1000), s.card.Balance(2))
}

func TestGreyFromElsewhereOnlineUnlock(t *testing.T) {
	a := newStation(t, nil)
	fc := &pullable{card: a.card}
	nz := &removeWhilePumping{pump: pump{want: 8000}, card: fc}
	_, err := a.term.Dispense(context.Background(), fc, purse.DispenseRequest{Nozzle: nz})
	require.Error(t, err)
	require.Equal(t, byte(0x01), a.card.Grey())
	fc.Reinsert()

	// Another station's pump (another PSAM, TID 000000000002), same issuer.
	bp := psam.DefaultProfile()
	bp.TID, bp.Serial = "000000000002", "01000000000000000002"
	other, err := psam.New(bp)
	require.NoError(t, err)
	b := &station{t: t, card: a.card, psam: other, reserve: a.reserve, asn: a.asn, path: fastDir(t) + "/b.log", cfg: a.cfg, pad: a.pad}
	b.reopen()
	res, err := b.term.Dispense(context.Background(), a.card, purse.DispenseRequest{Nozzle: &pump{want: 1000}})
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeDeclined, res.Outcome)
	assert.Equal(t, purse.ReasonGreyElsewhere, res.Reason, "no bill uploaded yet: %s", res.Detail)
	assert.Equal(t, byte(0x01), a.card.Grey())

	// Station A uploads its escape bill; B's online unlock collects it.
	bills := a.store.EscapeBills()
	require.Len(t, bills, 1)
	asn, err := a.store.OpenASN(bills[0])
	require.NoError(t, err)
	assert.Equal(t, a.asn, asn, "the sealed ASN opens with the store's key")
	a.reserve.AddEscapeBill(hostsim.EscapeBill{ASN: asn, TID: bills[0].TID, CTC: bills[0].Serial, Amount: bills[0].Amount})
	res, err = b.term.Dispense(context.Background(), a.card, purse.DispenseRequest{Nozzle: &pump{want: 1000}})
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	require.NotEmpty(t, res.Settled)
	assert.Equal(t, purse.KindOnlineUnlock, res.Settled[0].Kind)
	assert.Equal(t, uint32(50000-8000-1000), a.card.Balance(2))
	bill, _ := a.reserve.Bill(asn, bills[0].TID, bills[0].Serial)
	assert.True(t, bill.Settled, "the host collected the bill once")

	// Back at A: its escape record is closed by the card's EF18, not
	// charged again.
	a.reopen()
	res, _, err = a.term.Inquire(context.Background(), a.card, false)
	require.NoError(t, err)
	require.Len(t, res.Settled, 1)
	assert.Equal(t, purse.StateUnlockedOnline, res.Settled[0].State)
	assert.Equal(t, uint32(50000-8000-1000), a.card.Balance(2))
}

// samLog records the PSAM's commands and answers during a run.
type samLog struct {
	t     apdu.Transport
	names []string
	sws   []apdu.SW
}

func (l *samLog) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	r, err := l.t.Transmit(ctx, b)
	if c, perr := apdu.ParseCommand(b); perr == nil && err == nil && len(r) >= 2 {
		l.names = append(l.names, purse.CommandName(c))
		l.sws = append(l.sws, apdu.SW(uint16(r[len(r)-2])<<8|uint16(r[len(r)-1])))
	}
	return r, err
}

// refused lists the PSAM commands not answered 9000.
func (l *samLog) refused() []string {
	var out []string
	for i, sw := range l.sws {
		if !sw.OK() {
			out = append(out, fmt.Sprintf("%s %s", l.names[i], sw))
		}
	}
	return out
}

// count counts the PSAM commands of that name answered 9000.
func (l *samLog) count(name string) int {
	n := 0
	for i, c := range l.names {
		if c == name && l.sws[i].OK() {
			n++
		}
	}
	return n
}

// watchPSAM reopens the station's PSAM through a samLog and rebuilds the
// terminal on it.
func (s *station) watchPSAM(t *testing.T) *samLog {
	t.Helper()
	l := &samLog{t: s.psam}
	sam, err := purse.OpenPSAM(context.Background(), l)
	require.NoError(t, err)
	s.sam = sam
	s.reopen()
	l.names, l.sws = nil, nil
	return l
}

// hostLog counts a host's calls and the ones it refused.
type hostLog struct {
	h        purse.Host
	calls    int
	failures []error
}

func (h *hostLog) Authorize(ctx context.Context, r *purse.HostRequest) (*purse.HostResponse, error) {
	h.calls++
	resp, err := h.h.Authorize(ctx, r)
	if err != nil {
		h.failures = append(h.failures, err)
	}
	return resp, err
}

func (h *hostLog) Confirm(ctx context.Context, c *purse.HostConfirmation) error {
	h.calls++
	err := h.h.Confirm(ctx, c)
	if err != nil {
		h.failures = append(h.failures, err)
	}
	return err
}

// watchHost rebuilds the station's terminal on a hostLog of its reserve.
func (s *station) watchHost(t *testing.T) *hostLog {
	t.Helper()
	hl := &hostLog{h: s.reserve}
	term, err := purse.New(s.cfg, purse.WithHost(hl), purse.WithSAM(s.sam), purse.WithStore(s.store), purse.WithPINPad(s.pad))
	require.NoError(t, err)
	s.term = term
	return hl
}

// loseAt is a reader that loses the answer of its at-th command (0-based)
// after the card executed it: the card stays in the reader.
type loseAt struct {
	t  apdu.Transport
	at int
	n  int
}

var errLostAnswer = errors.New("reader: answer lost")

func (l *loseAt) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	i := l.n
	l.n++
	r, err := l.t.Transmit(ctx, b)
	if i == l.at && err == nil {
		return nil, errLostAnswer
	}
	return r, err
}

// Each recovery of a lost answer, with the card still in the reader,
// completes the operation in the same presentation, and its first attempt
// at the PSAM and at the host is the right one: the PSAM refuses nothing
// (a GTAC sent as MAC2 would be refused 9302) and the host refuses no
// evidence.
func TestLostAnswerRecoveredFirstTime(t *testing.T) {
	rows := []struct {
		flow    flow
		command string
		// checks is the PSAM's MAC2 check the recovery must pass once.
		checks string
	}{
		{flows[0], "CREDIT FOR LOAD", ""},
		{flows[1], "DEBIT FOR UNLOAD", ""},
		{flows[2], "DEBIT FOR PURCHASE", "PSAM CHECK MAC2"},
		{flows[3], "GREY LOCK", "PSAM CHECK GREY MAC2"},
		{flows[3], "DEBIT FOR UNLOCK", "PSAM CHECK GREY MAC2"},
	}
	lose := map[string]func(apdu.Transport, int) apdu.Transport{
		"lost": func(c apdu.Transport, i int) apdu.Transport { return &loseAt{t: c, at: i} },
		"truncated": func(c apdu.Transport, i int) apdu.Transport {
			return cardsim.NewFaulty(c, cardsim.Fault{At: i, Kind: cardsim.FaultTruncate})
		},
	}
	for _, row := range rows {
		for how, wrap := range lose {
			what := fmt.Sprintf("%s: %s answer %s", row.flow.name, row.command, how)
			t.Run(what, func(t *testing.T) {
				i := atCommand(t, row.flow, row.command, 1)
				s := newStation(t, nil)
				sl, hl := s.watchPSAM(t), s.watchHost(t)
				res, err := row.flow.run(s, wrap(s.card, i))
				require.NoError(t, err)
				assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
				c, r := row.flow.moved(s)
				assert.Equal(t, int64(row.flow.amount), c, "the card moved the amount once")
				if row.flow.name == "load" || row.flow.name == "unload" {
					assert.Equal(t, c, r, "and the reserve the same")
				}
				assert.Empty(t, sl.refused(), "the PSAM refused nothing: %v", sl.names)
				if row.checks != "" {
					assert.Equal(t, 1, sl.count(row.checks), "one %s, answered 9000: %v", row.checks, sl.names)
				}
				assert.Empty(t, hl.failures, "the host refused nothing")
				rec, ok := s.store.Get(res.RecordID)
				require.True(t, ok)
				assert.Equal(t, purse.StateApplied, rec.State, rec.Evidence)
				assert.False(t, rec.TAC.IsZero() && rec.MAC3.IsZero(), "the record has the card's TAC or MAC3")
				if row.flow.name == "fuel" {
					assert.Equal(t, byte(0), s.card.Grey(), "the card is not left grey")
					assert.Equal(t, rec.PSAMTAC, rec.TAC, "the unlock's TAC is the PSAM-TAC")
					assert.False(t, rec.GTAC.IsZero(), "the bill has the GTAC")
					// The GTAC covers the balance, terminal, TTC and time,
					// the same in a clean run on a fresh station.
					clean := newStation(t, nil)
					want, err := row.flow.run(clean, clean.card)
					require.NoError(t, err)
					assert.Equal(t, want.GTAC, rec.GTAC, "the GTAC is the card's, not its MAC2")
					assert.Equal(t, want.GTAC, res.GTAC)
				}
				if row.flow.name == "load" || row.flow.name == "unload" {
					assert.Equal(t, purse.HostConfirmed, rec.Host)
				}
			})
		}
	}
}
