// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

const suiteDir = "../testdata/scenarios"

// TestScenarios runs the project's conformance suite: every file in
// testdata/scenarios. A failing scenario prints its readable diff.
func TestScenarios(t *testing.T) {
	list, err := LoadDir(suiteDir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(list), 40, "the suite has at least 40 scenarios")
	for _, s := range list {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			r := Run(context.Background(), s)
			switch r.Status {
			case StatusUnsupported:
				t.Skip(r.Err)
			case StatusKnown, StatusFixed:
				t.Log(r.String())
			case StatusFail:
				t.Fatal(r.String())
			}
			assert.NotEqual(t, StatusFail, r.Status)
		})
	}
}

// brokenScenario is a passing scenario with deliberately wrong outcome,
// TVR and balance expectations.
const brokenScenario = `{
  "name": "ec-offline-approved",
  "card": "../cards/default.json",
  "transaction": {"type": "purchase", "amount": "12.34"},
  "expect": {
    "outcome": "online_required",
    "reason": "ec_approved",
    "tvr_set": ["ODA not performed"],
    "balance_after": "487.66",
    "card_balance": "500.00",
    "apdus": 3
  }
}`

func TestBrokenExpectationReadableDiff(t *testing.T) {
	s, err := Parse([]byte(brokenScenario), suiteDir)
	require.NoError(t, err)
	r := Run(context.Background(), s)
	assert.False(t, r.Pass)
	assert.Equal(t, StatusFail, r.Status)
	assert.True(t, r.Failed())
	require.NotNil(t, r.Result)
	assert.Equal(t, kernel.OutcomeApprovedOffline, r.Result.Outcome)
	fields := make([]string, len(r.Diffs))
	for i, d := range r.Diffs {
		fields[i] = d.Field
	}
	assert.Equal(t, []string{"outcome", "tvr", "card_balance", "apdus"}, fields)
	tvr := strings.ToUpper(hex.EncodeToString(r.Result.TVR[:]))
	assert.Equal(t, "FAIL ec-offline-approved: outcome: want online_required, got approved_offline; "+
		"tvr: want ODA not performed set, got clear (TVR "+tvr+"); "+
		"card_balance: want 500.00, got 487.66; "+
		"apdus: want 3, got "+itoa(r.Result.APDUs), r.String())
}

func TestKnownIssueIsReportedNotFailed(t *testing.T) {
	src := strings.Replace(brokenScenario, `"name"`, `"known_issue": "kernel bug #1", "name"`, 1)
	s, err := Parse([]byte(src), suiteDir)
	require.NoError(t, err)
	r := Run(context.Background(), s)
	assert.Equal(t, StatusKnown, r.Status)
	assert.False(t, r.Pass)
	assert.False(t, r.Failed())
	assert.Contains(t, r.String(), "KNOWN ec-offline-approved [known issue: kernel bug #1]: outcome: want online_required")

	fixed := `{"name": "x", "known_issue": "was broken", "card": "../cards/default.json",
	  "transaction": {"type": "purchase", "amount": "1.00"}, "expect": {"outcome": "approved_offline"}}`
	s, err = Parse([]byte(fixed), suiteDir)
	require.NoError(t, err)
	r = Run(context.Background(), s)
	assert.Equal(t, StatusFixed, r.Status)
	assert.False(t, r.Failed())
	assert.Equal(t, "FIXED x: passes now; remove known_issue (was broken)", r.String())
}

func TestExactTVRDiffNamesBits(t *testing.T) {
	src := `{"name": "t", "card": "../cards/no-oda.json",
	  "transaction": {"type": "purchase", "amount": "1.00"},
	  "expect": {"outcome": "online_required", "tvr": "0000000000", "tsi": "E800"}}`
	s, err := Parse([]byte(src), suiteDir)
	require.NoError(t, err)
	r := Run(context.Background(), s)
	require.NotEmpty(t, r.Diffs)
	assert.Equal(t, "tvr", r.Diffs[0].Field)
	assert.Contains(t, r.Diffs[0].String(), "tvr: want 0000000000, got 80")
	assert.Contains(t, r.Diffs[0].Note, "unexpected: ODA not performed")
}

