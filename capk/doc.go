// SPDX-License-Identifier: Apache-2.0

// Package capk is the terminal's store of certification authority public
// keys (CAPK): the keys a terminal uses during offline data authentication
// to recover the issuer public key certificate (EMV Book 2, PBOC 3.0 / JR/T
// 0025).
//
// A key is identified by its registered application provider identifier
// (RID, five bytes, e.g. A000000333 for China UnionPay) and its one-byte
// CA public key index (tag 8F on the card). Every key carries the SHA-1
// checksum of RID ‖ index ‖ modulus ‖ exponent, which is verified whenever
// a key enters a [Store]: a key whose checksum does not match is refused
// with [ErrChecksum]. A [Store] also holds a revocation list of issuer
// certificates, identified by RID, CA index and the three-byte certificate
// serial number.
//
// [Builtin] returns a store with the UnionPay keys compiled into the
// package; [Load] and [Store.Save] read and write the JSON format below,
// and [Check] reports on every key (checksum, expiry, size, exponent) for
// tools such as `pboc capk check FILE`.
//
// # JSON format
//
//	{
//	  "keys": [
//	    {
//	      "rid": "A000000333",      // 10 hex digits
//	      "index": "01",            // 2 hex digits
//	      "algorithm": "rsa",       // "rsa" (01) or "sm2" (04)
//	      "hash": "sha1",           // "sha1" (01) or "sm3" (07)
//	      "modulus": "BBE9...",     // hex; RSA: 64..248 bytes; SM2: the 64-byte point X‖Y
//	      "exponent": "03",         // hex; RSA: "03" or "010001"; SM2: "" or absent
//	      "expiry": "2030-12-31",   // optional; the last day the key is valid
//	      "checksum": "E881...",    // hex, 20 bytes: SHA-1(rid ‖ index ‖ modulus ‖ exponent)
//	      "note": "free text"       // optional
//	    }
//	  ],
//	  "revoked": [
//	    {"rid": "A000000333", "index": "01", "serial": "000001"}
//	  ]
//	}
//
// (The comments above are for the reader; JSON has none.) Hex is accepted
// in either case and written in upper case. Unknown fields, duplicate keys
// (same RID and index), trailing data and files larger than 8 MiB are
// errors. Every error from [Load] names the offending entry, for example
// "keys[3].checksum: capk: checksum mismatch: ...", and wraps [ErrFormat],
// [ErrInvalidKey] or [ErrChecksum]. The same description is in FORMAT.md
// next to this file.
//
// # SM2 keys
//
// For an SM2 key (algorithm 04) the Modulus field holds the uncompressed
// public point X ‖ Y (32 + 32 bytes, without the 04 prefix) and the
// Exponent is empty, so the checksum is SHA-1(RID ‖ index ‖ X ‖ Y). The
// point must lie on the SM2 curve (GB/T 32918.5).
package capk
