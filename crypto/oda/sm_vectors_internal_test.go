// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Published SM3 and SM2 examples, checked through the hash and signature
// code that ODA uses.
//
//   [gbt32905] GB/T 32905-2016 (SM3) Annex A, examples 1 and 2.
//   [gbt32918] GB/T 32918.5-2017 (GM/T 0003.5-2012) Annex A: the digital
//              signature example on the recommended curve with the default
//              user ID "1234567812345678", message "message digest": Z, e,
//              and r‖s. (The ALICE123@YAHOO.COM example of GB/T 32918.2 is
//              on a test curve, not the one PBOC uses.)
//   [fips180]  FIPS 180-2 Appendix A.1, SHA-1("abc").

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestHashVectors(t *testing.T) {
	abc := []byte("abc")
	assert.Equal(t, mustHex(t, "66C7F0F4 62EEEDD9 D1F2D46B DC10E4E2 4167C487 5CF2F7A2 297DA02B 8F4BA8E0"), SM3.Sum(abc), "[gbt32905] example 1")
	abcd := []byte(strings.Repeat("abcd", 16))
	assert.Equal(t, mustHex(t, "DEBE9FF9 2275B8A1 38604889 C18E5A4D 6FDB70E5 387E5765 293DCBA3 9C0C5732"), SM3.Sum(abcd), "[gbt32905] example 2")
	assert.Equal(t, SM3.Sum(abcd), SM3.Sum(abcd[:10], abcd[10:33], abcd[33:]), "parts hash as their concatenation")
	assert.Equal(t, mustHex(t, "A9993E36 4706816A BA3E2571 7850C26C 9CD0D89D"), SHA1.Sum(abc), "[fips180]")
}

const (
	gbtPubX = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
	gbtPubY = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
	gbtR    = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
	gbtS    = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)

// Z over the default ID and the curve of GB/T 32918.5, then e = SM3(Z ‖ M):
// the values the standard prints.
func TestSM2ZWithDefaultID(t *testing.T) {
	id := []byte("1234567812345678")
	entl := []byte{0x00, byte(8 * len(id))}
	curve := mustHex(t, ""+
		"FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"+ // a
		"28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"+ // b
		"32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"+ // xG
		"BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0") // yG
	z := SM3.Sum(entl, id, curve, mustHex(t, gbtPubX), mustHex(t, gbtPubY))
	assert.Equal(t, mustHex(t, "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"), z, "Z_A")
	e := SM3.Sum(z, []byte("message digest"))
	assert.Equal(t, mustHex(t, "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"), e, "e")
}

// sm2Verify, which every SM2 certificate and signature goes through,
// accepts the standard's signature: it computes Z over the default ID.
func TestSM2VerifyPublishedSignature(t *testing.T) {
	pk := PublicKey{Alg: SM2, Point: mustHex(t, gbtPubX+gbtPubY)}
	sig := mustHex(t, gbtR+gbtS)
	msg := []byte("message digest")
	require.NoError(t, sm2Verify(pk, msg, sig))

	assert.ErrorIs(t, sm2Verify(pk, []byte("message digesT"), sig), ErrSignature, "another message")
	bad := append([]byte(nil), sig...)
	bad[63] ^= 0x01
	assert.ErrorIs(t, sm2Verify(pk, msg, bad), ErrSignature, "another s")
	other := PublicKey{Alg: SM2, Point: mustHex(t, gbtPubX+gbtPubY)}
	other.Point[0] ^= 0x01
	assert.ErrorIs(t, sm2Verify(other, msg, sig), ErrKeyLength, "a point off the curve")
}
