// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// The default card's facts, from testdata/cards/default.json.
const (
	cardPAN    = "6222021000123456781"
	cardExpiry = "351231"
)

// terminal is a kernel with a durable journal that is also its counter,
// and a software data key, as a vendor would set it up.
type terminal struct {
	path string
	j    *journal.File
	key  *journal.AESGCMKey
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.dat")
	j, err := journal.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	key, err := journal.NewAESGCMKey(bytes.Repeat([]byte{0x5A}, 32))
	require.NoError(t, err)
	return &terminal{path: path, j: j, key: key}
}

func (tm *terminal) options(more ...kernel.Option) []kernel.Option {
	return append([]kernel.Option{kernel.WithJournal(tm.j), kernel.WithCounter(tm.j), kernel.WithDataKey(tm.key)}, more...)
}

// reread opens the journal file again, read-only, as an upload program
// would, and returns its records: the uploads are built from these alone.
func (tm *terminal) reread(t *testing.T) []journal.Record {
	t.Helper()
	j, err := journal.Open(tm.path, journal.ReadOnly())
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(context.Background())
	require.NoError(t, err)
	return recs
}

// fields is an ISO 8583 message as field number → value: digits for the
// numeric fields, text for an/ans, the TLV bytes (as a string) for 55.
type fields map[int]string

// offlineUpload builds the offline EC upload (0200, 60.1 = 36) of a
// record, with nothing but the record and the data key: field 2 the PAN,
// 3 processing code, 4 amount, 11 STAN, 14 expiry YYMM, 22 entry mode, 23
// PSN, 25 condition code, 41/42 terminal and merchant, 49 currency, 55 the
// ICC data (8A = Y1, 9F74), 60 type 36 + batch + 000 + read capability + IC
// condition, 63 the card organisation (ACQUIRER-NOTES §2–§3).
func offlineUpload(t *testing.T, r journal.Record, key journal.DataKey) fields {
	t.Helper()
	pan, err := r.OpenPAN(context.Background(), key)
	require.NoError(t, err)
	f55, err := hex.DecodeString(r.Field55)
	require.NoError(t, err)
	return fields{
		2: pan, 3: "000000", 4: fmt.Sprintf("%012d", r.Amount), 11: fmt.Sprintf("%06d", r.STAN),
		14: r.Expiry[:4], 22: r.EntryMode, 23: fmt.Sprintf("%03s", r.PSN), 25: "00",
		41: r.TerminalID, 42: r.MerchantID, 49: r.Currency[1:], 55: string(f55),
		60: "36" + fmt.Sprintf("%06d", r.Batch) + "000" + readCapability(r) + "0", 63: "CUP",
	}
}

// tcUpload builds the IC TC upload (0320, 60.3 = 203) of a record: 2 4 11
// 22 23 41 42 55 60 62, 62 being 61 + card organisation + 00 + amount +
// currency.
func tcUpload(t *testing.T, r journal.Record, key journal.DataKey) fields {
	t.Helper()
	o := offlineUpload(t, r, key)
	org := "01"
	if strings.HasPrefix(r.AID, "A000000333") {
		org = "00"
	}
	return fields{2: o[2], 4: o[4], 11: o[11], 22: o[22], 23: o[23], 41: o[41], 42: o[42], 55: o[55],
		60: "00" + fmt.Sprintf("%06d", r.Batch) + "203", 62: "61" + org + "00" + o[4] + o[49]}
}

func readCapability(r journal.Record) string {
	if strings.HasPrefix(r.EntryMode, "07") {
		return "6"
	}
	return "5"
}

// icc parses field 55.
func icc(t *testing.T, f55 string) map[tlv.Tag][]byte {
	t.Helper()
	objs, err := tlv.Parse([]byte(f55))
	require.NoError(t, err)
	out := map[tlv.Tag][]byte{}
	for _, o := range objs {
		_, dup := out[o.Tag]
		require.False(t, dup, "tag %s twice in field 55", o.Tag)
		out[o.Tag] = o.Value
	}
	return out
}

