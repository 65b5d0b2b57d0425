package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// defaultJournal is the journal file the journal commands read without
// --journal.
const defaultJournal = "pboc-journal.dat"

// cmdJournal implements "pboc journal list|export [--journal FILE]".
func cmdJournal(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "journal", "list|export [--journal FILE]", `
Reads the clearing journal that purchase and load write with --journal:
list prints one line per record, for people; export prints one JSON object
per line, for the acquirer upload. The journal is opened read-only, so it
can be read while a terminal writes it; a record still being written is
left out. A missing or damaged journal is bad input (exit status 2).`)
	var path string
	f.fs.StringVar(&path, "journal", defaultJournal, "journal `FILE`")
	f.fs.StringVar(&path, "file", defaultJournal, "the same as --journal")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return badInput("list or export needed")
	case len(pos) > 1:
		return badInput("unexpected argument %q", pos[1])
	case pos[0] != "list" && pos[0] != "export":
		return badInput("unknown journal subcommand %q (want list or export)", pos[0])
	}
	j, err := journal.Open(path, journal.ReadOnly())
	if err != nil {
		return journalInputError(path, err)
	}
	defer j.Close()
	recs, err := j.Records(ctx)
	if err != nil {
		return journalInputError(path, err)
	}
	if pos[0] == "export" {
		return exportJournal(e, recs)
	}
	listJournal(e, path, recs)
	if n := j.Recovered(); n > 0 {
		fmt.Fprintf(e.stdout, "(%d bytes at the end are a record still being written, or torn by a crash; not listed)\n", n)
	}
	return nil
}

// journalInputError says once what is wrong with the journal to read.
func journalInputError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return badInput("--journal %s: %w", path, pe.Err)
	}
	return badInput("--journal %s: %w", path, err)
}

func listJournal(e *env, path string, recs []journal.Record) {
	if len(recs) == 0 {
		fmt.Fprintf(e.stdout, "the journal %s is empty\n", path)
	}
	for _, r := range recs {
		x := newExportRecord(r)
		fmt.Fprintf(e.stdout, "%s  %-15s  %10s %-4s  %-19s  %-16s  ATC %5d  CID %-2s  %s\n",
			r.Time.Local().Format("2006-01-02 15:04:05"), r.Kind, x.Amount, r.Currency,
			r.MaskedPAN, x.AID, r.ATC, x.CID, r.Outcome)
	}
}

// exportRecord is a journal.Record as the CLI writes it, in the form of
// every other output: amounts in yuan ("12.34") and card data in
// upper-case hex. Fields of the record not named here are written as the
// journal holds them.
type exportRecord struct {
	journal.Record
	Amount        kernel.Amount  `json:"amount"`
	BalanceBefore *kernel.Amount `json:"balance_before,omitempty"`
	BalanceAfter  *kernel.Amount `json:"balance_after,omitempty"`
	PSN           string         `json:"psn,omitempty"`
	AID           string         `json:"aid"`
	Cryptogram    string         `json:"cryptogram,omitempty"`
	CID           string         `json:"cid,omitempty"`
	TVR           string         `json:"tvr,omitempty"`
	Field55       string         `json:"field55,omitempty"`
}

func newExportRecord(r journal.Record) exportRecord {
	up := strings.ToUpper
	return exportRecord{
		Record: r, Amount: kernel.Amount(r.Amount),
		BalanceBefore: amountPtr(r.BalanceBefore), BalanceAfter: amountPtr(r.BalanceAfter),
		PSN: up(r.PSN), AID: up(r.AID), Cryptogram: up(r.Cryptogram), CID: up(r.CID),
		TVR: up(r.TVR), Field55: up(r.Field55),
	}
}

func amountPtr(v *uint64) *kernel.Amount {
	if v == nil {
		return nil
	}
	a := kernel.Amount(*v)
	return &a
}

func exportJournal(e *env, recs []journal.Record) error {
	enc := json.NewEncoder(e.stdout)
	for _, r := range recs {
		if err := enc.Encode(newExportRecord(r)); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}

// panHashKeyLen is the size of the key of the journal's PAN hashes.
const panHashKeyLen = 32

// panHashKey reads the PAN-hash key at path, creating it (random, mode
// 0600) when it does not exist yet.
func panHashKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != panHashKeyLen {
			return nil, fmt.Errorf("--journal key %s: %d bytes, want %d", path, len(key), panHashKeyLen)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--journal key: %w", err)
	}
	key = make([]byte, panHashKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another terminal process made it just now
		return panHashKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--journal key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("--journal key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("--journal key: %w", err)
	}
	return key, f.Close()
}
