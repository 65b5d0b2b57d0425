// SPDX-License-Identifier: Apache-2.0

package capk

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them,
// so callers can test with [errors.Is].
var (
	// ErrChecksum reports a key whose checksum is missing or does not
	// match SHA-1(RID ‖ index ‖ modulus ‖ exponent).
	ErrChecksum = errors.New("capk: checksum mismatch")

	// ErrInvalidKey reports a key that cannot be a CA public key: unknown
	// algorithm or hash, a modulus or exponent of the wrong size, an SM2
	// point off the curve.
	ErrInvalidKey = errors.New("capk: invalid key")

	// ErrFormat reports malformed input: bad hex, bad dates, malformed or
	// unexpected JSON, duplicate entries.
	ErrFormat = errors.New("capk: bad format")

	// ErrNilStore is returned by [Store.Add] on a nil *Store, which can be
	// read from (it is empty) but not written to.
	ErrNilStore = errors.New("capk: nil store")
)
