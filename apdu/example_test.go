// SPDX-License-Identifier: Apache-2.0

package apdu_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-pboc/pboc/apdu"
)

// A card that answers GET DATA 9F79 (EC balance) in two parts with 61xx, as a
// T=0 card does: Exchange sends the GET RESPONSE and joins the data.
func ExampleExchange() {
	card := apdu.TransportFunc(func(_ context.Context, cmd []byte) ([]byte, error) {
		fmt.Printf("-> % X\n", cmd)
		switch cmd[1] {
		case 0xCA: // GET DATA
			return []byte{0x61, 0x09}, nil
		case 0xC0: // GET RESPONSE
			return []byte{0x9F, 0x79, 0x06, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0x90, 0x00}, nil
		}
		return []byte{0x6D, 0x00}, nil
	})

	r, err := apdu.Exchange(context.Background(), card, apdu.GetData(0x9F79))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("<- % X %v\n", r.Data, r.SW)
	// Output:
	// -> 80 CA 9F 79 00
	// -> 00 C0 00 00 09
	// <- 9F 79 06 00 00 00 00 50 00 9000 success
}

func ExampleParseCommand() {
	// An issuer script command (tag 86) that updates the EC balance.
	c, err := apdu.ParseCommand([]byte{0x04, 0xDA, 0x9F, 0x79, 0x0A,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Name(), len(c.Data), c.Ne)
	// Output: PUT DATA 10 0
}

func ExampleSW_String() {
	fmt.Println(apdu.SWFileNotFound)
	fmt.Println(apdu.SW(0x63C1))
	fmt.Println(apdu.SW(0x6C1C))
	// Output:
	// 6A82 file or application not found
	// 63C1 verification failed, 1 try left
	// 6C1C wrong Le: exact length is 28
}

// The tracer logs each APDU at debug level with the PAN masked once the card
// has revealed it in tag 5A or 57.
func ExampleNewTracer() {
	card := apdu.TransportFunc(func(context.Context, []byte) ([]byte, error) {
		// 70 { 5A 6234561234567890 } 9000
		return []byte{0x70, 0x0A, 0x5A, 0x08, 0x62, 0x34, 0x56, 0x12, 0x34, 0x56, 0x78, 0x90, 0x90, 0x00}, nil
	})
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "took" {
				return slog.Attr{} // keep the example's output stable
			}
			return a
		},
	}))
	tr := apdu.NewTracer(card, logger)
	if _, err := apdu.Exchange(context.Background(), tr, apdu.ReadRecord(1, 1)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// level=DEBUG msg=apdu cmd="READ RECORD" c=00B2010C00 r=700A5A08623456******78909000 sw="9000 success"
}
