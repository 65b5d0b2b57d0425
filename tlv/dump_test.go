package tlv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaskPAN(t *testing.T) {
	tests := map[string]string{
		"6234567890123456":    "623456******3456",
		"6234567890123456789": "623456*********6789",
		"12345678901":         "123456*8901",
		"1234567890":          "******7890",
		"12345":               "*2345",
		"1234":                "****",
		"1":                   "*",
		"":                    "",
	}
	for in, want := range tests {
		assert.Equal(t, want, MaskPAN(in), in)
	}
}

func TestDump(t *testing.T) {
	b := Encode(
		Constructed(0x70,
			TLV{0x57, h("6234567890123456D30122201234567F")},
			TLV{0x5A, h("6234567890123456789F")},
			TLV{0x50, []byte("PBOC\x01\"X")},
			Constructed(0xBF0C, TLV{0x9F4D, h("0B0A")}, TLV{0x9F74, nil}),
		),
		TLV{0xDF01, h("AABB")},
	)
	var out bytes.Buffer
	require.NoError(t, Dump(&out, b))
	assert.Equal(t, `70 READ RECORD Response Message Template
  57 Track 2 Equivalent Data: 623456******3456D3012220*******
  5A Application Primary Account Number (PAN): 623456*********6789
  50 Application Label: "PBOC..X"
  BF0C File Control Information (FCI) Issuer Discretionary Data
    9F4D Log Entry: 0B0A
    9F74 EC Issuer Authorisation Code: (empty)
DF01 ?: AABB
`, out.String())
	assert.NotContains(t, out.String(), "67890123")
}

func TestDumpTrack2WithoutSeparator(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Dump(&out, h("57 08 6234567890123456")))
	assert.Equal(t, "57 Track 2 Equivalent Data: 623456******3456\n", out.String())
}

type failWriter struct{ n int }

var errWrite = errors.New("write failed")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errWrite
	}
	w.n--
	return len(p), nil
}

func TestDumpErrors(t *testing.T) {
	var out bytes.Buffer
	err := Dump(&out, h("5A 01 12 9F 02"))
	require.ErrorIs(t, err, ErrTruncated)
	assert.Equal(t, "5A Application Primary Account Number (PAN): **\n", out.String())

	err = Dump(&failWriter{n: 1}, testRecord())
	assert.ErrorIs(t, err, errWrite)
}
