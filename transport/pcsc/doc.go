// SPDX-License-Identifier: Apache-2.0

// Package pcsc is an apdu.Transport for real card readers through PC/SC:
// it talks to pcscd (pcsc-lite) over its UNIX socket, in pure Go, so the
// library stays free of cgo and of libpcsclite.
//
//	card, err := pcsc.Open(ctx, "Virtual PCD")     // or "" for the first card
//	if err != nil { ... }
//	defer card.Close()
//	res, err := k.Purchase(ctx, card, kernel.Amount(1234))
//
// Readers and ReaderStates list the readers. A Card sends command APDUs as
// they are, in T=0 or T=1 (whichever the card's ATR and the reader agree
// on); the T=0 conventions (61xx, 6Cxx) are handled by apdu.Exchange, like
// for any transport. When another application resets a shared card the
// Card reconnects by itself (see Transmit); a card taken out of the reader
// is reported as ErrCardRemoved, a reader that does not exist as
// ErrNoReader, pcscd not running as ErrNoService. Each pcscd refusal is an
// *Error carrying the PC/SC Code.
//
// # Why not go-libpcsclite
//
// github.com/gballet/go-libpcsclite, the pure-Go client used by go-ethereum,
// was the first choice, but its only version on the module proxy
// (v0.0.0-20191108122812-4678299bea08) cannot serve here: SCardTransmit
// always sends the T=1 protocol control information, so pcscd refuses every
// command to a T=0 card (SCARD_E_PROTO_MISMATCH), and most EMV contact cards
// are T=0; it parses the reader state records with the offsets of a Go
// struct instead of pcscd's layout, so card presence and ATR come out wrong
// and readers after an empty slot are lost; it has no SCardReconnect or
// SCardStatus, so neither reset nor removal can be handled; and it cannot be
// cancelled (no context, no deadlines). So this package has its own client
// of the few messages it needs (pcsc-lite's winscard_msg.h: CMD_VERSION,
// SCARD_ESTABLISH_CONTEXT, CMD_GET_READERS_STATE, SCARD_CONNECT,
// SCARD_RECONNECT, SCARD_TRANSMIT, SCARD_STATUS, SCARD_DISCONNECT,
// SCARD_RELEASE_CONTEXT), in about 400 lines.
//
// pcscd's protocol is private to pcsc-lite and versioned. This client
// offers 4:4 (pcsc-lite 1.8.24 to 2.2, Debian 12's 1.9.9 among them) and,
// if the daemon answers with 4:3 or 4:5, switches to that version: all of
// them answer the reader states with a fixed array of 16 records. A daemon
// that accepts none of them (pcsc-lite 2.5's 4:6, unless it accepts older
// clients) is refused with ErrProtocol. Only 4:4 (pcsc-lite 1.9.9) has been
// tried against a real pcscd. The socket is $PCSCLITE_CSOCK_NAME or
// /run/pcscd/pcscd.comm (WithSocket). Linux and the BSDs only: macOS and
// Windows have no pcscd socket.
//
// The integration test (package transport/pcsc/integration) runs a kernel
// purchase through pcscd and vsmartcard's vpcd reader to a simulated card;
// see .ci/pcsc.sh for the setup.
package pcsc
