// SPDX-License-Identifier: Apache-2.0

// Package journal keeps the terminal's clearing records: every offline
// electronic-cash approval is money the merchant must still collect, so the
// kernel writes its record to a Journal before it returns the result. A
// record holds what the acquirer's uploads need (record.go): the PAN
// encrypted under the terminal's data key (datakey.go), the card's PAN
// sequence number and expiry, the entry mode, the upload's field 55, the
// STAN and batch, the terminal and merchant IDs; and each record's upload
// state changes are kept with it (upload.go).
//
// The journal also numbers the terminal's messages and closes its batches
// (Counter, batch.go): a STAN is never handed out twice in a batch, across
// restarts and crashes, and BatchTotals adds up a batch as the settlement
// request's field 48 reports it.
//
// A day of a terminal, and which file holds each step:
//
//	kernel: sale ─ NextSTAN ─ (online request with the STAN) ─ Append(record)   batch.go, record.go
//	link:   Mark(sent) ─ 0200/0320 upload ─ Mark(acknowledged | refused)        upload.go
//	link:   BatchTotals ─ 0500 settlement (field 48) ─ CloseBatch → next batch  batch.go
//	link:   sign-in reply 60.2 ─ SetBatch                                      batch.go
//
// Journal is an interface a vendor can replace (a database, a secure element,
// a remote service), and so is Counter. The package provides two
// implementations of both: File, the embedded default, an append-only file
// made durable with fsync; and Memory, for tests. They are one state
// machine (state.go) with and without a disk, so they follow the same rules.
//
// Log is the primitive under File: the same frames with opaque payloads.
// The terminal's other durable stores (torn records, purse records, the
// acquirer's reversal queue) keep their events in a Log and so share the
// journal's crash guarantees. Log.Rewrite replaces a Log's frames with new
// ones atomically (a copy fsync'd, renamed over the file, the directory
// fsync'd), so that such a store can compact its history into a snapshot.
//
// # Rules every Journal follows
//
//   - Append is durable when it returns nil.
//   - Append is idempotent: a record whose ID is already in the journal is
//     not written again and Append returns nil. If the stored record differs
//     in kind, amount, currency or cryptogram, Append returns an error
//     wrapping ErrConflict instead: a card never uses an ATC twice, so that
//     is a bug or a forged card, not a retry.
//   - Records returns every record once, in the order written, with its
//     upload state and history.
//   - No record holds a full PAN in clear (see Record.Validate).
//   - A record's upload state changes only as UploadState allows: a record
//     is acknowledged only after it was sent.
//
// # File format
//
// A File is a sequence of frames and nothing else (an empty file is an empty
// journal). Each frame is
//
//	offset  size  field
//	0       2     magic "PJ" (0x50 0x4A)
//	2       1     frame version, 1
//	3       1     flags, 0
//	4       4     payload length N, big-endian, 1 ≤ N ≤ MaxPayload
//	8       N     payload: a record or an event, as JSON (encoding/json)
//	8+N     4     CRC-32C (Castagnoli) of bytes 0 … 8+N−1, big-endian
//
// A payload with an "event" member is an event, any other a Record. A
// record carries its format, "format": 2 (FormatVersion); a record without
// one is format 1, written before the clearing fields existed, and reads
// with them empty. The events are
//
//	{"event":"upload","id":ID,"upload":{"state":S,"time":T,"detail":D}}  a record's upload state change
//	{"event":"stan","batch":B,"stan":S,"count":C}    STANs up to S reserved, C of them in batch B
//	{"event":"batch","batch":B,"stan":S}             batch B opened by SetBatch after STAN S
//	{"event":"close","close":{…BatchClose},"stan":S} the open batch closed after STAN S, the next opened
//
// A payload's "record" member names the flow that wrote it (KindOf): absent
// (or "clearing") for the entries above; "purse" for a record of package
// purse's Store, which may share the file (the purse's records and the
// clearing records in one journal) and which File keeps as written
// (Payloads) without reading it, as the purse's Store skips the clearing
// entries. An entry of a newer format (a record format above
// FormatVersion, an unknown event, a record kind this package does not
// know) stops the reader with ErrNewerFormat rather than be dropped. Open
// replays the entries in order; an entry that does not follow from the
// ones before (an upload event of an unknown record, a reservation going
// back) is ErrCorrupt.
//
// A frame is written with one write and followed by fsync before the call
// returns. Open scans the file: a damaged frame at the end, with no valid
// frame after it, is a write the process did not finish; it is cut off (its
// bytes are first copied to PATH.torn) and counted by Recovered. A damaged
// frame followed by a valid one is real damage and Open fails with
// ErrCorrupt rather than skip data.
package journal
