// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/internal/atomicfile"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// cardholderPIN is the PIN the simulated issuer holds for every simulated
// card; --pin is what the cardholder types.
const cardholderPIN = "123456"

// cardFlags are the flags of the card commands: which card, and how the
// answer is printed.
type cardFlags struct {
	card   string // --card: a profile file for the simulated card
	reader string // --reader: a PC/SC reader instead
	testCA bool   // --test-ca: with --reader, trust the test CA too
	json   bool   // --json

	profile *cardsim.Profile // the simulated card's (or --card's) profile; nil for an unknown card
	sim     *cardsim.Card    // the simulated card, nil with --reader
}

func (c *cardFlags) register(f *flags) {
	f.fs.StringVar(&c.card, "card", "", "card profile JSON `FILE` for the simulated card (default: the built-in default card); with --reader, the profile of the simulated card served in the reader, whose keys the simulated issuer then uses")
	f.fs.StringVar(&c.reader, "reader", "", "PC/SC reader `NAME` (part of it is enough) holding the card, instead of the simulated card")
	f.fs.BoolVar(&c.testCA, "test-ca", false, "with --reader, also trust the simulator's test CA keys (a card served by pboc serve-card; never in production)")
	f.fs.BoolVar(&c.json, "json", false, "print one JSON object instead of the readable form")
}

// trustsTestCA reports whether offline data authentication trusts the
// simulator's test CA: always for the simulated card, with --reader only
// when --test-ca asks for it (a simulated card served by serve-card).
func (c *cardFlags) trustsTestCA() bool { return c.reader == "" || c.testCA }

// trustNote says which CA keys are trusted, printed on standard error with
// every card command.
func (c *cardFlags) trustNote() string {
	if c.trustsTestCA() {
		return "note: CA keys trusted: the published keys and the simulator's test CA (A000000333 F1-F3; never in production)"
	}
	return "note: CA keys trusted: the published keys only (capk.Builtin)"
}

// config is the terminal configuration for the card.
func (c *cardFlags) config() kernel.Config {
	cfg := kernel.DefaultConfig()
	if c.trustsTestCA() {
		// The simulated card is signed by the test CA, whose private keys
		// anyone can regenerate: trusted here by explicit choice only.
		cfg.CAPK = capk.Builtin()
		cfg.CAPK.Merge(capk.TestKeys())
	}
	return cfg
}

// open opens the card: the one in the --reader, else the simulated card
// personalised from --card or the built-in profile. The function returned
// releases the reader.
func (c *cardFlags) open(ctx context.Context) (apdu.Transport, func(), error) {
	if c.card != "" {
		p, err := loadProfile("card", c.card)
		if err != nil {
			return nil, nil, err
		}
		c.profile = p
	}
	if c.reader != "" {
		card, err := pcsc.Open(ctx, c.reader)
		if err != nil {
			return nil, nil, err
		}
		return card, func() { card.Close() }, nil
	}
	if c.profile == nil {
		c.profile = cardsim.DefaultProfile()
	}
	card, err := cardsim.New(c.profile)
	if err != nil {
		return nil, nil, badInput("--card %s: %w", c.card, err)
	}
	c.sim = card
	return card, func() {}, nil
}

// loadProfile reads the card profile file named by the flag name. A file
// that is missing, unreadable or not a valid profile is bad input, said
// once: "--card FILE: what is wrong".
func loadProfile(name, path string) (*cardsim.Profile, error) {
	b, err := readInput(name, path, cardsim.MaxProfileSize)
	if err != nil {
		return nil, err
	}
	p, err := cardsim.ParseProfile(b)
	if err != nil {
		return nil, profileError(name, path, err)
	}
	return p, nil
}

// profileError is bad input saying once what is wrong with the card
// profile (EMV or fuel card) of the flag name, without cardsim's own
// "cardsim: invalid profile:" said before it.
func profileError(name, path string, err error) error {
	var pe *cardsim.ProfileError
	switch {
	case errors.As(err, &pe) && pe.Field != "":
		return badInput("--%s %s: invalid profile: %s: %s", name, path, pe.Field, pe.Msg)
	case errors.As(err, &pe) && pe.Err != nil:
		return badInput("--%s %s: %s: %w", name, path, pe.Msg, pe.Err)
	}
	return badInput("--%s %s: %w", name, path, err)
}

