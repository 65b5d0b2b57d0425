// SPDX-License-Identifier: Apache-2.0

// Package vpcdtest holds what the tests that serve a simulated card on
// vsmartcard's vpcd port share: Lock serialises them (the port takes one
// card at a time and go test runs packages in parallel, so every such test
// holds Lock while its card is in the reader), and Reader, UniqueATR,
// WaitReader and Logger find vpcd's reader in pcscd, mark a test's own
// card, wait for pcscd to see it come and go, and log to the test; Serve
// does all of it for a test that puts one card in the reader.
package vpcdtest
