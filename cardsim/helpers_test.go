// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
)

const (
	debitAID  = "A000000333010101"
	creditAID = "A000000333010102"
)

// Fixed terminal data used by the tests.
var (
	tvr    = []byte{0x00, 0x00, 0x00, 0x00, 0x00}
	date   = []byte{0x25, 0x06, 0x30}
	tm     = []byte{0x12, 0x34, 0x56}
	un     = []byte{0x11, 0x22, 0x33, 0x44}
	cny    = []byte{0x01, 0x56}
	txType = []byte{0x00}
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func n12(t testing.TB, v uint64) []byte {
	t.Helper()
	b, err := bcd.Encode(nil, v, 6)
	require.NoError(t, err)
	return b
}

func merchant() []byte {
	m := make([]byte, 20)
	copy(m, "TEST SHOP")
	return m
}

// pdolData builds data for the default PDOL 9F7A01 9F0206 5F2A02.
func pdolData(t testing.TB, ec bool, amount uint64, currency []byte) []byte {
	ind := byte(0)
	if ec {
		ind = 1
	}
	d := []byte{ind}
	d = append(d, n12(t, amount)...)
	return append(d, currency...)
}

// cdol1Data builds data for the default CDOL1.
func cdol1Data(t testing.TB, amount uint64) []byte {
	var d []byte
	d = append(d, n12(t, amount)...)
	d = append(d, n12(t, 0)...)
	d = append(d, cny...) // 9F1A country
	d = append(d, tvr...)
	d = append(d, cny...) // 5F2A currency
	d = append(d, date...)
	d = append(d, txType...)
	d = append(d, un...)
	d = append(d, tm...)
	return append(d, merchant()...)
}

// cdol2Data builds data for the default CDOL2.
func cdol2Data(t testing.TB, arc string, amount uint64) []byte {
	d := []byte(arc)
	d = append(d, n12(t, amount)...)
	d = append(d, n12(t, 0)...)
	d = append(d, cny...)
	d = append(d, tvr...)
	d = append(d, cny...)
	d = append(d, date...)
	d = append(d, txType...)
	return append(d, un...)
}

func loadCard(t testing.TB, name string) *Card {
	t.Helper()
	p, err := LoadProfile(filepath.Join("..", "testdata", "cards", name))
	require.NoError(t, err)
	c, err := New(p)
	require.NoError(t, err)
	return c
}

func newDefault(t testing.TB) *Card {
	t.Helper()
	c, err := New(DefaultProfile())
	require.NoError(t, err)
	return c
}

// send transmits a command and parses the response.
func send(t testing.TB, c apdu.Transport, cmd apdu.Command) apdu.Response {
	t.Helper()
	return sendRaw(t, c, cmd.Bytes())
}

func sendRaw(t testing.TB, c apdu.Transport, raw []byte) apdu.Response {
	t.Helper()
	out, err := c.Transmit(context.Background(), raw)
	require.NoError(t, err)
	r, err := apdu.ParseResponse(out)
	require.NoError(t, err)
	return r
}

func selectAID(t testing.TB, c apdu.Transport, aid string) apdu.Response {
	t.Helper()
	return send(t, c, apdu.Select(unhex(t, aid)))
}

// purchaseToGPO selects the debit application and runs GPO.
func purchaseToGPO(t testing.TB, c apdu.Transport, ec bool, amount uint64) apdu.Response {
	t.Helper()
	r := selectAID(t, c, debitAID)
	require.Equal(t, apdu.SWSuccess, r.SW)
	return send(t, c, apdu.GetProcessingOptions(pdolData(t, ec, amount, cny)))
}
