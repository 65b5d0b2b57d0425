package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/examples/internal/demo"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// testTMK is the terminal master key the example's terminal and the
// simulated acquirer share (the key pboc serve-acquirer uses by default):
// a test value, never a real key.
var testTMK = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}

// link is the terminal's acquirer link and what stands behind it: the
// security module (a PED in a real POS), the durable state, and the
// loopback simulator when the example started one.
type link struct {
	*acquirer.Link
	module   *acquirer.SoftModule
	state    *acquirer.State
	sim      *acquirersim.Sim
	dir      string
	describe string
}

// openLink signs the terminal in with the acquirer at addr, or with a
// loopback simulator in front of host when addr is empty.
func openLink(ctx context.Context, addr string, host *hostsim.Host, cfg kernel.Config) (*link, error) {
	l := &link{describe: "ISO 8583 (UnionPay POS) at " + addr}
	if addr == "" {
		sim, err := acquirersim.New(acquirersim.Config{Host: host, TMK: testTMK})
		if err != nil {
			return nil, err
		}
		if err := sim.Start("127.0.0.1:0"); err != nil {
			return nil, err
		}
		l.sim, addr = sim, sim.Addr()
		l.describe = "loopback simulator at " + addr + " (ISO 8583, UnionPay POS), in front of the simulated issuer"
	}
	var err error
	if l.dir, err = os.MkdirTemp("", "pos-acquirer"); err != nil {
		l.close()
		return nil, err
	}
	// The state holds the reversal queue and the counters; the PANs it
	// keeps for reversals are sealed under a data key (a real terminal
	// keeps both across restarts, the key in secure storage).
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		l.close()
		return nil, err
	}
	sealer, err := acquirer.NewAESSealer(key)
	if err != nil {
		l.close()
		return nil, err
	}
	if l.state, err = acquirer.OpenState(ctx, filepath.Join(l.dir, "acquirer.state"), sealer); err != nil {
		l.close()
		return nil, err
	}
	if l.module, err = acquirer.NewSoftModule(testTMK); err != nil {
		l.close()
		return nil, err
	}
	lc := acquirer.Config{Addr: addr, TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID, Timeout: 10 * time.Second}
	if l.Link, err = acquirer.Open(ctx, lc, l.module, l.state); err != nil {
		l.close()
		return nil, err
	}
	if err := l.SignIn(ctx); err != nil {
		l.close()
		return nil, fmt.Errorf("acquirer %s: sign-in: %w", addr, err)
	}
	return l, nil
}

// printMessages lists what the loopback acquirer received.
func (l *link) printMessages(w io.Writer) {
	if l.sim == nil {
		return
	}
	for _, m := range l.sim.Received() {
		demo.Field(w, "acquirer received", "%s stan %s 60.1 %s 60.3 %s, answered %s", m.MTI, m.STAN, m.Type60, m.Network, demo.Dash(m.Response))
	}
}

func (l *link) close() {
	if l.Link != nil {
		l.Link.Close()
	}
	if l.state != nil {
		l.state.Close()
	}
	if l.sim != nil {
		l.sim.Close()
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}
