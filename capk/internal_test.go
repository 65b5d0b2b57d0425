// SPDX-License-Identifier: Apache-2.0

package capk

import (
	"crypto/sha1" //nolint:gosec // test of the EMV checksum.
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedBuiltinLoads(t *testing.T) {
	s, err := loadEmbedded(builtinFS, "builtin/*.json")
	require.NoError(t, err)
	assert.Positive(t, s.Len())
}

func TestLoadBuiltinMergesFilesAndRejectsConflicts(t *testing.T) {
	up, err := builtinFS.ReadFile("builtin/unionpay.json")
	require.NoError(t, err)

	// The same key in two files is fine when identical.
	s, err := loadEmbedded(fstest.MapFS{
		"builtin/a.json":      {Data: up},
		"builtin/b.json":      {Data: up},
		"builtin/ignored.txt": {Data: []byte("not json")},
	}, "builtin/*.json")
	require.NoError(t, err)
	assert.Equal(t, 9, s.Len())

	// A broken file is reported by name.
	_, err = loadEmbedded(fstest.MapFS{"builtin/x.json": {Data: []byte(`{"keys":[{}]}`)}}, "builtin/*.json")
	assert.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "builtin/x.json")

	// The same RID/index with other contents is a conflict.
	k, ok := s.Lookup(RID{0xA0, 0, 0, 3, 0x33}, 0x08)
	require.True(t, ok)
	k.Expiry = k.Expiry.AddDate(1, 0, 0)
	other := NewStore()
	require.NoError(t, other.Add(k))
	var buf []byte
	w := &sliceWriter{&buf}
	require.NoError(t, other.Save(w))
	_, err = loadEmbedded(fstest.MapFS{"builtin/a.json": {Data: up}, "builtin/b.json": {Data: buf}}, "builtin/*.json")
	assert.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "A000000333/08")
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

func TestSM2CurveConstants(t *testing.T) {
	g := make([]byte, 0, 64)
	for _, h := range []string{
		"32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
		"BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
	} {
		b, err := parseHex(h)
		require.NoError(t, err)
		g = append(g, b...)
	}
	assert.True(t, onSM2Curve(g), "the SM2 base point lies on the curve")
	g[0] ^= 1
	assert.False(t, onSM2Curve(g))
}

// Check must report a stored key whose checksum no longer matches (a key
// cannot get into a store that way through the API, so insert directly).
func TestCheckReportsBadChecksum(t *testing.T) {
	k := Key{RID: RID{0xA0, 0, 0, 3, 0x33}, Index: 1, Algorithm: AlgRSA, HashAlg: HashSHA1,
		Modulus: make([]byte, 64), Exponent: []byte{3}}
	k.Modulus[0], k.Modulus[63] = 0xC0, 0x01
	sum := sha1.Sum([]byte("not the key"))
	k.Checksum = sum[:]
	s := NewStore()
	s.putLocked(k)
	f := Check(s, time.Now())
	require.Len(t, f, 1)
	assert.False(t, f[0].ChecksumOK)
	assert.ErrorIs(t, f[0].Err, ErrChecksum)
	assert.False(t, f[0].OK())
	assert.Contains(t, f[0].String(), "checksum BAD")
}
