// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// The fuel-card kiosk (自助圈存机): the seed's self-service 圈存 for a fuel
// card with the PBOC ED/EP purse. The cardholder inserts the card, types
// the PIN, chooses an amount or "all" of the reserve account (备付金), and
// the kiosk moves it into the card's wallet (圈存); 圈提 moves money back
// from the ED, and the card's balances and records can be read. The
// receipt shows the card's balances as the card reports them and the
// reserve account before and after.

// errDeclined is returned after the kiosk printed a refusal.
var errDeclined = errors.New("the operation did not complete")

// fuelInserted, when set, is called with the simulated fuel card and the
// reserve before the operation runs (tests check the state behind the
// printout).
var fuelInserted func(card *cardsim.PurseCard, reserve *hostsim.Reserve)

// kioskFlags are the fuel-card kiosk's flags.
type kioskFlags struct {
	action, amount, pin, reserve string
	card, reader, psamReader     string
	store, wallet                string
}

func (k *kioskFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.action, "action", "load", "load (圈存), unload (圈提, from the ED), balance or records")
	fs.StringVar(&k.amount, "amount", "200.00", "amount in yuan, or \"all\" (load: the whole reserve account; unload: the whole ED)")
	fs.StringVar(&k.pin, "pin", "123456", "PIN the cardholder types (the seed card's is 123456)")
	fs.StringVar(&k.reserve, "reserve", "2000.00", "the card's reserve account (备付金) at the simulated issuer, in yuan")
	fs.StringVar(&k.card, "card", "", "fuel-card profile FILE, e.g. testdata/fuelcards/fuel.json (default: the built-in seed fuel card; with --reader: the profile of the simulated card in the reader)")
	fs.StringVar(&k.reader, "reader", "", "PC/SC reader NAME holding the fuel card instead of the simulated one")
	fs.StringVar(&k.psamReader, "psam-reader", "", "PC/SC reader NAME holding the kiosk's PSAM instead of the simulated one")
	fs.StringVar(&k.store, "store", "", "the kiosk's durable records FILE (default: a temporary file)")
	fs.StringVar(&k.wallet, "wallet", "ep", "wallet to load: ep or ed")
}

// runFuelCard runs the kiosk for a fuel card.
func runFuelCard(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("kiosk", flag.ContinueOnError)
	fs.SetOutput(w)
	var k kioskFlags
	k.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	st, err := openFuelStation(ctx, &k)
	if err != nil {
		return err
	}
	defer st.close()
	if fuelInserted != nil {
		fuelInserted(st.sim, st.reserve)
	}
	return st.serve(ctx, w, &k)
}

// fuelStation is the kiosk's card, PSAM, reserve host and store.
type fuelStation struct {
	card    apdu.Transport
	sim     *cardsim.PurseCard
	profile *cardsim.PurseProfile
	psam    *purse.PSAM
	reserve *hostsim.Reserve
	store   *purse.Store
	asn     purse.ASN
	cleanup []func()
}

func (s *fuelStation) close() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

