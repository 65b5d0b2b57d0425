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
	term       map[tlv.Tag][]byte // terminal data (amount, TVR, UN, ...)
	data       map[tlv.Tag][]byte // card data from the FCI, GPO and records
	aip        [2]byte
	afl        []byte
	odaRecords []oda.Record // records flagged for ODA
	icc        *oda.ICCKey  // the ICC key when CDA is to be verified
	cdaFailed  bool
	pinBlock   []byte  // the enciphered online PIN block, if captured
	ecLimit    *Amount // 9F77 when read
	ecOffered  bool    // 9F7A = 01 was sent
	ecReason   Reason  // why EC was not offered
	ecDetail   string
	apdus      int
	bytes      int

	// arena holds the bytes the transaction owns (the card's responses,
	// terminal data, DOL data) in a few blocks instead of one allocation
	// per value; see own.
	arena []byte
	// objs and dol are scratch space for parsing templates and DOLs.
	objs []tlv.TLV
	dol  tlv.DOL
	maps *maps // where term and data come from (see release)
}

// Sizes that fit a whole contact purchase without growing.
const (
	arenaBlock = 2048 // bytes of responses and terminal data
	traceCap   = 16   // commands
	objsCap    = 20   // objects of one template

	maxPooledTags = 256 // larger maps are not recycled
)

// maps are the per-transaction data stores, recycled between transactions:
// building them is a good part of a transaction's allocations.
type maps struct {
	term, data map[tlv.Tag][]byte
}

var mapPool = sync.Pool{New: func() any {
	return &maps{term: make(map[tlv.Tag][]byte, 24), data: make(map[tlv.Tag][]byte, 48)}
}}

func (k *Kernel) newTxn(card apdu.Transport, res *Result) *txn {
	now := k.cfg.Now()
	m := mapPool.Get().(*maps)
	t := &txn{
		k:    k,
		card: card,
		res:  res,
		now:  now,
		maps: m,
		term: m.term,
		data: m.data,
	}
	res.TransactionTime = now
	return t
}

// release gives the transaction's maps back for the next transaction. The
// maps are emptied: nothing of this transaction (whose values live in its
// own arena and in the Result) is seen by the next. t must not be used
// afterwards.
func (t *txn) release() {
	m := t.maps
	t.maps, t.term, t.data = nil, nil, nil
	// A map that a hostile card blew up is left to the collector rather
	// than kept (cleared maps keep their size).
	if m == nil || len(m.term) > maxPooledTags || len(m.data) > maxPooledTags {
		return
	}
	clear(m.term)
	clear(m.data)
	mapPool.Put(m)
}

// own copies b into the transaction's arena and returns the copy (nil for
// nil). Values stored in the data maps and the trace live as long as the
// transaction's Result; the arena gives them one allocation per block. A
// full block is never grown in place: a new one is started, so earlier
// copies stay valid and unchanged.
func (t *txn) own(b []byte) []byte {
	if len(b) == 0 {
		return b[:0:0] // nil stays nil, empty stays empty
	}
	r := t.reserve(len(b))
	copy(r, b)
	return r
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
	if t.dol == nil {
		t.dol = make(tlv.DOL, 0, 16)
	}
	d, err := tlv.ParseDOLAppend(t.dol[:0], b)
	if err == nil {
		t.dol = d
	}
	return d, err
}

// parseTemplate parses one level of b into the transaction's scratch
// objects: the result is valid until the next parseTemplate.
func (t *txn) parseTemplate(b []byte) ([]tlv.TLV, error) {
	if t.objs == nil {
		t.objs = make([]tlv.TLV, 0, objsCap)
	}
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

func (tt *txnTransport) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	t := (*txn)(tt)
	start := time.Since(clockBase)
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
	t.bytes += len(rsp)
	if t.res.Trace == nil {
		t.res.Trace = make([]Exchange, 0, traceCap)
	}
	if err == nil && t.bytes > t.k.cfg.MaxResponseBytes {
		t.res.Trace = append(t.res.Trace, Exchange{Command: cmd, Duration: time.Since(clockBase) - start})
		return nil, fmt.Errorf("%w: card sent more than %d bytes", ErrCardData, t.k.cfg.MaxResponseBytes)
	}
	// Own the bytes: a transport may reuse its buffer, and the data
	// store keeps slices of responses for the whole transaction.
	rsp = t.own(rsp)
	t.res.Trace = append(t.res.Trace, Exchange{Command: cmd, Response: rsp, Err: err, Duration: time.Since(clockBase) - start})
	return rsp, err
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

func (e *StatusError) Error() string { return fmt.Sprintf("kernel: %s: %s", e.Command, e.SW) }

// Is makes every StatusError match ErrCardStatus.
func (e *StatusError) Is(target error) bool { return target == ErrCardStatus }

// value looks a tag up: terminal data first, then card data.
func (t *txn) Value(tag tlv.Tag) ([]byte, bool) {
	if v, ok := t.term[tag]; ok {
		return v, true
	}
	v, ok := t.data[tag]
	return v, ok
}

// setTerminalData fills the terminal-sourced data objects for a purchase.
func (t *txn) setTerminalData(amount Amount, txnType byte) error {
	cfg := &t.k.cfg
	un := t.reserve(4)
	if _, err := io.ReadFull(t.k.rand, un); err != nil {
		return fmt.Errorf("kernel: unpredictable number: %w", err)
	}
	t.res.UnpredictableNumber = un
	n12 := t.reserve(6)
	t.term[0x9F02] = amount.appendN12(n12[:0])
	t.term[0x9F03] = t.reserve(6)
	t.term[0x9F1A] = t.own(bcd2(cfg.CountryCode))
	t.term[0x5F2A] = t.own(bcd2(cfg.CurrencyCode))
	t.term[0x5F36] = t.own([]byte{0x02})
	date, clock := bcdDate3(t.now), bcdTime3(t.now)
	t.term[0x9A] = t.own(date[:])
	t.term[0x9F21] = t.own(clock[:])
	t.term[0x9C] = t.own([]byte{txnType})
	t.term[0x9F37] = un
	t.term[0x9F35] = t.own([]byte{cfg.TerminalType})
	t.term[0x9F33] = cfg.Capabilities[:]
	t.term[0x9F40] = cfg.AdditionalCapabilities[:]
	t.term[0x9F4E] = t.ownString(cfg.MerchantName)
	t.term[0x9F1C] = t.ownString(cfg.TerminalID)
	t.term[0x9F16] = t.ownString(cfg.MerchantID)
	t.term[0x9F7A] = t.own([]byte{0x00})
	ifd := cfg.IFDSerial
	if ifd == "" {
		ifd = cfg.TerminalID
	}
	t.term[0x9F1E] = t.ownString(ifd)
	seq := t.k.seq.Add(1) % 100000000
	t.term[0x9F41] = t.own([]byte{bcdByte(int(seq / 1000000)), bcdByte(int(seq / 10000 % 100)), bcdByte(int(seq / 100 % 100)), bcdByte(int(seq % 100))})
	t.term[0x95] = t.res.TVR[:]
	t.term[0x9B] = t.res.TSI[:]
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
