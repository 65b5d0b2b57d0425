// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/purse"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// The dispenser for a fuel card (the PBOC ED/EP purse): the grey lock
// (灰锁) protects the sale while the fuel flows. The card is locked for its
// balance, the pump is released up to min(preset, balance), and once the
// nozzle is hung up the PSAM's GMAC completes the sale on the card (DEBIT
// FOR UNLOCK) for exactly what was delivered. A card pulled before that
// stays grey; the pump's record (the escape bill) completes it at the
// card's next presentation here. The dispenser bill is printed last.

// fuelInserted, when set, is called with the simulated fuel card (tests).
var fuelInserted func(card *cardsim.PurseCard)

// pumpFlags are the fuel-card dispenser's flags.
type pumpFlags struct {
	litres, price, preset, pin string
	card, reader, psamReader   string
	store, bill                string
}

func (p *pumpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.litres, "litres", "30", "litres the customer takes (two decimals)")
	fs.StringVar(&p.price, "price", "7.85", "price per litre in yuan")
	fs.StringVar(&p.preset, "preset", "", "the customer's preset in yuan (default: none, up to the card's balance)")
	fs.StringVar(&p.pin, "pin", "123456", "the fuel card's PIN the customer types")
	fs.StringVar(&p.card, "card", "", "fuel-card profile FILE for the simulated card, e.g. testdata/fuelcards/fuel.json (default: the built-in seed fuel card)")
	fs.StringVar(&p.reader, "reader", "", "PC/SC reader NAME holding the fuel card instead of the simulated one")
	fs.StringVar(&p.psamReader, "psam-reader", "", "PC/SC reader NAME holding the pump's PSAM instead of the simulated one")
	fs.StringVar(&p.store, "store", "", "the pump's durable records FILE (default: a temporary file); escape bills are settled from it")
	fs.StringVar(&p.bill, "bill", "-", `file the dispenser bill is appended to ("-": standard output)`)
}

// runFuelCard sells fuel against a fuel card.
func runFuelCard(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("fuel", flag.ContinueOnError)
	fs.SetOutput(w)
	var p pumpFlags
	p.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	wanted, err := parseCentilitres(p.litres)
	if err != nil {
		return err
	}
	price, err := kernel.ParseAmount(p.price)
	if err != nil || price == 0 || price > 0xFFFF {
		return fmt.Errorf("--price %q: want 0.01 to 655.35 yuan", p.price)
	}
	var preset purse.Amount
	if p.preset != "" {
		if preset, err = purse.ParseAmount(p.preset); err != nil {
			return fmt.Errorf("--preset: %w", err)
		}
	}
	st, err := openPump(ctx, &p)
	if err != nil {
		return err
	}
	defer st.close()
	if fuelInserted != nil {
		fuelInserted(st.sim)
	}
	return st.sell(ctx, w, &p, &nozzle{wanted: wanted, price: price}, preset)
}

// nozzle is the simulated pump: the customer takes wanted centilitres,
// the valve closes before the amount due would pass the limit.
type nozzle struct {
	wanted uint64
	price  kernel.Amount
}

func (n *nozzle) Fuel(_ context.Context, limit purse.Amount) (purse.Fill, error) {
	cl, due := dispense(n.wanted, n.price, kernel.Amount(limit))
	return purse.Fill{Amount: purse.Amount(due), Volume: uint32(cl), Price: purse.Amount(n.price), Grade: 92, Nozzle: 1}, nil
}

// pump is the dispenser's card, PSAM, store and the station's host.
type pump struct {
	card    apdu.Transport
	sim     *cardsim.PurseCard
	psam    *purse.PSAM
	store   *purse.Store
	term    *purse.Terminal
	cleanup []func()
}

func (s *pump) close() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

// openPump opens the card, the PSAM (simulated: the card issuer's keys),
// the station's host (the simulated issuer, for the online unlock of a
// card grey from elsewhere) and the store.
func openPump(ctx context.Context, p *pumpFlags) (*pump, error) {
	s := &pump{}
	prof := cardsim.DefaultPurseProfile()
	if p.card != "" {
		var err error
		if prof, err = cardsim.LoadPurseProfile(p.card); err != nil {
			return nil, err
		}
	}
	err := s.open(ctx, p, prof)
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *pump) open(ctx context.Context, p *pumpFlags, prof *cardsim.PurseProfile) error {
	c, samT, err := s.devices(ctx, p, prof)
	if err != nil {
		return err
	}
	s.card = c
	if s.psam, err = purse.OpenPSAM(ctx, samT); err != nil {
		return fmt.Errorf("the PSAM: %w", err)
	}
	path := p.store
	if path == "" {
		dir, err := os.MkdirTemp("", "pump")
		if err != nil {
			return err
		}
		path, s.cleanup = filepath.Join(dir, "pump.log"), append(s.cleanup, func() { os.RemoveAll(dir) })
	}
	if s.store, err = purse.OpenStore(path, []byte("examples/fuel store key, not secret")); err != nil {
		return err
	}
	s.cleanup = append(s.cleanup, func() { s.store.Close() })
	host, _, err := hostsim.ReserveFor(prof, 0)
	if err != nil {
		return err
	}
	s.term, err = purse.New(purse.Config{}, purse.WithSAM(s.psam), purse.WithStore(s.store), purse.WithHost(host),
		purse.WithPINPad(hostsim.PursePINPad{PIN: p.pin}))
	return err
}

