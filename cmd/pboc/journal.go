package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// defaultJournal is the journal file the commands use without --file.
const defaultJournal = "pboc-journal.dat"

// cmdJournal reads the terminal's clearing journal:
//
//	pboc journal list   [--file PATH] [--data-key-file PATH]   one line per record, for people
//	pboc journal export [--file PATH] [--data-key-file PATH]   JSON lines, for the upload program
//	pboc journal batch  [--file PATH] [--batch N]              a batch's totals and field 48, the batches closed
//
// The PAN is shown masked unless --data-key-file names the terminal's
// data key (hex, 16, 24 or 32 bytes): then list shows the full PAN and
// export adds it as "pan". The journal is opened read-only, so it can be
// read while a terminal is writing it; a record still being written is
// left out.
func cmdJournal(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return usageError{"journal needs a subcommand: list, export or batch"}
	}
	sub := args[0]
	if sub != "list" && sub != "export" && sub != "batch" {
		return usageError{fmt.Sprintf("unknown journal subcommand %q (want list, export or batch)", sub)}
	}
	fs := flag.NewFlagSet("journal "+sub, flag.ContinueOnError)
	file := fs.String("file", defaultJournal, "journal file")
	keyFile := fs.String("data-key-file", "", "file holding the terminal's data key in hex, to show full PANs")
	batch := fs.Uint("batch", 0, "with batch: the batch to add up (default: the open one)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	key, err := loadDataKey(*keyFile)
	if err != nil {
		return err
	}
	j, err := journal.Open(*file, journal.ReadOnly())
	if err != nil {
		return err
	}
	defer j.Close()
	recs, err := j.Records(ctx)
	if err != nil {
		return err
	}
	switch sub {
	case "export":
		return exportRecords(ctx, w, recs, key)
	case "batch":
		return showBatch(ctx, w, j, recs, uint32(*batch))
	}
	listRecords(ctx, w, recs, key, *file)
	if n := j.Recovered(); n > 0 {
		fmt.Fprintf(w, "(%d bytes at the end are a record still being written, or torn by a crash; not listed)\n", n)
	}
	return nil
}

// loadDataKey reads a data key file; "" is no key.
func loadDataKey(path string) (journal.DataKey, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, usageError{fmt.Sprintf("--data-key-file %s: not hex: %v", path, err)}
	}
	key, err := journal.NewAESGCMKey(raw)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--data-key-file %s: %v", path, err)}
	}
	return key, nil
}

// pan is the record's PAN as shown: full with the key, masked otherwise.
func pan(ctx context.Context, r *journal.Record, key journal.DataKey) string {
	if key != nil {
		if p, err := r.OpenPAN(ctx, key); err == nil {
			return p
		}
	}
	return r.MaskedPAN
}

func listRecords(ctx context.Context, w io.Writer, recs []journal.Record, key journal.DataKey, file string) {
	if len(recs) == 0 {
		fmt.Fprintf(w, "the journal %s is empty\n", file)
	}
	for _, r := range recs {
		fmt.Fprintf(w, "%s  %-15s  %10s %-4s  %-19s  %-16s  ATC %5d  STAN %06d  batch %06d  %-3s  %-12s  %s\n",
			r.Time.Local().Format("2006-01-02 15:04:05"), r.Kind, kernel.Amount(r.Amount), r.Currency,
			pan(ctx, &r, key), r.AID, r.ATC, r.STAN, r.Batch, r.EntryMode, r.UploadState(), r.Outcome)
	}
}

// exportRecords writes one JSON object per record: the record as stored
// (the PAN sealed), with "pan" in clear only when the key was given.
func exportRecords(ctx context.Context, w io.Writer, recs []journal.Record, key journal.DataKey) error {
	enc := json.NewEncoder(w)
	for _, r := range recs {
		out := struct {
			journal.Record
			PAN string `json:"pan,omitempty"`
		}{Record: r}
		if key != nil {
			p, err := r.OpenPAN(ctx, key)
			if err != nil && r.EncryptedPAN != nil {
				return fmt.Errorf("journal export: %w", err)
			}
			out.PAN = p
		}
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("journal export: %w", err)
		}
	}
	return nil
}

// showBatch prints a batch's totals as the settlement reports them and
// the batches closed so far.
func showBatch(ctx context.Context, w io.Writer, j *journal.File, recs []journal.Record, batch uint32) error {
	open, err := j.OpenBatch(ctx)
	if err != nil {
		return err
	}
	if batch == 0 {
		batch = open
	}
	t := journal.BatchTotals(recs, batch)
	state := "closed"
	if batch == open {
		state = "open"
	}
	fmt.Fprintf(w, "batch %06d (%s)\n", batch, state)
	for _, s := range []struct {
		name string
		side journal.Side
	}{{"domestic", t.Domestic}, {"foreign", t.Foreign}} {
		fmt.Fprintf(w, "  %-8s  debits %3d  %12s   credits %3d  %12s\n", s.name, s.side.DebitCount, kernel.Amount(s.side.DebitAmount),
			s.side.CreditCount, kernel.Amount(s.side.CreditAmount))
	}
	if f48, err := t.Field48(); err == nil {
		fmt.Fprintf(w, "  field 48  %s\n", f48)
	} else {
		fmt.Fprintf(w, "  field 48  %v\n", err)
	}
	closed, err := j.Batches(ctx)
	if err != nil {
		return err
	}
	for _, c := range closed {
		fmt.Fprintf(w, "closed %06d at %s: %d+%d debits, %d+%d credits reported; %s\n", c.Batch, c.Time.Local().Format("2006-01-02 15:04:05"),
			c.Totals.Domestic.DebitCount, c.Totals.Foreign.DebitCount, c.Totals.Domestic.CreditCount, c.Totals.Foreign.CreditCount, orDash(c.Result))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
