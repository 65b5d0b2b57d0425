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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

type purchaseJSON struct {
	Outcome       string  `json:"outcome"`
	Reason        string  `json:"reason"`
	Amount        string  `json:"amount"`
	BalanceBefore *string `json:"balance_before"`
	BalanceAfter  *string `json:"balance_after"`
	ATC           int     `json:"atc"`
	Cryptogram    string  `json:"cryptogram"`
	APDUs         int     `json:"apdus"`
}

func purchase(t *testing.T, args ...string) purchaseJSON {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"purchase", "--json"}, args...)...)
	require.Equal(t, 0, code, errOut)
	var p purchaseJSON
	require.NoError(t, json.Unmarshal([]byte(out), &p), out)
	return p
}

func TestPurchaseJSON(t *testing.T) {
	p := purchase(t, "--amount", "12.34")
	assert.Equal(t, "approved_offline", p.Outcome)
	assert.Equal(t, "ec_approved", p.Reason)
	assert.Equal(t, "12.34", p.Amount)
	require.NotNil(t, p.BalanceBefore)
	require.NotNil(t, p.BalanceAfter)
	assert.Equal(t, "500.00", *p.BalanceBefore)
	assert.Equal(t, "487.66", *p.BalanceAfter)
	assert.Len(t, p.Cryptogram, 16)
	assert.Equal(t, 1, p.ATC)
	assert.Greater(t, p.APDUs, 5)
}

func TestPurchaseTraceMasksPAN(t *testing.T) {
	code, out, _ := runCLI(t, "purchase", "--amount", "1.00")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "GET PROCESSING OPTIONS")
	assert.Contains(t, out, "EC Balance")
	assert.Contains(t, out, "approved_offline")
	assert.Contains(t, out, "622202*********")
	assert.NotContains(t, out, "6222021234", "no full PAN in the trace")
}

func TestSavedCardKeepsItsBalance(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	card := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, os.WriteFile(card, src, 0o644))

	p1 := purchase(t, "--amount", "12.34", "--card", card, "--save")
	assert.Equal(t, "487.66", *p1.BalanceAfter)
	p2 := purchase(t, "--amount", "7.66", "--card", card, "--save")
	assert.Equal(t, "487.66", *p2.BalanceBefore, "the second sale starts from the saved balance")
	assert.Equal(t, "480.00", *p2.BalanceAfter)
	assert.Equal(t, p1.ATC+1, p2.ATC)

	// Without --save the file is untouched.
	p3 := purchase(t, "--amount", "1.00", "--card", card)
	p4 := purchase(t, "--amount", "1.00", "--card", card)
	assert.Equal(t, *p3.BalanceBefore, *p4.BalanceBefore)

	code, out, _ := runCLI(t, "balance", "--card", card)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "480.00")
	code, out, _ = runCLI(t, "log", "--card", card)
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "7.66", "newest first")
	assert.Contains(t, lines[1], "12.34")
}

func TestBadInputExitsTwo(t *testing.T) {
	for _, args := range [][]string{
		{"purchase", "--amount", "-1"},
		{"purchase", "--amount", "abc"},
		{"purchase", "--amount", "12.345"},
		{"purchase", "--amount", "1234567890123"},
		{"purchase", "--amount", "0"},
		{"purchase", "--amount", "0.00"},
		{"purchase"},
		{"purchase", "--amount", "1", "--save"},
		{"purchase", "--amount", "1", "--card", "/nonexistent/card.json"},
		{"purchase", "--bogus"},
		{"frobnicate"},
		{},
		{"decode", "zz"},
		{"decode", "9F7906000000"},
		{"decode", ""},
		{"capk", "check", "/nonexistent/keys.json"},
		{"journal", "list", "--journal", "/nonexistent/j.dat"},
		{"scenario", "run", "/nonexistent"},
		{"purchase", "--amount", "1", "--pin", "12"},
	} {
		code, _, errOut := runCLI(t, args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Equal(t, 1, strings.Count(errOut, "\n"), "one error line: %q", errOut)
		assert.True(t, strings.HasPrefix(errOut, "pboc"), "%q", errOut)
	}
}

func TestInvalidProfileNamesTheField(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	bad := strings.Replace(string(src), `"balance": "500.00"`, `"balance": "1200.00"`, 1)
	require.NotEqual(t, string(src), bad, "the default profile has the balance field")
	card := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(card, []byte(bad), 0o644))
	code, _, errOut := runCLI(t, "purchase", "--amount", "1", "--card", card)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "balance")

	require.NoError(t, os.WriteFile(card, []byte("{not json"), 0o644))
	code, _, errOut = runCLI(t, "balance", "--card", card)
	assert.Equal(t, 2, code)
	assert.NotEmpty(t, errOut)
}

