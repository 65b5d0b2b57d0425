// SPDX-License-Identifier: Apache-2.0

// Package acquirer is a terminal's link to its acquirer over UnionPay's
// POS variant of ISO 8583, on github.com/moov-io/iso8583 (the message spec)
// and github.com/moov-io/iso8583-connection (the TCP connection). A Link
// implements kernel.Host, kernel.Reverser and kernel.ScriptReverser, so
//
//	link, err := acquirer.Open(ctx, acquirer.Config{Addr: "acq:5000", TerminalID: "12345678", MerchantID: "123456789012345"}, ped, state)
//	err = link.SignIn(ctx)
//	k, err := kernel.New(cfg, kernel.WithHost(link), kernel.WithPINPad(pinPad), kernel.WithJournal(j))
//
// is the whole integration. The kernel never imports this package.
//
// # The wire (frame.go, spec.go, bcdcodec.go, track.go, mac.go)
//
// A frame is a 2-byte binary length, the 5-byte TPDU (60, destination,
// source; a reply swaps them), the 6-byte BCD header, then the message: BCD
// MTI, primary bitmap, fields. Numeric fields are packed BCD with BCD length
// prefixes, right-aligned except 2, 22, 32, 48, 60, 61 (left-aligned, an odd
// length padded with a trailing 0); tracks 35 and 36 carry the separator D.
// Field 64 is the CUP ECB MAC (CUPMAC) of the MTI through field 63 under the
// MAK; the reader verifies it on every reply that carries one. A frame that
// does not parse is never delivered; a length out of range drops the
// connection.
//
// # The messages (messages.go: the table of MTI, 3, 25, 60.1, 60.3, MAC)
//
//	sign-in          0800 60.3 001|003|004 → 0810 62 = PIK, MAK(, TDK) under the TMK, check values signin.go
//	sign-off, echo   0820 60.3 002, 301                                                           signin.go
//	sale             0200 3 000000 60.1 22, 55, 52 (PIN block under the PIK) → 0210 39 38 55    sale.go
//	EC loads         0200 3 600000|630000|620000 25 91 60.1 45|46|47                              sale.go
//	balance inquiry  0200 3 310000 60.1 01 → 0210 54                                              balance.go
//	reversal         0400 the original's 3 4 11 22 25 38 60, reason in 39, card state in 55     reversal.go
//	script advice    0620 60 = 00 batch 951, 61 = original batch STAN MMDD, 55 with DF31         reversal.go
//	offline upload   0200 60.1 36 (or 0320), 55 with the TC and 8A Y1 → 00 or 94 (a copy)        upload.go
//	settlement       0500 48 = totals → 48 code 1 balanced, 2 not                                 settle.go
//	IC TC upload     0320 60.3 203 (205 unbalanced), 62 = 61 00 00 amount currency                settle.go
//	batch end        0320 60.3 207 (202 unbalanced), 48 = count                                   settle.go
//	CA keys          0820 372 (62 continuation) → 0800 370 per key → 0800 371                     download.go
//	IC parameters    0820 382 → 0800 380 per AID → 0800 381                                        download.go
//
// # Before each online request (sale.go)
//
// In the order the sources send them [BJB Transmit; LY OnlineCommProc]:
// the script advices owed, the pending reversals (a reversal that cannot
// go stops the new request: ErrReversalPending), the offline uploads, then
// the request.
//
// # The money rules of the link (reversal.go, recover.go, state.go)
//
//   - A financial request is armed in the State (fsync'd) before it is
//     sent; a request the codec never started writing is known unsent and
//     is not reversed.
//   - It is reversed when the evidence says the acquirer may hold money it
//     should not: 98 no valid reply (timeout, dropped connection, a reply
//     for another trace number); A0 a reply without a valid MAC (an
//     approval in it is never believed; a decline is, and is reversed
//     anyway, in case it hid an approval); 06 a reply that does not fit the
//     request, the card did not complete after the approval
//     (kernel.Reverser), a load whose script did not take effect on the
//     card's evidence, or a crash before a sale was journaled.
//   - A reversal leaves the queue only on a MAC-verified 00 (or 25: no such
//     original) and is never dropped; one refused goes again as 06.
//   - A request that stood — the kernel did not reverse it before its next
//     request, or after a crash the journal holds its record — is never
//     reversed. An approved top-up or load whose completion a crash hid is
//     kept unresolved for the issuer, never refunded on no evidence.
//   - A script reversal carries the card's authenticated state
//     (kernel.Evidence) to the issuer, which verifies it; without evidence
//     the scripts are reported not performed.
//   - An offline sale is marked sent, with its trace number, before it
//     leaves, and acknowledged once; a copy the acquirer already holds is
//     94 and counts once.
//
// # Durable state (state.go)
//
// State keeps every change as an event in a journal.Log, with the
// journal's crash guarantees; full PANs (for field 2 of a reversal or
// advice) are sealed under the terminal's data key (journal.DataKey). Trace
// numbers come from the Counter the kernel numbers from (the journal's);
// the State's own, without one, reserves 100 at a time: a crash skips some,
// never reuses one. The log is compacted (compact.go) after each settlement
// and, when long, at OpenState: rewritten atomically as the counters and
// the requests still open or of an unsettled batch.
//
// # What the link needs of the terminal (keys.go, upload.go, recover.go)
//
// A SecurityModule (the PED: TMK, working keys, MAC; SoftModule in
// software), and optionally a Clearing (the journal's records to upload),
// an Evidence (the journal, to settle approvals after a crash) and a
// RecordSink for downloads (the parameter readers).
//
// Sources: the bracketed keys (PB, LY, TW, BP, BJB, KP, AD) name the public
// terminal and acquirer code the facts come from; the README's section
// "Connecting to your acquirer" lists them, with the vendor differences
// Variant makes configurable.
package acquirer
