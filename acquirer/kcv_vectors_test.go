// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Key check values are the first 4 bytes of E(key, 00×8) (ACQUIRER-NOTES
// §4). Published encryptions of the zero block:
//
//   - DES(0123456789ABCDEF, 0) = D5D44FF720683D0D: the OpenSSL DES ECB
//     test vector also run by mbed TLS (test_suite_des.data,
//     des_encrypt_openssl_test_vector_34);
//   - 3DES(0123456789ABCDEFFEDCBA9876543210, 0) = 08D7B4FB629D0885, whose
//     first two bytes are the check value 08D7 in knovichikhin/pyemv's
//     tests.
//
// An 8-byte key is single DES; K‖K, the form a 3DES terminal loads an
// 8-byte MAK in, is the same key and the same check value.
func TestCheckValuePublishedVectors(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"0123456789ABCDEF", "D5D44FF7"},
		{"0123456789ABCDEF0123456789ABCDEF", "D5D44FF7"},
		{"0123456789ABCDEFFEDCBA9876543210", "08D7B4FB"},
	} {
		cv, err := CheckValue(unhex(t, tc.key))
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(hexOf(cv[:])), "key %s", tc.key)
	}
	_, err := CheckValue(unhex(t, "0123456789ABCD"))
	assert.ErrorIs(t, err, ErrKey)
}

func hexOf(b []byte) []byte {
	out := make([]byte, 2*len(b))
	upperHex(out, b)
	return out
}
