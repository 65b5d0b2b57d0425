// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

var compactKey = []byte("0123456789abcdef0123456789abcdef")

// stateBuilder arms requests in a State through its own writes, as the
// link does, one trace number each from the State's counter.
type stateBuilder struct {
	t  testing.TB
	st *State
	at time.Time
}

// arm arms a request of card transaction atc and returns its ID.
func (b *stateBuilder) arm(atc uint16) string {
	b.t.Helper()
	ctx := context.Background()
	stan, err := b.st.reserveSTAN(ctx)
	require.NoError(b.t, err)
	f55 := tlv.Append(tlv.Append(nil, 0x9F36, []byte{byte(atc >> 8), byte(atc)}), 0x9F37, []byte{1, 2, 3, 4})
	b.at = b.at.Add(time.Second)
	rec := txnRecord{ID: fmt.Sprintf("%06d:%06d", b.st.Batch(), stan), Kind: kernel.RequestPurchase, STAN: stan,
		Batch: b.st.Batch(), Time: b.at, MaskedPAN: "623456******7890", Amount: 35000, Processing: "000000",
		Condition: "00", EntryMode: "051", Field60: "22000001000500", Field55: f55}
	rec.SealedPAN, err = b.st.sealPAN(ctx, rec.ID, "6234561234567890")
	require.NoError(b.t, err)
	b.do(event{T: evArmed, Txn: &rec})
	return rec.ID
}

// do writes the events.
func (b *stateBuilder) do(events ...event) {
	b.t.Helper()
	for _, e := range events {
		require.NoError(b.t, b.st.append(context.Background(), e), e.T)
	}
}

