// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/tlv"
)

// txn is the state of one transaction. It is never shared between
// goroutines; the Kernel hands each transaction its own.
type txn struct {
	k          *Kernel
	card       apdu.Transport
	res        *Result
	now        time.Time
	app        *Application // the terminal's entry for the selected application
	aid        []byte       // the card's DF name of the selected application
	fci        []byte
	term       tagTable // terminal data (amount, TVR, UN, ...)
	data       tagTable // card data from the FCI, GPO and records
	aip        [2]byte
	afl        []byte
	odaRecords []oda.Record // records flagged for ODA
	icc        *oda.ICCKey  // the ICC key when CDA is to be verified
	cdaFailed  bool
	pinBlock   []byte  // the enciphered online PIN block, if captured
	ecLimit    *Amount // 9F77 (or DF77) when read
	ec         ecTags  // the EC data of the sale's currency
	ecOffered  bool    // 9F7A = 01 was sent
	ecReason   Reason  // why EC was not offered
	ecDetail   string
	// scriptsDue are this card's torn scripts, settled from the first
	// cryptogram of this presentation (settleScripts); secondAC says the
	// last GENERATE AC was the second; balanceScript that an issuer script
	// command changing card data (PUT DATA) was transmitted in template 71
	// ([0]) or 72 ([1]) of this transaction.
	scriptsDue    []TornRecord
	forgetDue     []Settlement // absent from the log, forgotten once CDA verifies
	secondAC      bool
	balanceScript [2]bool
	cdaVerified   bool // a CDA signature on a cryptogram of this presentation verified
	cvm           cvmState
	apdus         int
	bytes         int
	inCard        time.Duration // time spent in the card's round trips

	// arena holds the bytes the transaction owns (the card's responses,
	// terminal data, DOL data) in a few blocks instead of one allocation
	// per value; see own. Nothing in it may outlive the transaction: its
	// last block is reused by the next one (see release), so what the
	// caller keeps is copied out with keep.
	arena []byte
	// kept holds the bytes that the caller keeps (Result fields); see keep.
	kept []byte
	// keyBuf holds the CA public key of the transaction (see issuerKey).
	keyBuf []byte
	// cmdBuf holds the command being sent (see TransmitCommand).
	cmdBuf []byte
	// objs and dol are scratch space for parsing templates and DOLs.
	objs []tlv.TLV
	dol  tlv.DOL
}

// Sizes that fit a whole contact purchase without growing.
const (
	arenaBlock = 2048 // bytes of responses and terminal data
	keptBlock  = 256  // bytes of a Result: AID, cryptogram, IAD, UN, field 55
	traceCap   = 16   // commands
	objsCap    = 20   // objects of one template
	dolCap     = 16   // entries of one DOL

	maxPooledTags = 256 // larger maps are not recycled
	maxPooledTxns = 64  // transactions kept for reuse per Kernel
)

// txnPool recycles a Kernel's transactions: their data maps, scratch
// space and arena block are most of what a transaction would otherwise
// allocate, and on a controller serving many pumps the garbage
// collector's share of the work grows with every byte allocated. Unlike a
// sync.Pool it belongs to one Kernel and is never emptied behind its back,
// so a Kernel's first transaction always starts from fresh memory and the
// rest from recycled memory, whatever the collector does (which keeps the
// fuzzer's coverage reproducible). The zero value is an empty pool.
type txnPool struct {
	mu   sync.Mutex
	free []*txn
}

func (p *txnPool) get() *txn {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		t := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return t
	}
	p.mu.Unlock()
	return &txn{
		term: newTagTable(40),
		data: newTagTable(64),
		objs: make([]tlv.TLV, 0, objsCap),
		dol:  make(tlv.DOL, 0, dolCap),
	}
}

func (p *txnPool) put(t *txn) {
	p.mu.Lock()
	if len(p.free) < maxPooledTxns {
		p.free = append(p.free, t)
	}
	p.mu.Unlock()
}

func (k *Kernel) newTxn(card apdu.Transport, res *Result) *txn {
	t := k.pool.get()
	t.k, t.card, t.res, t.now = k, card, res, k.cfg.Now()
	t.ec = firstCurrencyEC
	res.TransactionTime = t.now
	return t
}

