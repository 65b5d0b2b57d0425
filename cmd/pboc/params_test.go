// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/params"
)

// The sample records of ACQUIRER-NOTES §5 and §6.
const (
	sampleAID   = "9F0608A000000333010101DF0101009F08020020DF1105D84000A800DF1205D84004F800DF130500100000009F1B0400000000DF150400000000DF160199DF170199DF14039F3704DF1801019F7B06000000100000DF1906000000100000DF2006000000100000DF2106000000100000"
	sampleCAKey = "9F0605A0000003339F220101DF05083230303931323331DF060101DF070101DF028180BBE9066D2517511D239C7BFA77884144AE20C7372F515147E8CE6537C54C0A6A4D45F8CA4D290870CDA59F1344EF71D17D3F35D92F3F06778D0D511EC2A7DC4FFEADF4FB1253CE37A7B2B5A3741227BEF72524DA7A2B7B1CB426BEE27BC513B0CB11AB99BC1BC61DF5AC6CC4D831D0848788CD74F6D543AD37C5A2B4C5D5A93BDF040103DF0314E881E390675D44C2DD81234DCE29C3F5AB2297A0"
)

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func TestParamsShowAndImport(t *testing.T) {
	aidFile := writeTemp(t, "aid.txt", []byte("# from the acquirer\n"+sampleAID+"\n"))
	code, out, errOut := runCLI(t, "params", "show", aidFile)
	require.Equal(t, 0, code, errOut)
	t.Log("\n" + out)
	for _, want := range []string{"1 AID parameter records (hex, DF01 read as 00-exact)", "record 1: AID A000000333010101 (exact match), version 0020",
		"TAC default D84000A800  online D84004F800  denial 0010000000", "default DDOL 9F3704", "online PIN yes",
		"electronic cash: terminal limit 1000.00", "contactless: floor limit 1000.00, transaction limit 1000.00, CVM limit 1000.00"} {
		assert.Contains(t, out, want)
	}
	code, out, _ = runCLI(t, "params", "show", "--asi", "00-partial", aidFile)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "(partial match)")

	dest := filepath.Join(t.TempDir(), "imported.txt")
	code, out, errOut = runCLI(t, "params", "import", aidFile, "--out", dest)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "1 AID parameter records checked and written to "+dest)
	written, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, sampleAID+"\n", string(written), "the sample, normalised, is itself")

	keyBin, _ := hex.DecodeString(sampleCAKey)
	keyFile := writeTemp(t, "capk.bin", keyBin)
	code, out, errOut = runCLI(t, "params", "show", keyFile)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "1 CA public key records, every DF03 checksum verified")
	assert.Contains(t, out, "A000000333/01 rsa-1024 e=3 sha1 checksum ok EXPIRED 2009-12-31")
}

func TestParamsRefusals(t *testing.T) {
	unknown := writeTemp(t, "aid.txt", []byte(sampleAID+"DF690101\n"))
	code, _, errOut := runCLI(t, "params", "show", unknown)
	assert.Equal(t, 2, code, "a file that does not read is bad input")
	assert.Equal(t, "pboc params: "+unknown+": AID record 1, tag DF69: unknown tag: not one this terminal knows in AID records\n", errOut)
	code, out, errOut := runCLI(t, "params", "show", "--allow-unknown", unknown)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "AID record 1: tag DF69 skipped (unknown)")
	assert.Contains(t, out, "record 1: AID A000000333010101")

	truncated := writeTemp(t, "aid.txt", []byte(sampleAID[:len(sampleAID)-4]+"\n"))
	code, _, errOut = runCLI(t, "params", "import", truncated, "--out", filepath.Join(t.TempDir(), "x"))
	assert.Equal(t, 2, code)
	assert.Equal(t, "pboc params: "+truncated+": AID record 1: malformed: tlv: truncated at offset 106\n", errOut)

	for _, args := range [][]string{{"params"}, {"params", "bogus"}, {"params", "show"}, {"params", "show", unknown, "--asi", "01"},
		{"params", "export", "extra"}, {"capk", "import"}} {
		code, _, _ := runCLI(t, args...)
		assert.Equal(t, 2, code, "%q", args)
	}
	code, _, _ = runCLI(t, "params", "show", filepath.Join(t.TempDir(), "none"))
	assert.Equal(t, 2, code, "a missing file is bad input")
}

func TestCAPKImportAndExport(t *testing.T) {
	dir := t.TempDir()
	records := filepath.Join(dir, "capk.txt")
	code, out, errOut := runCLI(t, "capk", "export", "--test-ca", "--out", records)
	require.Equal(t, 0, code, errOut)
	n := capk.Builtin().Len() + capk.TestKeys().Len()
	assert.Contains(t, out, "wrote ")
	data, err := os.ReadFile(records)
	require.NoError(t, err)
	assert.Equal(t, n, strings.Count(string(data), "\n"), "one record a line")

	jsonFile := filepath.Join(dir, "capk.json")
	code, out, errOut = runCLI(t, "capk", "import", records, "--out", jsonFile)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "CA keys checked and written to "+jsonFile)
	store, err := capk.LoadFile(jsonFile)
	require.NoError(t, err, "the import is a CA key file capk reads")
	assert.Equal(t, n, store.Len())

	// A checksum lie in one record refuses the file.
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	lines[2] = lines[2][:len(lines[2])-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(lines[2], "0")]
	bad := writeTemp(t, "bad.txt", []byte(strings.Join(lines, "\n")))
	code, _, errOut = runCLI(t, "capk", "import", bad, "--out", filepath.Join(dir, "bad.json"))
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(errOut, "pboc capk: "+bad+": CA key record 3, tag DF03: CA key checksum mismatch: "), "the file once, params: not said: %s", errOut)
	_, err = os.Stat(filepath.Join(dir, "bad.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing written")

	aids := filepath.Join(dir, "aid.bin")
	code, _, errOut = runCLI(t, "params", "export", "--binary", "--out", aids)
	require.Equal(t, 0, code, errOut)
	raw, err := os.ReadFile(aids)
	require.NoError(t, err)
	apps, err := params.ReadAIDs(raw, params.Format{})
	require.NoError(t, err)
	assert.Equal(t, kernel.DefaultConfig().Applications, apps)
}
