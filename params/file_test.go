// SPDX-License-Identifier: Apache-2.0

package params_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/params"
)

func TestSplitHexAndBinary(t *testing.T) {
	aid, key := unhex(t, sampleAID), unhex(t, sampleCAKey)
	text := "# downloaded 2026-03-01\r\n\n" + sampleAID[:40] + " " + sampleAID[40:] + "  # the debit AID\r\n" +
		strings.ToLower(sampleCAKey) + "\n\t\n"
	recs, enc, err := params.Split([]byte(text))
	require.NoError(t, err)
	assert.Equal(t, params.Hex, enc)
	assert.Equal(t, [][]byte{aid, key}, recs)

	bin := append(append(append([]byte(nil), aid...), 0x00, 0xFF), key...) // padding between records
	recs, enc, err = params.Split(bin)
	require.NoError(t, err)
	assert.Equal(t, params.Binary, enc)
	assert.Equal(t, [][]byte{aid, key}, recs)

	recs, _, err = params.Split(nil)
	require.NoError(t, err)
	assert.Empty(t, recs)

	for name, c := range map[string]struct {
		data     []byte
		sentinel error
		record   int
	}{
		"odd hex":                 {[]byte(sampleAID + "\n" + sampleAID[:5] + "\n"), params.ErrFormat, 2},
		"not hex":                 {[]byte("9F06XX\n"), params.ErrFormat, 1},
		"binary before 9F06":      {unhex(t, "9F2201019F0605A000000333"), params.ErrFormat, 1},
		"binary data before 9F06": {append([]byte{0x9F, 0x22, 0x01, 0x01}, key...), params.ErrFormat, 1},
		"binary truncated":        {key[:len(key)-4], params.ErrFormat, 0},
		"too large":               {bytes.Repeat([]byte("0"), params.MaxFileLen+1), params.ErrTooLarge, 0},
		"too many records":        {[]byte(strings.Repeat(sampleAID+"\n", params.MaxRecords+1)), params.ErrTooLarge, 0},
		"too many binary records": {bytes.Repeat(aid, params.MaxRecords+1), params.ErrTooLarge, 0},
	} {
		_, _, err := params.Split(c.data)
		require.ErrorIs(t, err, c.sentinel, name)
		var re *params.RecordError
		if errors.As(err, &re) {
			assert.Equal(t, c.record, re.Record, name)
		}
	}
}

// A line that is not hex says which character, where in the line as
// typed (spaces counted), or that its digits are odd in number; not
// encoding/hex's "invalid byte".
func TestSplitSaysWhatIsNotHex(t *testing.T) {
	for text, want := range map[string]string{
		"# a comment\n9F06 05A0 0000 0333 XX\n": `params: parameter record 1: malformed: line 2: not hex: 'X' (U+0058) at character 21`,
		"9F06０５\n":                              `params: parameter record 1: malformed: line 1: not hex: '０' (U+FF10) at character 5`,
		"9F0605A\n":                             `params: parameter record 1: malformed: line 1: not hex: an odd number of digits (7)`,
	} {
		_, _, err := params.Split([]byte(text))
		require.ErrorIs(t, err, params.ErrFormat, text)
		assert.EqualError(t, err, want)
	}
}

func TestReadFiles(t *testing.T) {
	cfg := kernel.DefaultConfig()
	var hexFile, binFile bytes.Buffer
	require.NoError(t, params.WriteAIDs(&hexFile, cfg.Applications, params.Format{}, params.Hex))
	require.NoError(t, params.WriteAIDs(&binFile, cfg.Applications, params.Format{}, params.Binary))
	assert.Equal(t, len(cfg.Applications), strings.Count(hexFile.String(), "\n"), "one record a line")
	for _, data := range [][]byte{hexFile.Bytes(), binFile.Bytes()} {
		apps, err := params.ReadAIDs(data, params.Format{})
		require.NoError(t, err)
		assert.Equal(t, cfg.Applications, apps)
	}

	// Two records of one AID: refused, naming the second.
	_, err := params.ReadAIDs([]byte(sampleAID+"\n"+sampleAID+"\n"), params.Format{})
	assertTagError(t, err, params.ErrDuplicate, 0x9F06)
	var re *params.RecordError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, 2, re.Record)
	assert.Contains(t, err.Error(), "params: AID record 2, tag 9F06")

	// A bad record anywhere refuses the file, naming it.
	bad := sampleAID + "\n" + strings.Replace(sampleAID, "DF180101", "DF180102", 1) + "\n"
	_, err = params.ReadAIDs([]byte(strings.Replace(bad, "A000000333010101", "A000000333010102", 1)), params.Format{})
	assertTagError(t, err, params.ErrFormat, 0xDF18)
	require.True(t, errors.As(err, &re))
	assert.Equal(t, 2, re.Record)

	_, err = params.ReadAIDs([]byte("# nothing\n"), params.Format{})
	assert.ErrorIs(t, err, params.ErrMissing)
	_, err = params.ReadCAKeys(nil, params.Format{})
	assert.ErrorIs(t, err, params.ErrMissing)
	_, err = params.ReadAIDs([]byte(sampleCAKey+"\n"), params.Format{})
	assertTagError(t, err, params.ErrUnknownTag, 0x9F22)

	// CA keys: a duplicate, and a checksum lie in the second of two.
	_, err = params.ReadCAKeys([]byte(sampleCAKey+"\n"+sampleCAKey+"\n"), params.Format{})
	assertTagError(t, err, params.ErrDuplicate, 0x9F22)
	var keys bytes.Buffer
	require.NoError(t, params.WriteCAKeys(&keys, capk.TestKeys().Keys(), params.Format{}, params.Hex))
	lines := strings.Split(strings.TrimSpace(keys.String()), "\n")
	lines[1] = lines[1][:len(lines[1])-2] + "00"
	_, err = params.ReadCAKeys([]byte(strings.Join(lines, "\n")), params.Format{})
	assertTagError(t, err, params.ErrChecksum, 0xDF03)
	require.True(t, errors.As(err, &re))
	assert.Equal(t, 2, re.Record)
}

