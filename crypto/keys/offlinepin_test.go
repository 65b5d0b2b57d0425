// SPDX-License-Identifier: Apache-2.0

package keys_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/pki"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// EMV Book 3 §6.5.12 (VERIFY, table 23): the plaintext offline PIN block
// is C N P P P P P/F … F F with control field 2 and N the PIN length.
func TestOfflinePINBlockFormat2(t *testing.T) {
	for _, tc := range []struct{ pin, block string }{
		{"1234", "241234FFFFFFFFFF"},
		{"123456", "26123456FFFFFFFF"},
		{"0000000", "270000000FFFFFFF"},
		{"123456789012", "2C123456789012FF"},
	} {
		b, err := keys.OfflinePINBlock(tc.pin)
		require.NoError(t, err, tc.pin)
		assert.Equal(t, tc.block, strings.ToUpper(hex.EncodeToString(b)), tc.pin)
		pin, err := keys.PINFromOfflineBlock(b)
		require.NoError(t, err)
		assert.Equal(t, tc.pin, pin)
	}
	for _, pin := range []string{"123", "1234567890123", "12a4", ""} {
		_, err := keys.OfflinePINBlock(pin)
		assert.ErrorIs(t, err, keys.ErrInput, "%q", pin)
	}
	for name, block := range map[string]string{
		"format 0 control nibble": "041234FFFFFFFFFF",
		"length 3":                "231234FFFFFFFFFF",
		"length 13":               "2D123456789012FF",
		"non-digit PIN":           "2412A4FFFFFFFFFF",
		"filler not F":            "241234FFFFFFFF0F",
		"7 bytes":                 "241234FFFFFFFF",
	} {
		_, err := keys.PINFromOfflineBlock(unhex(t, block))
		assert.ErrorIs(t, err, keys.ErrInput, name)
	}
}

// EMV Book 2 §7.2 (table 32): the enciphered PIN is 7F ‖ PIN block ‖ ICC
// unpredictable number ‖ random pad, raised to the card's public exponent;
// the card's private operation (real RSA, the simulator's own key type)
// gives exactly that data back, and the card refuses another header or
// another challenge.
func TestEncipherOfflinePINWithRealRSA(t *testing.T) {
	for _, exp := range []int{3, 65537} {
		card, err := pki.GenerateRSA("icc", 1024, exp)
		require.NoError(t, err)
		pub := card.Public()
		block, err := keys.OfflinePINBlock("123456")
		require.NoError(t, err)
		challenge := unhex(t, "0102030405060708")
		pad := bytes.Repeat([]byte{0xA5}, 128-17)
		enc, err := keys.EncipherOfflinePIN(pub.Modulus, pub.Exponent, block, challenge, bytes.NewReader(pad))
		require.NoError(t, err)
		require.Len(t, enc, 128)

		plain, err := card.DecipherRaw(enc)
		require.NoError(t, err)
		want := append(append(append([]byte{0x7F}, block...), challenge...), pad...)
		assert.Equal(t, want, plain, "e=%d: 7F ‖ block ‖ challenge ‖ pad", exp)
		got, err := keys.OpenOfflinePIN(plain, challenge)
		require.NoError(t, err)
		assert.Equal(t, block, got)

		_, err = keys.OpenOfflinePIN(plain, unhex(t, "0102030405060709"))
		assert.ErrorIs(t, err, keys.ErrInput, "another challenge")
		bad := bytes.Clone(plain)
		bad[0] = 0x7E
		_, err = keys.OpenOfflinePIN(bad, challenge)
		assert.ErrorIs(t, err, keys.ErrInput, "another header")

		again, err := keys.EncipherOfflinePIN(pub.Modulus, pub.Exponent, block, challenge, rand.Reader)
		require.NoError(t, err)
		assert.NotEqual(t, enc, again, "the random pad makes each encipherment differ")
	}
}

func TestEncipherOfflinePINRefusesWhatCannotWork(t *testing.T) {
	card, err := pki.GenerateRSA("icc", 1024, 3)
	require.NoError(t, err)
	pub := card.Public()
	block, _ := keys.OfflinePINBlock("1234")
	ch := make([]byte, 8)
	low := bytes.Clone(pub.Modulus)
	low[0] = 0x7F
	for _, tc := range []struct {
		name                                string
		modulus, exponent, block, challenge []byte
	}{
		{"modulus top bit clear", low, pub.Exponent, block, ch},
		{"short modulus", pub.Modulus[:32], pub.Exponent, block, ch},
		{"even exponent", pub.Modulus, []byte{2}, block, ch},
		{"no exponent", pub.Modulus, nil, block, ch},
		{"short challenge", pub.Modulus, pub.Exponent, block, ch[:4]},
		{"long block", pub.Modulus, pub.Exponent, append(bytes.Clone(block), 0), ch},
	} {
		_, err := keys.EncipherOfflinePIN(tc.modulus, tc.exponent, tc.block, tc.challenge, rand.Reader)
		assert.ErrorIs(t, err, keys.ErrInput, tc.name)
	}
	_, err = keys.EncipherOfflinePIN(pub.Modulus, pub.Exponent, block, ch, bytes.NewReader(nil))
	assert.Error(t, err, "no random pad")
}

// FuzzOfflinePIN feeds the card's side arbitrary VERIFY data: no panic,
// and whatever opens is a well-formed block of a 4 to 12 digit PIN.
func FuzzOfflinePIN(f *testing.F) {
	block, _ := keys.OfflinePINBlock("123456")
	ch := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	f.Add(block, ch)
	f.Add(append(append([]byte{0x7F}, block...), ch...), ch)
	f.Add([]byte{0x7F}, []byte{})
	f.Fuzz(func(t *testing.T, data, challenge []byte) {
		if pin, err := keys.PINFromOfflineBlock(data); err == nil {
			if len(pin) < 4 || len(pin) > 12 {
				t.Fatalf("PIN of %d digits from %X", len(pin), data)
			}
			again, err := keys.OfflinePINBlock(pin)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("%X opens to a PIN that builds %X", data, again)
			}
		}
		if b, err := keys.OpenOfflinePIN(data, challenge); err == nil && (len(b) != 8 || data[0] != 0x7F || !bytes.Equal(data[9:17], challenge)) {
			t.Fatalf("opened %X from %X under %X", b, data, challenge)
		}
	})
}

// BenchmarkEncipherOfflinePIN is the PIN pad's cost of an enciphered
// offline PIN: one RSA public operation with the card's key.
func BenchmarkEncipherOfflinePIN(b *testing.B) {
	for _, k := range []struct{ bits, exp int }{{1024, 3}, {1152, 3}, {1984, 3}, {1984, 65537}} {
		card, err := pki.GenerateRSA("icc", k.bits, k.exp)
		if err != nil {
			b.Fatal(err)
		}
		pub := card.Public()
		block, _ := keys.OfflinePINBlock("123456")
		ch := make([]byte, 8)
		b.Run(fmt.Sprintf("RSA-%d-e%d", k.bits, k.exp), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := keys.EncipherOfflinePIN(pub.Modulus, pub.Exponent, block, ch, rand.Reader); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
