// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
)

// writeClearingJournal writes two offline EC sales with sealed PANs, STANs
// 1 and 2 of batch 1 (the first marked sent), under the key in keyFile.
func writeClearingJournal(t *testing.T) (path, keyFile string) {
	ctx := context.Background()
	dir := t.TempDir()
	path, keyFile = filepath.Join(dir, "j.dat"), filepath.Join(dir, "data.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("5A", 32)+"\n"), 0o600))
	key, err := journal.NewAESGCMKey(bytes.Repeat([]byte{0x5A}, 32))
	require.NoError(t, err)
	j, err := journal.Open(path)
	require.NoError(t, err)
	defer j.Close()
	for i := range 2 {
		stan, batch, err := j.NextSTAN(ctx)
		require.NoError(t, err)
		r := journal.Record{Time: time.Date(2026, 3, 1, 8, 0, i, 0, time.UTC), Kind: journal.KindECOfflineSale,
			Amount: uint64(1234 + i), Currency: "0156", AID: "A000000333010106", PSN: "01", ATC: uint16(i + 1), Outcome: "approved_offline",
			STAN: stan, Batch: batch, EntryMode: "052", TransactionType: "00"}
		r.SetPAN("6234561234567890")
		r.ID = journal.RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)
		require.NoError(t, r.SealPAN(ctx, key, "6234561234567890"))
		require.NoError(t, j.Append(ctx, r))
		if i == 0 {
			require.NoError(t, j.Mark(ctx, r.ID, journal.UploadEvent{State: journal.UploadSent}))
		}
	}
	return path, keyFile
}

func TestJournalClearingFields(t *testing.T) {
	path, keyFile := writeClearingJournal(t)
	code, out, errOut := runCLI(t, "journal", "list", "--journal", path)
	require.Equal(t, 0, code, errOut)
	t.Log("\n" + out)
	assert.Contains(t, out, "STAN 000001  batch 000001  052  sent")
	assert.Contains(t, out, "STAN 000002  batch 000001  052  pending")
	assert.NotContains(t, out, "6234561234567890", "masked without the key")

	code, out, _ = runCLI(t, "journal", "list", "--journal", path, "--data-key-file", keyFile)
	require.Equal(t, 0, code)
	assert.Equal(t, 2, strings.Count(out, "6234561234567890"), "the key shows the full PAN")

	code, out, _ = runCLI(t, "journal", "export", "--journal", path)
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "6234561234567890")
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.Split(out, "\n")[1]), &r))
	assert.EqualValues(t, 2, r["stan"])
	assert.NotNil(t, r["pan_encrypted"])
	code, out, _ = runCLI(t, "journal", "export", "--journal", path, "--data-key-file", keyFile)
	require.Equal(t, 0, code)
	assert.Equal(t, 2, strings.Count(out, `"pan":"6234561234567890"`))

	code, out, errOut = runCLI(t, "journal", "batch", "--journal", path)
	require.Equal(t, 0, code, errOut)
	t.Log("\n" + out)
	assert.Contains(t, out, "batch 000001 (open)")
	assert.Contains(t, out, "domestic  debits   2         24.69")
	assert.Contains(t, out, "field 48  000000002469002000000000000000"+"0"+strings.Repeat("0", 31))
	code, out, _ = runCLI(t, "journal", "batch", "--journal", path, "--batch", "7")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "batch 000007 (closed)")
	assert.Contains(t, out, "debits   0          0.00")

	// Another terminal's key: every record listed masked, and the
	// listing fails saying why (never a silent masked list).
	other := filepath.Join(t.TempDir(), "other.key")
	require.NoError(t, os.WriteFile(other, []byte(strings.Repeat("42", 32)), 0o600))
	for _, sub := range []string{"list", "export"} {
		code, out, errOut = runCLI(t, "journal", sub, "--journal", path, "--data-key-file", other)
		assert.Equal(t, 1, code, "%s: %s", sub, errOut)
		assert.NotContains(t, out, "6234561234567890")
		assert.Contains(t, errOut, "sealed under another data key", sub)
		assert.Equal(t, 1, strings.Count(errOut, "journal:"), "the command's name once, not journal's own again: %s", errOut)
		assert.NotContains(t, errOut, "6234561234567890")
	}
	_, out, errOut = runCLI(t, "journal", "list", "--journal", path, "--data-key-file", other)
	assert.Equal(t, 2, strings.Count(out, "623456******7890"), "still listed, masked")
	assert.Contains(t, errOut, "opened the PAN of 0 of 2 records")

	bad := filepath.Join(t.TempDir(), "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("not hex"), 0o600))
	for _, args := range [][]string{{"journal", "list", "--journal", path, "--data-key-file", bad},
		{"journal", "batch", "--journal", path, "--batch", "0"}, {"journal", "batch", "--journal", path, "--batch", "x"}} {
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, 2, code, "%q: %s", args, errOut)
	}
}

// purchase --journal numbers the sales from the journal and, with
// --data-key-file, keeps the PAN only encrypted: the file holds no PAN,
// the key shows it.
func TestPurchaseJournalsSTANAndSealedPAN(t *testing.T) {
	dir := t.TempDir()
	path, keyFile := filepath.Join(dir, "terminal.dat"), filepath.Join(dir, "data.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("A7", 16)), 0o600))
	card := filepath.Join(dir, "card.json") // one card across the runs: its ATC goes on
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o600))
	for range 2 {
		p := purchase(t, "--amount", "1.00", "--journal", path, "--data-key-file", keyFile, "--card", card, "--save")
		require.Equal(t, "approved_offline", p.Outcome)
	}
	file, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(file), "6222021000123456781")
	code, out, errOut := runCLI(t, "journal", "list", "--journal", path, "--data-key-file", keyFile)
	require.Equal(t, 0, code, errOut)
	t.Log("\n" + out)
	assert.Contains(t, out, "6222021000123456781")
	assert.Contains(t, out, "STAN 000001  batch 000001  052")
	assert.Contains(t, out, "STAN 000002  batch 000001  052", "the second run goes on: the journal is the counter")
}