func TestNotApprovedOfflineIsAResultNotAnError(t *testing.T) {
	p := purchase(t, "--amount", "300.01", "--offline")
	assert.Equal(t, "online_required", p.Outcome)
	assert.Equal(t, "above_ec_single_limit", p.Reason)
	assert.Nil(t, p.BalanceAfter)

	// With the simulated issuer the sale goes online and is charged to
	// the account, not the EC balance.
	p = purchase(t, "--amount", "300.01")
	assert.Equal(t, "approved_online", p.Outcome)
	assert.Equal(t, "above_ec_single_limit", p.Reason)
	assert.Nil(t, p.BalanceAfter)

	p = purchase(t, "--amount", "300.01", "--pin", "000000")
	assert.Equal(t, "declined", p.Outcome)
	assert.Equal(t, "pin_incorrect", p.Reason)
}

func TestLoadCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "load", "--amount", "100", "--type", "cash", "--json")
	require.Equal(t, 0, code, errOut)
	var p purchaseJSON
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Equal(t, "approved_online", p.Outcome)
	assert.Equal(t, "500.00", *p.BalanceBefore)
	assert.Equal(t, "600.00", *p.BalanceAfter)

	code, out, _ = runCLI(t, "load", "--amount", "600", "--json")
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	assert.Equal(t, "declined", p.Outcome)
	assert.Equal(t, "above_ec_balance_limit", p.Reason)

	code, _, _ = runCLI(t, "load", "--amount", "1", "--type", "bogus")
	assert.Equal(t, 2, code)
}

