// SPDX-License-Identifier: Apache-2.0

package hostsim_test

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// A cash load of 200.00 onto a card holding 300.00 of electronic cash with a
// limit of 1000.00. The card side (ARQC, then the checks of tag 91 and of the
// script MAC) is computed here with package keys, as a card would.
func Example() {
	const pan = "6222021000123456781"
	host := hostsim.New()
	if err := host.AddAccount(hostsim.Account{
		PAN: pan, PSN: 0x01, Alg: keys.TDES, Keys: issuerKeys, PIN: "123456", Balance: 5000_00,
	}); err != nil {
		panic(err)
	}

	// The card: its keys come from the same issuer master keys.
	ck, _ := issuerKeys.Derive(keys.TDES, pan, 0x01)
	const atc = 0x0021
	amount, _ := bcd.Encode(nil, 200_00, 6)
	data := map[uint32][]byte{
		0x9F02: amount, 0x9F03: make([]byte, 6), 0x9F1A: {0x01, 0x56},
		0x95: make([]byte, 5), 0x5F2A: {0x01, 0x56}, 0x9A: {0x26, 0x05, 0x17},
		0x9C: {0x63}, 0x9F37: {0xCA, 0xFE, 0xBA, 0xBE}, 0x82: {0x7C, 0x00},
		0x9F36: {0x00, atc}, 0x9F27: {0x80},
		0x9F10: {0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, byte(keys.TDES)},
	}
	acKey, _ := keys.SessionKey(keys.TDES, ck.AC, atc)
	arqc, _ := keys.Cryptogram(keys.TDES, acKey, keys.ACData(func(t uint32) []byte { return data[t] }))
	var field55 []byte
	field55 = tlv.Append(field55, 0x9F26, arqc)
	for tag, v := range data {
		field55 = tlv.Append(field55, tlv.Tag(tag), v)
	}

	balance, limit := kernel.Amount(300_00), kernel.Amount(1000_00)
	resp, err := host.Authorize(context.Background(), &kernel.AuthRequest{
		Kind: kernel.RequestLoadCash, Amount: 200_00, PAN: pan, PANSequence: 0x01,
		Field55: field55, ECBalance: &balance, ECLimit: &limit,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("response:", resp.ResponseCode, "auth code:", resp.AuthCode)

	// The card authenticates the issuer...
	arpc, _ := keys.ARPC(keys.TDES, acKey, arqc, []byte(resp.ResponseCode))
	fmt.Println("ARPC valid:", keys.Equal(arpc, resp.IssuerAuthData[:8]))

	// ...and checks the script MAC before writing the new balance.
	smiKey, _ := keys.SessionKey(keys.TDES, ck.SMI, atc)
	cmd, _, _ := tlv.Find(resp.Scripts, 0x86)
	tag, value, err := keys.VerifyECUpdateScript(keys.TDES, smiKey, cmd, data[0x9F36], arqc)
	if err != nil {
		panic(err)
	}
	newBalance, _ := bcd.Decode(value)
	fmt.Printf("script: PUT DATA %04X = %s\n", tag, kernel.Amount(newBalance))
	fmt.Println("cash taken:", host.CashTotal())
	// Output:
	// response: 00 auth code: 000001
	// ARPC valid: true
	// script: PUT DATA 9F79 = 500.00
	// cash taken: 200.00
}
