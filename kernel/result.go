// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Outcome is how a transaction ended.
type Outcome int

// The outcomes.
const (
	// OutcomeTerminated: the transaction could not be completed (card gone,
	// malformed data, no application). Nothing was approved.
	OutcomeTerminated Outcome = iota
	// OutcomeApprovedOffline: the card returned a TC for an offline EC sale;
	// the card has deducted the amount from its EC balance.
	OutcomeApprovedOffline
	// OutcomeDeclined: the card (AAC) or the terminal declined offline.
	OutcomeDeclined
	// OutcomeApprovedOnline: the issuer approved and the card accepted (TC
	// in the second GENERATE AC).
	OutcomeApprovedOnline
	// OutcomeOnlineRequired: the sale cannot be approved offline and needs an
	// online authorisation that this terminal did not (or could not) perform.
	// The card's transaction was closed with an AAC: nothing was charged.
	OutcomeOnlineRequired
	// OutcomeTryAnotherInterface: the sale cannot be made contactless (the
	// amount is above the contactless limit, the card wants the contact
	// interface, ...): insert the card. Nothing was charged.
	OutcomeTryAnotherInterface
	// OutcomeTryAgain: the card left the field before the tap completed:
	// present the card again. A tap the card may have completed is kept
	// as torn (Result.Torn) and settled from the card's log at the next tap.
	OutcomeTryAgain
)

var outcomeNames = [...]string{"terminated", "approved_offline", "declined", "approved_online", "online_required",
	"try_another_interface", "try_again"}

// String is the outcome's stable name ("approved_offline").
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// MarshalText encodes the outcome by name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Reason says why the transaction took its path. It is a stable code for
// machines; Result.Detail holds the human sentence.
type Reason string

// The reasons.
const (
	ReasonECApproved          Reason = "ec_approved"              // offline EC sale approved by the card
	ReasonECNotSupported      Reason = "ec_not_supported"         // the card has no EC application data
	ReasonECDisabled          Reason = "ec_disabled"              // EC is not enabled on this terminal for the AID
	ReasonAboveTerminalLimit  Reason = "above_terminal_ec_limit"  // amount above the terminal's EC limit (9F7B)
	ReasonInsufficientBalance Reason = "insufficient_ec_balance"  // amount above the EC balance (9F79)
	ReasonAboveSingleLimit    Reason = "above_ec_single_limit"    // amount above the EC single-transaction limit (9F78)
	ReasonBelowResetThreshold Reason = "below_reset_threshold"    // the balance would fall below 9F6D: automatic top-up
	ReasonCardDeclined        Reason = "card_declined"            // the card answered AAC
	ReasonCardRequestedOnline Reason = "card_requested_online"    // the card answered ARQC to a TC request
	ReasonNotECPath           Reason = "card_chose_non_ec_path"   // the card did not take the EC path at GPO
	ReasonIssuerDeclined      Reason = "issuer_declined"          // the issuer declined online
	ReasonPINIncorrect        Reason = "pin_incorrect"            // the issuer declined: wrong PIN (55)
	ReasonPINNotEntered       Reason = "pin_not_entered"          // the PIN pad failed or the cardholder bypassed PIN entry
	ReasonUnableToGoOnline    Reason = "unable_to_go_online"      // the host could not be reached
	ReasonTerminalDecision    Reason = "terminal_action_analysis" // the TVR matched the action codes
	ReasonAboveBalanceLimit   Reason = "above_ec_balance_limit"   // a load would exceed the EC balance limit (9F77)
	ReasonLoaded              Reason = "loaded"                   // a load credited the card
	ReasonScriptFailed        Reason = "script_failed"            // the issuer's script did not update the card
	ReasonOnlineApproved      Reason = "online_approved"          // a sale approved online
	ReasonODAFailed           Reason = "oda_failed"               // offline data authentication failed
	ReasonCardError           Reason = "card_error"               // malformed data or error status from the card
	ReasonNoApplication       Reason = "no_application"           // no mutually supported application
	ReasonTransport           Reason = "transport_error"          // the reader or card went away
	ReasonCancelled           Reason = "cancelled"                // the selector or context cancelled
)

// The reasons of a contactless (qPBOC) tap.
const (
	ReasonAboveContactlessLimit Reason = "above_contactless_limit"   // amount at or above the contactless transaction limit
	ReasonZeroAmount            Reason = "zero_amount"               // a zero amount on an offline-only terminal
	ReasonNoContactless         Reason = "contactless_not_supported" // no PPSE or no qPBOC application on the card
	ReasonCardRequestedContact  Reason = "card_requested_contact"    // the card asked for the contact interface (6984)
	ReasonCardRemoved           Reason = "card_removed"              // the card left the field during the tap
	ReasonTornRecovered         Reason = "torn_tap_recovered"        // a torn tap of this sale was found in the card's log: not charged again, not approved
	ReasonAnswerMismatch        Reason = "card_answer_mismatch"      // the card's answer does not fit what the terminal asked (a TC where an online cryptogram was required)
	ReasonCVMNotPerformed       Reason = "cvm_not_performed"         // the cardholder verification required cannot be performed
	ReasonCardExpired           Reason = "card_expired"              // the application is expired or not yet effective
)

