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
// directory, a file of garbage, key files in bad hex and of a bad length,
// and a clearing journal one sale wrote.
func errorDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyCard(t, dir)
	writeFuelCard(t, dir)
	for name, data := range map[string]string{
		"empty":         "",
		"garbage":       "garbage",
		"badhex.key":    "00112233zz\n",
		"short.key":     "0011\n",
		"data.key":      "00112233445566778899AABBCCDDEEFF\n",
		"scenario.json": "",
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
		{"an ATR of odd length", "serve-card --atr 3B0", `pboc serve-card: --atr "3B0": not hex: an odd number of digits (3)`, 2},
	} {
		t.Run(c.rule, func(t *testing.T) {
			args := strings.Fields(strings.ReplaceAll(c.args, "{dir}", dir))
			code, _, errOut := runCLI(t, args...)
			assert.Equal(t, strings.ReplaceAll(c.want, "{dir}", dir)+"\n", errOut)
			assert.Equal(t, c.code, code)
		})
	}
}
