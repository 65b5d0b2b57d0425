package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// defaultJournal is the journal file the commands use without --file.
const defaultJournal = "pboc-journal.dat"

// cmdJournal reads the terminal's clearing journal:
//
//	pboc journal list   [--file PATH]   one line per record, for people
//	pboc journal export [--file PATH]   JSON lines, for upload to the acquirer
//
// The journal is opened read-only, so it can be read while a terminal is
// writing it; a record still being written is left out.
func cmdJournal(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return usageError{"journal needs a subcommand: list or export"}
	}
	sub := args[0]
	if sub != "list" && sub != "export" {
		return usageError{fmt.Sprintf("unknown journal subcommand %q (want list or export)", sub)}
	}
	fs := flag.NewFlagSet("journal "+sub, flag.ContinueOnError)
	file := fs.String("file", defaultJournal, "journal file")
	if err := parseFlags(fs, args[1:]); err != nil {
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
	if sub == "export" {
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("journal export: %w", err)
			}
		}
		return nil
	}
	if len(recs) == 0 {
		fmt.Fprintf(w, "the journal %s is empty\n", *file)
	}
	for _, r := range recs {
		fmt.Fprintf(w, "%s  %-15s  %10s %-4s  %-19s  %-16s  ATC %5d  %s\n",
			r.Time.Local().Format("2006-01-02 15:04:05"), r.Kind, kernel.Amount(r.Amount), r.Currency,
			r.MaskedPAN, r.AID, r.ATC, r.Outcome)
	}
	if n := j.Recovered(); n > 0 {
		fmt.Fprintf(w, "(%d bytes at the end are a record still being written, or torn by a crash; not listed)\n", n)
	}
	return nil
}
