// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testPAN = "6234561234567890"

// testRecord returns the i-th sale of a test card, as the kernel would fill
// it after an offline EC approval.
func testRecord(i int) Record {
	before := uint64(100000 - 1000*i)
	after := before - uint64(100+i)
	r := Record{
		Format:        FormatVersion,
		Time:          time.Date(2026, 3, 1, 8, 0, i, 0, time.UTC),
		Kind:          KindECOfflineSale,
		Amount:        uint64(100 + i),
		Currency:      "0156",
		PSN:           "01",
		AID:           "A000000333010106",
		ATC:           uint16(i + 1),
		Cryptogram:    fmt.Sprintf("%016X", 0x1122334455660000+uint64(i)),
		CID:           "40",
		TVR:           "0000000000",
		BalanceBefore: &before,
		BalanceAfter:  &after,
		Field55:       "9F2608" + fmt.Sprintf("%016X", 0x1122334455660000+uint64(i)) + "9F2701409F3602" + fmt.Sprintf("%04X", i+1),
		Outcome:       "approved_offline",
	}
	r.SetPAN(testPAN)
	r.ID = RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)
	return r
}

// openTemp opens a new journal in a temporary directory.
func openTemp(t testing.TB) (*File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.dat")
	j, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j, path
}

// writeJournal writes n test records to a new journal file and returns its
// path and the offset at which each frame starts (plus the file size).
func writeJournal(t testing.TB, n int) (string, []int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.dat")
	j, err := Open(path)
	require.NoError(t, err)
	offs := []int64{0}
	for i := range n {
		require.NoError(t, j.Append(context.Background(), testRecord(i)))
		offs = append(offs, j.log.size)
	}
	require.NoError(t, j.Close())
	return path, offs
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func ids(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
