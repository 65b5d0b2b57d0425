package main

import (
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

// clearing parses the clearing record printed as the last line.
func (s session) clearing(t *testing.T) clearingJSON {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(s.Out), "\n")
	return parseClearing(t, lines[len(lines)-1])
}

// clearingJSON is the clearing record as a clearing system reads it.
type clearingJSON struct {
	Time                string `json:"time"`
	TerminalID          string `json:"terminal_id"`
	MerchantID          string `json:"merchant_id"`
	PAN                 string `json:"pan"`
	AID                 string `json:"aid"`
	ATC                 int    `json:"atc"`
	Amount              string `json:"amount"`
	Currency            int    `json:"currency"`
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

func parseClearing(t *testing.T, line string) clearingJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	var c clearingJSON
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
	s.Session, err = exampletest.Run(t, run, args...)
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
	assert.Equal(t, []string{"ec_offline_sale 235.50 ATC 1 CID 40 approved_offline"}, s.Fields["journal record"], "journaled before the receipt")

	c := s.clearing(t)
	assert.Equal(t, "622202*********6781", c.PAN)
	assert.Equal(t, aid, c.AID)
	assert.Equal(t, int(s.card.ATC(aid)), c.ATC)
	assert.Equal(t, "235.50", c.Amount)
	assert.Equal(t, 156, c.Currency)
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
			amount, err := kernel.ParseAmount(s.clearing(t).Amount)
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

// No fuel taken: no sale, no clearing record.
func TestNothingDispensed(t *testing.T) {
	s, err := runFuel(t, "--litres", "0")
	require.NoError(t, err)
	assert.Equal(t, "0.00 L = 0.00", s.field("dispensed"))
	assert.Empty(t, s.Fields["clearing record"])
	assert.Zero(t, s.card.ATC(aid))
	assert.Equal(t, s.before, s.balance())
}

// --clearing appends one line per sale to the file.
func TestClearingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clearing.jsonl")
	s1, err := runFuel(t, "--clearing", path, "--litres", "10")
	require.NoError(t, err)
	assert.Equal(t, "appended to "+path, s1.field("clearing record"))
	assert.NotContains(t, s1.Out, "{", "the record went to the file")
	_, err = runFuel(t, "--clearing", path, "--litres", "20")
	require.NoError(t, err)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(b), pan)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, "78.50", parseClearing(t, lines[0]).Amount)
	assert.Equal(t, "157.00", parseClearing(t, lines[1]).Amount)
}

func TestBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--litres", "abc"},
		{"--litres", "-1"},
		{"--litres", "1.234"},
		{"--price", "0"},
		{"--price", "x"},
		{"--ec-limit", "x"},
		{"--card", "no-such-card.json"},
		{"extra"},
	} {
		_, err := runFuel(t, args...)
		assert.Error(t, err, args)
	}
}

// A clearing file that cannot be written stops the pump before any fuel
// flows.
func TestClearingFileUnwritable(t *testing.T) {
	s, err := runFuel(t, "--clearing", filepath.Join(t.TempDir(), "no-such-dir", "clearing.jsonl"))
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

	c := s.clearing(t)
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
