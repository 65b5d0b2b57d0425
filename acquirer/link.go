// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	iso8583errors "github.com/moov-io/iso8583/errors"

	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// Variant is what differs between acquirers speaking the UnionPay POS
// 8583 (ACQUIRER-NOTES §7). The zero value is replaced by the defaults
// noted on each field.
type Variant struct {
	// TPDU is what the terminal sends: 60 ‖ destination ‖ source; the
	// reply must carry it swapped. Default 60 0003 0000.
	TPDU TPDU
	// LooseTPDU accepts a reply whatever its TPDU addresses (the ID byte
	// must still be 60).
	LooseTPDU bool
	// Header is the 6-byte message header; default 60 31 00 31 13 01.
	Header Header
	// Keys is the working-key layout asked for at sign-in: KeysDES (001,
	// the default, as PB), KeysTDES (004, as LY in 3DES mode) or
	// KeysTDESNoTDK (003, as TW in 3DES mode without track encryption).
	Keys KeyMode
	// Field60Max is the longest field 60 accepted: 19 digits (PB, the
	// default) or 17 (AD).
	Field60Max int
	// ReadCapability is 60.4 of a contact transaction: '5' (LY, the
	// default) or '6' (PB sends 6 for sale and balance). Contactless is
	// always '6'.
	ReadCapability byte
	// OfflineUploadInBatch sends offline sales as 0320 (EC upload in
	// batch, LY and TW) instead of 0200 (the default, LY BP KP TW).
	OfflineUploadInBatch bool
	// BatchEnd207Always ends an unbalanced batch with 60.3 207, as PB and
	// TW do, instead of 202 (LY, KP).
	BatchEnd207Always bool
}

func (v Variant) withDefaults() Variant {
	if v.TPDU == (TPDU{}) {
		v.TPDU = TPDU{0x60, 0x00, 0x03, 0x00, 0x00}
	}
	if v.Header == (Header{}) {
		v.Header = Header{0x60, 0x31, 0x00, 0x31, 0x13, 0x01}
	}
	if v.Field60Max == 0 {
		v.Field60Max = 19
	}
	if v.ReadCapability == 0 {
		v.ReadCapability = ReadContact
	}
	return v
}

// Config is what a terminal is told by its acquirer.
type Config struct {
	// Addr is the acquirer's host:port.
	Addr string
	// TerminalID (field 41, 8 characters) and MerchantID (42, 15).
	TerminalID, MerchantID string
	// Currency is field 49; default "156" (CNY).
	Currency string
	// Operator is field 63 of management messages; default "01 ".
	Operator string
	// Timeout bounds the wait for each reply (default 30s); ConnectTimeout
	// each connection attempt (default 10s).
	Timeout, ConnectTimeout time.Duration
	Variant                 Variant
}

