// SPDX-License-Identifier: Apache-2.0

package acquirersim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/purse"
)

// Config configures a Sim.
type Config struct {
	// Host is the issuer behind the acquirer; it keeps the accounts.
	Host *hostsim.Host
	// Reserve is the issuer of fuel cards behind the acquirer
	// (hostsim.Reserve: the reserve accounts, the escape bills, the
	// real MACs): purse loads, unloads, online unlocks and their
	// confirmations go to it. Without one they are answered "40"
	// (function not supported).
	Reserve purse.Host
	// TMK is the terminal master key every terminal shares with the
	// acquirer (injected at the factory). 8 or 16 bytes.
	TMK []byte
	// IssuerPINKey is the key the issuer deciphers PIN blocks with (the
	// Host's, hostsim.WithPINKey): the acquirer translates each PIN block
	// from the terminal's PIK to it. Default hostsim.DefaultPINKey().
	IssuerPINKey []byte
	// Variant is the dialect spoken; Keys is the key mode signed in with
	// when a terminal asks for another.
	Variant acquirer.Variant
	// AcquirerID is field 32 of replies; default "48020000".
	AcquirerID string
	// Batch is the batch number a terminal's first sign-in gets; default 1.
	Batch uint32
	// CAKeys and ICParams are the CA public key and IC parameter (AID)
	// records the downloads serve, TLV each.
	CAKeys, ICParams [][]byte
	// Page is how many entries one query reply lists; default 4.
	Page int
}

// Sim is a loopback acquirer. Create it with New, then Start it.
type Sim struct {
	cfg   Config
	spec  *iso8583.MessageSpec
	codec *acquirer.Codec

	srvMu sync.Mutex
	srv   *server.Server
	addr  string

	mu        sync.Mutex
	terminals map[string]*terminal
	auths     map[authKey]*auth
	uploads   map[uploadKey]*Upload
	received  []Received
	faults    []Fault
	batches   []Batch
	rrn       uint32
}

// terminal is what the acquirer knows of one terminal ID.
type terminal struct {
	mak, pik    []byte
	batch       uint32
	totals      map[uint32]*journal.Totals // by batch
	settlements map[uint32]settlement
	tcUploads   int // in the open batch
	requirement int // processing requirement for the next reply
}

// New returns a stopped simulator.
func New(cfg Config) (*Sim, error) {
	if cfg.Host == nil {
		return nil, errors.New("acquirersim: no issuer host")
	}
	if l := len(cfg.TMK); l != 8 && l != 16 {
		return nil, fmt.Errorf("acquirersim: TMK of %d bytes", l)
	}
	if cfg.IssuerPINKey == nil {
		cfg.IssuerPINKey = hostsim.DefaultPINKey()
	}
	if cfg.AcquirerID == "" {
		cfg.AcquirerID = "48020000"
	}
	if cfg.Batch == 0 {
		cfg.Batch = 1
	}
	if cfg.Page <= 0 {
		cfg.Page = 4
	}
	s := &Sim{cfg: cfg, spec: acquirer.Spec(cfg.Variant), terminals: make(map[string]*terminal),
		auths: make(map[authKey]*auth), uploads: make(map[uploadKey]*Upload)}
	s.codec = acquirer.NewAcquirerCodec(cfg.Variant, s.mak)
	return s, nil
}

// mak returns the MAK in force for a terminal (the codec's lookup).
func (s *Sim) mak(tid string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.terminals[tid]; ok {
		return t.mak
	}
	return nil
}

// Start listens on addr ("127.0.0.1:0" picks a port; see Addr).
func (s *Sim) Start(addr string) error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		return errors.New("acquirersim: already started")
	}
	srv := server.New(s.spec, nil, nil)
	if err := srv.SetOptions(server.WithConnectionFactory(s.newConn)); err != nil {
		return err
	}
	if err := srv.Start(addr); err != nil {
		return fmt.Errorf("acquirersim: listen %s: %w", addr, err)
	}
	s.srv, s.addr = srv, srv.Addr
	return nil
}

// newConn wraps an accepted connection with the acquirer's codec.
func (s *Sim) newConn(c net.Conn) (*connection.Connection, error) {
	return connection.NewFrom(c, s.spec, nil, nil,
		connection.SetMessageReader(s.codec), connection.SetMessageWriter(s.codec),
		connection.IdleTime(24*time.Hour), connection.ReadTimeout(24*time.Hour),
		connection.InboundMessageHandler(s.handle))
}

// Addr is the address the simulator listens on (host:port).
func (s *Sim) Addr() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.addr
}

// Listening reports whether the simulator accepts connections.
func (s *Sim) Listening() bool {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.srv != nil
}

// Close stops listening and drops every connection; the accounts, batches
// and records stay, so Start (or Restart) picks up where it stopped.
func (s *Sim) Close() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// Restart is an acquirer restart: every connection is dropped and the
// simulator listens again on the same address, with everything it had
// recorded.
func (s *Sim) Restart() error {
	addr := s.Addr()
	s.Close()
	return s.Start(addr)
}

// FaultKind is what the simulator does wrong with one message.
type FaultKind int

