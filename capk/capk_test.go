// SPDX-License-Identifier: Apache-2.0

package capk_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
)

var unionPay = capk.RID{0xA0, 0x00, 0x00, 0x03, 0x33}

// sm2G is the SM2 base point X ‖ Y (GB/T 32918.5), a valid public point.
const sm2G = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7" +
	"BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// rsaKey returns a structurally valid RSA key (not a real RSA modulus)
// with a correct checksum.
func rsaKey(rid capk.RID, index byte, modLen int) capk.Key {
	mod := bytes.Repeat([]byte{0xC3}, modLen)
	mod[modLen-1] = index | 1
	k := capk.Key{RID: rid, Index: index, Algorithm: capk.AlgRSA, HashAlg: capk.HashSHA1,
		Modulus: mod, Exponent: []byte{0x03}}
	k.Checksum = k.ComputeChecksum()
	return k
}

func sm2Key(t testing.TB, rid capk.RID, index byte) capk.Key {
	k := capk.Key{RID: rid, Index: index, Algorithm: capk.AlgSM2, HashAlg: capk.HashSM3,
		Modulus: mustHex(t, sm2G)}
	k.Checksum = k.ComputeChecksum()
	return k
}

// The table of PBOC-NOTES.md: index, bits, exponent, SHA-1 checksum.
var unionPayTable = []struct {
	index    byte
	bits     int
	exponent string
	checksum string
}{
	{0x01, 1024, "03", "E881E390675D44C2DD81234DCE29C3F5AB2297A0"},
	{0x02, 1152, "03", "03BB335A8549A03B87AB089D006F60852E4B8060"},
	{0x03, 1408, "03", "87F0CD7C0E86F38F89A66F8C47071A8B88586F26"},
	{0x04, 1984, "03", "F527081CF371DD7E1FD4FA414A665036E0F5E6E5"},
	{0x08, 1152, "03", "EE23B616C95C02652AD18860E48787C079E8E85A"},
	{0x09, 1408, "03", "A075306EAB0045BAF72CDD33B3B678779DE1F527"},
	{0x0A, 1024, "03", "C88BE6B2417C4F941C9371EA35A377158767E4E3"},
	{0x0B, 1984, "03", "BD331F9996A490B33C13441066A09AD3FEB5F66C"},
	{0x80, 1024, "010001", "A5E44BB0E1FA4F96A11709186670D0835057D35E"},
}

func TestBuiltinUnionPayChecksumsMatchPublishedTable(t *testing.T) {
	s := capk.Builtin()
	for _, want := range unionPayTable {
		t.Run(fmt.Sprintf("%02X", want.index), func(t *testing.T) {
			k, ok := s.Lookup(unionPay, want.index)
			require.True(t, ok, "UnionPay key %02X missing", want.index)
			assert.Equal(t, want.checksum, strings.ToUpper(hex.EncodeToString(k.ComputeChecksum())),
				"recomputed SHA-1(RID‖index‖modulus‖exponent)")
			assert.Equal(t, want.checksum, strings.ToUpper(hex.EncodeToString(k.Checksum)))
			assert.Equal(t, want.bits, 8*len(k.Modulus))
			assert.Equal(t, want.bits, k.Bits())
			assert.Equal(t, want.exponent, strings.ToUpper(hex.EncodeToString(k.Exponent)))
			assert.Equal(t, capk.AlgRSA, k.Algorithm)
			assert.Equal(t, capk.HashSHA1, k.HashAlg)
			assert.False(t, k.Expiry.IsZero(), "source gives an expiry date")
		})
	}
	_, ok := s.Lookup(unionPay, 0x61)
	assert.False(t, ok, "index 61 does not match its checksum in the source and must be left out")
	_, _, ok = s.AppendLookup(nil, unionPay, 0x61)
	assert.False(t, ok)

	assert.Equal(t, len(unionPayTable), s.Len(), "no key beyond the verified UnionPay table")
}