// release ends the transaction and gives its maps, scratch space and
// arena block to the next one. They are emptied first (the arena is
// zeroed): nothing of this transaction is seen by the next. What the
// caller keeps was copied out of the arena by keep, except the trace,
// whose responses live in the arena: with Config.Trace the arena goes
// with the Result. t must not be used afterwards.
func (t *txn) release() {
	// A tag table or scratch slice that a hostile card blew up is left to
	// the collector rather than kept (a reset table keeps its size).
	if t.term.len() > maxPooledTags || t.data.len() > maxPooledTags || cap(t.objs) > 4*objsCap || cap(t.dol) > 4*dolCap || cap(t.keyBuf) > 1024 {
		return
	}
	arena := t.arena
	if t.k.cfg.Trace || cap(arena) != arenaBlock {
		arena = nil
	} else {
		clear(arena)
		arena = arena[:0]
	}
	t.term.reset()
	t.data.reset()
	// The scratch slices point into the arena: clear them so that the
	// pool does not keep old blocks alive.
	clear(t.objs[:cap(t.objs)])
	clear(t.dol[:cap(t.dol)])
	k := t.k
	*t = txn{term: t.term, data: t.data, objs: t.objs[:0], dol: t.dol[:0], arena: arena, keyBuf: t.keyBuf[:0], cmdBuf: t.cmdBuf[:0]}
	k.pool.put(t)
}

// own copies b into the transaction's arena and returns the copy (nil for
// nil). Values stored in the data maps live as long as the transaction;
// the arena gives them one allocation per block. A full block is never
// grown in place: a new one is started, so earlier copies stay valid and
// unchanged.
func (t *txn) own(b []byte) []byte {
	if len(b) == 0 {
		return b[:0:0] // nil stays nil, empty stays empty
	}
	r := t.reserve(len(b))
	copy(r, b)
	return r
}

// keep copies b for the caller: a Result, Balance or callback argument
// that outlives the transaction must not point into the arena, which the
// next transaction reuses. The copies share small blocks of their own
// (nil for nil).
func (t *txn) keep(b []byte) []byte {
	if len(b) == 0 {
		return b[:0:0]
	}
	r := t.keepSpace(len(b))[:len(b)]
	copy(r, b)
	return r
}

// keepSpace returns an empty slice with capacity n for the caller to
// append a kept value to (capped: appending beyond n allocates).
func (t *txn) keepSpace(n int) []byte {
	if cap(t.kept)-len(t.kept) < n {
		t.kept = make([]byte, 0, max(keptBlock, n))
	}
	s := len(t.kept)
	t.kept = t.kept[:s+n]
	return t.kept[s : s : s+n]
}

// ownString is own for a string.
func (t *txn) ownString(s string) []byte {
	r := t.reserve(len(s))
	copy(r, s)
	return r
}

// reserve returns n zero bytes of the arena (capacity n, so that appending
// to the result never touches its neighbours).
func (t *txn) reserve(n int) []byte {
	if cap(t.arena)-len(t.arena) < n || t.arena == nil {
		t.arena = make([]byte, 0, max(arenaBlock, n))
	}
	s := len(t.arena)
	t.arena = t.arena[:s+n]
	return t.arena[s : s+n : s+n]
}

// parseDOL parses a DOL into the transaction's scratch DOL: the result is
// valid until the next parseDOL.
func (t *txn) parseDOL(b []byte) (tlv.DOL, error) {
	d, err := tlv.ParseDOLAppend(t.dol[:0], b)
	if err == nil {
		t.dol = d
	}
	return d, err
}

// parseTemplate parses one level of b into the transaction's scratch
// objects: the result is valid until the next parseTemplate.
func (t *txn) parseTemplate(b []byte) ([]tlv.TLV, error) {
	objs, err := tlv.ParseAppend(t.objs[:0], b)
	if err != nil {
		return nil, err
	}
	t.objs = objs
	return objs, nil
}

// buildDOL builds the DOL-related data into the arena.
func (t *txn) buildDOL(d tlv.DOL) []byte {
	return d.Build(t.reserve(d.Len())[:0], t)
}

