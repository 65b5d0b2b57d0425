// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
)

// Host is the issuer side of the online purse operations: the reserve
// account (备付金) that pays a load and takes an unload, and the station's
// online unlock of a card left grey elsewhere. The host authenticates the
// card by its MAC1 and authenticates itself to the card by MAC2; money
// moves at the host only on the card's evidence:
//
//   - load: Authorize checks MAC1 and debits the reserve (the card proved
//     it is the card and said its balance); Confirm hands over the TAC of
//     CREDIT FOR LOAD, or, when the card did not apply the load, a fresh
//     INITIALIZE FOR LOAD answer whose MAC1 shows the online serial
//     unchanged, on which the host gives the money back;
//   - unload: Authorize checks MAC1 and only answers MAC2; Confirm hands
//     over the card's MAC3, on which the host credits the reserve;
//   - online unlock: Authorize checks MAC1 and answers the amount the card
//     owes for its open grey lock (from the escape bill the locking
//     station uploaded; 0 for a forced unlock) with MAC2; Confirm hands
//     over MAC3.
//
// Authorize and Confirm must be idempotent for a request ID (a terminal
// retries after a timeout). A refusal is an error wrapping ErrDeclined (a
// *DeclineError says why); any other error means the host could not be
// reached or answer, and the terminal keeps its record to retry.
type Host interface {
	Authorize(ctx context.Context, req *HostRequest) (*HostResponse, error)
	Confirm(ctx context.Context, c *HostConfirmation) error
}

// HostRequest asks the host for MAC2.
type HostRequest struct {
	// ID is the terminal's record ID: the same ID is the same request.
	ID string `json:"id"`
	// Kind is KindLoad, KindUnload or KindOnlineUnlock.
	Kind Kind `json:"kind"`
	// ASN identifies the card (and diversifies its keys).
	ASN ASN `json:"-"`
	// Wallet is the wallet loaded or unloaded.
	Wallet Wallet `json:"wallet"`
	// TID is the terminal ID sent to the card.
	TID TID `json:"tid"`
	// Type is the type code the card's MAC1 covers.
	Type TxType `json:"type"`
	// Amount is the amount of a load or unload (0 for an online unlock:
	// the host says how much).
	Amount Amount `json:"amount"`
	// Balance, OnlineSN, KeyVersion, Alg, Random and MAC1 are the card's
	// INITIALIZE answer.
	Balance    Amount  `json:"balance"`
	OnlineSN   uint16  `json:"online_sn"`
	KeyVersion byte    `json:"key_version"`
	Alg        byte    `json:"alg"`
	Random     [4]byte `json:"random"`
	MAC1       MAC     `json:"mac1"`
	// CTC is the card's offline serial (online unlock: MAC1 covers it).
	CTC uint16 `json:"ctc"`
	// Grey is the card's grey status (online unlock).
	Grey *GreyStatus `json:"grey,omitempty"`
}

// HostResponse is the host's MAC2.
type HostResponse struct {
	// Time is the host's date and time, sent to the card with MAC2.
	Time DateTime `json:"time"`
	// MAC2 authenticates the host to the card.
	MAC2 MAC `json:"mac2"`
	// Amount is, for an online unlock, what the card is to pay for its
	// grey lock; for a load or unload it repeats the request's.
	Amount Amount `json:"amount"`
}

// HostConfirmation tells the host what the card did.
type HostConfirmation struct {
	// ID is the request's ID.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	ASN  ASN    `json:"-"`
	// Applied says the card applied the operation; TAC (load) or MAC3
	// (unload, online unlock) is its evidence.
	Applied bool `json:"applied"`
	TAC     MAC  `json:"tac,omitempty"`
	MAC3    MAC  `json:"mac3,omitempty"`
	// NewBalance is the balance the card reports after the operation.
	NewBalance Amount `json:"new_balance"`
	// Proof is, for a load the card did not apply, a fresh INITIALIZE FOR
	// LOAD answer of amount 0: its MAC1 authenticates the unchanged online
	// serial. Other kinds need none (the host moved no money yet).
	Proof *OnlineInit `json:"proof,omitempty"`
}

// ErrDeclined is wrapped by a host's refusal.
var ErrDeclined = errors.New("purse: declined by the host")

// ErrEvidence is wrapped by a host's refusal of the evidence in a
// Confirm: a TAC or MAC3 that does not verify, a proof that does not show
// what it claims. The terminal then keeps its record and looks for the
// card's own proof (GET TRANSACTION PROVE).
var ErrEvidence = errors.New("purse: evidence refused by the host")

// DeclineError is a host's refusal with its reason.
type DeclineError struct {
	// Code is the host's response code (e.g. "51" insufficient funds in
	// the reserve, "05" MAC1 wrong).
	Code string
	// Reason says why, for people.
	Reason string
}

// Error says who declined, with the code and the reason.
func (e *DeclineError) Error() string {
	return fmt.Sprintf("purse: declined by the host (%s): %s", e.Code, e.Reason)
}

// Unwrap returns ErrDeclined.
func (e *DeclineError) Unwrap() error { return ErrDeclined }

// StatusError is a status word that ended a flow.
type StatusError struct {
	Command string
	SW      apdu.SW
}

// Error names the command and its status word.
func (e *StatusError) Error() string { return fmt.Sprintf("purse: %s: %s", e.Command, e.SW) }

// Unwrap returns ErrCardStatus.
func (e *StatusError) Unwrap() error { return ErrCardStatus }

// PINPad is the terminal's PIN pad for the card's offline PIN. The
// library never holds the PIN: VerifyPIN has the cardholder type it and
// sends VERIFY (00 20 00 00, the PIN in the data field as format says)
// to the card itself, through card, and returns the card's status word
// (9000, 63Cx, 6983). The terminal gives it a transport that keeps the
// VERIFY data out of every trace.
type PINPad interface {
	VerifyPIN(ctx context.Context, card apdu.Transport, format PINFormat) (apdu.SW, error)
}

// PINFormat is how VERIFY carries the PIN.
type PINFormat int

// PIN formats (PURSE-NOTES §2: BCD padded with F [ZY; JJ]; ASCII on ETC
// cards [XH]).
const (
	// PINBCD packs the digits two to a byte, an odd count padded with F:
	// 123456 → 12 34 56.
	PINBCD PINFormat = iota
	// PINASCII sends the digits as ASCII: 123456 → 31 32 33 34 35 36.
	PINASCII
)

// ErrNoPINPad reports an operation that needs the PIN with no PINPad.
var ErrNoPINPad = errors.New("purse: no PIN pad")