func TestContactlessHook(t *testing.T) {
	src := `{"name": "cl", "card": "../cards/default.json",
	  "transaction": {"type": "purchase_contactless", "amount": "1.00"}, "expect": {"outcome": "approved_offline"}}`
	s, err := Parse([]byte(src), suiteDir)
	require.NoError(t, err)
	r := Run(context.Background(), s)
	if _, ok := any(&kernel.Kernel{}).(contactless); ok {
		assert.NotEqual(t, StatusUnsupported, r.Status)
		return
	}
	assert.Equal(t, StatusUnsupported, r.Status)
	assert.ErrorIs(t, r.Err, ErrUnsupported)
	assert.False(t, r.Failed())
}

func TestFaultByNameAndIndexAgree(t *testing.T) {
	byName := `{"name": "n", "card": "../cards/default.json", "transaction": {"type": "purchase", "amount": "12.34"},
	  "faults": [{"on": "GENERATE AC", "kind": "torn"}], "expect": {"outcome": "terminated", "card_balance": "487.66"}}`
	s, err := Parse([]byte(byName), suiteDir)
	require.NoError(t, err)
	r := Run(context.Background(), s)
	require.True(t, r.Pass, r.String())
	at := -1
	for i, n := range r.APDUs {
		if n == "GENERATE AC" {
			at = i
			break
		}
	}
	require.GreaterOrEqual(t, at, 0)
	byIndex := strings.Replace(byName, `"on": "GENERATE AC"`, `"at": `+itoa(at), 1)
	s, err = Parse([]byte(byIndex), suiteDir)
	require.NoError(t, err)
	r2 := Run(context.Background(), s)
	assert.True(t, r2.Pass, r2.String())
	assert.Equal(t, r.APDUs, r2.APDUs)
}

func TestCardPatch(t *testing.T) {
	src := `{"name": "p", "card": "../cards/default.json",
	  "card_patch": {"pse": false, "applications": [{"ec": {"balance": "7.00"}, "priority": null}]},
	  "transaction": {"type": "balance"}, "expect": {"balance": "7.00"}}`
	s, err := Parse([]byte(src), suiteDir)
	require.NoError(t, err)
	assert.False(t, s.profile.PSE)
	assert.Equal(t, "7.00", s.profile.Applications[0].EC.Balance)
	assert.Equal(t, "1000.00", s.profile.Applications[0].EC.BalanceLimit)
	assert.Zero(t, s.profile.Applications[0].Priority)
	r := Run(context.Background(), s)
	assert.True(t, r.Pass, r.String())
	assert.Equal(t, "PASS p", r.String())
}