// issuerVerifies checks the cryptogram of a field 55 as the issuer does
// after an upload: its keys derived for the PAN and PSN of the upload, the
// session key for the ATC in 9F36, the PBOC cryptogram over 55's data.
func issuerVerifies(t *testing.T, f fields, profile string) bool {
	t.Helper()
	p, err := cardsim.LoadProfile(filepath.Join("..", "testdata", "cards", profile))
	require.NoError(t, err)
	acc, err := hostsim.AccountFromProfile(p.Applications[0], 0, testPIN)
	require.NoError(t, err)
	require.Equal(t, acc.PAN, f[2], "the upload's PAN is the issuer's")
	ck, err := acc.Keys.Derive(acc.Alg, f[2], acc.PSN)
	require.NoError(t, err)
	data := icc(t, f[55])
	atc := data[0x9F36]
	require.Len(t, atc, 2)
	sk, err := keys.SessionKey(acc.Alg, ck.AC, uint16(atc[0])<<8|uint16(atc[1]))
	require.NoError(t, err)
	ok, err := keys.VerifyCryptogram(acc.Alg, sk, keys.ACData(func(tag uint32) []byte { return data[tlv.Tag(tag)] }), data[0x9F26])
	require.NoError(t, err)
	return ok
}

// The done-when test: an offline EC sale's journal record holds what the
// offline EC upload and the TC upload need; both are built from the record
// read back from the file and the data key, checked against what the card
// and the terminal know independently, and the issuer verifies the TC.
func TestOfflineECRecordBuildsBothUploads(t *testing.T) {
	tm := newTerminal(t)
	k := newKernel(t, tm.options()...)
	card := loadCard(t, "default.json")
	res, err := k.Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	require.Equal(t, uint32(1), res.STAN, "the first STAN of a new terminal")
	require.Equal(t, uint32(1), res.Batch)

	recs := tm.reread(t)
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, journal.FormatVersion, r.Format)
	assert.Equal(t, journal.UploadPending, r.UploadState())

	up := offlineUpload(t, r, tm.key)
	want := fields{2: cardPAN, 3: "000000", 4: "000000001234", 11: "000001", 14: cardExpiry[:4], 22: "052", 23: "001",
		25: "00", 41: "PBOC0001", 42: "123456789012345", 49: "156", 60: "36000001000" + "50", 63: "CUP"}
	for n, v := range want {
		assert.Equal(t, v, up[n], "offline upload field %d", n)
	}
	ic := icc(t, up[55])
	assert.Equal(t, []byte("Y1"), ic[0x8A], "8A = Y1: approved offline")
	assert.Equal(t, []byte("ECC001"), ic[0x9F74], "the card's EC issuer authorisation code")
	assert.Equal(t, []byte(res.Cryptogram), ic[0x9F26])
	assert.Equal(t, []byte{0x40}, ic[0x9F27], "a TC")
	assert.Equal(t, []byte{byte(res.ATC >> 8), byte(res.ATC)}, ic[0x9F36])
	assert.Equal(t, []byte(res.UnpredictableNumber), ic[0x9F37])
	assert.Equal(t, res.TVR[:], ic[0x95])
	assert.Equal(t, []byte{0x00, 0x00, 0x00, 0x00, 0x12, 0x34}, ic[0x9F02])
	assert.Equal(t, []byte{0x26, 0x11, 0x30}, ic[0x9A], "the terminal's date")
	for _, tag := range []tlv.Tag{0x9F10, 0x9C, 0x5F2A, 0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F35, 0x9F1E, 0x84} {
		assert.Contains(t, ic, tag, "field 55 holds %s", tag)
	}
	for _, tag := range []tlv.Tag{0x5A, 0x57, 0x56, 0x9F6B, 0x5F20} {
		assert.NotContains(t, ic, tag, "field 55 holds no %s", tag)
	}
	assert.True(t, issuerVerifies(t, up, "default.json"), "the issuer verifies the TC of the upload")

	tc := tcUpload(t, r, tm.key)
	assert.Equal(t, "00000001203", tc[60])
	assert.Equal(t, "6100"+"00"+"000000001234"+"156", tc[62])
	assert.Equal(t, up[55], tc[55])
	assert.True(t, issuerVerifies(t, tc, "default.json"))
}

