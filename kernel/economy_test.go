// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/kernel"
)

// commandSequence names every command of a transaction with the
// parameters that matter for economy: the DF selected, the SFI/record
// read, the tag asked by GET DATA or written by PUT DATA, the cryptogram
// type asked by GENERATE AC.
func commandSequence(t *testing.T, res *kernel.Result) []string {
	t.Helper()
	var out []string
	for _, e := range res.Trace {
		c, err := apdu.ParseCommand(e.Command)
		require.NoError(t, err)
		switch c.INS {
		case 0xA4:
			if bytes.HasSuffix(c.Data, []byte(".DDF01")) {
				out = append(out, "SELECT "+string(c.Data))
			} else {
				out = append(out, fmt.Sprintf("SELECT %X", c.Data))
			}
		case 0xB2:
			out = append(out, fmt.Sprintf("READ RECORD %d/%d", c.P2>>3, c.P1))
		case 0xCA, 0xDA:
			out = append(out, fmt.Sprintf("%s %02X%02X", c.Name(), c.P1, c.P2))
		case 0xAE:
			typ := map[byte]string{apdu.ACTypeAAC: "AAC", apdu.ACTypeTC: "TC", apdu.ACTypeARQC: "ARQC"}[c.P1&0xC0]
			if c.P1&apdu.ACCDA != 0 {
				typ += "+CDA"
			}
			out = append(out, "GENERATE AC "+typ)
		default:
			out = append(out, c.Name())
		}
	}
	return out
}

// redundancies lists what no transaction should contain, whatever its
// path: a GET RESPONSE (the simulated card never chains), a record read
// twice while the same file is selected, or the same GET DATA asked twice
// with nothing in between that could change the answer (GENERATE AC,
// EXTERNAL AUTHENTICATE, PUT DATA).
func redundancies(seq []string) []string {
	var out []string
	seen := map[string]bool{}
	for i, c := range seq {
		switch {
		case c == "GET RESPONSE":
			out = append(out, fmt.Sprintf("command %d: GET RESPONSE", i+1))
		case strings.HasPrefix(c, "SELECT "):
			clear(seen)
		case strings.HasPrefix(c, "GENERATE AC"), c == "EXTERNAL AUTHENTICATE", strings.HasPrefix(c, "PUT DATA"):
			for k := range seen {
				if strings.HasPrefix(k, "GET DATA") {
					delete(seen, k)
				}
			}
		}
		if strings.HasPrefix(c, "READ RECORD") || strings.HasPrefix(c, "GET DATA") {
			if seen[c] {
				out = append(out, fmt.Sprintf("command %d: %s again", i+1, c))
			}
			seen[c] = true
		}
	}
	return out
}

func assertEconomical(t *testing.T, seq []string) {
	t.Helper()
	assert.Empty(t, redundancies(seq), "%q", seq)
}

func TestRedundanciesAreFound(t *testing.T) {
	assert.Equal(t, []string{"command 3: READ RECORD 1/1 again"},
		redundancies([]string{"SELECT A0", "READ RECORD 1/1", "READ RECORD 1/1"}))
	assert.Equal(t, []string{"command 3: GET DATA 9F79 again"},
		redundancies([]string{"SELECT A0", "GET DATA 9F79", "GET DATA 9F79"}))
	assert.Equal(t, []string{"command 2: GET RESPONSE"}, redundancies([]string{"SELECT A0", "GET RESPONSE"}))
	assert.Empty(t, redundancies([]string{"SELECT 1PAY.SYS.DDF01", "READ RECORD 1/1", "SELECT A0", "READ RECORD 1/1",
		"GET DATA 9F79", "PUT DATA 9F79", "GET DATA 9F79"}), "a new selection or a write makes a repeat legitimate")
}

