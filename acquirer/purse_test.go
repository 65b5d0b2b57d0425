// SPDX-License-Identifier: Apache-2.0

package acquirer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/purse"
)

// purseRig is a fuel-card station whose purse host is the link: the
// simulated fuel card and PSAM, the purse terminal and its store, the link
// and its state, the acquirer simulator and, behind it, hostsim's reserve
// with the card's master keys (so every MAC1, MAC2, TAC and MAC3 is real).
type purseRig struct {
	t       *testing.T
	card    *cardsim.PurseCard
	reserve *hostsim.Reserve
	asn     purse.ASN
	sim     *acquirersim.Sim
	link    *acquirer.Link
	store   *purse.Store
	term    *purse.Terminal
}

const reserveStart = purse.Amount(200000) // 2000.00

func newPurseRig(t *testing.T, wallet purse.Wallet) *purseRig {
	t.Helper()
	ctx := context.Background()
	prof := cardsim.DefaultPurseProfile()
	card, err := cardsim.NewPurseCard(prof)
	require.NoError(t, err)
	reserve, asn, err := hostsim.ReserveFor(prof, reserveStart)
	require.NoError(t, err)
	sim, err := acquirersim.New(acquirersim.Config{Host: hostsim.New(), Reserve: reserve, TMK: testTMK})
	require.NoError(t, err)
	require.NoError(t, sim.Start("127.0.0.1:0"))
	t.Cleanup(sim.Close)

	dir := t.TempDir()
	key, err := journal.NewAESGCMKey(testDataKey)
	require.NoError(t, err)
	st, err := acquirer.OpenState(ctx, filepath.Join(dir, "acquirer.state"), key)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	module, err := acquirer.NewSoftModule(testTMK)
	require.NoError(t, err)
	link, err := acquirer.Open(ctx, acquirer.Config{Addr: sim.Addr(), TerminalID: terminalID, MerchantID: merchantID,
		Timeout: time.Second, ConnectTimeout: time.Second}, module, st)
	require.NoError(t, err)
	t.Cleanup(func() { link.Close() })

	store, err := purse.OpenStore(filepath.Join(dir, "purse.log"), testDataKey)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	p, err := psam.New(psam.DefaultProfile())
	require.NoError(t, err)
	sam, err := purse.OpenPSAM(ctx, p)
	require.NoError(t, err)
	term, err := purse.New(purse.Config{Wallet: wallet}, purse.WithHost(link.Purse()), purse.WithSAM(sam),
		purse.WithStore(store), purse.WithPINPad(hostsim.PursePINPad{PIN: cardholderPIN}))
	require.NoError(t, err)
	return &purseRig{t: t, card: card, reserve: reserve, asn: asn, sim: sim, link: link, store: store, term: term}
}

// only returns the store's single record.
func (r *purseRig) only() purse.Record {
	recs := r.store.Records()
	require.Len(r.t, recs, 1)
	return recs[0]
}

// purseMessages are the purse messages the simulator received, as
// "MTI/60.1 -> response".
func (r *purseRig) purseMessages() []string {
	var out []string
	for _, m := range r.sim.Received() {
		if m.Type60 == "48" || m.Type60 == "49" || m.Type60 == "52" {
			assert.Equal(r.t, acquirer.MACValid, m.MAC, "%s %s carries a valid MAC", m.MTI, m.STAN)
			assert.NotContains(r.t, m.PAN, r.asn.Digits(), "the log masks the ASN")
			out = append(out, m.MTI+"/"+m.Type60+" -> "+m.Response)
		}
	}
	return out
}

// A 圈存 and a 圈提 of the ED through TCP: the card's balance and the
// reserve account agree afterwards, and each went as a 0200 and its 0220.
func TestPurseLoadAndUnloadThroughTheAcquirer(t *testing.T) {
	r := newPurseRig(t, purse.ED)
	ctx := context.Background()
	edBefore := r.card.Balance(byte(purse.ED))

	res, err := r.term.Load(ctx, r.card, 20000)
	require.NoError(t, err)
	require.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.True(t, res.HostConfirmed, "the TAC reached the reserve through the acquirer")
	assert.Equal(t, edBefore+20000, r.card.Balance(byte(purse.ED)))
	assert.Equal(t, reserveStart-20000, r.reserve.Balance(r.asn))

	res, err = r.term.Unload(ctx, r.card, 5000)
	require.NoError(t, err)
	require.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.True(t, res.HostConfirmed, "the MAC3 reached the reserve")
	assert.Equal(t, edBefore+15000, r.card.Balance(byte(purse.ED)))
	assert.Equal(t, reserveStart-15000, r.reserve.Balance(r.asn))

	// Money is conserved between the card and its reserve account.
	assert.Equal(t, uint64(edBefore)+uint64(reserveStart),
		uint64(r.card.Balance(byte(purse.ED)))+uint64(r.reserve.Balance(r.asn)))
	assert.Equal(t, []string{"0200/48 -> 00", "0220/48 -> 00", "0200/49 -> 00", "0220/49 -> 00"}, r.purseMessages())
	for _, rec := range r.store.Records() {
		assert.Equal(t, purse.StateApplied, rec.State, rec.ID)
		assert.Equal(t, purse.HostConfirmed, rec.Host, rec.ID)
	}
	assert.Empty(t, r.link.Status().Reversals, "a purse request is never reversed by 0400")
}

