// SPDX-License-Identifier: Apache-2.0

package keys_test

import (
	"encoding/hex"
	"fmt"

	"github.com/go-pboc/pboc/crypto/keys"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// A host verifies an ARQC and answers with an ARPC. The card master key and
// transaction data are those of a published PBOC worked example.
func Example() {
	mk := mustHex("0D2E3CB0BC1F9E03AED58F663A2F9679") // the card's AC master key (UDK)
	tags := map[uint32][]byte{
		0x9F02: mustHex("000000001234"), 0x9F03: mustHex("000000000034"),
		0x9F1A: mustHex("0156"), 0x95: mustHex("D86004A800"), 0x5F2A: mustHex("0156"),
		0x9A: mustHex("120516"), 0x9C: mustHex("01"), 0x9F37: mustHex("01010101"),
		0x82: mustHex("7C00"), 0x9F36: mustHex("000E"),
		0x9F10: mustHex("07020103A4B904010A010000000000"),
	}
	arqc := mustHex("F294D7022FA9B058") // 9F26 from the card

	sk, err := keys.SessionKey(keys.TDES, mk, 0x000E)
	if err != nil {
		panic(err)
	}
	data := keys.ACData(func(tag uint32) []byte { return tags[tag] })
	ok, err := keys.VerifyCryptogram(keys.TDES, sk, data, arqc)
	if err != nil {
		panic(err)
	}
	arpc, err := keys.ARPC(keys.TDES, sk, arqc, []byte("00"))
	if err != nil {
		panic(err)
	}
	fmt.Println("ARQC valid:", ok)
	fmt.Println("ARPC length:", len(arpc))
	// Output:
	// ARQC valid: true
	// ARPC length: 8
}
