// SPDX-License-Identifier: Apache-2.0

package capk_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
)

func BenchmarkLookup(b *testing.B) {
	s := capk.Builtin()
	b.ReportAllocs()
	for b.Loop() {
		k, ok := s.Lookup(unionPay, 0x0B)
		if !ok || len(k.Modulus) != 248 {
			b.Fatal("lookup failed")
		}
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	s := capk.Builtin()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := s.Lookup(unionPay, 0x08); !ok {
				b.Fatal("lookup failed")
			}
		}
	})
}

// FuzzLoad feeds hostile JSON to Load: it must never panic, and whatever
// it accepts must be valid and survive a Save/Load round trip unchanged.
func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	s := capk.Builtin()
	s.Revoke(unionPay, 0x08, [3]byte{1, 2, 3})
	require.NoError(f, s.Save(&buf))
	f.Add(buf.Bytes())
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{}]}`))
	f.Add([]byte(`{"keys":null,"revoked":[{"rid":"A000000333","index":"01","serial":"000001"}]}`))
	f.Add([]byte(`{"keys":[{"rid":"A000000333","index":"20","algorithm":"sm2","hash":"sm3","modulus":"00","checksum":"00"}]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"keys":[{"rid":"A000000333","index":"01","expiry":"9999-99-99"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := capk.Load(bytes.NewReader(data))
		// Inspect agrees with Load: a file Load accepts has no problems,
		// one it refuses for an entry has at least one, and a document
		// that is not a key file is an error to both.
		rep, inspectErr := capk.Inspect(bytes.NewReader(data), time.Now())
		if inspectErr != nil {
			require.Error(t, err, "Load accepted what Inspect calls no key file")
		} else {
			assert.Equal(t, err == nil, rep.Failed() == 0, "Load: %v", err)
		}
		if err != nil {
			assert.Nil(t, s)
			return
		}
		for _, k := range s.Keys() {
			assert.NoError(t, k.Validate())
		}
		var out bytes.Buffer
		require.NoError(t, s.Save(&out))
		again, err := capk.Load(&out)
		require.NoError(t, err)
		assert.Equal(t, s.Keys(), again.Keys())
	})
}
