// SPDX-License-Identifier: Apache-2.0

// Package kernel is the PBOC / EMV terminal transaction engine.
//
// A [Kernel] holds the terminal configuration and is safe for concurrent use:
// every transaction keeps its state in its own value, so one controller can
// serve many pumps or lanes at once. A transaction talks to the card through
// an [apdu.Transport] and runs the EMV steps as small functions over a
// per-transaction data store:
//
//	select → initiate (GPO) → read records → EC decision → GENERATE AC → outcome
//
// The electronic-cash (EC, 电子现金) rules are those of PBOC 2.0 Book 13: the
// terminal offers EC with tag 9F7A in the PDOL data, the card chooses the EC
// path by including 9F74 in the records the AFL names, and an offline EC sale is
// approved only when the card itself returns a TC. The kernel never approves a
// sale the card did not approve, and it never reports a balance the card did not
// report.
//
// Errors: a transaction that ends normally (approved, declined, needs online)
// returns a [Result] and a nil error. A transaction that cannot go on
// (the card is gone, the card's data is malformed, no application matches)
// returns a Result with [OutcomeTerminated] and an error that wraps one of the
// sentinel errors of this package, testable with errors.Is.
package kernel
