// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

func TestJournalCommand(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.dat")
	j, err := journal.Open(path)
	require.NoError(t, err)
	for i := range 2 {
		r := journal.Record{Time: time.Date(2026, 3, 1, 8, 0, i, 0, time.UTC), Kind: journal.KindECOfflineSale,
			Amount: uint64(1234 + i), Currency: "0156", AID: "a000000333010106", PSN: "01", ATC: uint16(i + 1),
			CID: "40", Cryptogram: "0102030405060708", Outcome: "approved_offline"}
		r.SetPAN("6234561234567890")
		r.ID = journal.RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)
		require.NoError(t, j.Append(ctx, r))
	}
	// The terminal keeps the journal open while it is read.
	code, out, errOut := runCLI(t, "journal", "list", "--file", path)
	require.Equal(t, 0, code, errOut)
	t.Log("\n" + out)
	assert.Equal(t, 2, strings.Count(out, "\n"))
	assert.Contains(t, out, "12.34")
	assert.Contains(t, out, "623456******7890")
	assert.Contains(t, out, "A000000333010106", "card data in upper-case hex")
	assert.Contains(t, out, "CID 40")
	assert.NotContains(t, out, "6234561234567890")

	code, out, _ = runCLI(t, "journal", "export", "--journal", path)
	require.Equal(t, 0, code)
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &r))
	assert.Equal(t, "12.35", r["amount"], "amounts in yuan, as every other output")
	assert.Equal(t, "40", r["cid"])
	assert.Equal(t, "A000000333010106", r["aid"])
	assert.Equal(t, "0102030405060708", r["cryptogram"])
	assert.EqualValues(t, 2, r["atc"])
	assert.NotContains(t, out, "6234561234567890")

	for _, args := range [][]string{{"journal"}, {"journal", "bogus"}, {"journal", "list", "extra"}, {"journal", "export", "--nope"}} {
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, 2, code, "%q: %s", args, errOut)
	}
	empty := filepath.Join(t.TempDir(), "empty.dat")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	code, out, _ = runCLI(t, "journal", "list", "--journal", empty)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "is empty")

	t.Chdir(t.TempDir())
	code, _, errOut = runCLI(t, "journal", "list")
	assert.Equal(t, 2, code, "a missing journal is bad input")
	assert.Equal(t, "pboc journal: --journal pboc-journal.dat: no such file or directory\n", errOut)

	require.NoError(t, os.WriteFile("pboc-journal.dat", []byte("PJ\x01\x00garbage that is not a frame, and then more"), 0o600))
	code, _, errOut = runCLI(t, "journal", "list")
	assert.Equal(t, 2, code, "a damaged journal is bad input: %s", errOut)
}

// --journal on purchase and load: every approved sale and load is in the
// journal, once, written the way every other output writes it; the PAN
// hash key lives beside the journal, so two runs match the same card.
func TestJournalFlag(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "terminal.dat")
	// One card across the runs (--save): a card never uses an ATC twice,
	// and the journal names each record by the card's transaction.
	card := filepath.Join(dir, "card.json")
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o600))
	p1 := purchase(t, "--amount", "12.34", "--journal", path, "--card", card, "--save")
	require.Equal(t, "approved_offline", p1.Outcome)
	code, _, errOut := runCLI(t, "load", "--amount", "100", "--type", "cash", "--journal", path, "--json", "--card", card, "--save")
	require.Equal(t, 0, code, errOut)
	p3 := purchase(t, "--amount", "300.01", "--offline", "--journal", path, "--card", card, "--save")
	require.Equal(t, "online_required", p3.Outcome, "not approved: no record")
	p4 := purchase(t, "--amount", "2.00", "--journal", path, "--card", card, "--save")
	require.Equal(t, "approved_offline", p4.Outcome)
	code, _, errOut = runCLI(t, "purchase", "--amount", "12.34", "--journal", path)
	assert.Equal(t, 2, code, "a fresh simulated card each run would reuse its ATCs")
	assert.Contains(t, errOut, "need --card FILE --save")

	key, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	assert.Len(t, key, 32)
	fi, err := os.Stat(path + ".key")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	code, out, errOut := runCLI(t, "journal", "export", "--journal", path)
	require.Equal(t, 0, code, errOut)
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		recs = append(recs, r)
	}
	require.Len(t, recs, 3, out)
	assert.Equal(t, "ec_offline_sale", recs[0]["kind"])
	assert.Equal(t, "12.34", recs[0]["amount"])
	assert.Equal(t, "500.00", recs[0]["balance_before"])
	assert.Equal(t, "487.66", recs[0]["balance_after"])
	assert.Equal(t, "40", recs[0]["cid"], "a TC")
	assert.Equal(t, p1.Cryptogram, recs[0]["cryptogram"], "the cryptogram the result reported")
	assert.Equal(t, "load", recs[1]["kind"])
	assert.Equal(t, "100.00", recs[1]["amount"])
	assert.Equal(t, recs[0]["pan_hash"], recs[1]["pan_hash"], "the same card matched across runs")
	assert.Equal(t, "2.00", recs[2]["amount"])
	assert.NotEqual(t, recs[0]["atc"], recs[2]["atc"], "the saved card counts on")
	assert.NotContains(t, out, "6222021000123456781")
}

