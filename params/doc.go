// SPDX-License-Identifier: Apache-2.0

// Package params reads and writes the terminal parameters a UnionPay POS
// downloads from its acquirer: the IC (AID) parameter records and the CA
// public key records, each a flat sequence of BER-TLV objects. Records
// become kernel.Application and capk.Key values, and the other way round,
// so that a lab can produce a parameter file from a kernel.Config.
//
// # Where the records come from
//
// The acquirer link downloads them in field 62 of 0800 replies (see the
// project's ACQUIRER-NOTES §3):
//
//	terminal                          acquirer
//	0820 60.3 = 382 (AID query)   →
//	                              ←   62: '2'|'1'|'0' ‖ 9F06 … (the AIDs it has)
//	0800 60.3 = 380, 62 = 9F06    →
//	                              ←   62: '0'|'1' ‖ one AID parameter record
//	0800 60.3 = 381 (end)         →
//	(the same with 372 / 370 / 371 for the CA keys: 62 = 9F06 ‖ 9F22)
//
// The link strips each reply's control byte and keeps the records; this
// package reads them (aid.go, cakey.go) from a file of such records
// (file.go): hex text, one record a line, or the records' raw bytes one
// after another, as downloaded.
//
// # AID parameter record (aid.go)
//
//	tag    Application field        format                      required
//	9F06   AID                      b 5-16                      yes
//	DF01   PartialMatch             b1: see ASIReading          yes
//	9F08   Version (or 9F09)        b2                          one of them
//	DF11   TACDefault               b5                          yes
//	DF12   TACOnline                b5                          yes
//	DF13   TACDenial                b5                          yes
//	9F1B   FloorLimit               b4, binary, fen             no (0)
//	DF15   RandomThreshold          b4, binary, fen             no (0)
//	DF16   MaxTargetPercent         n2 (1 byte BCD), 0-99       no (0)
//	DF17   TargetPercent            n2 (1 byte BCD), ≤ DF16     no (0)
//	DF14   DefaultDDOL              b, a DOL                    no
//	DF18   OnlinePIN                b1: 00 or 01                no (01)
//	9F7B   EC, ECTransactionLimit   n12: present turns EC on    no (EC off)
//	DF19   ContactlessFloorLimit    n12                         no (9F1B applies)
//	DF20   ContactlessLimit         n12                         no (no limit)
//	DF21   CVMRequiredLimit         n12                         no (no limit)
//	9F66   TTQ                      b4                          no (kernel default)
//	97     TDOL                     b, a DOL (this project's)   no
//
// A zero in DF20 or DF21 means "no contactless" and "CVM for every tap"
// where the kernel reads zero as "no limit": they are read as 0.01, the
// smallest limit, which applies the record's meaning to every non-zero
// amount. A zero DF19 (every tap online) is read as 0 only when 9F1B is 0
// too; with a non-zero 9F1B the kernel would apply 9F1B instead, so the
// record is refused (ErrUnsupported) rather than applied more leniently.
// Application.StatusCheck has no tag and is not written.
//
// # CA public key record (cakey.go)
//
//	tag    capk.Key field   format
//	9F06   RID              b5
//	9F22   Index            b1
//	DF05   Expiry           8 ASCII digits YYYYMMDD (CUP hosts), or BCD
//	                        YYYYMMDD (4 bytes) or YYMMDD (3 bytes); absent:
//	                        no expiry known
//	DF06   HashAlg          b1: 01 SHA-1, 07 SM3
//	DF07   Algorithm        b1: 01 RSA, 04 SM2
//	DF02   Modulus          b 64-248 (RSA), the 64-byte point X‖Y (SM2)
//	DF04   Exponent         03 or 010001 (RSA); absent or empty (SM2)
//	DF03   Checksum         b20: SHA-1(RID ‖ index ‖ modulus ‖ exponent), verified
//
// # Rules
//
// Reading is strict and bounded: a record is at most MaxRecordLen bytes of
// well-formed TLV with no template and no tag twice, a file at most
// MaxFileLen bytes and MaxRecords records; every value has the length and
// format of its tag; a required tag is present; a tag the package does not
// know is refused unless Format.AllowUnknown; two records for the same AID
// (or RID and index) are refused; a CA key whose DF03 does not match is
// refused. Every error is a *RecordError naming the record (1-based) and
// the tag, and wraps one of the package's sentinels.
package params
