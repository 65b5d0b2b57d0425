// SPDX-License-Identifier: Apache-2.0

package capk_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-pboc/pboc/capk"
)

// A terminal looks up the CA key named by the card's RID and tag 8F.
func ExampleStore_Lookup() {
	store := capk.Builtin()
	rid, err := capk.ParseRID("A000000333")
	if err != nil {
		panic(err)
	}
	k, ok := store.Lookup(rid, 0x08)
	if !ok {
		fmt.Println("no such key")
		return
	}
	fmt.Printf("%s/%02X %d bits, exponent %X, checksum %X\n", k.RID, k.Index, k.Bits(), k.Exponent, k.Checksum)
	fmt.Println("expired on 2026-06-01:", k.Expired(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)))
	// Output:
	// A000000333/08 1152 bits, exponent 03, checksum EE23B616C95C02652AD18860E48787C079E8E85A
	// expired on 2026-06-01: false
}

// Check reports on every key, as `pboc capk check FILE` prints it.
func ExampleCheck() {
	for _, f := range capk.Check(capk.Builtin(), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		fmt.Println(f)
	}
	// Output:
	// A000000333/01 rsa-1024 e=3 sha1 checksum ok EXPIRED 2009-12-31
	// A000000333/02 rsa-1152 e=3 sha1 checksum ok EXPIRED 2014-12-31
	// A000000333/03 rsa-1408 e=3 sha1 checksum ok EXPIRED 2017-12-31
	// A000000333/04 rsa-1984 e=3 sha1 checksum ok EXPIRED 2017-12-31
	// A000000333/08 rsa-1152 e=3 sha1 checksum ok expires 2030-12-31
	// A000000333/09 rsa-1408 e=3 sha1 checksum ok expires 2030-12-31
	// A000000333/0A rsa-1024 e=3 sha1 checksum ok expires 2030-12-31
	// A000000333/0B rsa-1984 e=3 sha1 checksum ok expires 2030-12-31
	// A000000333/80 rsa-1024 e=65537 sha1 checksum ok expires 2030-12-31
}

// Load refuses a file whose key does not match its checksum and names the
// entry.
func ExampleLoad() {
	_, err := capk.Load(strings.NewReader(`{"keys":[{"rid":"A000000333","index":"01","algorithm":"rsa","hash":"sha1",
		"modulus":"` + strings.Repeat("C3", 64) + `","exponent":"03","checksum":"` + strings.Repeat("00", 20) + `"}]}`))
	fmt.Println(err)
	// Output:
	// keys[0].checksum: capk: checksum mismatch: have 0000000000000000000000000000000000000000, computed C609B6963E27CB1810F0F24B0AA4CCF89EC75A90
}
