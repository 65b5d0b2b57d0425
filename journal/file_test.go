// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// contract runs the rules every Journal follows against one implementation.
func TestJournalContract(t *testing.T) {
	impls := map[string]func(t *testing.T) Journal{
		"File":   func(t *testing.T) Journal { j, _ := openTemp(t); return j },
		"Memory": func(*testing.T) Journal { return NewMemory() },
	}
	for name, newJ := range impls {
		t.Run(name, func(t *testing.T) {
			t.Run("append and read back in order", func(t *testing.T) {
				j := newJ(t)
				for i := range 3 {
					require.NoError(t, j.Append(ctx, testRecord(i)))
				}
				recs, err := j.Records(ctx)
				require.NoError(t, err)
				assert.Equal(t, []Record{testRecord(0), testRecord(1), testRecord(2)}, recs)
			})
			t.Run("same sale twice is kept once", func(t *testing.T) {
				j := newJ(t)
				require.NoError(t, j.Append(ctx, testRecord(0)))
				again := testRecord(0)
				again.Time = again.Time.Add(time.Minute) // rebuilt after a restart
				require.NoError(t, j.Append(ctx, again))
				recs, err := j.Records(ctx)
				require.NoError(t, err)
				require.Len(t, recs, 1)
				assert.Equal(t, testRecord(0).Time, recs[0].Time, "the first write wins")
			})
			t.Run("same id different sale is a conflict", func(t *testing.T) {
				j := newJ(t)
				require.NoError(t, j.Append(ctx, testRecord(0)))
				other := testRecord(0)
				other.Amount++
				err := j.Append(ctx, other)
				require.ErrorIs(t, err, ErrConflict)
				assert.Contains(t, err.Error(), other.ID)
				recs, err := j.Records(ctx)
				require.NoError(t, err)
				assert.Len(t, recs, 1)
			})
			t.Run("full PAN refused", func(t *testing.T) {
				j := newJ(t)
				r := testRecord(0)
				r.MaskedPAN = testPAN
				err := j.Append(ctx, r)
				require.ErrorIs(t, err, ErrFullPAN)
				require.ErrorIs(t, err, ErrInvalid)
				recs, err := j.Records(ctx)
				require.NoError(t, err)
				assert.Empty(t, recs)
			})
			t.Run("cancelled context", func(t *testing.T) {
				j := newJ(t)
				c, cancel := context.WithCancel(ctx)
				cancel()
				require.ErrorIs(t, j.Append(c, testRecord(0)), context.Canceled)
			})
			t.Run("closed", func(t *testing.T) {
				j := newJ(t)
				require.NoError(t, j.Close())
				require.ErrorIs(t, j.Append(ctx, testRecord(0)), ErrClosed)
				_, err := j.Records(ctx)
				require.ErrorIs(t, err, ErrClosed)
			})
		})
	}
}

func TestMemoryRecordsAreCopies(t *testing.T) {
	m := NewMemory()
	require.NoError(t, m.Append(ctx, testRecord(0)))
	recs, err := m.Records(ctx)
	require.NoError(t, err)
	*recs[0].BalanceAfter = 1
	recs, err = m.Records(ctx)
	require.NoError(t, err)
	assert.Equal(t, *testRecord(0).BalanceAfter, *recs[0].BalanceAfter)
}