// devices opens the card and the PSAM: in their readers, or simulated.
func (s *pump) devices(ctx context.Context, p *pumpFlags, prof *cardsim.PurseProfile) (apdu.Transport, apdu.Transport, error) {
	var card, sam apdu.Transport
	for _, d := range []struct {
		reader string
		dst    *apdu.Transport
	}{{p.reader, &card}, {p.psamReader, &sam}} {
		if d.reader == "" {
			continue
		}
		c, err := pcsc.Open(ctx, d.reader)
		if err != nil {
			return nil, nil, fmt.Errorf("reader %q: %w", d.reader, err)
		}
		*d.dst, s.cleanup = c, append(s.cleanup, func() { c.Close() })
	}
	if card == nil {
		sim, err := cardsim.NewPurseCard(prof)
		if err != nil {
			return nil, nil, err
		}
		card, s.sim = sim, sim
	}
	if sam == nil {
		sim, err := psam.New(psam.ForCard(prof, ""))
		if err != nil {
			return nil, nil, err
		}
		sam = sim
	}
	return card, sam, nil
}

// sell runs one fuel sale and prints it, the bill last.
func (s *pump) sell(ctx context.Context, w io.Writer, p *pumpFlags, n *nozzle, preset purse.Amount) error {
	fmt.Fprintf(w, "fuel dispenser PSAM %s (fuel card, grey lock)\n", s.psam.TerminalID())
	field(w, "price", "%s per litre", n.price)
	field(w, "requested", "%s L (%s)", litres(n.wanted), cost(n.wanted, n.price))
	if preset > 0 {
		field(w, "preset", "%s", preset)
	}
	res, err := s.term.Dispense(ctx, s.card, purse.DispenseRequest{Preset: preset, Nozzle: n})
	if res == nil {
		return err
	}
	field(w, "card", "ASN %s, wallet %s", res.ASN, res.Wallet)
	for _, st := range res.Settled {
		field(w, "settled", "%s %s %s: %s", st.Kind, st.State, st.Amount, st.Detail)
	}
	field(w, "balance before", "%s (as the card reported it)", dashAmount(res.BalanceBefore))
	if !res.GTAC.IsZero() {
		field(w, "grey lock", "GTAC %s, MAC2 %s checked by the PSAM", res.GTAC, res.MAC2)
	}
	if f := res.Fill; f != nil {
		field(w, "dispensed", "%s L = %s", litres(uint64(f.Volume)), f.Amount)
	}
	field(w, "outcome", "%s", res.Outcome)
	field(w, "reason", "%s", res.Reason)
	field(w, "detail", "%s", res.Detail)
	if !res.TAC.IsZero() {
		field(w, "unlock", "GMAC %s, TAC %s (PSAM-TAC %s), the lock's PSAM TTC %d", res.GMAC, res.TAC, res.PSAMTAC, res.TTC)
	}
	field(w, "balance after", "%s (as the card reports it)", dashAmount(res.BalanceAfter))
	if res.RecordID != "" {
		if berr := s.writeBill(w, p.bill, res.RecordID); berr != nil && err == nil {
			err = berr
		}
	}
	if err == nil && res.Outcome != purse.OutcomeApproved && res.Outcome != purse.OutcomeDeclined {
		err = fmt.Errorf("%w: %s", errNotPaid, res.Detail)
	}
	return err
}

func dashAmount(a *purse.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

// writeBill appends the sale's dispenser bill (ASN masked) as one JSON
// line to path, or prints it ("-").
func (s *pump) writeBill(w io.Writer, path, id string) error {
	rec, ok := s.store.Get(id)
	if !ok || rec.Kind != purse.KindFuel {
		return nil
	}
	b, err := purse.BillOf(rec, s.psam.Info().Serial)
	if err != nil {
		return err
	}
	line, err := json.Marshal(b)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if path == "-" {
		field(w, "dispenser bill", "(next line)")
		_, err = w.Write(line)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("--bill: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("--bill: %w", err)
	}
	field(w, "dispenser bill", "appended to %s", path)
	return f.Close()
}
