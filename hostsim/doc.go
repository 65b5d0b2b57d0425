// SPDX-License-Identifier: Apache-2.0

// Package hostsim is a simulated PBOC issuer host: the online side a
// terminal kernel talks to through kernel.Host. It keeps back-office card
// accounts, verifies the ARQC of every request with the card keys it derives
// from the issuer master keys, answers with an ARPC (ARPC method 1) and a
// response code, and sends the issuer scripts that load electronic cash onto
// the card (PUT DATA 9F79 with its MAC) and update the EC parameters.
//
// # Authorisation
//
// Host.Authorize takes the steps below, in order; the first that fails gives
// the response code.
//
//  1. Field 55 is parsed as BER-TLV and must hold, once each and with their
//     EMV lengths, 9F26 (8), 9F27 (1, an ARQC), 9F10 (at least 8), 9F36 (2),
//     9F37 (4), 9F02 (6, BCD), 9F03 (6), 9F1A (2), 95 (5), 5F2A (2), 9A (3),
//     9C (1) and 82 (2). Anything else is "30" (format error). The
//     cryptogram algorithm is 9F10[7] (01 TDES, 04 SM4).
//  2. An unknown PAN is "14". The card keys are derived from the account's
//     issuer master keys, PAN and PAN sequence number, the AC session key
//     from the ATC, and the ARQC is checked over keys.ACData. A wrong ARQC,
//     or an algorithm other than the account's, is "05" without tag 91: the
//     host cannot authenticate itself to a card it cannot authenticate.
//  3. A request already answered (same PAN, ATC and ARQC) gets the same
//     response again, and nothing is charged twice: a terminal retries after
//     a timeout.
//  4. 9C must match the request kind (00 purchase, 60 designated load, 62
//     non-designated load, 63 cash load), else "12"; 9F02 must equal the
//     request amount, else "13".
//  5. A PIN block, when present, is deciphered with the host's PIN key and
//     compared with the account PIN: wrong is "55". A top-up or a designated
//     load without a PIN block is "55" as well.
//  6. The transaction itself:
//     - purchase: approved ("00") and debited when the account balance
//     covers the amount, else "51". With TopUp and both ECBalance and
//     ECLimit in the request, the refill is target − ECBalance, where the
//     target is ECLimit or, when an update of the balance tag (9F79, DF79
//     for a second-currency sale) is queued, that update's value: the
//     issuer's own choice. When the account covers purchase and refill
//     both are debited and a script sets the balance to the target; when
//     it covers only the purchase the purchase is approved without a
//     script (the ledger says why);
//     - loads: ECBalance and ECLimit are required ("30") and the amount must
//     not be zero ("13"); the new EC balance ECBalance + amount may not
//     exceed ECLimit, else "61" (exceeds withdrawal amount limit, the
//     ISO 8583 code issuers use for an over-limit load). A designated load
//     debits the account ("51" when it cannot); a non-designated load is
//     funded by another account of the cardholder and counted in
//     NonDesignatedTotal; a cash load is paid at the counter and counted
//     in CashTotal. The script sets 9F79 to the new balance.
//  7. Parameter updates queued with QueueUpdate ride along, each as its own
//     script, with the next approved authorisation of that PAN; on a
//     top-up, an update of the balance tag is the refill target (above)
//     and is not sent again. After a load's balance script it is sent as
//     queued, and overrides the load (a way to test a lying issuer).
//
// # Responses
//
// Every response after a verified ARQC, approval or decline, carries
// IssuerAuthData (tag 91) = ARPC ‖ ARC, where ARC is the response code's
// two ASCII bytes and ARPC = keys.ARPC(alg, AC session key, ARQC, ARC). An
// approval carries a six-digit AuthCode from a counter (000001, 000002, …).
// Scripts is a concatenation of templates
//
//	72 [ 9F18 04 <script id> ] [ 86 L <PUT DATA 04 DA tag Lc value MAC> ]
//
// built with keys.ECUpdateScript under the SMI session key of the
// transaction's ATC and the ARQC; script ids count up from 00000001. EC
// amounts are n12 (6 bytes BCD). The balance script comes first, the queued
// parameter updates after it in the order they were queued.
//
// # Secrets
//
// The host never logs; PANs in the ledger are masked with tlv.MaskPAN;
// Account formats without its PIN and keys; cryptograms and PINs are
// compared in constant time.
package hostsim
