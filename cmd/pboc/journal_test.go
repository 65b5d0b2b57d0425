package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-pboc/pboc/journal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTestJournal writes two offline EC sales with sealed PANs, STANs 1
// and 2 of batch 1, under the key in the returned key file.
func writeTestJournal(t *testing.T) (path, keyFile string) {
	ctx := context.Background()
	dir := t.TempDir()
	path, keyFile = filepath.Join(dir, "j.dat"), filepath.Join(dir, "data.key")
	rawKey := strings.Repeat("5A", 32)
	require.NoError(t, os.WriteFile(keyFile, []byte(rawKey+"\n"), 0o600))
	key, err := journal.NewAESGCMKey(bytes.Repeat([]byte{0x5A}, 32))
	require.NoError(t, err)
	j, err := journal.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
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
	}
	require.NoError(t, j.Mark(ctx, journalIDs(t, path)[0], journal.UploadEvent{State: journal.UploadSent}))
	return path, keyFile
}

func journalIDs(t *testing.T, path string) []string {
	j, err := journal.Open(path, journal.ReadOnly())
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(context.Background())
	require.NoError(t, err)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestJournalCommand(t *testing.T) {
	ctx := context.Background()
	path, keyFile := writeTestJournal(t)
	// the terminal keeps the journal open while we read it
	var out bytes.Buffer
	require.NoError(t, cmdJournal(ctx, []string{"list", "--file", path}, &out))
	t.Log("\n" + out.String())
	assert.Equal(t, 2, strings.Count(out.String(), "\n"))
	assert.Contains(t, out.String(), "12.34")
	assert.Contains(t, out.String(), "623456******7890")
	assert.NotContains(t, out.String(), "6234561234567890")
	assert.Contains(t, out.String(), "STAN 000002  batch 000001  052  pending")
	assert.Contains(t, out.String(), "STAN 000001  batch 000001  052  sent")

	out.Reset()
	require.NoError(t, cmdJournal(ctx, []string{"list", "--file", path, "--data-key-file", keyFile}, &out))
	assert.Contains(t, out.String(), "6234561234567890", "the key shows the full PAN")

	out.Reset()
	require.NoError(t, cmdJournal(ctx, []string{"export", "--file", path, "--data-key-file", keyFile}, &out))
	assert.Equal(t, 2, strings.Count(out.String(), `"pan":"6234561234567890"`))

	out.Reset()
	require.NoError(t, cmdJournal(ctx, []string{"batch", "--file", path}, &out))
	t.Log("\n" + out.String())
	assert.Contains(t, out.String(), "batch 000001 (open)")
	assert.Contains(t, out.String(), "debits   2         24.69")
	assert.Contains(t, out.String(), "field 48  000000002469002000000000000000"+"0"+strings.Repeat("0", 31))

	out.Reset()
	require.NoError(t, cmdJournal(ctx, []string{"export", "--file", path}, &out))
	t.Log("\n" + out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	var r journal.Record
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &r))
	assert.Equal(t, uint64(1235), r.Amount)
	assert.Equal(t, uint32(2), r.STAN)
	assert.NotNil(t, r.EncryptedPAN)
	assert.NotContains(t, out.String(), "6234561234567890", "no key, no PAN")

	bad := filepath.Join(t.TempDir(), "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("not hex"), 0o600))
	for _, args := range [][]string{nil, {"bogus"}, {"list", "extra"}, {"export", "--nope"}, {"list", "--file", path, "--data-key-file", bad}} {
		var ue usageError
		assert.True(t, errors.As(cmdJournal(ctx, args, &out), &ue), "%q", args)
	}
	empty := filepath.Join(t.TempDir(), "empty.dat")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	out.Reset()
	require.NoError(t, cmdJournal(ctx, []string{"list", "--file", empty}, &out))
	assert.Contains(t, out.String(), "is empty")
	dir := t.TempDir()
	wd, _ := os.Getwd()
	require.NoError(t, os.Chdir(dir))
	defer os.Chdir(wd)
	err := cmdJournal(ctx, []string{"list"}, &out)
	require.ErrorIs(t, err, os.ErrNotExist)
	t.Log(err)
}
