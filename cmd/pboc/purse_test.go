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
		{[]string{"purse", "dispense", "--preset", "300", "--deliver", "250"}, []string{"GREY LOCK", "GTAC", "PSAM GMAC", "DEBIT FOR UNLOCK",
			"TAC unread: debit for unlock of 250.00", "balance          500.00 → 250.00", "fuel             250.00: 31.84 L at 7.85/L"}},
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
	}
}

func TestPurseJSONAndSave(t *testing.T) {
	dir := t.TempDir()
	card := filepath.Join(dir, "fuel.json")
	b, err := cardsim.DefaultPurseProfile().Marshal()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(card, b, 0o644))
	store := filepath.Join(dir, "purse.log")
	for i, want := range []string{"700.00", "900.00"} {
		code, out, errOut := runCLI(t, "purse", "load", "--amount", "200", "--card", card, "--save", "--store", store, "--json")
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
		require.Len(t, r.Store, i+1, "the --store keeps every record")
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
