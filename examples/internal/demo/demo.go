// Package demo holds what the example programs (examples/pos, kiosk, fuel)
// share and that is not their story: the --card and --reader flags, finding
// a card profile from the repository root, opening the card (the simulated
// one or a card in a PC/SC reader), the simulated issuer with its PIN pad,
// and the receipt lines they print.
//
// An example registers the card flags on its flag set, parses, and opens:
//
//	var cf demo.CardFlags
//	cf.Register(fs, "testdata/cards/default.json", true)
//	...
//	card, err := cf.Open(ctx)
//	defer card.Close()
//
// Without --reader, card.Sim is the simulated card personalised from the
// --card profile. With --reader NAME the card is the one in that PC/SC
// reader (transport/pcsc): the example must then print only what the
// kernel reports, and card.Profile is the --card profile if one was named
// (its keys let the simulated issuer serve a simulated card put into the
// reader by `pboc serve-card --profile FILE`), nil otherwise.
package demo

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// CardholderPIN is the online PIN the simulated issuer holds for every
// card's account; an example's --pin is what the cardholder types.
const CardholderPIN = "123456"

// CardFlags are the --card and --reader flags of an example. Register them
// on the example's flag set, parse it, then call Open.
type CardFlags struct {
	// Card is the --card value: a card profile JSON file.
	Card string
	// Reader is the --reader value: a PC/SC reader name (exact, or a unique
	// case-insensitive part of one); empty means the simulated card.
	Reader string
	// TestCA is --test-ca: with --reader, trust the simulator's test CA
	// too (the card in the reader is one served by pboc serve-card).
	TestCA bool
	// Fallback, when set, is the profile used when the default profile
	// cannot be found (the program runs outside the repository); nil means
	// cardsim.DefaultProfile().
	Fallback func() *cardsim.Profile

	fs          *flag.FlagSet
	defaultCard string
}

// Register adds --card (defaulting to defaultCard, a path relative to the
// repository root) and --reader to fs. issuerKeys says, in --card's help,
// that with --reader the profile gives the simulated issuer the card's keys
// (for the online examples).
func (f *CardFlags) Register(fs *flag.FlagSet, defaultCard string, issuerKeys bool) {
	f.fs = fs
	f.defaultCard = defaultCard
	usage := "card profile JSON file (relative paths are also tried from the repository root)"
	if issuerKeys {
		usage += "; with --reader, the profile of the simulated card served in the reader, whose keys the simulated issuer then uses"
	}
	fs.StringVar(&f.Card, "card", defaultCard, usage)
	fs.StringVar(&f.Reader, "reader", "", "PC/SC reader name (part of it is enough) holding the card, instead of the simulated card")
	fs.BoolVar(&f.TestCA, "test-ca", false, "with --reader, also trust the simulator's test CA keys (a card served by pboc serve-card; never in production)")
}

// CardSet reports whether --card was given on the command line (after the
// flag set was parsed).
func (f *CardFlags) CardSet() bool {
	set := false
	if f.fs != nil {
		f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "card" })
	}
	return set
}

// Card is the card an example runs against.
type Card struct {
	// Transport carries the APDUs: the simulated card or the PC/SC card.
	apdu.Transport
	// Sim is the simulated card, nil when the card is in a reader.
	Sim *cardsim.Card
	// PCSC is the card in the reader, nil for the simulated card.
	PCSC *pcsc.Card
	// Profile is the simulated card's profile; with a reader, the --card
	// profile when one was given (the card in the reader is expected to be
	// that simulated card), else nil: the card's keys are unknown.
	Profile *cardsim.Profile
	// Source says where the profile came from: the --card path or
	// "built-in"; empty when there is no profile.
	Source string
}

// CAPK is the CA key store the terminal trusts for the card the flags
// name: the published keys (capk.Builtin) and, for the simulated card or
// with --test-ca, the simulator's test CA, whose private keys anyone can
// regenerate (never in production).
func (f *CardFlags) CAPK() *capk.Store {
	s := capk.Builtin()
	if f.Reader == "" || f.TestCA {
		s.Merge(capk.TestKeys())
	}
	return s
}

// TrustNote says which CA keys the terminal trusts, for the receipt.
func (f *CardFlags) TrustNote() string {
	if f.Reader == "" || f.TestCA {
		return "published keys + the simulator's test CA (A000000333 F1-F3; never in production)"
	}
	return "published keys only (capk.Builtin)"
}

// Describe is the card for the receipt: the profile's name and source, or
// the reader and the card's ATR.
func (c *Card) Describe() string {
	if c.PCSC != nil {
		return fmt.Sprintf("in reader %q (ATR %X, %s)", c.PCSC.Reader(), c.PCSC.ATR(), c.PCSC.Protocol())
	}
	return fmt.Sprintf("%s (%s)", c.Profile.Name, c.Source)
}

// Close releases the reader; it does nothing for the simulated card.
func (c *Card) Close() error {
	if c.PCSC != nil {
		return c.PCSC.Close()
	}
	return nil
}

