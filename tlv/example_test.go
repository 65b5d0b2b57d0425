// SPDX-License-Identifier: Apache-2.0

package tlv_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/go-pboc/pboc/tlv"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func ExampleParse() {
	// GENERATE AC response, format 2
	resp := mustHex("7714" + "9F270180" + "9F360200A1" + "9F2608B1C2D3E4F5061728")
	top, err := tlv.ParseSingle(resp)
	if err != nil {
		panic(err)
	}
	objs, err := tlv.Parse(top.Value)
	if err != nil {
		panic(err)
	}
	for _, o := range objs {
		fmt.Printf("%s %X\n", o.Tag, o.Value)
	}
	// Output:
	// 9F27 80
	// 9F36 00A1
	// 9F26 B1C2D3E4F5061728
}

func ExampleFind() {
	record := mustHex("7014" + "5F24033012315F280201569F7406454343303031")
	v, found, err := tlv.Find(record, 0x9F74)
	fmt.Printf("%q %v %v\n", v, found, err)
	// Output: "ECC001" true <nil>
}

func ExampleParse_error() {
	_, err := tlv.Parse(mustHex("5A0862345678"))
	var e *tlv.Error
	fmt.Println(err, errors.Is(err, tlv.ErrTruncated), errors.As(err, &e) && e.Offset == 2)
	// Output: tlv: truncated at offset 2 true true
}

func ExampleWalk() {
	fci := mustHex("6F1A840E315041592E5359532E4444463031A5088801015F2D027A68")
	_ = tlv.Walk(fci, func(depth int, o tlv.TLV) error {
		fmt.Printf("%*s%s\n", 2*depth, "", o.Tag)
		return nil
	})
	// Output:
	// 6F
	//   84
	//   A5
	//     88
	//     5F2D
}

func ExampleEncode() {
	data := tlv.Encode(
		tlv.TLV{Tag: 0x9F27, Value: []byte{0x80}},
		tlv.Constructed(0x77, tlv.TLV{Tag: 0x9F36, Value: []byte{0x00, 0x01}}),
	)
	fmt.Printf("%X\n", data)
	// Output: 9F27018077059F36020001
}

func ExampleDOL_Build() {
	pdol, err := tlv.ParseDOL(mustHex("9F7A019F02065F2A02"))
	if err != nil {
		panic(err)
	}
	terminal := tlv.SourceFunc(func(t tlv.Tag) ([]byte, bool) {
		switch t {
		case 0x9F7A:
			return []byte{0x01}, true // EC supported
		case 0x9F02:
			return []byte{0x12, 0x34}, true // 12.34, numeric: left-padded
		case 0x5F2A:
			return []byte{0x01, 0x56}, true // CNY
		}
		return nil, false
	})
	data := pdol.Build(nil, terminal)
	fmt.Printf("%d %X\n", pdol.Len(), data)
	// Output: 9 010000000012340156
}

func ExampleDump() {
	record := mustHex("7020" + "5A086234567890123456" + "5F2403301231" + "500A50424F43204445424954" + "9F7901" + "00")
	if err := tlv.Dump(os.Stdout, record); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 70 READ RECORD Response Message Template
	//   5A Application Primary Account Number (PAN): 623456******3456
	//   5F24 Application Expiration Date: 301231 (2030-12-31)
	//   50 Application Label: "PBOC DEBIT"
	//   9F79 EC Balance: 00
}

func ExampleLookup() {
	info, _ := tlv.Lookup(0x9F79)
	fmt.Println(info.Name, info.Format, info.Max)
	// Output: EC Balance n 6
}

func ExampleMaskPAN() {
	fmt.Println(tlv.MaskPAN("6234567890123456"))
	// Output: 623456******3456
}
