// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errorDir is a directory of inputs a user gets wrong: a copy of the
// default card and of the seed fuel card (for --save), an empty file, a
// directory, files of garbage, key files in bad hex and of a bad length,
// and a clearing journal one sale wrote.
func errorDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyCard(t, dir)
	writeFuelCard(t, dir)
	for name, data := range map[string]string{
		"empty":         "",
		"garbage":       "garbage",
		"damaged.state": "garbage", // its key is made before it is read: acquirer.OpenState needs it
		"badhex.key":    "00112233zz\n",
		"short.key":     "0011\n",
		"data.key":      "00112233445566778899AABBCCDDEEFF\n",
		"short.dat.key": "12345",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir"), 0o755))
	code, _, errOut := runCLI(t, "purchase", "--amount", "1", "--card", filepath.Join(dir, "card.json"), "--save",
		"--journal", filepath.Join(dir, "j.dat"))
	require.Equal(t, 0, code, errOut)
	return dir
}

// Every error is one line, the command's name once, each path once, no Go
// package noise, and the exit status of the table: 1 a failure to write
// or of the transaction, 2 bad input. {dir} is errorDir.
func TestErrorLines(t *testing.T) {
	dir := errorDir(t)
	for _, c := range []struct {
		rule string
		args string
		want string
		code int
	}{
		// Hex, wherever it is typed or named, says which character is not hex.
		{"hex in a key file shows the bad character", "journal list --journal {dir}/j.dat --data-key-file {dir}/badhex.key",
			"pboc journal: --data-key-file {dir}/badhex.key: not hex: 'z' (U+007A) at character 9", 2},
		{"a key of the wrong size says the sizes", "journal list --journal {dir}/j.dat --data-key-file {dir}/short.key",
			"pboc journal: --data-key-file {dir}/short.key: 2 bytes, want an AES key of 16, 24 or 32 bytes in hex", 2},
		{"an ATR in bad hex", "serve-card --atr 3BZZ", `pboc serve-card: --atr "3BZZ": not hex: 'Z' (U+005A) at character 3`, 2},
		{"a line of parameter records in bad hex names the file once, params: not said", "capk import {dir}/garbage --out {dir}/keys.json",
			"pboc capk: {dir}/garbage: CA key record 1: malformed: line 1: not hex: 'g' (U+0067) at character 1", 2},
		{"a CA key file that is not JSON, capk: said once", "capk check {dir}/garbage",
			"pboc capk: {dir}/garbage: not a CA key file: bad format: invalid character 'g' looking for beginning of value", 2},
		{"an --out that is a directory names it once", "params export --out {dir}/dir", "pboc params: --out {dir}/dir: is a directory", 1},
		{"an --out in a directory that does not exist", "capk export --out {dir}/none/k.txt",
			"pboc capk: --out {dir}/none/k.txt: no such file or directory", 1},
		{"an ATR of odd length", "serve-card --atr 3B0", `pboc serve-card: --atr "3B0": not hex: an odd number of digits (3)`, 2},

		// The files a sale writes: a directory or a damaged file named is bad
		// input, a file that cannot be created an I/O failure; nothing is
		// made beside a file refused (no FILE.key).
		{"a directory as the journal", "purchase --amount 1 --card {dir}/card.json --save --journal {dir}/dir",
			"pboc purchase: --journal {dir}/dir: is a directory", 2},
		{"a directory as the torn log", "purchase --amount 1 --card {dir}/card.json --save --torn-log {dir}/dir",
			"pboc purchase: --torn-log {dir}/dir: is a directory", 2},
		{"a damaged torn log", "purchase --amount 1 --card {dir}/card.json --save --torn-log {dir}/garbage",
			"pboc purchase: --torn-log {dir}/garbage: corrupt at offset 0: bad frame magic or version; 7 bytes to the end are not an unfinished frame", 2},
		{"a journal of sales as the torn log", "purchase --amount 1 --card {dir}/card.json --save --torn-log {dir}/j.dat",
			`pboc purchase: --torn-log {dir}/j.dat: corrupt at offset 0: event 0 is not a torn-log event (op "")`, 2},
		{"a journal in a directory that does not exist", "purchase --amount 1 --card {dir}/card.json --save --journal {dir}/none/j.dat",
			"pboc purchase: --journal {dir}/none/j.dat: cannot be created: its directory does not exist", 1},
		{"a torn log in a directory that does not exist", "load --amount 1 --card {dir}/card.json --save --torn-log {dir}/none/t.dat",
			"pboc load: --torn-log {dir}/none/t.dat: cannot be created: its directory does not exist", 1},
		{"the journal and the torn log in one file", "purchase --amount 1 --card {dir}/card.json --save --journal {dir}/t.dat --torn-log {dir}/./t.dat",
			"pboc purchase: --journal and --torn-log name the same file {dir}/t.dat: each needs its own", 2},
		{"a data key without a journal", "purchase --amount 1 --card {dir}/card.json --data-key-file {dir}/data.key",
			"pboc purchase: --data-key-file needs --journal FILE: the key seals the PAN of the journal's records", 2},
		{"a PAN hash key of the wrong size", "purchase --amount 1 --card {dir}/card.json --save --journal {dir}/short.dat",
			"pboc purchase: --journal {dir}/short.dat: PAN hash key {dir}/short.dat.key: 5 bytes, want 32", 2},
		{"a purse journal in a directory that does not exist", "purse balance --card {dir}/fuel.json --save --journal {dir}/none/p.dat",
			"pboc purse: --journal {dir}/none/p.dat: cannot be created: its directory does not exist", 1},
		{"a directory as the purse state", "purse purchase --amount 1 --card {dir}/fuel.json --save --journal {dir}/p.dat --state {dir}/dir",
			"pboc purse: --state {dir}/dir: is a directory", 2},
		{"an empty purse state", "purse purchase --amount 1 --card {dir}/fuel.json --save --journal {dir}/p.dat --state {dir}/empty",
			"pboc purse: --state {dir}/empty: empty file: a torn or damaged state is not reset; restore it, or remove it to start afresh", 2},
		{"a purse state that cannot be created is said before the PSAM", "purse purchase --amount 1 --card {dir}/fuel.json --save --journal {dir}/p.dat --state {dir}/none/s.json",
			"pboc purse: --state {dir}/none/s.json: cannot be created: its directory does not exist", 1},

		// Addresses are checked before anything dials or listens.
		{"an acquirer without a port", "purchase --amount 1 --acquirer bogus", `pboc purchase: --acquirer "bogus": want HOST:PORT`, 2},
		{"a purse acquirer port out of range", "purse load --amount 1 --acquirer 127.0.0.1:99999",
			`pboc purse: --acquirer "127.0.0.1:99999": port "99999", want 1 to 65535`, 2},
		{"vpcd's address without a port (retried forever before)", "serve-card --addr bogus", `pboc serve-card: --addr "bogus": want HOST:PORT`, 2},
		{"an acquirer to serve on no port", "serve-acquirer --addr 127.0.0.1:x", `pboc serve-acquirer: --addr "127.0.0.1:x": port "x", want 0 to 65535`, 2},

		// The acquirer link's state file is refused as the journal is,
		// before the acquirer is dialled (nothing listens at port 1).
		{"a directory as the acquirer state", "purchase --amount 1 --acquirer 127.0.0.1:1 --acquirer-state {dir}/dir",
			"pboc purchase: --acquirer-state {dir}/dir: is a directory", 2},
		{"a damaged acquirer state", "purchase --amount 1 --acquirer 127.0.0.1:1 --acquirer-state {dir}/damaged.state",
			"pboc purchase: --acquirer-state {dir}/damaged.state: corrupt at offset 0: bad frame magic or version; 7 bytes to the end are not an unfinished frame", 2},
		{"a journal of sales as the acquirer state", "purchase --amount 1 --acquirer 127.0.0.1:1 --acquirer-state {dir}/j.dat",
			`pboc purchase: --acquirer-state {dir}/j.dat: state log: event 0: event "" for unknown transaction ""`, 2},
		{"an acquirer state in a directory that does not exist", "purchase --amount 1 --acquirer 127.0.0.1:1 --acquirer-state {dir}/none/a.state",
			"pboc purchase: --acquirer-state {dir}/none/a.state: cannot be created: its directory does not exist", 1},

		// Card profiles: the fuel card's errors as the EMV card's, without
		// cardsim's own words again.
		{"garbage as a fuel card", "purse balance --card {dir}/garbage",
			"pboc purse: --card {dir}/garbage: not a fuel-card profile: invalid character 'g' looking for beginning of value", 2},
		{"an EMV card as the acquirer's fuel card", "serve-acquirer --fuel-card {dir}/card.json",
			`pboc serve-acquirer: --fuel-card {dir}/card.json: not a fuel-card profile: json: unknown field "language"`, 2},
		{"purse without a subcommand says purse once", "purse", "pboc purse: balance, records, load, unload, purchase or dispense needed (pboc purse -h)", 2},
		{"the purse journal and its state in one file", "purse purchase --amount 1 --card {dir}/fuel.json --save --journal {dir}/p.dat --state {dir}/p.dat",
			"pboc purse: --journal and --state name the same file {dir}/p.dat: each needs its own", 2},
	} {
		t.Run(c.rule, func(t *testing.T) {
			args := strings.Fields(strings.ReplaceAll(c.args, "{dir}", dir))
			code, _, errOut := runCLI(t, args...)
			assert.Equal(t, strings.ReplaceAll(c.want, "{dir}", dir)+"\n", errOut)
			assert.Equal(t, c.code, code)
		})
	}
	// Full-width digits are the digits they show in a batch number too.
	code, out, errOut := runCLI(t, "journal", "batch", "--journal", filepath.Join(dir, "j.dat"), "--batch", "１")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "batch 000001 (open)\n"), out)

	// A scenario run reports each file on its ERROR line, once, and what
	// is wrong in words (not encoding/json's "EOF").
	code, out, errOut = runCLI(t, "scenario", "run", filepath.Join(dir, "empty"), filepath.Join(dir, "dir"))
	assert.Equal(t, 2, code)
	assert.Equal(t, "ERROR "+dir+"/empty: empty file\nERROR "+dir+"/dir: no *.json scenario files\n0 scenarios: 0 passed, 0 failed; 2 invalid file(s) not run\n", out)
	assert.Equal(t, "pboc scenario: 2 file(s) could not be run (ERROR lines above)\n", errOut)
	code, _, errOut = runCLI(t, "scenario", "list")
	assert.Equal(t, 2, code)
	assert.Equal(t, `pboc scenario: unknown scenario subcommand "list" (want run DIR|FILE...)`+"\n", errOut)

	keys, err := filepath.Glob(filepath.Join(dir, "*.key"))
	require.NoError(t, err)
	for _, k := range keys {
		assert.Contains(t, []string{"badhex.key", "short.key", "data.key", "j.dat.key", "short.dat.key", "p.dat.key", "damaged.state.key"}, filepath.Base(k), "a key made beside a file refused")
	}
	_, err = os.Stat(filepath.Join(dir, "t.dat"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the refused journal not created")
}
