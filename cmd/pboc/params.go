// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/params"
	"github.com/go-pboc/pboc/tlv"
)

// Default output files of the parameter commands.
const (
	defaultAIDFile     = "pboc-aid.txt"
	defaultCAKeyFile   = "pboc-capk.json"
	defaultCAKeyRecord = "pboc-capk.txt"
)

// cmdParams implements "pboc params show|import FILE" and "pboc params
// export".
func cmdParams(_ context.Context, e *env, args []string) error {
	f := newFlags(e, "params", "show FILE | import FILE [--out FILE] | export [--out FILE] [--binary]", `
Reads the UnionPay terminal parameter records an acquirer downloads (IC
parameters 380, CA keys 370; package params). FILE is hex text, one record
a line ('#' comments and blank lines ignored), or the records' raw bytes as
downloaded. show decodes every AID parameter record (or CA key record) of
FILE; import checks FILE's AID records and writes them back normalised,
one a line in hex; export writes the default configuration's AIDs as
records, a lab's starting file. A record that does not read (the error
names the record and the tag) is bad input (exit status 2).`)
	pf := registerFormat(f)
	out := f.fs.String("out", defaultAIDFile, "`FILE` to write (import, export)")
	binary := f.fs.Bool("binary", false, "export the records' raw bytes instead of hex lines")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := pf.check(); err != nil {
		return err
	}
	switch {
	case len(pos) == 2 && (pos[0] == "show" || pos[0] == "import"):
		data, err := readInput("", pos[1], params.MaxFileLen)
		if err != nil {
			return err
		}
		if pos[0] == "show" {
			return paramsError(pos[1], showParams(e, data, pf.format(e)))
		}
		return paramsError(pos[1], importAIDs(e, data, pf.format(e), *out))
	case len(pos) == 1 && pos[0] == "export":
		apps := kernel.DefaultConfig().Applications
		return writeRecordFile(e, *out, *binary, len(apps), "AID parameter", func(w io.Writer, enc params.Encoding) error {
			return params.WriteAIDs(w, apps, pf.format(e), enc)
		})
	case len(pos) == 0:
		return badInput("show FILE, import FILE or export needed")
	case pos[0] == "show" || pos[0] == "import":
		return badInput("%s needs one FILE", pos[0])
	default:
		return badInput("unknown params subcommand %q (want show, import or export)", pos[0])
	}
}

// formatFlags are the reading choices of every parameter command.
type formatFlags struct {
	asi          string
	allowUnknown bool
}

func registerFormat(f *flags) *formatFlags {
	pf := &formatFlags{}
	f.fs.StringVar(&pf.asi, "asi", "00-exact", "reading of DF01: 00-exact (00 exact match, 01 partial) or 00-partial")
	f.fs.BoolVar(&pf.allowUnknown, "allow-unknown", false, "skip (and list) tags the reader does not know instead of refusing the record")
	return pf
}

// check refuses an --asi value that is neither reading.
func (pf *formatFlags) check() error {
	if pf.asi != "00-exact" && pf.asi != "00-partial" {
		return badInput("--asi %q: want 00-exact or 00-partial", pf.asi)
	}
	return nil
}

func (pf *formatFlags) format(e *env) params.Format {
	f := params.Format{AllowUnknown: pf.allowUnknown}
	if pf.asi == "00-partial" {
		f.ASI = params.ASIZeroPartial
	}
	f.Skipped = func(kind string, n int, tag tlv.Tag) {
		fmt.Fprintf(e.stderr, "%s record %d: tag %s skipped (unknown)\n", kind, n, tag)
	}
	return f
}

// paramsError sorts a reader's error into the exit-status table: a CA key
// that fails its checksum or its checks is a failed check (1), like pboc
// capk check; a file that does not read is bad input (2), said as "FILE:
// AID record N, tag T: …" without the package's "params:" (pboc capk import
// said "pboc capk: params: …").
func paramsError(path string, err error) error {
	said := func() error {
		return fmt.Errorf("%s: %w", path, &reworded{strings.TrimPrefix(err.Error(), "params: "), err})
	}
	var re *params.RecordError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, params.ErrChecksum), errors.Is(err, params.ErrInvalid):
		return said()
	case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return err // writing the output failed
	case errors.As(err, &re) || isParamsSentinel(err):
		return &inputError{said()}
	}
	return err
}

