// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// countingPad is an offline PIN pad that notes its requests.
type countingPad interface {
	kernel.OfflinePINPad
	Requests() []kernel.OfflinePINRequest
}

// typing is a pad at which the cardholder types pins in turn (real blocks,
// real RSA), then bypasses.
func typing(pins ...string) *hostsim.OfflinePINSequence {
	return hostsim.NewOfflinePINSequence(pins...)
}

// failingPad answers every request with err.
type failingPad struct {
	mu   sync.Mutex
	err  error
	reqs []kernel.OfflinePINRequest
}

func (p *failingPad) OfflinePIN(_ context.Context, req kernel.OfflinePINRequest) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = append(p.reqs, req)
	return nil, p.err
}

func (p *failingPad) Requests() []kernel.OfflinePINRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]kernel.OfflinePINRequest(nil), p.reqs...)
}

// pinCard is the default EC card with a CVM list.
func pinCard(t *testing.T, profile, cvmList string) *cardsim.Card {
	t.Helper()
	return newCard(t, profileWith(t, profile, func(a *cardsim.Application) { a.CVMList = cvmList }))
}

const (
	listPlain      = "00000000000000000100"          // plaintext offline PIN, always; fail if not
	listEnciphered = "00000000000000000400"          // enciphered offline PIN, always
	listPlainOrSig = "00000000000000004100" + "1E00" // plaintext offline PIN, else signature
)

// EMV Book 3 §10.5.1, Book 4 §6.3.4: the terminal reads the PIN try
// counter, the PIN pad builds the plaintext block, the kernel carries it;
// a wrong PIN is asked again with the tries left, a right one succeeds
// (9F34 01 00 02) and the EC sale is approved offline.
func TestOfflinePlaintextPIN(t *testing.T) {
	card := pinCard(t, "default.json", listPlain)
	pad := typing("111111", "123456")
	res, err := tracedKernel(t, kernel.WithOfflinePINPad(pad)).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, "010002", cvmResults(t, res))
	assert.False(t, res.TVR.Has(kernel.TVRCVMFailed))
	assert.False(t, res.TVR.Has(kernel.TVRPINTryLimitExceeded))
	require.Len(t, pad.Requests(), 2)
	assert.Equal(t, kernel.OfflinePINRequest{Amount: 1234, TriesLeft: 3}, pad.Requests()[0], "tries from GET DATA 9F17, no key: plaintext")
	assert.Equal(t, kernel.OfflinePINRequest{Amount: 1234, TriesLeft: 2, Retry: true}, pad.Requests()[1], "63C2")
	assert.Equal(t, 3, card.PINTries(debitAID), "a verified PIN sets the counter back")
	assert.Contains(t, commandSequence(t, res), "VERIFY")

	// The trace keeps the VERIFY command without the PIN block.
	for _, e := range res.Trace {
		if c, err := apdu.ParseCommand(e.Command); err == nil && c.INS == 0x20 {
			assert.Equal(t, make([]byte, 8), c.Data, "VERIFY data in the trace")
		}
	}
}

// EMV Book 2 §7.1-7.2: the enciphered PIN goes under the ICC PIN
// encipherment key when the card certifies one (9F2D), else under the ICC
// key, with the challenge of a GET CHALLENGE; the pad gets both.
func TestOfflineEncipheredPIN(t *testing.T) {
	for _, tc := range []struct {
		name, profile string
		keyLen        int
	}{
		{"ICC key (9F46, 1152 bits)", "default.json", 144},
		{"PIN encipherment key (9F2D, 1024 bits)", "offline-pin.json", 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := pinCard(t, tc.profile, listEnciphered)
			pad := typing("123456")
			res, err := tracedKernel(t, kernel.WithOfflinePINPad(pad)).Purchase(context.Background(), card, 1234)
			require.NoError(t, err)
			assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
			assert.Equal(t, "040002", cvmResults(t, res))
			require.Len(t, pad.Requests(), 1)
			require.NotNil(t, pad.Requests()[0].Key)
			assert.Len(t, pad.Requests()[0].Key.Modulus, tc.keyLen)
			assert.Len(t, pad.Requests()[0].Challenge, 8)
			seq := commandSequence(t, res)
			i := slices.Index(seq, "GET CHALLENGE")
			require.GreaterOrEqual(t, i, 0, "%q", seq)
			assert.Equal(t, "VERIFY", seq[i+1], "the challenge is for the VERIFY right after it")
		})
	}
}

