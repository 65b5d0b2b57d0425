// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/purse"
)

// defaultJournal is the journal file the journal commands read without
// --journal.
const defaultJournal = "pboc-journal.dat"

// cmdJournal implements "pboc journal list|export|batch [--journal FILE]".
func cmdJournal(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "journal", "list|export|batch [--journal FILE] [--data-key-file FILE] [--batch N]", `
Reads the clearing journal that purchase and load write with --journal,
and the purse records pboc purse writes with --journal (one file may hold
both): list prints one line per record, for people (STAN, batch, entry
mode and upload state included; for a purse record its operation, the
card's serial, the PSAM's TTC, the TAC and its state); export prints one
JSON object per line, for the acquirer upload ("record" says "clearing"
or "purse"); batch adds up a batch (default: the open one) as the
settlement's field 48 reports it (purse records are not in it) and lists
the batches closed. The ASN of a purse card is always masked; the PAN is
masked unless --data-key-file names the terminal's data key (hex, 16, 24
or 32 bytes): then list shows it and export adds it as "pan". The journal
is opened read-only, so it can be read while a terminal writes it; a
record still being written is left out. A missing or damaged journal is
bad input (exit status 2).`)
	var path, keyFile, batchArg string
	f.fs.StringVar(&path, "journal", defaultJournal, "journal `FILE`")
	f.fs.StringVar(&path, "file", defaultJournal, "the same as --journal")
	f.fs.StringVar(&keyFile, "data-key-file", "", "`FILE` holding the terminal's data key in hex, to show full PANs")
	f.fs.StringVar(&batchArg, "batch", "", "with batch: the batch `N` to add up (1-999999; empty: the open one)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return badInput("list, export or batch needed")
	case len(pos) > 1:
		return badInput("unexpected argument %q", pos[1])
	case pos[0] != "list" && pos[0] != "export" && pos[0] != "batch":
		return badInput("unknown journal subcommand %q (want list, export or batch)", pos[0])
	}
	batch, err := strconv.ParseUint(halfWidth(batchArg), 10, 32) // full-width digits are the digits they show
	if batchArg == "" {
		batch, err = 0, nil
	}
	if err != nil || (batchArg != "" && (batch == 0 || batch > 999999)) {
		return badInput("--batch %q: want 1 to 999999", batchArg)
	}
	key, err := loadDataKey(keyFile)
	if err != nil {
		return err
	}
	j, err := journal.Open(path, journal.ReadOnly())
	if err != nil {
		return damaged("--journal", path, err)
	}
	defer j.Close()
	recs, err := j.Records(ctx)
	if err != nil {
		return damaged("--journal", path, err)
	}
	pp, err := j.Payloads(ctx, journal.RecordPurse)
	if err != nil {
		return damaged("--journal", path, err)
	}
	precs, err := purse.DecodeRecords(pp)
	if err != nil {
		return damaged("--journal", path, err)
	}
	switch pos[0] {
	case "export":
		return exportJournal(ctx, e, recs, precs, key)
	case "batch":
		return showBatch(ctx, e, j, recs, uint32(batch))
	}
	err = listJournal(ctx, e, path, recs, precs, key)
	if n := j.Recovered(); n > 0 {
		fmt.Fprintf(e.stdout, "(%d bytes at the end are a record still being written, or torn by a crash; not listed)\n", n)
	}
	return err
}

// loadDataKey reads a data key file ("" is no key): the key in hex.
func loadDataKey(path string) (journal.DataKey, error) {
	if path == "" {
		return nil, nil
	}
	b, err := readInput("data-key-file", path, 1024)
	if err != nil {
		return nil, err
	}
	raw, err := parseHex(string(b))
	if err != nil {
		return nil, badInput("--data-key-file %s: %w", path, err)
	}
	if n := len(raw); n != 16 && n != 24 && n != 32 {
		return nil, badInput("--data-key-file %s: %d bytes, want an AES key of 16, 24 or 32 bytes in hex", path, n)
	}
	key, err := journal.NewAESGCMKey(raw)
	if err != nil {
		return nil, badInput("--data-key-file %s: %v", path, err)
	}
	return key, nil
}

// shownPAN is the record's PAN as shown: full with the key, masked
// otherwise — and masked, with the reason, when the key given does not
// open it (another terminal's key, an altered record).
func shownPAN(ctx context.Context, r *journal.Record, key journal.DataKey) (string, error) {
	if key == nil || r.EncryptedPAN == nil {
		return r.MaskedPAN, nil
	}
	p, err := r.OpenPAN(ctx, key)
	if err != nil {
		return r.MaskedPAN, err
	}
	return p, nil
}

// openError says once why a card command could not open the file of a
// flag (--journal, --torn-log): a damaged file, or one of a newer format,
// is bad input (exit 2), as for pboc journal; anything else (held by
// another process, the disk) is an I/O failure.
func openError(flag, path string, err error) error {
	if errors.Is(err, journal.ErrCorrupt) || errors.Is(err, journal.ErrNewerFormat) {
		return damaged(flag, path, err)
	}
	return fmt.Errorf("%s %s: %w", flag, path, pathless(err))
}

// damaged is bad input naming the flag's file once: a *journal.CorruptError
// names the path too, and says "journal:", which the message leaves out;
// an *fs.PathError's operation and path are left out too.
func damaged(flag, path string, err error) error {
	var ce *journal.CorruptError
	if errors.As(err, &ce) {
		return badInput("%s %s: corrupt at offset %d: %s", flag, path, ce.Offset, strings.TrimPrefix(ce.Reason, "journal: "))
	}
	return badInput("%s %s: %w", flag, path, pathless(err))
}

