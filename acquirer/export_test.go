// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"sync"

	"github.com/go-pboc/pboc/journal"
)

// SetStepHook sets the hook the crash test kills the process from (test
// builds only).
func SetStepHook(f func(step string)) { stepHook = f }

// memLog is an eventLog in memory.
type memLog struct {
	mu sync.Mutex
	p  [][]byte
}

func (m *memLog) Append(_ context.Context, p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.p = append(m.p, append([]byte(nil), p...))
	return nil
}

func (m *memLog) Payloads(context.Context) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.p...), nil
}

func (m *memLog) Rewrite(_ context.Context, p [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.p = nil
	for _, b := range p {
		m.p = append(m.p, append([]byte(nil), b...))
	}
	return nil
}

func (m *memLog) Close() error { return nil }

// NewVolatileState is a State in memory, for benchmarks that measure the
// wire without the disk (test builds only: nothing survives a crash).
func NewVolatileState(key journal.DataKey) *State {
	st, _ := newState(context.Background(), &memLog{}, key)
	return st
}

// Connected reports whether the link holds a live connection (test builds
// only: the fault table waits for the link to notice a hang-up).
func (l *Link) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return false
	}
	select {
	case <-l.conn.Done():
		return false
	default:
		return true
	}
}

// ValidYYMM exposes validYYMM to the tests.
var ValidYYMM = validYYMM