// The tries run out: 63C2, 63C1, 63C0 set "PIN try limit exceeded" and
// fail the CVM; the next transaction reads 9F17 = 0 and asks no PIN at all
// (Book 3 §10.5.1), and the list goes on to the signature.
func TestOfflinePINTryLimit(t *testing.T) {
	card := pinCard(t, "default.json", listPlain)
	pad := typing("000000", "000001", "000002", "123456")
	res, err := newKernel(t, kernel.WithOfflinePINPad(pad)).Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.True(t, res.TVR.Has(kernel.TVRPINTryLimitExceeded), res.TVR.String())
	assert.True(t, res.TVR.Has(kernel.TVRCVMFailed))
	assert.Equal(t, "010001", cvmResults(t, res))
	assert.Len(t, pad.Requests(), 3, "not asked a fourth time")
	assert.Equal(t, 0, card.PINTries(debitAID))

	card2 := newCard(t, profileWith(t, "default.json", func(a *cardsim.Application) {
		a.CVMList = listPlainOrSig
		zero := 0
		a.PIN = &cardsim.PIN{Tries: &zero}
	}))
	pad = typing("123456")
	res, err = newKernel(t, kernel.WithOfflinePINPad(pad)).Purchase(context.Background(), card2, 1234)
	require.NoError(t, err)
	assert.Empty(t, pad.Requests(), "no PIN entry when 9F17 is 0")
	assert.True(t, res.TVR.Has(kernel.TVRPINTryLimitExceeded))
	assert.Equal(t, "1E0000", cvmResults(t, res))
	assert.True(t, res.SignatureRequired)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
}

// TestOfflinePINAnswers: every way the card (or a relay in front of it)
// can answer, and what the terminal makes of it. Each row names what it
// checks; a lie is a hostile.Card in front of the real simulated card.
func TestOfflinePINAnswers(t *testing.T) {
	isVerify := func(c apdu.Command) bool { return c.INS == 0x20 }
	isPTC := func(c apdu.Command) bool { return c.INS == 0xCA && c.P1 == 0x9F && c.P2 == 0x17 }
	tests := []struct {
		name    string
		list    string
		lies    []hostile.Lie
		pad     countingPad
		entries int // PIN entries asked
		results string
		tvr     []kernel.TVRBit
		outcome kernel.Outcome
	}{
		{name: "Book 3 §10.5.1: 9F17 not given → the PIN is asked anyway; 6983 → try limit exceeded",
			list: listPlain, lies: []hostile.Lie{hostile.Answer(isPTC, []byte{0x6A, 0x88}), hostile.Answer(isVerify, []byte{0x69, 0x83})},
			pad: typing("123456"), entries: 1, results: "010001", tvr: []kernel.TVRBit{kernel.TVRPINTryLimitExceeded, kernel.TVRCVMFailed},
			outcome: kernel.OutcomeApprovedOffline},
		{name: "6984 (reference data invalidated) → try limit exceeded",
			list: listPlain, lies: []hostile.Lie{hostile.Answer(isVerify, []byte{0x69, 0x84})},
			pad: typing("123456"), entries: 1, results: "010001", tvr: []kernel.TVRBit{kernel.TVRPINTryLimitExceeded, kernel.TVRCVMFailed},
			outcome: kernel.OutcomeApprovedOffline},
		{name: "a lie: 63C5 again and again → the counter must go down; the CVM fails after two entries",
			list: listPlain, lies: []hostile.Lie{hostile.Answer(isPTC, []byte{0x6A, 0x88}), hostile.Answer(isVerify, []byte{0x63, 0xC5})},
			pad: typing("111111", "222222", "333333"), entries: 2, results: "010001", tvr: []kernel.TVRBit{kernel.TVRCVMFailed},
			outcome: kernel.OutcomeApprovedOffline},
		{name: "another status word (6A81) → the CVM fails, the list goes on",
			list: listPlainOrSig, lies: []hostile.Lie{hostile.Answer(isVerify, []byte{0x6A, 0x81})},
			pad: typing("123456"), entries: 1, results: "1E0000", tvr: []kernel.TVRBit{}, outcome: kernel.OutcomeApprovedOffline},
		{name: "GET CHALLENGE refused → no PIN asked, the CVM fails",
			list: listEnciphered, lies: []hostile.Lie{hostile.Answer(func(c apdu.Command) bool { return c.INS == 0x84 }, []byte{0x6D, 0x00})},
			pad: typing("123456"), entries: 0, results: "040001", tvr: []kernel.TVRBit{kernel.TVRCVMFailed}, outcome: kernel.OutcomeApprovedOffline},
		{name: "the cardholder bypasses → PIN not entered; a second offline PIN rule is not asked again (HXEMV)",
			list: "00000000000000004100" + "4400" + "1E00", pad: typing(), entries: 1, results: "1E0000",
			tvr: []kernel.TVRBit{kernel.TVRPINNotEntered}, outcome: kernel.OutcomeApprovedOffline},
		{name: "the pad fails → PIN pad not working",
			list: listPlain, pad: &failingPad{err: errors.New("keypad jammed")}, entries: 1, results: "010001",
			tvr: []kernel.TVRBit{kernel.TVRPINPadNotWorking, kernel.TVRCVMFailed}, outcome: kernel.OutcomeApprovedOffline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := pinCard(t, "default.json", tc.list)
			res, err := newKernel(t, kernel.WithOfflinePINPad(tc.pad)).Purchase(context.Background(), hostile.NewCard(card, tc.lies...), 1234)
			require.NoError(t, err)
			assert.Len(t, tc.pad.Requests(), tc.entries, "PIN entries")
			assert.Equal(t, tc.results, cvmResults(t, res))
			for _, b := range tc.tvr {
				assert.True(t, res.TVR.Has(b), "%s", res.TVR)
			}
			assert.Equal(t, tc.outcome, res.Outcome, res.Detail)
		})
	}
}

