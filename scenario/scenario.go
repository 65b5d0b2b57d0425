// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// MaxFileSize bounds a scenario file (and the card profile or CA key file
// it names).
const MaxFileSize = 1 << 20

// maxBefore bounds the transactions a scenario runs before its own.
const maxBefore = 16

// maxFaults bounds the faults of one transaction.
const maxFaults = 16

// ErrInvalid is wrapped by every error Parse, Load and LoadDir return for a
// scenario file that cannot be used.
var ErrInvalid = errors.New("scenario: invalid scenario")

// Error names the scenario file and the field that is wrong, as a JSON path
// such as "expect.tvr_set". It wraps ErrInvalid and the cause.
type Error struct {
	// Path is the scenario file ("" when parsed from bytes).
	Path string
	// Field is the JSON path of the offending field ("" for the whole file).
	Field string
	// Err is what is wrong.
	Err error
}

// Error returns "scenario: FILE: FIELD: what is wrong".
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("scenario: ")
	if e.Path != "" {
		sb.WriteString(e.Path + ": ")
	}
	if e.Field != "" {
		sb.WriteString(e.Field + ": ")
	}
	sb.WriteString(e.Err.Error())
	return sb.String()
}

// Unwrap returns ErrInvalid and the cause, so errors.Is works for both.
func (e *Error) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// Scenario is one conformance test: a card, a terminal, an optional
// issuer host, a transaction and what must come out of it. The JSON format
// is documented in the package documentation.
type Scenario struct {
	// Name identifies the scenario in reports; it defaults to the file
	// name without ".json".
	Name string `json:"name"`
	// Description says what the scenario checks and why.
	Description string `json:"description,omitempty"`
	// KnownIssue, when set, says why the current kernel is believed to be
	// wrong: differences are reported but do not fail the run.
	KnownIssue string `json:"known_issue,omitempty"`
	// Card is a card profile path relative to the scenario file (a JSON
	// string) or an inline cardsim profile (a JSON object).
	Card json.RawMessage `json:"card"`
	// CardPatch is merged into the card profile before it is validated:
	// objects merge key by key, null deletes, and an array merges element
	// by element (so {"applications": [{"ec": {"balance": "1.00"}}]}
	// changes the first application's EC balance only).
	CardPatch json.RawMessage `json:"card_patch,omitempty"`
	// Terminal overrides kernel.DefaultConfig().
	Terminal Terminal `json:"terminal"`
	// Host is the simulated issuer; nil means the terminal has no host.
	Host *Host `json:"host,omitempty"`
	// PINEntered is what the cardholder types on the PIN pad; nil means
	// "123456", "" means the cardholder bypasses PIN entry.
	PINEntered *string `json:"pin_entered,omitempty"`
	// NoPINPad runs the terminal without a PIN pad.
	NoPINPad bool `json:"no_pin_pad,omitempty"`
	// OfflinePINEntered is what the cardholder types on the offline PIN
	// pad (the card verifies it; kernel.WithOfflinePINPad); nil means the
	// terminal has no offline PIN pad, "" that the cardholder bypasses.
	// Several PINs separated by commas are typed one per entry (a wrong
	// PIN, then the right one); after the last the cardholder bypasses.
	OfflinePINEntered *string `json:"offline_pin_entered,omitempty"`
	// CardholderID is the attendant's verdict on the cardholder's
	// identity document (PBOC CVM 20; kernel.WithCardholderIDVerifier);
	// nil means nobody at this terminal checks documents.
	CardholderID *bool `json:"cardholder_id,omitempty"`
	// Before lists transactions run first with the same card, terminal and
	// host (to fill the log, leave a torn sale, ...); their results are not
	// checked, but an error from one fails the scenario.
	Before []Transaction `json:"before,omitempty"`
	// Transaction is the transaction under test.
	Transaction Transaction `json:"transaction"`
	// Faults are injected into the transaction under test (see Fault).
	Faults []Fault `json:"faults,omitempty"`
	// CardAnswers change what the simulated card answers in every
	// transaction of the scenario (see CardAnswer): what a profile cannot
	// say, such as a PSE directory naming a DDF or a record without a tag.
	CardAnswers []CardAnswer `json:"card_answers,omitempty"`
	// Expect is what the transaction under test must produce.
	Expect Expect `json:"expect"`
	// Purse, when set, makes this a fuel-card scenario (see Purse): the
	// fields above but Name, Description and KnownIssue stay empty.
	Purse *Purse `json:"purse,omitempty"`

	// Path is the file the scenario was loaded from ("" when parsed from bytes).
	Path string `json:"-"`

	profile *cardsim.Profile
	capk    *capk.Store
	now     time.Time
	cfg     kernel.Config
	account kernel.Amount
}

