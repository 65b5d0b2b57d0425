// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/purse"
)

// testTMK is the terminal master key the simulated acquirer and the CLI's
// terminal share by default: a published test value, never a real key.
const testTMK = "00112233445566778899AABBCCDDEEFF"

// defaultAcquirerAddr is where serve-acquirer listens by default.
const defaultAcquirerAddr = "127.0.0.1:8583"

// cmdServeAcquirer implements
//
//	pboc serve-acquirer [--addr 127.0.0.1:8583] [--card FILE]... [--account AMOUNT] [--fuel-card FILE] [--reserve AMOUNT] [--tmk HEX]
//
// It serves the loopback acquirer simulator (UnionPay POS 8583) in front of
// a simulated issuer holding an account for every application of the card
// profiles and the reserve account of a fuel card (pboc purse --acquirer),
// logs each message it receives (PAN or ASN masked) and, when interrupted,
// the batches settled. Card commands reach it with --acquirer ADDR.
func cmdServeAcquirer(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "serve-acquirer", "[--addr 127.0.0.1:8583] [--card FILE]... [flags]", `
Serves a simulated acquirer over ISO 8583 (UnionPay POS: 2-byte length,
TPDU, header, BCD fields, CUP ECB MAC) in front of the simulated issuer,
which holds an account for every application of the card profiles and the
reserve account of a fuel card (圈存, 圈提, online unlock). It signs
terminals in with working keys under the TMK, authorises, reverses, takes
uploads, advices and settlements, serves CA keys and IC parameters, and
prints each message it receives. Ctrl-C stops it.`)
	addr := f.fs.String("addr", defaultAcquirerAddr, "`HOST:PORT` to listen on")
	var cards multiFlag
	f.fs.Var(&cards, "card", "card profile JSON `FILE` whose accounts the issuer holds (repeatable; default: the built-in default card)")
	account := f.fs.String("account", "2000.00", "balance of each back-office account, in yuan (`AMOUNT`)")
	tmkHex := f.fs.String("tmk", testTMK, "terminal master key shared with the terminals, 16 bytes `HEX` (the default is a test key)")
	fuelCard := f.fs.String("fuel-card", "", "fuel-card profile JSON `FILE` whose reserve account (备付金) the issuer holds for pboc purse --acquirer (default: the built-in seed fuel card)")
	reserveText := f.fs.String("reserve", "2000.00", "balance of the fuel card's reserve account, in yuan (`AMOUNT`)")
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	if err := checkAddr("addr", *addr, true); err != nil {
		return err
	}
	reserve, err := simulatedReserve(*fuelCard, *reserveText)
	if err != nil {
		return err
	}
	balance, err := parseAmount("account", *account)
	if err != nil {
		return err
	}
	tmk, err := parseTMK(*tmkHex)
	if err != nil {
		return err
	}
	host, err := simulatedIssuer(cards, balance)
	if err != nil {
		return err
	}
	sim, err := acquirersim.New(acquirersim.Config{Host: host, Reserve: reserve, TMK: tmk,
		CAKeys: acquirersim.CAKeyRecords(capk.TestKeys()), ICParams: acquirersim.SampleAIDRecords()})
	if err != nil {
		return err
	}
	if err := sim.Start(*addr); err != nil {
		return err
	}
	defer sim.Close()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(e.stdout, "acquirer simulator listening on %s; Ctrl-C stops it\n", sim.Addr())
	seen := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			for _, b := range sim.Batches() {
				d := b.Acquirer.Domestic
				fmt.Fprintf(e.stdout, "batch %06d of terminal %s: balanced %t, debits %d %s, credits %d %s\n", b.Number, b.TerminalID,
					b.Balanced, d.DebitCount, kernel.Amount(d.DebitAmount), d.CreditCount, kernel.Amount(d.CreditAmount))
			}
			return nil
		case <-tick.C:
			recs := sim.Received()
			for _, m := range recs[seen:] {
				fmt.Fprintf(e.stdout, "%s %s stan %s 60.1 %s 60.3 %s terminal %s pan %s amount %s reason %s -> %s\n",
					m.Time.Format("15:04:05.000"), m.MTI, m.STAN, m.Type60, m.Network, m.TerminalID, dash(m.PAN),
					dash(m.Amount), dash(m.Reason), dash(m.Response))
			}
			seen = len(recs)
		}
	}
}

// simulatedIssuer holds an account for every application of the profiles.
func simulatedIssuer(paths []string, balance kernel.Amount) (*hostsim.Host, error) {
	profiles := []*cardsim.Profile{cardsim.DefaultProfile()}
	if len(paths) > 0 {
		profiles = profiles[:0]
		for _, p := range paths {
			prof, err := loadProfile("card", p)
			if err != nil {
				return nil, err
			}
			profiles = append(profiles, prof)
		}
	}
	h := hostsim.New()
	for _, p := range profiles {
		for _, app := range p.Applications {
			acc, err := hostsim.AccountFromProfile(app, balance, cardholderPIN)
			if err != nil {
				return nil, badInput("card %s: %w", p.Name, err)
			}
			if err := h.AddAccount(acc); err != nil && !errors.Is(err, hostsim.ErrAccount) {
				return nil, err
			}
		}
	}
	return h, nil
}