// The faults of a load through TCP. The rule: a load the card did not
// apply is never left debited at the host. The link turns every reply that
// is not a MAC-verified verdict into "no answer", on which the terminal
// takes the card's proof (online serial unchanged) and confirms it; the
// reserve gives the debit back on that proof, now or from the store once
// the acquirer is back.
func TestPurseLoadFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault acquirersim.Fault
		// after the load, before any flush
		outcome   purse.Outcome
		cardMoved bool
		reserve   purse.Amount
		host      purse.HostState
		// the acquirer is down after the load: restart it and flush
		restart bool
		msgs    []string
	}{
		{name: "no answer, the acquirer alive: the proof gives the debit back at once",
			fault:   acquirersim.Fault{MTI: "0200", Type60: "48", Kind: acquirersim.Silent},
			outcome: purse.OutcomeDeclined, reserve: reserveStart, host: purse.HostConfirmed,
			msgs: []string{"0200/48 -> 00", "0220/48 -> 00"}},
		{name: "the acquirer gone after debiting: the proof waits in the store, then gives it back",
			fault:   acquirersim.Fault{MTI: "0200", Type60: "48", Kind: acquirersim.CrashAfterForward},
			outcome: purse.OutcomeDeclined, reserve: reserveStart - 20000, host: purse.HostPending, restart: true,
			msgs: []string{"0200/48 -> 00", "0220/48 -> 00"}},
		{name: "dropped after forwarding: no answer, given back",
			fault:   acquirersim.Fault{MTI: "0200", Type60: "48", Kind: acquirersim.DropAfterForward},
			outcome: purse.OutcomeDeclined, reserve: reserveStart, host: purse.HostConfirmed,
			msgs: []string{"0200/48 -> 00", "0220/48 -> 00"}},
		{name: "a reply with a bad MAC is no answer: given back",
			fault:   acquirersim.Fault{MTI: "0200", Type60: "48", Kind: acquirersim.BadMAC},
			outcome: purse.OutcomeDeclined, reserve: reserveStart, host: purse.HostConfirmed,
			msgs: []string{"0200/48 -> 00", "0220/48 -> 00"}},
		{name: "duplicate reply: the load applies once, the copy is ignored",
			fault:   acquirersim.Fault{MTI: "0200", Type60: "48", Kind: acquirersim.Duplicate},
			outcome: purse.OutcomeApproved, cardMoved: true, reserve: reserveStart - 20000, host: purse.HostConfirmed,
			msgs: []string{"0200/48 -> 00", "0220/48 -> 00"}},
		{name: "a MAC-verified decline: nothing moved, nothing to confirm",
			fault:   acquirersim.Fault{MTI: "0200", Type60: "48", Kind: acquirersim.Refuse, Code: "51"},
			outcome: purse.OutcomeDeclined, reserve: reserveStart, host: purse.HostNone,
			msgs: []string{"0200/48 -> 51"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newPurseRig(t, purse.EP)
			ctx := context.Background()
			epBefore := r.card.Balance(byte(purse.EP))
			r.sim.Inject(tc.fault)
			addr := r.sim.Addr()

			res, err := r.term.Load(ctx, r.card, 20000)
			require.NoError(t, err)
			assert.Equal(t, tc.outcome, res.Outcome, res.Detail)
			want := epBefore
			if tc.cardMoved {
				want += 20000
			}
			assert.Equal(t, want, r.card.Balance(byte(purse.EP)), "the card")
			assert.Equal(t, tc.reserve, r.reserve.Balance(r.asn), "the reserve before any flush")
			rec := r.only()
			assert.Equal(t, tc.host, rec.Host, "the record's host state: %s", rec.Evidence)
			if !tc.cardMoved {
				assert.Equal(t, purse.StateNotApplied, rec.State)
			}
			assert.Empty(t, r.link.Status().Reversals, "no 0400 for a purse request")

			if tc.restart {
				n, err := r.term.Flush(ctx)
				require.Error(t, err, "the acquirer is still down: the proof stays queued")
				assert.Zero(t, n)
				require.NoError(t, r.sim.Start(addr))
				n, err = r.term.Flush(ctx)
				require.NoError(t, err)
				assert.Equal(t, 1, n)
				assert.Equal(t, purse.HostConfirmed, r.only().Host)
			}
			// Once the queue drains, the card and the reserve agree.
			assert.Equal(t, uint64(epBefore)+uint64(reserveStart),
				uint64(r.card.Balance(byte(purse.EP)))+uint64(r.reserve.Balance(r.asn)), "money conserved")
			assert.Equal(t, tc.msgs, r.purseMessages())
			// A duplicate is never acted on: the copy either reaches the
			// link's unsolicited handler (Status.Ignored) or, in
			// iso8583-connection v0.9.0, the finished request (README,
			// Limits); either way the 0220 after it was answered (host
			// confirmed above) and nothing moved twice.
		})
	}
}