// openFuelStation opens the card (simulated, or in --reader), the PSAM, the
// simulated reserve (it knows the keys of the --card profile) and the store.
func openFuelStation(ctx context.Context, k *kioskFlags) (*fuelStation, error) {
	s := &fuelStation{}
	prof, err := loadFuelProfile(k.card)
	if err != nil {
		return nil, err
	}
	s.profile = prof
	if err := s.openCard(ctx, k.reader); err != nil {
		return nil, err
	}
	if err := s.openPSAM(ctx, k.psamReader); err != nil {
		s.close()
		return nil, err
	}
	if err := s.openReserve(k.reserve); err != nil {
		s.close()
		return nil, err
	}
	if err := s.openStore(k.store); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// loadFuelProfile reads the --card profile, or gives the seed fuel card.
func loadFuelProfile(path string) (*cardsim.PurseProfile, error) {
	if path == "" {
		return cardsim.DefaultPurseProfile(), nil
	}
	return cardsim.LoadPurseProfile(path)
}

func (s *fuelStation) openCard(ctx context.Context, reader string) error {
	if reader != "" {
		c, err := pcsc.Open(ctx, reader)
		if err != nil {
			return fmt.Errorf("--reader %q: %w", reader, err)
		}
		s.card, s.cleanup = c, append(s.cleanup, func() { c.Close() })
		return nil
	}
	c, err := cardsim.NewPurseCard(s.profile)
	if err != nil {
		return err
	}
	s.card, s.sim = c, c
	return nil
}

// openPSAM opens the PSAM in the reader, or a simulated one holding the
// card issuer's purchase and TAC master keys.
func (s *fuelStation) openPSAM(ctx context.Context, reader string) error {
	var t apdu.Transport
	if reader != "" {
		c, err := pcsc.Open(ctx, reader)
		if err != nil {
			return fmt.Errorf("--psam-reader %q: %w", reader, err)
		}
		t, s.cleanup = c, append(s.cleanup, func() { c.Close() })
	} else {
		sim, err := psam.New(psam.ForCard(s.profile, ""))
		if err != nil {
			return err
		}
		t = sim
	}
	var err error
	s.psam, err = purse.OpenPSAM(ctx, t)
	return err
}

func (s *fuelStation) openReserve(balance string) error {
	b, err := purse.ParseAmount(balance)
	if err != nil {
		return fmt.Errorf("--reserve: %w", err)
	}
	s.reserve, s.asn, err = hostsim.ReserveFor(s.profile, b)
	return err
}

func (s *fuelStation) openStore(path string) error {
	if path == "" {
		dir, err := os.MkdirTemp("", "kiosk")
		if err != nil {
			return err
		}
		path = filepath.Join(dir, "kiosk.log")
		s.cleanup = append(s.cleanup, func() { os.RemoveAll(dir) })
	}
	// The kiosk's key for the ASN hash and seal; a real kiosk keeps its
	// own secret one.
	st, err := purse.OpenStore(path, []byte("examples/kiosk store key, not secret"))
	if err != nil {
		return err
	}
	s.store, s.cleanup = st, append(s.cleanup, func() { st.Close() })
	return nil
}

// terminal is the kiosk's purse terminal: with the PIN pad, or without
// (to read the EP before the PIN).
func (s *fuelStation) terminal(wallet purse.Wallet, pin string) (*purse.Terminal, error) {
	opts := []purse.Option{purse.WithHost(s.reserve), purse.WithSAM(s.psam), purse.WithStore(s.store)}
	if pin != "" {
		opts = append(opts, purse.WithPINPad(hostsim.PursePINPad{PIN: pin}))
	}
	return purse.New(purse.Config{Wallet: wallet}, opts...)
}

// serve is one cardholder at the kiosk: the card read, the PIN, the
// amount, the operation, the result and the receipt.
func (s *fuelStation) serve(ctx context.Context, w io.Writer, k *kioskFlags) error {
	wallet, err := purse.ParseWallet(k.wallet)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "自助圈存机 fuel-card kiosk")
	field(w, "terminal", "%s (PSAM)", s.psam.TerminalID())
	field(w, "请插卡 card", "inserted")
	field(w, "请输入密码 PIN", "******")
	card, err := s.terminal(wallet, k.pin)
	if err != nil {
		return err
	}
	res, q, err := card.Inquire(ctx, s.card, k.action == "records")
	if err != nil {
		return fmt.Errorf("reading the card: %w", err)
	}
	printCard(w, res, q)
	if res.Reason == purse.ReasonPINIncorrect || res.Reason == purse.ReasonPINBlocked {
		field(w, "交易失败", "%s", res.Detail)
		return errDeclined
	}
	field(w, "reserve account", "%s (备付金)", s.reserve.Balance(s.asn))
	switch k.action {
	case "balance", "records":
		return nil
	case "load", "unload":
		return s.move(ctx, w, card, k, q)
	}
	return fmt.Errorf("--action %q: want load, unload, balance or records", k.action)
}