// exchange sends one command, records it in the trace and enforces the
// per-transaction budgets.
func (t *txn) exchange(ctx context.Context, c apdu.Command) (apdu.Response, error) {
	if t.apdus >= t.k.cfg.MaxAPDUs {
		return apdu.Response{}, fmt.Errorf("%w: more than %d commands", ErrCardData, t.k.cfg.MaxAPDUs)
	}
	r, err := apdu.Exchange(ctx, (*txnTransport)(t), c)
	t.res.APDUs = t.apdus
	return r, err
}

// txnTransport is the transaction as the Transport that apdu.Exchange
// drives (GET RESPONSE included): it counts and traces every command and
// owns every response. A conversion, not a closure: it costs no allocation.
type txnTransport txn

// clockBase is the reference the trace's durations are measured from:
// time.Since on it reads only the monotonic clock, half of what time.Now
// reads.
var clockBase = time.Now()

// TransmitCommand encodes the command into the transaction's command
// buffer (a new slice when the trace keeps it) and transmits it.
func (tt *txnTransport) TransmitCommand(ctx context.Context, c apdu.Command) ([]byte, error) {
	t := (*txn)(tt)
	if t.k.cfg.Trace {
		return tt.Transmit(ctx, c.Bytes())
	}
	t.cmdBuf = c.AppendTo(t.cmdBuf[:0])
	return tt.Transmit(ctx, t.cmdBuf)
}

func (tt *txnTransport) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	t := (*txn)(tt)
	// The clock is read only for what needs it: the trace's durations and
	// a tap's KernelTime (the card's round trips subtracted).
	timed := t.k.cfg.Trace || t.res.Contactless
	var start time.Duration
	if timed {
		start = time.Since(clockBase)
	}
	t.apdus++
	if t.apdus > t.k.cfg.MaxAPDUs {
		return nil, fmt.Errorf("%w: more than %d commands", ErrCardData, t.k.cfg.MaxAPDUs)
	}
	actx := ctx
	if d := t.k.cfg.APDUTimeout; d > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	rsp, err := t.card.Transmit(actx, cmd)
	var took time.Duration
	if timed {
		took = time.Since(clockBase) - start
		t.inCard += took
	}
	t.bytes += len(rsp)
	if err == nil && t.bytes > t.k.cfg.MaxResponseBytes {
		t.trace(Exchange{Command: cmd, Duration: took})
		return nil, fmt.Errorf("%w: card sent more than %d bytes", ErrCardData, t.k.cfg.MaxResponseBytes)
	}
	// Own the bytes: a transport may reuse its buffer, and the data
	// store keeps slices of responses for the whole transaction.
	rsp = t.own(rsp)
	t.trace(Exchange{Command: cmd, Response: rsp, Err: err, Duration: took})
	return rsp, err
}

// trace appends e to Result.Trace when the configuration asks for a trace.
// A VERIFY (or CHANGE PIN) is kept with its data zeroed: it carried a PIN
// block.
func (t *txn) trace(e Exchange) {
	if !t.k.cfg.Trace {
		return
	}
	if c := e.Command; len(c) > 5 && (c[1] == 0x20 || c[1] == 0x24) {
		e.Command = append(make([]byte, 0, len(c)), c[:5]...)
		e.Command = append(e.Command, make([]byte, len(c)-5)...)
		clear(c[5:])
	}
	if t.res.Trace == nil {
		t.res.Trace = make([]Exchange, 0, traceCap)
	}
	t.res.Trace = append(t.res.Trace, e)
}

// mustOK sends a command and requires 9000.
func (t *txn) mustOK(ctx context.Context, c apdu.Command) ([]byte, error) {
	r, err := t.exchange(ctx, c)
	if err != nil {
		return nil, err
	}
	if r.SW != apdu.SWSuccess {
		return nil, &StatusError{Command: c.Name(), SW: r.SW}
	}
	return r.Data, nil
}

// StatusError is a status word that ended a step.
type StatusError struct {
	Command string
	SW      apdu.SW
}

// Error reads "kernel: COMMAND: SW".
func (e *StatusError) Error() string { return fmt.Sprintf("kernel: %s: %s", e.Command, e.SW) }

// Is makes every StatusError match ErrCardStatus.
func (e *StatusError) Is(target error) bool { return target == ErrCardStatus }

