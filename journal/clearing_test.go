// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// book implementations under test: File (fresh, and reopened between
// steps by reopen) and Memory.
type bookImpl struct {
	j interface {
		Journal
		Counter
	}
	reopen func(t *testing.T) // File: close and open the same path again; Memory: nothing
}

func bookImpls(t *testing.T, opts ...Option) map[string]*bookImpl {
	path := filepath.Join(t.TempDir(), "journal.dat")
	f, err := Open(path, opts...)
	require.NoError(t, err)
	fi := &bookImpl{j: f}
	fi.reopen = func(t *testing.T) {
		require.NoError(t, fi.j.Close())
		f, err := Open(path, opts...)
		require.NoError(t, err)
		fi.j = f
	}
	t.Cleanup(func() { _ = fi.j.Close() })
	return map[string]*bookImpl{"File": fi, "Memory": {j: NewMemory(), reopen: func(*testing.T) {}}}
}

var at = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func TestUploadStateChanges(t *testing.T) {
	// Every pair of states: may a record in the first be marked with the
	// second? ok: written; noop: nothing written, nil; no: ErrTransition.
	const ok, noop, no = "ok", "noop", "no"
	table := map[UploadState]map[UploadState]string{
		UploadPending:      {UploadPending: noop, UploadSent: ok, UploadAcknowledged: no, UploadRefused: no},
		UploadSent:         {UploadPending: ok, UploadSent: ok, UploadAcknowledged: ok, UploadRefused: ok},
		UploadAcknowledged: {UploadPending: no, UploadSent: no, UploadAcknowledged: noop, UploadRefused: no},
		UploadRefused:      {UploadPending: ok, UploadSent: no, UploadAcknowledged: no, UploadRefused: noop},
	}
	// How to bring a fresh record to each state.
	path := map[UploadState][]UploadState{
		UploadPending:      nil,
		UploadSent:         {UploadSent},
		UploadAcknowledged: {UploadSent, UploadAcknowledged},
		UploadRefused:      {UploadSent, UploadRefused},
	}
	for from, row := range table {
		for to, want := range row {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				for name, b := range bookImpls(t) {
					r := testRecord(0)
					require.NoError(t, b.j.Append(ctx, r))
					for _, s := range path[from] {
						require.NoError(t, b.j.Mark(ctx, r.ID, UploadEvent{State: s, Time: at}))
					}
					b.reopen(t)
					err := b.j.Mark(ctx, r.ID, UploadEvent{State: to, Time: at.Add(time.Minute), Detail: "00"})
					recs, rerr := b.j.Records(ctx)
					require.NoError(t, rerr)
					u := recs[0].Upload
					switch want {
					case ok:
						require.NoError(t, err, name)
						assert.Equal(t, to, recs[0].UploadState(), name)
						assert.Len(t, u.History, len(path[from])+1, name)
						assert.Equal(t, "00", u.History[len(u.History)-1].Detail, name)
					case noop:
						require.NoError(t, err, name)
						assert.Equal(t, from, recs[0].UploadState(), name)
						assert.Equal(t, len(path[from]), historyLen(u), name)
					case no:
						require.ErrorIs(t, err, ErrTransition, name)
						assert.Equal(t, from, recs[0].UploadState(), name)
					}
				}
			})
		}
	}
}

func historyLen(u *Upload) int {
	if u == nil {
		return 0
	}
	return len(u.History)
}

func TestMarkRefusesWhatCannotBeRight(t *testing.T) {
	for name, b := range bookImpls(t) {
		r := testRecord(0)
		require.NoError(t, b.j.Append(ctx, r))
		assert.ErrorIs(t, b.j.Mark(ctx, "no such id", UploadEvent{State: UploadSent}), ErrNotFound, name)
		assert.ErrorIs(t, b.j.Mark(ctx, r.ID, UploadEvent{State: "lost"}), ErrTransition, name)
		assert.ErrorIs(t, b.j.Mark(ctx, r.ID, UploadEvent{State: UploadSent, Detail: strings.Repeat("x", 300)}), ErrInvalid, name)
		require.NoError(t, b.j.Mark(ctx, r.ID, UploadEvent{State: UploadSent}), name)
		recs, err := b.j.Records(ctx)
		require.NoError(t, err)
		assert.False(t, recs[0].Upload.History[0].Time.IsZero(), "%s: a mark without time gets the time of the call", name)
		// A record appended again (a retry) keeps its upload state.
		require.NoError(t, b.j.Append(ctx, r))
		recs, err = b.j.Records(ctx)
		require.NoError(t, err)
		assert.Equal(t, UploadSent, recs[0].UploadState(), name)
	}
}

