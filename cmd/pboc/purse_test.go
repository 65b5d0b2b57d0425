// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/purse"
)

// The seed fuel card's ASN: never printed whole.
const seedASN = "10000001000000000001"

func TestPurseCommands(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"purse", "balance"}, []string{"EP balance       500.00", "ED balance       100.00", "grey status      none", "GET BALANCE"}},
		{[]string{"purse", "load", "--amount", "200"}, []string{"outcome          approved", "balance          500.00 → 700.00",
			"reserve account  2000.00 → 1800.00", "CREDIT FOR LOAD", "host time", "TAC", "INITIALIZE FOR LOAD", "online serial 0", "host confirmed"}},
		{[]string{"purse", "unload", "--amount", "50"}, []string{"balance          100.00 → 50.00", "reserve account  2000.00 → 2050.00", "MAC3"}},
		{[]string{"purse", "purchase", "--amount", "12.34"}, []string{"balance          500.00 → 487.66", "PSAM MAC1 FOR PURCHASE", "PSAM CHECK MAC2", "TTC 1"}},
		{[]string{"purse", "dispense", "--preset", "300", "--deliver", "250"}, []string{"GREY LOCK", "GTAC", "→ PSAM GMAC ", "DEBIT FOR UNLOCK",
			"TAC unread: debit for unlock of 249.94", "balance          500.00 → 250.06", "fuel             249.94: 31.84 L at 7.85/L"}},
		{[]string{"purse", "records"}, []string{"cardholder       card type 01, ID 110***********1234"}},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, c.args...)
		require.Equal(t, 0, code, "%v: %s", c.args, errOut)
		for _, w := range c.want {
			assert.Contains(t, out, w, "%v", c.args)
		}
		assert.NotContains(t, out, seedASN, "%v: the ASN is masked", c.args)
		assert.NotContains(t, out, "123456", "%v: the PIN is never printed", c.args)
		assert.Contains(t, out, "100000**********0001")
		assert.NotContains(t, out, "PSAM PSAM", "%v: the device column names the PSAM once", c.args)
	}
}

// The simulated pump charges the volume it metered at the price, never
// more than the preset or the balance: one row per limit.
func TestPurseDispenseChargesTheVolume(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		fuel string // the "fuel" line: amount, litres
		bal  string
	}{
		{"preset 10.00: 1.27 L is 9.97", []string{"--preset", "10"}, "9.97: 1.27 L at 7.85/L", "500.00 → 490.03"},
		{"the customer stops at 250.00", []string{"--preset", "300", "--deliver", "250"}, "249.94: 31.84 L at 7.85/L", "500.00 → 250.06"},
		{"a price that divides: 7.00", []string{"--preset", "70", "--price", "7"}, "70.00: 10.00 L at 7.00/L", "500.00 → 430.00"},
		{"no preset: up to the balance", []string{"--deliver", "600"}, "499.97: 63.69 L at 7.85/L", "500.00 → 0.03"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"purse", "dispense"}, c.args...)...)
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "fuel             "+c.fuel)
			assert.Contains(t, out, "balance          "+c.bal)
			amount := strings.SplitN(c.fuel, ":", 2)[0]
			assert.Contains(t, out, "amount           "+amount+"\n", "the sale is the fuel's charge")
			assert.Contains(t, out, "debit for unlock of "+amount+",", "and the card paid it")
		})
	}
}

