// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each payload's flow, one row per rule of KindOf.
func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		name, payload string
		want          RecordKind
		err           error
	}{
		{"a clearing record has no member", `{"format":2,"id":"txn:1","kind":"load"}`, RecordClearing, nil},
		{"an event is the clearing journal's", `{"event":"stan","stan":100,"state":"x","asn_hash":"y"}`, RecordClearing, nil},
		{"named clearing", `{"record":"clearing","id":"txn:1"}`, RecordClearing, nil},
		{"named purse", `{"record":"purse","id":"P-1"}`, RecordPurse, nil},
		{"a purse record written before the member", `{"id":"P-1","state":"applied","asn_hash":"ab"}`, RecordPurse, nil},
		{"an unknown kind is refused", `{"record":"ticket","id":"T-1"}`, "", ErrNewerFormat},
		{"an empty kind is unknown too", `{"record":"","id":"T-1"}`, "", ErrNewerFormat},
		{"not an object", `[1,2]`, "", ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := KindOf([]byte(c.payload))
			if c.err != nil {
				assert.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, k)
		})
	}
}

// A File over a file that also holds purse records reads its clearing
// records, keeps the purse's as written (Payloads), appends after them,
// and reopens.
func TestFileKeepsAnotherFlowsRecords(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/j.dat"
	l, err := OpenLog(path)
	require.NoError(t, err)
	purse := `{"record":"purse","id":"P-1","state":"applied","amount":"1.00"}`
	require.NoError(t, l.Append(ctx, []byte(purse)))
	require.NoError(t, l.Close())

	j, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, j.Append(ctx, testRecord(1)))
	require.NoError(t, j.Close())

	j, err = Open(path, ReadOnly())
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{testRecord(1).ID}, ids(recs), "the purse record is not a clearing record")
	pp, err := j.Payloads(ctx, RecordPurse)
	require.NoError(t, err)
	require.Len(t, pp, 1)
	assert.JSONEq(t, purse, string(pp[0]))
	_, err = j.Payloads(ctx, RecordClearing)
	assert.ErrorIs(t, err, ErrInvalid)
}

// decodeEntry reads a payload without "record" or "asn_hash" as a clearing
// entry without asking KindOf, and still refuses one that is not JSON.
func TestDecodeEntryFastPath(t *testing.T) {
	for _, p := range []string{`[1,2]`, `{"id":`, `not json`} {
		_, err := decodeEntry([]byte(p))
		assert.ErrorIs(t, err, errPayload, p)
	}
	e, err := decodeEntry([]byte(`{"record":"purse","id":"P-1"}`))
	require.NoError(t, err)
	assert.Equal(t, RecordPurse, e.kind)
	e, err = decodeEntry([]byte(`{"id":"P-1","state":"applied","asn_hash":"ab"}`))
	require.NoError(t, err)
	assert.Equal(t, RecordPurse, e.kind, "a purse record written before the member")
	_, err = decodeEntry([]byte(`{"record":"ticket","id":"T-1"}`))
	assert.ErrorIs(t, err, ErrNewerFormat)
}