func TestSTANsFollowAndNeverRepeat(t *testing.T) {
	for name, b := range bookImpls(t, WithSTANBlock(5)) {
		seen := map[uint32]bool{}
		draw := func(n int) []uint32 {
			var out []uint32
			for range n {
				stan, batch, err := b.j.NextSTAN(ctx)
				require.NoError(t, err)
				assert.Equal(t, uint32(1), batch)
				assert.False(t, seen[stan], "%s: STAN %d handed out twice in batch 1", name, stan)
				seen[stan] = true
				out = append(out, stan)
			}
			return out
		}
		assert.Equal(t, []uint32{1, 2, 3}, draw(3), name)
		b.reopen(t)
		if name == "File" {
			// 4 and 5 were reserved (block 5) and may have been sent
			// before the restart: skipped, never reused.
			assert.Equal(t, []uint32{6, 7}, draw(2), name)
		} else {
			assert.Equal(t, []uint32{4, 5}, draw(2), name)
		}
	}
}

func TestSTANWrapsAndFillsTheBatch(t *testing.T) {
	m := NewMemory()
	m.st.last, m.st.top = maxSTAN-1, maxSTAN-1
	m.st.lastCount, m.st.topCount = 10, 10
	var got []uint32
	for range 3 {
		stan, _, err := m.NextSTAN(ctx)
		require.NoError(t, err)
		got = append(got, stan)
	}
	assert.Equal(t, []uint32{maxSTAN, 1, 2}, got, "999999 is followed by 1")

	// A batch that has used every STAN takes no more until it is closed.
	m.st.lastCount = maxSTAN - 1
	_, _, err := m.NextSTAN(ctx)
	require.NoError(t, err)
	_, _, err = m.NextSTAN(ctx)
	require.ErrorIs(t, err, ErrBatchFull)
	next, err := m.CloseBatch(ctx, BatchClose{Batch: 1})
	require.NoError(t, err)
	stan, batch, err := m.NextSTAN(ctx)
	require.NoError(t, err)
	assert.Equal(t, next, batch)
	assert.Equal(t, uint32(4), stan, "STANs continue across batches")
}

