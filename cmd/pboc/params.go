package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/params"
	"github.com/go-pboc/pboc/tlv"
)

// Default output files of the import commands.
const (
	defaultAIDFile   = "pboc-aid.txt"
	defaultCAKeyFile = "pboc-capk.json"
)

// cmdParams reads the UnionPay terminal parameter files (package params):
//
//	pboc params show   FILE                 decode AID (or CA key) records, one block each
//	pboc params import FILE [--out PATH]    check AID records; write them one a line in hex
//	pboc params export [--out PATH]         the default configuration's AIDs as records
//
// FILE is hex text (one record a line) or the raw records as downloaded.
// --asi 00-exact|00-partial chooses the reading of DF01, --allow-unknown
// skips (and lists) tags the reader does not know.
func cmdParams(args []string, w io.Writer) error {
	if len(args) == 0 {
		return usageError{"params needs a subcommand: show, import or export"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("params "+sub, flag.ContinueOnError)
	pf := registerFormat(fs, w)
	out := fs.String("out", defaultAIDFile, "file to write")
	binary := fs.Bool("binary", false, "with export: write the records' raw bytes instead of hex lines")
	switch sub {
	case "show", "import":
		data, err := pf.readFile(fs, args[1:])
		if err != nil {
			return err
		}
		if sub == "show" {
			return showParams(w, data, pf.format())
		}
		return importAIDs(w, data, pf.format(), *out)
	case "export":
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if err := pf.check(); err != nil {
			return err
		}
		apps := kernel.DefaultConfig().Applications
		return writeRecordFile(w, *out, *binary, len(apps), "AID parameter", func(b io.Writer, enc params.Encoding) error {
			return params.WriteAIDs(b, apps, pf.format(), enc)
		})
	}
	return usageError{fmt.Sprintf("unknown params subcommand %q (want show, import or export)", sub)}
}

// formatFlags are the reading choices every parameter command takes.
type formatFlags struct {
	asi          string
	allowUnknown bool
	w            io.Writer
}

func registerFormat(fs *flag.FlagSet, w io.Writer) *formatFlags {
	pf := &formatFlags{w: w}
	fs.StringVar(&pf.asi, "asi", "00-exact", "reading of DF01: 00-exact (00 exact match, 01 partial) or 00-partial")
	fs.BoolVar(&pf.allowUnknown, "allow-unknown", false, "skip tags the reader does not know (listed) instead of refusing the record")
	return pf
}

func (pf *formatFlags) format() params.Format {
	f := params.Format{AllowUnknown: pf.allowUnknown}
	if pf.asi == "00-partial" {
		f.ASI = params.ASIZeroPartial
	}
	f.Skipped = func(kind string, n int, tag tlv.Tag) {
		fmt.Fprintf(pf.w, "%s record %d: tag %s skipped (unknown)\n", kind, n, tag)
	}
	return f
}

// fileAndFlags parses flags given before or after the one FILE argument.
func fileAndFlags(fs *flag.FlagSet, args []string) (string, error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return "", usageError{err.Error()}
	}
	if fs.NArg() == 0 {
		return "", usageError{fs.Name() + " needs FILE"}
	}
	file := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return "", err
	}
	return file, nil
}

// readFile parses the flags and the FILE argument and reads FILE.
func (pf *formatFlags) readFile(fs *flag.FlagSet, args []string) ([]byte, error) {
	file, err := fileAndFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if err := pf.check(); err != nil {
		return nil, err
	}
	return os.ReadFile(file)
}

// check refuses an --asi value that is neither reading.
func (pf *formatFlags) check() error {
	if pf.asi != "00-exact" && pf.asi != "00-partial" {
		return usageError{fmt.Sprintf("--asi %q: want 00-exact or 00-partial", pf.asi)}
	}
	return nil
}

// showParams prints every record of an AID or CA key file.
func showParams(w io.Writer, data []byte, f params.Format) error {
	recs, enc, err := params.Split(data)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		if _, isKey, _ := tlv.Find(recs[0], 0x9F22); isKey {
			return showCAKeys(w, data, f)
		}
	}
	apps, err := params.ReadAIDs(data, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d AID parameter records (%s, DF01 read as %s)\n", len(apps), enc, f.ASI)
	for i, a := range apps {
		showAID(w, i+1, a)
	}
	return nil
}