func isParamsSentinel(err error) bool {
	for _, s := range []error{params.ErrFormat, params.ErrMissing, params.ErrUnknownTag, params.ErrDuplicate,
		params.ErrTooLarge, params.ErrUnsupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// showParams prints every record of an AID or CA key file.
func showParams(e *env, data []byte, f params.Format) error {
	recs, enc, err := params.Split(data)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		if _, isKey, _ := tlv.Find(recs[0], 0x9F22); isKey {
			return showCAKeys(e, data, f)
		}
	}
	apps, err := params.ReadAIDs(data, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d AID parameter records (%s, DF01 read as %s)\n", len(apps), enc, f.ASI)
	for i, a := range apps {
		showAID(e.stdout, i+1, a)
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
	fmt.Fprintf(w, "  contactless: floor limit %s, transaction limit %s, CVM limit %s", limit(a.ContactlessFloorLimit, "9F1B"),
		limit(a.ContactlessLimit, "none"), limit(a.CVMRequiredLimit, "none"))
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

func showCAKeys(e *env, data []byte, f params.Format) error {
	store, err := params.ReadCAKeys(data, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d CA public key records, every DF03 checksum verified\n", store.Len())
	for _, fd := range capk.Check(store, time.Now()) {
		fmt.Fprintln(e.stdout, fd.String())
	}
	return nil
}

// importAIDs checks an AID file and writes it back normalised.
func importAIDs(e *env, data []byte, f params.Format, out string) error {
	apps, err := params.ReadAIDs(data, f)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := params.WriteAIDs(&b, apps, f, params.Hex); err != nil {
		return err
	}
	if err := writeOut(out, b.Bytes()); err != nil {
		return err
	}
	for _, a := range apps {
		fmt.Fprintf(e.stdout, "AID %X ok\n", a.AID)
	}
	fmt.Fprintf(e.stdout, "%d AID parameter records checked and written to %s\n", len(apps), out)
	return nil
}

// capkRecords implements "pboc capk import FILE" (check every CA key
// record, DF03 included, and write the keys as a CA key JSON file,
// capk/FORMAT.md) and "pboc capk export" (the built-in keys as records).
func capkRecords(e *env, pos []string, pf *formatFlags, out string, testCA, binary bool) error {
	if err := pf.check(); err != nil {
		return err
	}
	if pos[0] == "export" {
		if out == "" {
			out = defaultCAKeyRecord
		}
		store := capk.Builtin()
		if testCA {
			store.Merge(capk.TestKeys())
		}
		return writeRecordFile(e, out, binary, store.Len(), "CA key", func(w io.Writer, enc params.Encoding) error {
			return params.WriteCAKeys(w, store.Keys(), pf.format(e), enc)
		})
	}
	if len(pos) != 2 {
		return badInput("import needs one FILE")
	}
	if out == "" {
		out = defaultCAKeyFile
	}
	data, err := readInput("", pos[1], params.MaxFileLen)
	if err != nil {
		return err
	}
	store, err := params.ReadCAKeys(data, pf.format(e))
	if err != nil {
		return paramsError(pos[1], err)
	}
	var b bytes.Buffer
	if err := store.Save(&b); err != nil {
		return err
	}
	if err := writeOut(out, b.Bytes()); err != nil {
		return err
	}
	for _, fd := range capk.Check(store, time.Now()) {
		fmt.Fprintln(e.stdout, fd.String())
	}
	fmt.Fprintf(e.stdout, "%d CA keys checked and written to %s\n", store.Len(), out)
	return nil
}

// writeRecordFile writes n records of a kind to the file out with write, in
// hex lines or (binary) raw bytes, and says so.
func writeRecordFile(e *env, out string, binary bool, n int, kind string, write func(io.Writer, params.Encoding) error) error {
	enc := params.Hex
	if binary {
		enc = params.Binary
	}
	var b bytes.Buffer
	if err := write(&b, enc); err != nil {
		return err
	}
	if err := writeOut(out, b.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %d %s records (%s) to %s\n", n, kind, enc, out)
	return nil
}

// writeOut writes the --out file; a failure is an I/O failure naming the
// file once ("--out F: is a directory", not "--out: open F: …").
func writeOut(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("--out %s: %w", path, pathless(err))
	}
	return nil
}