func TestSTANsOfConcurrentTransactions(t *testing.T) {
	for name, b := range bookImpls(t, WithSTANBlock(7)) {
		var mu sync.Mutex
		var all []uint32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 25 {
					stan, _, err := b.j.NextSTAN(ctx)
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					all = append(all, stan)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		for i, s := range all {
			require.Equal(t, uint32(i+1), s, "%s: 200 distinct STANs, none skipped without a restart", name)
		}
	}
}

func TestBatchNumbers(t *testing.T) {
	for name, b := range bookImpls(t) {
		open := func() uint32 {
			n, err := b.j.OpenBatch(ctx)
			require.NoError(t, err)
			return n
		}
		assert.Equal(t, uint32(1), open(), name)
		// The acquirer's sign-in reply names the batch (60.2): taken while
		// the batch is empty.
		require.NoError(t, b.j.SetBatch(ctx, 41), name)
		require.NoError(t, b.j.SetBatch(ctx, 41), name)
		assert.ErrorIs(t, b.j.SetBatch(ctx, 0), ErrInvalid, name)
		assert.ErrorIs(t, b.j.SetBatch(ctx, 1000000), ErrInvalid, name)
		stan, batch, err := b.j.NextSTAN(ctx)
		require.NoError(t, err)
		assert.Equal(t, uint32(41), batch)
		r := testRecord(0)
		r.STAN, r.Batch = stan, batch
		require.NoError(t, b.j.Append(ctx, r))
		assert.ErrorIs(t, b.j.SetBatch(ctx, 42), ErrBatchInUse, "%s: a batch with records is settled, not renumbered", name)

		totals := BatchTotals([]Record{r}, 41)
		assert.ErrorIs(t, closeErr(b.j.CloseBatch(ctx, BatchClose{Batch: 40, Totals: totals})), ErrBatch, name)
		next, err := b.j.CloseBatch(ctx, BatchClose{Batch: 41, Time: at, Totals: totals, Result: "balanced"})
		require.NoError(t, err)
		assert.Equal(t, uint32(42), next, name)
		b.reopen(t)
		assert.Equal(t, uint32(42), open(), name)
		again, err := b.j.CloseBatch(ctx, BatchClose{Batch: 41, Totals: totals})
		require.NoError(t, err, "%s: a settlement retried after a crash", name)
		assert.Equal(t, uint32(42), again, name)
		assert.ErrorIs(t, b.j.SetBatch(ctx, 41), ErrBatchInUse, "%s: a closed batch is not reopened", name)
		closed, err := b.j.Batches(ctx)
		require.NoError(t, err)
		require.Len(t, closed, 1, name)
		assert.Equal(t, BatchClose{Batch: 41, Time: at, Totals: totals, Result: "balanced", Next: 42}, closed[0], name)
		_, batch, err = b.j.NextSTAN(ctx)
		require.NoError(t, err)
		assert.Equal(t, uint32(42), batch, name)
	}
	m := NewMemory()
	require.NoError(t, m.SetBatch(ctx, maxSTAN))
	next, err := m.CloseBatch(ctx, BatchClose{Batch: maxSTAN})
	require.NoError(t, err)
	assert.Equal(t, uint32(1), next, "batch 999999 is followed by 1")
}

func closeErr(_ uint32, err error) error { return err }

// A record of a batch that was closed in the meantime (the settlement
// raced a transaction) is kept, never refused: recomputing the batch's
// totals shows it beside what was reported.
func TestLateRecordOfAClosedBatchIsKept(t *testing.T) {
	for name, b := range bookImpls(t) {
		_, batch, err := b.j.NextSTAN(ctx)
		require.NoError(t, err)
		reported := BatchTotals(nil, batch)
		_, err = b.j.CloseBatch(ctx, BatchClose{Batch: batch, Totals: reported})
		require.NoError(t, err)
		r := testRecord(0)
		r.STAN, r.Batch = 1, batch
		require.NoError(t, b.j.Append(ctx, r), name)
		recs, err := b.j.Records(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, reported, BatchTotals(recs, batch), name)
	}
}

func TestBatchTotals(t *testing.T) {
	rec := func(kind Kind, aid, txn string, amount uint64, batch uint32) Record {
		return Record{Kind: kind, AID: aid, TransactionType: txn, Amount: amount, Batch: batch}
	}
	const cup, visa = "A000000333010101", "A0000000031010"
	recs := []Record{
		rec(KindECOfflineSale, cup, "00", 1234, 3),
		rec(KindOnlineSale, cup, "00", 10000, 3),
		rec(KindOfflineSale, strings.ToLower(cup), "00", 1, 3),
		rec(KindTorn, cup, "00", 500, 3),        // asks for no money
		rec(KindDiscrepancy, cup, "00", 600, 3), // nor does this
		rec(KindLoad, cup, "63", 20000, 3),      // cash: the merchant took it
		rec(KindLoad, cup, "60", 30000, 3),      // from an account: no merchant money
		rec(KindLoad, cup, "62", 40000, 3),
		rec(KindLoad, cup, "", 50000, 3), // format 1: unknown kind of load
		rec(KindOnlineSale, visa, "00", 700, 3),
		rec(KindECOfflineSale, cup, "00", 99999, 4), // another batch
		rec("refund_by_vendor", cup, "20", 5, 3),    // a kind this package does not count
	}
	got := BatchTotals(recs, 3)
	assert.Equal(t, Totals{Batch: 3,
		Domestic: Side{DebitCount: 3, DebitAmount: 11235, CreditCount: 1, CreditAmount: 20000},
		Foreign:  Side{DebitCount: 1, DebitAmount: 700},
	}, got)
	f48, err := got.Field48()
	require.NoError(t, err)
	assert.Equal(t, "000000011235003000000020000001"+"0"+"000000000700001000000000000000"+"0", f48)
	assert.Len(t, f48, 62)

	back, dom, frn, err := ParseField48(f48)
	require.NoError(t, err)
	back.Batch = 3
	assert.Equal(t, got, back)
	assert.Equal(t, []byte{'0', '0'}, []byte{dom, frn})
	_, dom, frn, err = ParseField48(strings.Repeat("0", 30) + "1" + strings.Repeat("0", 30) + "2")
	require.NoError(t, err)
	assert.Equal(t, []byte{'1', '2'}, []byte{dom, frn}, "a reply: domestic balanced, foreign unbalanced")
	for _, bad := range []string{"", f48[:61], f48 + "0", strings.Replace(f48, "0", "x", 1)} {
		_, _, _, err := ParseField48(bad)
		assert.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}

	for _, over := range []Totals{
		{Domestic: Side{DebitCount: 1000}},
		{Foreign: Side{CreditCount: 1000}},
		{Domestic: Side{DebitAmount: 1_000_000_000_000}},
	} {
		_, err := over.Field48()
		assert.ErrorIs(t, err, ErrInvalid, "%+v does not fit field 48", over)
	}
}

func TestDataKey(t *testing.T) {
	// The key check value of the all-zero AES-128 key: AES(0, 0) starts
	// 66E94B (FIPS-197 style known answer).
	zero, err := NewAESGCMKey(make([]byte, 16))
	require.NoError(t, err)
	assert.Equal(t, "aes-gcm:66E94B", zero.ID())
	_, err = NewAESGCMKey(make([]byte, 15))
	assert.Error(t, err)

	key := testDataKey(t)
	r := testRecord(0)
	require.NoError(t, r.SealPAN(ctx, key, testPAN+"F"))
	assert.Equal(t, key.ID(), r.EncryptedPAN.Key)
	assert.NotContains(t, r.EncryptedPAN.Data, testPAN)
	pan, err := r.OpenPAN(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, testPAN, pan)

	other, err := NewAESGCMKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	_, err = r.OpenPAN(ctx, other)
	assert.ErrorIs(t, err, ErrWrongKey)

	moved := testRecord(1) // another sale of the same card
	moved.EncryptedPAN = r.EncryptedPAN
	_, err = moved.OpenPAN(ctx, key)
	assert.ErrorIs(t, err, ErrSealedPAN, "a sealed PAN is bound to its record")

	tampered := r
	b, _ := hex.DecodeString(r.EncryptedPAN.Data)
	b[len(b)-1] ^= 1
	tampered.EncryptedPAN = &SealedPAN{Key: key.ID(), Data: hex.EncodeToString(b)}
	_, err = tampered.OpenPAN(ctx, key)
	assert.ErrorIs(t, err, ErrSealedPAN)

	wrongPAN := testRecord(0)
	require.NoError(t, wrongPAN.SealPAN(ctx, key, "6234560000007890"))
	wrongPAN.MaskedPAN = "111111******2222"
	_, err = wrongPAN.OpenPAN(ctx, key)
	assert.ErrorIs(t, err, ErrSealedPAN, "the PAN must be the one the masked PAN shows")

	plain := testRecord(0)
	_, err = plain.OpenPAN(ctx, key)
	assert.ErrorIs(t, err, ErrNoPAN)
	noID := Record{}
	assert.ErrorIs(t, noID.SealPAN(ctx, key, testPAN), ErrInvalid)

	r2 := testRecord(0)
	require.NoError(t, r2.SealPAN(ctx, key, testPAN))
	assert.NotEqual(t, r.EncryptedPAN.Data, r2.EncryptedPAN.Data, "a fresh nonce each time")
}

func testDataKey(t testing.TB) *AESGCMKey {
	k, err := NewAESGCMKey(bytes.Repeat([]byte{0x42}, 32))
	require.NoError(t, err)
	return k
}

func TestClearingFieldsValidate(t *testing.T) {
	cases := map[string]func(r *Record){
		"STAN above n6":            func(r *Record) { r.STAN = 1000000 },
		"batch above n6":           func(r *Record) { r.Batch = 1000000 },
		"entry mode not n3":        func(r *Record) { r.EntryMode = "05" },
		"entry mode letters":       func(r *Record) { r.EntryMode = "0A1" },
		"expiry not YYMMDD":        func(r *Record) { r.Expiry = "2512" },
		"expiry not digits":        func(r *Record) { r.Expiry = "25123F" },
		"transaction type 2 bytes": func(r *Record) { r.TransactionType = "0000" },
		"terminal ID too long":     func(r *Record) { r.TerminalID = "123456789" },
		"merchant ID control":      func(r *Record) { r.MerchantID = "12345\n" },
		"auth code too long":       func(r *Record) { r.AuthCode = "1234567" },
		"response code too long":   func(r *Record) { r.ResponseCode = "000" },
		"sealed PAN without key":   func(r *Record) { r.EncryptedPAN = &SealedPAN{Data: "00"} },
		"sealed PAN not hex":       func(r *Record) { r.EncryptedPAN = &SealedPAN{Key: "k", Data: "zz"} },
		"sealed PAN empty":         func(r *Record) { r.EncryptedPAN = &SealedPAN{Key: "k"} },
	}
	for name, mutate := range cases {
		r := testClearingRecord(t, 0)
		require.NoError(t, r.Validate())
		mutate(&r)
		assert.ErrorIs(t, r.Validate(), ErrInvalid, name)
	}
	// What a card or host lied about is dropped, and the record kept.
	r := testClearingRecord(t, 0)
	r.Expiry, r.AuthCode, r.ResponseCode, r.TerminalID = "AB1231", "\x00\x01", "0\n", "TERMINAL-9"
	assert.Equal(t, []string{"expiry", "terminal_id", "auth_code", "response_code"}, r.DropMisfits())
	assert.NoError(t, r.Validate())
	assert.Equal(t, "052", r.EntryMode, "what fits stays")
	assert.Empty(t, r.DropMisfits())
}

// testClearingRecord is testRecord with every clearing field filled.
func testClearingRecord(t testing.TB, i int) Record {
	r := testRecord(i)
	r.Expiry, r.TransactionType, r.EntryMode = "301231", "00", "052"
	r.STAN, r.Batch = uint32(100+i), 7
	r.TerminalID, r.MerchantID = "PBOC0001", "123456789012345"
	require.NoError(t, r.SealPAN(ctx, testDataKey(t), testPAN))
	return r
}

// The full PAN is never in the journal file in clear, in any encoding:
// ASCII digits, the card's BCD, or as track 2 (PAN 'D' or '=' expiry).
func TestPANNeverInTheFile(t *testing.T) {
	j, path := openTemp(t)
	for i := range 3 {
		r := testClearingRecord(t, i)
		require.NoError(t, j.Append(ctx, r))
		require.NoError(t, j.Mark(ctx, r.ID, UploadEvent{State: UploadSent}))
	}
	b := readFile(t, path)
	bcd, _ := hex.DecodeString(testPAN)
	for _, needle := range [][]byte{[]byte(testPAN), bcd, []byte(testPAN[:12]), []byte(testPAN + "D"), []byte(testPAN + "=")} {
		assert.False(t, bytes.Contains(b, needle), "the journal file holds %q", needle)
	}
	recs, err := j.Records(ctx)
	require.NoError(t, err)
	pan, err := recs[2].OpenPAN(ctx, testDataKey(t))
	require.NoError(t, err)
	assert.Equal(t, testPAN, pan, "and the key gets it back")
}

// A journal written by the format-1 code (before the clearing fields, the
// upload events and the counter; testdata/format1.dat, written by this
// package at commit 166c0ce) still opens, reads, takes upload marks and
// new records, and counts its records in batch 0.
func TestFormat1JournalStillReads(t *testing.T) {
	old, err := os.ReadFile("testdata/format1.dat")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "old.dat")
	require.NoError(t, os.WriteFile(path, old, 0o600))

	ro, err := Open("testdata/format1.dat", ReadOnly())
	require.NoError(t, err)
	recs, err := ro.Records(ctx)
	require.NoError(t, err)
	require.NoError(t, ro.Close())
	require.Len(t, recs, 4)
	kinds := []Kind{KindECOfflineSale, KindOnlineSale, KindLoad, KindTorn}
	for i, r := range recs {
		assert.Equal(t, 1, r.Format)
		assert.Equal(t, kinds[i], r.Kind)
		assert.Equal(t, uint64(1234+i), r.Amount)
		assert.Equal(t, "621234*********4567", r.MaskedPAN)
		assert.Equal(t, uint16(10+i), r.ATC)
		assert.Equal(t, UploadPending, r.UploadState())
		assert.Zero(t, r.STAN)
		assert.Nil(t, r.EncryptedPAN)
		require.NoError(t, r.Validate())
	}
	assert.Equal(t, Side{DebitCount: 2, DebitAmount: 1234 + 1235}, BatchTotals(recs, 0).Domestic,
		"a format-1 load's kind is unknown and a torn record asks for nothing: not counted")

	j, err := Open(path)
	require.NoError(t, err)
	defer j.Close()
	require.NoError(t, j.Append(ctx, recs[0]), "an old record appended again is the same sale")
	require.NoError(t, j.Mark(ctx, recs[0].ID, UploadEvent{State: UploadSent, Time: at}))
	require.NoError(t, j.Append(ctx, testClearingRecord(t, 0)))
	stan, batch, err := j.NextSTAN(ctx)
	require.NoError(t, err)
	assert.Equal(t, []uint32{1, 1}, []uint32{stan, batch})
	all, err := j.Records(ctx)
	require.NoError(t, err)
	require.Len(t, all, 5)
	assert.Equal(t, UploadSent, all[0].UploadState())
	assert.Equal(t, 2, all[4].Format)
	assert.True(t, bytes.HasPrefix(readFile(t, path), old), "the old frames are left as they were")
}

