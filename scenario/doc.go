// SPDX-License-Identifier: Apache-2.0

// Package scenario runs conformance scenarios against the kernel: a card
// profile, a terminal configuration, an optional issuer host, a transaction
// and the expected result, in one JSON file. The project's own suite lives
// in testdata/scenarios (run by this package's tests and by
// "pboc scenario run DIR"); users point the runner at their own folders.
//
//	s, err := scenario.Load("testdata/scenarios/ec-offline-approved.json")
//	r := scenario.Run(ctx, s)
//	fmt.Println(r) // PASS ec-offline-approved
//
// A report that fails names every expectation that did not hold:
//
//	FAIL ec-offline-approved: outcome: want online_required, got approved_offline;
//	tvr: want ODA not performed set, got clear (TVR 0000000000)
//
// # File format
//
// Unknown fields are refused everywhere (a misspelt expectation must not pass
// silently); errors name the file and the field ("expect.tvr_set: unknown TVR
// bit ..."). Amounts are decimal yuan strings ("12.34"), binary values hex.
//
//	{
//	  "name": "ec-offline-approved",     default: the file name without .json
//	  "description": "...",              what is checked and why
//	  "known_issue": "...",              the kernel is believed wrong: the
//	                                     report says KNOWN and does not fail
//	                                     (FIXED once it passes)
//	  "card": "../cards/default.json",   a cardsim profile: a path relative to
//	                                     this file, or an inline profile object
//	  "card_patch": {...},               merged into the profile before it is
//	                                     validated: objects key by key, null
//	                                     deletes a key, arrays element by element
//	                                     {"applications": [{"ec": {"balance": "5.00"}}]}
//	  "terminal": {                      overrides of kernel.DefaultConfig()
//	    "online_capable": true,
//	    "terminal_type": "22", "capabilities": "E0E1C8",
//	    "additional_capabilities": "6F00F0F001",
//	    "country": 156, "currency": 156,
//	    "exception_file": ["6222021000123456781"],
//	    "capk": "../capk/unionpay.json", CA key file relative to this file
//	                                     (default: the built-in published keys and
//	                                     the simulator's test CA, capk.TestKeys)
//	    "now": "2026-03-15T10:30:00+08:00", the clock (this is the default, so
//	                                     runs are reproducible)
//	    "max_apdus": 256,
//	    "sm": true,                      SM2/SM3/SM4 support: DF69 = 01 when
//	                                     a PDOL asks (Config.SM, default true)
//	    "ec": true, "ec_limit": "1000.00", "floor_limit": "0.00",
//	    "random_threshold": "0.00", "target_percent": 0, "max_target_percent": 0,
//	    "tac_denial": "0010000000", "tac_online": "D84004F800",
//	    "tac_default": "D84000A800", "version": "0030",
//	    "default_ddol": "9F3704",        DDOL when the card has none ("": none)
//	    "tdol": "9F0206",                default TDOL for the TC hash (98)
//	                                     these apply to every application;
//	    "applications": [                this replaces the AID list, each entry
//	      {"aid": "A000000333010102",    starting from the parameters above
//	       "partial_match": false, "ec_limit": "50.00"}
//	    ]
//	  },
//	  "host": {                          the simulated issuer (hostsim), one
//	    "account": "2000.00",            account per card application;
//	    "pin": "123456",                 absent: the terminal has no host
//	    "unreachable": false,            every authorisation fails
//	    "corrupt_script": false,         the MAC of each script command is
//	                                     spoilt on the way: the card refuses it
//	    "updates": {"9F79": "800.00"}    PUT DATA scripts the issuer queues
//	  },                                 for each card application (QueueUpdate)
//	  "pin_entered": "123456",           typed on the PIN pad (default 123456);
//	                                     "": the cardholder bypasses PIN entry
//	  "no_pin_pad": false,               the terminal has no PIN pad
//	  "offline_pin_entered": "123456",   typed on the offline PIN pad (the
//	                                     card verifies it); absent: no offline
//	                                     PIN pad; "": bypass; "111111,123456":
//	                                     one PIN per entry, then a bypass
//	  "cardholder_id": true,             the attendant's verdict on the ID
//	                                     document (PBOC CVM 20); absent:
//	                                     nobody checks documents
//	  "before": [{"type": "purchase", "amount": "1.00"}],
//	                                     run first on the same card, terminal
//	                                     and host; not checked, but an error
//	                                     fails the scenario (unless the entry
//	                                     has its own "faults")
//	  "transaction": {
//	    "type": "purchase",              purchase, load, balance, log,
//	                                     load_log (the card's load log), or
//	                                     purchase_contactless (UNSUPPORTED, not
//	                                     failing, when the kernel lacks it)
//	    "amount": "12.34",               purchases and loads
//	    "load_type": "designated"        designated, non-designated or cash
//	  },
//	  "faults": [                        cardsim faults in the transaction
//	    {"on": "GENERATE AC", "nth": 1, "kind": "torn"},  by command name, or
//	    {"at": 4, "kind": "sw", "sw": "6985"}             by 0-based APDU index
//	  ],                                 kinds: remove, reader_error, timeout,
//	                                     sw, truncate, corrupt, torn
//	  "card_answers": [                  what the card answers instead, in
//	                                     every transaction (CardAnswer)
//	    {"command": "00B2010C", "nth": 1, "answer": "7012...9000"},
//	                                     a fixed answer to a command starting
//	                                     with these bytes (nth: only the nth
//	                                     of a transaction; absent: every one)
//	    {"on": "READ RECORD", "drop": "9F46"}
//	                                     the tag left out of every answer to
//	                                     the named command
//	  ],
//	  "expect": { ... }
//	}
//
// # Fuel-card scenarios
//
// A file with a "purse" object is a fuel-card scenario (package purse): a
// simulated fuel card (cardsim.PurseProfile), PSAM and reserve host, one
// operation (load, unload, purchase, dispense, balance, records) with
// faults on the card or the PSAM, the card's next presentation ("then"),
// and the money that must come out: the card's real EP and ED balances,
// the reserve account, the grey status and the store's record states. The
// format is on the Purse type (go doc ./scenario Purse).
//
// # Expectations
//
// Only the fields given are checked, in this order:
//
//	"error"            a substring of the kernel's error; "none": no error.
//	                   A balance or log read with an error always fails
//	                   unless "error" expects it.
//	"outcome"          required for purchases and loads: terminated,
//	                   approved_offline, declined, approved_online,
//	                   online_required (and the kernel's newer outcomes)
//	"reason"           the kernel.Reason code, e.g. "ec_approved"
//	"detail_contains"  a substring of Result.Detail
//	"tvr", "tsi"       exact values in hex
//	"tvr_set", "tvr_clear", "tsi_set", "tsi_clear"
//	                   bits as an array of names (short names below or the
//	                   kernel's long ones, case-insensitive) or a hex mask
//	"balance_before", "balance_after"
//	                   EC balances as the card reported them (Result);
//	                   null: the card reported none
//	"oda"              none, SDA, DDA or CDA
//	"cid"              TC, ARQC, AAC, or none (no GENERATE AC answered)
//	"response_code"    the issuer's 8A ("" when the terminal never went online)
//	"aid"              the selected application
//	"ec_path", "top_up", "reversed", "torn"   Result flags
//	"settled"          torn sales settled by this transaction
//	"scripts_ok"       every issuer script succeeded (true) or one failed
//	"balance", "balance_limit", "single_limit", "reset_threshold"
//	                   a balance read (9F79, 9F77, 9F78, 9F6D)
//	"log_count", "log_amounts"   a log read, newest first (log_count also
//	                   a load_log read)
//	"load_log"         a load log read, newest first:
//	                   [{"tag": "9F79", "before": "500.00", "after": "600.00"}]
//	"pdol_data"        values the last GET PROCESSING OPTIONS sent, split
//	                   by the PDOL of the SELECT answer before it:
//	                   {"DF69": "01"}
//	"cdol2_data"       values the second GENERATE AC sent, split by the
//	                   card's CDOL2 (8D): {"8A": "5933"} (Y3)
//	"card_balance"     the simulated card's real EC balance afterwards, for
//	                   the application used (else the first one)
//	"account_balance"  the issuer's back-office account afterwards
//	"cvm_results"      the CVM results 9F34 in hex, as field 55 carries them
//	"signature_required"  Result.SignatureRequired
//	"pin_tries"        the simulated card's PIN try counter (9F17) afterwards
//	"apdus"            the number of commands sent
//	"apdu_sequence"    the exact command names sent, e.g. ["SELECT",
//	                   "READ RECORD", "GET PROCESSING OPTIONS", ...]
//
// TVR bit names: ODA not performed, SDA failed, ICC data missing, card on
// exception file, DDA failed, CDA failed, SDA selected, versions differ,
// expired application, not yet effective, service not allowed, new card, CVM
// failed, unrecognised CVM, PIN try limit exceeded, PIN pad not working, PIN
// not entered, online PIN entered, floor limit exceeded, LCOL exceeded, UCOL
// exceeded, randomly selected, merchant forced online, default TDOL used,
// issuer authentication failed, script failed before final GENERATE AC,
// script failed after final GENERATE AC.
//
// TSI bit names: ODA performed, CVM performed, card risk management
// performed, issuer authentication performed, terminal risk management
// performed, script processing performed.
//
// # Running
//
// Each run personalises a fresh card from the profile, a fresh host and a
// kernel with an in-memory torn log; the card is powered up afresh (reset)
// before each transaction, and faults count APDUs from the start of their
// transaction. Statuses: PASS, FAIL, KNOWN (a known issue still present),
// FIXED (a known issue that passes now: remove the marker) and UNSUPPORTED;
// only FAIL fails a run.
package scenario