// pendingOfEachKind fills st with a settled batch 1 holding a request in
// every state, and an open batch 2. It returns the IDs Compact keeps and
// those it drops.
func pendingOfEachKind(t testing.TB, st *State) (kept, dropped []string) {
	b := &stateBuilder{t: t, st: st, at: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	ev := func(typ, id string, e event) event { e.T, e.ID = typ, id; return e }
	// Batch 1, settled below.
	stood := b.arm(1)
	b.do(ev(evReply, stood, event{Code: "00", Auth: "123456", RRN: "000000000001"}), ev(evStood, stood, event{}))
	declined := b.arm(2)
	b.do(ev(evReply, declined, event{Code: "05"}))
	reversed := b.arm(3)
	b.do(ev(evReply, reversed, event{Code: "00"}), ev(evReverse, reversed, event{Reason: "06"}),
		ev(evReversalFail, reversed, event{Code: "96"}), ev(evReversed, reversed, event{Code: "00"}))
	owed := b.arm(4) // the reversal still owed, refused once
	b.do(ev(evReverse, owed, event{Reason: "98"}), ev(evReversalFail, owed, event{Code: "96"}))
	advice := b.arm(5) // a top-up whose script result advice is owed
	b.do(ev(evReply, advice, event{Code: "00", Data: []byte{0, 0, 0, 1}}), ev(evStood, advice, event{}),
		ev(evAdvice, advice, event{Data: []byte{0x10, 0, 0, 0, 1}, Evidence: []byte{0x9F, 0x26, 1, 9}, Y1: true}))
	unresolved := b.arm(6)
	b.do(ev(evReply, unresolved, event{Code: "00"}), ev(evUnresolved, unresolved, event{}))
	unsent := b.arm(7)
	b.do(ev(evUnsent, unsent, event{}))
	advised := b.arm(8) // its advice taken: nothing owed
	b.do(ev(evReply, advised, event{Code: "00", Data: []byte{0, 0, 0, 2}}), ev(evStood, advised, event{}),
		ev(evAdvice, advised, event{Data: []byte{0x20, 0, 0, 0, 2}}), ev(evAdviceDone, advised, event{Code: "00"}))
	twin := b.arm(4) // finished, but the same card transaction as the owed reversal
	b.do(ev(evReply, twin, event{Code: "00"}), ev(evStood, twin, event{}))
	b.do(event{T: evSettled, N: 1})
	// Batch 2, open.
	open := b.arm(10) // stood, its advice taken: kept for the open batch, not owed
	b.do(ev(evReply, open, event{Code: "00", Data: []byte{0, 0, 0, 3}}), ev(evStood, open, event{}),
		ev(evAdvice, open, event{Data: []byte{0x00, 0, 0, 0, 3}}), ev(evAdviceDone, open, event{Code: "00"}))
	sent := b.arm(11)
	approved := b.arm(12)
	b.do(ev(evReply, approved, event{Code: "00"}))
	for range 150 { // trace numbers used without a request: two more reservations
		_, err := st.reserveSTAN(context.Background())
		require.NoError(t, err)
	}
	return []string{owed, advice, unresolved, twin, open, sent, approved}, []string{stood, declined, reversed, unsent, advised}
}

// stateDump is all a State holds, comparable.
type stateDump struct {
	STAN, Upto, Batch uint32
	Txns              []txnImage // in arming order
	Open              []string
	Batches           map[uint32][]string
	Cards             map[string]string
	Snapshot          []Txn
}

func dumpState(st *State) stateDump {
	snap := st.snapshot()
	st.mu.Lock()
	defer st.mu.Unlock()
	d := stateDump{STAN: st.stan, Upto: st.upto, Batch: st.batch, Batches: map[uint32][]string{}, Cards: map[string]string{},
		Snapshot: snap}
	all := make([]*txn, 0, len(st.txns))
	for _, t := range st.txns {
		all = append(all, t)
	}
	slices.SortFunc(all, func(a, b *txn) int { return a.seq - b.seq })
	for _, t := range all {
		img := *t.image()
		img.Time = img.Time.UTC()
		d.Txns = append(d.Txns, img)
	}
	for id := range st.open {
		d.Open = append(d.Open, id)
	}
	slices.Sort(d.Open)
	for b, ts := range st.batches {
		for _, t := range ts {
			d.Batches[b] = append(d.Batches[b], t.ID)
		}
	}
	for k, t := range st.cards {
		d.Cards[k] = t.ID
	}
	return d
}

// without returns d less the requests ids.
func (d stateDump) without(ids []string) stateDump {
	drop := func(id string) bool { return slices.Contains(ids, id) }
	d.Txns = slices.DeleteFunc(slices.Clone(d.Txns), func(m txnImage) bool { return drop(m.ID) })
	d.Open = slices.DeleteFunc(slices.Clone(d.Open), drop)
	batches := map[uint32][]string{}
	for b, ts := range d.Batches {
		if ts = slices.DeleteFunc(slices.Clone(ts), drop); len(ts) > 0 {
			batches[b] = ts
		}
	}
	d.Batches = batches
	cards := map[string]string{}
	for k, id := range d.Cards {
		if !drop(id) {
			cards[k] = id
		}
	}
	d.Cards = cards
	return d
}

func openCompactState(t testing.TB, path string) *State {
	t.Helper()
	key, err := journal.NewAESGCMKey(compactKey)
	require.NoError(t, err)
	st, err := OpenState(context.Background(), path, key)
	require.NoError(t, err)
	return st
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// A state with one request in every state, compacted, reopens exactly as
// the uncompacted one does, less the finished requests of the settled
// batch: the same counters, every reversal and advice still owed, every
// request of the open batch, and the same request for a card transaction.
func TestCompactKeepsWhatIsOwed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "acquirer.state")
	st := openCompactState(t, path)
	kept, dropped := pendingOfEachKind(t, st)
	require.NoError(t, st.Close())
	plainPath := filepath.Join(dir, "plain.state")
	copyFile(t, path, plainPath)

	st = openCompactState(t, path)
	before := dumpState(st)
	sizeBefore := fileSize(t, path)
	require.NoError(t, st.Compact(ctx))
	memory := dumpState(st)
	require.NoError(t, st.Close())
	assert.Less(t, fileSize(t, path), sizeBefore/2, "the settled batch's history is gone")

	plain := openCompactState(t, plainPath)
	defer plain.Close()
	compacted := openCompactState(t, path)
	defer compacted.Close()
	want := dumpState(plain).without(dropped)
	got := dumpState(compacted)
	assert.Equal(t, want, got, "reopened: the uncompacted state less the settled batch's finished requests")
	assert.Equal(t, before.without(dropped), memory, "in memory, compaction only forgets")
	var ids []string
	for _, m := range got.Txns {
		ids = append(ids, m.ID)
	}
	assert.Equal(t, kept, ids, "kept, in arming order")

	// The rows the money rule is about, read from the reopened state.
	owed := compacted.txnsIn(TxnReversalPending)
	require.Len(t, owed, 1)
	assert.Equal(t, "06", owed[0].Reason, "refused once: it goes again as 06")
	assert.Equal(t, 1, owed[0].ReversalTry)
	var advices []string
	for _, x := range compacted.snapshot() {
		if x.AdviceOwed {
			advices = append(advices, x.ID)
		}
	}
	assert.Equal(t, []string{kept[1]}, advices)
	adv, _ := compacted.txnByID(kept[1])
	assert.Equal(t, []byte{0x10, 0, 0, 0, 1}, adv.Advice)
	assert.Equal(t, []byte{0x9F, 0x26, 1, 9}, adv.Evidence)
	assert.True(t, adv.Y1)
	assert.Len(t, compacted.txnsIn(TxnUnresolved), 1)
	twin, ok := compacted.findByCard(owed[0].card())
	require.True(t, ok)
	assert.Equal(t, kept[3], twin.ID, "the card transaction names the same request as before")
	assert.Equal(t, uint32(2), compacted.Batch())
	assert.Equal(t, []string{kept[4], kept[5], kept[6]}, idsOf(compacted.txnsInBatch(2)))

	// The next trace number is the same, above every one used, and a new
	// reservation after the compaction survives a reopen.
	n1, err := plain.reserveSTAN(ctx)
	require.NoError(t, err)
	n2, err := compacted.reserveSTAN(ctx)
	require.NoError(t, err)
	assert.Equal(t, n1, n2)
	assert.Greater(t, n2, before.STAN)
	assert.Greater(t, n2, before.Upto, "what was reserved may have been used")
	require.NoError(t, compacted.Close())
	again := openCompactState(t, path)
	defer again.Close()
	n3, err := again.reserveSTAN(ctx)
	require.NoError(t, err)
	assert.Greater(t, n3, n2)
}

