// SPDX-License-Identifier: Apache-2.0

package journal_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/go-pboc/pboc/journal"
)

// The kernel writes the clearing record of an offline EC sale before it
// tells the merchant the sale is approved. Writing it again (a retry after
// a restart) is harmless.
func Example() {
	dir, err := os.MkdirTemp("", "journal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	j, err := journal.Open(filepath.Join(dir, "pboc-journal.dat"))
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()

	r := journal.Record{
		Time:       time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC),
		Kind:       journal.KindECOfflineSale,
		Amount:     1234, // 12.34 yuan
		Currency:   "0156",
		PSN:        "01",
		AID:        "A000000333010106",
		ATC:        42,
		Cryptogram: "1A2B3C4D5E6F7081",
		CID:        "40",
		TVR:        "0000000000",
		Field55:    "9F26081A2B3C4D5E6F70819F2701409F3602002A",
		Outcome:    "approved_offline",
	}
	r.SetPAN("6234561234567890") // keeps only the masked PAN and its hash
	r.ID = journal.RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)

	ctx := context.Background()
	for range 2 {
		if err := j.Append(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	recs, err := j.Records(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Kind, r.Amount, r.MaskedPAN, r.ATC, r.Outcome)
	}
	fmt.Println(len(recs), "record")
	// Output:
	// ec_offline_sale 1234 623456******7890 42 approved_offline
	// 1 record
}

// A terminal numbers its messages and settles its batch: the STANs come
// from the journal (durable across restarts), the settlement request's
// field 48 from the batch's records, and closing the batch opens the next.
func ExampleFile_CloseBatch() {
	dir, err := os.MkdirTemp("", "journal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	j, err := journal.Open(filepath.Join(dir, "pboc-journal.dat"))
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()

	for i, amount := range []uint64{1234, 500} {
		stan, batch, err := j.NextSTAN(ctx)
		if err != nil {
			log.Fatal(err)
		}
		r := journal.Record{Time: time.Date(2026, 3, 1, 8, 30, i, 0, time.UTC), Kind: journal.KindECOfflineSale,
			Amount: amount, Currency: "0156", PSN: "01", AID: "A000000333010101", ATC: uint16(7 + i),
			STAN: stan, Batch: batch, TransactionType: "00", EntryMode: "052", Outcome: "approved_offline"}
		r.SetPANKeyed([]byte("terminal hash key"), "6234561234567890")
		r.ID = journal.RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)
		if err := j.Append(ctx, r); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("STAN %06d batch %06d\n", stan, batch)
	}
	recs, err := j.Records(ctx)
	if err != nil {
		log.Fatal(err)
	}
	totals := journal.BatchTotals(recs, 1)
	f48, err := totals.Field48()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("field 48:", f48)
	next, err := j.CloseBatch(ctx, journal.BatchClose{Batch: 1, Totals: totals, Result: "balanced"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("next batch %06d\n", next)
	// Output:
	// STAN 000001 batch 000001
	// STAN 000002 batch 000001
	// field 48: 00000000173400200000000000000000000000000000000000000000000000
	// next batch 000002
}