// pulledAfterFuel is a card taken out while the pump runs: every command
// after the nozzle is hung up fails, so the card stays grey (an escape).
type pulledAfterFuel struct {
	card   *cardsim.PurseCard
	pulled bool
}

func (p *pulledAfterFuel) Transmit(ctx context.Context, c []byte) ([]byte, error) {
	if p.pulled {
		return nil, errors.New("card removed")
	}
	return p.card.Transmit(ctx, c)
}

func (p *pulledAfterFuel) Fuel(_ context.Context, limit purse.Amount) (purse.Fill, error) {
	p.pulled = true
	a := min(purse.Amount(8000), limit)
	return purse.Fill{Amount: a, Volume: uint32(uint64(a) * 100 / 785), Price: 785, Grade: 92, Nozzle: 1}, nil
}

// A card left grey at another station is unlocked online through the
// acquirer: the reserve answers the escape bill's amount (0200, 60.1 52),
// the card pays it, and its MAC3 settles the bill (0220).
func TestPurseOnlineUnlockThroughTheAcquirer(t *testing.T) {
	r := newPurseRig(t, purse.EP)
	ctx := context.Background()
	epBefore := r.card.Balance(byte(purse.EP))

	// Station A (its own PSAM, TID 000000000002): the card leaves grey.
	ap := psam.DefaultProfile()
	ap.TID, ap.Serial = "000000000002", "01000000000000000002"
	aPSAM, err := psam.New(ap)
	require.NoError(t, err)
	aSAM, err := purse.OpenPSAM(ctx, aPSAM)
	require.NoError(t, err)
	aStore, err := purse.OpenStore(filepath.Join(t.TempDir(), "a.log"), testDataKey)
	require.NoError(t, err)
	t.Cleanup(func() { aStore.Close() })
	a, err := purse.New(purse.Config{}, purse.WithSAM(aSAM), purse.WithStore(aStore),
		purse.WithPINPad(hostsim.PursePINPad{PIN: cardholderPIN}))
	require.NoError(t, err)
	pulled := &pulledAfterFuel{card: r.card}
	_, err = a.Dispense(ctx, pulled, purse.DispenseRequest{Nozzle: pulled})
	require.Error(t, err)
	require.Equal(t, byte(0x01), r.card.Grey(), "the card left grey")
	bills := aStore.EscapeBills()
	require.Len(t, bills, 1)
	r.reserve.AddEscapeBill(hostsim.EscapeBill{ASN: r.asn, TID: bills[0].TID, CTC: bills[0].Serial, Amount: bills[0].Amount})

	// This station, whose host is the link: the online unlock, then fuel.
	res, err := r.term.Dispense(ctx, r.card, purse.DispenseRequest{Nozzle: simplePump(1000)})
	require.NoError(t, err)
	require.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	require.NotEmpty(t, res.Settled)
	assert.Equal(t, purse.KindOnlineUnlock, res.Settled[0].Kind)
	assert.Equal(t, epBefore-8000-1000, r.card.Balance(byte(purse.EP)))
	bill, ok := r.reserve.Bill(r.asn, bills[0].TID, bills[0].Serial)
	require.True(t, ok)
	assert.True(t, bill.Settled, "the MAC3 reached the reserve: the bill is collected once")
	assert.Equal(t, reserveStart, r.reserve.Balance(r.asn), "an unlock moves nothing in the reserve account")
	assert.Equal(t, []string{"0200/52 -> 00", "0220/52 -> 00"}, r.purseMessages())
}

// simplePump delivers a fixed amount (capped at the limit).
type simplePump purse.Amount

func (p simplePump) Fuel(_ context.Context, limit purse.Amount) (purse.Fill, error) {
	a := min(purse.Amount(p), limit)
	return purse.Fill{Amount: a, Volume: uint32(uint64(a) * 100 / 785), Price: 785, Grade: 92, Nozzle: 1}, nil
}
