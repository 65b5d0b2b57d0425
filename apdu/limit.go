// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"context"
	"fmt"
	"sync"
)

// Limit returns a Transport that forwards to t until either budget is
// exceeded: at most maxAPDUs commands, and at most maxBytes bytes counting
// both commands and responses. A budget of 0 (or less) is unlimited. A
// command that would exceed a budget is not sent; a response that exceeds
// the byte budget is discarded. Once a budget is exceeded every later call
// fails too. Errors wrap ErrLimitExceeded. The returned Transport is safe for
// concurrent use; it protects a kernel from a card that never stops talking.
func Limit(t Transport, maxAPDUs, maxBytes int) Transport {
	return &limiter{next: t, maxAPDUs: maxAPDUs, maxBytes: maxBytes}
}

type limiter struct {
	next               Transport
	maxAPDUs, maxBytes int

	mu    sync.Mutex
	apdus int
	bytes int
	// exceeded fails every later command; bytesExceeded also the response
	// of a command already sent (a command that passed the APDU budget
	// gets its answer even when another one tripped that budget since).
	exceeded, bytesExceeded error
}

func (l *limiter) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	if err := l.charge(1, len(command)); err != nil {
		return nil, err
	}
	resp, err := l.next.Transmit(ctx, command)
	if err != nil {
		return nil, err
	}
	if err := l.charge(0, len(resp)); err != nil {
		return nil, err
	}
	return resp, nil
}

// charge adds apdus and n bytes to the counters, or fails (stickily) when
// that would exceed a budget. A response (apdus 0) fails only on the byte
// budget.
func (l *limiter) charge(apdus, n int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bytesExceeded != nil {
		return l.bytesExceeded
	}
	if apdus > 0 && l.exceeded != nil {
		return l.exceeded
	}
	if l.maxAPDUs > 0 && l.apdus+apdus > l.maxAPDUs {
		l.exceeded = fmt.Errorf("%w: more than %d APDUs", ErrLimitExceeded, l.maxAPDUs)
		return l.exceeded
	}
	if l.maxBytes > 0 && n > l.maxBytes-l.bytes {
		l.bytesExceeded = fmt.Errorf("%w: more than %d bytes exchanged", ErrLimitExceeded, l.maxBytes)
		l.exceeded = l.bytesExceeded
		return l.bytesExceeded
	}
	l.apdus += apdus
	l.bytes += n
	return nil
}