// The done-when test. The notes' sample AID record and CA key record load
// into a Config and a capk.Store whose every checksum checks; the kernel
// runs a purchase with parameters loaded that way against the simulated
// card, which is signed by the test CA: its keys are written as CA key
// records by this package's writer (binary, as downloaded) and loaded
// back beside the sample key.
func TestPurchaseWithDownloadedParameters(t *testing.T) {
	dir := t.TempDir()
	aidFile := filepath.Join(dir, "aid.txt")
	require.NoError(t, os.WriteFile(aidFile, []byte("# IC parameters (382/380)\n"+sampleAID+"\n"), 0o600))
	var keys bytes.Buffer
	keys.Write(unhex(t, sampleCAKey))
	require.NoError(t, params.WriteCAKeys(&keys, capk.TestKeys().Keys(), params.Format{}, params.Binary))
	keyFile := filepath.Join(dir, "capk.bin")
	require.NoError(t, os.WriteFile(keyFile, keys.Bytes(), 0o600))

	base := kernel.DefaultConfig()
	base.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local) }
	cfg, err := params.LoadConfig(base, aidFile, keyFile, params.Format{})
	require.NoError(t, err)
	require.Len(t, cfg.Applications, 1)
	assert.Equal(t, "A000000333010101", hexOf(cfg.Applications[0].AID))
	require.Equal(t, 4, cfg.CAPK.Len(), "the sample key and the three test CA keys")
	for _, f := range capk.Check(cfg.CAPK, base.Now()) {
		assert.True(t, f.ChecksumOK, "%s", f)
		assert.NoError(t, f.Err, "%s", f)
	}

	p, err := cardsim.LoadProfile(filepath.Join("..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	card, err := cardsim.New(p)
	require.NoError(t, err)
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	res, err := k.Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ODADDA, res.ODA, "offline data authentication with a downloaded CA key")
	assert.Empty(t, res.ODAError)
	assert.Equal(t, uint64(50000-1234), card.Balance("A000000333010101"))

	// The same parameters without the test CA: the card's certificate
	// chain does not verify, so the sale is not approved offline.
	var pub bytes.Buffer
	require.NoError(t, params.WriteCAKeys(&pub, capk.Builtin().Keys(), params.Format{}, params.Hex))
	pubFile := filepath.Join(dir, "capk-published.txt")
	require.NoError(t, os.WriteFile(pubFile, pub.Bytes(), 0o600))
	cfg, err = params.LoadConfig(base, aidFile, pubFile, params.Format{})
	require.NoError(t, err)
	k, err = kernel.New(cfg)
	require.NoError(t, err)
	card2, err := cardsim.New(p)
	require.NoError(t, err)
	res, err = k.Purchase(context.Background(), card2, 1234)
	require.NoError(t, err)
	assert.NotEqual(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	base := kernel.DefaultConfig()
	_, err := params.LoadConfig(base, filepath.Join(dir, "none.txt"), "", params.Format{})
	assert.ErrorIs(t, err, os.ErrNotExist)
	bad := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte(sampleAID[:20]+"\n"), 0o600))
	_, err = params.LoadConfig(base, bad, "", params.Format{})
	assert.ErrorIs(t, err, params.ErrFormat)
	assert.Contains(t, err.Error(), bad)
	big := filepath.Join(dir, "big.txt")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte("0"), params.MaxFileLen+10), 0o600))
	_, err = params.LoadConfig(base, "", big, params.Format{})
	assert.ErrorIs(t, err, params.ErrTooLarge)
	cfg, err := params.LoadConfig(base, "", "", params.Format{})
	require.NoError(t, err)
	assert.Equal(t, base.Applications, cfg.Applications, "no file, nothing replaced")
}

func hexOf(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// A lab's parameter files from a Config: written and loaded back, the same
// applications and CA keys, in either encoding.
func TestSaveConfigLoadsBack(t *testing.T) {
	cfg := kernel.DefaultConfig()
	cfg.CAPK = capk.Builtin()
	cfg.CAPK.Merge(capk.TestKeys())
	for _, enc := range []params.Encoding{params.Hex, params.Binary} {
		dir := t.TempDir()
		aid, keys := filepath.Join(dir, "aid"), filepath.Join(dir, "capk")
		require.NoError(t, params.SaveConfig(cfg, aid, keys, params.Format{}, enc))
		back, err := params.LoadConfig(kernel.Config{}, aid, keys, params.Format{})
		require.NoError(t, err)
		assert.Equal(t, cfg.Applications, back.Applications, enc)
		want, got := cfg.CAPK.Keys(), back.CAPK.Keys()
		require.Len(t, got, len(want))
		for i := range want {
			want[i].Note = ""
			assert.Equal(t, want[i], got[i])
		}
	}
	bad := kernel.DefaultConfig()
	bad.Applications[1].AID = []byte{0xA0}
	err := params.SaveConfig(bad, filepath.Join(t.TempDir(), "aid"), "", params.Format{}, params.Hex)
	assertTagError(t, err, params.ErrInvalid, 0x9F06)
	var re *params.RecordError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, 2, re.Record)
}
