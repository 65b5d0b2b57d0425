// SPDX-License-Identifier: Apache-2.0

package kernel

import "errors"

// Sentinel errors. Every error a transaction returns wraps one of these (or a
// transport error), so callers can branch with errors.Is.
var (
	// ErrConfig reports an unusable terminal configuration.
	ErrConfig = errors.New("kernel: invalid configuration")
	// ErrAmount reports an amount that is zero, too large or malformed.
	ErrAmount = errors.New("kernel: invalid amount")
	// ErrNoApplication reports that no application on the card matches the terminal.
	ErrNoApplication = errors.New("kernel: no matching application")
	// ErrCardData reports card data that is malformed, missing or inconsistent.
	ErrCardData = errors.New("kernel: invalid card data")
	// ErrCardStatus reports a status word that ends the transaction.
	ErrCardStatus = errors.New("kernel: card returned an error status")
	// ErrCancelled reports that the cardholder or the selector cancelled.
	ErrCancelled = errors.New("kernel: cancelled")
)
