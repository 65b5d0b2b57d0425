// SPDX-License-Identifier: Apache-2.0

package bcd_test

import (
	"fmt"

	"github.com/go-pboc/pboc/bcd"
)

func Example() {
	fen, err := bcd.ParseAmount("12.34")
	if err != nil {
		panic(err)
	}
	amount, err := bcd.Encode(nil, fen, 6) // tag 9F02, format n12
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d fen = % X\n", fen, amount)

	back, err := bcd.Decode(amount)
	if err != nil {
		panic(err)
	}
	fmt.Println(bcd.FormatAmount(back))

	_, err = bcd.ParseAmount("12.345")
	fmt.Println(err)
	// Output:
	// 1234 fen = 00 00 00 00 12 34
	// 12.34
	// bcd: invalid: amount "12.345": more than two decimal places
}
