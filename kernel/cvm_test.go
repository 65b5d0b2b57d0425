// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// cvmResults is 9F34 as field 55 carried it.
func cvmResults(t *testing.T, res *kernel.Result) string {
	t.Helper()
	return upperHex(valueOf(res.Field55, 0x9F34))
}

// idCheck is an attendant who answers the cardholder ID check with ok and
// notes the document shown.
type idCheck struct {
	ok   bool
	seen []kernel.CardholderID
}

func (c *idCheck) VerifyCardholderID(_ context.Context, id kernel.CardholderID) (bool, error) {
	c.seen = append(c.seen, id)
	return c.ok, nil
}

// TestCVMListHandling asserts, for each rule of EMV Book 3 §10.5 (and
// where HXEMV EmvCvm.c reads it), the CVM results (9F34), the TVR's
// byte 1 and byte 3 CVM bits and the TSI's CVM bit. The sales are on the
// default EC card (12.34, the EC path) unless the row says otherwise.
func TestCVMListHandling(t *testing.T) {
	id := map[string]string{"9F61": "313130313031313939303031303130303131", "9F62": "00"}
	tests := []struct {
		name     string
		profile  string
		card     func(*cardsim.Application)
		cfg      func(*kernel.Config)
		opts     func() []kernel.Option
		amount   kernel.Amount
		results  string // 9F34
		missing  bool   // ICC data missing
		failed   bool   // CVM not successful
		tsi      bool   // CVM performed
		unrecog  bool
		pinPad   bool // PIN entry required, PIN pad not present
		sign     bool
		outcome  kernel.Outcome
		checkOut bool
	}{
		{name: "Book 3 §10.5, HXEMV: no CVM list → 3F0000, ICC data missing, TSI not set",
			card: func(a *cardsim.Application) { a.CVMList = "none" }, results: "3F0000", missing: true},
		{name: "HXEMV: a list of amounts without a rule is no list",
			card: func(a *cardsim.Application) { a.CVMList = "0000000000000000" }, results: "3F0000", missing: true},
		{name: "Book 3 §10.5: AIP without CVM support → 3F0000 and nothing else",
			card: func(a *cardsim.Application) { a.AIP = "2C00" }, results: "3F0000"},
		{name: "the EC card's list asks no CVM under X on the EC path (HXEMV processes it there)",
			results: "1F0602", tsi: true, outcome: kernel.OutcomeApprovedOffline, checkOut: true},
		{name: "an amount condition in another currency cannot be evaluated: next rule",
			profile: "no-ec.json", card: func(a *cardsim.Application) { a.Currency = 840; a.CVMList = "000186A0000000001F061E03" },
			results: "1E0300", tsi: true, sign: true},
		{name: "Book 3 §10.5: 'if the terminal supports the CVM' and it does not → next rule, whatever bit 7",
			card: func(a *cardsim.Application) { a.CVMList = "000000000000000001031F03" }, results: "1F0302", tsi: true},
		{name: "an unknown condition code → next rule",
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000001E0A1E801F00" }, results: "1F0002", tsi: true},
		{name: "Book 3 fig. 9: a recognised CVM not supported, bit 7 clear → failed, none performed: 3F0001",
			card: func(a *cardsim.Application) { a.CVMList = "000000000000000001001F03" }, results: "3F0001", tsi: true, failed: true, pinPad: true},
		{name: "Annex C3: an unrecognised CVM sets its TVR bit; bit 7 set → next rule",
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000007A001F00" }, results: "1F0002", tsi: true, unrecog: true},
		{name: "Book 4 A4: a failure names the last CVM performed",
			opts: func() []kernel.Option { return []kernel.Option{kernel.WithPINPad(hostsim.PINPad{PIN: ""})} },
			card: func(a *cardsim.Application) { a.CVMList = "000000000000000042000000" }, results: "000001", tsi: true, failed: true},
		{name: "HXEMV: fail CVM processing ends verification even with bit 7 set",
			card: func(a *cardsim.Application) { a.CVMList = "000000000000000040001F00" }, results: "400001", tsi: true, failed: true},
		{name: "signature on the EC path: approved offline, signature on the receipt",
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000001E00" }, results: "1E0000", tsi: true, sign: true,
			outcome: kernel.OutcomeApprovedOffline, checkOut: true},
		{name: "online PIN on the EC path: the PIN goes online (TAC-online 'online PIN entered')",
			opts: func() []kernel.Option { return []kernel.Option{kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})} },
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000000200" }, results: "020000", tsi: true,
			outcome: kernel.OutcomeOnlineRequired, checkOut: true},
		{name: "PBOC CVM 20 (HXEMV case 0x20): the attendant accepts the ID",
			opts: func() []kernel.Option { return []kernel.Option{kernel.WithCardholderIDVerifier(&idCheck{ok: true})} },
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000002000"; a.Extra = id }, results: "200002", tsi: true},
		{name: "CVM 20: the attendant refuses the ID",
			opts: func() []kernel.Option { return []kernel.Option{kernel.WithCardholderIDVerifier(&idCheck{ok: false})} },
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000002000"; a.Extra = id }, results: "200001", tsi: true, failed: true},
		{name: "CVM 20 without the ID on the card: ICC data missing (HXEMV)",
			opts: func() []kernel.Option { return []kernel.Option{kernel.WithCardholderIDVerifier(&idCheck{ok: true})} },
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000002000" }, results: "200001", tsi: true, failed: true, missing: true},
		{name: "CVM 20 with nobody to check: not supported",
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000002000"; a.Extra = id }, results: "3F0001", tsi: true, failed: true},
		{name: "CVM 20 on an unattended terminal: not supported (HXEMV)",
			opts: func() []kernel.Option { return []kernel.Option{kernel.WithCardholderIDVerifier(&idCheck{ok: true})} },
			cfg:  func(c *kernel.Config) { c.TerminalType = 0x25 },
			card: func(a *cardsim.Application) { a.CVMList = "00000000000000002000"; a.Extra = id }, results: "3F0001", tsi: true, failed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			profile := tc.profile
			if profile == "" {
				profile = "default.json"
			}
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			var opts []kernel.Option
			if tc.opts != nil {
				opts = tc.opts()
			}
			k, err := kernel.New(cfg, opts...)
			require.NoError(t, err)
			amount := tc.amount
			if amount == 0 {
				amount = 1234
			}
			res, err := k.Purchase(context.Background(), newCard(t, profileWith(t, profile, tc.card)), amount)
			require.NoError(t, err)
			assert.Equal(t, tc.results, cvmResults(t, res), "9F34")
			assert.Equal(t, tc.missing, res.TVR.Has(kernel.TVRICCDataMissing), "ICC data missing: %s", res.TVR)
			assert.Equal(t, tc.failed, res.TVR.Has(kernel.TVRCVMFailed), "CVM failed: %s", res.TVR)
			assert.Equal(t, tc.unrecog, res.TVR.Has(kernel.TVRUnrecognisedCVM), "unrecognised CVM: %s", res.TVR)
			assert.Equal(t, tc.pinPad, res.TVR.Has(kernel.TVRPINPadNotWorking), "PIN pad not present: %s", res.TVR)
			assert.Equal(t, tc.tsi, res.TSI.Has(kernel.TSICVMPerformed), "TSI: %s", res.TSI)
			assert.Equal(t, tc.sign, res.SignatureRequired, "signature required")
			if tc.checkOut {
				assert.Equal(t, tc.outcome, res.Outcome, res.Detail)
			}
		})
	}
}

// The attendant sees the document the card names (9F62 type, 9F61 number).
func TestCardholderIDShown(t *testing.T) {
	check := &idCheck{ok: true}
	card := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) {
		a.CVMList = "00000000000000002000"
		a.Extra = map[string]string{"9F61": "3131303130313139393030313031303031313132", "9F62": "00"}
	}))
	res, err := newKernel(t, kernel.WithCardholderIDVerifier(check)).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	require.Len(t, check.seen, 1)
	assert.Equal(t, kernel.CardholderID{Type: 0x00, Number: "11010119900101001112"}, check.seen[0])

	cancel := kernel.CardholderIDVerifierFunc(func(context.Context, kernel.CardholderID) (bool, error) {
		return false, kernel.ErrCancelled
	})
	card = newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) {
		a.CVMList = "00000000000000002000"
		a.Extra = map[string]string{"9F61": "31", "9F62": "00"}
	}))
	res, err = newKernel(t, kernel.WithCardholderIDVerifier(cancel)).Purchase(context.Background(), card, 1234)
	require.ErrorIs(t, err, kernel.ErrCancelled)
	assert.Equal(t, kernel.ReasonCancelled, res.Reason)
	assert.Equal(t, uint64(50000), card.Balance(debitAID), "nothing charged")
}

