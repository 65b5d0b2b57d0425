// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-pboc/pboc/apdu"
)

// ErrCardRemoved is wrapped by the error Faulty returns once the card has
// been pulled out of the reader.
var ErrCardRemoved = errors.New("cardsim: card removed")

// ErrReader is wrapped by the error Faulty returns for a simulated reader
// failure.
var ErrReader = errors.New("cardsim: reader error")

// FaultKind is what goes wrong at a given APDU.
type FaultKind int

// The kinds of fault Faulty can inject.
const (
	// FaultRemove removes the card before the APDU executes: this and
	// every later APDU fails with ErrCardRemoved until Reinsert.
	FaultRemove FaultKind = iota + 1
	// FaultReaderError fails the APDU with ErrReader without reaching the
	// card; the card state is untouched.
	FaultReaderError
	// FaultTimeout fails the APDU with context.DeadlineExceeded without
	// reaching the card.
	FaultTimeout
	// FaultSW answers Fault.SW without executing the APDU.
	FaultSW
	// FaultTruncate executes the APDU and returns only the first half of
	// the response bytes.
	FaultTruncate
	// FaultCorrupt executes the APDU and flips (XOR FF) the middle byte of
	// the response data, or the last status byte when there is no data.
	FaultCorrupt
	// FaultTorn executes the APDU (its state changes happen) and then
	// reports the card removed: the torn transaction.
	FaultTorn
)

// String names the fault kind.
func (k FaultKind) String() string {
	switch k {
	case FaultRemove:
		return "remove"
	case FaultReaderError:
		return "reader-error"
	case FaultTimeout:
		return "timeout"
	case FaultSW:
		return "sw"
	case FaultTruncate:
		return "truncate"
	case FaultCorrupt:
		return "corrupt"
	case FaultTorn:
		return "torn"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is one injected failure.
type Fault struct {
	// At is the 0-based index of the APDU (counted over every Transmit
	// call on the Faulty) at which the fault strikes.
	At int
	// Kind is what happens.
	Kind FaultKind
	// SW is the status word answered by FaultSW.
	SW uint16
}

// Faulty wraps a transport (usually a *Card) and injects faults at chosen
// APDUs. It is safe for concurrent use.
type Faulty struct {
	mu      sync.Mutex
	inner   apdu.Transport
	faults  []Fault
	count   int
	removed bool
}

var _ apdu.Transport = (*Faulty)(nil)

// NewFaulty wraps inner with the given faults. When several faults share
// an index, the first listed applies.
func NewFaulty(inner apdu.Transport, faults ...Fault) *Faulty {
	return &Faulty{inner: inner, faults: append([]Fault(nil), faults...)}
}

// Count returns the number of APDUs seen so far, including those that
// failed.
func (f *Faulty) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// Removed reports whether the card is currently out of the reader.
func (f *Faulty) Removed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removed
}

// Reinsert puts the card back. If the wrapped transport has a Reset
// method (as *Card does) it is called: a reinserted card is powered up
// afresh, with no selection.
func (f *Faulty) Reinsert() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = false
	if r, ok := f.inner.(interface{ Reset() }); ok {
		r.Reset()
	}
}

// Transmit passes the command to the wrapped transport unless a fault
// strikes at this APDU.
func (f *Faulty) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	idx := f.count
	f.count++
	if f.removed {
		return nil, fmt.Errorf("cardsim: APDU %d: %w", idx, ErrCardRemoved)
	}
	fault, ok := f.faultAt(idx)
	if !ok {
		return f.inner.Transmit(ctx, command)
	}
	switch fault.Kind {
	case FaultRemove:
		f.removed = true
		return nil, fmt.Errorf("cardsim: APDU %d: %w", idx, ErrCardRemoved)
	case FaultReaderError:
		return nil, fmt.Errorf("cardsim: APDU %d: %w", idx, ErrReader)
	case FaultTimeout:
		return nil, fmt.Errorf("cardsim: APDU %d: %w", idx, context.DeadlineExceeded)
	case FaultSW:
		return []byte{byte(fault.SW >> 8), byte(fault.SW)}, nil
	}
	resp, err := f.inner.Transmit(ctx, command)
	if err != nil {
		return resp, err
	}
	switch fault.Kind {
	case FaultTruncate:
		return resp[:len(resp)/2], nil
	case FaultCorrupt:
		out := append([]byte(nil), resp...)
		switch {
		case len(out) > 2:
			out[(len(out)-2)/2] ^= 0xFF
		case len(out) > 0:
			out[len(out)-1] ^= 0xFF
		}
		return out, nil
	case FaultTorn:
		f.removed = true
		return nil, fmt.Errorf("cardsim: APDU %d torn: %w", idx, ErrCardRemoved)
	}
	return resp, nil
}

func (f *Faulty) faultAt(idx int) (Fault, bool) {
	for _, x := range f.faults {
		if x.At == idx {
			return x, true
		}
	}
	return Fault{}, false
}