func TestCAPKCommands(t *testing.T) {
	code, out, _ := runCLI(t, "capk", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "A000000333/08 rsa-1152 e=3 sha1 checksum ok")
	code, out, errOut := runCLI(t, "capk", "check", filepath.Join("..", "..", "testdata", "capk", "unionpay.json"))
	assert.Equal(t, 0, code, "expired keys (01-04) are warnings: %s", errOut)
	assert.Contains(t, out, "warn keys[0] A000000333/01 rsa-1024 e=3 sha1 checksum ok EXPIRED 2009-12-31\n")
	assert.Contains(t, out, "ok   keys[4] A000000333/08 ")
	assert.Contains(t, out, "9 keys: 5 ok, 4 expired (warning), 0 failed\n")
	assert.Empty(t, errOut)

	// Every problem of every key, then one error line and exit status 1.
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"keys":[
	  {"rid":"A000000333","index":"01","algorithm":"rsa","hash":"sha1","modulus":"C0","exponent":"05","checksum":"00"},
	  {"rid":"A000000333","index":"02","algorithm":"rsa","hash":"md5","modulus":"XY","checksum":"00"}]}`), 0o644))
	code, out, errOut = runCLI(t, "capk", "check", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "FAIL keys[0] ")
	assert.Contains(t, out, "modulus: capk: invalid key: RSA modulus is 1 bytes")
	assert.Contains(t, out, "exponent: capk: invalid key: RSA exponent 05")
	assert.Contains(t, out, "checksum: capk: checksum mismatch: have 00")
	assert.Contains(t, out, "FAIL keys[1] ")
	assert.Contains(t, out, "hash: capk: bad format: unknown hash \"md5\"")
	assert.Contains(t, out, "modulus: capk: bad format: bad hex")
	assert.Contains(t, out, "2 keys: 0 ok, 0 expired (warning), 2 failed\n")
	assert.Equal(t, "pboc capk: "+bad+": 2 problem entries (listed above)\n", errOut)

	require.NoError(t, os.WriteFile(bad, []byte(`{"keys": 1}`), 0o644))
	code, _, errOut = runCLI(t, "capk", "check", bad)
	assert.Equal(t, 2, code, "not a CA key file")
	assert.Contains(t, errOut, "not a CA key file")
	code, _, _ = runCLI(t, "capk")
	assert.Equal(t, 2, code)
}

func TestDecode(t *testing.T) {
	code, out, _ := runCLI(t, "decode", "9F7906000000050000")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "EC Balance")
	code, _, errOut := runCLI(t, "decode", "9F7906000000")
	assert.Equal(t, 2, code, "truncated TLV is bad input")
	assert.Equal(t, "pboc decode: not BER-TLV: truncated at byte 3 of 6\n", errOut)
}

func TestPurchaseContactlessCLI(t *testing.T) {
	p := purchase(t, "--amount", "12.34", "--contactless")
	assert.Equal(t, "approved_offline", p.Outcome)
	assert.Equal(t, "487.66", *p.BalanceAfter)
	assert.Equal(t, 7, p.APDUs, "SELECT PPSE, SELECT AID, GPO and the 4 records the AFL names")
}

func TestScenarioCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "scenario", "run", filepath.Join("..", "..", "testdata", "scenarios", "ec-offline-approved.json"))
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "PASS")
}

func TestJSONWithTraceKeepsStdoutJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "purchase", "--amount", "1.00", "--json", "--trace")
	require.Equal(t, 0, code)
	var p purchaseJSON
	require.NoError(t, json.Unmarshal([]byte(out), &p), "stdout stays one JSON object")
	assert.Contains(t, errOut, "GENERATE AC")
	assert.Contains(t, errOut, "EC Balance: 000000050000 (500.00)", "values decoded")
	assert.NotContains(t, errOut, "6222021000123456781")
}

// The trace splits the data the terminal sends by the card's DOLs and the
// card's format-1 answers into their fields.
func TestTraceDecodesTerminalData(t *testing.T) {
	code, out, _ := runCLI(t, "purchase", "--amount", "12.34")
	require.Equal(t, 0, code)
	for _, want := range []string{
		"→ GET PROCESSING OPTIONS 80A800000B830901000000001234015600\n    83 Command Template: 010000000012340156\n      9F7A EC Terminal Support Indicator: 01\n",
		"      82 Application Interchange Profile (AIP): 3C00 (",
		"      94 Application File Locator (AFL): 080101001001020118010300 (SFI 1 record 1; SFI 2 records 1-2 (1 for ODA); SFI 3 records 1-3)\n",
		"→ INTERNAL AUTHENTICATE",
		"      9F4B Signed Dynamic Application Data: ",
		"(TC requested)\n    9F02 Amount, Authorised (Numeric): 000000001234 (12.34)\n",
		"    9F4E Merchant Name and Location: \"GO-PBOC TEST SHOP...\"\n",
		"      9F27 Cryptogram Information Data: 40 (TC)\n",
		"      9F36 Application Transaction Counter (ATC): 0001 (1)\n",
		"[1st GENERATE AC TC; 2nd GENERATE AC not requested], algorithm 01 TDES, EC balance 487.66 MAC ",
		"→ GET DATA               80CA9F7900 (9F79 EC Balance)\n",
	} {
		assert.Contains(t, out, want)
	}
}

// pboc log --loads reads the card's load log (issue 13 item 7): after two
// loads on a saved card, both entries, newest first, with the balance
// before and after and the amount loaded.
func TestLogLoads(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	card := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, os.WriteFile(card, src, 0o644))

	code, out, errOut := runCLI(t, "log", "--loads", "--card", card)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "the card's load log is empty\n", out)

	for _, amount := range []string{"100", "23.45"} {
		code, _, errOut = runCLI(t, "load", "--amount", amount, "--type", "cash", "--card", card, "--save")
		require.Equal(t, 0, code, errOut)
	}
	code, out, errOut = runCLI(t, "log", "--loads", "--card", card)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, 2, out)
	assert.Regexp(t, `^ 1  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  9F79 EC balance +600\.00 → 623\.45 +\(\+23\.45\)  ATC +2  GO-PBOC TEST SHOP$`, lines[0], "newest first")
	assert.Regexp(t, `^ 2  .*  9F79 EC balance +500\.00 → 600\.00 +\(\+100\.00\)  ATC +1  `, lines[1])
	assert.NotContains(t, out, "6222021000123456781", "no full PAN")

	code, out, errOut = runCLI(t, "log", "--loads", "--json", "--card", card)
	require.Equal(t, 0, code, errOut)
	var entries []struct {
		Tag    string  `json:"tag"`
		Before string  `json:"before"`
		After  string  `json:"after"`
		Change string  `json:"change"`
		ATC    int     `json:"atc"`
		Time   *string `json:"time"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &entries), out)
	require.Len(t, entries, 2)
	assert.Equal(t, "9F79", entries[0].Tag)
	assert.Equal(t, []string{"600.00", "623.45", "23.45"}, []string{entries[0].Before, entries[0].After, entries[0].Change})
	assert.Equal(t, []string{"500.00", "600.00", "100.00"}, []string{entries[1].Before, entries[1].After, entries[1].Change})
	assert.Equal(t, 2, entries[0].ATC)
	require.NotNil(t, entries[0].Time)
}