func TestParseErrorsNameTheField(t *testing.T) {
	base := `"card": "../cards/default.json", "transaction": {"type": "purchase", "amount": "1.00"}`
	tests := map[string]string{
		`{` + base + `, "expect": {"outcome": "approved"}}`:                                                                                                     "expect.outcome",
		`{` + base + `, "expect": {}}`:                                                                                                                          "expect.outcome: required",
		`{` + base + `, "expect": {"outcome": "declined", "tvr_set": ["nope"]}}`:                                                                                `unknown TVR bit "nope"`,
		`{` + base + `, "expect": {"outcome": "declined", "tvr_set": "80"}}`:                                                                                    "want 5 bytes",
		`{` + base + `, "expect": {"outcome": "declined", "card_balanse": "1.00"}}`:                                                                             `unknown field "card_balanse"`,
		`{` + base + `, "expect": {"outcome": "declined", "balance_after": "1.234"}}`:                                                                           "1.234",
		`{` + base + `, "expect": {"outcome": "declined", "account_balance": "1"}}`:                                                                             "expect.account_balance: the scenario has no host",
		`{` + base + `, "expect": {"outcome": "declined", "balance": "1.00"}}`:                                                                                  "for a balance read",
		`{` + base + `, "faults": [{"kind": "torn"}], "expect": {"outcome": "declined"}}`:                                                                       "faults[0]: needs",
		`{` + base + `, "faults": [{"at": 1, "kind": "melt"}], "expect": {"outcome": "declined"}}`:                                                              "faults[0].kind",
		`{` + base + `, "faults": [{"at": 1, "kind": "sw"}], "expect": {"outcome": "declined"}}`:                                                                "faults[0].sw",
		`{` + base + `, "terminal": {"ec_limit": "-1"}, "expect": {"outcome": "declined"}}`:                                                                     "terminal.ec_limit",
		`{` + base + `, "terminal": {"capabilities": "E0"}, "expect": {"outcome": "declined"}}`:                                                                 "terminal.capabilities",
		`{` + base + `, "terminal": {"capk": "nope.json"}, "expect": {"outcome": "declined"}}`:                                                                  "terminal.capk",
		`{` + base + `, "terminal": {"applications": [{"aid": "A0"}]}, "expect": {"outcome": "declined"}}`:                                                      "terminal.applications[0].aid",
		`{"card": "../cards/default.json", "card_patch": {"applications": [{"ec": {"balance": "2000.00"}}]}, "transaction": {"type": "balance"}, "expect": {}}`: "applications[0].ec.balance",
		`{"card": "missing.json", "transaction": {"type": "balance"}, "expect": {}}`:                                                                            "card: open",
		`{"card": 5, "transaction": {"type": "balance"}, "expect": {}}`:                                                                                         "card: want a profile path",
		`{"card": "../cards/default.json", "transaction": {"type": "refund"}, "expect": {}}`:                                                                    "transaction.type",
		`{"card": "../cards/default.json", "transaction": {"type": "load", "amount": "0"}, "expect": {"outcome": "declined"}}`:                                  "transaction.amount: must be more than 0",
		`{"card": "../cards/default.json", "transaction": {"type": "balance", "amount": "1"}, "expect": {}}`:                                                    "not used by a balance read",
		`{"card": "../cards/default.json", "transaction": {"type": "balance"}, "expect": {"outcome": "declined"}}`:                                              "expect.outcome: not produced by a balance read",
		`{"card": "../cards/default.json", "transaction": {"type": "balance"}, "expect": {}} {}`:                                                                "trailing data",
		`[]`:  "cannot unmarshal",
		"":    "empty file",
		" \n": "empty file",
		`{` + base + `, "card_answers": [{"on": "READ RECORD"}], "expect": {"outcome": "declined"}}`:                                                     "card_answers[0].drop",
		`{` + base + `, "card_answers": [{"command": "00B2", "answer": "9000", "drop": "9F46"}], "expect": {"outcome": "declined"}}`:                     "card_answers[0]: want",
		`{` + base + `, "card_answers": [{"command": "0", "answer": "9000"}], "expect": {"outcome": "declined"}}`:                                        "card_answers[0].command",
		`{` + base + `, "card_answers": [{"command": "00B2", "answer": "90"}], "expect": {"outcome": "declined"}}`:                                       "card_answers[0].answer",
		`{` + base + `, "host": {"updates": {"9F7": "1.00"}}, "expect": {"outcome": "declined"}}`:                                                        "host.updates.9F7",
		`{` + base + `, "host": {"updates": {"9F79": "x"}}, "expect": {"outcome": "declined"}}`:                                                          "host.updates.9F79",
		`{` + base + `, "terminal": {"default_ddol": "9F37"}, "expect": {"outcome": "declined"}}`:                                                        "terminal.default_ddol",
		`{` + base + `, "expect": {"outcome": "declined", "pdol_data": {"DF69": "0"}}}`:                                                                  "expect.pdol_data.DF69",
		`{` + base + `, "expect": {"outcome": "declined", "load_log": []}}`:                                                                              "expect.load_log: for a load_log read",
		`{"card": "../cards/default.json", "transaction": {"type": "load_log"}, "expect": {"load_log": [{"tag": "9F79", "before": "1", "after": "x"}]}}`: "expect.load_log[0].after",
		`{"card": "../cards/default.json", "transaction": {"type": "load_log"}, "expect": {"log_amounts": []}}`:                                          "expect.log_amounts: for a log read",
		`{"card": "../cards/default.json", "transaction": {"type": "log"}, "expect": {"cdol2_data": {"8A": "5933"}}}`:                                    "expect.cdol2_data: not produced by a log read",
	}
	for src, want := range tests {
		_, err := Parse([]byte(src), suiteDir)
		require.Error(t, err, src)
		assert.ErrorIs(t, err, ErrInvalid, src)
		assert.Contains(t, err.Error(), want, src)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"card": "x.json"}`), 0o644))
	_, err := Load(bad)
	require.Error(t, err)
	var se *Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, bad, se.Path)
	assert.Equal(t, "card", se.Field)
	assert.True(t, strings.HasPrefix(err.Error(), "scenario: "+bad+": card: "), err.Error())

	_, err = LoadDir(dir)
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = LoadDir(filepath.Join(dir, "none"))
	assert.Error(t, err)
}

func TestLoadDefaultsNameAndRefusesDuplicates(t *testing.T) {
	dir := t.TempDir()
	src := `{"card": "` + filepath.ToSlash(mustAbs(t, "../testdata/cards/default.json")) + `", "transaction": {"type": "balance"}, "expect": {}}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a-read.json"), []byte(src), 0o644))
	s, err := Load(filepath.Join(dir, "a-read.json"))
	require.NoError(t, err)
	assert.Equal(t, "a-read", s.Name)
	named := strings.Replace(src, `{`, `{"name": "a-read", `, 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.json"), []byte(named), 0o644))
	_, err = LoadDir(dir)
	assert.ErrorContains(t, err, `"a-read" already used`)
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}

func TestUncheckedScenarioDoesNotPanic(t *testing.T) {
	r := Run(context.Background(), &Scenario{Name: "raw"})
	assert.Equal(t, StatusFail, r.Status)
	assert.Equal(t, "scenario", r.Diffs[0].Field)
}

// The short TVR/TSI names resolve to the kernel's bits, and the long names
// the kernel prints are accepted too; the trace decoder (tlv) names the
// TVR bits exactly as the kernel does.
func TestBitNamesMatchKernel(t *testing.T) {
	for _, b := range tvrBits {
		var one kernel.TVR
		one.Set(b.bit)
		long := one.Names()
		require.Len(t, long, 1)
		got, ok := tvrByName(long[0])
		require.True(t, ok, long[0])
		assert.Equal(t, b.bit, got.bit)
		got, ok = tvrByName(strings.ToUpper(b.name))
		require.True(t, ok)
		assert.Equal(t, b.bit, got.bit)
		assert.Equal(t, long[0], tlv.Describe(0x95, one[:]))
	}
	for _, b := range tsiBits {
		var one kernel.TSI
		one.Set(b.mask)
		got, ok := tsiByName(one.Names()[0])
		require.True(t, ok)
		assert.Equal(t, b.mask, got.mask)
		assert.Equal(t, one.Names()[0], tlv.Describe(0x9B, one[:]))
	}
}

func TestSummary(t *testing.T) {
	reps := []*Report{{Status: StatusPass}, {Status: StatusFail}, {Status: StatusKnown}, {Status: StatusUnsupported}, {Status: StatusFixed}}
	assert.Equal(t, "5 scenarios: 1 passed, 1 failed, 1 known issue(s), 1 fixed (remove known_issue), 1 unsupported", Summarise(reps).String())
}

// The card answers, the DOL data and the load log expectations report what
// differs, by field, as the other expectations do.
func TestCardAnswersAndDOLDataDiffs(t *testing.T) {
	src := `{"name": "d", "card": "../cards/default.json",
	  "card_patch": {"applications": [{"pdol": "9F7A019F02065F2A02DF6901"}]},
	  "card_answers": [{"on": "READ RECORD", "drop": "9F46"}],
	  "transaction": {"type": "purchase", "amount": "12.34"},
	  "expect": {"outcome": "online_required", "tvr_set": ["ICC data missing"],
	    "pdol_data": {"DF69": "00", "9F02": "000000001234", "9F37": "00000000"},
	    "cdol2_data": {"8A": "5933"}}}`
	s, err := Parse([]byte(src), suiteDir)
	require.NoError(t, err)
	r := Run(context.Background(), s)
	assert.Equal(t, "FAIL d: pdol_data.9F37: want 00000000, got absent from the DOL; pdol_data.DF69: want 00, got 01; "+
		"cdol2_data.8A: want 5933, got 5A33", r.String(), "no host: the second GENERATE AC asks for an AAC with Z3")

	// A fixed answer for the nth command only: the PSE's first record
	// names nothing the terminal knows, so it reads the next one and then
	// the list of AIDs finds the application.
	src = `{"name": "n", "card": "../cards/default.json",
	  "card_answers": [{"command": "00B2010C", "nth": 1, "answer": "6A83"}],
	  "transaction": {"type": "purchase", "amount": "1.00"},
	  "expect": {"outcome": "approved_offline"}}`
	s, err = Parse([]byte(src), suiteDir)
	require.NoError(t, err)
	r = Run(context.Background(), s)
	require.NotNil(t, r.Result)
	assert.True(t, r.Pass, r.String())
	assert.Equal(t, []string{"SELECT", "READ RECORD", "SELECT"}, r.APDUs[:3], "the PSE ended at the 6A83, the list of AIDs follows")
	// The application's SFI 1 record 1 is the same command; it reached
	// the card (the sale was approved, which it is not without the
	// record's track 2 data).
	assert.Equal(t, kernel.OutcomeApprovedOffline, r.Result.Outcome, r.Result.Detail)

	src = `{"name": "l", "card": "../cards/default.json", "host": {},
	  "before": [{"type": "load", "amount": "1.00", "load_type": "cash"}],
	  "transaction": {"type": "load_log"},
	  "expect": {"log_count": 1, "load_log": [{"tag": "9F79", "before": "500.00", "after": "501.01"}]}}`
	s, err = Parse([]byte(src), suiteDir)
	require.NoError(t, err)
	assert.Equal(t, "FAIL l: load_log: want [9F79 500.00→501.01], got [9F79 500.00→501.00]", Run(context.Background(), s).String())
}

func TestDropTag(t *testing.T) {
	rsp := append(tlv.Append(nil, 0x77, append(tlv.Append(nil, 0x9F6C, []byte{0x20, 0}), tlv.Append(nil, 0x9F36, []byte{0, 1})...)), 0x90, 0x00)
	assert.Equal(t, append(tlv.Append(nil, 0x77, tlv.Append(nil, 0x9F36, []byte{0, 1})), 0x90, 0x00), dropTag(rsp, 0x9F6C))
	assert.Equal(t, rsp, dropTag(rsp, 0x9F4B), "nothing to drop")
	for _, odd := range [][]byte{{0x6A, 0x83}, {0x90}, {0x80, 0x02, 0x01, 0x02, 0x90, 0x00}, {0x77, 0x05, 0x9F, 0x90, 0x00}} {
		assert.Equal(t, odd, dropTag(odd, 0x9F36), "%X: not one template, as it was", odd)
	}
}
