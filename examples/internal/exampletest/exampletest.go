// SPDX-License-Identifier: Apache-2.0

// Package exampletest holds what the examples' tests share: running an
// example as a user would and reading its receipt. It is for tests only;
// an example itself depends on nothing here, so that a vendor can copy
// its one file. (A test serves a simulated card through pcscd with
// cardsim/vpcd/vpcdtest.Serve.)
package exampletest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const (
	// AID is the seed card's EC application.
	AID = "A000000333010101"
	// PAN is the seed card's PAN, which an example must never print.
	PAN = "6222021000123456781"
	// MaskedPAN is PAN as the examples print it.
	MaskedPAN = "622202*********6781"
)

// RunFunc is an example's run function.
type RunFunc func(ctx context.Context, args []string, w io.Writer) error

// Session is what one run of an example printed.
type Session struct {
	// Out is the whole output.
	Out string
	// Fields holds the values of the receipt lines ("label: value") by
	// label, in the order printed. Lines starting with "{" (JSON records)
	// are not receipt lines.
	Fields map[string][]string
}

// Field returns the last value printed under label, or "".
func (s Session) Field(label string) string {
	v := s.Fields[label]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// Parse splits an example's output into receipt fields.
func Parse(out string) Session {
	s := Session{Out: out, Fields: make(map[string][]string)}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "{") {
			continue
		}
		if label, value, ok := strings.Cut(line, ":"); ok {
			s.Fields[label] = append(s.Fields[label], strings.TrimSpace(value))
		}
	}
	return s
}

// Run runs the example with args, parses what it printed and checks that
// the full PAN was not printed. It returns run's error.
func Run(t *testing.T, run RunFunc, args ...string) (Session, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	s := Parse(out.String())
	assert.NotContains(t, s.Out, PAN, "the full PAN is never printed")
	return s, err
}
