// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// Rule 8: no full PAN leaves the kernel — not in ODA error text, not in a
// log entry whose format names the PAN or track data.
func TestNoFullPANLeavesTheKernel(t *testing.T) {
	const pan, other = "6222021000123456781", "6222021000999999997"
	t.Run("ODA error text", func(t *testing.T) {
		card := loadCard(t, "default.json")
		// The records name another PAN than the ICC certificate.
		lies := hostile.NewCard(card, hostile.Rewrite(func(c apdu.Command) bool { return c.INS == hostile.INSReadRecord },
			func(d []byte) []byte { return bytes.ReplaceAll(d, mustHex(t, pan+"F"), mustHex(t, other+"F")) }))
		res, err := newKernel(t).Purchase(context.Background(), lies, 1234)
		require.NoError(t, err)
		require.Error(t, res.ODAErr)
		for _, s := range []string{res.ODAError, res.ODAErr.Error(), res.Detail} {
			assert.NotContains(t, s, pan)
			assert.NotContains(t, s, other)
			assert.NotContains(t, strings.ToUpper(s), pan[:12])
		}
	})
	t.Run("a log whose format names the PAN and track 2", func(t *testing.T) {
		format := mustHex(t, "9A039F21039F02065A0A57139F3602")
		rec, err := hostile.LogRecord(format, map[tlv.Tag][]byte{
			0x9A: testDate, 0x9F21: testTime, 0x9F02: bcdN(1234, 6), 0x5A: mustHex(t, pan+"F"),
			0x57: mustHex(t, pan+"D35122011234567890F"), 0x9F36: {0, 1},
		})
		require.NoError(t, err)
		lies := hostile.NewCard(loadCard(t, "default.json"), hostile.GetData(0x9F4F, format), hostile.ReadRecord(11, 1, rec))
		entries, err := newKernel(t).ReadTransactionLog(context.Background(), lies)
		require.NoError(t, err)
		require.NotEmpty(t, entries)
		e := entries[0]
		assert.Equal(t, "622202*********6781", e.PAN)
		for _, tag := range []string{"5A", "57"} {
			assert.NotContains(t, e.Fields, tag)
		}
		b, err := json.Marshal(entries)
		require.NoError(t, err)
		assert.NotContains(t, string(b), pan)
		assert.NotContains(t, strings.ToUpper(string(b)), pan[:12])
		assert.Equal(t, kernel.Amount(1234), e.Amount)
	})
}