// Result is everything a transaction produced.
type Result struct {
	Outcome Outcome `json:"outcome"`
	Reason  Reason  `json:"reason"`
	// Detail is a human-readable explanation of Reason.
	Detail string `json:"detail"`
	Amount Amount `json:"amount"`
	// AID and Label identify the application used.
	AID   HexBytes `json:"aid,omitempty"`
	Label string   `json:"label,omitempty"`
	// PAN is the masked PAN (first 6, last 4 digits).
	PAN string `json:"pan,omitempty"`
	// ECPath reports that the card took the EC path (9F74 present).
	ECPath bool `json:"ec_path"`
	// ECCurrency is set when the sale used the card's second EC currency
	// (PBOC 3.0, DF71): the balances reported are DF79's.
	ECCurrency uint16 `json:"ec_currency,omitempty"`
	// BalanceBefore and BalanceAfter are EC balances as the card reported
	// them; nil when the card did not report one.
	BalanceBefore *Amount `json:"balance_before"`
	BalanceAfter  *Amount `json:"balance_after"`
	// ATC is the application transaction counter (9F36) from the card.
	ATC uint16 `json:"atc"`
	// CID is the cryptogram information data (9F27) of the last GENERATE AC.
	CID byte `json:"cid"`
	// Cryptogram is the application cryptogram (9F26) of the last GENERATE AC.
	Cryptogram HexBytes `json:"cryptogram,omitempty"`
	// IAD is the issuer application data (9F10) of the last GENERATE AC.
	IAD HexBytes `json:"iad,omitempty"`
	// ODA is the offline data authentication method performed, and
	// ODAError why it failed (empty when it passed or was not performed).
	ODA      ODAMethod `json:"oda"`
	ODAError string    `json:"oda_error,omitempty"`
	// ODAErr is the same failure as an error, for errors.Is against the
	// crypto/oda sentinels (oda.ErrExpired, oda.ErrRevoked, ...) and this
	// package's CA key errors.
	ODAErr error `json:"-"`
	TVR    TVR   `json:"tvr"`
	TSI    TSI   `json:"tsi"`
	// ResponseCode is the issuer's authorisation response code (8A).
	ResponseCode string `json:"response_code,omitempty"`
	// SignatureRequired reports that the card (CTQ, CVM list) asks for the
	// cardholder's signature on the receipt.
	SignatureRequired bool `json:"signature_required,omitempty"`
	// TopUp reports that the sale went online for an automatic top-up.
	TopUp bool `json:"top_up,omitempty"`
	// TopUpFailed reports an automatic top-up that was due and did not
	// happen (its online PIN was not entered or was wrong, the host could
	// not be reached): the sale went on without it. ECCouldPayOffline says,
	// when the issuer refused the PIN, that the EC balance could have paid
	// the sale offline.
	TopUpFailed       bool `json:"top_up_failed,omitempty"`
	ECCouldPayOffline bool `json:"ec_could_pay_offline,omitempty"`
	// Torn reports that the card went away (or its answer was lost) after
	// GENERATE AC: the sale's outcome is unknown and was kept as a torn
	// record. Settled lists torn sales of this card settled now.
	Torn    bool         `json:"torn,omitempty"`
	Settled []Settlement `json:"settled,omitempty"`
	// Discrepancy reports that the card's data says it paid money the
	// terminal cannot clear (a TC the terminal declined, a balance that
	// changed after a GENERATE AC whose answer was not accepted): the sale
	// is kept as a journal.KindDiscrepancy record for the issuer to
	// reconcile.
	Discrepancy bool `json:"discrepancy,omitempty"`
	// Reversed reports that the host undid the EC part of the request
	// because its balance script did not take effect on the card.
	Reversed bool `json:"reversed,omitempty"`
	// Scripts are the issuer script results; ScriptResults is 9F5B.
	Scripts       []ScriptResult `json:"scripts,omitempty"`
	ScriptResults HexBytes       `json:"script_results,omitempty"`
	// Field55 is the ICC data sent online (ISO 8583 field 55).
	Field55 HexBytes `json:"field55,omitempty"`
	// UnpredictableNumber is 9F37 as sent to the card.
	UnpredictableNumber HexBytes `json:"unpredictable_number,omitempty"`
	// TransactionTime is when the transaction started (9A/9F21).
	TransactionTime time.Time `json:"transaction_time"`
	// STAN and Batch are the transaction's trace number (field 11) and
	// batch number (field 60.2), as printed on the receipt, when a Counter
	// is configured and the transaction needed them (it went online or
	// was journaled); 0 otherwise.
	STAN  uint32 `json:"stan,omitempty"`
	Batch uint32 `json:"batch,omitempty"`
	// APDUs is the number of commands sent to the card.
	APDUs int `json:"apdus"`
	// Contactless reports a qPBOC tap (PurchaseContactless); TTQ (9F66) is
	// what the terminal sent and CTQ (9F6C) what the card answered.
	Contactless bool     `json:"contactless,omitempty"`
	TTQ         HexBytes `json:"ttq,omitempty"`
	CTQ         HexBytes `json:"ctq,omitempty"`
	// KernelTime is the time the transaction spent outside the card's
	// commands: its total time minus the round trips of every command
	// (set by PurchaseContactless, where the tap's budget matters).
	KernelTime time.Duration `json:"kernel_time,omitempty"`
	// Trace lists every command and response when Config.Trace is set
	// (nil otherwise).
	Trace []Exchange `json:"-"`
}