func showAID(w io.Writer, n int, a kernel.Application) {
	match := "exact match"
	if a.PartialMatch {
		match = "partial match"
	}
	fmt.Fprintf(w, "record %d: AID %X (%s), version %X\n", n, a.AID, match, a.Version)
	fmt.Fprintf(w, "  TAC default %X  online %X  denial %X\n", a.TACDefault, a.TACOnline, a.TACDenial)
	fmt.Fprintf(w, "  floor limit %s, random selection below %s at %d%% up to %d%%\n", a.FloorLimit, a.RandomThreshold, a.TargetPercent, a.MaxTargetPercent)
	fmt.Fprintf(w, "  default DDOL %s, default TDOL %s, online PIN %s\n", orNone(a.DefaultDDOL), orNone(a.TDOL), yesNo(a.OnlinePIN))
	if a.EC {
		fmt.Fprintf(w, "  electronic cash: terminal limit %s\n", a.ECTransactionLimit)
	} else {
		fmt.Fprintf(w, "  electronic cash: off (no 9F7B)\n")
	}
	fmt.Fprintf(w, "  contactless: floor limit %s, transaction limit %s, CVM limit %s", limit(a.ContactlessFloorLimit, "9F1B"), limit(a.ContactlessLimit, "none"), limit(a.CVMRequiredLimit, "none"))
	if a.TTQ != [4]byte{} {
		fmt.Fprintf(w, ", TTQ %X", a.TTQ)
	}
	fmt.Fprintln(w)
}

func orNone(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	return fmt.Sprintf("%X", b)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func limit(a kernel.Amount, zero string) string {
	if a == 0 {
		return zero
	}
	return a.String()
}

func showCAKeys(w io.Writer, data []byte, f params.Format) error {
	store, err := params.ReadCAKeys(data, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d CA public key records, every DF03 checksum verified\n", store.Len())
	for _, fd := range capk.Check(store, time.Now()) {
		fmt.Fprintln(w, fd.String())
	}
	return nil
}

// importAIDs checks an AID file and writes it back normalised.
func importAIDs(w io.Writer, data []byte, f params.Format, out string) error {
	apps, err := params.ReadAIDs(data, f)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := params.WriteAIDs(&b, apps, f, params.Hex); err != nil {
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return err
	}
	for _, a := range apps {
		fmt.Fprintf(w, "AID %X ok\n", a.AID)
	}
	fmt.Fprintf(w, "%d AID parameter records checked and written to %s\n", len(apps), out)
	return nil
}

// cmdCAKeyRecords is `pboc capk import FILE [--out PATH]`: check every CA
// key record (DF03 included) and write the keys as a CA key JSON file
// (capk/FORMAT.md); and `pboc capk export [--test-ca] [--binary] [--out
// PATH]`: the built-in keys as CA key records.
func cmdCAKeyRecords(args []string, w io.Writer) error {
	sub := args[0]
	fs := flag.NewFlagSet("capk "+sub, flag.ContinueOnError)
	pf := registerFormat(fs, w)
	if sub == "export" {
		out := fs.String("out", "pboc-capk.txt", "file to write")
		testCA := fs.Bool("test-ca", false, "also the simulator's test CA keys (never in production)")
		binary := fs.Bool("binary", false, "write the records' raw bytes instead of hex lines")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if err := pf.check(); err != nil {
			return err
		}
		store := capk.Builtin()
		if *testCA {
			store.Merge(capk.TestKeys())
		}
		return writeRecordFile(w, *out, *binary, store.Len(), "CA key", func(b io.Writer, enc params.Encoding) error {
			return params.WriteCAKeys(b, store.Keys(), pf.format(), enc)
		})
	}
	out := fs.String("out", defaultCAKeyFile, "CA key JSON file to write")
	data, err := pf.readFile(fs, args[1:])
	if err != nil {
		return err
	}
	store, err := params.ReadCAKeys(data, pf.format())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := store.Save(&b); err != nil {
		return err
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		return err
	}
	for _, fd := range capk.Check(store, time.Now()) {
		fmt.Fprintln(w, fd.String())
	}
	fmt.Fprintf(w, "%d CA keys checked and written to %s\n", store.Len(), *out)
	return nil
}

// writeRecordFile writes n records of a kind to the file out with write, in
// hex lines or (binary) raw bytes, and says so.
func writeRecordFile(w io.Writer, out string, binary bool, n int, kind string, write func(io.Writer, params.Encoding) error) error {
	enc := params.Hex
	if binary {
		enc = params.Binary
	}
	var b bytes.Buffer
	if err := write(&b, enc); err != nil {
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %d %s records (%s) to %s\n", n, kind, enc, out)
	return nil
}
