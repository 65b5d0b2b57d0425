// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/apdu"
)

// DefaultAIDs are the purse applications the terminal selects, in order:
// Sinopec's A000000003 ‖ "SINOPEC" [N9; JJ since 2015-09] and the older
// A00000000386980701 of CityUnion, ETC and earlier fuel cards [NF; XH].
func DefaultAIDs() [][]byte {
	return [][]byte{
		append([]byte{0xA0, 0x00, 0x00, 0x00, 0x03}, "SINOPEC"...),
		{0xA0, 0x00, 0x00, 0x00, 0x03, 0x86, 0x98, 0x07, 0x01},
	}
}

// UnlockCounters says which counters DEBIT FOR UNLOCK carries.
type UnlockCounters int

const (
	// UnlockCountersNext sends the grey lock's CTC + 1 and TTC + 1 (the
	// counters the lock left), as the one public source does [JJ]; the
	// GMAC covers the lock's own CTC. Unverified for other cards.
	UnlockCountersNext UnlockCounters = iota
	// UnlockCountersSame sends the grey lock's own CTC and TTC.
	UnlockCountersSame
)

// Config is the purse terminal's configuration. The zero value of each
// field is its default.
type Config struct {
	// AIDs are the applications to select, in order of preference
	// (default DefaultAIDs). A PSE listing one of them is used first.
	AIDs [][]byte
	// Wallet is the wallet loads, purchases and the grey lock use
	// (default EP). Unloads always use the ED, the only wallet PBOC lets
	// be unloaded.
	Wallet Wallet
	// KeyIndex is the key index sent in INITIALIZE commands (default 01).
	KeyIndex byte
	// PINFor lists the kinds that verify the offline PIN first (nil:
	// load, unload and fuel; an empty non-nil slice: none).
	PINFor []Kind
	// PINFormat is how the PIN pad sends the PIN (default PINBCD).
	PINFormat PINFormat
	// GreyLockSAMType is the type code sent to the SAM for a grey lock's
	// MAC1 (default 91, the card's code [JJ]; one PSAM source sends 92
	// [YKT], PURSE-NOTES §2: a conflict).
	GreyLockSAMType TxType
	// UnlockCounters is what DEBIT FOR UNLOCK carries (default
	// UnlockCountersNext).
	UnlockCounters UnlockCounters
	// Now is the clock (default time.Now); its location's wall time goes
	// to the card and SAM.
	Now func() time.Time
	// MaxAPDUs bounds the card commands of one operation (default 64).
	MaxAPDUs int
	// Trace keeps every card command and response in Result.Trace.
	Trace bool
}

// Terminal runs purse operations against cards. One Terminal serves any
// number of cards, but one SAM serves one operation at a time: give each
// pump its own Terminal (and PSAM). Its configuration is fixed at New.
type Terminal struct {
	cfg   Config
	host  Host
	sam   SAM
	store *Store
	pad   PINPad
	busy  chan struct{} // one SAM session at a time
}

// Option adds a collaborator to a Terminal.
type Option func(*Terminal)

// WithHost connects the issuer host (loads, unloads, online unlock).
func WithHost(h Host) Option { return func(t *Terminal) { t.host = h } }

// WithSAM gives the terminal its SAM (purchases; a GreySAM for fuel).
func WithSAM(s SAM) Option { return func(t *Terminal) { t.sam = s } }

// WithStore gives the terminal its durable records. Every operation that
// moves money needs one: without it they end before the card is asked.
func WithStore(s *Store) Option { return func(t *Terminal) { t.store = s } }

// WithPINPad gives the terminal the cardholder's PIN pad.
func WithPINPad(p PINPad) Option { return func(t *Terminal) { t.pad = p } }