func TestReopenKeepsRecordsAndDedup(t *testing.T) {
	path, offs := writeJournal(t, 3)
	j, err := Open(path)
	require.NoError(t, err)
	defer j.Close()
	assert.Zero(t, j.Recovered())
	recs, err := j.Records(ctx)
	require.NoError(t, err)
	assert.Equal(t, []Record{testRecord(0), testRecord(1), testRecord(2)}, recs)

	// The index is rebuilt from disk: appending an old sale writes nothing.
	require.NoError(t, j.Append(ctx, testRecord(1)))
	assert.Equal(t, offs[3], fileSize(t, path))
	require.NoError(t, j.Append(ctx, testRecord(3)))
	assert.Greater(t, fileSize(t, path), offs[3])
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

func TestFrameLayout(t *testing.T) {
	path, offs := writeJournal(t, 1)
	b := readFile(t, path)
	require.Len(t, b, int(offs[1]))
	assert.Equal(t, []byte{'P', 'J', 1, 0}, b[:4])
	n := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
	assert.Equal(t, len(b), 8+n+4)
	assert.True(t, bytes.HasPrefix(b[8:], []byte(`{"format":2,"id":"txn:A000000333010106:`)), "payload is the JSON record, format 2")
	assert.NotContains(t, string(b), testPAN, "the full PAN is never written")
}

// Every way the last write can be cut short is a torn tail: cut off, saved
// aside, never a record, and the journal takes new appends after it.
func TestTornTailAtEveryLength(t *testing.T) {
	path, offs := writeJournal(t, 3)
	full := readFile(t, path)
	last := full[offs[2]:]
	for cut := 1; cut < len(last); cut++ {
		require.NoError(t, os.WriteFile(path, full[:offs[2]+int64(cut)], 0o600))
		_ = os.Remove(path + ".torn")
		j, err := Open(path)
		require.NoError(t, err, "cut %d", cut)
		assert.Equal(t, cut, j.Recovered(), "cut %d", cut)
		assert.Equal(t, offs[2], fileSize(t, path), "cut %d: file truncated to the last good frame", cut)
		assert.Equal(t, last[:cut], readFile(t, path+".torn"), "cut %d: the dropped bytes are kept aside", cut)
		recs, err := j.Records(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{testRecord(0).ID, testRecord(1).ID}, ids(recs), "cut %d", cut)
		require.NoError(t, j.Append(ctx, testRecord(2)), "cut %d", cut)
		require.NoError(t, j.Close())
		assert.Equal(t, full, readFile(t, path), "cut %d: the retried append lands where the torn one was", cut)
	}
}

func TestTornTailShapes(t *testing.T) {
	path, offs := writeJournal(t, 2)
	full := readFile(t, path)
	lastFrame := append([]byte(nil), full[offs[1]:]...)
	badCRC := append([]byte(nil), lastFrame...)
	badCRC[len(badCRC)-1] ^= 0xFF
	badPayload := append([]byte(nil), lastFrame...)
	badPayload[20] ^= 0x01
	for name, tail := range map[string][]byte{
		"zero-filled block":      make([]byte, 4096),
		"last frame bad CRC":     badCRC,
		"last frame flipped bit": badPayload,
		"one byte of magic":      {'P'},
	} {
		t.Run(name, func(t *testing.T) {
			data := append(append([]byte(nil), full[:offs[1]]...), tail...)
			require.NoError(t, os.WriteFile(path, data, 0o600))
			j, err := Open(path)
			require.NoError(t, err)
			defer j.Close()
			assert.Equal(t, len(tail), j.Recovered())
			recs, err := j.Records(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{testRecord(0).ID}, ids(recs))
		})
	}
}

// Damage before the last frame is never skipped: Open fails with ErrCorrupt
// at the damaged frame's offset and leaves the file as it is.
func TestCorruptionInTheMiddle(t *testing.T) {
	path, offs := writeJournal(t, 3)
	full := readFile(t, path)
	for i := offs[1]; i < offs[2]; i++ {
		data := append([]byte(nil), full...)
		data[i] ^= 0x55
		require.NoError(t, os.WriteFile(path, data, 0o600))
		_, err := Open(path)
		require.ErrorIs(t, err, ErrCorrupt, "byte %d", i)
		var ce *CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, offs[1], ce.Offset, "byte %d", i)
		assert.Equal(t, path, ce.Path)
		assert.Equal(t, data, readFile(t, path), "byte %d: nothing cut", i)
	}
}

func TestForeignFileIsNotTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	content := []byte(`{"applications":[{"aid":"A000000333010106"}]}` + "\n")
	require.NoError(t, os.WriteFile(path, content, 0o600))
	_, err := Open(path)
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Equal(t, content, readFile(t, path))
}

func TestCRCValidGarbageIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.dat")
	data := appendFrame(nil, []byte(`{"id":""}`))
	require.NoError(t, os.WriteFile(path, data, 0o600))
	_, err := Open(path)
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "empty id")
}