// Exchange is one command/response pair of the trace.
type Exchange struct {
	Command  []byte
	Response []byte // data and SW; nil when the transport failed
	Err      error
	Duration time.Duration
}

// HexBytes marshals as upper-case hex in JSON.
type HexBytes []byte

// MarshalText encodes as hex.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hexUpper(h)), nil }

// UnmarshalText decodes hex (empty: nil), so that what MarshalText wrote
// reads back.
func (h *HexBytes) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*h = nil
		return nil
	}
	b := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(b, text); err != nil {
		return fmt.Errorf("kernel: hex: %w", err)
	}
	*h = b
	return nil
}

// Balance is the EC data read from a card.
type Balance struct {
	AID   HexBytes `json:"aid"`
	Label string   `json:"label,omitempty"`
	// Balance is 9F79; Limit 9F77; SingleLimit 9F78; ResetThreshold 9F6D.
	// A nil field was not available from the card.
	Balance        *Amount `json:"balance"`
	Limit          *Amount `json:"balance_limit"`
	SingleLimit    *Amount `json:"single_limit"`
	ResetThreshold *Amount `json:"reset_threshold"`
	// Second is the card's second EC currency (PBOC 3.0, DF71) and its
	// amounts, nil when it has none.
	Second *SecondBalance `json:"second_currency,omitempty"`
	APDUs  int            `json:"apdus"`
}

// SecondBalance is a card's second-currency EC data: DF71 currency, DF79
// balance, DF77 limit, DF78 single limit, DF76 reset threshold.
type SecondBalance struct {
	Currency       uint16  `json:"currency"`
	Balance        *Amount `json:"balance"`
	Limit          *Amount `json:"balance_limit"`
	SingleLimit    *Amount `json:"single_limit"`
	ResetThreshold *Amount `json:"reset_threshold"`
}

// LogEntry is one record of the card's transaction log (9F4D / 9F4F).
type LogEntry struct {
	// Time is the entry's date and time, 9A and 9F21 (zero when absent
	// or malformed). They are the local wall clock of the terminal that
	// made the sale, as it sent them; the kernel reads them in its
	// Config.Location (default time.Local), so a log written by terminals
	// in another zone reads as their wall clock in this one.
	Time time.Time `json:"time"`
	// Amount is 9F02; OtherAmount 9F03.
	Amount      Amount `json:"amount"`
	OtherAmount Amount `json:"other_amount"`
	Country     uint16 `json:"country"`
	Currency    uint16 `json:"currency"`
	// Merchant is 9F4E without its padding, when it is UTF-8 text; else
	// (GBK, see Config.MerchantName) only its printable ASCII, the bytes
	// being in Fields["9F4E"].
	Merchant string `json:"merchant,omitempty"`
	Type     byte   `json:"type"`
	ATC      uint16 `json:"atc"`
	// PAN is the masked PAN (first 6, last 4) when the log format names
	// the PAN or track 2 data.
	PAN string `json:"pan,omitempty"`
	// Fields holds every field of the entry by tag (hex), as the log
	// format names them — except the PAN and track data (5A, 56, 57, 9F6B,
	// 9F1F, 9F20), which never leave the kernel in clear (see PAN).
	Fields map[string]HexBytes `json:"fields"`
}

// LoadLogEntry is one record of the card's load log (DF4D / DF4F): which
// tag a PUT DATA updated (9F79 for the EC balance), the value before and
// after, and the fields of the load log format.
type LoadLogEntry struct {
	Tag    string `json:"tag"`
	Before Amount `json:"before"`
	After  Amount `json:"after"`
	LogEntry
}

// JSON returns the result as indented JSON.
func (r *Result) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
