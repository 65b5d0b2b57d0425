// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The worked examples of PURSE-NOTES §3: a load from
// http://www.ncuisine.com/xingyexinwen/379.html and a purchase from
// http://blog.csdn.net/slj_win/article/details/42240845 (also
// https://cnblogs.com/ttss/p/4280430.html). Both use the card key
// 11223344556677888877665544332211 directly (already diversified).
const workedKey = "11223344556677888877665544332211"

func TestPurseLoadWorkedExample(t *testing.T) {
	k := hx(t, workedKey)
	sk, err := PurseSessionKey(k, OnlineSessionInput([4]byte{0x11, 0x22, 0x33, 0x44}, 0x0000))
	require.NoError(t, err)
	assert.Equal(t, "9B1D924E05595603", upper(sk), "load session key")
	tid := hx(t, "001122334455")
	mac1, err := PurseMAC(sk, OnlineMAC1Data(0, 0x1000, 0x01, tid))
	require.NoError(t, err)
	assert.Equal(t, "2988AE5A", upper(mac1), "MAC1 of 00000000 00001000 01 001122334455")
	mac2, err := PurseMAC(sk, HostMAC2Data(0x1000, 0x01, tid, hx(t, "20111221214822")))
	require.NoError(t, err)
	assert.Equal(t, "3A845BF0", upper(mac2), "MAC2 of 00001000 01 001122334455 20111221 214822")
	ok, err := VerifyPurseMAC(sk, OnlineMAC1Data(0, 0x1000, 0x01, tid), hx(t, "2988AE5A"))
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = VerifyPurseMAC(sk, OnlineMAC1Data(0, 0x1001, 0x01, tid), hx(t, "2988AE5A"))
	require.NoError(t, err)
	assert.False(t, ok, "one fen more is another MAC")
}

func TestPursePurchaseWorkedExample(t *testing.T) {
	k := hx(t, workedKey)
	sk, err := PurseSessionKey(k, OfflineSessionInput([4]byte{0x11, 0x22, 0x33, 0x44}, 0x0000, 0x00000001))
	require.NoError(t, err)
	assert.Equal(t, "003238ABC57659DD", upper(sk), "purchase session key")
	tid := hx(t, "001122334455")
	dt := hx(t, "20120229135100")
	mac1, err := PurseMAC(sk, PurchaseMAC1Data(0x1000, 0x06, tid, dt))
	require.NoError(t, err)
	assert.Equal(t, "F15CAB75", upper(mac1), "PSAM MAC1")
	mac2, err := PurseMAC(sk, PurchaseMAC2Data(0x1000))
	require.NoError(t, err)
	assert.Equal(t, "56988A13", upper(mac2), "card MAC2")
	dtk := hx(t, "00112233445566778899AABBCCDDEEFF")
	tk, err := PurseTACKey(dtk)
	require.NoError(t, err)
	assert.Equal(t, "8888888888888888", upper(tk), "TAC key")
	// The page's TAC input is cut off, so this value is the notes' own for
	// the ClsReload layout; a card's own TAC under that layout is in
	// TestPursePurchaseSecondWorkedExample.
	tac, err := PurseTAC(dtk, OfflineTACData(0x1000, 0x06, tid, 1, dt))
	require.NoError(t, err)
	assert.Equal(t, "B3A0D49C", upper(tac))
}

func TestDiversifyPurseKey(t *testing.T) {
	mk := hx(t, workedKey)
	f := hx(t, "0000000000000001")
	k, err := DiversifyPurseKey(mk, f)
	require.NoError(t, err)
	require.Len(t, k, 16)
	// Each half is one 3DES block: the left of F, the right of F ⊕ FF.
	left, err := PurseSessionKey(mk, f)
	require.NoError(t, err)
	right, err := PurseSessionKey(mk, hx(t, "FFFFFFFFFFFFFFFE"))
	require.NoError(t, err)
	assert.Equal(t, upper(left)+upper(right), upper(k))
	k2, err := DiversifyPurseKey(mk, hx(t, "0000000000000002"))
	require.NoError(t, err)
	assert.NotEqual(t, k, k2, "another card, another key")

	_, err = DiversifyPurseKey(mk, f[:7])
	assert.True(t, errors.Is(err, ErrInput))
	_, err = DiversifyPurseKey(mk[:8], f)
	assert.True(t, errors.Is(err, ErrKeyLength))
}