// New checks the configuration and builds a Terminal.
func New(cfg Config, opts ...Option) (*Terminal, error) {
	if cfg.AIDs == nil {
		cfg.AIDs = DefaultAIDs()
	}
	for i, a := range cfg.AIDs {
		if len(a) < 5 || len(a) > 16 {
			return nil, fmt.Errorf("%w: AIDs[%d] is %d bytes, want 5 to 16", ErrConfig, i, len(a))
		}
	}
	if cfg.Wallet == 0 {
		cfg.Wallet = EP
	}
	if !cfg.Wallet.valid() {
		return nil, fmt.Errorf("%w: wallet %v", ErrConfig, cfg.Wallet)
	}
	if cfg.KeyIndex == 0 {
		cfg.KeyIndex = 0x01
	}
	if cfg.PINFor == nil {
		cfg.PINFor = []Kind{KindLoad, KindUnload, KindFuel}
	}
	if cfg.GreyLockSAMType == 0 {
		cfg.GreyLockSAMType = TypeGreyLock
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAPDUs <= 0 {
		cfg.MaxAPDUs = 64
	}
	t := &Terminal{cfg: cfg, busy: make(chan struct{}, 1)}
	for _, o := range opts {
		o(t)
	}
	return t, nil
}

// Store returns the terminal's store (nil without one).
func (t *Terminal) Store() *Store { return t.store }

// needsPIN reports whether operations of kind k verify the PIN first.
func (t *Terminal) needsPIN(k Kind) bool {
	for _, x := range t.cfg.PINFor {
		if x == k {
			return true
		}
	}
	return false
}

// txn is one operation on one card: the card seam, what was read from
// the card, the result being built, and the time spent outside.
type txn struct {
	t       *Terminal
	ctx     context.Context
	card    apdu.Transport
	res     *Result
	info    AppInfo
	asnHash string
	now     time.Time
	start   time.Time
	outside time.Duration // in the card, the SAM and the host
	samHeld bool          // this operation holds the SAM (holdSAM)
}

func (t *Terminal) newTxn(ctx context.Context, card apdu.Transport, k Kind) *txn {
	x := &txn{t: t, ctx: ctx, card: apdu.Limit(card, t.cfg.MaxAPDUs, 64<<10), now: t.cfg.Now(), start: time.Now()}
	x.res = &Result{Kind: k, Outcome: OutcomeTerminated, Wallet: t.cfg.Wallet}
	return x
}

// finish closes the result: the time spent in this package and, when err
// is a transport failure, the reason.
func (x *txn) finish(err error) (*Result, error) {
	x.res.KernelTime = time.Since(x.start) - x.outside
	if err != nil && x.res.Reason == "" {
		x.res.Reason, x.res.Detail = reasonOf(err), err.Error()
	}
	return x.res, err
}

// reasonOf classifies an error that ended an operation.
func reasonOf(err error) Reason {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		return ReasonCardRefused
	case errors.Is(err, ErrCardData):
		return ReasonCardData
	case errors.Is(err, ErrSAM):
		return ReasonSAM
	case errors.Is(err, ErrStore):
		return ReasonStore
	case errors.Is(err, ErrNoApplication):
		return ReasonNoApplication
	case errors.Is(err, ErrNoPINPad):
		return ReasonNoPIN
	}
	return ReasonCardRemoved
}

// end sets the result's outcome and reason.
func (x *txn) end(o Outcome, r Reason, detail string, args ...any) {
	x.res.Outcome, x.res.Reason, x.res.Detail = o, r, fmt.Sprintf(detail, args...)
}

// outsideSince adds the time since t0 to the time spent outside.
func (x *txn) outsideSince(t0 time.Time) { x.outside += time.Since(t0) }

// exchange sends c to the card (counting it, tracing it with VERIFY's data
// hidden) and returns the response, whatever its status word.
func (x *txn) exchange(c apdu.Command) (apdu.Response, error) {
	x.res.APDUs++
	t0 := time.Now()
	r, err := apdu.Exchange(x.ctx, x.card, c)
	d := time.Since(t0)
	x.outside += d
	if x.t.cfg.Trace {
		e := Exchange{Command: traceCommand(c), Err: err, Duration: d}
		if err == nil {
			e.Response = r.Bytes()
		}
		x.res.Trace = append(x.res.Trace, e)
	}
	return r, err
}

// traceCommand encodes c for the trace, with the data of VERIFY and of
// PIN change replaced by '*' bytes.
func traceCommand(c apdu.Command) []byte {
	b := c.Bytes()
	if (c.INS == 0x20 || c.INS == 0x5E || c.INS == 0x24) && len(c.Data) > 0 {
		for i := 5; i < 5+len(c.Data) && i < len(b); i++ {
			b[i] = '*'
		}
	}
	return b
}

// do sends c and returns its data; a status other than 9000 is a
// *StatusError.
func (x *txn) do(c apdu.Command) ([]byte, error) {
	r, err := x.exchange(c)
	if err != nil {
		return nil, err
	}
	if !r.SW.OK() {
		return nil, &StatusError{Command: CommandName(c), SW: r.SW}
	}
	return r.Data, nil
}

// swOf returns the status word of a *StatusError in err (0 when none).
func swOf(err error) apdu.SW {
	var se *StatusError
	if errors.As(err, &se) {
		return se.SW
	}
	return 0
}

// transportFailed reports whether err is the card or reader going away
// (not a status word, not bad data): the card's answer is lost.
func transportFailed(err error) bool {
	var se *StatusError
	return err != nil && !errors.As(err, &se) && !errors.Is(err, ErrCardData)
}
