package main

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/kernel"
)

// cmdLog implements "pboc log [flags]".
func cmdLog(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "log", "[flags]", `
Reads the card's transaction log (the entries its log format 9F4F names),
newest first. The date and time are the terminal's local time as the card
recorded them (9A, 9F21). Nothing is written to a journal: a read moves no
money.`)
	var c cardFlags
	c.register(f)
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	card, release, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer release()
	k, err := kernel.New(c.config())
	if err != nil {
		return err
	}
	entries, err := k.ReadTransactionLog(ctx, card)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(e.stdout, "the card's transaction log is empty")
	}
	for i, le := range entries {
		when := "-"
		if !le.Time.IsZero() {
			when = le.Time.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(e.stdout, "%2d  %s  %12s  ATC %5d  %s\n", i+1, when, le.Amount, le.ATC, le.Merchant)
	}
	return nil
}