// HXEMV (EmvCvm.c): a CVM list that is neither absent nor amounts and
// whole 2-byte rules is malformed card data: the transaction ends, and an
// EC card has paid nothing.
func TestMalformedCVMListTerminates(t *testing.T) {
	card := loadCard(t, "default.json")
	odd := hostile.Rewrite(func(c apdu.Command) bool { return c.INS == 0xB2 && c.P1 == 1 && c.P2 == 2<<3|4 },
		func(data []byte) []byte { return replaceInRecord(t, data, 0x8E, mustHex(t, "00000000000000001F0003")) })
	res, err := newKernel(t).Purchase(context.Background(), hostile.NewCard(card, odd), 1234)
	require.ErrorIs(t, err, kernel.ErrCardData)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
	assert.Equal(t, uint64(50000), card.Balance(debitAID))
}

// replaceInRecord re-encodes a 70 template with tag's value replaced.
func replaceInRecord(t *testing.T, rec []byte, tag tlv.Tag, value []byte) []byte {
	t.Helper()
	o, err := tlv.ParseSingle(rec)
	require.NoError(t, err)
	objs, err := tlv.Parse(o.Value)
	require.NoError(t, err)
	var body []byte
	for _, x := range objs {
		if x.Tag == tag {
			x.Value = value
		}
		body = tlv.Append(body, x.Tag, x.Value)
	}
	return tlv.Append(nil, 0x70, body)
}