func TestNewerFormatIsRefused(t *testing.T) {
	for name, payload := range map[string]string{
		"record format 3": `{"format":3,"id":"x","kind":"ec_offline_sale"}`,
		"unknown event":   `{"event":"refund","id":"x"}`,
	} {
		path := filepath.Join(t.TempDir(), "new.dat")
		require.NoError(t, os.WriteFile(path, appendFrame(nil, []byte(payload)), 0o600))
		_, err := Open(path)
		require.ErrorIs(t, err, ErrCorrupt, name)
		require.ErrorIs(t, err, ErrNewerFormat, name)
	}
}

// Entries that no writer could have put in that order are damage.
func TestInconsistentEventsAreCorruption(t *testing.T) {
	rec, err := encodeRecord(&Record{ID: "a", Kind: KindLoad})
	require.NoError(t, err)
	for name, payloads := range map[string][]string{
		"upload of unknown record":   {`{"event":"upload","id":"b","upload":{"state":"sent","time":"2026-03-01T00:00:00Z"}}`},
		"acknowledged unsent":        {`{"event":"upload","id":"a","upload":{"state":"acknowledged","time":"2026-03-01T00:00:00Z"}}`},
		"reservation of wrong batch": {`{"event":"stan","batch":2,"stan":5,"count":5}`},
		"reservation going back":     {`{"event":"stan","batch":1,"stan":5,"count":5}`, `{"event":"stan","batch":1,"stan":9,"count":3}`},
		"close of a batch not open":  {`{"event":"close","close":{"batch":3,"next":4,"time":"2026-03-01T00:00:00Z","totals":{}}}`},
		"close skipping a batch":     {`{"event":"close","close":{"batch":1,"next":5,"time":"2026-03-01T00:00:00Z","totals":{}}}`},
	} {
		b := append([]byte(nil), rec...)
		for _, p := range payloads {
			b = appendFrame(b, []byte(p))
		}
		_, _, err := scan(b, "t", 0)
		assert.ErrorIs(t, err, ErrCorrupt, name)
		var ce *CorruptError
		if assert.True(t, errors.As(err, &ce), name) {
			assert.Greater(t, ce.Offset, int64(0), name)
		}
	}
}

func TestCounterAndMarkAfterClose(t *testing.T) {
	for name, b := range bookImpls(t) {
		require.NoError(t, b.j.Close())
		_, _, err := b.j.NextSTAN(ctx)
		assert.ErrorIs(t, err, ErrClosed, name)
		assert.ErrorIs(t, b.j.Mark(ctx, "x", UploadEvent{State: UploadSent}), ErrClosed, name)
		c, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err = NewMemory().NextSTAN(c)
		assert.ErrorIs(t, err, context.Canceled, name)
		b.reopen = func(*testing.T) {}
		if f, ok := b.j.(*File); ok {
			b.j, _ = Open(f.Path()) // for the cleanup's Close
		}
	}
}
