// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/go-pboc/pboc/kernel"
)

// cmdLog implements "pboc log [--loads] [flags]".
func cmdLog(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "log", "[--loads] [flags]", `
Reads the card's transaction log (the entries its log format 9F4F names),
newest first. With --loads, reads the load log (圈存日志, DF4D / DF4F)
instead: for each load, the value the card's PUT DATA updated (9F79, the EC
balance) before and after, and the change. The date and time are the
terminal's local time as the card recorded them (9A, 9F21). Nothing is
written to a journal: a read moves no money.`)
	var c cardFlags
	c.register(f)
	loads := f.fs.Bool("loads", false, "read the load log (DF4D / DF4F) instead of the transaction log")
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
	if *loads {
		entries, err := k.ReadLoadLog(ctx, card)
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, loadLogJSON(entries))
		}
		printLoadLog(e.stdout, entries)
		return nil
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
		fmt.Fprintf(e.stdout, "%2d  %s  %12s  ATC %5d  %s\n", i+1, logTime(le.Time), le.Amount, le.ATC, le.Merchant)
	}
	return nil
}

// logTime is a log entry's date and time, "-" when the card logged none.
func logTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05")
}

// loadLogTags names the tags a load's PUT DATA updates (PBOC Book 13).
var loadLogTags = map[string]string{
	"9F79": "EC balance",
	"9F77": "balance limit",
	"9F78": "single limit",
	"9F6D": "reset threshold",
	"DF79": "second-currency EC balance",
	"DF77": "second-currency balance limit",
	"DF78": "second-currency single limit",
	"DF76": "second-currency reset threshold",
}

// loadChange is after − before as signed yuan ("100.00", "-50.00").
func loadChange(e kernel.LoadLogEntry) string {
	if e.After >= e.Before {
		return (e.After - e.Before).String()
	}
	return "-" + (e.Before - e.After).String()
}

// printLoadLog writes one line per load log entry, newest first.
func printLoadLog(w io.Writer, entries []kernel.LoadLogEntry) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "the card's load log is empty")
	}
	for i, le := range entries {
		name := loadLogTags[le.Tag]
		if name == "" {
			name = "tag " + le.Tag
		}
		change := loadChange(le)
		if change[0] != '-' {
			change = "+" + change
		}
		fmt.Fprintf(w, "%2d  %s  %s %-15s %10s → %-10s (%s)  ATC %5d  %s\n",
			i+1, logTime(le.Time), le.Tag, name, le.Before, le.After, change, le.ATC, le.Merchant)
	}
}

// loadEntryJSON is one load log entry as --json prints it: the amounts in
// yuan, the change signed; the PAN, when the format names it, masked.
type loadEntryJSON struct {
	Tag      string                     `json:"tag"`
	Name     string                     `json:"name,omitempty"`
	Before   kernel.Amount              `json:"before"`
	After    kernel.Amount              `json:"after"`
	Change   string                     `json:"change"`
	Time     *time.Time                 `json:"time"`
	ATC      uint16                     `json:"atc"`
	Merchant string                     `json:"merchant,omitempty"`
	PAN      string                     `json:"pan,omitempty"`
	Fields   map[string]kernel.HexBytes `json:"fields"`
}

// loadLogJSON converts the entries for --json (an empty array, not null,
// for an empty log).
func loadLogJSON(entries []kernel.LoadLogEntry) []loadEntryJSON {
	out := make([]loadEntryJSON, 0, len(entries))
	for _, le := range entries {
		j := loadEntryJSON{Tag: le.Tag, Name: loadLogTags[le.Tag], Before: le.Before, After: le.After,
			Change: loadChange(le), ATC: le.ATC, Merchant: le.Merchant, PAN: le.PAN, Fields: le.Fields}
		if !le.Time.IsZero() {
			t := le.Time
			j.Time = &t
		}
		out = append(out, j)
	}
	return out
}