// Production trusts only published keys: Builtin holds none of the
// simulator's test CA, whose private keys anyone can regenerate from the
// seeds in this repository; TestKeys holds exactly those.
func TestBuiltinHoldsNoTestKey(t *testing.T) {
	for _, k := range capk.Builtin().Keys() {
		assert.False(t, testCA(k), "%s/%02X is a test key", k.RID, k.Index)
		assert.Less(t, k.Index, byte(0xF0), "%s/%02X: indexes F0-FF are test keys here", k.RID, k.Index)
	}
	test := capk.TestKeys()
	require.Equal(t, 3, test.Len())
	for _, idx := range []byte{0xF1, 0xF2, 0xF3} {
		k, ok := test.Lookup(unionPay, idx)
		require.True(t, ok, "test key %02X", idx)
		assert.True(t, testCA(k), "%02X carries the test CA note", idx)
		_, ok = capk.Builtin().Lookup(unionPay, idx)
		assert.False(t, ok, "Builtin serves test key %02X", idx)
	}
	for _, k := range test.Keys() {
		assert.Equal(t, k.ComputeChecksum(), k.Checksum)
		assert.NoError(t, k.Validate())
	}
}

// Any key added to builtin/*.json, now or later, must carry a correct
// checksum and be a valid key.
func TestBuiltinEveryKeyValid(t *testing.T) {
	keys := capk.Builtin().Keys()
	require.NotEmpty(t, keys)
	for _, k := range keys {
		assert.Equal(t, k.ComputeChecksum(), k.Checksum, "%s/%02X checksum", k.RID, k.Index)
		assert.NoError(t, k.Validate(), "%s/%02X", k.RID, k.Index)
	}
}

func TestBuiltinReturnsFreshStore(t *testing.T) {
	a := capk.Builtin()
	extra := rsaKey(capk.RID{1, 2, 3, 4, 5}, 0x42, 64)
	require.NoError(t, a.Add(extra))
	a.Revoke(unionPay, 0x08, [3]byte{0, 0, 1})

	b := capk.Builtin()
	_, ok := b.Lookup(extra.RID, extra.Index)
	assert.False(t, ok, "a key added to one Builtin store leaks into the next")
	assert.False(t, b.Revoked(unionPay, 0x08, [3]byte{0, 0, 1}))
	assert.Equal(t, a.Len()-1, b.Len())
}

func TestTestdataUnionPayMatchesBuiltin(t *testing.T) {
	file, err := capk.LoadFile(filepath.Join("..", "testdata", "capk", "unionpay.json"))
	require.NoError(t, err)
	assert.Equal(t, capk.Builtin().Keys(), file.Keys())
}

// testCA reports the card simulator's test CA keys (testkeys/testca.json),
// which share the UnionPay RID but are never production keys.
func testCA(k capk.Key) bool { return strings.Contains(k.Note, "test CA") }

func TestParseRID(t *testing.T) {
	r, err := capk.ParseRID("a000000333")
	require.NoError(t, err)
	assert.Equal(t, unionPay, r)
	assert.Equal(t, "A000000333", r.String())

	for _, bad := range []string{"", "A0000003", "A00000033300", "A00000033G", " A00000033"} {
		_, err := capk.ParseRID(bad)
		assert.ErrorIs(t, err, capk.ErrFormat, "%q", bad)
	}
}