func (c Config) withDefaults() (Config, error) {
	if len(c.TerminalID) != 8 || len(c.MerchantID) != 15 {
		return c, fmt.Errorf("%w: terminal ID %q (8 characters) and merchant ID %q (15)", ErrConfig, c.TerminalID, c.MerchantID)
	}
	if c.Addr == "" {
		return c, fmt.Errorf("%w: no acquirer address", ErrConfig)
	}
	if c.Currency == "" {
		c.Currency = "156"
	}
	if c.Operator == "" {
		c.Operator = "01 "
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	c.Variant = c.Variant.withDefaults()
	return c, nil
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("acquirer: invalid configuration")

// Link is a terminal's connection to its acquirer. It implements
// kernel.Host, kernel.Reverser and kernel.ScriptReverser, so
// kernel.WithHost(link) is the whole integration; before every online
// request it sends what is owed, in the order the sources do: script
// advices, the pending reversal, offline uploads (see the package
// documentation). One exchange is on the wire at a time, as on a POS. Create
// it with Open.
type Link struct {
	cfg      Config
	sec      SecurityModule
	st       *State
	spec     *iso8583.MessageSpec
	codec    *codec
	clearing Clearing
	evidence Evidence
	counter  Counter
	logger   *slog.Logger
	now      func() time.Time

	mu       sync.Mutex // one exchange at a time
	conn     *connection.Connection
	timeouts int // consecutive replies missed on conn
	signedIn bool
	require  int // last processing requirement the acquirer sent
	byReq    map[*kernel.AuthRequest]string
	closed   bool
	ignored  atomic.Int64 // replies nobody waited for
}

var (
	_ kernel.Host           = (*Link)(nil)
	_ kernel.Reverser       = (*Link)(nil)
	_ kernel.ScriptReverser = (*Link)(nil)
)

// Option configures a Link.
type Option func(*Link)

// WithClearing sets where the link finds the sales to upload and records
// the acquirer's acknowledgements (the journal).
func WithClearing(c Clearing) Option { return func(l *Link) { l.clearing = c } }

// WithEvidence sets what the link asks, after a crash, whether an approved
// request was completed by the card (the journal holds its record).
func WithEvidence(e Evidence) Option { return func(l *Link) { l.evidence = e } }

// WithLogger logs each message sent and received (type, trace number,
// response code, masked PAN; never a PIN block, key, track or full PAN).
func WithLogger(lg *slog.Logger) Option { return func(l *Link) { l.logger = lg } }

// WithClock sets the clock for fields 12 and 13 and the state's records.
func WithClock(now func() time.Time) Option { return func(l *Link) { l.now = now } }

// Open prepares a link: it checks cfg, replays the state and settles what a
// crash left open (see Recover). It does not connect; the first exchange
// does, and signs in when it has not.
func Open(ctx context.Context, cfg Config, sec SecurityModule, st *State, opts ...Option) (*Link, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if sec == nil || st == nil {
		return nil, fmt.Errorf("%w: a SecurityModule and a State are required", ErrConfig)
	}
	l := &Link{cfg: cfg, sec: sec, st: st, spec: newSpec(cfg.Variant.Field60Max), now: time.Now,
		byReq: make(map[*kernel.AuthRequest]string)}
	for _, o := range opts {
		o(l)
	}
	if l.counter == nil {
		l.counter = stateCounter{st}
	}
	l.codec = newCodec(l.spec, cfg.Variant.TPDU, cfg.Variant.TPDU.Swapped(), cfg.Variant.Header, !cfg.Variant.LooseTPDU,
		func(*iso8583.Message) (macFunc, error) { return backgroundMAC(sec), nil })
	if err := l.recover(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Close settles the approvals the kernel has finished with (as the next
// request would: call it once the last transaction has returned), signs
// nothing off (SignOff does) and closes the connection; the State stays
// open for its owner to close.
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.dropConn()
	var errs []error
	for _, id := range l.finished() {
		errs = append(errs, l.st.append(context.Background(), event{T: evStood, ID: id}))
	}
	return errors.Join(errs...)
}

// dropConn closes the connection, if any. The caller holds l.mu.
func (l *Link) dropConn() {
	if l.conn != nil {
		_ = l.conn.Close()
		l.conn = nil
	}
	l.timeouts = 0
}

// connect makes sure a live connection exists. A failure means nothing was
// sent (ErrUnreachable). The caller holds l.mu.
func (l *Link) connect(ctx context.Context) error {
	if l.closed {
		return ErrClosed
	}
	if l.conn != nil {
		select {
		case <-l.conn.Done():
			l.conn = nil // the acquirer hung up while we were idle: dial again (the keys stay)
		default:
			return nil
		}
	}
	timeout := l.cfg.ConnectTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	c, err := connection.New(l.cfg.Addr, l.spec, nil, nil,
		connection.SetMessageReader(l.codec), connection.SetMessageWriter(l.codec),
		connection.SetRequestIDGenerator(requestID{}),
		connection.ConnectTimeout(timeout), connection.SendTimeout(l.cfg.Timeout),
		connection.IdleTime(24*time.Hour), connection.ReadTimeout(24*time.Hour),
		connection.InboundMessageHandler(l.unsolicited))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if err := c.ConnectCtx(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	l.conn, l.timeouts = c, 0
	return nil
}

// unsolicited receives what nobody waits for: a late reply, a duplicate, a
// reply for another trace number. It is never acted on.
func (l *Link) unsolicited(_ *connection.Connection, msg *iso8583.Message) {
	l.codec.take(msg)
	mti, _ := msg.GetMTI()
	stan, _ := msg.GetString(fSTAN)
	l.log("ignored a message nobody waited for", "mti", mti, "stan", stan)
	l.ignored.Add(1)
}

// exchange sends msg and waits for its reply. ErrUnreachable means msg was
// not sent; ErrNoReply that it may have been; a returned reply comes with
// what the codec learnt of its frame (header, MAC). A message that never
// left the process (the connection was already gone) is sent once more on
// a new connection. The caller holds l.mu.
func (l *Link) exchange(ctx context.Context, msg *iso8583.Message) (*iso8583.Message, FrameInfo, error) {
	mti, _ := msg.GetMTI()
	stan, _ := msg.GetString(fSTAN)
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if err = l.connect(ctx); err != nil {
			return nil, FrameInfo{}, err
		}
		l.log("send", "mti", mti, "stan", stan)
		var reply *iso8583.Message
		reply, err = l.send(ctx, msg)
		if err == nil {
			return l.received(reply, stan)
		}
		var pe *iso8583errors.PackError
		if errors.As(err, &pe) {
			return nil, FrameInfo{}, fmt.Errorf("%w: %w", ErrMessage, err) // never written
		}
		if l.codec.wasAttempted(msg) || ctx.Err() != nil {
			break
		}
		l.dropConn() // it never left: the connection was dead; dial again
		err = fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if errors.Is(err, ErrUnreachable) {
		return nil, FrameInfo{}, err
	}
	l.timeouts++
	if errors.Is(err, connection.ErrConnectionClosed) || l.timeouts >= 2 {
		l.dropConn()
	}
	return nil, FrameInfo{}, fmt.Errorf("%w: %s %s: %w", ErrNoReply, mti, stan, err)
}

// confirmed exchanges msg and returns its reply only when it is evidence:
// MAC-verified when mac is set, and fitting the request. The caller holds
// l.mu.
func (l *Link) confirmed(ctx context.Context, msg *iso8583.Message, mac bool) (*iso8583.Message, error) {
	reply, in, err := l.exchange(ctx, msg)
	if err != nil {
		return nil, err
	}
	if mac && in.MAC != MACValid {
		return nil, ErrBadMAC
	}
	if err := fits(msg, reply); err != nil {
		return nil, err
	}
	return reply, nil
}

// send sends msg on the connection and waits for the reply, the timeout
// or ctx.
func (l *Link) send(ctx context.Context, msg *iso8583.Message) (*iso8583.Message, error) {
	timeout := l.cfg.Timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	type result struct {
		reply *iso8583.Message
		err   error
	}
	done := make(chan result, 1)
	conn := l.conn
	go func() {
		r, err := conn.Send(msg, connection.SendTimeout(timeout))
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		return r.reply, r.err
	case <-ctx.Done():
		return nil, ctx.Err() // the request may be on the wire
	}
}

// received takes what the codec learnt of a reply and acts on its header.
func (l *Link) received(reply *iso8583.Message, stan string) (*iso8583.Message, FrameInfo, error) {
	l.timeouts = 0
	in, _ := l.codec.take(reply)
	if in.Header.Requirement() != RequireNothing {
		l.require = in.Header.Requirement()
		if l.require == RequireSignIn {
			l.signedIn = false
		}
	}
	rmti, _ := reply.GetMTI()
	code, _ := reply.GetString(fResponseCode)
	l.log("received", "mti", rmti, "stan", stan, "code", code, "mac", in.MAC == MACValid)
	return reply, in, nil
}

// log writes a debug line when a logger is set.
func (l *Link) log(msg string, args ...any) {
	if l.logger != nil {
		l.logger.Debug("acquirer: "+msg, args...)
	}
}

// requestID matches a reply to its request by the reply's MTI and the trace
// number: a 0210 for trace 000123 never answers a 0400 for 000123.
type requestID struct{}

// GenerateRequestID names the reply a message waits for, or is:
// reply MTI ":" trace number (iso8583-connection's RequestIDGenerator).
func (requestID) GenerateRequestID(msg *iso8583.Message) (string, error) {
	mti, err := msg.GetMTI()
	if err != nil || len(mti) != 4 {
		return "", fmt.Errorf("%w: MTI %q", ErrMessage, mti)
	}
	stan, err := msg.GetString(fSTAN)
	if err != nil || stan == "" {
		return "", fmt.Errorf("%w: no trace number", ErrMessage)
	}
	if (mti[2]-'0')%2 == 0 { // a request: name the reply it waits for
		mti = replyMTI(mti)
	}
	return mti + ":" + stan, nil
}

// replyMTI is the MTI of the reply to a request MTI (0200 → 0210).
func replyMTI(mti string) string {
	return mti[:2] + string(mti[2]+1) + mti[3:]
}

// Requirement returns the processing requirement of the last reply header
// that carried one (RequireCAKeyDownload, ...), and forgets it.
func (l *Link) Requirement() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.require
	l.require = RequireNothing
	return r
}

// Status is what the link owes and has done, for the operator and tests.
type Status struct {
	Batch    uint32
	SignedIn bool
	// Txns lists the financial requests still open and those of the
	// current batch, oldest first (a settled batch's finished requests are
	// compacted away).
	Txns []Txn
	// Reversals are the requests whose reversal is owed, oldest first.
	Reversals []Txn
	// Advices are the requests whose script advice is owed.
	Advices []Txn
	// Unresolved are approved loads and top-ups whose completion a crash
	// hid: kept for the issuer.
	Unresolved []Txn
	// Ignored counts replies that arrived when nobody waited (late,
	// duplicate, for another trace number).
	Ignored int
}

// Status returns the link's state.
func (l *Link) Status() Status {
	l.mu.Lock()
	batch, _ := l.counter.OpenBatch(context.Background())
	s := Status{Batch: batch, SignedIn: l.signedIn, Ignored: int(l.ignored.Load())}
	l.mu.Unlock()
	s.Txns = l.st.snapshot()
	for _, t := range s.Txns {
		switch {
		case t.State == TxnReversalPending:
			s.Reversals = append(s.Reversals, t)
		case t.State == TxnUnresolved:
			s.Unresolved = append(s.Unresolved, t)
		}
		if t.AdviceOwed {
			s.Advices = append(s.Advices, t)
		}
	}
	return s
}

// maskPAN masks a PAN for logs and state.
func maskPAN(pan string) string { return tlv.MaskPAN(pan) }