// The contact EC purchase of the default card: PSE directory (its end is
// the 6A83 of record 2), final SELECT, GPO, the six records the AFL names,
// DDA, the EC balance and reset threshold the records do not carry (the
// single limit is the card's own check on the EC path: PBOC Book 13 §7.4.2
// asks for 9F79 and 9F6D, as HXEMV quotes it), and one GENERATE AC
// whose TC carries the new balance in 9F10 (no GET DATA afterwards).
var contactECPurchase = []string{
	"SELECT 1PAY.SYS.DDF01", "READ RECORD 1/1", "READ RECORD 1/2",
	"SELECT A000000333010101", "GET PROCESSING OPTIONS",
	"READ RECORD 1/1", "READ RECORD 2/1", "READ RECORD 2/2",
	"READ RECORD 3/1", "READ RECORD 3/2", "READ RECORD 3/3",
	"INTERNAL AUTHENTICATE",
	"GET DATA 9F79", "GET DATA 9F6D",
	"GENERATE AC TC",
}

func TestEconomyContactECPurchase(t *testing.T) {
	res, err := tracedKernel(t).Purchase(context.Background(), loadCard(t, "default.json"), 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	seq := commandSequence(t, res)
	assert.Equal(t, contactECPurchase, seq)
	assert.Equal(t, len(contactECPurchase), res.APDUs)
	assertEconomical(t, seq)
}

// TestEconomyECDataInRecords: a card that personalises the EC balance,
// single-transaction limit and reset threshold in its records gets no GET
// DATA at all: the balance is already known.
func TestEconomyECDataInRecords(t *testing.T) {
	p, err := cardsim.LoadProfile("../testdata/cards/default.json")
	require.NoError(t, err)
	p.Applications[0].Extra = map[string]string{
		"9F79": "000000050000", "9F78": "000000030000", "9F6D": "000000000100",
	}
	card, err := cardsim.New(p)
	require.NoError(t, err)
	res, err := tracedKernel(t).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	require.NotNil(t, res.BalanceBefore)
	assert.Equal(t, kernel.Amount(50000), *res.BalanceBefore)
	seq := commandSequence(t, res)
	want := append([]string(nil), contactECPurchase[:12]...)
	assert.Equal(t, append(want, "GENERATE AC TC"), seq)
	assertEconomical(t, seq)
}

// TestEconomyAutomaticTopUp: the sale would leave less than the reset
// threshold, so the terminal also reads the balance limit (9F77, the
// top-up's target), goes online with the PIN, authenticates the issuer,
// completes with a TC, runs the issuer's PUT DATA 9F79 (template 72) and
// reads the balance once more: the card's word on the refill.
func TestEconomyAutomaticTopUp(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	res, err := b.tracedKernel(t).Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	require.True(t, res.TopUp)
	seq := commandSequence(t, res)
	assert.Equal(t, []string{
		"SELECT 1PAY.SYS.DDF01", "READ RECORD 1/1", "READ RECORD 1/2",
		"SELECT A000000333010101", "GET PROCESSING OPTIONS",
		"READ RECORD 1/1", "READ RECORD 2/1", "READ RECORD 2/2",
		"READ RECORD 3/1", "READ RECORD 3/2", "READ RECORD 3/3",
		"INTERNAL AUTHENTICATE",
		"GET DATA 9F79", "GET DATA 9F6D", "GET DATA 9F77",
		"GENERATE AC ARQC", "EXTERNAL AUTHENTICATE", "GENERATE AC TC",
		"PUT DATA 9F79", "GET DATA 9F79",
	}, seq)
	assert.Equal(t, len(seq), res.APDUs)
	assertEconomical(t, seq)
}

// TestEconomyLoad: a load reads the balance and its limit (nothing else of
// EC: 9F74 is not in the AFL when EC is not offered), goes online, and
// reads the balance after the issuer's PUT DATA. The PIN is the PIN pad's
// business: the card sees the same commands for every kind of load.
func TestEconomyLoad(t *testing.T) {
	for _, kind := range []kernel.LoadKind{kernel.LoadDesignated, kernel.LoadNonDesignated, kernel.LoadCash} {
		t.Run(kind.String(), func(t *testing.T) {
			b := newBank(t, "default.json", 200000)
			res, err := b.tracedKernel(t).Load(context.Background(), b.card, kernel.LoadRequest{Kind: kind, Amount: 12345})
			require.NoError(t, err)
			require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
			seq := commandSequence(t, res)
			assert.Equal(t, []string{
				"SELECT 1PAY.SYS.DDF01", "READ RECORD 1/1", "READ RECORD 1/2",
				"SELECT A000000333010101", "GET PROCESSING OPTIONS",
				"READ RECORD 1/1", "READ RECORD 2/1",
				"READ RECORD 3/1", "READ RECORD 3/2", "READ RECORD 3/3",
				"INTERNAL AUTHENTICATE",
				"GET DATA 9F79", "GET DATA 9F77",
				"GENERATE AC ARQC", "EXTERNAL AUTHENTICATE", "GENERATE AC TC",
				"PUT DATA 9F79", "GET DATA 9F79",
			}, seq)
			assert.Equal(t, len(seq), res.APDUs)
			assertEconomical(t, seq)
		})
	}
}

// TestEconomyReplayedPurchaseIsIdentical: the benchmarks' replay sends the
// same commands as the real card got (the map replays nothing it was not
// asked).
func TestEconomyReplayedPurchaseIsIdentical(t *testing.T) {
	rt := recordPurchase(t, "default.json", 1234)
	rec := &recording{card: rt.newReplay(t)}
	res, err := benchKernel(t).Purchase(context.Background(), rec, 1234)
	require.NoError(t, err)
	require.Len(t, rec.pairs, len(rt.pairs))
	for i, p := range rec.pairs {
		assert.Equal(t, rt.pairs[i][0], p[0], "command %d", i+1)
		assert.Equal(t, rt.pairs[i][1], p[1], "response %d", i+1)
	}
	assert.Equal(t, rt.result.Cryptogram, res.Cryptogram)
	assert.Equal(t, *rt.result.BalanceAfter, *res.BalanceAfter)
}

// TestEconomyOfflinePIN: an offline PIN adds what EMV Book 3 §10.5.1 needs
// and nothing more — GET DATA 9F17 once, GET CHALLENGE right before an
// enciphered VERIFY, one VERIFY per PIN entry — after the EC amounts and
// before the GENERATE AC; a card with its own PIN encipherment key has it
// in one more record (SFI 3 record 4). A card whose list asks no PIN
// costs nothing (TestEconomyContactECPurchase).
func TestEconomyOfflinePIN(t *testing.T) {
	head := contactECPurchase[:len(contactECPurchase)-1]
	for _, tc := range []struct {
		name, profile, list string
		pins                []string
		want                []string
	}{
		{"plaintext", "default.json", listPlain, []string{"123456"},
			[]string{"GET DATA 9F17", "VERIFY", "GENERATE AC TC"}},
		{"plaintext, one wrong PIN", "default.json", listPlain, []string{"111111", "123456"},
			[]string{"GET DATA 9F17", "VERIFY", "VERIFY", "GENERATE AC TC"}},
		{"enciphered under the ICC key", "default.json", listEnciphered, []string{"123456"},
			[]string{"GET DATA 9F17", "GET CHALLENGE", "VERIFY", "GENERATE AC TC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tracedKernel(t, kernel.WithOfflinePINPad(typing(tc.pins...))).Purchase(context.Background(), pinCard(t, tc.profile, tc.list), 1234)
			require.NoError(t, err)
			require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
			seq := commandSequence(t, res)
			assert.Equal(t, append(append([]string(nil), head...), tc.want...), seq)
			assertEconomical(t, seq)
		})
	}
	res, err := tracedKernel(t, kernel.WithOfflinePINPad(typing("123456"))).Purchase(context.Background(), pinCard(t, "offline-pin.json", listEnciphered), 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	want := append(append([]string(nil), head[:11]...), "READ RECORD 3/4")
	want = append(append(want, head[11:]...), "GET DATA 9F17", "GET CHALLENGE", "VERIFY", "GENERATE AC TC")
	assert.Equal(t, want, commandSequence(t, res), "the PIN key's record")
}