// The card can decline what it cannot encipher for: an SM2 card (this
// kernel knows no SM2 PIN encipherment), an SDA card (no ICC key: ICC data
// missing), a PIN certificate that does not verify (no fallback to the ICC
// key). The PIN is never asked; the next rule applies.
func TestOfflineEncipheredPINWithoutAKey(t *testing.T) {
	list := "00000000000000004400" + "1F00"
	for _, tc := range []struct {
		name, profile string
		card          func(apdu.Transport) apdu.Transport
		missing       bool
	}{
		{name: "SM2 card", profile: "sm2-dda.json"},
		{name: "SDA card", profile: "sda.json", missing: true},
		{name: "PIN certificate corrupted", profile: "offline-pin.json", card: func(c apdu.Transport) apdu.Transport {
			return flipIn(c, []byte{0x9F, 0x2D, 0x81})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var card apdu.Transport = pinCard(t, tc.profile, list)
			if tc.card != nil {
				card = tc.card(card)
			}
			pad := typing("123456")
			res, err := newKernel(t, kernel.WithOfflinePINPad(pad)).Purchase(context.Background(), card, 1234)
			require.NoError(t, err)
			assert.Empty(t, pad.Requests())
			assert.Equal(t, "1F0002", cvmResults(t, res))
			assert.Equal(t, tc.missing, res.TVR.Has(kernel.TVRICCDataMissing), res.TVR.String())
		})
	}
}

// What if a relay answers 9000 to a wrong PIN (the "PIN OK" attack)? The
// card never verified it, and its CVR in the cryptogram says so: the
// answer does not fit, nothing is approved — on the EC path the card that
// paid is kept as a discrepancy; on the online path nothing reaches the
// issuer.
func TestOfflinePINRelayAnswering9000(t *testing.T) {
	pinOK := hostile.Answer(func(c apdu.Command) bool { return c.INS == 0x20 }, []byte{0x90, 0x00})
	card := pinCard(t, "default.json", listPlain)
	k := newKernel(t, kernel.WithOfflinePINPad(typing("999999")), kernel.WithTornLog(&kernel.MemoryTornLog{}))
	res, err := k.Purchase(context.Background(), hostile.NewCard(card, pinOK), 1234)
	require.ErrorIs(t, err, kernel.ErrCardData)
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome)
	assert.Contains(t, res.Detail, "no PIN was verified")
	assert.True(t, res.Discrepancy, "the card paid a TC the terminal did not accept: %s", res.Detail)

	b := newBank(t, "no-ec.json", 200000)
	b.card = pinCard(t, "no-ec.json", listPlain)
	asked := 0
	host := kernel.HostFunc(func(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
		asked++
		return b.host.Authorize(ctx, req)
	})
	k = newKernel(t, kernel.WithOfflinePINPad(typing("999999")), kernel.WithHost(host))
	res, err = k.Purchase(context.Background(), hostile.NewCard(b.card, pinOK), 1234)
	require.ErrorIs(t, err, kernel.ErrCardData)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
	assert.Zero(t, asked, "no authorisation on a PIN the card did not verify")
	assert.Equal(t, kernel.Amount(200000), b.account(t))

	// The honest card with the right PIN passes the same check.
	res, err = newKernel(t, kernel.WithOfflinePINPad(typing("123456"))).Purchase(context.Background(), pinCard(t, "default.json", listPlain), 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
}

// PIN entry cancelled ends the transaction before any cryptogram.
func TestOfflinePINCancelled(t *testing.T) {
	card := pinCard(t, "default.json", listPlain)
	res, err := newKernel(t, kernel.WithOfflinePINPad(&failingPad{err: kernel.ErrCancelled})).Purchase(context.Background(), card, 1234)
	require.ErrorIs(t, err, kernel.ErrCancelled)
	assert.Equal(t, kernel.ReasonCancelled, res.Reason)
	assert.Equal(t, uint64(50000), card.Balance(debitAID))
	assert.Empty(t, res.Cryptogram)
}