func TestValidate(t *testing.T) {
	good := rsaKey(unionPay, 0x01, 128)
	require.NoError(t, good.Validate())
	for _, n := range []int{64, 248} {
		k := rsaKey(unionPay, 0x01, n)
		require.NoError(t, k.Validate(), "%d-byte modulus", n)
	}
	k65537 := good
	k65537.Exponent = []byte{1, 0, 1}
	k65537.Checksum = k65537.ComputeChecksum()
	require.NoError(t, k65537.Validate())
	sm2 := sm2Key(t, unionPay, 0x20)
	require.NoError(t, sm2.Validate())

	// mutate changes one field and, unless keepSum, refreshes the
	// checksum so that only the mutated property is wrong.
	type mutation struct {
		name    string
		base    capk.Key
		mutate  func(k *capk.Key)
		keepSum bool
		want    error
	}
	cases := []mutation{
		{"checksum wrong", good, func(k *capk.Key) { k.Checksum = bytes.Clone(k.Checksum); k.Checksum[0] ^= 1 }, true, capk.ErrChecksum},
		{"checksum missing", good, func(k *capk.Key) { k.Checksum = nil }, true, capk.ErrChecksum},
		{"modulus changed after checksum", good, func(k *capk.Key) { k.Modulus = append(bytes.Clone(k.Modulus[:127]), 0x05) }, true, capk.ErrChecksum},
		{"index changed after checksum", good, func(k *capk.Key) { k.Index = 0x02 }, true, capk.ErrChecksum},
		{"unknown algorithm", good, func(k *capk.Key) { k.Algorithm = 0x02 }, false, capk.ErrInvalidKey},
		{"unknown hash", good, func(k *capk.Key) { k.HashAlg = 0x02 }, false, capk.ErrInvalidKey},
		{"modulus too short", rsaKey(unionPay, 1, 63), func(*capk.Key) {}, false, capk.ErrInvalidKey},
		{"modulus too long", rsaKey(unionPay, 1, 249), func(*capk.Key) {}, false, capk.ErrInvalidKey},
		{"modulus leading zero", good, func(k *capk.Key) { k.Modulus = bytes.Clone(k.Modulus); k.Modulus[0] = 0 }, false, capk.ErrInvalidKey},
		{"modulus even", good, func(k *capk.Key) { k.Modulus = bytes.Clone(k.Modulus); k.Modulus[127] = 0x02 }, false, capk.ErrInvalidKey},
		{"exponent 2", good, func(k *capk.Key) { k.Exponent = []byte{2} }, false, capk.ErrInvalidKey},
		{"exponent padded", good, func(k *capk.Key) { k.Exponent = []byte{0, 0, 0, 3} }, false, capk.ErrInvalidKey},
		{"exponent empty", good, func(k *capk.Key) { k.Exponent = nil }, false, capk.ErrInvalidKey},
		{"sm2 off curve", sm2, func(k *capk.Key) { k.Modulus = bytes.Clone(k.Modulus); k.Modulus[63] ^= 1 }, false, capk.ErrInvalidKey},
		{"sm2 short point", sm2, func(k *capk.Key) { k.Modulus = k.Modulus[:63] }, false, capk.ErrInvalidKey},
		{"sm2 with exponent", sm2, func(k *capk.Key) { k.Exponent = []byte{3} }, false, capk.ErrInvalidKey},
		{"sm2 x out of range", sm2, func(k *capk.Key) { k.Modulus = bytes.Repeat([]byte{0xFF}, 64) }, false, capk.ErrInvalidKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.base
			tc.mutate(&k)
			if !tc.keepSum {
				k.Checksum = k.ComputeChecksum()
			}
			err := k.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			other := capk.ErrChecksum
			if tc.want == capk.ErrChecksum {
				other = capk.ErrInvalidKey
			}
			assert.NotErrorIs(t, err, other)
		})
	}
}

func TestComputeChecksumSM2CoversRIDIndexPoint(t *testing.T) {
	k := sm2Key(t, unionPay, 0x20)
	var buf []byte
	buf = append(buf, unionPay[:]...)
	buf = append(buf, 0x20)
	buf = append(buf, mustHex(t, sm2G)...)
	// Known SHA-1 computed independently of the package.
	want := sha1Hex(buf)
	assert.Equal(t, want, strings.ToUpper(hex.EncodeToString(k.ComputeChecksum())))
}

func TestExpired(t *testing.T) {
	k := rsaKey(unionPay, 1, 64)
	assert.False(t, k.Expired(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)), "no expiry: never")

	k.Expiry = time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)
	shanghai := time.FixedZone("CST", 8*3600)
	cases := []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2030, 12, 31, 0, 0, 0, 0, shanghai), false},
		{time.Date(2030, 12, 31, 23, 59, 59, 0, shanghai), false},
		{time.Date(2031, 1, 1, 0, 0, 0, 0, shanghai), true},
		{time.Date(2030, 11, 30, 12, 0, 0, 0, time.UTC), false},
		{time.Date(2029, 12, 31, 12, 0, 0, 0, time.UTC), false},
		{time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2030, 12, 31, 20, 0, 0, 0, time.UTC).In(shanghai), true}, // already 1 Jan in Shanghai
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, k.Expired(tc.now), "now %s", tc.now)
	}
}