// --journal keeps the purse records in a file: a fuel sale whose card is
// pulled while the fuel flows leaves its escape record there, grey card
// and all; the next run with the same card (and journal) settles it by
// 补扣, exactly once.
func TestPurseJournalSettlesAPulledCard(t *testing.T) {
	dir := t.TempDir()
	card := filepath.Join(dir, "fuel.json")
	b, err := cardsim.DefaultPurseProfile().Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o644))
	jpath := filepath.Join(dir, "purse.log")
	args := []string{"--journal", jpath, "--card", card, "--save"}

	code, out, errOut := runCLI(t, append([]string{"purse", "dispense", "--preset", "100", "--pull-card"}, args...)...)
	assert.Equal(t, 1, code, "the sale is pending: %s", out)
	assert.Contains(t, errOut, "card removed")
	assert.Contains(t, out, "outcome          pending")
	rec := onlyRecord(t, jpath)
	assert.Equal(t, purse.StateEscape, rec.State, "the escape record (逃卡) is in the journal")
	assert.Equal(t, purse.BillEscape, rec.BillType)
	assert.Equal(t, purse.Amount(99_93), rec.Amount, "with what was dispensed")
	assert.False(t, rec.GTAC.IsZero() || rec.GMAC.IsZero() || rec.PSAMTAC.IsZero(), "GTAC, GMAC and PSAM-TAC")
	saved, err := cardsim.LoadPurseProfile(card)
	require.NoError(t, err)
	require.NotNil(t, saved.Grey, "the card was saved grey")

	code, out, errOut = runCLI(t, append([]string{"purse", "balance"}, args...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "settled          "+rec.ID+" fuel applied 99.93")
	assert.Contains(t, out, "EP balance       400.07", "the card paid the fuel once")
	assert.Contains(t, out, "grey status      none")
	rec = onlyRecord(t, jpath)
	assert.Equal(t, purse.StateApplied, rec.State)
	assert.Equal(t, purse.BillUnlock, rec.BillType, "the bill is a 补扣")
	assert.Equal(t, rec.PSAMTAC, rec.TAC, "the card's TAC is the escape bill's PSAM-TAC")

	code, out, errOut = runCLI(t, append([]string{"purse", "balance"}, args...)...)
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, out, "settled", "nothing left to settle")
	assert.Contains(t, out, "EP balance       400.07")

	code, _, errOut = runCLI(t, "purse", "dispense", "--journal", jpath)
	assert.Equal(t, 2, code, "a journal needs the card saved between runs")
	assert.Contains(t, errOut, "--card FILE --save")
}

// onlyRecord opens the purse journal with its key (FILE.key) and returns
// its one record.
func onlyRecord(t *testing.T, path string) purse.Record {
	t.Helper()
	key, err := os.ReadFile(path + ".key")
	require.NoError(t, err)
	st, err := purse.OpenStore(path, key)
	require.NoError(t, err, "%s opens with %s.key", path, path)
	defer st.Close()
	recs := st.Records()
	require.Len(t, recs, 1)
	return recs[0]
}

func TestPurseJSONAndSave(t *testing.T) {
	dir := t.TempDir()
	card := filepath.Join(dir, "fuel.json")
	b, err := cardsim.DefaultPurseProfile().Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o644))
	store := filepath.Join(dir, "purse.log")
	for i, want := range []string{"700.00", "900.00"} {
		code, out, errOut := runCLI(t, "purse", "load", "--amount", "200", "--card", card, "--save", "--journal", store, "--json")
		require.Equal(t, 0, code, errOut)
		var r struct {
			Outcome       string `json:"outcome"`
			BalanceAfter  string `json:"balance_after"`
			ASN           string `json:"asn"`
			ReserveBefore string `json:"reserve_before"`
			ReserveAfter  string `json:"reserve_after"`
			Store         []struct {
				State string `json:"state"`
				Host  string `json:"host"`
			} `json:"store_records"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		assert.Equal(t, "approved", r.Outcome)
		assert.Equal(t, want, r.BalanceAfter, "the --save'd card keeps its balance")
		assert.Equal(t, "100000**********0001", r.ASN)
		assert.Equal(t, "2000.00", r.ReserveBefore)
		assert.Equal(t, "1800.00", r.ReserveAfter)
		require.Len(t, r.Store, i+1, "the --journal keeps every record")
		assert.Equal(t, "applied", r.Store[i].State)
		assert.Equal(t, "confirmed", r.Store[i].Host)
		assert.NotContains(t, out, seedASN)
	}
}

func TestPurseBadInputAndDeclines(t *testing.T) {
	for _, args := range [][]string{
		{"purse"}, {"purse", "bogus"}, {"purse", "load"}, {"purse", "load", "--amount", "0"}, {"purse", "load", "--amount", "-1"},
		{"purse", "purchase", "--amount", "50000000"}, {"purse", "balance", "--wallet", "xx"}, {"purse", "balance", "--pin", "12"},
		{"purse", "balance", "--card", "/nonexistent.json"}, {"purse", "load", "--amount", "1", "--save"},
	} {
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, 2, code, "%v: %s", args, errOut)
		assert.Equal(t, 1, strings.Count(errOut, "\n"), "%v: one line", args)
	}
	code, out, _ := runCLI(t, "purse", "load", "--amount", "10", "--pin", "654321")
	assert.Equal(t, 0, code, "a declined load is a result")
	assert.Contains(t, out, "pin_incorrect")
	code, out, _ = runCLI(t, "purse", "load", "--amount", "10", "--offline")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "host_unreachable")
}