// An online sale's record is the TC upload's: the TC of the second
// GENERATE AC, the issuer's codes, the PIN in the entry mode, and the
// STAN its request carried.
func TestOnlineSaleRecordIsTheTCUpload(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	tm := newTerminal(t)
	host := &capturingHost{Host: b.host}
	k := newKernel(t, tm.options(kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))...)
	res, err := k.Purchase(context.Background(), b.card, 450) // automatic top-up: online with PIN
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	require.Len(t, host.reqs, 1)
	assert.Equal(t, res.STAN, host.reqs[0].STAN, "the request carried the transaction's STAN")
	assert.Equal(t, res.Batch, host.reqs[0].Batch)
	assert.Equal(t, "3512", host.reqs[0].Expiry, "5F24 351231 as field 14's YYMM")
	assert.Contains(t, host.reqs[0].String(), fmt.Sprintf("stan=%06d", res.STAN))

	recs := tm.reread(t)
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, journal.KindOnlineSale, r.Kind)
	assert.Equal(t, res.STAN, r.STAN, "the record has the STAN of its transaction")
	assert.Equal(t, "00", r.ResponseCode)
	tc := tcUpload(t, r, tm.key)
	assert.Equal(t, "051", tc[22], "an online PIN was entered")
	ic := icc(t, tc[55])
	assert.Equal(t, []byte("00"), ic[0x8A], "8A as the card was given it in the second GENERATE AC")
	assert.Equal(t, []byte{0x40}, ic[0x9F27], "the TC, not the ARQC")
	assert.Equal(t, []byte(res.Cryptogram), ic[0x9F26])
	assert.NotEqual(t, host.reqs[0].Field55, []byte(tc[55]), "not the request's field 55")
	assert.True(t, issuerVerifies(t, tc, "low-balance.json"), "the issuer verifies the TC")
}

// capturingHost keeps every request.
type capturingHost struct {
	*hostsim.Host
	mu   sync.Mutex
	reqs []kernel.AuthRequest
}

func (h *capturingHost) Authorize(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, *req)
	h.mu.Unlock()
	return h.Host.Authorize(ctx, req)
}

func TestContactlessRecordEntryMode(t *testing.T) {
	tm := newTerminal(t)
	k := newKernel(t, tm.options()...)
	card := loadCard(t, "default.json")
	res, err := k.PurchaseContactless(context.Background(), cardsim.NewContactless(card), 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	recs := tm.reread(t)
	require.Len(t, recs, 1)
	up := offlineUpload(t, recs[0], tm.key)
	assert.Equal(t, "072", up[22], "contactless, no PIN")
	assert.True(t, strings.HasSuffix(up[60], "60"), "60.4 = 6: contactless")
	ic := icc(t, up[55])
	assert.Equal(t, []byte("Y1"), ic[0x8A])
	assert.Contains(t, ic, tlv.Tag(0x9F66), "the TTQ the tap sent")
	assert.Equal(t, []byte(res.Cryptogram), ic[0x9F26])
}

// Every transaction of one terminal has its own STAN, in order, and a
// restarted terminal goes on without repeating one.
func TestSTANsAcrossTransactionsAndRestarts(t *testing.T) {
	tm := newTerminal(t)
	k := newKernel(t, tm.options()...)
	card := loadCard(t, "default.json")
	var stans []uint32
	for range 3 {
		res, err := k.Purchase(context.Background(), card, 100)
		require.NoError(t, err)
		stans = append(stans, res.STAN)
	}
	assert.Equal(t, []uint32{1, 2, 3}, stans)
	require.NoError(t, tm.j.Close())
	j, err := journal.Open(tm.path)
	require.NoError(t, err)
	tm.j = j
	res, err := newKernel(t, tm.options()...).Purchase(context.Background(), card, 100)
	require.NoError(t, err)
	assert.Greater(t, res.STAN, uint32(3), "after a restart: a new STAN, never one of before")
	seen := map[uint32]bool{}
	for _, r := range tm.reread(t) {
		assert.False(t, seen[r.STAN], "STAN %d on two records", r.STAN)
		seen[r.STAN] = true
	}
	// A declined sale that went nowhere draws no STAN.
	res, err = k.Purchase(context.Background(), card, 10000000)
	require.NoError(t, err)
	assert.Zero(t, res.STAN, "%s: nothing was sent or journaled", res.Outcome)
}

type brokenCounter struct{ stan, batch uint32 }

func (c brokenCounter) NextSTAN(context.Context) (uint32, uint32, error) {
	if c.stan == 0 {
		return 0, 0, errors.New("counter file unreadable")
	}
	return c.stan, c.batch, nil
}

// A counter that fails or lies (a STAN out of n6) stops the online
// request — the host is never asked — but never the record of a sale the
// card approved: it is journaled without a STAN and the error says so.
func TestCounterFailure(t *testing.T) {
	for name, c := range map[string]brokenCounter{"fails": {}, "STAN 1000000": {stan: 1000000, batch: 1}, "batch 0": {stan: 5}} {
		t.Run(name, func(t *testing.T) {
			jr := journal.NewMemory()
			card := loadCard(t, "default.json")
			res, err := newKernel(t, kernel.WithJournal(jr), kernel.WithCounter(c)).Purchase(context.Background(), card, 1234)
			require.ErrorIs(t, err, kernel.ErrCounter)
			assert.NotErrorIs(t, err, kernel.ErrJournal, "the record was written")
			assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
			recs, err := jr.Records(context.Background())
			require.NoError(t, err)
			require.Len(t, recs, 1)
			assert.Zero(t, recs[0].STAN)

			b := newBank(t, "default.json", 200000)
			host := &reversingHost{capturingHost: capturingHost{Host: b.host}}
			res, err = newKernel(t, kernel.WithCounter(c), kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN})).
				Load(context.Background(), b.card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 10000})
			require.NoError(t, err)
			assert.Empty(t, host.reqs, "no request without a STAN")
			assert.Empty(t, host.reversed, "and no reversal of the request that never left")
			assert.Equal(t, kernel.ReasonUnableToGoOnline, res.Reason, res.Detail)
			assert.Equal(t, uint64(50000), b.card.Balance(debitAID), "nothing loaded")
		})
	}
}