func TestStoreAddLookupCopies(t *testing.T) {
	s := capk.NewStore()
	k := rsaKey(unionPay, 0x08, 144)
	k.Note = "n"
	require.NoError(t, s.Add(k))

	// Changing the caller's key after Add does not reach the store.
	k.Modulus[0] ^= 0xFF
	got, ok := s.Lookup(unionPay, 0x08)
	require.True(t, ok)
	require.NoError(t, got.Validate())
	assert.Equal(t, "n", got.Note)

	// Nor does changing or appending to a looked-up key.
	got.Modulus[0] ^= 0xFF
	_ = append(got.Modulus[:1], 0x00, 0x00)
	got2, _ := s.Lookup(unionPay, 0x08)
	require.NoError(t, got2.Validate())

	_, ok = s.Lookup(unionPay, 0x09)
	assert.False(t, ok)
	_, ok = s.Lookup(capk.RID{0xA0, 0, 0, 0, 0x04}, 0x08)
	assert.False(t, ok)
}

func TestStoreAddReplacesAndRefuses(t *testing.T) {
	s := capk.NewStore()
	require.NoError(t, s.Add(rsaKey(unionPay, 0x08, 64)))
	require.NoError(t, s.Add(rsaKey(unionPay, 0x08, 128)))
	k, _ := s.Lookup(unionPay, 0x08)
	assert.Len(t, k.Modulus, 128, "Add replaces a key with the same RID and index")
	assert.Equal(t, 1, s.Len())

	bad := rsaKey(unionPay, 0x09, 64)
	bad.Checksum[19] ^= 0x80
	err := s.Add(bad)
	assert.ErrorIs(t, err, capk.ErrChecksum)
	assert.Contains(t, err.Error(), "A000000333/09")
	_, ok := s.Lookup(unionPay, 0x09)
	assert.False(t, ok, "refused key must not be stored")

	err = s.Add(capk.Key{RID: unionPay, Index: 1})
	assert.ErrorIs(t, err, capk.ErrInvalidKey)
}

func TestNilStore(t *testing.T) {
	var s *capk.Store
	_, ok := s.Lookup(unionPay, 1)
	assert.False(t, ok)
	assert.Empty(t, s.Keys())
	assert.Zero(t, s.Len())
	assert.False(t, s.Revoked(unionPay, 1, [3]byte{}))
	s.Revoke(unionPay, 1, [3]byte{}) // no panic
	s.Merge(capk.Builtin())          // no panic
	assert.ErrorIs(t, s.Add(rsaKey(unionPay, 1, 64)), capk.ErrNilStore)
	assert.Empty(t, capk.Check(s, time.Now()))

	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	loaded, err := capk.Load(&buf)
	require.NoError(t, err)
	assert.Zero(t, loaded.Len())

	// The zero Store is usable too.
	var z capk.Store
	require.NoError(t, z.Add(rsaKey(unionPay, 1, 64)))
	assert.Equal(t, 1, z.Len())
}

func TestKeysSorted(t *testing.T) {
	s := capk.NewStore()
	visa := capk.RID{0xA0, 0, 0, 0, 0x03}
	for _, k := range []capk.Key{rsaKey(unionPay, 0x80, 64), rsaKey(unionPay, 0x02, 64),
		rsaKey(visa, 0x92, 64), rsaKey(unionPay, 0x0B, 64), rsaKey(visa, 0x01, 64)} {
		require.NoError(t, s.Add(k))
	}
	var got []string
	for _, k := range s.Keys() {
		got = append(got, fmt.Sprintf("%s/%02X", k.RID, k.Index))
	}
	assert.Equal(t, []string{"A000000003/01", "A000000003/92", "A000000333/02", "A000000333/0B", "A000000333/80"}, got)
}