// Terminal overrides the default terminal configuration
// (kernel.DefaultConfig). The application parameters at this level apply
// to every application of the terminal; Applications, when present,
// replaces the terminal's AID list.
type Terminal struct {
	// OnlineCapable says whether the terminal can go online (default true).
	OnlineCapable *bool `json:"online_capable,omitempty"`
	// TerminalType is 9F35 in hex ("22").
	TerminalType string `json:"terminal_type,omitempty"`
	// Capabilities is 9F33 in hex ("E0E1C8").
	Capabilities string `json:"capabilities,omitempty"`
	// AdditionalCapabilities is 9F40 in hex (5 bytes).
	AdditionalCapabilities string `json:"additional_capabilities,omitempty"`
	// Country and Currency are 9F1A and 5F2A, ISO numeric (default 156).
	Country  *int `json:"country,omitempty"`
	Currency *int `json:"currency,omitempty"`
	// ExceptionFile lists PANs the terminal refuses offline.
	ExceptionFile []string `json:"exception_file,omitempty"`
	// CAPK is a CA public key file (capk JSON format) relative to the
	// scenario file; absent means the built-in keys.
	CAPK string `json:"capk,omitempty"`
	// Now is the terminal's clock, RFC 3339; default 2026-03-15T10:30:00+08:00,
	// so that runs are reproducible.
	Now string `json:"now,omitempty"`
	// MaxAPDUs bounds the commands of one transaction (default 256).
	MaxAPDUs int `json:"max_apdus,omitempty"`
	// SM says whether the terminal supports SM2/SM3/SM4 (Config.SM,
	// default true): DF69 = 01 when a PDOL asks for it.
	SM *bool `json:"sm,omitempty"`
	AppParams
	// Applications replaces the terminal's AID list; each entry starts
	// from the default parameters (as changed by AppParams above).
	Applications []TerminalApp `json:"applications,omitempty"`
}

// AppParams are the per-application terminal parameters.
type AppParams struct {
	// EC enables or disables electronic cash.
	EC *bool `json:"ec,omitempty"`
	// ECLimit is the EC terminal transaction limit 9F7B ("1000.00").
	ECLimit string `json:"ec_limit,omitempty"`
	// FloorLimit is the terminal floor limit 9F1B ("0.00").
	FloorLimit string `json:"floor_limit,omitempty"`
	// RandomThreshold, TargetPercent and MaxTargetPercent drive random
	// transaction selection.
	RandomThreshold  string `json:"random_threshold,omitempty"`
	TargetPercent    *int   `json:"target_percent,omitempty"`
	MaxTargetPercent *int   `json:"max_target_percent,omitempty"`
	// TACDenial, TACOnline and TACDefault are the terminal action codes in
	// hex (5 bytes).
	TACDenial  string `json:"tac_denial,omitempty"`
	TACOnline  string `json:"tac_online,omitempty"`
	TACDefault string `json:"tac_default,omitempty"`
	// Version is the terminal application version 9F09 in hex ("0030").
	Version string `json:"version,omitempty"`
	// DefaultDDOL is the terminal's default DDOL in hex (UnionPay DF14;
	// kernel.Application.DefaultDDOL), used when the card has no 9F49;
	// "" means none. Absent: the default, 9F3704.
	DefaultDDOL *string `json:"default_ddol,omitempty"`
	// TDOL is the terminal's default TDOL in hex (kernel.Application.TDOL),
	// used for the TC hash when the card has none; "" or absent: none.
	TDOL *string `json:"tdol,omitempty"`
}

// TerminalApp is one entry of a replaced terminal AID list.
type TerminalApp struct {
	// AID in hex.
	AID string `json:"aid"`
	// PartialMatch allows card AIDs that start with AID (default true).
	PartialMatch *bool `json:"partial_match,omitempty"`
	AppParams
}

// Host is the simulated issuer (hostsim) with one account per card
// application.
type Host struct {
	// Account is the back-office account balance ("2000.00" by default).
	Account string `json:"account,omitempty"`
	// PIN is the cardholder's PIN the issuer holds (default "123456").
	PIN string `json:"pin,omitempty"`
	// Unreachable makes every authorisation fail: the terminal cannot go online.
	Unreachable bool `json:"unreachable,omitempty"`
	// CorruptScript flips a byte of the MAC of every issuer script command
	// the host sends, so the card refuses the script.
	CorruptScript bool `json:"corrupt_script,omitempty"`
	// Updates are EC parameter updates the issuer queues for every card
	// application (hostsim.Host.QueueUpdate), tag in hex to amount:
	// {"9F79": "800.00"} refills a top-up to 800.00, whatever 9F77 says.
	// They ride along with the next approved authorisation.
	Updates map[string]string `json:"updates,omitempty"`

	updates []hostUpdate
}

// hostUpdate is one checked entry of Host.Updates.
type hostUpdate struct {
	tag   uint16
	value []byte // n12
}

// CardAnswer changes what the simulated card answers, in every
// transaction of the scenario, in one of two ways:
//
//	{"command": "00B2010C", "answer": "70..9000", "nth": 1}
//	    a command whose bytes start with Command (hex) is answered with
//	    Answer (data and status word, hex); the card never sees it. With
//	    Nth, only the nth such command of each transaction (1 is the
//	    first); without, every one
//	{"on": "READ RECORD", "drop": "9F46"}
//	    the answers to the commands named On lose the tag Drop from their
//	    template (70, 77)
//
// Faults strike on top of these answers.
type CardAnswer struct {
	// Command is a hex prefix of the command APDU (CLA INS P1 P2 ...),
	// e.g. "00B2010C" for READ RECORD SFI 1 record 1.
	Command string `json:"command,omitempty"`
	// Answer is the response to Command: data and status word, in hex.
	Answer string `json:"answer,omitempty"`
	// Nth picks the nth command of a transaction starting with Command
	// (0: every one).
	Nth int `json:"nth,omitempty"`
	// On is a command name as in the APDU trace ("READ RECORD").
	On string `json:"on,omitempty"`
	// Drop is the tag, in hex, removed from every answer to On.
	Drop string `json:"drop,omitempty"`

	command, answer []byte
	drop            tlv.Tag
}

