// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"time"
)

// Kind is what an operation or record is.
type Kind string

// The kinds of purse operations.
const (
	KindLoad         Kind = "load"          // 圈存: reserve account → card
	KindUnload       Kind = "unload"        // 圈提: card (ED) → reserve account
	KindPurchase     Kind = "purchase"      // offline purchase with the PSAM
	KindFuel         Kind = "fuel"          // a dispenser sale under the grey lock
	KindOnlineUnlock Kind = "online_unlock" // 联机解扣 of a card grey from elsewhere
	KindForeignTAC   Kind = "foreign_tac"   // an unlock TAC of another terminal, read before clearing it
	KindInquiry      Kind = "inquiry"       // a balance and records inquiry (no record)
)

// Outcome is how an operation ended.
type Outcome string

// The outcomes.
const (
	// OutcomeApproved: the card applied the operation; its TAC or MAC3
	// (and for a purchase the SAM-checked MAC2) is in the Result.
	OutcomeApproved Outcome = "approved"
	// OutcomeDeclined: the card, the SAM, the host or the terminal refused
	// before any money moved.
	OutcomeDeclined Outcome = "declined"
	// OutcomePending: the card's answer was lost after it may have moved
	// money. The record stays in the store until the card's counters
	// settle it (at its next presentation).
	OutcomePending Outcome = "pending"
	// OutcomeTerminated: the operation stopped before the card was asked
	// to move money (card gone, bad data, no application).
	OutcomeTerminated Outcome = "terminated"
	// OutcomeDone: an inquiry (balance, records) completed.
	OutcomeDone Outcome = "done"
)

// Reason is a stable code for why an operation ended as it did.
type Reason string

// The reasons.
const (
	ReasonApproved          Reason = "approved"             // the card applied the operation
	ReasonPINIncorrect      Reason = "pin_incorrect"        // VERIFY answered 63Cx
	ReasonPINBlocked        Reason = "pin_blocked"          // VERIFY answered 6983 (or 63C0)
	ReasonNoPIN             Reason = "pin_not_entered"      // the PIN pad failed or was cancelled
	ReasonInsufficient      Reason = "insufficient_balance" // the card's balance cannot pay
	ReasonAboveLimit        Reason = "above_balance_limit"  // the card refused a load above its limit
	ReasonHostDeclined      Reason = "host_declined"        // the host refused (DeclineError)
	ReasonHostUnreachable   Reason = "host_unreachable"     // no answer from the host; nothing moved
	ReasonCardRefused       Reason = "card_refused"         // the card answered an error status
	ReasonCardData          Reason = "card_data"            // the card's answer did not fit what was asked
	ReasonSAM               Reason = "sam_error"            // the PSAM failed or refused
	ReasonMAC2Invalid       Reason = "mac2_invalid"         // the SAM refused the card's MAC2: not the card it claims to be
	ReasonCardRemoved       Reason = "card_removed"         // the card went away
	ReasonLost              Reason = "answer_lost"          // the card's answer to the money command was lost
	ReasonGreyElsewhere     Reason = "grey_elsewhere"       // grey from another terminal: online unlock needed
	ReasonGreyUnlocked      Reason = "grey_unlocked"        // this card's grey lock was completed
	ReasonNothingToDispense Reason = "nothing_dispensed"    // the nozzle was hung up without fuel: unlocked for 0
	ReasonStore             Reason = "store_error"          // the durable store failed
	ReasonNoApplication     Reason = "no_application"       // no purse application on the card
	ReasonBalanceMismatch   Reason = "balance_mismatch"     // the card reports a balance other than before ± amount
	ReasonInquiry           Reason = "inquiry"              // a balance or records inquiry
	ReasonExpired           Reason = "card_expired"         // past the EF15 end date
	ReasonNotValid          Reason = "card_not_yet_valid"   // before the EF15 start date
)