func TestRevoke(t *testing.T) {
	s := capk.NewStore()
	serial := [3]byte{0x12, 0x34, 0x56}
	assert.False(t, s.Revoked(unionPay, 0x08, serial))
	s.Revoke(unionPay, 0x08, serial)
	assert.True(t, s.Revoked(unionPay, 0x08, serial))
	assert.False(t, s.Revoked(unionPay, 0x09, serial), "revocation is per CA index")
	assert.False(t, s.Revoked(unionPay, 0x08, [3]byte{0x12, 0x34, 0x57}))
	assert.False(t, s.Revoked(capk.RID{0xA0, 0, 0, 0, 3}, 0x08, serial), "revocation is per RID")
	s.Revoke(unionPay, 0x08, serial) // idempotent
	assert.True(t, s.Revoked(unionPay, 0x08, serial))
}

func TestMerge(t *testing.T) {
	a := capk.NewStore()
	b := capk.NewStore()
	require.NoError(t, a.Add(rsaKey(unionPay, 0x01, 64)))
	require.NoError(t, a.Add(rsaKey(unionPay, 0x02, 64)))
	require.NoError(t, b.Add(rsaKey(unionPay, 0x02, 128)))
	require.NoError(t, b.Add(sm2Key(t, unionPay, 0x20)))
	b.Revoke(unionPay, 0x02, [3]byte{0, 0, 7})

	a.Merge(b)
	assert.Equal(t, 3, a.Len())
	k, _ := a.Lookup(unionPay, 0x02)
	assert.Len(t, k.Modulus, 128, "other's key wins")
	assert.True(t, a.Revoked(unionPay, 0x02, [3]byte{0, 0, 7}))
	assert.Equal(t, 2, b.Len(), "other is unchanged")

	a.Merge(a)   // self: no deadlock, no change
	a.Merge(nil) // nil: no change
	assert.Equal(t, 3, a.Len())
}

func TestStoreConcurrent(t *testing.T) {
	s := capk.Builtin()
	other := capk.NewStore()
	require.NoError(t, other.Add(rsaKey(capk.RID{9, 9, 9, 9, 9}, 1, 64)))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				idx := byte(0x40 + g)
				switch i % 5 {
				case 0:
					assert.NoError(t, s.Add(rsaKey(unionPay, idx, 64)))
				case 1:
					k, ok := s.Lookup(unionPay, 0x08)
					assert.True(t, ok)
					assert.Len(t, k.Modulus, 144)
				case 2:
					s.Revoke(unionPay, idx, [3]byte{byte(i), 0, 0})
					assert.True(t, s.Revoked(unionPay, idx, [3]byte{byte(i), 0, 0}))
				case 3:
					s.Merge(other)
					other.Merge(s)
				default:
					_ = s.Keys()
					_ = capk.Check(s, time.Now())
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, capk.Builtin().Len()+8+1, s.Len())
}

func TestLoadErrors(t *testing.T) {
	good := keyJSON(rsaKey(unionPay, 0x08, 64), "2030-12-31")
	badSum := rsaKey(unionPay, 0x09, 64)
	badSum.Checksum[0] ^= 1

	cases := []struct {
		name, in, where string
		want            error
	}{
		{"not json", "{", "", capk.ErrFormat},
		{"empty", "", "", capk.ErrFormat},
		{"keys missing", `{}`, `"keys" missing`, capk.ErrFormat},
		{"keys wrong type", `{"keys":{}}`, "", capk.ErrFormat},
		{"unknown top field", `{"keys":[],"extra":1}`, "extra", capk.ErrFormat},
		{"unknown key field", `{"keys":[{"rid":"A000000333","checksun":"00"}]}`, "checksun", capk.ErrFormat},
		{"trailing data", `{"keys":[]} {"keys":[]}`, "after", capk.ErrFormat},
		{"bad checksum", `{"keys":[` + good + `,` + keyJSON(badSum, "") + `]}`, "keys[1].checksum: ", capk.ErrChecksum},
		{"bad rid", `{"keys":[` + strings.Replace(good, "A000000333", "A0000003", 1) + `]}`, "keys[0].rid: ", capk.ErrFormat},
		{"bad index", `{"keys":[` + strings.Replace(good, `"index":"08"`, `"index":"8"`, 1) + `]}`, "keys[0].index: ", capk.ErrFormat},
		{"bad algorithm", `{"keys":[` + strings.Replace(good, `"rsa"`, `"dsa"`, 1) + `]}`, "keys[0].algorithm: ", capk.ErrFormat},
		{"bad hash", `{"keys":[` + strings.Replace(good, `"sha1"`, `"md5"`, 1) + `]}`, "keys[0].hash: ", capk.ErrFormat},
		{"odd hex modulus", `{"keys":[` + strings.Replace(good, `"modulus":"C3`, `"modulus":"C`, 1) + `]}`, "keys[0].modulus: ", capk.ErrFormat},
		{"bad expiry", `{"keys":[` + strings.Replace(good, "2030-12-31", "2030-13-31", 1) + `]}`, "keys[0].expiry: ", capk.ErrFormat},
		{"bad exponent", `{"keys":[` + keyJSON(withExp(rsaKey(unionPay, 1, 64), 5), "") + `]}`, "keys[0].exponent: ", capk.ErrInvalidKey},
		{"short modulus", `{"keys":[` + keyJSON(rsaKey(unionPay, 1, 32), "") + `]}`, "keys[0].modulus: ", capk.ErrInvalidKey},
		{"duplicate", `{"keys":[` + good + `,` + good + `]}`, "keys[1]: ", capk.ErrFormat},
		{"bad serial", `{"keys":[],"revoked":[{"rid":"A000000333","index":"08","serial":"0001"}]}`, "revoked[0].serial: ", capk.ErrFormat},
		{"bad revoked rid", `{"keys":[],"revoked":[{"rid":"X","index":"08","serial":"000001"}]}`, "revoked[0].rid: ", capk.ErrFormat},
		{"too large", `{"keys":[],"note":"` + strings.Repeat("x", capk.MaxFileSize) + `"}`, "larger", capk.ErrFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := capk.Load(strings.NewReader(tc.in))
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.where)
		})
	}
}

