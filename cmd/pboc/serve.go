package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/vpcd"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/transport/pcsc"
)

// cmdServeCard implements
//
//	pboc serve-card [--profile FILE] [--addr 127.0.0.1:35963] [--atr HEX | --t1] [--trace]
//
// It puts the simulated card into vsmartcard's "Virtual PCD" reader, so any
// PC/SC application (pcsc_scan, this CLI's --reader, a real POS stack) can
// use it, and serves it until interrupted (SIGINT, SIGTERM) or ctx is done,
// which is a clean exit. vpcd being absent is not an error: the card waits
// and connects when pcscd starts.
func cmdServeCard(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("serve-card", flag.ContinueOnError)
	profile := fs.String("profile", "", "card profile JSON file (default: the built-in default card)")
	addr := fs.String("addr", vpcd.DefaultAddr, `vpcd's address: 127.0.0.1:35963 is the reader "Virtual PCD 00 00", :35964 "... 00 01"`)
	atrHex := fs.String("atr", "", "answer to reset in hex (default: a T=0 PBOC ATR)")
	t1 := fs.Bool("t1", false, "present an ATR offering T=1 instead of T=0")
	trace := fs.Bool("trace", false, "log every APDU (PAN masked)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	atr := vpcd.DefaultATR()
	switch {
	case *atrHex != "" && *t1:
		return usageError{"--atr and --t1 exclude each other"}
	case *t1:
		atr = vpcd.T1ATR()
	case *atrHex != "":
		var err error
		if atr, err = hex.DecodeString(strings.ReplaceAll(*atrHex, " ", "")); err != nil {
			return usageError{"--atr: " + err.Error()}
		}
		if err := vpcd.CheckATR(atr); err != nil {
			return usageError{"--atr: " + err.Error()}
		}
	}
	p := cardsim.DefaultProfile()
	if *profile != "" {
		var err error
		if p, err = cardsim.LoadProfile(*profile); err != nil {
			return usageError{err.Error()}
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

// openReader opens the card in the PC/SC reader name (matched exactly or
// as a unique case-insensitive part of a reader's name; "" takes the first
// reader holding a card) for the --reader flag. The function returned
// ends the connection, leaving the card in the reader as it is.
func openReader(ctx context.Context, name string) (apdu.Transport, func() error, error) {
	c, err := pcsc.Open(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("--reader %q: %w", name, err)
	}
	return c, c.Close, nil
}