func printCard(w io.Writer, res *purse.Result, q *purse.Inquiry) {
	field(w, "card", "ASN %s", res.ASN)
	for _, b := range q.Balances {
		field(w, b.Wallet.String()+" balance", "%s", b.Balance)
	}
	if q.Grey != nil {
		field(w, "grey status", "%s", q.Grey.StatusName())
	}
	for _, st := range res.Settled {
		field(w, "settled", "%s %s %s: %s", st.Kind, st.State, st.Amount, st.Detail)
	}
	for i, r := range q.Records {
		field(w, fmt.Sprintf("record %d", i+1), "%s %s %s TID %s", r.Time, r.Type, r.Amount, r.TID)
	}
}

// move runs the 圈存 or 圈提 and prints the result and the receipt.
func (s *fuelStation) move(ctx context.Context, w io.Writer, t *purse.Terminal, k *kioskFlags, q *purse.Inquiry) error {
	amount, err := s.amountFor(k, q)
	if err != nil {
		return err
	}
	before := s.reserve.Balance(s.asn)
	var res *purse.Result
	if k.action == "load" {
		field(w, "圈存 load", "%s", amount)
		res, err = t.Load(ctx, s.card, amount)
	} else {
		field(w, "圈提 unload", "%s (from the ED)", amount)
		res, err = t.Unload(ctx, s.card, amount)
	}
	if res == nil {
		return err
	}
	if res.Outcome != purse.OutcomeApproved {
		field(w, "交易失败", "%s: %s", res.Reason, res.Detail)
		printReceipt(w, res, before, s.reserve.Balance(s.asn))
		if err != nil {
			return err
		}
		return errDeclined
	}
	field(w, "交易成功", "transaction successful")
	printReceipt(w, res, before, s.reserve.Balance(s.asn))
	return err
}

// amountFor reads --amount: "all" is the whole reserve (load) or the
// whole ED (unload).
func (s *fuelStation) amountFor(k *kioskFlags, q *purse.Inquiry) (purse.Amount, error) {
	if k.amount != "all" {
		a, err := purse.ParseAmount(k.amount)
		if err == nil && a == 0 {
			err = fmt.Errorf("--amount: at least 0.01")
		}
		return a, err
	}
	if k.action == "load" {
		return s.reserve.Balance(s.asn), nil
	}
	for _, b := range q.Balances {
		if b.Wallet == purse.ED {
			return b.Balance, nil
		}
	}
	return 0, fmt.Errorf("--amount all: the card did not say its ED balance")
}

func printReceipt(w io.Writer, r *purse.Result, reserveBefore, reserveAfter purse.Amount) {
	fmt.Fprintln(w, "---- 凭条 receipt ----")
	field(w, "time", "%s", time.Now().Format("2006-01-02 15:04:05"))
	field(w, "operation", "%s (%s)", r.Kind, r.Outcome)
	field(w, "card", "ASN %s, wallet %s", r.ASN, r.Wallet)
	field(w, "amount", "%s", r.Amount)
	field(w, "balance before", "%s (as the card reported it)", purseDash(r.BalanceBefore))
	field(w, "balance after", "%s (as the card reports it)", purseDash(r.BalanceAfter))
	field(w, "online serial", "%d", r.Serial)
	if !r.TAC.IsZero() {
		field(w, "TAC", "%s", r.TAC)
	}
	if !r.MAC3.IsZero() {
		field(w, "MAC3", "%s", r.MAC3)
	}
	field(w, "reserve account", "%s → %s", reserveBefore, reserveAfter)
	field(w, "record", "%s", r.RecordID)
}

func purseDash(a *purse.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}
