// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"crypto/subtle"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/pki"
)

// Offline PIN (EMV Book 3 §6.5.12 VERIFY, §6.5.6 GET CHALLENGE; Book 2
// §7.2): the card verifies the PIN itself and counts the tries.
//
//   - VERIFY P2 80 carries the plaintext block (format 2), P2 88 the block
//     enciphered under the card's PIN encipherment key (its ICC key, or a
//     separate one certified in 9F2D), with the challenge of the GET
//     CHALLENGE just before it;
//   - a right PIN answers 9000 and sets the try counter back to the try
//     limit; a wrong one lowers the counter and answers 63Cx (x tries
//     left); at 0 every VERIFY answers 6983;
//   - an enciphered block whose header is not 7F or that carries another
//     challenge counts as a wrong PIN (Book 2 §7.2: verification fails); a
//     block that is not format 2, or data that cannot be deciphered, is
//     refused with 6A80 and counts nothing;
//   - VERIFY is accepted after GET PROCESSING OPTIONS and before the first
//     GENERATE AC (6985 otherwise); the card's CVR (9F10 byte 5 bits 3 and
//     2) then says "offline PIN verification performed" and, after a wrong
//     one, "failed".

// PIN verification states of a transaction, for the CVR.
const (
	cvrOfflinePINPerformed byte = 0x04
	cvrOfflinePINFailed    byte = 0x02
)

// getChallenge implements GET CHALLENGE: 8 unpredictable bytes, valid for
// the next command only.
func (c *Card) getChallenge(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 || len(cmd.Data) != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.s.app < 0 {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a := c.apps[c.s.app]
	a.challenges++
	c.s.challenge = a.unpredictable("pboc-cardsim-challenge", a.challenges)
	return apdu.Response{Data: append([]byte(nil), c.s.challenge...), SW: apdu.SWSuccess}
}

// verify implements VERIFY with a plaintext (P2 80) or enciphered (P2 88)
// offline PIN. challenge is what GET CHALLENGE issued for this command
// (nil if the command before was not GET CHALLENGE).
func (c *Card) verify(cmd apdu.Command, challenge []byte) apdu.Response {
	if cmd.P1 != 0 || (cmd.P2 != 0x80 && cmd.P2 != 0x88) {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.s.app < 0 || c.s.phase != phaseGPO {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	a := c.apps[c.s.app]
	if a.pinTries == 0 {
		return sw(apdu.SWAuthMethodBlocked)
	}
	var block []byte
	if cmd.P2 == 0x80 {
		if len(cmd.Data) != keys.OfflinePINBlockLen {
			return sw(apdu.SWWrongLength)
		}
		block = append([]byte(nil), cmd.Data...)
	} else {
		b, ok, resp := a.decipherPIN(cmd.Data, challenge)
		if resp.SW != 0 {
			return resp
		}
		if !ok {
			return c.wrongPIN(a)
		}
		block = b
	}
	defer clear(block)
	pin, err := keys.PINFromOfflineBlock(block)
	if err != nil {
		return sw(apdu.SWWrongData)
	}
	if subtle.ConstantTimeCompare([]byte(pin), []byte(a.prof.PIN.Value)) != 1 {
		return c.wrongPIN(a)
	}
	a.pinTries = a.pinTryLimit
	c.s.pinCVR |= cvrOfflinePINPerformed
	c.s.pinCVR &^= cvrOfflinePINFailed
	return sw(apdu.SWSuccess)
}

// wrongPIN counts a failed verification.
func (c *Card) wrongPIN(a *app) apdu.Response {
	a.pinTries--
	c.s.pinCVR |= cvrOfflinePINPerformed | cvrOfflinePINFailed
	return sw(apdu.SW(0x63C0 | uint16(a.pinTries)))
}

// decipherPIN deciphers an enciphered PIN with the card's PIN
// encipherment key. ok is false when the data header or the challenge is
// wrong (a failed verification); a response with a status word refuses
// the command without counting.
func (a *app) decipherPIN(data, challenge []byte) (block []byte, ok bool, resp apdu.Response) {
	key := a.pinKey()
	if key == nil {
		return nil, false, sw(apdu.SWFuncNotSupported)
	}
	if len(data) != key.Bits()/8 {
		return nil, false, sw(apdu.SWWrongLength)
	}
	plain, err := key.DecipherRaw(data)
	if err != nil {
		return nil, false, sw(apdu.SWWrongData)
	}
	defer clear(plain)
	if challenge == nil {
		return nil, false, apdu.Response{}
	}
	block, err = keys.OpenOfflinePIN(plain, challenge)
	return block, err == nil, apdu.Response{}
}

// pinKey is the key enciphered PINs are deciphered with: the separate PIN
// encipherment key, else the ICC key (RSA only), else none.
func (a *app) pinKey() *pki.KeyPair {
	switch a.pinEnc {
	case pinEncSeparate:
		return a.pinEncKey
	case pinEncICC:
		return a.icc
	}
	return nil
}
