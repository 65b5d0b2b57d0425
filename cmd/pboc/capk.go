// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/capk"
)

// cmdCAPK implements "pboc capk list [FILE]", "pboc capk check FILE", and
// (params.go) "pboc capk import FILE" and "pboc capk export".
func cmdCAPK(_ context.Context, e *env, args []string) error {
	f := newFlags(e, "capk", "list [FILE] | check FILE | import FILE [--out FILE] | export [--test-ca] [--binary] [--out FILE]", `
list prints the built-in CA public keys (the published UnionPay keys), or
the keys of a CA key file, one line each. check reads a CA key file and
reports every key: "ok", "warn" for an expired key (a warning: the file is
still good), "FAIL" with every problem of the key (fields that do not
parse, size, exponent, SM2 point, checksum, duplicates); then a summary.
Exit status 1 when a key failed, 2 when the file is missing or not a CA key
file. Format: capk/FORMAT.md.
import reads UnionPay CA key TLV records (as the 370 download gives them,
hex lines or raw bytes), verifies every DF03 checksum and writes the keys
as a CA key file (default pboc-capk.json); export writes the built-in keys
(and with --test-ca the simulator's) as such records (default
pboc-capk.txt).`)
	pf := registerFormat(f)
	out := f.fs.String("out", "", "`FILE` to write (import, export)")
	testCA := f.fs.Bool("test-ca", false, "export the simulator's test CA keys too (never in production)")
	binary := f.fs.Bool("binary", false, "export the records' raw bytes instead of hex lines")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0 && (pos[0] == "import" || pos[0] == "export"):
		return capkRecords(e, pos, pf, *out, *testCA, *binary)
	case len(pos) == 0:
		return badInput("list [FILE] or check FILE needed")
	case pos[0] == "list" && len(pos) <= 2:
		return capkList(e, pos[1:])
	case pos[0] == "check" && len(pos) == 2:
		return capkCheck(e, pos[1])
	case pos[0] == "check":
		return badInput("check needs one FILE")
	default:
		return badInput("unknown capk subcommand %q (want list [FILE], check FILE, import FILE or export)", pos[0])
	}
}

func capkList(e *env, file []string) error {
	store := capk.Builtin()
	if len(file) == 1 {
		b, err := readInput("", file[0], capk.MaxFileSize)
		if err != nil {
			return err
		}
		if store, err = capk.Load(bytes.NewReader(b)); err != nil {
			return badInput("%s: %v (pboc capk check %s lists every problem)", file[0], err, file[0])
		}
	}
	for _, fd := range capk.Check(store, time.Now()) {
		fmt.Fprintln(e.stdout, fd.String())
	}
	return nil
}

func capkCheck(e *env, path string) error {
	b, err := readInput("", path, capk.MaxFileSize)
	if err != nil {
		return err
	}
	rep, err := capk.Inspect(bytes.NewReader(b), time.Now())
	if err != nil {
		return badInput("%s: not a CA key file: %v", path, err)
	}
	warned := 0
	for _, fd := range rep.Keys {
		status := "ok  "
		switch {
		case !fd.OK():
			status = "FAIL"
		case fd.Expired:
			status = "warn"
			warned++
		}
		fmt.Fprintf(e.stdout, "%s keys[%d] %s\n", status, fd.Entry, fd.String())
	}
	for _, p := range rep.Revoked {
		fmt.Fprintf(e.stdout, "FAIL %v\n", p)
	}
	failed := rep.Failed()
	keysFailed := failed - len(rep.Revoked)
	fmt.Fprintf(e.stdout, "%d keys: %d ok, %d expired (warning), %d failed", len(rep.Keys), len(rep.Keys)-keysFailed-warned, warned, keysFailed)
	if len(rep.Revoked) > 0 {
		fmt.Fprintf(e.stdout, "; %d bad revocation entries", len(rep.Revoked))
	}
	fmt.Fprintln(e.stdout)
	if failed > 0 {
		return fmt.Errorf("%s: %d problem entries (listed above)", path, failed)
	}
	return nil
}