// value looks a tag up: terminal data first, then card data.
func (t *txn) Value(tag tlv.Tag) ([]byte, bool) {
	if v, ok := t.term.get(tag); ok {
		return v, true
	}
	v, ok := t.data.get(tag)
	return v, ok
}

// setTerminalData fills the terminal-sourced data objects for a purchase.
func (t *txn) setTerminalData(amount Amount, txnType byte) error {
	cfg := &t.k.cfg
	un := t.reserve(4)
	if _, err := io.ReadFull(t.k.rand, un); err != nil {
		return fmt.Errorf("kernel: unpredictable number: %w", err)
	}
	t.res.UnpredictableNumber = t.keep(un)
	n12 := t.reserve(6)
	t.term.set(0x9F02, amount.appendN12(n12[:0]))
	t.term.set(0x9F03, t.reserve(6))
	t.term.set(0x9F1A, t.own(bcd2(cfg.CountryCode)))
	t.term.set(0x5F2A, t.own(bcd2(cfg.CurrencyCode)))
	t.term.set(0x5F36, t.own([]byte{0x02}))
	date, clock := bcdDate3(t.now), bcdTime3(t.now)
	t.term.set(0x9A, t.own(date[:]))
	t.term.set(0x9F21, t.own(clock[:]))
	t.term.set(0x9C, t.own([]byte{txnType}))
	t.term.set(0x9F37, un)
	t.term.set(0x9F35, t.own([]byte{cfg.TerminalType}))
	t.term.set(0x9F33, cfg.Capabilities[:])
	t.term.set(0x9F40, cfg.AdditionalCapabilities[:])
	t.term.set(0x9F4E, t.ownString(cfg.MerchantName))
	t.term.set(0x9F1C, t.ownString(cfg.TerminalID))
	t.term.set(0x9F16, t.ownString(cfg.MerchantID))
	t.term.set(0x9F7A, t.own([]byte{0x00}))
	// PBOC 3.0 SM algorithm support indicator; a PDOL tag the terminal
	// does not know stays zeros (the DOL rules).
	t.term.set(0xDF69, t.own([]byte{0x00}))
	if cfg.SM {
		t.term.val(0xDF69)[0] = 0x01
	}
	ifd := cfg.IFDSerial
	if ifd == "" {
		ifd = cfg.TerminalID
	}
	t.term.set(0x9F1E, t.ownString(ifd))
	seq := t.k.seq.Add(1) % 100000000
	t.term.set(0x9F41, t.own([]byte{bcdByte(int(seq / 1000000)), bcdByte(int(seq / 10000 % 100)), bcdByte(int(seq / 100 % 100)), bcdByte(int(seq % 100))}))
	t.term.set(0x95, t.res.TVR[:])
	t.term.set(0x9B, t.res.TSI[:])
	return nil
}

func bcd2(v uint16) []byte { return []byte{byte(v / 100 % 10), byte(v/10%10<<4 | v%10)} }

func bcdByte(v int) byte { return byte(v/10%10<<4 | v%10) }

// bcdDate3 is YYMMDD in BCD (9A), in an array that need not be allocated.
func bcdDate3(t time.Time) [3]byte {
	y, m, d := t.Date()
	return [3]byte{bcdByte(y % 100), bcdByte(int(m)), bcdByte(d)}
}

// bcdTime3 is HHMMSS in BCD (9F21).
func bcdTime3(t time.Time) [3]byte {
	h, m, s := t.Clock()
	return [3]byte{bcdByte(h), bcdByte(m), bcdByte(s)}
}

// classify turns an error into the result's outcome and reason.
func (t *txn) fail(err error) (*Result, error) {
	r := t.res
	r.Outcome = OutcomeTerminated
	switch {
	case errors.Is(err, ErrNoApplication):
		r.Reason = ReasonNoApplication
	case errors.Is(err, ErrCancelled), errors.Is(err, context.Canceled):
		r.Reason = ReasonCancelled
	case errors.Is(err, ErrCardData), errors.Is(err, ErrCardStatus), errors.Is(err, apdu.ErrShortResponse):
		r.Reason = ReasonCardError
	default:
		r.Reason = ReasonTransport
	}
	r.Detail = err.Error()
	return r, err
}
