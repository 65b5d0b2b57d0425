// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScenarioRunSuite(t *testing.T) {
	code, out, errOut := runCLI(t, "scenario", "run", "../../testdata/scenarios")
	require.Equal(t, 0, code, errOut+out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Greater(t, len(lines), 40)
	assert.Contains(t, out, "PASS ec-offline-approved\n")
	assert.Regexp(t, `^\d+ scenarios: \d+ passed, 0 failed`, lines[len(lines)-1])
	assert.Empty(t, errOut)
}

// writeScenario writes a scenario file whose card path is relative to the
// scenario file itself.
func writeScenario(t *testing.T, dir, name, expect string) string {
	t.Helper()
	cards := filepath.Join(dir, "cards")
	require.NoError(t, os.MkdirAll(cards, 0o755))
	src, err := os.ReadFile("../../testdata/cards/default.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cards, "default.json"), src, 0o644))
	path := filepath.Join(dir, name+".json")
	require.NoError(t, os.WriteFile(path, []byte(`{"name": "`+name+`", "card": "cards/default.json",
	  "transaction": {"type": "purchase", "amount": "12.34"}, "expect": `+expect+`}`), 0o644))
	return path
}

// A failing scenario is exit status 1 with the differences on its line,
// the summary and one error line; a card path is relative to the scenario
// file, not the working directory.
func TestScenarioRunFailure(t *testing.T) {
	dir := t.TempDir()
	bad := writeScenario(t, dir, "wrong", `{"outcome": "declined", "card_balance": "500.00"}`)
	t.Chdir(t.TempDir())
	code, out, errOut := runCLI(t, "scenario", "run", bad)
	assert.Equal(t, 1, code, "a failing scenario is exit 1, not bad input")
	assert.Equal(t, "FAIL wrong: outcome: want declined, got approved_offline; card_balance: want 500.00, got 487.66\n"+
		"1 scenarios: 0 passed, 1 failed\n", out)
	assert.Equal(t, "pboc scenario: 1 of 1 scenarios failed\n", errOut)
}

// A bad file is reported and the others still run; --json and -v are
// flags wherever they stand, not paths.
func TestScenarioRunBadFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	writeScenario(t, dir, "good", `{"outcome": "approved_offline", "card_balance": "487.66"}`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"card": 1}`), 0o644))
	writeScenario(t, dir, "zz-also-good", `{"outcome": "approved_offline"}`)

	code, out, errOut := runCLI(t, "scenario", "run", dir, "-v")
	assert.Equal(t, 2, code, "an invalid file is bad input")
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.True(t, strings.HasPrefix(lines[0], "ERROR "+filepath.Join(dir, "broken.json")+": card: "), lines[0])
	assert.Contains(t, out, "PASS good\n    outcome approved_offline, reason ec_approved")
	assert.Contains(t, out, "15 APDUs: SELECT, READ RECORD, READ RECORD, SELECT, GET PROCESSING OPTIONS")
	assert.Contains(t, out, "PASS zz-also-good\n")
	assert.Equal(t, "2 scenarios: 2 passed, 0 failed; 1 invalid file(s) not run", lines[len(lines)-1])
	assert.Equal(t, "pboc scenario: 1 file(s) could not be run (ERROR lines above)\n", errOut)

	code, out, _ = runCLI(t, "scenario", "--json", "run", dir, filepath.Join(dir, "missing.json"))
	assert.Equal(t, 2, code)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out)
	var rows []map[string]any
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		rows = append(rows, m)
	}
	assert.Equal(t, "ERROR", rows[0]["status"])
	assert.Equal(t, "PASS", rows[1]["status"])
	assert.Equal(t, "approved_offline", rows[1]["outcome"])
	assert.Equal(t, "ERROR", rows[3]["status"])
	assert.Equal(t, "no such file or directory", rows[3]["error"])
	assert.EqualValues(t, 2, rows[4]["passed"])
	assert.EqualValues(t, 2, rows[4]["invalid_files"])
}

func TestScenarioUsage(t *testing.T) {
	for _, args := range [][]string{{"scenario"}, {"scenario", "list"}, {"scenario", "run"}, {"scenario", "run", "--bogus", "x"}} {
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, 2, code, "%v: %s", args, errOut)
	}
	code, out, _ := runCLI(t, "scenario", "run", t.TempDir())
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "no *.json scenario files")
}