// The terminal capabilities (9F33 byte 2) claim offline PIN (80, 10) only
// with an offline PIN pad and the cardholder ID (01) only with someone to
// check it, whatever the configuration says; the card is told the same.
func TestCapabilitiesFollowWhatTheKernelWasGiven(t *testing.T) {
	cfg := testConfig()
	cfg.Capabilities[1] = 0xF9 // claims everything
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	assert.Equal(t, byte(0x68), k.Config().Capabilities[1], "online PIN, signature, no CVM")
	pad := kernel.OfflinePINPadFunc(func(context.Context, kernel.OfflinePINRequest) ([]byte, error) { return nil, kernel.ErrPINBypass })
	k, err = kernel.New(testConfig(), kernel.WithOfflinePINPad(pad), kernel.WithCardholderIDVerifier(&idCheck{}))
	require.NoError(t, err)
	assert.Equal(t, byte(0xF9), k.Config().Capabilities[1])
	res, err := k.Purchase(context.Background(), loadCard(t, "default.json"), 1234)
	require.NoError(t, err)
	assert.Equal(t, "E0F9C8", upperHex(valueOf(res.Field55, 0x9F33)))
	assert.Equal(t, byte(0x68), kernel.DefaultConfig().Capabilities[1], "the default claims no offline PIN")
}

// HXEMV (EmvCvm.c iCvmEnterOnlinePin, EmvModul.c:803-817): the cardholder
// who bypassed the top-up's online PIN is not asked for it again by the
// card's list; the sale goes on offline (the balance allows it) with the
// list's next CVM, a signature.
func TestBypassedOnlinePINIsNotAskedAgain(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	b.card = pinCard(t, "low-balance.json", "000000000000000042031E03")
	asked := 0
	pad := kernel.PINPadFunc(func(context.Context, string, kernel.Amount) ([]byte, error) {
		asked++
		return nil, kernel.ErrPINBypass
	})
	res, err := newKernel(t, kernel.WithHost(b.host), kernel.WithPINPad(pad)).Purchase(context.Background(), b.card, 450)
	require.NoError(t, err)
	assert.True(t, res.TopUpFailed, res.Detail)
	assert.Equal(t, 1, asked, "asked once")
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, "1E0300", cvmResults(t, res))
	assert.True(t, res.SignatureRequired)
}

// An application whose acquirer parameters refuse online PIN (DF18 = 00,
// Application.OnlinePIN false): the CVM list's online PIN is a CVM the
// terminal does not support (the next rule applies), and a top-up, which
// needs one, fails while the sale goes on — the PIN pad is never asked.
func TestApplicationWithoutOnlinePIN(t *testing.T) {
	cfg := testConfig()
	for i := range cfg.Applications {
		cfg.Applications[i].OnlinePIN = false
	}
	asked := 0
	pad := kernel.PINPadFunc(func(context.Context, string, kernel.Amount) ([]byte, error) {
		asked++
		return make([]byte, 8), nil
	})

	b := newBank(t, "default.json", 200000)
	b.card = pinCard(t, "default.json", "000000000000000042031E03") // online PIN, else signature
	k := kernelFrom(t, cfg, kernel.WithHost(b.host), kernel.WithPINPad(pad))
	res, err := k.Purchase(context.Background(), b.card, 40000) // above the EC limits: online
	require.NoError(t, err)
	assert.Equal(t, "1E0300", cvmResults(t, res), "online PIN skipped: signature")
	assert.True(t, res.SignatureRequired)
	assert.False(t, res.TVR.Has(kernel.TVROnlinePINEntered))

	low := newBank(t, "low-balance.json", 200000)
	low.card = pinCard(t, "low-balance.json", "000000000000000042031E03")
	res, err = kernelFrom(t, cfg, kernel.WithHost(low.host), kernel.WithPINPad(pad)).Purchase(context.Background(), low.card, 450)
	require.NoError(t, err)
	assert.True(t, res.TopUpFailed, res.Detail)
	assert.False(t, res.TopUp)
	assert.Equal(t, uint64(500-450), low.card.Balance(debitAID), "paid from the purse, not refilled")
	assert.Zero(t, asked, "the PIN pad is never asked")

	// The same with DF18 = 01: the pad is asked (the test can fail).
	res, err = kernelFrom(t, testConfig(), kernel.WithHost(low.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})).Purchase(context.Background(), low.card, 10)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVROnlinePINEntered), res.Detail)
}
