// SPDX-License-Identifier: Apache-2.0

package cardsim_test

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/tlv"
)

// An offline electronic-cash purchase of 12.34 against the seed card,
// talking APDUs directly.
func Example() {
	card, err := cardsim.New(cardsim.DefaultProfile())
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	send := func(c apdu.Command) apdu.Response {
		r, err := apdu.Exchange(ctx, card, c)
		if err != nil {
			panic(err)
		}
		return r
	}
	amount, _ := bcd.Encode(nil, 1234, 6)

	send(apdu.Select([]byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01}))
	// PDOL 9F7A01 9F0206 5F2A02: EC supported, amount, CNY.
	gpo := send(apdu.GetProcessingOptions(append(append([]byte{0x01}, amount...), 0x01, 0x56)))
	fmt.Printf("GPO: % X\n", gpo.Data)
	rec := send(apdu.ReadRecord(2, 2))
	code, _, _ := tlv.Find(rec.Data, 0x9F74)
	fmt.Printf("9F74: %s\n", code)

	// CDOL1: amount, other amount, country, TVR, currency, date, type, UN,
	// time, merchant name.
	cdol := append([]byte(nil), amount...)
	cdol = append(cdol, make([]byte, 6)...)
	cdol = append(cdol, 0x01, 0x56, 0, 0, 0, 0, 0, 0x01, 0x56, 0x25, 0x06, 0x30, 0x00,
		1, 2, 3, 4, 0x12, 0x00, 0x00)
	cdol = append(cdol, make([]byte, 20)...)
	ac := send(apdu.GenerateAC(apdu.ACTypeTC, cdol))
	fmt.Printf("CID: %02X\n", ac.Data[2])
	fmt.Println("balance:", bcd.FormatAmount(card.Balance("A000000333010101")))
	// Output:
	// GPO: 80 0E 3C 00 08 01 01 00 10 01 02 01 18 01 03 00
	// 9F74: ECC001
	// CID: 40
	// balance: 487.66
}
