package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScenarioRunSuite(t *testing.T) {
	var out bytes.Buffer
	err := cmdScenario(context.Background(), []string{"run", "../../testdata/scenarios"}, &out)
	require.NoError(t, err, out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Greater(t, len(lines), 40)
	assert.Contains(t, out.String(), "PASS ec-offline-approved\n")
	assert.Regexp(t, `^\d+ scenarios: \d+ passed, 0 failed`, lines[len(lines)-1])
}

func TestScenarioRunFailure(t *testing.T) {
	dir := t.TempDir()
	card, err := filepath.Abs("../../testdata/cards/default.json")
	require.NoError(t, err)
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"name": "wrong", "card": "`+filepath.ToSlash(card)+`",
	  "transaction": {"type": "purchase", "amount": "12.34"},
	  "expect": {"outcome": "declined", "card_balance": "500.00"}}`), 0o644))
	var out bytes.Buffer
	err = cmdScenario(context.Background(), []string{"run", bad}, &out)
	require.Error(t, err)
	assert.Equal(t, "1 of 1 scenarios failed", err.Error())
	var ue usageError
	assert.False(t, errors.As(err, &ue), "a failing scenario is exit 1, not usage")
	assert.Equal(t, "FAIL wrong: outcome: want declined, got approved_offline; card_balance: want 500.00, got 487.66\n"+
		"1 scenarios: 0 passed, 1 failed\n", out.String())
}

func TestScenarioUsage(t *testing.T) {
	dir := t.TempDir()
	invalid := filepath.Join(dir, "invalid.json")
	require.NoError(t, os.WriteFile(invalid, []byte(`{"card": 1}`), 0o644))
	for _, args := range [][]string{nil, {"list"}, {"run"}, {"run", filepath.Join(dir, "missing")}, {"run", invalid}} {
		err := cmdScenario(context.Background(), args, &bytes.Buffer{})
		var ue usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	empty := t.TempDir()
	err := cmdScenario(context.Background(), []string{"run", empty}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "no *.json scenario files")
}