// Open opens the card the flags name. Without --reader it loads the --card
// profile (see LoadProfile) and personalises a simulated card from it. With
// --reader it connects to the card in that reader and loads the --card
// profile only when --card was given.
func (f *CardFlags) Open(ctx context.Context) (*Card, error) {
	var (
		c   Card
		err error
	)
	if f.Reader == "" || f.CardSet() {
		isDefault := f.Card == f.defaultCard && f.Reader == ""
		if c.Profile, c.Source, err = LoadProfile(f.Card, isDefault, f.Fallback); err != nil {
			return nil, err
		}
	}
	if f.Reader != "" {
		if c.PCSC, err = pcsc.Open(ctx, f.Reader); err != nil {
			return nil, fmt.Errorf("--reader %q: %w", f.Reader, err)
		}
		c.Transport = c.PCSC
		return &c, nil
	}
	if c.Sim, err = cardsim.New(c.Profile); err != nil {
		return nil, err
	}
	c.Transport = c.Sim
	return &c, nil
}

// LoadProfile reads the card profile at path. A relative path that does not
// exist from the working directory is tried from the module root (the
// nearest directory above holding go.mod), so an example runs both from the
// repository root (go run) and from its own directory (go test). When
// isDefault is set and the file cannot be found at all (the program runs
// outside the repository), fallback's profile is used, or
// cardsim.DefaultProfile() when fallback is nil. It returns the profile and
// where it came from: path, or "built-in".
func LoadProfile(path string, isDefault bool, fallback func() *cardsim.Profile) (*cardsim.Profile, string, error) {
	if found, ok := FindFile(path); ok {
		p, err := cardsim.LoadProfile(found)
		return p, path, err
	}
	if !isDefault {
		return nil, "", fmt.Errorf("card profile %s: %w", path, os.ErrNotExist)
	}
	if fallback != nil {
		return fallback(), "built-in", nil
	}
	return cardsim.DefaultProfile(), "built-in", nil
}

// FindFile resolves path against the working directory, then, when it is
// relative, against the module root above it. It reports whether the file
// exists.
func FindFile(path string) (string, bool) {
	if _, err := os.Stat(path); err == nil {
		return path, true
	}
	if filepath.IsAbs(path) {
		return "", false
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, path)
			_, err := os.Stat(p)
			return p, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// NewIssuer returns the simulated issuer with a back-office account holding
// balance for every application of p, each with CardholderPIN. A nil p (a
// card in a reader whose keys are unknown) means no issuer: nil, nil.
func NewIssuer(p *cardsim.Profile, balance kernel.Amount) (*hostsim.Host, error) {
	if p == nil {
		return nil, nil
	}
	h := hostsim.New()
	for _, app := range p.Applications {
		acc, err := hostsim.AccountFromProfile(app, balance, CardholderPIN)
		if err != nil {
			return nil, err
		}
		if err := h.AddAccount(acc); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Terminal returns the kernel options of an online terminal: the simulated
// PIN pad, on which the cardholder types pin, and the issuer host, when
// there is one. Without a host the kernel still asks for the PIN where it
// is needed, then answers online_required where it would go online.
func Terminal(host *hostsim.Host, pin string) []kernel.Option {
	opts := []kernel.Option{kernel.WithPINPad(hostsim.PINPad{PIN: pin})}
	if host != nil {
		opts = append(opts, kernel.WithHost(host))
	}
	return opts
}

// Field prints one labelled line of a receipt: the label and a colon padded
// to 23 columns, then the value.
func Field(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "%-23s%s\n", label+":", fmt.Sprintf(format, args...))
}

// AmountOrDash is a's value in yuan, or "-" when the card did not report it.
func AmountOrDash(a *kernel.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

// Dash is s, or "-" when s is empty.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// AccountBalance is the back-office balance of the account for pan at host,
// "-" when there is no such account and "- (no issuer host)" without host.
func AccountBalance(host *hostsim.Host, pan string) string {
	if host == nil {
		return "- (no issuer host)"
	}
	a, ok := host.Account(pan)
	if !ok {
		return "-"
	}
	return a.Balance.String()
}

// PrintLedger prints the simulated issuer's ledger, one line per request;
// nothing without host.
func PrintLedger(w io.Writer, host *hostsim.Host) {
	if host == nil {
		return
	}
	for _, e := range host.Ledger() {
		Field(w, fmt.Sprintf("issuer ledger #%d", e.Seq), "%s %s, response %s: %s", e.Kind, e.Amount, Dash(e.ResponseCode), Dash(e.Note))
	}
}

// PrintIssuer prints which issuer the online example uses: the simulated
// one, or, for a card in a reader without --card, none, and what that
// means.
func PrintIssuer(w io.Writer, card *Card, host *hostsim.Host) {
	switch {
	case host == nil:
		Field(w, "issuer host", "none: the card is in a reader and no --card profile gives the simulated issuer its keys; "+
			"online steps end online_required")
	case card.PCSC != nil:
		Field(w, "issuer host", "simulated, with the keys of %s (the reader's card is expected to be that simulated card)", card.Source)
	default:
		Field(w, "issuer host", "simulated")
	}
}