// readInput reads a file the user named (flag name, or "" for a positional
// argument), at most limit bytes. Every failure is bad input naming the
// file once.
func readInput(name, path string, limit int) ([]byte, error) {
	what := path
	if name != "" {
		what = "--" + name + " " + path
	}
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		return nil, badInput("%s: %w", what, pathless(err))
	case len(b) == 0:
		return nil, badInput("%s: empty file", what)
	case len(b) > limit:
		return nil, badInput("%s: %d bytes, more than %d", what, len(b), limit)
	}
	return b, nil
}

// pathless is err without the operation and path of an *fs.PathError in
// it ("is a directory", not "open F: is a directory"): the messages name
// the file once, as the flag's value.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// saleFlags are the flags of the commands that move money: purchase and
// load.
type saleFlags struct {
	cardFlags
	save    bool   // --save
	trace   bool   // --trace
	pin     string // --pin
	account string // --account
	offline bool   // --offline
	journal string // --journal
	tornLog string // --torn-log
	dataKey string // --data-key-file
	acq     acquirerFlags
	// finish, when set, is told the result after the transaction (the
	// acquirer link: advices, then close).
	finish func(context.Context, *kernel.Result)
	// jr and dk are the opened --journal and data key (stores).
	jr *journal.File
	dk journal.DataKey
}

func (s *saleFlags) register(f *flags) {
	s.cardFlags.register(f)
	f.fs.BoolVar(&s.trace, "trace", false, "with --json, also print the APDU trace (to standard error)")
	f.fs.BoolVar(&s.save, "save", false, "write the simulated card's state (balance, ATC, log) back to the --card file afterwards")
	f.fs.StringVar(&s.pin, "pin", cardholderPIN, "`PIN` the cardholder types on the simulated PIN pad, 4 to 12 digits (the simulated issuer expects 123456; empty: the cardholder bypasses PIN entry)")
	f.fs.StringVar(&s.account, "account", "2000.00", "balance of the card's back-office account at the simulated issuer, in yuan (`AMOUNT`)")
	f.fs.BoolVar(&s.offline, "offline", false, "no online host: a sale that needs one ends online_required")
	f.fs.StringVar(&s.journal, "journal", "", "append the clearing record of an approved sale or load to the journal `FILE` (created if missing; read it with pboc journal list); it numbers the transactions (STAN, batch) too")
	f.fs.StringVar(&s.tornLog, "torn-log", "", "keep a sale the card was pulled from in the durable torn log `FILE` (created if missing) until the same card comes back and settles it")
	f.fs.StringVar(&s.dataKey, "data-key-file", "", "with --journal, keep the full PAN in each record encrypted under the data key in `FILE` (hex AES key; keep it away from the journal)")
	s.acq.register(f)
}

// check validates the flags that do not need the card, before any APDU.
func (s *saleFlags) check() error {
	if s.save && (s.card == "" || s.reader != "") {
		return badInput("--save needs --card FILE and the simulated card")
	}
	if (s.journal != "" || s.tornLog != "") && s.reader == "" && !s.save {
		// Without --save each run starts the simulated card again at ATC
		// 1, and the journal rightly refuses a second sale with the same
		// ATC; a torn record would meet a card whose log was wiped.
		return badInput("--journal and --torn-log with the simulated card need --card FILE --save, so that the card keeps its ATC and log between runs")
	}
	if s.journal != "" && s.tornLog != "" && sameFile(s.journal, s.tornLog) {
		return badInput("--journal and --torn-log name the same file %s: each needs its own", s.journal)
	}
	if s.dataKey != "" && s.journal == "" {
		return badInput("--data-key-file needs --journal FILE: the key seals the PAN of the journal's records")
	}
	if err := s.acq.check(); err != nil {
		return err
	}
	pin, err := parsePIN(s.pin)
	if err != nil {
		return err
	}
	s.pin = pin
	_, err = parseAmount("account", s.account)
	return err
}

