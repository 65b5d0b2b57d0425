// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPurseScenarioDiffs(t *testing.T) {
	s, err := Parse([]byte(`{"name": "wrong", "purse": {
		"operation": {"type": "load", "amount": "200.00"},
		"expect": {"outcome": "declined", "ep_balance": "500.00", "reserve": "2000.00", "states": ["not_applied"], "apdus": 3}}}`), ".")
	require.NoError(t, err)
	r := Run(context.Background(), s)
	assert.Equal(t, StatusFail, r.Status)
	got := r.String()
	for _, want := range []string{"outcome: want declined, got approved", "ep_balance: want 500.00, got 700.00",
		"reserve: want 2000.00, got 1800.00", "states: want not_applied, got applied", "apdus: want 3, got 9"} {
		assert.Contains(t, got, want)
	}
}

func TestPurseScenarioErrors(t *testing.T) {
	for field, doc := range map[string]string{
		"purse.operation.type":      `{"purse": {"operation": {"type": "refund"}}}`,
		"purse.operation.amount":    `{"purse": {"operation": {"type": "load"}}}`,
		"purse.faults[0].device":    `{"purse": {"operation": {"type": "balance"}, "faults": [{"device": "pump", "on": "X", "kind": "remove"}]}}`,
		"purse.faults[0].kind":      `{"purse": {"operation": {"type": "balance"}, "faults": [{"on": "X", "kind": "melt"}]}}`,
		"purse.wallet":              `{"purse": {"wallet": "xx", "operation": {"type": "balance"}}}`,
		"purse.card":                `{"purse": {"card": {"asn": "1"}, "operation": {"type": "balance"}}}`,
		"purse":                     `{"card": "x.json", "purse": {"operation": {"type": "balance"}}}`,
		"purse.operation.station":   `{"purse": {"operation": {"type": "balance", "station": "mars"}}}`,
		"purse.unlock_counters":     `{"purse": {"unlock_counters": "twice", "operation": {"type": "balance"}}}`,
		"purse.then.operation.type": `{"purse": {"operation": {"type": "balance"}, "then": {"operation": {"type": ""}}}}`,
	} {
		_, err := Parse([]byte(doc), ".")
		var se *Error
		require.ErrorAs(t, err, &se, field)
		assert.True(t, strings.HasPrefix(se.Field, field), "%s: got field %q (%v)", field, se.Field, err)
	}
}