func idsOf(ts []*txn) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

// Compacting twice writes the same state; a State whose batch is not
// settled keeps every request.
func TestCompactIsStable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "acquirer.state")
	st := openCompactState(t, path)
	defer st.Close()
	b := &stateBuilder{t: t, st: st, at: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	for i := range 5 {
		id := b.arm(uint16(i + 1))
		b.do(event{T: evReply, ID: id, Code: "00"}, event{T: evStood, ID: id})
	}
	before := dumpState(st)
	require.NoError(t, st.Compact(ctx))
	once := dumpState(st)
	require.NoError(t, st.Compact(ctx))
	assert.Equal(t, once, dumpState(st))
	assert.Equal(t, before, once, "an open batch's requests all stay")
	assert.Equal(t, 6, st.events, "one reservation and five requests")
}

// OpenState compacts a log that holds many times the events of its live
// state, and leaves a small one alone.
func TestOpenStateCompactsALongLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acquirer.state")
	writeLongLog(t, path, 400) // 400 settled sales: over 1000 events
	size := fileSize(t, path)
	st := openCompactState(t, path)
	defer st.Close()
	assert.Less(t, fileSize(t, path), size/10)
	assert.Empty(t, st.snapshot(), "the settled sales are gone")
	assert.Equal(t, 2, st.events, "the reservation and the batch number")

	small := filepath.Join(dir, "small.state")
	writeLongLog(t, small, 10)
	size = fileSize(t, small)
	st2 := openCompactState(t, small)
	defer st2.Close()
	assert.Equal(t, size, fileSize(t, small), "under 1000 events: left as it is")
}

// writeLongLog writes n stood sales of a settled batch and one sale of the
// open batch as the link would, in one Rewrite (not one fsync each).
func writeLongLog(t testing.TB, path string, n int) {
	t.Helper()
	ctx := context.Background()
	key, err := journal.NewAESGCMKey(compactKey)
	require.NoError(t, err)
	mem := &memLog{}
	st, err := newState(ctx, mem, key)
	require.NoError(t, err)
	b := &stateBuilder{t: t, st: st, at: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	var prev string
	for i := range n {
		id := b.arm(uint16(i + 1))
		e := event{T: evReply, ID: id, Code: "00"}
		if prev != "" {
			b.do(event{T: evStood, ID: prev})
		}
		b.do(e)
		prev = id
	}
	b.do(event{T: evStood, ID: prev}, event{T: evSettled, N: 1})
	l, err := journal.OpenLog(path)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Rewrite(ctx, mem.p))
}

// An event for a request a compaction dropped (a caller that looked the
// request up before a concurrent Compact) is refused before it is written:
// the log still opens, and the requests it keeps are as they were.
func TestNoEventForADroppedRequest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "acquirer.state")
	st := openCompactState(t, path)
	_, dropped := pendingOfEachKind(t, st)
	require.NotEmpty(t, dropped)
	require.NoError(t, st.Compact(ctx))
	_, held := st.txnByID(dropped[0])
	require.False(t, held)
	err := st.append(ctx, event{T: evAdvice, ID: dropped[0], Data: []byte{0x10, 0, 0, 0, 1}})
	require.ErrorIs(t, err, ErrState)
	err = st.append(ctx, event{T: evArmed})
	require.ErrorIs(t, err, ErrState, "an armed event without its request is not written either")
	want := dumpState(st)
	require.NoError(t, st.Close())

	again := openCompactState(t, path) // fails the test if the log no longer opens
	defer again.Close()
	got := dumpState(again)
	assert.Equal(t, want.Upto, got.STAN, "a reopen goes on after the reservation")
	want.STAN, got.STAN = 0, 0
	assert.Equal(t, want, got)
}
