// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/moov-io/iso8583"
)

// fuzzCodec is a terminal's codec with a fixed MAK.
func fuzzCodec() *codec {
	mak := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	v := Variant{}.withDefaults()
	return newCodec(newSpec(v.Field60Max), v.TPDU, v.TPDU.Swapped(), v.Header, false,
		func(*iso8583.Message) (macFunc, error) {
			return func(mab []byte) ([MACLen]byte, error) { return CUPMAC(mak, mab) }, nil
		})
}

// FuzzReadFrame feeds the codec arbitrary bytes as they would arrive from
// the acquirer: it must never panic, never read past what a length allows,
// and whatever it delivers must be a reply the link can check without
// panicking (fits, parseAuthReply, the downloads' pages, field 54).
func FuzzReadFrame(f *testing.F) {
	c := fuzzCodec()
	sale, _ := newMessage(c.spec, "0200", fields{fSTAN: "000123", fTerminalID: "12345678", fMerchantID: "123456789012345",
		fProcessingCode: "000000", fAmount: "000000001234", fMAC: make([]byte, 8)})
	for _, mti := range []string{"0210", "0810", "0410", "0630", "0510", "0330", "0830"} {
		reply, _ := newMessage(c.spec, mti, fields{fSTAN: "000123", fTerminalID: "12345678", fResponseCode: "00",
			fProcessingCode: "000000", fAmount: "000000001234", fAuthCode: "123456",
			fICC:       []byte{0x91, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30, 0x72, 0x07, 0x9F, 0x18, 0x04, 0, 0, 0, 1},
			fPrivate62: []byte("2\x9F\x06\x05\xA0\x00\x00\x03\x33\x9F\x22\x01\x01"), fBalance: "1002156C000000012345",
			fReserved60: "00000001001", fMAC: make([]byte, 8)})
		if frame, err := c.frame(reply); err == nil {
			frame[2], frame[3], frame[4], frame[5], frame[6] = 0x60, 0x00, 0x00, 0x00, 0x03 // the reply's TPDU
			f.Add(frame)
		}
	}
	f.Add([]byte{0x00, 0x05, 0x60, 0, 0, 0, 3})
	f.Add([]byte{0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := c.ReadMessage(bytes.NewReader(data))
		if len(data) >= 2 {
			if n := int(binary.BigEndian.Uint16(data)); (n < minFrame || n > MaxFrame) && err == nil {
				t.Fatalf("a frame of announced length %d was delivered", n)
			}
		}
		if err != nil {
			return
		}
		in, ok := c.take(msg)
		if !ok {
			t.Fatal("a delivered frame has no frame info")
		}
		_ = in.Header.Requirement()
		_ = fits(sale, msg)
		if resp, ids, err := parseAuthReply(msg); err == nil {
			if len(ids)%4 != 0 || resp == nil {
				t.Fatalf("script ids %X", ids)
			}
		}
		_, _ = entries(bin(msg, fPrivate62), caKeyDownload)
		_, _ = entries(bin(msg, fPrivate62), icParamDownload)
		_, _ = parseBalance(str(msg, fBalance))
		_, _ = ParseField60(str(msg, fReserved60))
		_, _ = ParseWorkingKeys(KeysDES, bin(msg, fPrivate62))
		_, _ = ParseWorkingKeys(KeysTDES, bin(msg, fPrivate62))
		_, _ = ParseWorkingKeys(KeysTDESNoTDK, bin(msg, fPrivate62))
	})
}

// FuzzWorkingKeys gives a sign-in reply's field 62 to the security module:
// keys whose check values do not match are never installed, and nothing
// panics.
func FuzzWorkingKeys(f *testing.F) {
	tmk := []byte("0123456789ABCDEF")
	for _, mode := range []KeyMode{KeysDES, KeysTDES, KeysTDESNoTDK} {
		pik := bytes.Repeat([]byte{0x21}, 8)
		if mode.tripleDES() {
			pik = bytes.Repeat([]byte{0x21}, 16)
		}
		var tdk []byte
		if mode == KeysTDES {
			tdk = bytes.Repeat([]byte{0x43}, 16)
		}
		w, _ := SealWorkingKeys(mode, tmk, pik, bytes.Repeat([]byte{0x32}, 8), tdk)
		f.Add(byte(mode), w.Field62())
	}
	f.Fuzz(func(t *testing.T, mode byte, f62 []byte) {
		m, _ := NewSoftModule(tmk)
		w, err := ParseWorkingKeys(KeyMode(mode%3), f62)
		if err != nil {
			return
		}
		if !bytes.Equal(w.Field62(), f62) {
			t.Fatalf("field 62 does not round-trip")
		}
		err = m.LoadWorkingKeys(context.Background(), w)
		_, macErr := m.MAC(context.Background(), []byte("x"))
		if (err != nil) != (macErr != nil) {
			t.Fatalf("load %v but MAC %v: keys installed on a failed load, or missing on a good one", err, macErr)
		}
	})
}

// FuzzTrack round-trips track data through the z encoder and refuses what
// it cannot carry.
func FuzzTrack(f *testing.F) {
	f.Add([]byte("6222021000123456781D30122011234567890"))
	f.Add([]byte("123="))
	f.Add([]byte("12A"))
	f.Add([]byte("12G"))
	f.Fuzz(func(t *testing.T, s []byte) {
		enc, err := trackEncoding.Encode(s)
		if err != nil {
			return
		}
		dec, n, err := trackEncoding.Decode(enc, len(s))
		if err != nil || n != len(enc) {
			t.Fatalf("decode of an encoding: %v (%d of %d)", err, n, len(enc))
		}
		want := bytes.ToUpper(bytes.ReplaceAll(s, []byte("="), []byte("D")))
		if !bytes.Equal(dec, want) {
			t.Fatalf("%q → %q", s, dec)
		}
		if _, _, err := trackEncoding.Decode(enc, len(s)+3); err == nil && len(enc) < (len(s)+4)/2 {
			t.Fatal("decoded past the data")
		}
	})
}