// Transaction is what the terminal is asked to do.
type Transaction struct {
	// Type is "purchase", "load", "balance", "log", "load_log" (the
	// card's load log, kernel.ReadLoadLog) or "purchase_contactless".
	Type string `json:"type"`
	// Amount in yuan ("12.34"); required for purchases and loads.
	Amount string `json:"amount,omitempty"`
	// LoadType is "designated" (default), "non-designated" or "cash".
	LoadType string `json:"load_type,omitempty"`
	// Faults are injected into this transaction (only in "before"
	// entries; the transaction under test takes the top-level faults).
	Faults []Fault `json:"faults,omitempty"`

	amount   kernel.Amount
	loadKind kernel.LoadKind
}

// Fault is a cardsim fault injected at one APDU of a transaction: either
// at a 0-based index ("at": 7) or at the nth command with a given name
// ("on": "GENERATE AC", "nth": 1 by default) — names as in the APDU trace.
type Fault struct {
	// At is the 0-based APDU index in the transaction.
	At *int `json:"at,omitempty"`
	// On is a command name (SELECT, GET PROCESSING OPTIONS, READ RECORD,
	// GET DATA, INTERNAL AUTHENTICATE, GENERATE AC, EXTERNAL AUTHENTICATE,
	// PUT DATA, ...).
	On string `json:"on,omitempty"`
	// Nth picks the nth command named On (1 is the first).
	Nth int `json:"nth,omitempty"`
	// Kind is remove, reader_error, timeout, sw, truncate, corrupt or torn.
	Kind string `json:"kind"`
	// SW is the status word for kind "sw", in hex ("6985").
	SW string `json:"sw,omitempty"`

	kind cardsim.FaultKind
	sw   uint16
}

// Expect is what the transaction under test must produce. Every field is
// optional; only the fields given are checked.
type Expect struct {
	// Outcome is the kernel.Outcome name (required for purchases and loads).
	Outcome string `json:"outcome,omitempty"`
	// Reason is the kernel.Reason code.
	Reason string `json:"reason,omitempty"`
	// Error is a substring of the error the kernel returned; "none" means
	// no error. For balance and log reads an unexpected error always fails.
	Error string `json:"error,omitempty"`
	// DetailContains is a substring of Result.Detail.
	DetailContains string `json:"detail_contains,omitempty"`
	// TVR and TSI are the exact values in hex.
	TVR string `json:"tvr,omitempty"`
	TSI string `json:"tsi,omitempty"`
	// TVRSet and TVRClear are bits that must be set or clear.
	TVRSet   *TVRBits `json:"tvr_set,omitempty"`
	TVRClear *TVRBits `json:"tvr_clear,omitempty"`
	// TSISet and TSIClear are bits that must be set or clear.
	TSISet   *TSIBits `json:"tsi_set,omitempty"`
	TSIClear *TSIBits `json:"tsi_clear,omitempty"`
	// BalanceBefore and BalanceAfter are the EC balances as the card
	// reported them (Result); null means "not reported".
	BalanceBefore OptAmount `json:"balance_before"`
	BalanceAfter  OptAmount `json:"balance_after"`
	// CardBalance is the simulated card's real EC balance afterwards (of
	// the application used, else the first one).
	CardBalance OptAmount `json:"card_balance"`
	// AccountBalance is the issuer's back-office account afterwards.
	AccountBalance OptAmount `json:"account_balance"`
	// ODA is the method performed: none, SDA, DDA or CDA.
	ODA string `json:"oda,omitempty"`
	// CID is the last cryptogram: TC, ARQC, AAC, or none (no GENERATE AC).
	CID string `json:"cid,omitempty"`
	// ResponseCode is the issuer's 8A.
	ResponseCode string `json:"response_code,omitempty"`
	// AID is the selected application in hex.
	AID string `json:"aid,omitempty"`
	// ECPath, TopUp, Reversed and Torn check the Result flags.
	ECPath   *bool `json:"ec_path,omitempty"`
	TopUp    *bool `json:"top_up,omitempty"`
	Reversed *bool `json:"reversed,omitempty"`
	Torn     *bool `json:"torn,omitempty"`
	// Settled is the number of torn sales settled by this transaction.
	Settled *int `json:"settled,omitempty"`
	// ScriptsOK checks that every issuer script succeeded (true) or that
	// at least one failed (false).
	ScriptsOK *bool `json:"scripts_ok,omitempty"`
	// APDUs is the number of commands sent to the card.
	APDUs *int `json:"apdus,omitempty"`
	// APDUSequence is the exact list of command names sent.
	APDUSequence []string `json:"apdu_sequence,omitempty"`
	// Balance, BalanceLimit, SingleLimit and ResetThreshold check a
	// balance read (9F79, 9F77, 9F78, 9F6D).
	Balance        OptAmount `json:"balance"`
	BalanceLimit   OptAmount `json:"balance_limit"`
	SingleLimit    OptAmount `json:"single_limit"`
	ResetThreshold OptAmount `json:"reset_threshold"`
	// LogCount and LogAmounts check a log read (newest first); LogCount
	// also a load log read.
	LogCount   *int     `json:"log_count,omitempty"`
	LogAmounts []string `json:"log_amounts,omitempty"`
	// LoadLog checks a load log read, entry by entry, newest first.
	LoadLog []LoadLogExpect `json:"load_log,omitempty"`
	// PDOLData checks the data the terminal sent in its (last) GET
	// PROCESSING OPTIONS, split by the PDOL of the card's last SELECT
	// answer: tag in hex to value in hex ({"DF69": "01"}).
	PDOLData map[string]string `json:"pdol_data,omitempty"`
	// CDOL2Data checks the data the terminal sent in its second GENERATE
	// AC, split by the CDOL2 (8D) of the card's records: {"8A": "5933"}
	// is the response code Y3.
	CDOL2Data map[string]string `json:"cdol2_data,omitempty"`
	// CVMResults is the CVM results (9F34) in hex, as field 55 carries them.
	CVMResults string `json:"cvm_results,omitempty"`
	// SignatureRequired checks Result.SignatureRequired.
	SignatureRequired *bool `json:"signature_required,omitempty"`
	// PINTries is the card's PIN try counter (9F17) afterwards.
	PINTries *int `json:"pin_tries,omitempty"`
}