// kernel builds the kernel for the card: the simulated issuer and PIN pad
// unless --offline or the card's keys are unknown, the --journal and the
// --torn-log. The function returned closes those files.
func (s *saleFlags) kernel(ctx context.Context) (*kernel.Kernel, func(), error) {
	cfg := s.config()
	cfg.Trace = !s.json || s.trace // the trace is printed unless only JSON is asked for
	opts, closeAll, err := s.stores(&cfg)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case !s.offline && s.acq.addr != "":
		finish, err := s.acq.open(ctx, cfg, s.jr, s.dk)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		s.finish = finish
		opts = append(opts, kernel.WithHost(s.acq.link), kernel.WithPINPad(s.acq.module.PINPad(s.pin)))
	case !s.offline && s.profile != nil:
		h, err := s.issuer()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		opts = append(opts, kernel.WithHost(h), kernel.WithPINPad(hostsim.PINPad{PIN: s.pin}))
	}
	k, err := kernel.New(cfg, opts...)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return k, closeAll, nil
}

// stores opens the --journal and the --torn-log, then the key of their
// PAN hashes (see panHashKey: made beside them only once they opened), and
// returns the kernel options for them and the function that closes them.
func (s *saleFlags) stores(cfg *kernel.Config) ([]kernel.Option, func(), error) {
	var opts []kernel.Option
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if s.journal == "" && s.tornLog == "" {
		return nil, closeAll, nil
	}
	for _, c := range []struct{ flag, path string }{{"--journal", s.journal}, {"--torn-log", s.tornLog}} {
		if c.path != "" {
			if err := checkStoreFile(c.flag, c.path); err != nil {
				return nil, nil, err
			}
		}
	}
	fail := func(err error) ([]kernel.Option, func(), error) {
		closeAll()
		return nil, nil, err
	}
	if s.journal != "" {
		j, err := openJournal(s.journal)
		if err != nil {
			return fail(openError("--journal", s.journal, err))
		}
		closers = append(closers, j.Close)
		opts = append(opts, kernel.WithJournal(j), kernel.WithCounter(j))
		dk, err := loadDataKey(s.dataKey) // journal.go
		if err != nil {
			return fail(err)
		}
		if dk != nil {
			opts = append(opts, kernel.WithDataKey(dk))
		}
		s.jr, s.dk = j, dk
	}
	if s.tornLog != "" {
		tl, err := kernel.OpenTornLog(s.tornLog)
		if err != nil {
			return fail(openError("--torn-log", s.tornLog, err))
		}
		closers = append(closers, tl.Close)
		opts = append(opts, kernel.WithTornLog(tl))
	}
	keyFlag, keyBeside := "--journal", s.journal
	if s.journal == "" {
		keyFlag, keyBeside = "--torn-log", s.tornLog
	}
	key, err := panHashKey(keyFlag, keyBeside)
	if err != nil {
		return fail(err)
	}
	cfg.PANHashKey = key
	return opts, closeAll, nil
}

// issuer is the simulated issuer with an --account for every application
// of the card's profile.
func (s *saleFlags) issuer() (*hostsim.Host, error) {
	balance, err := parseAmount("account", s.account)
	if err != nil {
		return nil, err
	}
	h := hostsim.New()
	for _, app := range s.profile.Applications {
		acc, err := hostsim.AccountFromProfile(app, balance, cardholderPIN)
		if err != nil {
			return nil, badInput("--card %s: %w", s.card, err)
		}
		if err := h.AddAccount(acc); err != nil {
			return nil, badInput("--card %s: %w", s.card, err)
		}
	}
	return h, nil
}

// saveCard writes the simulated card's state to --card, with --save.
func (s *saleFlags) saveCard() error {
	if !s.save || s.sim == nil {
		return nil
	}
	b, err := s.sim.Snapshot().Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(s.card, b, 0o644)
}

// openJournal opens (or creates) the journal at path for appending. One
// transaction per run: it reserves one STAN at a time, so that the next
// run goes on from it instead of skipping a block. Failures are I/O
// failures: the journal is output.
func openJournal(path string) (*journal.File, error) {
	return journal.Open(path, journal.WithSTANBlock(1))
}
