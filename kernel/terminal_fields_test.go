// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
)

// The terminal fields are checked when the kernel is made, each error
// naming the field: 9F4E at most 20 bytes (never cut), 9F1C exactly 8 and
// 9F16 exactly 15 printable characters.
func TestTerminalFieldsValidated(t *testing.T) {
	assert.LessOrEqual(t, len(kernel.DefaultConfig().MerchantName), 20, "the default name fits 9F4E")
	for _, tc := range []struct {
		name  string
		set   func(*kernel.Config)
		field string
	}{
		{"merchant name 21 bytes", func(c *kernel.Config) { c.MerchantName = "GO-PBOC TEST MERCHANT" }, "MerchantName (9F4E): 21 bytes, at most 20"},
		{"seven Chinese characters", func(c *kernel.Config) { c.MerchantName = "北京市朝阳区商" }, "MerchantName (9F4E): 21 bytes"},
		{"control character", func(c *kernel.Config) { c.MerchantName = "SHOP\n1" }, "MerchantName (9F4E): control character 0A at byte 4"},
		{"terminal ID 7", func(c *kernel.Config) { c.TerminalID = "PBOC001" }, "TerminalID (9F1C)"},
		{"terminal ID 9", func(c *kernel.Config) { c.TerminalID = "PBOC00001" }, "TerminalID (9F1C)"},
		{"terminal ID not ASCII", func(c *kernel.Config) { c.TerminalID = "PBOC00１" }, "TerminalID (9F1C)"},
		{"merchant ID 14", func(c *kernel.Config) { c.MerchantID = "12345678901234" }, "MerchantID (9F16)"},
		{"merchant ID 16", func(c *kernel.Config) { c.MerchantID = "1234567890123456" }, "MerchantID (9F16)"},
		{"merchant ID empty", func(c *kernel.Config) { c.MerchantID = "" }, "MerchantID (9F16)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := kernel.DefaultConfig()
			tc.set(&cfg)
			_, err := kernel.New(cfg)
			require.ErrorIs(t, err, kernel.ErrConfig)
			assert.Contains(t, err.Error(), tc.field)
		})
	}
	for _, name := range []string{"", "上海加油站", "北京朝阳区商", "GO-PBOC TEST SHOP 12"} {
		cfg := kernel.DefaultConfig()
		cfg.MerchantName = name
		_, err := kernel.New(cfg)
		assert.NoError(t, err, "%q (%d bytes)", name, len(name))
	}
}

// A Chinese merchant name in UTF-8 reaches the card whole and reads back
// from its log as written.
func TestChineseMerchantNameInTheLog(t *testing.T) {
	cfg := testConfig()
	cfg.MerchantName = "上海加油站一号" // 7 characters, 21 bytes: too long
	_, err := kernel.New(cfg)
	require.ErrorIs(t, err, kernel.ErrConfig)

	cfg.MerchantName = "上海加油站" // 15 bytes
	_, log := saleThenLog(t, cfg)
	raw, ok := log[0].Fields["9F4E"]
	require.True(t, ok, "the default card logs 9F4E")
	assert.Equal(t, "上海加油站", log[0].Merchant)
	assert.True(t, strings.HasPrefix(string(raw), "上海加油站"), "the bytes sent, padded by the card: % X", raw)
}

// 9A and 9F21 are the terminal's wall clock in Config.Location: they are
// sent so, and a log entry is read back in it — the instant the terminal
// sent, whatever time.Local is.
func TestLogTimesInTheTerminalsLocation(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	utcNow := time.Date(2026, 3, 14, 18, 5, 9, 0, time.UTC) // 02:05:09 on the 15th in Shanghai
	cfg := testConfig()
	cfg.Location = shanghai
	cfg.Now = func() time.Time { return utcNow }
	card, log := saleThenLog(t, cfg)
	assert.True(t, log[0].Time.Equal(utcNow), "log %v, sent %v", log[0].Time, utcNow)
	assert.Equal(t, "2026-03-15 02:05:09", log[0].Time.Format("2006-01-02 15:04:05"), "Shanghai's date, not UTC's")

	// Another terminal reads the entry as the wall clock it holds, in its
	// own zone: the card keeps no zone.
	other := testConfig()
	other.Location = time.UTC
	k2, err := kernel.New(other)
	require.NoError(t, err)
	log, err = k2.ReadTransactionLog(context.Background(), card)
	require.NoError(t, err)
	assert.Equal(t, "2026-03-15 02:05:09 +0000", log[0].Time.Format("2006-01-02 15:04:05 -0700"))
}

// GBK bytes in MerchantName are sent unchanged; read back, the entry's
// Merchant keeps only their printable ASCII and Fields the bytes.
func TestGBKMerchantNamePassesThrough(t *testing.T) {
	gbk := string([]byte{0xC9, 0xCF, 0xBA, 0xA3}) + " GAS" // 上海 in GBK
	cfg := testConfig()
	cfg.MerchantName = gbk
	_, log := saleThenLog(t, cfg)
	assert.Equal(t, " GAS", log[0].Merchant)
	assert.True(t, strings.HasPrefix(string(log[0].Fields["9F4E"]), gbk), "% X", log[0].Fields["9F4E"])
}

// saleThenLog makes an offline EC sale of 12.34 on a default card with cfg
// and reads the card's log back; the sale is its first entry.
func saleThenLog(t *testing.T, cfg kernel.Config) (*cardsim.Card, []kernel.LogEntry) {
	t.Helper()
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	card := loadCard(t, "default.json")
	res, err := k.Purchase(context.Background(), card, 1234)
	require.NoError(t, err)
	require.Equal(t, kernel.OutcomeApprovedOffline, res.Outcome, res.Detail)
	log, err := k.ReadTransactionLog(context.Background(), card)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.True(t, res.TransactionTime.Equal(log[0].Time), "the log's time is the sale's: %v, %v", log[0].Time, res.TransactionTime)
	return card, log
}