func withExp(k capk.Key, e byte) capk.Key {
	k.Exponent = []byte{e}
	k.Checksum = k.ComputeChecksum()
	return k
}

func keyJSON(k capk.Key, expiry string) string {
	s := fmt.Sprintf(`{"rid":%q,"index":"%02X","algorithm":%q,"hash":%q,"modulus":"%X","exponent":"%X","checksum":"%X"`,
		k.RID.String(), k.Index, capk.AlgorithmName(k.Algorithm), capk.HashName(k.HashAlg), k.Modulus, k.Exponent, k.Checksum)
	if expiry != "" {
		s += fmt.Sprintf(`,"expiry":%q`, expiry)
	}
	return s + "}"
}

func TestLoadAcceptsLowerCaseAndNoOptionalFields(t *testing.T) {
	k := sm2Key(t, unionPay, 0x20)
	in := fmt.Sprintf(`{"keys":[{"rid":"a000000333","index":"20","algorithm":"SM2","hash":"SM3","modulus":"%x","checksum":"%x"}]}`,
		k.Modulus, k.Checksum)
	s, err := capk.Load(strings.NewReader(in))
	require.NoError(t, err)
	got, ok := s.Lookup(unionPay, 0x20)
	require.True(t, ok)
	assert.Equal(t, capk.AlgSM2, got.Algorithm)
	assert.Equal(t, capk.HashSM3, got.HashAlg)
	assert.Empty(t, got.Exponent)
	assert.True(t, got.Expiry.IsZero())
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := capk.Builtin()
	sm2 := sm2Key(t, capk.RID{0xA0, 0, 0, 0x03, 0x33}, 0x21)
	sm2.Note = "test SM2 key"
	require.NoError(t, s.Add(sm2))
	s.Revoke(unionPay, 0x08, [3]byte{0, 0, 1})
	s.Revoke(unionPay, 0x01, [3]byte{0xAB, 0xCD, 0xEF})

	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	loaded, err := capk.Load(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, s.Keys(), loaded.Keys())
	assert.True(t, loaded.Revoked(unionPay, 0x08, [3]byte{0, 0, 1}))
	assert.True(t, loaded.Revoked(unionPay, 0x01, [3]byte{0xAB, 0xCD, 0xEF}))

	// Save is deterministic: saving the loaded store gives the same bytes.
	var again bytes.Buffer
	require.NoError(t, loaded.Save(&again))
	assert.Equal(t, buf.String(), again.String())
	assert.Contains(t, buf.String(), `"serial": "ABCDEF"`)
	assert.Contains(t, buf.String(), `"algorithm": "sm2"`)
}

