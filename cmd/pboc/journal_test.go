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

func TestJournalCommand(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.dat")
	j, err := journal.Open(path)
	require.NoError(t, err)
	for i := range 2 {
		r := journal.Record{Time: time.Date(2026, 3, 1, 8, 0, i, 0, time.UTC), Kind: journal.KindECOfflineSale,
			Amount: uint64(1234 + i), Currency: "0156", AID: "A000000333010106", PSN: "01", ATC: uint16(i + 1), Outcome: "approved_offline"}
		r.SetPAN("6234561234567890")
		r.ID = journal.RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)
		require.NoError(t, j.Append(ctx, r))
	}
	// the terminal keeps the journal open while we read it
	var out bytes.Buffer
	require.NoError(t, cmdJournal(ctx, []string{"list", "--file", path}, &out))
	t.Log("\n" + out.String())
	assert.Equal(t, 2, strings.Count(out.String(), "\n"))
	assert.Contains(t, out.String(), "12.34")
	assert.Contains(t, out.String(), "623456******7890")
	assert.NotContains(t, out.String(), "6234561234567890")

	out.Reset()
	require.NoError(t, cmdJournal(ctx, []string{"export", "--file", path}, &out))
	t.Log("\n" + out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	var r journal.Record
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &r))
	assert.Equal(t, uint64(1235), r.Amount)

	for _, args := range [][]string{nil, {"bogus"}, {"list", "extra"}, {"export", "--nope"}} {
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
	err = cmdJournal(ctx, []string{"list"}, &out)
	require.ErrorIs(t, err, os.ErrNotExist)
	t.Log(err)
}
