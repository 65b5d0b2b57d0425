// SPDX-License-Identifier: Apache-2.0

package capk_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
)

var inspectNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// The project's own key file has four expired keys (01-04): warnings, not
// problems, so the file passes its checker.
func TestInspectProjectKeyFile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "capk", "unionpay.json"))
	require.NoError(t, err)
	defer f.Close()
	rep, err := capk.Inspect(f, inspectNow)
	require.NoError(t, err)
	assert.Zero(t, rep.Failed())
	expired := 0
	for _, k := range rep.Keys {
		assert.True(t, k.OK(), k.String())
		if k.Expired {
			expired++
		}
	}
	assert.Equal(t, 4, expired)
}

// Every problem of every entry is reported, not the first of the file:
// two problems in one key, a field that does not parse in another, a
// duplicate, a bad revocation, and the good key between them still
// judged good.
func TestInspectReportsEveryProblem(t *testing.T) {
	good := rsaKey(unionPay, 0x08, 128)
	var buf bytes.Buffer
	s := capk.NewStore()
	require.NoError(t, s.Add(good))
	require.NoError(t, s.Save(&buf))
	goodEntry := between(t, buf.String(), "[", "]")

	badExpAndSum := strings.NewReplacer(`"index": "08"`, `"index": "09"`, `"exponent": "03"`, `"exponent": "05"`).Replace(goodEntry)
	badHex := strings.NewReplacer(`"index": "08"`, `"index": "0A"`, `"modulus": "`, `"modulus": "ZZ`).Replace(goodEntry)
	doc := `{"keys": [` + goodEntry + `,` + badExpAndSum + `,` + badHex + `,` + goodEntry + `],
	  "revoked": [{"rid": "A000000333", "index": "08", "serial": "12"}, {"rid": "A000000333", "index": "08", "serial": "000001"}]}`

	rep, err := capk.Inspect(strings.NewReader(doc), inspectNow)
	require.NoError(t, err)
	require.Len(t, rep.Keys, 4)
	assert.Equal(t, 4, rep.Failed(), "three bad keys and one bad revocation")

	assert.True(t, rep.Keys[0].OK(), rep.Keys[0].String())
	assert.Equal(t, 1, rep.Keys[0].Revocations)

	k := rep.Keys[1]
	assert.Equal(t, 1, k.Entry)
	require.Len(t, k.Problems, 2, k.String())
	assert.ErrorIs(t, k.Problems[0], capk.ErrInvalidKey)
	assert.Contains(t, k.Problems[0].Error(), "exponent: ")
	assert.ErrorIs(t, k.Problems[1], capk.ErrChecksum)
	assert.Contains(t, k.Problems[1].Error(), "checksum: ")
	assert.False(t, k.ChecksumOK)
	assert.ErrorIs(t, k.Err, capk.ErrChecksum)
	assert.ErrorIs(t, k.Err, capk.ErrInvalidKey)

	k = rep.Keys[2]
	require.Len(t, k.Problems, 1, k.String())
	assert.ErrorIs(t, k.Problems[0], capk.ErrFormat)
	assert.Contains(t, k.Problems[0].Error(), "modulus: ")

	k = rep.Keys[3]
	require.Len(t, k.Problems, 1, k.String())
	assert.Contains(t, k.Problems[0].Error(), "already in keys[0]")

	require.Len(t, rep.Revoked, 1)
	assert.ErrorIs(t, rep.Revoked[0], capk.ErrFormat)
	assert.Contains(t, rep.Revoked[0].Error(), "revoked[0].serial")
}

// What is not a key file at all is an error, not findings.
func TestInspectNotAKeyFile(t *testing.T) {
	for _, doc := range []string{"", "{", `{"keys": []} x`, `{"other": 1}`, `{}`} {
		_, err := capk.Inspect(strings.NewReader(doc), inspectNow)
		assert.ErrorIs(t, err, capk.ErrFormat, "%q", doc)
	}
	rep, err := capk.Inspect(strings.NewReader(`{"keys": []}`), inspectNow)
	require.NoError(t, err)
	assert.Empty(t, rep.Keys)
	assert.Zero(t, rep.Failed())
}

func between(t *testing.T, s, open, end string) string {
	t.Helper()
	i, j := strings.Index(s, open), strings.LastIndex(s, end)
	require.True(t, i >= 0 && j > i, s)
	return s[i+1 : j]
}