type failingKey struct{ journal.DataKey }

func (failingKey) Seal(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("secure element busy")
}

func TestDataKeyFailureKeepsTheRecord(t *testing.T) {
	jr := journal.NewMemory()
	key, err := journal.NewAESGCMKey(make([]byte, 16))
	require.NoError(t, err)
	card := loadCard(t, "default.json")
	res, err := newKernel(t, kernel.WithJournal(jr), kernel.WithDataKey(failingKey{key})).Purchase(context.Background(), card, 1234)
	require.ErrorIs(t, err, kernel.ErrDataKey)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome)
	recs, err := jr.Records(context.Background())
	require.NoError(t, err)
	require.Len(t, recs, 1, "the sale is kept, with the masked PAN and the keyed hash")
	assert.Nil(t, recs[0].EncryptedPAN)
	assert.Equal(t, "622202*********6781", recs[0].MaskedPAN)
}

// After offline, online and load transactions and a torn sale found in
// the card's log (a discrepancy), the journal file holds the PAN in no form: not as
// digits, not as the card's BCD, not as track 2 (with 'D' or '='), and not
// the track 2 equivalent data the card sent.
func TestJournalFileNeverHoldsThePAN(t *testing.T) {
	b := newBank(t, "default.json", 500000)
	tm := newTerminal(t)
	torn := &kernel.MemoryTornLog{}
	k := newKernel(t, tm.options(kernel.WithHost(b.host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}), kernel.WithTornLog(torn))...)
	ctx := context.Background()
	_, err := k.Purchase(ctx, b.card, 1234)
	require.NoError(t, err)
	_, err = k.Purchase(ctx, b.card, 40000) // above the EC single limit: online
	require.NoError(t, err)
	_, err = k.Load(ctx, b.card, kernel.LoadRequest{Kind: kernel.LoadDesignated, Amount: 10000})
	require.NoError(t, err)
	_, err = k.Purchase(ctx, &tearAtGenerateAC{card: b.card}, 200)
	require.Error(t, err, "the card went away after GENERATE AC")
	require.Equal(t, 1, torn.Len())
	res, err := k.Purchase(ctx, b.card, 300)
	require.NoError(t, err)
	require.Len(t, res.Settled, 1, "the torn sale is found in the card's log")
	require.True(t, res.Settled[0].Happened)

	recs := tm.reread(t)
	kinds := map[journal.Kind]int{}
	stans := map[uint32]bool{}
	for _, r := range recs {
		kinds[r.Kind]++
		if r.Kind.Clearable() {
			assert.False(t, stans[r.STAN], "STAN %d on two records", r.STAN)
			stans[r.STAN] = true
		} else {
			assert.Zero(t, r.STAN, "a discrepancy of another card transaction is sent nowhere: no STAN")
		}
		pan, err := r.OpenPAN(ctx, tm.key)
		require.NoError(t, err)
		assert.Equal(t, cardPAN, pan)
	}
	assert.Equal(t, map[journal.Kind]int{journal.KindECOfflineSale: 2, journal.KindOnlineSale: 1, journal.KindLoad: 1, journal.KindDiscrepancy: 1}, kinds)

	file, err := os.ReadFile(tm.path)
	require.NoError(t, err)
	bcd, _ := hex.DecodeString(cardPAN + "F")
	track2 := cardPAN + "D" + cardExpiry[:4]
	t2bytes, _ := hex.DecodeString(track2 + "2200000")
	for _, needle := range []string{cardPAN, string(bcd), track2, strings.ToLower(track2), cardPAN + "=", cardPAN[:12], hex.EncodeToString(bcd), strings.ToUpper(hex.EncodeToString(t2bytes)), string(t2bytes)} {
		assert.False(t, bytes.Contains(file, []byte(needle)), "the journal file holds %q", needle)
	}
}

