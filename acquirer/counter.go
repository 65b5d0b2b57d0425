// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/journal"
)

// Counter numbers the messages: a system trace audit number (field 11)
// for each, in the open batch (field 60.2), which settlement closes.
// journal.File and journal.Memory are Counters; give the link the same one
// the kernel numbers its transactions from (kernel.WithCounter), so that no
// trace number is used twice. Without one the link keeps its own in its
// State.
type Counter interface {
	// NextSTAN returns the next trace number and its batch, durably used.
	NextSTAN(ctx context.Context) (stan, batch uint32, err error)
	// OpenBatch returns the batch being filled.
	OpenBatch(ctx context.Context) (uint32, error)
	// SetBatch makes batch the open one (a sign-in reply's 60.2); it may
	// refuse while the open batch holds records.
	SetBatch(ctx context.Context, batch uint32) error
	// CloseBatch closes the open batch and returns the next.
	CloseBatch(ctx context.Context, c journal.BatchClose) (uint32, error)
}

// WithCounter numbers the link's messages from c (the journal's).
func WithCounter(c Counter) Option { return func(l *Link) { l.counter = c } }

var _ Counter = (*journal.File)(nil)

// stateCounter is the State's own Counter: trace numbers reserved 100 at a
// time in its log (a crash skips some, never reuses one) and the batch
// number.
type stateCounter struct{ st *State }

// NextSTAN reserves the next trace number from the state's log and
// returns it with the open batch (Counter).
func (c stateCounter) NextSTAN(ctx context.Context) (uint32, uint32, error) {
	stan, err := c.st.reserveSTAN(ctx)
	return stan, c.st.Batch(), err
}

// OpenBatch returns the state's batch number (Counter).
func (c stateCounter) OpenBatch(context.Context) (uint32, error) { return c.st.Batch(), nil }

// SetBatch takes the acquirer's batch number, only while the open batch
// has no transactions (Counter).
func (c stateCounter) SetBatch(ctx context.Context, batch uint32) error {
	if batch == 0 || batch > 999999 {
		return fmt.Errorf("%w: batch %d", ErrMessage, batch)
	}
	if len(c.st.txnsInBatch(c.st.Batch())) > 0 {
		return journal.ErrBatchInUse // a number changed under open transactions would split them
	}
	return c.st.append(ctx, event{T: evBatch, N: batch})
}

// CloseBatch records the batch settled and opens the next (Counter).
func (c stateCounter) CloseBatch(ctx context.Context, b journal.BatchClose) (uint32, error) {
	if b.Batch != c.st.Batch() {
		return c.st.Batch(), nil // closed already: a retry
	}
	if err := c.st.append(ctx, event{T: evSettled, N: b.Batch}); err != nil {
		return 0, err
	}
	return c.st.Batch(), nil
}

// number returns the trace number and batch of a message: the ones the
// kernel gave its request when it has (stan non-zero), else the
// counter's next.
func (l *Link) number(ctx context.Context, stan, batch uint32) (uint32, uint32, error) {
	if stan != 0 {
		return stan, batch, nil
	}
	stan, batch, err := l.counter.NextSTAN(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("acquirer: trace number: %w", err)
	}
	return stan, batch, nil
}
