// SPDX-License-Identifier: Apache-2.0

// Package acquirersim is a loopback acquirer for tests, examples and the
// CLI (pboc serve-acquirer): an ISO 8583 server on iso8583-connection's
// server side, speaking the same UnionPay POS spec as package acquirer, in
// front of a hostsim issuer that keeps the accounts.
//
// It signs terminals in with fresh working keys under the TMK; verifies the
// MAC of every financial request (A0 when it does not) and MACs its
// replies; translates PIN blocks from the terminal's PIK to the issuer's
// PIN key; forwards sales and loads to the issuer and sends back its
// response code, ARPC and scripts in field 55; undoes reversed requests
// (matched by terminal, original batch and trace number; a reversal that
// overtakes its original is remembered, and the late original is never
// forwarded); takes script advices, giving back a top-up's refill when the
// card's evidence, which the issuer verifies, shows the script without
// effect; verifies the TC of every offline upload and counts each sale once
// (a copy is 94); compares the settlement totals with its own; and serves
// CA public key and IC parameter downloads, a page at a time.
//
// It keeps what it received (Received, PANs masked), the requests it
// forwarded (Auths), the offline sales (Uploads), the batch totals
// (Totals) and the closed batches (Batches), so a test can check them
// against the card and the terminal's journal.
//
// Faults (Inject) make it misbehave once, on the next request of a given
// MTI: drop the connection before or after forwarding, reply late, with a
// bad MAC, for another trace number, twice, not at all, crash, refuse, or
// lie (edit the reply before it is MAC'd).
//
// The routing is a table (handlers.go: MTI, 60.1, 60.3 → handler); the
// issuer side is issuer.go, settlement batch.go, downloads params.go.
package acquirersim