// LoadLogExpect is one expected load log entry: the tag the PUT DATA
// updated and its value before and after, all required.
type LoadLogExpect struct {
	Tag    string `json:"tag"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// String is "TAG BEFORE→AFTER", as the report shows it.
func (l LoadLogExpect) String() string { return l.Tag + " " + l.Before + "→" + l.After }

// OptAmount is an optional expected amount: absent (not checked), a
// decimal string ("12.34") or null (the value must be absent).
type OptAmount struct {
	// Set reports that the expectation is present.
	Set bool
	// None reports that the value must be absent (JSON null).
	None bool
	// Value is the expected amount when Set and not None.
	Value kernel.Amount
}

// UnmarshalJSON accepts "12.34" or null.
func (o *OptAmount) UnmarshalJSON(b []byte) error {
	*o = OptAmount{Set: true}
	if string(bytes.TrimSpace(b)) == "null" {
		o.None = true
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want an amount string like \"12.34\" or null: %w", err)
	}
	a, err := kernel.ParseAmount(s)
	if err != nil {
		return err
	}
	o.Value = a
	return nil
}

// MarshalJSON writes the amount, null, or nothing useful when unset.
func (o OptAmount) MarshalJSON() ([]byte, error) {
	if !o.Set || o.None {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value.String())
}

// String is the amount, "none" or "" when unset.
func (o OptAmount) String() string {
	switch {
	case !o.Set:
		return ""
	case o.None:
		return "none"
	}
	return o.Value.String()
}

// defaultNow is the terminal clock of every scenario that does not set one.
var defaultNow = time.Date(2026, 3, 15, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))

// Load reads, parses and checks a scenario file; the card profile and CA
// key file it names are read relative to it.
func Load(path string) (*Scenario, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	s, err := Parse(b, filepath.Dir(path))
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.Path = path
			return nil, se
		}
		return nil, &Error{Path: path, Err: err}
	}
	s.Path = path
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), ".json")
	}
	return s, nil
}

// LoadDir loads every *.json file of dir (not its subdirectories), sorted
// by file name. It stops at the first invalid file.
func LoadDir(dir string) ([]*Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	var out []*Scenario
	names := make(map[string]string)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		s, err := Load(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if prev, dup := names[s.Name]; dup {
			return nil, &Error{Path: s.Path, Field: "name", Err: fmt.Errorf("%q already used by %s", s.Name, prev)}
		}
		names[s.Name] = s.Path
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	return b, nil
}

// Parse decodes and checks a scenario. dir is the directory card profile
// and CA key paths are relative to. Unknown fields are refused, so a typo
// in an expectation cannot silently pass.
func Parse(data []byte, dir string) (*Scenario, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{Err: fmt.Errorf("larger than %d bytes", MaxFileSize)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Err: errors.New("empty file")} // not encoding/json's "EOF"
	}
	var s Scenario
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, &Error{Err: err}
	}
	if dec.More() {
		return nil, &Error{Err: errors.New("trailing data after the scenario object")}
	}
	if err := s.check(dir); err != nil {
		return nil, err
	}
	return &s, nil
}

func fieldErr(field string, format string, args ...any) error {
	return &Error{Field: field, Err: fmt.Errorf(format, args...)}
}

// check validates the scenario and resolves the card, the terminal
// configuration and the CA keys.
func (s *Scenario) check(dir string) error {
	if s.Purse != nil {
		return s.checkPurse(dir)
	}
	if err := s.resolveCard(dir); err != nil {
		return err
	}
	if err := s.resolveTerminal(dir); err != nil {
		return err
	}
	if s.Host != nil {
		acc := s.Host.Account
		if acc == "" {
			acc = "2000.00"
		}
		a, err := kernel.ParseAmount(acc)
		if err != nil {
			return fieldErr("host.account", "%w", err)
		}
		s.account = a
		if err := s.Host.checkUpdates(); err != nil {
			return err
		}
	}
	if err := checkCardAnswers(s.CardAnswers); err != nil {
		return err
	}
	if len(s.Before) > maxBefore {
		return fieldErr("before", "at most %d transactions", maxBefore)
	}
	for i := range s.Before {
		if err := s.Before[i].check(fmt.Sprintf("before[%d]", i)); err != nil {
			return err
		}
	}
	if len(s.Transaction.Faults) > 0 {
		return fieldErr("transaction.faults", "the transaction under test takes the top-level \"faults\"")
	}
	if err := s.Transaction.check("transaction"); err != nil {
		return err
	}
	if err := checkFaults("faults", s.Faults); err != nil {
		return err
	}
	return s.checkExpect()
}

func (t *Transaction) check(field string) error {
	switch t.Type {
	case "purchase", "purchase_contactless", "load":
		if t.Amount == "" {
			return fieldErr(field+".amount", "required for a %s", t.Type)
		}
		a, err := kernel.ParseAmount(t.Amount)
		if err != nil {
			return fieldErr(field+".amount", "%w", err)
		}
		if a == 0 {
			return fieldErr(field+".amount", "must be more than 0")
		}
		t.amount = a
	case "balance", "log", "load_log":
		if t.Amount != "" {
			return fieldErr(field+".amount", "not used by a %s read", t.Type)
		}
	case "":
		return fieldErr(field+".type", "required: purchase, load, balance, log, load_log or purchase_contactless")
	default:
		return fieldErr(field+".type", "%q: want purchase, load, balance, log, load_log or purchase_contactless", t.Type)
	}
	if t.LoadType != "" {
		if t.Type != "load" {
			return fieldErr(field+".load_type", "only for a load")
		}
		k, err := kernel.ParseLoadKind(t.LoadType)
		if err != nil {
			return fieldErr(field+".load_type", "%q: want designated, non-designated or cash", t.LoadType)
		}
		t.loadKind = k
	}
	return checkFaults(field+".faults", t.Faults)
}

var faultKinds = map[string]cardsim.FaultKind{
	"remove":       cardsim.FaultRemove,
	"reader_error": cardsim.FaultReaderError,
	"timeout":      cardsim.FaultTimeout,
	"sw":           cardsim.FaultSW,
	"truncate":     cardsim.FaultTruncate,
	"corrupt":      cardsim.FaultCorrupt,
	"torn":         cardsim.FaultTorn,
}

func checkFaults(field string, faults []Fault) error {
	if len(faults) > maxFaults {
		return fieldErr(field, "at most %d faults", maxFaults)
	}
	for i := range faults {
		f := &faults[i]
		name := fmt.Sprintf("%s[%d]", field, i)
		k, ok := faultKinds[f.Kind]
		if !ok {
			return fieldErr(name+".kind", "%q: want remove, reader_error, timeout, sw, truncate, corrupt or torn", f.Kind)
		}
		f.kind = k
		switch {
		case f.At != nil && f.On != "":
			return fieldErr(name, "give either \"at\" or \"on\", not both")
		case f.At == nil && f.On == "":
			return fieldErr(name, "needs \"at\" (APDU index) or \"on\" (command name)")
		case f.At != nil && (*f.At < 0 || *f.At > 4096):
			return fieldErr(name+".at", "%d: want 0 to 4096", *f.At)
		case f.On == "" && f.Nth != 0:
			return fieldErr(name+".nth", "only with \"on\"")
		case f.Nth < 0 || f.Nth > 4096:
			return fieldErr(name+".nth", "%d: want 1 to 4096", f.Nth)
		}
		if f.Nth == 0 {
			f.Nth = 1
		}
		if k == cardsim.FaultSW {
			b, err := hex.DecodeString(f.SW)
			if err != nil || len(b) != 2 {
				return fieldErr(name+".sw", "%q: want 4 hex digits", f.SW)
			}
			f.sw = uint16(b[0])<<8 | uint16(b[1])
		} else if f.SW != "" {
			return fieldErr(name+".sw", "only for kind \"sw\"")
		}
	}
	return nil
}

// outcomeNames lists the kernel's outcome names (kernel.Outcome.String).
var outcomeNames = func() []string {
	var out []string
	for o := kernel.Outcome(0); o < 64 && o.String() != "unknown"; o++ {
		out = append(out, o.String())
	}
	return out
}()

func (s *Scenario) checkExpect() error {
	e := &s.Expect
	typ := s.Transaction.Type
	txn := typ == "purchase" || typ == "load" || typ == "purchase_contactless"
	if txn && e.Outcome == "" {
		return fieldErr("expect.outcome", "required for a %s (one of %s)", typ, strings.Join(outcomeNames, ", "))
	}
	if e.Outcome != "" {
		ok := false
		for _, n := range outcomeNames {
			ok = ok || n == e.Outcome
		}
		if !ok {
			return fieldErr("expect.outcome", "%q: want one of %s", e.Outcome, strings.Join(outcomeNames, ", "))
		}
	}
	if !txn {
		// Only some expectations mean something for a read.
		for field, set := range map[string]bool{
			"outcome": e.Outcome != "", "reason": e.Reason != "", "tvr": e.TVR != "", "tsi": e.TSI != "",
			"tvr_set": e.TVRSet != nil, "tvr_clear": e.TVRClear != nil, "tsi_set": e.TSISet != nil,
			"tsi_clear": e.TSIClear != nil, "balance_before": e.BalanceBefore.Set, "balance_after": e.BalanceAfter.Set,
			"oda": e.ODA != "", "cid": e.CID != "", "response_code": e.ResponseCode != "", "ec_path": e.ECPath != nil,
			"top_up": e.TopUp != nil, "reversed": e.Reversed != nil, "torn": e.Torn != nil, "settled": e.Settled != nil,
			"scripts_ok": e.ScriptsOK != nil, "detail_contains": e.DetailContains != "",
			"cvm_results": e.CVMResults != "", "signature_required": e.SignatureRequired != nil,
		} {
			if set {
				return fieldErr("expect."+field, "not produced by a %s read", typ)
			}
		}
	}
	if typ != "balance" && (e.Balance.Set || e.BalanceLimit.Set || e.SingleLimit.Set || e.ResetThreshold.Set) {
		return fieldErr("expect", "balance, balance_limit, single_limit and reset_threshold are for a balance read (card_balance is the card's real balance)")
	}
	if typ != "log" && e.LogAmounts != nil {
		return fieldErr("expect.log_amounts", "for a log read")
	}
	if typ != "log" && typ != "load_log" && e.LogCount != nil {
		return fieldErr("expect.log_count", "for a log or load_log read")
	}
	if typ != "load_log" && e.LoadLog != nil {
		return fieldErr("expect.load_log", "for a load_log read")
	}
	for i, l := range e.LoadLog {
		field := fmt.Sprintf("expect.load_log[%d]", i)
		if b, err := hex.DecodeString(l.Tag); err != nil || len(b) != 2 {
			return fieldErr(field+".tag", "%q: want 2 bytes of hex", l.Tag)
		}
		for _, a := range []struct{ name, v string }{{"before", l.Before}, {"after", l.After}} {
			if _, err := kernel.ParseAmount(a.v); err != nil {
				return fieldErr(field+"."+a.name, "%w", err)
			}
		}
	}
	for _, f := range []struct {
		name string
		m    map[string]string
	}{{"pdol_data", e.PDOLData}, {"cdol2_data", e.CDOL2Data}} {
		if f.m != nil && !txn {
			return fieldErr("expect."+f.name, "not produced by a %s read", typ)
		}
		for tag, v := range f.m {
			if _, err := tlv.ParseTag(tag); err != nil {
				return fieldErr("expect."+f.name, "tag %q: %w", tag, err)
			}
			if _, err := hex.DecodeString(v); err != nil {
				return fieldErr("expect."+f.name+"."+tag, "%q: want hex", v)
			}
		}
	}
	for _, f := range []struct {
		name, v string
		n       int
	}{{"tvr", e.TVR, 5}, {"tsi", e.TSI, 2}, {"cvm_results", e.CVMResults, 3}} {
		if f.v == "" {
			continue
		}
		if b, err := hex.DecodeString(f.v); err != nil || len(b) != f.n {
			return fieldErr("expect."+f.name, "%q: want %d bytes of hex", f.v, f.n)
		}
	}
	switch e.ODA {
	case "", "none", "SDA", "DDA", "CDA", "fDDA":
	default:
		return fieldErr("expect.oda", "%q: want none, SDA, DDA, CDA or fDDA", e.ODA)
	}
	switch e.CID {
	case "", "TC", "ARQC", "AAC", "none":
	default:
		return fieldErr("expect.cid", "%q: want TC, ARQC, AAC or none", e.CID)
	}
	if e.AID != "" {
		if b, err := hex.DecodeString(e.AID); err != nil || len(b) < 5 || len(b) > 16 {
			return fieldErr("expect.aid", "%q: want 5-16 bytes of hex", e.AID)
		}
	}
	if e.AccountBalance.Set && s.Host == nil {
		return fieldErr("expect.account_balance", "the scenario has no host")
	}
	for i, a := range e.LogAmounts {
		if _, err := kernel.ParseAmount(a); err != nil {
			return fieldErr(fmt.Sprintf("expect.log_amounts[%d]", i), "%w", err)
		}
	}
	if e.APDUs != nil && *e.APDUs < 0 {
		return fieldErr("expect.apdus", "negative")
	}
	return nil
}

// resolveCard reads the card profile (a path or an inline object), merges
// the patch and validates the result with cardsim.
func (s *Scenario) resolveCard(dir string) error {
	raw := bytes.TrimSpace(s.Card)
	if len(raw) == 0 || string(raw) == "null" {
		return fieldErr("card", "required: a profile path or an inline profile")
	}
	var profileJSON []byte
	switch raw[0] {
	case '"':
		var rel string
		if err := json.Unmarshal(raw, &rel); err != nil {
			return fieldErr("card", "%w", err)
		}
		if rel == "" {
			return fieldErr("card", "empty path")
		}
		b, err := readLimited(relTo(dir, rel))
		if err != nil {
			return fieldErr("card", "%w", err)
		}
		profileJSON = b
	case '{':
		profileJSON = raw
	default:
		return fieldErr("card", "want a profile path (string) or an inline profile (object)")
	}
	if p := bytes.TrimSpace(s.CardPatch); len(p) > 0 && string(p) != "null" {
		var base, patch any
		if err := json.Unmarshal(profileJSON, &base); err != nil {
			return fieldErr("card", "%w", err)
		}
		if err := json.Unmarshal(p, &patch); err != nil {
			return fieldErr("card_patch", "%w", err)
		}
		if _, ok := patch.(map[string]any); !ok {
			return fieldErr("card_patch", "want an object")
		}
		merged, err := mergePatch(base, patch, 0)
		if err != nil {
			return fieldErr("card_patch", "%w", err)
		}
		if profileJSON, err = json.Marshal(merged); err != nil {
			return fieldErr("card_patch", "%w", err)
		}
	}
	p, err := cardsim.ParseProfile(profileJSON)
	if err != nil {
		return fieldErr("card", "%w", err)
	}
	s.profile = p
	return nil
}

// maxPatchDepth bounds the nesting mergePatch follows.
const maxPatchDepth = 32

// mergePatch merges patch into target: objects key by key (null deletes a
// key), arrays element by element (extra patch elements are appended),
// anything else replaces.
func mergePatch(target, patch any, depth int) (any, error) {
	if depth > maxPatchDepth {
		return nil, fmt.Errorf("nested more than %d levels", maxPatchDepth)
	}
	switch p := patch.(type) {
	case map[string]any:
		t, ok := target.(map[string]any)
		if !ok {
			t = map[string]any{}
		}
		for k, v := range p {
			if v == nil {
				delete(t, k)
				continue
			}
			m, err := mergePatch(t[k], v, depth+1)
			if err != nil {
				return nil, err
			}
			t[k] = m
		}
		return t, nil
	case []any:
		t, _ := target.([]any)
		out := append([]any(nil), t...)
		for i, v := range p {
			if i < len(out) {
				m, err := mergePatch(out[i], v, depth+1)
				if err != nil {
					return nil, err
				}
				out[i] = m
			} else {
				m, err := mergePatch(nil, v, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
		}
		return out, nil
	}
	return patch, nil
}

// resolveTerminal builds the kernel configuration from the defaults and the
// overrides.
func (s *Scenario) resolveTerminal(dir string) error {
	t := &s.Terminal
	cfg := kernel.DefaultConfig()
	if t.OnlineCapable != nil {
		cfg.OnlineCapable = *t.OnlineCapable
	}
	if t.TerminalType != "" {
		b, err := hex.DecodeString(t.TerminalType)
		if err != nil || len(b) != 1 {
			return fieldErr("terminal.terminal_type", "%q: want 1 byte of hex", t.TerminalType)
		}
		cfg.TerminalType = b[0]
	}
	if err := hexInto(cfg.Capabilities[:], t.Capabilities, "terminal.capabilities"); err != nil {
		return err
	}
	if err := hexInto(cfg.AdditionalCapabilities[:], t.AdditionalCapabilities, "terminal.additional_capabilities"); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		v    *int
		dst  *uint16
	}{{"terminal.country", t.Country, &cfg.CountryCode}, {"terminal.currency", t.Currency, &cfg.CurrencyCode}} {
		if c.v == nil {
			continue
		}
		if *c.v < 0 || *c.v > 999 {
			return fieldErr(c.name, "%d: want 0-999", *c.v)
		}
		*c.dst = uint16(*c.v)
	}
	for i, pan := range t.ExceptionFile {
		if pan == "" || len(pan) > 19 || strings.Trim(pan, "0123456789") != "" {
			return fieldErr(fmt.Sprintf("terminal.exception_file[%d]", i), "%q: want 1-19 digits", pan)
		}
	}
	cfg.ExceptionFile = t.ExceptionFile
	if t.MaxAPDUs < 0 || t.MaxAPDUs > 4096 {
		return fieldErr("terminal.max_apdus", "%d: want 0-4096", t.MaxAPDUs)
	}
	cfg.MaxAPDUs = t.MaxAPDUs
	if t.SM != nil {
		cfg.SM = *t.SM
	}
	s.now = defaultNow
	if t.Now != "" {
		now, err := time.Parse(time.RFC3339, t.Now)
		if err != nil {
			return fieldErr("terminal.now", "%w", err)
		}
		if now.Year() < 2000 || now.Year() > 2099 {
			return fieldErr("terminal.now", "year %d: want 2000-2099", now.Year())
		}
		s.now = now
	}
	now := s.now
	cfg.Now = func() time.Time { return now }
	// The scenarios run against the simulated card, signed by the
	// simulator's test CA: the runner trusts it next to the published
	// keys unless the scenario names its own CA key file.
	cfg.CAPK = capk.Builtin()
	cfg.CAPK.Merge(capk.TestKeys())
	if t.CAPK != "" {
		store, err := loadCAPK(relTo(dir, t.CAPK))
		if err != nil {
			return fieldErr("terminal.capk", "%w", err)
		}
		s.capk = store
		cfg.CAPK = store
	}
	if len(t.Applications) > 0 {
		if len(t.Applications) > 32 {
			return fieldErr("terminal.applications", "at most 32")
		}
		template := cfg.Applications[0]
		cfg.Applications = make([]kernel.Application, 0, len(t.Applications))
		for i, ta := range t.Applications {
			field := fmt.Sprintf("terminal.applications[%d]", i)
			aid, err := hex.DecodeString(ta.AID)
			if err != nil || len(aid) < 5 || len(aid) > 16 {
				return fieldErr(field+".aid", "%q: want 5-16 bytes of hex", ta.AID)
			}
			a := template
			a.AID = aid
			a.PartialMatch = ta.PartialMatch == nil || *ta.PartialMatch
			cfg.Applications = append(cfg.Applications, a)
		}
	}
	for i := range cfg.Applications {
		if err := t.AppParams.apply(&cfg.Applications[i], "terminal"); err != nil {
			return err
		}
		if len(t.Applications) > 0 {
			if err := t.Applications[i].AppParams.apply(&cfg.Applications[i], fmt.Sprintf("terminal.applications[%d]", i)); err != nil {
				return err
			}
		}
	}
	// Let the kernel validate the whole configuration now, not at run time.
	if _, err := kernel.New(cfg); err != nil {
		return fieldErr("terminal", "%w", err)
	}
	s.cfg = cfg
	return nil
}

// relTo resolves a path given in a scenario: absolute as is, relative to
// the scenario's directory otherwise.
func relTo(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

func loadCAPK(path string) (*capk.Store, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	return capk.Load(bytes.NewReader(b))
}

func (p *AppParams) apply(a *kernel.Application, field string) error {
	if p.EC != nil {
		a.EC = *p.EC
	}
	for _, f := range []struct {
		name, v string
		dst     *kernel.Amount
	}{{"ec_limit", p.ECLimit, &a.ECTransactionLimit}, {"floor_limit", p.FloorLimit, &a.FloorLimit}, {"random_threshold", p.RandomThreshold, &a.RandomThreshold}} {
		if f.v == "" {
			continue
		}
		v, err := kernel.ParseAmount(f.v)
		if err != nil {
			return fieldErr(field+"."+f.name, "%w", err)
		}
		*f.dst = v
	}
	if p.TargetPercent != nil {
		a.TargetPercent = *p.TargetPercent
	}
	if p.MaxTargetPercent != nil {
		a.MaxTargetPercent = *p.MaxTargetPercent
	}
	for _, f := range []struct {
		name, v string
		dst     []byte
	}{{"tac_denial", p.TACDenial, a.TACDenial[:]}, {"tac_online", p.TACOnline, a.TACOnline[:]}, {"tac_default", p.TACDefault, a.TACDefault[:]}, {"version", p.Version, a.Version[:]}} {
		if err := hexInto(f.dst, f.v, field+"."+f.name); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    *string
		dst  *[]byte
	}{{"default_ddol", p.DefaultDDOL, &a.DefaultDDOL}, {"tdol", p.TDOL, &a.TDOL}} {
		if f.v == nil {
			continue
		}
		b, err := hex.DecodeString(*f.v)
		if err == nil {
			_, err = tlv.ParseDOL(b)
		}
		if err != nil {
			return fieldErr(field+"."+f.name, "%q: want a DOL in hex (\"\" for none): %w", *f.v, err)
		}
		if len(b) == 0 {
			b = nil
		}
		*f.dst = b
	}
	return nil
}

// checkUpdates checks the issuer's queued updates: a 2-byte tag in hex
// and an amount each.
func (h *Host) checkUpdates() error {
	if len(h.Updates) > 8 {
		return fieldErr("host.updates", "at most 8")
	}
	tags := make([]string, 0, len(h.Updates))
	for tag := range h.Updates {
		tags = append(tags, tag)
	}
	sort.Strings(tags) // queued in a fixed order
	h.updates = nil
	for _, tag := range tags {
		field := "host.updates." + tag
		t, err := hex.DecodeString(tag)
		if err != nil || len(t) != 2 {
			return fieldErr(field, "want a 2-byte tag in hex (\"9F79\")")
		}
		a, err := kernel.ParseAmount(h.Updates[tag])
		if err != nil {
			return fieldErr(field, "%w", err)
		}
		v, err := bcd.Encode(nil, uint64(a), 6)
		if err != nil {
			return fieldErr(field, "%w", err)
		}
		h.updates = append(h.updates, hostUpdate{tag: uint16(t[0])<<8 | uint16(t[1]), value: v})
	}
	return nil
}

// maxCardAnswers bounds a scenario's card answers.
const maxCardAnswers = 16

// checkCardAnswers checks each card answer is one of the two forms.
func checkCardAnswers(answers []CardAnswer) error {
	if len(answers) > maxCardAnswers {
		return fieldErr("card_answers", "at most %d", maxCardAnswers)
	}
	for i := range answers {
		a := &answers[i]
		field := fmt.Sprintf("card_answers[%d]", i)
		switch {
		case a.Command != "" && a.On == "" && a.Drop == "":
			c, err := hex.DecodeString(a.Command)
			if err != nil || len(c) < 2 || len(c) > 261 {
				return fieldErr(field+".command", "%q: want 2 to 261 bytes of hex (a command's first bytes)", a.Command)
			}
			r, err := hex.DecodeString(a.Answer)
			if err != nil || len(r) < 2 || len(r) > 258 {
				return fieldErr(field+".answer", "%q: want 2 to 258 bytes of hex (data and status word)", a.Answer)
			}
			if a.Nth < 0 || a.Nth > 4096 {
				return fieldErr(field+".nth", "%d: want 1 to 4096", a.Nth)
			}
			a.command, a.answer = c, r
		case a.On != "" && a.Command == "" && a.Answer == "" && a.Nth == 0:
			t, err := tlv.ParseTag(a.Drop)
			if err != nil {
				return fieldErr(field+".drop", "%q: want a tag in hex: %w", a.Drop, err)
			}
			a.drop = t
		default:
			return fieldErr(field, "want {\"command\", \"answer\"} or {\"on\", \"drop\"}")
		}
	}
	return nil
}

// hexInto decodes s into dst, which it must fill exactly; "" leaves dst.
func hexInto(dst []byte, s, field string) error {
	if s == "" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(dst) {
		return fieldErr(field, "%q: want %d bytes of hex", s, len(dst))
	}
	copy(dst, b)
	return nil
}

// amountString formats an optional kernel amount ("none" for nil).
func amountString(a *kernel.Amount) string {
	if a == nil {
		return "none"
	}
	return a.String()
}
