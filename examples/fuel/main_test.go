// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/cardsim/vpcd/vpcdtest"
	"github.com/go-pboc/pboc/examples/internal/exampletest"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
)

// defaultCard is the repository's profile of the seed card, as the tests
// name it from this directory.
const defaultCard = "../../testdata/cards/default.json"

const (
	aid = exampletest.AID
	pan = exampletest.PAN
)

// session is one run of the example: what it printed and the simulated card
// it ran against (nil with a reader).
type session struct {
	exampletest.Session
	card   *cardsim.Card
	before kernel.Amount // the card's EC balance at insertion
}

// field returns the last value printed under label.
func (s session) field(label string) string { return s.Field(label) }

// balance is the EC balance the simulated card holds now.
func (s session) balance() kernel.Amount { return kernel.Amount(s.card.Balance(aid)) }

// bill parses the dispenser bill printed as the last line.
func (s session) bill(t *testing.T) billJSON {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(s.Out), "\n")
	return parseBill(t, lines[len(lines)-1])
}

// billJSON is the dispenser bill as the station's back office reads it.
type billJSON struct {
	Time                string `json:"time"`
	TerminalID          string `json:"terminal_id"`
	MerchantID          string `json:"merchant_id"`
	PAN                 string `json:"pan"`
	AID                 string `json:"aid"`
	ATC                 int    `json:"atc"`
	STAN                uint32 `json:"stan"`
	Batch               uint32 `json:"batch"`
	Amount              string `json:"amount"`
	Currency            string `json:"currency"`
	Cryptogram          string `json:"cryptogram"`
	CID                 string `json:"cid"`
	IAD                 string `json:"iad"`
	UnpredictableNumber string `json:"unpredictable_number"`
	TVR                 string `json:"tvr"`
	TSI                 string `json:"tsi"`
	Field55             string `json:"field55"`
	BalanceAfter        string `json:"balance_after"`
	Litres              string `json:"litres"`
	UnitPrice           string `json:"unit_price"`
}

func parseBill(t *testing.T, line string) billJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	var c billJSON
	require.NoError(t, dec.Decode(&c), line)
	return c
}

func runFuel(t *testing.T, args ...string) (session, error) {
	t.Helper()
	var s session
	inserted = func(c *cardsim.Card) {
		s.card = c
		if c != nil {
			s.before = kernel.Amount(c.Balance(aid))
		}
	}
	t.Cleanup(func() { inserted = nil })
	var err error
	s.Session, err = exampletest.Run(t, runEC, args...)
	return s, err
}

// The default run: 30 litres at 7.85 = 235.50, within what the seed card
// can pay (min(500.00, 300.00, 1000.00) = 300.00), paid offline.
func TestRefuel(t *testing.T) {
	start := time.Now()
	s, err := runFuel(t)
	require.NoError(t, err)
	t.Log("\n" + s.Out)

	assert.Equal(t, "500.00 (single-transaction limit 300.00)", s.field("EC balance"))
	assert.Equal(t, "1000.00", s.field("terminal EC limit"))
	assert.Equal(t, "300.00 (the most the card can pay offline)", s.field("authorised"))
	assert.Equal(t, "30.00 L (235.50)", s.field("requested"))
	assert.Equal(t, "30.00 L = 235.50", s.field("dispensed"))
	assert.Equal(t, "approved_offline", s.field("outcome"), s.field("detail"))
	assert.Equal(t, "ec_approved", s.field("reason"))
	assert.Equal(t, "500.00 (as the card reported it)", s.field("balance before"))
	assert.Equal(t, "264.50 (as the card reports it)", s.field("balance after"))
	assert.Equal(t, kernel.Amount(264_50), s.balance(), "the card deducted exactly 235.50")
	assert.Equal(t, []string{"ec_offline_sale 235.50 ATC 1 CID 40 approved_offline, STAN 000001 batch 000001, PAN sealed"}, s.Fields["journal record"], "journaled before the receipt")

	c := s.bill(t)
	assert.Equal(t, "622202*********6781", c.PAN)
	assert.Equal(t, aid, c.AID)
	assert.Equal(t, int(s.card.ATC(aid)), c.ATC)
	assert.Equal(t, "235.50", c.Amount)
	assert.Equal(t, "0156", c.Currency, "as the journal writes it")
	assert.Equal(t, uint32(1), c.STAN, "the journal record's STAN")
	assert.Equal(t, uint32(1), c.Batch)
	assert.Regexp(t, `^[0-9A-F]{16}$`, c.Cryptogram)
	assert.Equal(t, "40", c.CID, "a TC")
	assert.Regexp(t, `^[0-9A-F]{10}$`, c.TVR)
	assert.NotEmpty(t, c.IAD)
	assert.Regexp(t, `^[0-9A-F]{8}$`, c.UnpredictableNumber)
	assert.Equal(t, "PUMP0001", c.TerminalID)
	assert.Equal(t, "264.50", c.BalanceAfter)
	assert.Equal(t, "30.00", c.Litres)
	assert.Equal(t, "7.85", c.UnitPrice)
	tm, err := time.Parse(time.RFC3339Nano, c.Time)
	require.NoError(t, err)
	assert.WithinDuration(t, start, tm, time.Minute)
}

