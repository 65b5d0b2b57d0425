// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/purse"
)

// A real card's recorded files, from YctRealCardTest.kt (package
// com.example.nfctransit.data, "实卡数据": a Lingnan Tong card with the
// T-Union electronic purse): EF15 of the EP application, its EF18 record
// 1, and records 2 to 10, which the card answered as 23 zero bytes — the
// unused slots of the cyclic file, not transactions.
const (
	tunionEF15      = "02205810FFFFFFFF02010310487039534635882720240715204012150000"
	tunionEF18First = "0001000000000000640941310177670320241027212555"
)

var tunionEF18Empty = make([]byte, 23)

// TestRealCardTUnionFiles decodes the recorded EF15 and EF18 record with
// the purse's decoders.
func TestRealCardTUnionFiles(t *testing.T) {
	info, err := purse.ParseAppInfo(unhexT(t, tunionEF15))
	require.NoError(t, err)
	assert.Equal(t, unhexT(t, "02205810FFFFFFFF"), info.IssuerID[:])
	assert.Equal(t, byte(0x02), info.AppType)
	assert.Equal(t, unhexT(t, "03104870395346358827"), info.ASN[:])
	assert.Equal(t, unhexT(t, "20240715"), info.Start[:])
	assert.Equal(t, unhexT(t, "20401215"), info.End[:])

	rec, err := purse.ParseCardRecord(unhexT(t, tunionEF18First))
	require.NoError(t, err)
	assert.Equal(t, uint16(1), rec.Serial)
	assert.Equal(t, purse.Amount(100), rec.Amount, "1.00")
	assert.Equal(t, purse.TxType(0x09), rec.Type, "a compound purchase (复合消费)")
	assert.Equal(t, unhexT(t, "413101776703"), rec.TID[:])
	assert.Equal(t, unhexT(t, "20241027212555"), rec.Time[:])
}

// TestRealCardTUnionEmptyRecordsEndTheLog reads the card's records as an
// inquiry does: the zero-filled slots after record 1 end the log; they are
// not nine transactions of type 00 and amount 0.00.
func TestRealCardTUnionEmptyRecordsEndTheLog(t *testing.T) {
	aid := unhexT(t, "A000000632010105") // T-Union EP
	answers := map[string][]byte{
		fmt.Sprintf("00A40400%02X%X00", len(aid), aid): {0x90, 0x00}, // not recorded: the purse reads nothing from it
		"00B095001E": unhexT(t, tunionEF15+"9000"),
		"00B201C417": unhexT(t, tunionEF18First+"9000"),
	}
	for n := 2; n <= purse.MaxRecords; n++ {
		answers[fmt.Sprintf("00B2%02XC417", n)] = append(tunionEF18Empty[:23:23], 0x90, 0x00)
	}
	var sent []string
	card := cardFunc(func(cmd []byte) []byte {
		sent = append(sent, fmt.Sprintf("%X", cmd))
		if rsp, ok := answers[fmt.Sprintf("%X", cmd)]; ok {
			return rsp
		}
		return []byte{0x6A, 0x82} // no such file or data: EF16, balances, grey status
	})
	now := time.Date(2024, 10, 28, 9, 0, 0, 0, time.UTC)
	term, err := purse.New(purse.Config{AIDs: [][]byte{aid}, Now: func() time.Time { return now }})
	require.NoError(t, err)
	res, q, err := term.Inquire(context.Background(), card, true)
	require.NoError(t, err, "%+v", res)
	require.Len(t, q.Records, 1, "%+v", q.Records)
	assert.Equal(t, uint16(1), q.Records[0].Serial)
	assert.Contains(t, sent, "00B202C417", "record 2 read")
	assert.NotContains(t, sent, "00B203C417", "nothing read after the first empty slot")
}

type cardFunc func(cmd []byte) []byte

func (f cardFunc) Transmit(_ context.Context, cmd []byte) ([]byte, error) { return f(cmd), nil }

func unhexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
