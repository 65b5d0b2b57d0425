// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
)

// fillDistinct gives every field of v (a struct, recursively through its
// embedded structs) a non-zero value, a different one each, so that a
// field a round trip loses shows as a difference.
func fillDistinct(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if sf.Anonymous && f.Kind() == reflect.Struct {
			fillDistinct(t, f, n)
			continue
		}
		if !f.CanSet() {
			t.Fatalf("field %s of %s is unexported: carry it in txnImage, then fill it by hand in the test", sf.Name, v.Type())
		}
		fillValue(t, f, sf.Name, n)
	}
}

// fillValue sets f to a non-zero value that no other field gets. A kind
// it does not know fails the test: it is to be taught here.
func fillValue(t *testing.T, f reflect.Value, name string, n *int) {
	t.Helper()
	*n++
	switch {
	case f.Type() == reflect.TypeOf(time.Time{}):
		f.Set(reflect.ValueOf(time.Date(2026, 3, 1, 8, 0, *n, 0, time.UTC)))
	case f.Kind() == reflect.String:
		f.SetString(fmt.Sprintf("%s-%d", name, *n))
	case f.Kind() == reflect.Bool:
		f.SetBool(true)
	case f.Kind() >= reflect.Int && f.Kind() <= reflect.Int64:
		f.SetInt(int64(*n))
	case f.Kind() >= reflect.Uint && f.Kind() <= reflect.Uint64:
		f.SetUint(uint64(*n))
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8:
		f.SetBytes([]byte{byte(*n), 0xA5})
	default:
		t.Fatalf("field %s: kind %s not known to fillValue", name, f.Kind())
	}
}

// Every field of a request survives Compact's one event: a request with
// each field set, written as its image and replayed, is the same request.
// A field added to txn and not to txnImage (or to image and txn) fails
// here, before a compaction can forget a reversal's or an advice's data;
// the other Compact tests compare images, so they could not see it.
func TestTxnImageCarriesEveryField(t *testing.T) {
	want := &txn{}
	n := 0
	v := reflect.ValueOf(want).Elem()
	for i := range v.NumField() {
		switch sf := v.Type().Field(i); {
		case sf.Name == "seq": // the arming order: the order of the images
		case sf.Name == "settled":
			want.settled = true
		case sf.Anonymous:
			fillDistinct(t, v.Field(i), &n)
		case !sf.IsExported():
			t.Fatalf("txn.%s is unexported: carry it in txnImage, then fill it here", sf.Name)
		default:
			fillValue(t, v.Field(i), sf.Name, &n)
		}
	}
	want.State = TxnReversalPending // open, so that nothing filters it

	p, err := json.Marshal(&event{T: evImage, Image: want.image(), At: time.Now().UTC()})
	require.NoError(t, err)
	key, err := journal.NewAESGCMKey(compactKey)
	require.NoError(t, err)
	st, err := newState(context.Background(), &memLog{p: [][]byte{p}}, key)
	require.NoError(t, err)
	got, ok := st.txnByID(want.ID)
	require.True(t, ok)
	want.seq = got.seq
	assert.Equal(t, want, got)
}