func TestConflictingDuplicateOnDiskIsCorrupt(t *testing.T) {
	path, _ := writeJournal(t, 1)
	other := testRecord(0)
	other.Amount = 999
	frame, err := encodeRecord(&other)
	require.NoError(t, err)
	data := append(readFile(t, path), frame...)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	_, err = Open(path)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestIdenticalDuplicateOnDiskIsReadOnce(t *testing.T) {
	path, _ := writeJournal(t, 1)
	data := readFile(t, path)
	require.NoError(t, os.WriteFile(path, append(data, data...), 0o600))
	j, err := Open(path)
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(ctx)
	require.NoError(t, err)
	assert.Len(t, recs, 1)
}

// A fuel-station controller serving 16 pumps appends from 16 goroutines,
// some of them retrying sales another pump already wrote.
func TestConcurrentAppends(t *testing.T) {
	j, path := openTemp(t)
	const pumps, perPump = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, pumps*perPump*2)
	for p := range pumps {
		wg.Go(func() {
			for i := range perPump {
				errs <- j.Append(ctx, testRecord(p*perPump+i))
				errs <- j.Append(ctx, testRecord(((p+1)%pumps)*perPump+i)) // a duplicate
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, j.Close())

	j2, err := Open(path)
	require.NoError(t, err)
	defer j2.Close()
	recs, err := j2.Records(ctx)
	require.NoError(t, err)
	require.Len(t, recs, pumps*perPump)
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.ID]++
	}
	for i := range pumps * perPump {
		assert.Equal(t, 1, seen[testRecord(i).ID], "record %d", i)
	}
}

func TestAppendWaitsForTheLockWithContext(t *testing.T) {
	j, _ := openTemp(t)
	j.log.sem <- struct{}{} // another append in progress
	c, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err := j.Append(c, testRecord(0))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	j.log.unlock()
	require.NoError(t, j.Append(ctx, testRecord(0)))
}

func TestFailedWriteBreaksTheFile(t *testing.T) {
	j, path := openTemp(t)
	require.NoError(t, j.Append(ctx, testRecord(0)))
	require.NoError(t, j.log.f.Close()) // the disk goes away under the journal
	err := j.Append(ctx, testRecord(1))
	require.ErrorIs(t, err, os.ErrClosed)
	err = j.Append(ctx, testRecord(2))
	require.ErrorIs(t, err, ErrBroken, "no write after a failure of unknown extent")

	j2, err := Open(path)
	require.NoError(t, err)
	defer j2.Close()
	recs, err := j2.Records(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{testRecord(0).ID}, ids(recs))
}

func TestReadOnly(t *testing.T) {
	j, path := openTemp(t)
	require.NoError(t, j.Append(ctx, testRecord(0)))

	// The writer is still running; a reader sees what is committed.
	r, err := Open(path, ReadOnly())
	require.NoError(t, err)
	defer r.Close()
	require.ErrorIs(t, r.Append(ctx, testRecord(1)), ErrReadOnly)

	// A frame being written (half of it so far) is not a record for the
	// reader, and the reader leaves it alone.
	next := testRecord(1)
	frame, err := encodeRecord(&next)
	require.NoError(t, err)
	_, err = j.log.f.WriteAt(frame[:10], j.log.size)
	require.NoError(t, err)
	recs, err := r.Records(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{testRecord(0).ID}, ids(recs))
	assert.Equal(t, j.log.size+10, fileSize(t, path))

	_, err = Open(filepath.Join(t.TempDir(), "missing.dat"), ReadOnly())
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestNewFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.dat")
	j, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	require.ErrorIs(t, j.Close(), ErrClosed)

	shared := filepath.Join(t.TempDir(), "shared.dat")
	j, err = Open(shared, WithFileMode(0o640))
	require.NoError(t, err)
	assert.Equal(t, shared, j.Path())
	require.NoError(t, j.Close())
	st, err = os.Stat(shared)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm()&^0o022) // less whatever the umask removes
}

func TestRecordTooLarge(t *testing.T) {
	j, _ := openTemp(t)
	r := testRecord(0)
	r.Outcome = string(bytes.Repeat([]byte("x"), MaxPayload))
	err := j.Append(ctx, r)
	require.ErrorIs(t, err, ErrInvalid)
	assert.False(t, errors.Is(err, ErrFullPAN))
}

// A Log keeps opaque payloads with the journal's guarantees: durable and
// in order across a reopen, a torn last write cut off, damage in the middle
// refused, one writer at a time.
func TestLogKeepsPayloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.log")
	l, err := OpenLog(path)
	require.NoError(t, err)
	ctx := context.Background()
	for _, p := range []string{"first", "second", "third"} {
		require.NoError(t, l.Append(ctx, []byte(p)))
	}
	require.ErrorIs(t, l.Append(ctx, nil), ErrInvalid, "an empty payload has no frame")
	_, err = OpenLog(path)
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close())

	// An unfinished fourth write is cut off on the next open.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	frame := appendFrame(nil, []byte("fourth"))
	_, err = f.Write(frame[:len(frame)-3])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	l, err = OpenLog(path)
	require.NoError(t, err)
	assert.Equal(t, len(frame)-3, l.Recovered())
	got, err := l.Payloads(ctx)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("first"), []byte("second"), []byte("third")}, got)
	require.NoError(t, l.Close())

	// A flipped byte in the first frame, with valid frames after it, is
	// damage: refused, and the file left as it is.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[headerLen] ^= 0xFF
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = OpenLog(path)
	require.ErrorIs(t, err, ErrCorrupt)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, after)
}
