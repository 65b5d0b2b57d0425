// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/purse"
)

// purseRecords reads the purse records of a --journal file as the
// terminal does (purse.OpenStore with FILE.key).
func purseRecords(t *testing.T, path string) []purse.Record {
	t.Helper()
	key, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	st, err := purse.OpenStore(path, key)
	require.NoError(t, err)
	defer st.Close()
	return st.Records()
}

// writeFuelCard copies the seed fuel card's profile to dir.
func writeFuelCard(t *testing.T, dir string) string {
	t.Helper()
	card := filepath.Join(dir, "fuel.json")
	b, err := cardsim.DefaultPurseProfile().Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o644))
	return card
}

// pboc journal list and export read what pboc purse --journal wrote: a
// load (圈存) and a purchase, with the card's number masked, the amounts in
// yuan, the operation, the card's serial, the PSAM's TTC and the TAC the
// card gave; and the same file takes an EMV sale (pboc purchase
// --journal) and still reads as both.
func TestJournalListsPurseRecords(t *testing.T) {
	dir := t.TempDir()
	fuel := writeFuelCard(t, dir)
	jpath := filepath.Join(dir, "pboc-journal.dat")
	args := []string{"--journal", jpath, "--card", fuel, "--save"}
	for _, op := range [][]string{{"load", "--amount", "200"}, {"purchase", "--amount", "12.34"}} {
		code, _, errOut := runCLI(t, append(append([]string{"purse"}, op...), args...)...)
		require.Equal(t, 0, code, "%v: %s", op, errOut)
	}
	recs := purseRecords(t, jpath)
	require.Len(t, recs, 2)
	load, buy := recs[0], recs[1]
	require.Equal(t, purse.KindLoad, load.Kind)
	require.Equal(t, purse.KindPurchase, buy.Kind)
	require.False(t, load.TAC.IsZero() || buy.TAC.IsZero(), "the card's TACs are in the records")

	code, out, errOut := runCLI(t, "journal", "list", "--journal", jpath)
	require.Equal(t, 0, code, errOut)
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	for _, w := range []string{"purse load", "200.00 EP", "100000**********0001", "load 圈存", "serial     0", "TTC      -", "TAC " + load.TAC.String(), "applied, host confirmed"} {
		assert.Contains(t, lines[0], w)
	}
	for _, w := range []string{"purse purchase", "12.34 EP", "100000**********0001", "purchase", "serial     0", "TTC      1", "TAC " + buy.TAC.String(), "applied"} {
		assert.Contains(t, lines[1], w)
	}
	assert.NotContains(t, out, seedASN, "the ASN is masked")

	code, out, errOut = runCLI(t, "journal", "export", "--journal", jpath)
	require.Equal(t, 0, code, errOut)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	var x struct {
		Record, Kind, Operation, Amount, ASN, TAC, Time string
		TTC                                             uint32
	}
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &x))
	assert.Equal(t, "purse", x.Record)
	assert.Equal(t, "purchase", x.Operation)
	assert.Equal(t, "12.34", x.Amount, "amounts in yuan, as every other output")
	assert.Equal(t, "100000**********0001", x.ASN)
	assert.Equal(t, buy.TAC.String(), x.TAC)
	assert.EqualValues(t, 1, x.TTC)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`, x.Time, "times in RFC 3339")
	assert.NotContains(t, out, seedASN)

	// An EMV sale into the same file: both kinds in one journal.
	emvCard := filepath.Join(dir, "card.json")
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(emvCard, b, 0o644))
	code, _, errOut = runCLI(t, "purchase", "--amount", "5", "--card", emvCard, "--save", "--journal", jpath)
	require.Equal(t, 0, code, errOut)
	code, out, errOut = runCLI(t, "journal", "list", "--journal", jpath)
	require.Equal(t, 0, code, errOut)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Contains(t, lines[2], "ec_offline_sale")
	assert.Contains(t, lines[2], "5.00 0156")
	code, out, _ = runCLI(t, "journal", "export", "--journal", jpath)
	require.Equal(t, 0, code)
	assert.Contains(t, out, `{"record":"clearing",`)
	assert.Len(t, purseRecords(t, jpath), 2, "the purse's store skips the clearing record")
	code, _, errOut = runCLI(t, append([]string{"purse", "balance"}, args...)...)
	assert.Equal(t, 0, code, "the purse opens the shared journal: %s", errOut)
}

// A journal entry of a kind no reader knows is refused, with its kind
// named, by pboc journal (bad input: 2) and by the purse's store; it is
// never dropped nor taken for a record.
func TestJournalRefusesAnUnknownRecordKind(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "j.dat")
	l, err := journal.OpenLog(jpath)
	require.NoError(t, err)
	require.NoError(t, l.Append(context.Background(), []byte(`{"record":"ticket","id":"T-1","amount":"3.00"}`)))
	require.NoError(t, l.Close())

	for _, sub := range []string{"list", "export", "batch"} {
		code, out, errOut := runCLI(t, "journal", sub, "--journal", jpath)
		assert.Equal(t, 2, code, "%s: %s", sub, out)
		assert.Equal(t, "pboc journal: --journal "+jpath+`: corrupt at offset 0: entry of a newer format: record kind "ticket" (this reader knows "clearing" and "purse")`+"\n", errOut, sub)
	}
	key := make([]byte, 32)
	_, err = purse.OpenStore(jpath, key)
	assert.ErrorIs(t, err, purse.ErrRecord)
	assert.ErrorIs(t, err, journal.ErrNewerFormat)
}

// A card command given a damaged --journal or --torn-log stops before the
// card is touched, says so once (the path named once, no "journal:"
// repeated) and exits 2 (bad input), as pboc journal does; the card file is
// not rewritten.
func TestCardCommandsRefuseADamagedJournal(t *testing.T) {
	dir := t.TempDir()
	damaged := filepath.Join(dir, "j.dat")
	require.NoError(t, os.WriteFile(damaged, []byte("garbage"), 0o644))
	for _, c := range []struct{ card, cmd, flag string }{
		{"../../testdata/cards/default.json", "purchase", "--journal"},
		{"../../testdata/cards/default.json", "purchase", "--torn-log"},
		{"../../testdata/fuelcards/fuel.json", "purse", "--journal"},
	} {
		card := filepath.Join(dir, filepath.Base(c.card))
		orig, err := os.ReadFile(c.card)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(card, orig, 0o644))
		args := []string{c.cmd}
		if c.cmd == "purse" {
			args = append(args, "purchase")
		}
		args = append(args, "--amount", "1", c.flag, damaged, "--card", card, "--save")
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, 2, code, errOut)
		assert.Equal(t, "pboc "+c.cmd+": "+c.flag+" "+damaged+": corrupt at offset 0: bad frame magic or version; 7 bytes to the end are not an unfinished frame\n", errOut)
		now, err := os.ReadFile(card)
		require.NoError(t, err)
		assert.Equal(t, orig, now, "the card is not rewritten")
	}
}
