// SPDX-License-Identifier: Apache-2.0

package pcsc

import (
	"errors"
	"fmt"
)

// ErrCardRemoved reports that there is no card to talk to: it was removed
// (pcscd's SCARD_W_REMOVED_CARD), the reader is empty (SCARD_E_NO_SMARTCARD)
// or the reader itself went away (SCARD_E_READER_UNAVAILABLE). A transaction
// that gets it has lost its card; a new Open or (*Card).Reconnect is needed
// once a card is back.
var ErrCardRemoved = errors.New("pcsc: card removed")

// ErrNoReader reports that the reader asked for does not exist, or that
// pcscd knows no reader at all.
var ErrNoReader = errors.New("pcsc: no such reader")

// ErrCardReset reports that the card was reset by another application (or
// a power glitch) since the last command: the card has forgotten the
// selected application and any transaction in progress. The Card has
// already reconnected, so the next command (a new transaction) works.
var ErrCardReset = errors.New("pcsc: card was reset")

// ErrNoService reports that pcscd is not running or cannot be reached on its
// socket.
var ErrNoService = errors.New("pcsc: pcscd not available")

// ErrProtocol reports a message from pcscd that this client does not
// understand: an unsupported protocol version or a malformed answer.
var ErrProtocol = errors.New("pcsc: protocol error")

// ErrClosed reports use of a Card after Close, or after an interrupted
// exchange (a cancelled context) left the connection to pcscd unusable.
var ErrClosed = errors.New("pcsc: card closed")

// Code is a PC/SC return value (LONG in winscard.h) such as
// SCARD_W_REMOVED_CARD. It is an error, so errors.Is(err, CodeResetCard)
// works on the errors of this package.
type Code uint32

// The PC/SC return values this package names. Others are reported by
// number.
const (
	CodeSuccess            Code = 0x00000000
	CodeInternalError      Code = 0x80100001
	CodeCancelled          Code = 0x80100002
	CodeInvalidHandle      Code = 0x80100003
	CodeInvalidParameter   Code = 0x80100004
	CodeNoMemory           Code = 0x80100006
	CodeInsufficientBuffer Code = 0x80100008
	CodeUnknownReader      Code = 0x80100009
	CodeTimeout            Code = 0x8010000A
	CodeSharingViolation   Code = 0x8010000B
	CodeNoSmartcard        Code = 0x8010000C
	CodeProtoMismatch      Code = 0x8010000F
	CodeNotReady           Code = 0x80100010
	CodeInvalidValue       Code = 0x80100011
	CodeCommError          Code = 0x80100013
	CodeNotTransacted      Code = 0x80100016
	CodeReaderUnavailable  Code = 0x80100017
	CodeNoService          Code = 0x8010001D
	CodeServiceStopped     Code = 0x8010001E
	CodeNoReadersAvailable Code = 0x8010002E
	CodeUnsupportedCard    Code = 0x80100065
	CodeUnresponsiveCard   Code = 0x80100066
	CodeUnpoweredCard      Code = 0x80100067
	CodeResetCard          Code = 0x80100068
	CodeRemovedCard        Code = 0x80100069
)

var codeNames = map[Code]string{
	CodeSuccess:            "SCARD_S_SUCCESS",
	CodeInternalError:      "SCARD_F_INTERNAL_ERROR",
	CodeCancelled:          "SCARD_E_CANCELLED",
	CodeInvalidHandle:      "SCARD_E_INVALID_HANDLE",
	CodeInvalidParameter:   "SCARD_E_INVALID_PARAMETER",
	CodeNoMemory:           "SCARD_E_NO_MEMORY",
	CodeInsufficientBuffer: "SCARD_E_INSUFFICIENT_BUFFER",
	CodeUnknownReader:      "SCARD_E_UNKNOWN_READER",
	CodeTimeout:            "SCARD_E_TIMEOUT",
	CodeSharingViolation:   "SCARD_E_SHARING_VIOLATION",
	CodeNoSmartcard:        "SCARD_E_NO_SMARTCARD",
	CodeProtoMismatch:      "SCARD_E_PROTO_MISMATCH",
	CodeNotReady:           "SCARD_E_NOT_READY",
	CodeInvalidValue:       "SCARD_E_INVALID_VALUE",
	CodeCommError:          "SCARD_F_COMM_ERROR",
	CodeNotTransacted:      "SCARD_E_NOT_TRANSACTED",
	CodeReaderUnavailable:  "SCARD_E_READER_UNAVAILABLE",
	CodeNoService:          "SCARD_E_NO_SERVICE",
	CodeServiceStopped:     "SCARD_E_SERVICE_STOPPED",
	CodeNoReadersAvailable: "SCARD_E_NO_READERS_AVAILABLE",
	CodeUnsupportedCard:    "SCARD_W_UNSUPPORTED_CARD",
	CodeUnresponsiveCard:   "SCARD_W_UNRESPONSIVE_CARD",
	CodeUnpoweredCard:      "SCARD_W_UNPOWERED_CARD",
	CodeResetCard:          "SCARD_W_RESET_CARD",
	CodeRemovedCard:        "SCARD_W_REMOVED_CARD",
}

// String returns the winscard.h name and the value, e.g.
// "SCARD_W_REMOVED_CARD (0x80100069)".
func (c Code) String() string {
	if name, ok := codeNames[c]; ok {
		return fmt.Sprintf("%s (0x%08X)", name, uint32(c))
	}
	return fmt.Sprintf("PC/SC error 0x%08X", uint32(c))
}

// Error implements error.
func (c Code) Error() string { return c.String() }

// Error is a PC/SC call that pcscd answered with an error code. It matches
// the sentinel errors of this package with errors.Is (SCARD_W_REMOVED_CARD
// is ErrCardRemoved, SCARD_W_RESET_CARD is ErrCardReset, ...) and unwraps
// to its Code.
type Error struct {
	// Op is the PC/SC call, e.g. "SCardTransmit".
	Op string
	// Reader is the reader concerned, if any.
	Reader string
	// Code is pcscd's return value.
	Code Code
}

// Error implements error.
func (e *Error) Error() string {
	if e.Reader != "" {
		return fmt.Sprintf("pcsc: %s %q: %s", e.Op, e.Reader, e.Code)
	}
	return fmt.Sprintf("pcsc: %s: %s", e.Op, e.Code)
}

// Unwrap returns the Code.
func (e *Error) Unwrap() error { return e.Code }

// Is reports whether the code means the sentinel target.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrCardRemoved:
		return e.Code == CodeRemovedCard || e.Code == CodeNoSmartcard || e.Code == CodeReaderUnavailable
	case ErrNoReader:
		return e.Code == CodeUnknownReader || e.Code == CodeNoReadersAvailable || e.Code == CodeReaderUnavailable
	case ErrCardReset:
		return e.Code == CodeResetCard
	case ErrNoService:
		return e.Code == CodeNoService || e.Code == CodeServiceStopped
	}
	return false
}

// check turns a return value into nil or an *Error.
func check(op, reader string, rv uint32) error {
	if Code(rv) == CodeSuccess {
		return nil
	}
	return &Error{Op: op, Reader: reader, Code: Code(rv)}
}
