// SPDX-License-Identifier: Apache-2.0

package psam

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/keys"
)

func newPSAM(t testing.TB) *PSAM {
	t.Helper()
	s, err := New(DefaultProfile())
	require.NoError(t, err)
	return s
}

func send(t testing.TB, s *PSAM, h string) (string, apdu.SW) {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	require.NoError(t, err)
	r, err := s.Transmit(context.Background(), b)
	require.NoError(t, err)
	resp, err := apdu.ParseResponse(r)
	require.NoError(t, err)
	return strings.ToUpper(hex.EncodeToString(resp.Data)), resp.SW
}

func TestFiles(t *testing.T) {
	s := newPSAM(t)
	_, sw := send(t, s, "00A40000023F00")
	require.Equal(t, apdu.SWSuccess, sw)
	tid, sw := send(t, s, "00B0960006")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, "000000000001", tid)
	ef15, _ := send(t, s, "00B095000E")
	assert.Equal(t, "01000000000000000001", ef15[:20])
	_, sw = send(t, s, "8070000000")
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sw, "MAC1 only in the purchase ADF")
	_, sw = send(t, s, "00A40000023F01")
	require.Equal(t, apdu.SWSuccess, sw)
	ef17, _ := send(t, s, "00B0970019")
	assert.Equal(t, "01"+"1000000000000001", ef17[:18])
}

// The PSAM's purchase MAC1 is the one crypto/keys computes with the card's
// key diversified from the same master; its TTC counts up.
func TestPurchaseMAC1AndMAC2(t *testing.T) {
	s := newPSAM(t)
	send(t, s, "00A40000023F01")
	factor := "0001000000000001" // ASN 1000 0001 0000 0000 0001, right 8 bytes
	data := "11223344" + "0000" + "00001000" + "06" + "20260315103000" + "01" + "00" + factor
	resp, sw := send(t, s, "807000001C"+data+"08")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, "00000001", resp[:8], "first TTC")

	master, _ := hex.DecodeString(DefaultProfile().PurchaseKeys["01"])
	f, _ := hex.DecodeString(factor)
	dpk, err := keys.DiversifyPurseKey(master, f)
	require.NoError(t, err)
	sk, err := keys.PurseSessionKey(dpk, keys.OfflineSessionInput([4]byte{0x11, 0x22, 0x33, 0x44}, 0, 1))
	require.NoError(t, err)
	tid, _ := hex.DecodeString("000000000001")
	dt, _ := hex.DecodeString("20260315103000")
	mac1, _ := keys.PurseMAC(sk, keys.PurchaseMAC1Data(0x1000, 6, tid, dt))
	assert.Equal(t, strings.ToUpper(hex.EncodeToString(mac1)), resp[8:])

	mac2, _ := keys.PurseMAC(sk, keys.PurchaseMAC2Data(0x1000))
	_, sw = send(t, s, "8072000004"+hex.EncodeToString(mac2))
	assert.Equal(t, apdu.SWSuccess, sw)
	_, sw = send(t, s, "807200000400000000")
	assert.Equal(t, apdu.SW(0x9302), sw)
	_, sw = send(t, s, "E042000004"+hex.EncodeToString(mac2))
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sw, "a purchase session is not a grey lock's")

	resp, _ = send(t, s, "807000001C"+data+"08")
	assert.Equal(t, "00000002", resp[:8])
	_, sw = send(t, s, "807000001C"+strings.Replace(data, "0100"+factor, "0200"+factor, 1)+"08")
	assert.Equal(t, apdu.SW(0x9403), sw, "no key version 02")
}

func TestGMACNeedsTheLockedCard(t *testing.T) {
	s := newPSAM(t)
	send(t, s, "00A40000023F01")
	factor := "0001000000000001"
	_, sw := send(t, s, "E04400000F"+"93"+factor+"0005"+"00000100")
	assert.NotEqual(t, apdu.SWSuccess, sw, "no grey-lock session")
	data := "11223344" + "0005" + "0000C350" + "91" + "20260315103000" + "01" + "00" + factor
	resp, sw := send(t, s, "E04000001C"+data+"0C")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Len(t, resp, 24, "TTC, terminal random, MAC1")
	_, sw = send(t, s, "E04400000F"+"93"+factor+"0006"+"00000100"+"08")
	assert.Equal(t, apdu.SWWrongData, sw, "another CTC than the lock's")
	g1, sw := send(t, s, "E04400000F"+"93"+factor+"0005"+"00000100"+"08")
	require.Equal(t, apdu.SWSuccess, sw)
	g2, _ := send(t, s, "E04400000F"+"93"+factor+"0005"+"00000100"+"08")
	assert.Equal(t, g1, g2, "asked again, the same GMAC and PSAM-TAC (the TTC moves once)")
	assert.Equal(t, uint32(2), s.TTC(), "the lock's TTC and the unlock's")
}

func FuzzTransmit(f *testing.F) {
	f.Add([]byte{7, 0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x01})
	f.Add([]byte{5, 0xE0, 0x44, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newPSAM(t)
		_, _ = s.Transmit(context.Background(), []byte{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x01})
		for len(in) > 0 {
			n := min(int(in[0]), len(in)-1)
			r, err := s.Transmit(context.Background(), in[1:1+n])
			in = in[1+n:]
			if err != nil || len(r) < 2 || len(r) > 64 {
				t.Fatalf("answer %X, %v", r, err)
			}
		}
	})
}