// --torn-log keeps torn sales in the durable torn log, keyed like the
// journal: a record for this card, kept by an earlier run, is settled from
// the card's log when the card comes back — here the card never made that
// sale, so the record goes and nothing is journaled.
func TestTornLogFlag(t *testing.T) {
	dir := t.TempDir()
	torn := filepath.Join(dir, "torn.dat")
	jpath := filepath.Join(dir, "journal.dat")
	card := copyCard(t, dir)
	p := purchase(t, "--amount", "1.00", "--torn-log", torn, "--journal", jpath, "--card", card, "--save")
	require.Equal(t, "approved_offline", p.Outcome)
	key, err := os.ReadFile(jpath + ".key")
	require.NoError(t, err, "one key for the journal and the torn log")

	tl, err := kernel.OpenTornLog(torn)
	require.NoError(t, err)
	require.Zero(t, tl.Len(), "a clean sale leaves no torn record")
	m := hmac.New(sha256.New, key)
	m.Write([]byte("6222021000123456781"))
	var rec kernel.TornRecord
	copy(rec.PANHash[:], m.Sum(nil))
	rec.Kind, rec.PAN, rec.AID = kernel.TornSale, "622202*********6781", []byte{0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01}
	rec.Amount, rec.BalanceBefore = 77_77, 500_00
	rec.Date, rec.Time, rec.Created = [3]byte{0x26, 0x01, 0x02}, [3]byte{0x03, 0x04, 0x05}, time.Now()
	require.NoError(t, tl.Add(context.Background(), rec))
	require.NoError(t, tl.Close())

	code, out, errOut := runCLI(t, "purchase", "--amount", "2.00", "--torn-log", torn, "--journal", jpath, "--card", card, "--save", "--json")
	require.Equal(t, 0, code, errOut)
	var res struct {
		Outcome string `json:"outcome"`
		Settled []struct {
			Happened bool
			Record   struct{ Amount string }
		} `json:"settled"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.Equal(t, "approved_offline", res.Outcome)
	require.Len(t, res.Settled, 1, "the torn record met its card")
	assert.False(t, res.Settled[0].Happened, "the card's log has no sale of 77.77")
	assert.Equal(t, "77.77", res.Settled[0].Record.Amount)

	tl, err = kernel.OpenTornLog(torn)
	require.NoError(t, err)
	assert.Zero(t, tl.Len(), "settled: removed, durably")
	require.NoError(t, tl.Close())
	code, out, _ = runCLI(t, "journal", "list", "--journal", jpath)
	require.Equal(t, 0, code)
	assert.Equal(t, 2, strings.Count(out, "\n"), "the two sales, not the torn one: %s", out)
	assert.NotContains(t, out, "77.77")
}

// copyCard copies the default card profile into dir, for --card --save.
func copyCard(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	card := filepath.Join(dir, "card.json")
	require.NoError(t, os.WriteFile(card, src, 0o644))
	return card
}