// listJournal prints one line per record. With a data key that does not
// open some records' PANs it lists them masked and then fails, saying how
// many and why.
func listJournal(ctx context.Context, e *env, path string, recs []journal.Record, precs []purse.Record, key journal.DataKey) error {
	if len(recs) == 0 && len(precs) == 0 {
		fmt.Fprintf(e.stdout, "the journal %s is empty\n", path)
	}
	var unopened int
	var first error
	_ = inTimeOrder(recs, precs, func(r *journal.Record) error {
		x := newExportRecord(*r)
		pan, err := shownPAN(ctx, r, key)
		if err != nil {
			if unopened++; first == nil {
				first = err
			}
		}
		fmt.Fprintf(e.stdout, "%s  %-15s  %10s %-4s  %-19s  %-16s  ATC %5d  CID %-2s  STAN %06d  batch %06d  %-3s  %-12s  %s\n",
			r.Time.Local().Format("2006-01-02 15:04:05"), r.Kind, x.Amount, r.Currency,
			pan, x.AID, r.ATC, x.CID, r.STAN, r.Batch, r.EntryMode, r.UploadState(), r.Outcome)
		return nil
	}, func(r *purse.Record) error {
		listPurseRecord(e.stdout, r)
		return nil
	})
	if first != nil {
		return fmt.Errorf("list: the data key opened the PAN of %d of %d records (the others are shown masked): %w", len(recs)-unopened, len(recs), first)
	}
	return nil
}

// exportRecord is a journal.Record as the CLI writes it, in the form of
// every other output: amounts in yuan ("12.34") and card data in
// upper-case hex. Fields of the record not named here are written as the
// journal holds them.
type exportRecord struct {
	// Flow is "clearing": the export holds the purse's records too.
	Flow journal.RecordKind `json:"record"`
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
	// PAN is the full PAN, only when the data key was given.
	PAN string `json:"pan,omitempty"`
}

func newExportRecord(r journal.Record) exportRecord {
	up := strings.ToUpper
	return exportRecord{
		Flow: journal.RecordClearing, Record: r, Amount: kernel.Amount(r.Amount),
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

// exportJournal writes one JSON object per record: the record as stored
// (the PAN sealed), with "pan" in clear only when the key was given.
func exportJournal(ctx context.Context, e *env, recs []journal.Record, precs []purse.Record, key journal.DataKey) error {
	enc := json.NewEncoder(e.stdout)
	return inTimeOrder(recs, precs, func(r *journal.Record) error {
		x := newExportRecord(*r)
		if key != nil && r.EncryptedPAN != nil {
			p, err := r.OpenPAN(ctx, key)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			x.PAN = p
		}
		if err := enc.Encode(x); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	}, func(r *purse.Record) error {
		if err := enc.Encode(newPurseExport(r)); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	})
}

// showBatch prints a batch's totals as the settlement reports them and
// the batches closed so far.
func showBatch(ctx context.Context, e *env, j *journal.File, recs []journal.Record, batch uint32) error {
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
	w := e.stdout
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
		result := c.Result
		if result == "" {
			result = "-"
		}
		fmt.Fprintf(w, "closed %06d at %s: %d+%d debits, %d+%d credits reported; %s\n", c.Batch, c.Time.Local().Format("2006-01-02 15:04:05"),
			c.Totals.Domestic.DebitCount, c.Totals.Foreign.DebitCount, c.Totals.Domestic.CreditCount, c.Totals.Foreign.CreditCount, result)
	}
	return nil
}

// panHashKeyLen is the size of the key of the journal's PAN hashes.
const panHashKeyLen = 32

// panHashKey reads the key of the PAN hashes (Config.PANHashKey) kept
// beside the file of the flag (--journal FILE, or --torn-log FILE when
// there is no journal) in FILE.key, creating it (32 random bytes, mode
// 0600) when it does not exist yet. The key must stay the same for the
// life of the journal and the torn log (their records are matched to a
// card by it), so the CLI keeps it beside them; use the two flags
// together. (A vendor's terminal keeps such a key in its secure storage
// instead.) A key file of the wrong size is bad input, as a damaged
// journal; a key that cannot be read or written is an I/O failure.
func panHashKey(flag, file string) ([]byte, error) {
	return keyBeside(flag, file, "PAN hash key")
}

// keyBeside reads the 32-byte key (what it is for: what) kept beside the
// file of the flag in FILE.key, creating it when it does not exist yet
// (see panHashKey; --acquirer-state keeps its data key so too).
func keyBeside(flag, file, what string) ([]byte, error) {
	path := file + ".key"
	fail := func(err error) error {
		return fmt.Errorf("%s %s: %s %s: %w", flag, file, what, path, pathless(err))
	}
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != panHashKeyLen {
			return nil, badInput("%s %s: %s %s: %d bytes, want %d", flag, file, what, path, len(key), panHashKeyLen)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fail(err)
	}
	key = make([]byte, panHashKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another terminal process made it just now
		return keyBeside(flag, file, what)
	}
	if err != nil {
		return nil, fail(err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fail(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fail(err)
	}
	return key, f.Close()
}

// checkStoreFile checks the file of a flag that the command creates when
// it is missing (--journal, --torn-log) before anything is made beside it
// (its PAN hash key): a directory named in its place is bad input, as for
// a file to read; a file whose directory does not exist cannot be
// created, an I/O failure as for any file to write.
func checkStoreFile(flag, path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return badInput("%s %s: is a directory", flag, path)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return openError(flag, path, err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s %s: cannot be created: its directory does not exist", flag, path)
	}
	return nil
}

// sameFile reports whether the paths a and b name one file: the same
// path, or (both existing) links to one file.
func sameFile(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