// The pump never dispenses more than the card can pay offline, whichever
// limit binds: the card's single-transaction limit, its balance, or the
// terminal's EC limit. What it dispenses is paid offline to the fen.
func TestDispensingIsCappedByWhatTheCardCanPay(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		authorised kernel.Amount
		dispensed  string
	}{
		{"single limit", []string{"--litres", "50"}, 300_00, "38.21 L = 299.95 (stopped at the authorised amount)"},
		{"balance", []string{"--card", "../../testdata/cards/low-balance.json"}, 5_00, "0.63 L = 4.95 (stopped at the authorised amount)"},
		{"terminal EC limit", []string{"--ec-limit", "100.00"}, 100_00, "12.73 L = 99.93 (stopped at the authorised amount)"},
		{"exact", []string{"--litres", "10", "--price", "30.00"}, 300_00, "10.00 L = 300.00"},
		{"one centilitre over", []string{"--litres", "10.01", "--price", "30.00"}, 300_00, "10.00 L = 300.00 (stopped at the authorised amount)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := runFuel(t, tc.args...)
			require.NoError(t, err)
			assert.Equal(t, tc.authorised.String()+" (the most the card can pay offline)", s.field("authorised"))
			assert.Equal(t, tc.dispensed, s.field("dispensed"))
			assert.Equal(t, "approved_offline", s.field("outcome"), s.field("detail"))
			amount, err := kernel.ParseAmount(s.bill(t).Amount)
			require.NoError(t, err)
			assert.LessOrEqual(t, amount, tc.authorised, "never more than authorised")
			assert.Equal(t, s.before-amount, s.balance(), "the balance dropped by exactly the final amount")
			assert.Equal(t, (s.before-amount).String()+" (as the card reports it)", s.field("balance after"))
		})
	}
}

// dispense stops at the last centilitre whose price fits the authorised
// amount, for any price.
func TestDispenseNeverExceedsAuthorised(t *testing.T) {
	for price := kernel.Amount(1); price <= 2000; price += 7 {
		for _, authorised := range []kernel.Amount{1, 99, 4_95, 5_00, 300_00, 999_99} {
			const wanted = 1_000_00 // 1000 litres
			cl, due := dispense(wanted, price, authorised)
			require.LessOrEqual(t, due, authorised, "price %s authorised %s", price, authorised)
			require.Equal(t, cost(cl, price), due)
			if cl < wanted {
				require.Greater(t, cost(cl+1, price), authorised, "price %s authorised %s: one more centilitre would fit", price, authorised)
			}
		}
	}
	cl, due := dispense(30_00, 785, 300_00)
	assert.Equal(t, uint64(30_00), cl, "a request within the authorisation is dispensed in full")
	assert.Equal(t, kernel.Amount(235_50), due)
}

// An empty card: nothing is authorised, nothing dispensed, nothing sent to
// the card beyond reading it.
func TestEmptyCardRefused(t *testing.T) {
	p := cardsim.DefaultProfile()
	p.Applications[0].EC.Balance = "0.00"
	b, err := p.Marshal()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "empty.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))

	s, err := runFuel(t, "--card", path)
	require.ErrorIs(t, err, errCannotPay)
	assert.Equal(t, "0.00 (the most the card can pay offline)", s.field("authorised"))
	assert.NotEmpty(t, s.field("REFUSED"))
	assert.Empty(t, s.Fields["dispensed"])
	assert.Zero(t, s.card.ATC(aid), "no transaction on the card")
}

// No fuel taken: no sale, no bill.
func TestNothingDispensed(t *testing.T) {
	s, err := runFuel(t, "--litres", "0")
	require.NoError(t, err)
	assert.Equal(t, "0.00 L = 0.00", s.field("dispensed"))
	assert.Empty(t, s.Fields["dispenser bill"])
	assert.Zero(t, s.card.ATC(aid))
	assert.Equal(t, s.before, s.balance())
}

// --bill appends one line per sale to the file.
func TestBillFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bills.jsonl")
	s1, err := runFuel(t, "--bill", path, "--litres", "10")
	require.NoError(t, err)
	assert.Equal(t, "appended to "+path, s1.field("dispenser bill"))
	assert.NotContains(t, s1.Out, "{", "the bill went to the file")
	_, err = runFuel(t, "--bill", path, "--litres", "20")
	require.NoError(t, err)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(b), pan)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, "78.50", parseBill(t, lines[0]).Amount)
	assert.Equal(t, "157.00", parseBill(t, lines[1]).Amount)
}

