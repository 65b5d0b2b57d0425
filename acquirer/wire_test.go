// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", ":", "", "\n", "").Replace(s))
	require.NoError(t, err)
	return b
}

// A sale frame a UnionPay POS sent, with the MAC its acquirer computed,
// published with its MAK (q.cnblogs.com/q/128930): 2-byte length, TPDU
// 6000030000, header 603210320072, a 0200 with fields 3 4 11 22 25 41 42
// 49 60 62 64. It parses with this spec, its MAC verifies under the MAK,
// and packing it again gives the same bytes.
const publishedSale = "00:7f:60:00:03:00:00:60:32:10:32:00:72:02:00:30:20:04:80:00:c0:80:15:00:00:00:00:00:00:00:12:34:" +
	"00:00:02:03:00:99:30:30:30:30:30:30:30:31:39:35:32:37:31:38:31:38:32:32:31:37:38:37:35:31:35:36:00:19:26:00:00:01:" +
	"00:06:00:00:00:00:00:43:5f:01:12:32:38:34:34:31:32:33:34:35:36:37:38:39:30:31:32:33:34:5f:03:06:31:36:30:30:33:36:" +
	"5f:04:06:32:30:30:38:32:36:5c:02:30:31:42:33:41:30:39:32:41:45"

func TestPublishedFrameParsesAndItsMACVerifies(t *testing.T) {
	frame := unhex(t, publishedSale)
	require.Equal(t, len(frame)-2, int(frame[0])<<8|int(frame[1]))
	mak := unhex(t, "0723C80DB5F4CD3D0723C80DB5F4CD3D")
	spec := newSpec(19)
	c := newCodec(spec, TPDU{0x60, 0, 0, 0, 3}, TPDU{0x60, 0, 3, 0, 0}, Header{0x60, 0x31, 0, 0x31, 0, 0}, true,
		func(*iso8583.Message) (macFunc, error) {
			return func(mab []byte) ([MACLen]byte, error) { return CUPMAC(mak, mab) }, nil
		})
	msg, err := c.ReadMessage(bytes.NewReader(frame))
	require.NoError(t, err)
	in, ok := c.take(msg)
	require.True(t, ok)
	assert.Equal(t, MACValid, in.MAC, "the published MAC verifies")
	assert.Equal(t, Header{0x60, 0x32, 0x10, 0x32, 0x00, 0x72}, in.Header)
	assert.Equal(t, 1, int(in.Header[2]>>4), "terminal status 1: test")

	for id, want := range map[int]string{0: "0200", 3: "000000", 4: "000000001234", 11: "000002",
		22: "030", 25: "99", 41: "00000001", 42: "952718182217875", 49: "156", 60: "2600000100060000000"} {
		got, err := msg.GetString(id)
		require.NoError(t, err)
		assert.Equal(t, want, got, "field %d", id)
	}
	f60, err := msg.GetString(60)
	require.NoError(t, err)
	p, err := ParseField60(f60)
	require.NoError(t, err)
	assert.Equal(t, Field60{Type: "26", Batch: 1, Network: "000", Rest: "60000000"}, p)

	// Repacked by the same spec, with the MAC recomputed: the same frame.
	out := newCodec(spec, TPDU{0x60, 0, 3, 0, 0}, TPDU{}, Header{0x60, 0x32, 0x10, 0x32, 0x00, 0x72}, false, c.macKey)
	again, err := out.frame(msg)
	require.NoError(t, err)
	assert.Equal(t, frame, again)

	// One bit flipped anywhere in the MAC block: the MAC no longer verifies.
	for i := 2 + tpduLen + headerLen + 10; i < len(frame)-MACLen; i += 7 {
		bad := bytes.Clone(frame)
		bad[i] ^= 0x01
		msg, err := c.ReadMessage(bytes.NewReader(bad))
		if err != nil {
			continue // the flip broke the syntax: never delivered either
		}
		in, _ := c.take(msg)
		assert.Equal(t, MACInvalid, in.MAC, "byte %d flipped", i)
	}
}

// The published MAC computed by hand: the MAB of the frame above.
func TestCUPMACPublishedVector(t *testing.T) {
	frame := unhex(t, publishedSale)
	mab := frame[2+tpduLen+headerLen : len(frame)-MACLen]
	for _, key := range []string{"0723C80DB5F4CD3D", "0723C80DB5F4CD3D0723C80DB5F4CD3D"} {
		mac, err := CUPMAC(unhex(t, key), mab)
		require.NoError(t, err)
		assert.Equal(t, "B3A092AE", string(mac[:]))
	}
	_, err := CUPMAC(unhex(t, "0723C80DB5F4CD3D0123456789ABCDEF"), mab)
	assert.ErrorIs(t, err, ErrKey, "a true double-length MAK is not this algorithm")
}

// A TAK enciphered under a TMK, published with both (blog.csdn.net
// zhu244912654/80005341): deciphering it under the TMK gives the clear key.
func TestWorkingKeyUnderTMKPublishedVector(t *testing.T) {
	tmk := unhex(t, "70F2A84CCBC2AE8625CBB0F2C22AB923")
	clearTAK := unhex(t, "C24A8FB57AA20123")
	w, err := SealWorkingKeys(KeysDES, tmk, unhex(t, "1111111111111111"), clearTAK, nil)
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "96D605EA176B7E9E"), w.MAK)

	m, err := NewSoftModule(tmk)
	require.NoError(t, err)
	require.NoError(t, m.LoadWorkingKeys(t.Context(), w))
	mac, err := m.MAC(t.Context(), []byte("any data"))
	require.NoError(t, err)
	want, _ := CUPMAC(clearTAK, []byte("any data"))
	assert.Equal(t, want, mac)
}

// A reply fits its request only with the reply MTI, the same trace number
// and, where it carries them, the same terminal, merchant, processing code
// and amount, and a two-character response code.
func TestReplyFitsItsRequest(t *testing.T) {
	spec := newSpec(19)
	base := fields{fSTAN: "000007", fTerminalID: "12345678", fMerchantID: "123456789012345", fProcessingCode: "000000", fAmount: "000000035000"}
	req, err := newMessage(spec, "0200", base)
	require.NoError(t, err)
	reply := func(mti string, change fields) *iso8583.Message {
		f := fields{fResponseCode: "00"}
		for k, v := range base {
			f[k] = v
		}
		for k, v := range change {
			f[k] = v
		}
		m, err := newMessage(spec, mti, f)
		require.NoError(t, err)
		return m
	}
	assert.NoError(t, fits(req, reply("0210", nil)))
	for name, m := range map[string]*iso8583.Message{
		"another MTI":             reply("0410", nil),
		"another trace number":    reply("0210", fields{fSTAN: "000008"}),
		"another terminal":        reply("0210", fields{fTerminalID: "87654321"}),
		"another merchant":        reply("0210", fields{fMerchantID: "999999999999999"}),
		"another processing code": reply("0210", fields{fProcessingCode: "310000"}),
		"another amount":          reply("0210", fields{fAmount: "000000000001"}),
		"a one-letter code":       reply("0210", fields{fResponseCode: "0"}),
	} {
		assert.ErrorIs(t, fits(req, m), ErrMismatch, name)
	}
	// Fields a reply may leave out.
	short, err := newMessage(spec, "0210", fields{fSTAN: "000007", fResponseCode: "05"})
	require.NoError(t, err)
	assert.NoError(t, fits(req, short))
}