func TestPurseMACPadding(t *testing.T) {
	sk := hx(t, "9B1D924E05595603")
	// 8 bytes of data take a whole block of padding: the MAC of the data
	// is the MAC of data ‖ 80 00… 00 over two blocks, not of one block.
	d := hx(t, "0102030405060708")
	m1, err := PurseMAC(sk, d)
	require.NoError(t, err)
	full, err := purseCBC(sk, d)
	require.NoError(t, err)
	assert.Equal(t, m1, full[:4])
	one, err := purseCBC(sk, d[:7])
	require.NoError(t, err)
	assert.False(t, bytes.Equal(one[:4], m1))
	_, err = PurseMAC(sk[:7], d)
	assert.True(t, errors.Is(err, ErrKeyLength))
	_, err = VerifyPurseMAC(sk, d, []byte{1, 2, 3})
	assert.True(t, errors.Is(err, ErrInput))
}

func TestGreyLockSessionKey(t *testing.T) {
	dpk := hx(t, workedKey)
	cr, tr := [4]byte{0x11, 0x22, 0x33, 0x44}, [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	got, err := GreyLockSessionKey(dpk, cr, 7, 0x00010002, tr)
	require.NoError(t, err)
	tmp, err := PurseSessionKey(dpk, OfflineSessionInput(cr, 7, 0x00010002))
	require.NoError(t, err)
	want, err := purseCBC(tmp, append(tr[:], 0x80, 0, 0, 0)[:4])
	require.NoError(t, err)
	assert.Equal(t, want, got)
	other, err := GreyLockSessionKey(dpk, cr, 7, 0x00010002, [4]byte{0xA1, 0xB2, 0xC3, 0xD5})
	require.NoError(t, err)
	assert.NotEqual(t, got, other, "the terminal random enters the key")
}

func TestPurseDataLayouts(t *testing.T) {
	tid := hx(t, "001122334455")
	dt := hx(t, "20260315103000")
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"online MAC1", OnlineMAC1Data(0x01020304, 0x1000, 0x02, tid), "01020304" + "00001000" + "02" + "001122334455"},
		{"host MAC2", HostMAC2Data(0x1000, 0x03, tid, dt), "00001000" + "03" + "001122334455" + "20260315103000"},
		{"purchase MAC2", PurchaseMAC2Data(0x1000), "00001000"},
		{"offline TAC", OfflineTACData(0x1000, 0x06, tid, 0x0A0B0C0D, dt), "00001000" + "06" + "001122334455" + "0A0B0C0D" + "20260315103000"},
		{"online TAC", OnlineTACData(0x2000, 0x0102, 0x1000, 0x02, tid, dt), "00002000" + "0102" + "00001000" + "02" + "001122334455" + "20260315103000"},
		{"unlock MAC1", UnlockMAC1Data(0x2000, 0x0009, 0x95, tid), "00002000" + "0009" + "95" + "001122334455"},
		{"grey MAC1", GreyLockMAC1Data(0x91, tid, dt), "91" + "001122334455" + "20260315103000"},
		{"grey MAC2", GreyLockMAC2Data(0x2000), "00002000"},
		{"GTAC", GTACData(0x2000, 0x91, tid, 5, dt), "00002000" + "91" + "001122334455" + "00000005" + "20260315103000"},
		{"GMAC", GMACData(0x93, hx(t, "1122334455667788"), 9, 0x1000), "93" + "1122334455667788" + "0009" + "00001000"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, upper(c.got), c.name)
	}
}
