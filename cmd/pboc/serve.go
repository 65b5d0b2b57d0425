// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/vpcd"
	"github.com/go-pboc/pboc/kernel"
)

// cmdServeCard implements
//
//	pboc serve-card [--profile FILE] [--addr 127.0.0.1:35963] [--atr HEX | --t1] [--trace]
//
// It serves until interrupted (SIGINT, SIGTERM) or ctx is done, which is a
// clean exit.
func cmdServeCard(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "serve-card", "[--profile FILE] [--addr 127.0.0.1:35963] [--atr HEX | --t1] [--trace]", `
Puts the simulated card into vsmartcard's "Virtual PCD" reader, so any
PC/SC application (pcsc_scan, this CLI's --reader, a real POS stack) can
use it, until Ctrl-C takes it out. vpcd being absent is not an error: the
card waits and connects when pcscd starts (sudo bash .ci/pcsc.sh installs
and starts it). The card is signed by the simulator's test CA: a terminal
trusts it only with its test keys (pboc --reader NAME --test-ca).`)
	profile := f.fs.String("profile", "", "card profile JSON `FILE` (default: the built-in default card)")
	addr := f.fs.String("addr", vpcd.DefaultAddr, "vpcd's `ADDRESS`: 127.0.0.1:35963 is the reader \"Virtual PCD 00 00\", :35964 \"... 00 01\"")
	atrHex := f.fs.String("atr", "", "answer to reset in `HEX` (default: a T=0 PBOC ATR)")
	t1 := f.fs.Bool("t1", false, "present an ATR offering T=1 instead of T=0")
	trace := f.fs.Bool("trace", false, "log every APDU (PAN masked)")
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	if err := checkAddr("addr", *addr, false); err != nil {
		return err
	}
	w := e.stdout
	atr := vpcd.DefaultATR()
	switch {
	case *atrHex != "" && *t1:
		return badInput("--atr and --t1 exclude each other")
	case *t1:
		atr = vpcd.T1ATR()
	case *atrHex != "":
		var err error
		if atr, err = parseHex(*atrHex); err != nil {
			return badInput("--atr %q: %v", *atrHex, err)
		}
		if err := vpcd.CheckATR(atr); err != nil {
			return badInput("--atr %q: %v", *atrHex, err)
		}
	}
	p := cardsim.DefaultProfile()
	if *profile != "" {
		var err error
		if p, err = loadProfile("profile", *profile); err != nil {
			return err
		}
	}
	card, err := cardsim.New(p)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelInfo
	if *trace {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	var t apdu.Transport = card
	if *trace {
		t = apdu.NewTracer(card, logger)
	}
	fmt.Fprintf(w, "serving card %q (ATR %X) to vpcd at %s; Ctrl-C takes it out\n", p.Name, atr, *addr)
	srv := &vpcd.Server{Addr: *addr, Card: t, ATR: atr, Reset: card.Reset, Logger: logger}
	err = srv.Serve(ctx)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		for _, app := range p.Applications {
			fmt.Fprintf(w, "card taken out; %s EC balance %s\n", app.AID, kernel.Amount(card.Balance(app.AID)))
		}
		return nil
	}
	return err
}