func TestLoadFile(t *testing.T) {
	_, err := capk.LoadFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"keys":[{}]}`), 0o600))
	_, err = capk.LoadFile(bad)
	assert.ErrorIs(t, err, capk.ErrFormat)
	assert.Contains(t, err.Error(), "bad.json")
	assert.Contains(t, err.Error(), "keys[0].rid")
}

func TestCheckBuiltin(t *testing.T) {
	now := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	s := capk.Builtin()
	s.Revoke(unionPay, 0x08, [3]byte{0, 0, 1})
	s.Revoke(unionPay, 0x08, [3]byte{0, 0, 2})
	var findings []capk.Finding
	for _, f := range capk.Check(s, now) {
		if f.Index < 0xF0 {
			findings = append(findings, f)
		}
	}
	require.Len(t, findings, len(unionPayTable))
	for i, f := range findings {
		want := unionPayTable[i]
		assert.Equal(t, want.index, f.Index)
		assert.Equal(t, unionPay, f.RID)
		assert.Equal(t, want.bits, f.Bits)
		assert.True(t, f.ChecksumOK)
		assert.NoError(t, f.Err)
		if want.exponent == "03" {
			assert.Equal(t, uint64(3), f.Exponent)
		} else {
			assert.Equal(t, uint64(65537), f.Exponent)
		}
		// Per the source, 01..04 expired by 2017; the rest run to 2030.
		assert.Equal(t, want.index <= 0x04, f.Expired, "%02X", f.Index)
		assert.True(t, f.OK(), "an expired key is a warning, not a problem")
	}
	assert.Equal(t, 2, findings[4].Revocations)
	assert.Equal(t, "A000000333/08 rsa-1152 e=3 sha1 checksum ok expires 2030-12-31 revoked-certs=2", findings[4].String())
	assert.Equal(t, "A000000333/01 rsa-1024 e=3 sha1 checksum ok EXPIRED 2009-12-31", findings[0].String())
}

func TestCheckSM2AndNoExpiry(t *testing.T) {
	s := capk.NewStore()
	require.NoError(t, s.Add(sm2Key(t, unionPay, 0x20)))
	f := capk.Check(s, time.Now())
	require.Len(t, f, 1)
	assert.Equal(t, 256, f[0].Bits)
	assert.Zero(t, f[0].Exponent)
	assert.Equal(t, "A000000333/20 sm2-256 sm3 checksum ok no expiry", f[0].String())
	assert.True(t, f[0].OK())
}

func TestErrorsAreDistinct(t *testing.T) {
	errs := []error{capk.ErrChecksum, capk.ErrInvalidKey, capk.ErrFormat, capk.ErrNilStore}
	for i, a := range errs {
		for j, b := range errs {
			assert.Equal(t, i == j, errors.Is(a, b))
		}
	}
}

// AppendLookup returns the same key as Lookup, copied into the caller's
// buffer: changing the copy changes neither the store nor the next copy.
func TestAppendLookupCopiesIntoTheBuffer(t *testing.T) {
	s := capk.Builtin()
	want, ok := s.Lookup(unionPay, 0x0B)
	require.True(t, ok)
	buf := make([]byte, 0, 512)
	got, out, ok := s.AppendLookup(buf, unionPay, 0x0B)
	require.True(t, ok)
	assert.Equal(t, want, got)
	assert.Len(t, out, len(want.Modulus)+len(want.Exponent)+len(want.Checksum))
	assert.Same(t, &buf[:1][0], &got.Modulus[0], "copied into the buffer given")
	assert.Equal(t, len(got.Modulus), cap(got.Modulus), "capped: appending cannot reach the exponent")

	got.Modulus[0] ^= 0xFF
	again, _, ok := s.AppendLookup(nil, unionPay, 0x0B)
	require.True(t, ok)
	assert.Equal(t, want, again, "the store's key is unchanged")

	var nilStore *capk.Store
	_, out, ok = nilStore.AppendLookup(buf[:0], unionPay, 0x0B)
	assert.False(t, ok)
	assert.Empty(t, out)
}