// The kernel is wired as examples/pos wires it: the journal numbers the
// sale (STAN, batch) and its record keeps the PAN sealed under the data
// key in --data-dir, which gives it back; the bill names its record.
func TestJournalRecordCarriesSTANAndSealedPAN(t *testing.T) {
	dir := t.TempDir()
	s, err := runFuel(t, "--data-dir", dir, "--litres", "10")
	require.NoError(t, err)
	bill := s.bill(t)
	raw, err := os.ReadFile(filepath.Join(dir, "data.key"))
	require.NoError(t, err)
	key, err := journal.NewAESGCMKey(raw)
	require.NoError(t, err)
	j, err := journal.Open(filepath.Join(dir, "journal.dat"))
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(context.Background())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	r := recs[0]
	assert.NotZero(t, r.STAN)
	assert.Equal(t, bill.STAN, r.STAN, "the bill names its journal record")
	assert.Equal(t, bill.Batch, r.Batch)
	assert.Equal(t, bill.Currency, r.Currency, "the bill writes the currency as the journal does")
	require.NotNil(t, r.EncryptedPAN, "the PAN sealed")
	got, err := r.OpenPAN(context.Background(), key)
	require.NoError(t, err)
	assert.Equal(t, pan, got)
	b, err := os.ReadFile(filepath.Join(dir, "journal.dat"))
	require.NoError(t, err)
	assert.NotContains(t, string(b), pan, "never in clear")
}

// A bill file that cannot be written stops the pump before any fuel
// flows.
func TestBillFileUnwritable(t *testing.T) {
	s, err := runFuel(t, "--bill", filepath.Join(t.TempDir(), "no-such-dir", "bills.jsonl"))
	require.Error(t, err)
	assert.Nil(t, s.card, "the card was not even read")
}

// --reader: the seed card served through pcscd and vpcd. The dispenser
// prints what the kernel reports and never looks at the simulated card; the
// served card is what paid.
func TestReader(t *testing.T) {
	served, err := cardsim.New(cardsim.DefaultProfile())
	require.NoError(t, err)
	srv := vpcdtest.Serve(t, served)

	s, err := runFuel(t, "--reader", srv.Reader, "--test-ca")
	require.NoError(t, err)
	assert.Equal(t, "published keys + the simulator's test CA (A000000333 F1-F3; never in production)", s.field("CA keys"))
	t.Log("\n" + s.Out)
	assert.Nil(t, s.card, "no simulated card in the example")
	assert.Equal(t, fmt.Sprintf("in reader %q (ATR %X, T=0)", srv.Reader, srv.ATR), s.field("card"))
	assert.Equal(t, "500.00 (single-transaction limit 300.00)", s.field("EC balance"))
	assert.Equal(t, "300.00 (the most the card can pay offline)", s.field("authorised"))
	assert.Equal(t, "30.00 L = 235.50", s.field("dispensed"))
	assert.Equal(t, "approved_offline", s.field("outcome"), s.field("detail"))
	assert.Equal(t, "500.00 (as the card reported it)", s.field("balance before"))
	assert.Equal(t, "264.50 (as the card reports it)", s.field("balance after"))

	c := s.bill(t)
	assert.Equal(t, exampletest.MaskedPAN, c.PAN)
	assert.Equal(t, "235.50", c.Amount)
	assert.Equal(t, "40", c.CID, "a TC")
	assert.Equal(t, int(served.ATC(aid)), c.ATC, "the served card's transaction")
	assert.Equal(t, "264.50", c.BalanceAfter)
	assert.Equal(t, kernel.Amount(264_50), kernel.Amount(served.Balance(aid)), "the served card deducted exactly 235.50")

	// The card's own single-transaction limit still caps the pump.
	s, err = runFuel(t, "--reader", srv.Reader, "--test-ca", "--litres", "50")
	require.NoError(t, err)
	assert.Equal(t, "264.50 (the most the card can pay offline)", s.field("authorised"))
	assert.Equal(t, "33.69 L = 264.47 (stopped at the authorised amount)", s.field("dispensed"))
	assert.Equal(t, "approved_offline", s.field("outcome"), s.field("detail"))
	assert.Equal(t, "0.03 (as the card reports it)", s.field("balance after"))
	assert.Equal(t, kernel.Amount(3), kernel.Amount(served.Balance(aid)))
}

// A dispenser has no issuer: a profile for a card in a reader is refused.
func TestReaderWithCardRefused(t *testing.T) {
	s, err := runFuel(t, "--reader", "Virtual PCD", "--card", defaultCard)
	require.ErrorContains(t, err, "--card and --reader")
	assert.Empty(t, s.Out, "nothing printed, no reader opened")
}
