// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/journal"
)

// Kernel runs transactions for one terminal configuration. It is safe for
// concurrent use: each call keeps its state in its own value.
type Kernel struct {
	cfg        Config
	capk       *capk.Store
	exceptions map[string]struct{}
	selector   Selector
	host       Host
	pinPad     PINPad
	offlinePad OfflinePINPad
	idVerifier CardholderIDVerifier
	torn       TornLog
	journal    journal.Journal
	counter    Counter         // STAN and batch numbers (clearing.go)
	dataKey    journal.DataKey // encrypts the PAN in journal records (clearing.go)
	panKey     []byte
	rand       io.Reader     // unpredictable numbers; crypto/rand unless set
	seq        atomic.Uint64 // transaction sequence counter (9F41)
	logger     *slog.Logger
	pool       txnPool // recycled transactions (see release)
	taps       recentTaps
	issuers    issuerCache // opened issuer certificates (see issuercache.go)
}

// Option configures a Kernel.
type Option func(*Kernel)

// WithSelector sets the cardholder-choice callback used when more than one
// application matches (or the one that matches asks for confirmation).
func WithSelector(s Selector) Option { return func(k *Kernel) { k.selector = s } }

// WithHost sets the online host (acquirer/issuer link). Without a host
// every sale that needs online authorisation ends as OutcomeOnlineRequired
// or by the default action codes.
func WithHost(h Host) Option { return func(k *Kernel) { k.host = h } }

// WithPINPad sets the PIN pad used for online PIN entry.
func WithPINPad(p PINPad) Option { return func(k *Kernel) { k.pinPad = p } }

// WithTornLog keeps torn sales (the card went away after GENERATE AC) so
// that the next presentation of the same card settles them.
func WithTornLog(l TornLog) Option { return func(k *Kernel) { k.torn = l } }

// WithRandom sets the source of unpredictable numbers (9F37). The default
// is crypto/rand; a deterministic reader is for tests and benchmarks only.
func WithRandom(r io.Reader) Option { return func(k *Kernel) { k.rand = r } }

// WithLogger sets the logger for transaction events. PANs are masked.
func WithLogger(l *slog.Logger) Option { return func(k *Kernel) { k.logger = l } }

// New checks the configuration and returns a Kernel.
func New(cfg Config, opts ...Option) (*Kernel, error) {
	cfg.Applications = append([]Application(nil), cfg.Applications...)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	k := &Kernel{cfg: cfg, logger: slog.New(slog.DiscardHandler)}
	k.exceptions = make(map[string]struct{}, len(cfg.ExceptionFile))
	for _, pan := range cfg.ExceptionFile {
		k.exceptions[pan] = struct{}{}
	}
	k.rand = rand.Reader
	k.panKey = cfg.PANHashKey
	if len(k.panKey) == 0 {
		k.panKey = make([]byte, 32)
		if _, err := rand.Read(k.panKey); err != nil {
			return nil, fmt.Errorf("kernel: PAN hash key: %w", err)
		}
	}
	k.capk = cfg.CAPK
	if k.capk == nil {
		k.capk = capk.Builtin()
	}
	for _, o := range opts {
		o(k)
	}
	// The terminal claims the CVMs it was given the means for.
	k.cfg.Capabilities[1] = cvmCapabilities(k.cfg.Capabilities[1], k.offlinePad != nil, k.idVerifier != nil)
	if _, ok := k.torn.(interface{ durable() }); ok && len(cfg.PANHashKey) == 0 {
		// A durable torn log outlives the process; its records must match
		// the card after a restart.
		return nil, fmt.Errorf("%w: a durable torn log needs Config.PANHashKey (a secret kept across restarts)", ErrConfig)
	}
	return k, nil
}

// Config returns a copy of the kernel's configuration.
func (k *Kernel) Config() Config { return k.cfg }

// Candidate is an application that both the card and the terminal support.
type Candidate struct {
	// AID is the card's DF name (ADF name) for the application.
	AID []byte
	// Label is the application label (50) and PreferredName 9F12.
	Label, PreferredName string
	// Priority is the application priority indicator (87) low nibble: 1 is
	// the highest, 0 means none.
	Priority int
	// ConfirmationRequired is bit 8 of 87: the cardholder must confirm.
	ConfirmationRequired bool
}

// Selector lets the cardholder choose among candidates. Choose returns the
// index of the chosen candidate (in the order given, which is by priority),
// or an error (wrapping ErrCancelled to cancel).
type Selector interface {
	Choose(ctx context.Context, candidates []Candidate) (int, error)
}

// SelectorFunc adapts a function to the Selector interface.
type SelectorFunc func(ctx context.Context, candidates []Candidate) (int, error)

// Choose calls f.
func (f SelectorFunc) Choose(ctx context.Context, c []Candidate) (int, error) { return f(ctx, c) }

func (k *Kernel) onExceptionFile(pan string) bool {
	_, ok := k.exceptions[pan]
	return ok
}
