// SPDX-License-Identifier: Apache-2.0

package params

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/tlv"
)

// Sentinel errors: every error of this package wraps one of them (in a
// *RecordError when a record is at fault).
var (
	// ErrFormat: malformed input (hex, TLV, a value of the wrong length or
	// format).
	ErrFormat = errors.New("params: malformed")
	// ErrMissing: a required tag is absent.
	ErrMissing = errors.New("params: required tag missing")
	// ErrUnknownTag: a tag this package does not know (see
	// Format.AllowUnknown).
	ErrUnknownTag = errors.New("params: unknown tag")
	// ErrDuplicate: a tag twice in a record, or two records for the same
	// AID or CA key.
	ErrDuplicate = errors.New("params: duplicate")
	// ErrTooLarge: a record, a file or a record count above the bounds.
	ErrTooLarge = errors.New("params: too large")
	// ErrUnsupported: a value the kernel cannot apply as the record means
	// it (see the package documentation).
	ErrUnsupported = errors.New("params: value the kernel cannot apply")
	// ErrChecksum: a CA key whose DF03 is not its SHA-1 checksum. The error
	// also matches capk.ErrChecksum.
	ErrChecksum = errors.New("params: CA key checksum mismatch")
	// ErrInvalid: a value the kernel or the key store refuses (an invalid
	// CA key, an Application the writer cannot encode).
	ErrInvalid = errors.New("params: invalid value")
)

// RecordError says which record and which tag are at fault.
type RecordError struct {
	// Kind is "AID" or "CA key".
	Kind string
	// Record is the record's 1-based position in its file; 0 for a record
	// read on its own.
	Record int
	// Tag is the tag at fault; 0 when the record as a whole is.
	Tag tlv.Tag
	// Err is the cause; it wraps one of the sentinels.
	Err error
}

// Error reads "params: AID record 3, tag DF05: malformed: ...": the
// cause's own "params: " is not said twice.
func (e *RecordError) Error() string {
	s := "params: " + e.Kind + " record"
	if e.Record > 0 {
		s += fmt.Sprintf(" %d", e.Record)
	}
	if e.Tag != 0 {
		s += ", tag " + e.Tag.String()
	}
	return s + ": " + strings.TrimPrefix(e.Err.Error(), "params: ")
}

// checksumError is a DF03 that is not its key's checksum: it matches both
// ErrChecksum and capk.ErrChecksum, and says so once.
type checksumError struct{ detail string }

func (e *checksumError) Error() string { return "CA key checksum mismatch: " + e.detail }

// Is reports whether target is ErrChecksum or capk.ErrChecksum.
func (e *checksumError) Is(target error) bool {
	return target == ErrChecksum || target == capk.ErrChecksum
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// tagErr is the error for tag of a record being read; the reader fills
// the record number.
func tagErr(tag tlv.Tag, sentinel error, format string, args ...any) error {
	return &RecordError{Tag: tag, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// numbered sets the kind and, when n > 0, the record number of a
// *RecordError; other errors (about a whole file) are returned as they are.
func numbered(err error, kind string, n int) error {
	var re *RecordError
	if errors.As(err, &re) {
		re.Kind = kind
		if n > 0 {
			re.Record = n
		}
	}
	return err
}