// Result is what an operation produced. Balances are as the card reported
// them, never computed.
type Result struct {
	Kind    Kind    `json:"kind"`
	Outcome Outcome `json:"outcome"`
	Reason  Reason  `json:"reason"`
	Detail  string  `json:"detail"`
	// RecordID is the store record of the operation ("" when none was
	// needed).
	RecordID string `json:"record_id,omitempty"`
	// AID is the application selected, ASN the card (masked in JSON).
	AID    HexBytes `json:"aid,omitempty"`
	ASN    string   `json:"asn,omitempty"`
	Wallet Wallet   `json:"wallet"`
	// Amount is what was asked (load, unload, purchase) or dispensed.
	Amount Amount `json:"amount"`
	// BalanceBefore and BalanceAfter are the card's (nil: not reported).
	BalanceBefore *Amount `json:"balance_before"`
	BalanceAfter  *Amount `json:"balance_after"`
	// Serial is the card's counter the operation used: the online serial
	// of a load or unload, the offline serial (CTC) of a purchase or lock.
	Serial uint16 `json:"serial"`
	// TTC is the SAM's terminal transaction serial (purchase, fuel).
	TTC uint32 `json:"ttc,omitempty"`
	// TID is the terminal ID sent to the card.
	TID TID `json:"tid"`
	// Time is the date and time the MACs cover (host's or terminal's).
	Time DateTime `json:"time"`
	// MACs are the MACs of the operation that were seen.
	MACs
	// HostConfirmed says the host has the card's evidence (TAC, MAC3 or
	// proof); false with an approved load means it is queued in the store.
	HostConfirmed bool `json:"host_confirmed"`
	// Grey is the card's grey status when the flow read it.
	Grey *GreyStatus `json:"grey,omitempty"`
	// Fill is what the dispenser delivered (fuel).
	Fill *Fill `json:"fill,omitempty"`
	// Settled lists earlier records of this card settled at this
	// presentation.
	Settled []Settlement `json:"settled,omitempty"`
	// Records are the card's EF18 records (inquiry), newest first.
	Records []CardRecord `json:"records,omitempty"`
	// Info is the card's EF15 (masked ASN in ASN).
	Info *AppInfo `json:"info,omitempty"`
	// APDUs counts the commands sent to the card (the SAM's are not).
	APDUs int `json:"apdus"`
	// Trace holds every card command and response when Config.Trace is set,
	// as they were, VERIFY's data replaced by '*': the answers hold card
	// data (EF15's ASN, EF16's name and ID number), so print them through
	// Describe, which masks it.
	Trace []Exchange `json:"-"`
	// KernelTime is the time spent in this package, card and SAM excluded.
	KernelTime time.Duration `json:"-"`
}

// MACs are the MACs a purse operation produces; a zero MAC was not seen.
type MACs struct {
	MAC1    MAC `json:"mac1"`     // the card's (load, unload) or the SAM's (purchase, grey lock)
	MAC2    MAC `json:"mac2"`     // the host's (load, unload) or the card's (purchase, grey lock)
	MAC3    MAC `json:"mac3"`     // the card's answer to an unload or an online unlock
	TAC     MAC `json:"tac"`      // the card's transaction authentication code
	GTAC    MAC `json:"gtac"`     // the card's TAC of its grey lock
	GMAC    MAC `json:"gmac"`     // the SAM's MAC for DEBIT FOR UNLOCK
	PSAMTAC MAC `json:"psam_tac"` // the SAM's TAC of the unlock (the bill's)
}

// Settlement is one earlier record settled by the card's evidence.
type Settlement struct {
	RecordID string `json:"record_id"`
	Kind     Kind   `json:"kind"`
	// State is the record's new state.
	State State `json:"state"`
	// Amount is the amount the card paid or received by it.
	Amount Amount `json:"amount"`
	// Detail says on what evidence.
	Detail string `json:"detail"`
}

// Exchange is one command and its response.
type Exchange struct {
	Command  []byte
	Response []byte // nil when the transport failed
	Err      error
	Duration time.Duration
}

// HexBytes marshals as upper-case hex.
type HexBytes []byte

// MarshalText writes the hex.
func (h HexBytes) MarshalText() ([]byte, error) {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(h))
	for i, b := range h {
		out[2*i], out[2*i+1] = digits[b>>4], digits[b&0x0F]
	}
	return out, nil
}

// Fill is what the dispenser delivered under a grey lock: the fields of
// the dispenser bill that are not the card's.
type Fill struct {
	Amount Amount `json:"amount"`
	// Volume is in centilitres (0.01 L), Price in fen per litre.
	Volume uint32 `json:"volume"`
	Price  Amount `json:"price"`
	Grade  uint16 `json:"grade"`
	Nozzle byte   `json:"nozzle"`
}
