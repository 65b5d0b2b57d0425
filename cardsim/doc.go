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
//	    "aip": "1800",                     82, default 1800
//	    "auc": "FF00",                     9F07, default FF00
//	    "cvm_list": "0000...42035E031F03", 8E, default: online PIN if the
//	                                       terminal supports it, else
//	                                       signature, else no CVM
//	    "iac_default": "4C60800000",       9F0D
//	    "iac_denial": "0010000000",        9F0E
//	    "iac_online": "4C60840000",        9F0F
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
//	    "keys": {"imk_ac": "..", "imk_smi": "..", "imk_smc": ".."},
//	                                       16-byte test issuer master keys
//	    "key_alg": "tdes",                 "tdes" (default) or "sm4"
//	    "oda": "none",                     reserved: "sda"/"dda"/"cda" are
//	    "oda_alg": "",                     refused until ODA is implemented;
//	                                       oda_alg "rsa"/"sm2"
//	    "genac_format": 1,                 1: tag 80 (default), 2: tag 77
//	    "pin": {"value": "123456", "tries": 3},
//	                                       VERIFY reserved; tries is 9F17
//	    "extra": {"9F63": "0102"}          tag → value, appended to SFI 2
//	                                       record 1 in tag order
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
// 5F2D, 9F11 01, 9F12 if set, BF0C[9F4D 0B 0A]]]. A SELECT whose name is a
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
//	SFI 11 record n: transaction log, n = 1 newest, at most 10 records
//
// AFL returned by GET PROCESSING OPTIONS (no records for ODA yet):
//
//	normal path: 08 01 01 00  10 01 01 00
//	EC path:     08 01 01 00  10 01 02 00   (adds the 9F74 record)
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
// READ RECORD (00 B2) of SFI 1/2 needs GPO first (6985) and a record named
// by the current AFL (else 6A83); the log (SFI 11) only needs the ADF
// selected. Other SFIs give 6A82.
//
// GET DATA (80 CA) needs an ADF selected and answers the whole TLV for 9F79,
// 9F77, 9F78, 9F6D (6A88 when EC is off), 9F36, 9F13, 9F4F and 9F17;
// anything else is 6A88.
//
// GENERATE AC (80 AE): the first needs GPO and exactly CDOL1-long data; the
// second is allowed only after an ARQC and takes CDOL2 data. P1 bit 5 (CDA)
// and RFU bits are refused with 6A86. First GENERATE AC: AAC asked gives
// AAC; TC asked on the EC path with the CDOL1 amount within balance and
// single limit (and 5F2A the application currency) gives TC, deducts the
// amount once and writes a log record; otherwise ARQC. Second GENERATE AC:
// TC if 8A = "00" and TC is asked (a log record is written), else AAC; the
// last online ATC becomes the ATC unless 8A is Y3 or Z3 (unable to go
// online). After TC or AAC the transaction is over: GENERATE AC gives 6985
// until the next SELECT.
//
// Response format 1 is 80[CID ATC AC IAD]; format 2 is 77[9F27 9F36 9F26
// 9F10]. The issuer application data 9F10 is
//
//	07 01(DKI) 01(CVN) CVR(4) alg(01 TDES / 04 SM4) [0A 01 balance(5) MAC(4)]
//
// with CVR = 03 b1 00 00, where b1 bits 8-7 give the cryptogram of the
// second GENERATE AC (00 AAC, 01 TC, 10 not requested), bits 6-5 that of the
// first (00 AAC, 01 TC, 10 ARQC) and bit 1 "unable to go online". The part
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
// # Status words
//
// Malformed APDU 6700; CLA other than 00/80/84 (or the wrong one of them
// for the instruction) 6E00; unknown INS 6D00; bad P1/P2 6A86; out of order
// 6985; a response longer than a non-zero Le 6Cxx.
//
// # Faults
//
// Faulty wraps any apdu.Transport and injects card removal, reader errors,
// timeouts, forced status words, truncated or corrupted responses and torn
// transactions at chosen APDU indexes.
package cardsim