// tearAtGenerateAC passes commands to the card; the first GENERATE AC
// (after skip others) is executed and then the card is gone (a torn
// sale), as is everything after.
type tearAtGenerateAC struct {
	card *cardsim.Card
	skip int
	torn bool
}

func (c *tearAtGenerateAC) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if c.torn {
		return nil, cardsim.ErrCardRemoved
	}
	rsp, err := c.card.Transmit(ctx, cmd)
	if len(cmd) > 1 && cmd[1] == 0xAE {
		if c.skip == 0 {
			c.torn = true
			return nil, cardsim.ErrCardRemoved
		}
		c.skip--
	}
	return rsp, err
}

// reversingHost is capturingHost that also keeps the reversals.
type reversingHost struct {
	capturingHost
	reversed []kernel.AuthRequest
}

func (h *reversingHost) Reverse(ctx context.Context, req *kernel.AuthRequest) error {
	h.mu.Lock()
	h.reversed = append(h.reversed, *req)
	h.mu.Unlock()
	return h.Host.Reverse(ctx, req)
}

// The reversal of an approval the card did not complete carries the STAN
// of the request it reverses (the acquirer reverses by it).
func TestReversalCarriesTheSTANOfItsRequest(t *testing.T) {
	b := newBank(t, "low-balance.json", 200000)
	tm := newTerminal(t)
	host := &reversingHost{capturingHost: capturingHost{Host: b.host}}
	k := newKernel(t, tm.options(kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))...)
	res, err := k.Purchase(context.Background(), &tearAtGenerateAC{card: b.card, skip: 1}, 450)
	require.Error(t, err, "the card went away in the second GENERATE AC")
	require.True(t, res.Reversed, res.Detail)
	require.Len(t, host.reqs, 1)
	require.Len(t, host.reversed, 1)
	assert.NotZero(t, host.reqs[0].STAN)
	assert.Equal(t, host.reqs[0].STAN, host.reversed[0].STAN)
	assert.Equal(t, host.reqs[0].Batch, host.reversed[0].Batch)
	assert.Empty(t, tm.reread(t), "a reversed sale is no clearing record")
}

// replaceBytes is a card whose every response has old replaced by new.
type replaceBytes struct {
	card     *cardsim.Card
	old, new []byte
}

func (c *replaceBytes) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	rsp, err := c.card.Transmit(ctx, cmd)
	return bytes.ReplaceAll(rsp, c.old, c.new), err
}

// A card that lies in 5F24 (not a date) and a host that answers an
// authorisation code that is not text cannot make the record unwritable:
// the sale is journaled without them.
func TestLiesInClearingFieldsDoNotLoseTheRecord(t *testing.T) {
	b := newBank(t, "default.json", 200000)
	tm := newTerminal(t)
	host := kernel.HostFunc(func(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
		resp, err := b.host.Authorize(ctx, req)
		if resp != nil {
			resp.AuthCode = "\x00\x01\x02\x03\x04\x05"
		}
		return resp, err
	})
	k := newKernel(t, tm.options(kernel.WithHost(host), kernel.WithPINPad(hostsim.PINPad{PIN: testPIN}))...)
	card := &replaceBytes{card: b.card, old: []byte{0x5F, 0x24, 0x03, 0x35, 0x12, 0x31}, new: []byte{0x5F, 0x24, 0x03, 0xAB, 0x12, 0x31}}
	res, err := k.Purchase(context.Background(), card, 40000) // above the EC single limit: online
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	recs := tm.reread(t)
	require.Len(t, recs, 1)
	assert.Empty(t, recs[0].Expiry, "5F24 AB1231 is no date")
	assert.Empty(t, recs[0].AuthCode, "an authorisation code that is not text")
	assert.Equal(t, res.STAN, recs[0].STAN)
}
