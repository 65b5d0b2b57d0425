// SPDX-License-Identifier: Apache-2.0

// Package cardsim is a virtual PBOC 2.0 contact card with electronic cash
// (EC). A Card implements apdu.Transport, so the terminal kernel talks to it
// exactly as to a card in a reader. It is the fixture on which the kernel is
// tested, so it is strict: every command is checked for class, parameters,
// length and order, and every byte from the terminal is treated as hostile
// (no panic, no allocation driven by the command).
//
// # Profiles
//
// A card is personalised from a JSON profile (ParseProfile, LoadProfile,
// DefaultProfile). Unknown fields are refused, and every validation error is
// a *ProfileError naming the field, e.g.
// "applications[0].ec.balance: 1200.00 exceeds balance_limit 1000.00".
// Amounts are decimal yuan strings ("1000.00"); binary data is hex.
//
//	{
//	  "name": "seed card",                 free text
//	  "pse": true,                         card has 1PAY.SYS.DDF01
//	  "language": "zhen",                  5F2D, default "zhen"
//	  "applications": [{                   1 to 8, in card order
//	    "aid": "A000000333010101",         5-16 bytes, unique
//	    "label": "PBOC DEBIT",             50, 1-16 ASCII
//	    "preferred_name": "PBOC DEBIT",    9F12, optional
//	    "priority": 1,                     87, 1-15; 0 or absent: no 87
//	    "pan": "6222021000123456781",      12-19 digits, valid Luhn
//	    "pan_sequence": 1,                 5F34, 0-99
//	    "effective": "240101",             5F25 YYMMDD, optional
//	    "expiry": "351231",                5F24 YYMMDD, required
//	    "cardholder_name": "ZHANG/SAN",    5F20, optional, 2-26 ASCII
//	    "currency": 156, "country": 156,   9F42 / 5F28, default 156
//	    "aip": "3C00",                     82, default from oda: none 1C00,
//	                                       sda 5C00, dda 3C00, cda 3D00
//	    "auc": "FF00",                     9F07, default FF00
//	    "cvm_list": "0000...42035E031F03", 8E; "none": no 8E. Default, an
//	                                       EC card: no CVM under X (X one
//	                                       fen above the single limit,
//	                                       ECCVMList), then the rest; any
//	                                       other card: online PIN if the
//	                                       terminal supports it, else
//	                                       signature, else no CVM
//	    "iac_default": "DC4000A800",       9F0D
//	    "iac_denial": "0010000000",        9F0E
//	    "iac_online": "DC4004F800",        9F0F
//	    "pdol": "9F7A019F02065F2A02",      9F38; absent: this default;
//	                                       "": no PDOL
//	    "cdol1": "...", "cdol2": "...",    8C / 8D (defaults: DefaultCDOL1/2)
//	    "log_format": "...",               9F4F (default DefaultLogFormat)
//	    "ec": {                            absent or enabled=false: no EC
//	      "enabled": true,
//	      "balance": "500.00",             9F79 ≤ balance_limit, required
//	      "balance_limit": "1000.00",      9F77, required
//	      "single_limit": "300.00",        9F78, required
//	      "reset_threshold": "1.00",       9F6D, default "0.00"
//	      "issuer_auth_code": "ECC001"     9F74, 6 letters/digits
//	    },
//	    "atc": 0,                          9F36, 0-65535
//	    "last_online_atc": 0,              9F13, ≤ atc
//	    "log": ["..."],                    log records in hex, newest
//	                                       first, ≤ 10, format length each
//	    "load_log": ["..."],               load log records (SFI 12), the
//	                                       same way, 44 bytes each
//	    "keys": {"imk_ac": "..", "imk_smi": "..", "imk_smc": ".."},
//	                                       16-byte test issuer master keys
//	    "key_alg": "tdes",                 "tdes" (default) or "sm4"
//	    "oda": "dda",                      none (default), sda, dda, cda
//	    "oda_alg": "rsa",                  rsa (default) or sm2
//	    "ca_index": "F1",                  test CA key (8F): F1/F2 RSA
//	                                       (default F1), F3 SM2
//	    "issuer_key_bits": 1408,           RSA only, default 1408
//	    "icc_key_bits": 1152,              RSA only, default 1152;
//	                                       ICC ≤ issuer ≤ CA, CDA ≤ 1744
//	    "issuer_exponent": 3,              RSA only, 3 (default) or 65537
//	    "icc_exponent": 3,                 RSA only, 3 (default) or 65537
//	    "genac_format": 1,                 1: tag 80 (default), 2: tag 77
//	    "pin": {"value": "123456",        the PIN VERIFY checks (offline PIN)
//	      "tries": 3, "try_limit": 3,      9F17 (default the limit, 0-15);
//	                                       the limit, 1-15 (default 3)
//	      "encipherment": "icc"},          P2 88 deciphered with: icc (RSA
//	                                       DDA/CDA default), separate (own
//	                                       1024-bit key, 9F2D), none
//	    "extra": {"9F63": "0102"}          tag → value, appended to SFI 2
//	                                       record 1 in tag order
//	    "qpboc": {                         contactless; absent: defaults
//	      "disabled": false,               true: not in the PPSE
//	      "pdol": "9F6604...9F4E14",       contactless PDOL (DefaultQPBOCPDOL);
//	                                       needs 9F66 04, 9F02 06, 5F2A 02,
//	                                       9F37 04
//	      "ctq": "2000",                   9F6C (default: online if ODA fails)
//	      "fdda_version": "01"             01 (default) or 00
//	    }
//	  }]
//	}
//
// After parsing, every defaulted field holds its effective value, so Marshal
// writes an explicit profile, and Card.Snapshot gives the current state
// (balances, ATCs, logs, PIN tries) as a profile to continue from later.
//
// # Files and records
//
// PSE (if present): SELECT '1PAY.SYS.DDF01' returns
// 6F[84 name, A5[88 01, 5F2D]]; READ RECORD SFI 1 record n (n = 1..number of
// applications) returns 70[61[4F AID, 50 label, 87 priority if set, 9F12 if
// set]] for the n-th application; past the last, 6A83.
//
// ADF: SELECT by AID returns 6F[84 AID, A5[50, 87 if set, 9F38 if a PDOL,
// 5F2D, 9F11 01, 9F12 if set, BF0C[9F4D 0B 0A, DF4D 0C 0A]]]. A SELECT whose name is a
// prefix of AIDs selects the first of them (P2 00) or the next one after the
// currently selected application (P2 02); no match gives 6A82 and leaves the
// current selection as it was.
//
// Records of the application:
//
//	SFI 1 record 1: 70[57 track 2 (PAN D YYMM 220 0000, F-padded), 5F20]
//	SFI 2 record 1: 70[5A, 5F34, 5F24, 5F25, 5F28, 9F07, 8E, 8C, 8D,
//	                   9F0D, 9F0E, 9F0F, 9F08 0030, 9F42, extra...]
//	SFI 2 record 2: 70[9F74 issuer authorisation code]   (EC only)
//	SFI 3 record 1: 70[90 issuer public key certificate]          (ODA)
//	SFI 3 record 2: 70[8F CA index, 92 issuer remainder, 9F32 issuer
//	                   exponent, 9F4A 82, 9F47 ICC exponent, 9F48 ICC
//	                   remainder, 9F49 DDOL 9F3704]                (ODA)
//	SFI 3 record 3: 70[93 signed static data] (SDA) or
//	                70[9F46 ICC public key certificate] (DDA, CDA)
//	SFI 3 record 4: 70[9F2D ICC PIN encipherment key certificate, 9F2E
//	                   exponent, 9F2F remainder if any]  (pin.encipherment
//	                   "separate"; the AFL then reads SFI 3 records 1-4)
//	SFI 11 record n: transaction log, n = 1 newest, at most 10 records
//	SFI 12 record n: load log, n = 1 newest, at most 10 records
//
// In SFI 3 record 2, 92/9F48 appear only when the key does not fit its
// certificate, 9F32/9F47/9F48 only for RSA, and 9F47/9F48/9F49 only for
// DDA and CDA.
//
// AFL returned by GET PROCESSING OPTIONS:
//
//	normal path, no ODA: 08 01 01 00  10 01 01 00
//	EC path, no ODA:     08 01 01 00  10 01 02 00   (adds the 9F74 record)
//	normal path, ODA:    08 01 01 00  10 01 01 01  18 01 03 00
//	EC path, ODA:        08 01 01 00  10 01 02 01  18 01 03 00
//
// Only SFI 2 record 1 (PAN, dates, CDOLs, CVM list, IACs …) is signed; 9F4A
// adds the AIP. The static data to be authenticated is therefore the same
// on both paths, the 9F74 record is not covered, and the certificates
// (computed over the signed record) sit in records that are not flagged.
//
// # Offline data authentication
//
// Certificates are real: the issuer key is certified by a key of the test
// CA (TestCA, RID A000000333: F1 RSA 1984 bits e=3, F2 RSA 1408 bits
// e=65537, F3 SM2), whose public halves capk.TestKeys() serves (never capk.Builtin()) from
// capk/testkeys/testca.json. Keys derive from fixed seeds with package pki
// (issuer "pboc-test-issuer-" + PAN, ICC "pboc-test-icc-" + PAN + "-" +
// two-digit PAN sequence number), so RSA certificates are the same on
// every run; SM2 signatures are randomised, but a process reuses the
// certificates it made for the same profile. The issuer identifier is the
// first six PAN digits, both certificates expire with the application
// (5F24, as MMYY), serial numbers are 000001, and the data authentication
// code of SDA is DAC1. The static data is computed with oda.StaticData
// exactly as a terminal does.
//
// INTERNAL AUTHENTICATE (00 88 00 00 04 UN 00), DDA and CDA cards only
// (else 6D00): allowed after GPO and before the first GENERATE AC (6985),
// with exactly DDOL-long data (6700); answers 80[signed dynamic application
// data] made with pki.SignDynamicData over an 8-byte ICC dynamic number
// that hashes the PAN, the ATC and a count of the card's signatures.
//
// # Transaction
//
// GET PROCESSING OPTIONS (80 A8 00 00) is allowed once per ADF selection;
// its data must be 83 L pdol-data with L the PDOL length (else 6700). It
// increments the ATC (an ATC of FFFF refuses with 6985) and takes the EC path
// when EC is enabled, 9F7A = 01, the amount 9F02 is ≤ the balance and ≤ the
// single-transaction limit, and 5F2A (if in the PDOL) is the application
// currency. The response is format 1: 80[AIP AFL].
//
// READ RECORD (00 B2) of SFI 1 to 3 needs GPO first (6985) and a record
// named by the current AFL (else 6A83); the logs (SFI 11 and 12) only need
// the ADF selected. Other SFIs, and SFI 3 on a card without ODA, give 6A82.
//
// GET DATA (80 CA) needs an ADF selected and answers the whole TLV for 9F79,
// 9F77, 9F78, 9F6D (6A88 when EC is off), 9F36, 9F13, 9F4F, DF4F and 9F17;
// anything else is 6A88.
//
// Offline PIN (pin.go): VERIFY (00 20 00 P2) with P2 80 (the plaintext
// block of EMV format 2, 8 bytes) or 88 (that block enciphered under the
// PIN encipherment key, EMV Book 2 §7.2: 7F ‖ block ‖ challenge ‖ pad,
// exactly modulus-long), after GPO and before the first GENERATE AC (6985).
// A right PIN answers 9000 and sets the try counter back to the try
// limit; a wrong one lowers it and answers 63Cx; at 0 tries every VERIFY
// answers 6983. An enciphered PIN must carry the challenge of a GET
// CHALLENGE (00 84 00 00 00: 8 bytes, valid for the next command only)
// and the header 7F, else it counts as wrong; a plaintext block that is
// not format 2 (6A80), data of the wrong length (6700) or that cannot be
// deciphered (6A80) count nothing; P2 88 on a card without an RSA PIN
// encipherment key answers 6A81. The CVR of the transaction's cryptograms
// then says "offline PIN verification performed" (byte 2 bit 3) and, when
// the last VERIFY failed, "offline PIN verification failed" (bit 2).
//
// GENERATE AC (80 AE): the first needs GPO and exactly CDOL1-long data; the
// second is allowed only after an ARQC and takes CDOL2 data. P1 bit 5 (CDA
// signature requested) is accepted by a CDA card only; RFU bits and the CDA
// bit on other cards are refused with 6A86. First GENERATE AC: AAC asked gives
// AAC; TC asked on the EC path with the CDOL1 amount within balance and
// single limit (and 5F2A the application currency) gives TC, deducts the
// amount once and writes a log record; otherwise ARQC. Second GENERATE AC:
// TC if 8A = "00" and TC is asked (a log record is written), else AAC; the
// last online ATC becomes the ATC unless 8A is Y3 or Z3 (unable to go
// online). After TC or AAC the transaction is over: GENERATE AC gives 6985
// until the next SELECT.
//
// Response format 1 is 80[CID ATC AC IAD]; format 2 is 77[9F27 9F36 9F26
// 9F10]. With CDA requested, a TC or ARQC is answered in format 2 as
// 77[9F27 9F36 9F4B 9F10], the cryptogram travelling inside the signature
// (pki.SignCDA over the 9F37 of the command's CDOL data and the transaction
// data hash of PDOL data ‖ CDOL1 data [‖ CDOL2 data] ‖ the encoded 9F27,
// 9F36 and 9F10); an AAC is not signed and comes in format 2 with 9F26. The issuer application data 9F10 is
//
//	07 01(DKI) 01(CVN) CVR(4) alg(01 TDES / 04 SM4) [0A 01 balance(5) MAC(4)]
//
// with CVR = 03 b1 00 00, where b1 bits 8-7 give the cryptogram of the
// second GENERATE AC (00 AAC, 01 TC, 10 not requested), bits 6-5 that of the
// first (00 AAC, 01 TC, 10 ARQC), bit 4 "issuer authentication performed
// and failed", bits 3 and 2 "offline PIN verification performed" and
// "failed", and bit 1 "unable to go online". The part
// in brackets is present only for an EC TC: the new balance as the low 10
// digits of the n12 amount and keys.ScriptMAC under the SMI session key over
// those 5 bytes. The cryptogram is keys.Cryptogram under the AC session key
// of the ATC over keys.ACData, fed with the CDOL data (CDOL1, overlaid by
// CDOL2 on the second GENERATE AC), the AIP, the ATC and the CVR. Card keys
// derive from the profile's issuer master keys with IssuerKeys.Derive.
//
// Log records follow the log format: each tag's value comes from the CDOL1
// data, 9F36 is the ATC and 9F27 the CID; values are fitted as in a DOL.
//
// # Online processing
//
// EXTERNAL AUTHENTICATE (00 82 00 00 0A ARPC(8) ARC(2)) is allowed once,
// after a first GENERATE AC that returned an ARQC and before the second
// (else 6985; wrong length 6700). The card checks, in constant time, that
// the ARPC is keys.ARPC under the AC session key of the ATC over the ARQC
// and the ARC: 9000, or 6300, after which the second GENERATE AC answers
// AAC whatever is asked. A CDOL2 that asks for tag 91 (10 bytes) does the
// same check at the second GENERATE AC when no EXTERNAL AUTHENTICATE was
// sent and the data is not all zeros.
//
// Issuer scripts: PUT DATA with secure messaging, 04 DA 9F xx 0A value(6)
// MAC(4), for 9F79, 9F77, 9F78 and 9F6D, is accepted after a first
// GENERATE AC that returned an ARQC, before or after the second GENERATE
// AC, until the next SELECT (else 6985). The MAC is checked with
// keys.VerifyECUpdateScript under the SMI session key of the ATC, with the
// ATC and the ARQC (wrong MAC 6988). A value that is not 6 BCD bytes, a
// balance above the limit or a limit below the balance is refused with 6A80;
// a good script sets the value at once (9000). Other tags, or a card
// without EC, give 6A88; PUT DATA with CLA 00 or 80 (no MAC) gives 6982.
//
// A PUT DATA 9F79 that changes the balance writes a load log record (SFI
// 12, announced by DF4D 0C 0A in the FCI): 9F 79 ‖ balance before ‖
// balance after ‖ data of the load log format DF4F (GET DATA DF4F) =
// DefaultLoadLogFormat, taken from the CDOL1 data, with the ATC.
//
// # Contactless (qPBOC, 闪付)
//
// NewContactless presents the same card to a contactless reader: balances,
// counters and logs are shared, and a command on one interface ends a
// session open on the other. Over contactless, SELECT '2PAY.SYS.DDF01'
// answers 6F[84, A5[BF0C[61[4F, 50, 87 if set]...]]] listing the
// applications whose qpboc is not disabled (the PSE is absent), SELECT of
// an application answers its FCI with the contactless PDOL, and GET
// PROCESSING OPTIONS (data 83 L contactless-PDOL-data) decides at once:
//
//   - TTQ (9F66) byte 1 bit 6 (qPBOC) clear: 6985;
//   - the EC conditions hold (EC enabled, 9F7A = 01, 5F2A the application
//     currency, 0 < amount ≤ balance and ≤ single limit) and the TTQ asks
//     neither an online cryptogram (byte 2 bit 8) nor CVM (byte 2 bit 7),
//     but balance − amount < reset threshold, on a reader that is online
//     capable (byte 1 bit 4 clear) and supports contact (byte 1 bit 5):
//     6984, "use contact", since the top-up needs it (ATC unchanged);
//   - those EC conditions, a card with an ICC key (DDA or CDA) and either
//     enough balance left or an offline-only reader: TC, the amount is
//     deducted now and a log record written;
//   - otherwise ARQC on an online-capable reader, else AAC.
//
// The ATC is incremented, and the answer is format 2:
//
//	77[82 AIP, 94 AFL, 9F36 ATC, 9F26 AC, 9F10 IAD, 57 track 2, 9F6C CTQ,
//	   9F5D available offline spending amount (EC only: the balance after),
//	   9F69 (TC, fDDA 01), 9F4B fDDA signature (TC)]
//
// with no 9F27: the cryptogram type is in 9F10 byte 5 bits 6-5 (CVR, as on
// contact); 9F10 is 07 01 17(CVN qPBOC) CVR alg [0A 01 balance MAC] and the
// cryptogram is computed as for GENERATE AC over the PDOL data. The CTQ
// adds byte 1 bit 8 (online PIN required) to an ARQC when the TTQ asks for
// CVM and supports online PIN. fDDA is pki.SignFDDA over the 9F37, 9F02
// and 5F2A sent; version 01 (when the profile says so and the TTQ byte 4
// bit 8 allows it) adds 9F69 = 01 ‖ card unpredictable number (4) ‖ CTQ.
// The AFL names SFI 2 record 1 (flagged for ODA on a card with ODA) and the
// SFI 3 records: 10 01 01 01 18 01 03 00. When the signature would make the
// response longer than 256 bytes it moves to SFI 4 record 1 (70[9F4B]) and
// the AFL adds 20 01 01 00. After GPO the transaction is over (GENERATE AC
// 6985); READ RECORD, GET DATA and the logs work as on contact.
//
// # Status words
//
// Malformed APDU 6700; CLA other than 00/80/84 (04 for PUT DATA only), or
// the wrong one of them for the instruction, 6E00; unknown INS 6D00; bad P1/P2 6A86; out of order
// 6985; a response longer than a non-zero Le 6Cxx.
//
// # Faults
//
// Faulty wraps any apdu.Transport and injects card removal, reader errors,
// timeouts, forced status words, truncated or corrupted responses and torn
// transactions at chosen APDU indexes.
package cardsim
