// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"errors"
	"fmt"
)

// Errors of the link; test with errors.Is (and errors.As for
// *ResponseError).
var (
	// ErrMessage reports a message or frame that does not follow the
	// spec: a field too long, a bad TPDU or header, an unknown field.
	ErrMessage = errors.New("acquirer: malformed message")
	// ErrUnreachable reports that the request was not sent: the acquirer
	// refused the connection or could not be reached. Nothing needs
	// reversing.
	ErrUnreachable = errors.New("acquirer: acquirer unreachable")
	// ErrNoReply reports a request that may have been sent but got no
	// valid reply in time (timeout, connection dropped, reply for another
	// trace number). A financial request gets a reversal (reason 98).
	ErrNoReply = errors.New("acquirer: no reply")
	// ErrBadMAC reports a reply whose MAC (field 64) is missing or wrong: its
	// content is not evidence of anything. A financial request gets a
	// reversal (reason A0).
	ErrBadMAC = errors.New("acquirer: reply MAC does not verify")
	// ErrMismatch reports a reply that does not fit its request (another
	// terminal, amount or processing code). A financial request gets a
	// reversal (reason 06).
	ErrMismatch = errors.New("acquirer: reply does not fit the request")
	// ErrReversalPending reports that a pending reversal could not be
	// delivered, so no new financial request was sent: the acquirer must
	// hear of the reversal first.
	ErrReversalPending = errors.New("acquirer: a reversal is pending and could not be sent")
	// ErrKeysChanged reports a request with a PIN block that arrived while
	// the link was signed off: the link signed in, which replaced the PIK
	// the block is enciphered under, and did not send the request (the
	// PIN is to be entered again). Nothing needs reversing.
	ErrKeysChanged = errors.New("acquirer: the working keys changed under the PIN block")
	// ErrTraceNumberUsed reports a financial request whose trace number
	// (field 11) and batch an earlier request of this terminal already
	// used, as when a caller retries an AuthRequest with the kernel's
	// STAN: it is not sent, nothing is written, and nothing needs
	// reversing (the earlier request keeps its own reversal, if it owes
	// one).
	ErrTraceNumberUsed = errors.New("acquirer: trace number already used")
	// ErrClosed reports a link used after Close.
	ErrClosed = errors.New("acquirer: link closed")
)

// ResponseError is an acquirer's refusal of a management or batch message:
// a valid reply whose response code (field 39) is not an approval.
type ResponseError struct {
	Message string // what was refused, e.g. "sign-in"
	Code    string // field 39
}

// Error names the refused message and its response code.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("acquirer: %s refused with response code %q", e.Message, e.Code)
}
