// SPDX-License-Identifier: Apache-2.0

package exampletest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	s := Parse("title line\nEC balance:            5.00\nbalance:  1\nbalance: 2\n{\"time\":\"x\"}\n")
	assert.Equal(t, "5.00", s.Field("EC balance"))
	assert.Equal(t, []string{"1", "2"}, s.Fields["balance"])
	assert.Equal(t, "2", s.Field("balance"), "the last one")
	assert.Empty(t, s.Field("missing"))
	assert.NotContains(t, s.Fields, `{"time"`, "a JSON record is not a receipt line")
}

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	s, err := Run(t, func(_ context.Context, args []string, w io.Writer) error {
		fmt.Fprintf(w, "args: %d\nPAN: %s\n", len(args), MaskedPAN)
		return boom
	}, "a", "b")
	require.ErrorIs(t, err, boom)
	assert.Equal(t, "2", s.Field("args"))
	assert.Equal(t, MaskedPAN, s.Field("PAN"))
}
