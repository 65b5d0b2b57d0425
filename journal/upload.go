// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"errors"
	"fmt"
	"time"
)

// UploadState is where a record stands in its upload to the acquirer (the
// offline EC upload or the TC upload).
type UploadState string

// The upload states. A record starts pending; the acquirer link marks it
// sent before the message leaves, then acknowledged or refused by the
// acquirer's answer.
const (
	UploadPending      UploadState = "pending"
	UploadSent         UploadState = "sent"
	UploadAcknowledged UploadState = "acknowledged"
	UploadRefused      UploadState = "refused"
)

// UploadEvent is one change of a record's upload state.
type UploadEvent struct {
	State UploadState `json:"state"`
	Time  time.Time   `json:"time"`
	// Detail says why: the acquirer's response code, the error of a send
	// that failed, an operator's note. At most 256 bytes.
	Detail string `json:"detail,omitempty"`
}

// Upload is a record's upload state and the events that led to it, oldest
// first.
type Upload struct {
	State   UploadState   `json:"state"`
	History []UploadEvent `json:"history,omitempty"`
}

// maxDetail bounds UploadEvent.Detail.
const maxDetail = 256

// Errors of Mark.
var (
	// ErrNotFound: no record has the given ID.
	ErrNotFound = errors.New("journal: no such record")
	// ErrTransition: the record cannot go from its state to the one asked.
	ErrTransition = errors.New("journal: upload state change not allowed")
)

// transitions says which upload states each state may change to. A record
// leaves the books (acknowledged) only on the acquirer's answer to a
// message that was sent; a refused record goes back to pending only when
// someone re-queues it. Marking a record again with the state it is in is
// a no-op (a retry after a crash), except sent, which is kept each time: a
// message sent twice is worth knowing about.
var transitions = map[UploadState][]UploadState{
	UploadPending:      {UploadSent},
	UploadSent:         {UploadSent, UploadAcknowledged, UploadRefused, UploadPending},
	UploadRefused:      {UploadPending},
	UploadAcknowledged: nil,
}

// checkTransition says whether a record in state from may be marked to;
// noop reports a repeated mark that changes nothing.
func checkTransition(id string, from UploadState, e UploadEvent) (noop bool, err error) {
	if _, known := transitions[e.State]; !known {
		return false, fmt.Errorf("%w: %s: unknown state %q", ErrTransition, id, e.State)
	}
	if len(e.Detail) > maxDetail {
		return false, fmt.Errorf("%w: %s: detail longer than %d bytes", ErrInvalid, id, maxDetail)
	}
	for _, to := range transitions[from] {
		if to == e.State {
			return false, nil
		}
	}
	if from == e.State {
		return true, nil
	}
	return false, fmt.Errorf("%w: %s from %s to %s", ErrTransition, id, from, e.State)
}