// simulatedReserve is the fuel-card issuer behind serve-acquirer: the
// reserve account of the card of the profile at path (the seed fuel card
// when empty), with its master keys.
func simulatedReserve(path, balance string) (*hostsim.Reserve, error) {
	amount, err := purseAmount("reserve", balance)
	if err != nil {
		return nil, err
	}
	prof := cardsim.DefaultPurseProfile()
	if path != "" {
		b, err := readInput("fuel-card", path, cardsim.MaxProfileSize)
		if err != nil {
			return nil, err
		}
		if prof, err = cardsim.ParsePurseProfile(b); err != nil {
			return nil, profileError("fuel-card", path, err)
		}
	}
	r, _, err := hostsim.ReserveFor(prof, amount)
	if err != nil {
		return nil, badInput("--fuel-card %s: %v", path, err)
	}
	return r, nil
}

// acquirerFlags send a card command's online requests to an acquirer over
// ISO 8583 instead of the in-process simulated issuer.
type acquirerFlags struct {
	addr  string // --acquirer
	state string // --acquirer-state
	tmk   string // --tmk

	link   *acquirer.Link
	module *acquirer.SoftModule
	notes  io.Writer
}

func (a *acquirerFlags) register(f *flags) {
	a.notes = f.e.stderr
	f.fs.StringVar(&a.addr, "acquirer", "", "send the online requests to the acquirer at `HOST:PORT` (ISO 8583, e.g. pboc serve-acquirer) instead of the in-process simulated issuer; --account is then the acquirer's business")
	f.fs.StringVar(&a.state, "acquirer-state", "", "the link's durable state `FILE` (reversal queue, advices, counters; default pboc-acquirer-TERMINALID.state in the temporary directory), its PAN key in FILE.key")
	f.fs.StringVar(&a.tmk, "tmk", testTMK, "with --acquirer, the terminal master key, 16 bytes `HEX` (the default is the simulator's test key)")
}

// check refuses an --acquirer that is not an address, before the card
// is touched.
func (a *acquirerFlags) check() error {
	if a.addr == "" {
		return nil
	}
	return checkAddr("acquirer", a.addr, false)
}

// open signs the terminal in with the acquirer. j is the --journal (nil
// without one): the link numbers its messages from it, as the kernel does,
// settles approvals after a crash from it and, with the data key dk that
// opens its PANs, uploads its offline sales. The function returned
// completes the transaction with the link and closes it.
func (a *acquirerFlags) open(ctx context.Context, cfg kernel.Config, j *journal.File, dk journal.DataKey) (func(context.Context, *kernel.Result), error) {
	tmk, err := parseTMK(a.tmk)
	if err != nil {
		return nil, err
	}
	if a.state == "" {
		a.state = filepath.Join(os.TempDir(), "pboc-acquirer-"+cfg.TerminalID+".state")
	}
	if err := checkStoreFile("--acquirer-state", a.state); err != nil {
		return nil, err
	}
	// Full PANs in the state are sealed under this key, kept beside it (a
	// terminal keeps such a key in its secure storage instead).
	raw, err := keyBeside("--acquirer-state", a.state, "key")
	if err != nil {
		return nil, err
	}
	key, err := journal.NewAESGCMKey(raw)
	if err != nil {
		return nil, err
	}
	st, err := acquirer.OpenState(ctx, a.state, key)
	if errors.Is(err, acquirer.ErrState) {
		// Events this version does not know: refused as a newer journal is.
		return nil, badInput("--acquirer-state %s: %w", a.state, &reworded{strings.TrimPrefix(err.Error(), "acquirer: "), err})
	}
	if err != nil {
		return nil, openError("--acquirer-state", a.state, err)
	}
	if a.module, err = acquirer.NewSoftModule(tmk); err != nil {
		st.Close()
		return nil, err
	}
	opts := []acquirer.Option{acquirer.WithLogger(slog.Default())}
	if j != nil {
		opts = append(opts, acquirer.WithCounter(j), acquirer.WithEvidence(acquirer.JournalEvidence(j)))
		if dk != nil {
			opts = append(opts, acquirer.WithClearing(acquirer.JournalClearing(j, dk)))
		}
	}
	lc := acquirer.Config{Addr: a.addr, TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID, Timeout: 10 * time.Second, ConnectTimeout: 3 * time.Second}
	if a.link, err = acquirer.Open(ctx, lc, a.module, st, opts...); err != nil {
		st.Close()
		return nil, err
	}
	if err := a.link.SignIn(ctx); err != nil {
		// Not fatal: an offline EC sale needs no acquirer, and an online
		// request signs in again (and fails as "unable to go online").
		fmt.Fprintf(a.notes, "note: --acquirer %s: sign-in failed: %v\n", a.addr, err)
	}
	return func(ctx context.Context, res *kernel.Result) {
		// The script results go in an advice, and what is owed goes now
		// rather than before the next transaction of another run.
		_ = a.link.Complete(ctx, res)
		_ = a.link.Flush(ctx)
		a.link.Close()
		st.Close()
	}, nil
}

// purseHost selects the host of a pboc purse command: with --acquirer the
// link (the reserve account is then the acquirer's, and no local reserve is
// returned to print), else local, the simulated reserve (nil: a card whose
// keys are unknown); none with --offline. The function returned sends what
// the link owes and closes it.
func (a *acquirerFlags) purseHost(ctx context.Context, offline bool, local *hostsim.Reserve) (purse.Host, *hostsim.Reserve, func(), error) {
	switch {
	case offline:
		return nil, nil, func() {}, nil
	case a.addr == "":
		if local == nil {
			return nil, nil, func() {}, nil // not a typed nil in the interface
		}
		return local, local, func() {}, nil
	}
	finish, err := a.open(ctx, kernel.DefaultConfig(), nil, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return a.link.Purse(), nil, func() { finish(ctx, nil) }, nil
}

// parseTMK reads a 16-byte key in hex.
func parseTMK(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil || len(b) != 16 {
		return nil, badInput("--tmk: want 16 bytes of hex (32 digits)")
	}
	return b, nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
