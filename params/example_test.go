// SPDX-License-Identifier: Apache-2.0

package params_test

import (
	"encoding/hex"
	"fmt"
	"log"

	"github.com/go-pboc/pboc/params"
)

// An AID parameter record as a UnionPay acquirer downloads it (the
// project's notes, §5) becomes the kernel's Application.
func ExampleParseAID() {
	rec, _ := hex.DecodeString(sampleAID)
	a, err := params.ParseAID(rec, params.Format{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("AID %X partial=%t version %X\n", a.AID, a.PartialMatch, a.Version)
	fmt.Printf("TAC online %X, EC limit %s, contactless limit %s\n", a.TACOnline, a.ECTransactionLimit, a.ContactlessLimit)
	fmt.Printf("default DDOL %X, online PIN %t\n", a.DefaultDDOL, a.OnlinePIN)
	// Output:
	// AID A000000333010101 partial=false version 0020
	// TAC online D84004F800, EC limit 1000.00, contactless limit 1000.00
	// default DDOL 9F3704, online PIN true
}

// A CA public key record is checked (DF03) as it is read.
func ExampleParseCAKey() {
	rec, _ := hex.DecodeString(sampleCAKey)
	k, err := params.ParseCAKey(rec, params.Format{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s/%02X RSA-%d expires %s\n", k.RID, k.Index, k.Bits(), k.Expiry.Format("2006-01-02"))
	rec[len(rec)-1] ^= 1
	_, err = params.ParseCAKey(rec, params.Format{})
	fmt.Println(err != nil)
	// Output:
	// A000000333/01 RSA-1024 expires 2009-12-31
	// true
}