// The faults.
const (
	// DropBeforeForward closes the connection when the request arrives:
	// the issuer never sees it.
	DropBeforeForward FaultKind = iota + 1
	// DropAfterForward lets the issuer act on the request, then closes the
	// connection without a reply.
	DropAfterForward
	// Late replies after the fault's Delay.
	Late
	// BadMAC replies with a wrong MAC.
	BadMAC
	// WrongSTAN replies with another trace number.
	WrongSTAN
	// Duplicate replies twice.
	Duplicate
	// Silent lets the issuer act and never replies, keeping the connection.
	Silent
	// CrashAfterForward lets the issuer act, then stops the simulator as
	// a crashed acquirer would: no reply, every connection dropped, no
	// listener until Start (its records survive, as a real acquirer's
	// database does).
	CrashAfterForward
	// Refuse answers with the fault's Code without acting on the request.
	Refuse
	// Lie acts on the request and lets the fault's Edit change the reply
	// before it is MAC'd: the acquirer itself says something false.
	Lie
)

var faultNames = map[FaultKind]string{DropBeforeForward: "drop before forward", DropAfterForward: "drop after forward",
	Late: "late reply", BadMAC: "bad MAC", WrongSTAN: "wrong trace number", Duplicate: "duplicate reply", Silent: "silent",
	CrashAfterForward: "crash after forward", Refuse: "refuse", Lie: "lie"}

// String names the fault, as the simulator's log prints it.
func (k FaultKind) String() string { return faultNames[k] }

// Fault applies once, to the next request whose MTI (and 60.1, when set)
// match.
type Fault struct {
	MTI    string
	Type60 string
	Kind   FaultKind
	Delay  time.Duration                // Late
	Code   string                       // Refuse
	Edit   func(reply *iso8583.Message) // Lie
}

// Inject queues a fault.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFault removes and returns the first fault matching msg.
func (s *Sim) takeFault(mti, type60 string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.MTI == mti && (f.Type60 == "" || f.Type60 == type60) {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return Fault{}, false
}

// Require makes the next reply to terminal tid ask for something in its
// header (acquirer.RequireSignIn, RequireCAKeyDownload, ...).
func (s *Sim) Require(tid string, r int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.terminal(tid).requirement = r
}

// terminal returns (creating) the record of tid. The caller holds s.mu.
func (s *Sim) terminal(tid string) *terminal {
	t, ok := s.terminals[tid]
	if !ok {
		t = &terminal{batch: s.cfg.Batch, totals: make(map[uint32]*journal.Totals)}
		s.terminals[tid] = t
	}
	return t
}

// handle is iso8583-connection's inbound handler: every request, in its
// own goroutine. It routes the request, applies a fault, and replies.
func (s *Sim) handle(c *connection.Connection, req *iso8583.Message) {
	info, _ := s.codec.Info(req)
	mti, _ := req.GetMTI()
	f60, _ := acquirer.ParseField60(str(req, f60))
	fault, faulty := s.takeFault(mti, f60.Type)
	rec := s.receive(req, info, fault.Kind)
	if faulty && fault.Kind == DropBeforeForward {
		_ = c.Close()
		return
	}
	var reply *iso8583.Message
	if faulty && fault.Kind == Refuse {
		reply = s.refuse(req, info, fault.Code, rec)
	} else {
		reply = s.dispatch(req, info, f60, rec)
	}
	if reply == nil {
		return
	}
	s.deliver(c, reply, fault)
}

// deliver sends reply, as the fault (if any) says.
func (s *Sim) deliver(c *connection.Connection, reply *iso8583.Message, f Fault) {
	s.mu.Lock()
	t := s.terminal(str(reply, f41))
	r := t.requirement
	t.requirement = 0
	s.mu.Unlock()
	if r != 0 {
		s.codec.SetHeader(reply, s.header().WithRequirement(r))
	}
	switch f.Kind {
	case DropAfterForward:
		_ = c.Close()
		return
	case Silent:
		return
	case CrashAfterForward:
		go s.Close() // not from the handler: Close waits for the handlers
		return
	case Late:
		time.Sleep(f.Delay)
	case BadMAC:
		s.codec.CorruptMAC(reply)
	case Lie:
		if f.Edit != nil {
			f.Edit(reply)
		}
	case WrongSTAN:
		stan := str(reply, f11)
		var n int
		fmt.Sscanf(stan, "%d", &n)
		_ = reply.Field(f11, fmt.Sprintf("%06d", n%999999+1))
	case Duplicate:
		if dup, err := reply.Clone(); err == nil {
			_ = c.Reply(reply)
			reply = dup
		}
	}
	_ = c.Reply(reply)
}

func (s *Sim) header() acquirer.Header {
	v := s.cfg.Variant
	if v.Header == (acquirer.Header{}) {
		return acquirer.Header{0x60, 0x31, 0x00, 0x31, 0x13, 0x01}
	}
	return v.Header
}

// newKeys makes fresh working keys for a sign-in.
func newKeys(mode acquirer.KeyMode) (pik, mak, tdk []byte, err error) {
	pik = make([]byte, 8)
	switch mode {
	case acquirer.KeysTDES:
		pik, tdk = make([]byte, 16), make([]byte, 16)
		if _, err = rand.Read(tdk); err != nil {
			return nil, nil, nil, err
		}
	case acquirer.KeysTDESNoTDK:
		pik = make([]byte, 16)
	}
	mak = make([]byte, 8)
	if _, err = rand.Read(pik); err != nil {
		return nil, nil, nil, err
	}
	_, err = rand.Read(mak)
	return pik, mak, tdk, err
}

// issuerCtx bounds the issuer's work on one request.
func issuerCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// ensure the simulator's issuer types are the kernel's.
var _ kernel.Host = (*hostsim.Host)(nil)
