// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/bcd"
)

// FuzzTransmit feeds a card random APDU sequences. The first input byte
// picks a card (bits 3-4: default DDA, format 2 without PSE, CDA, SM2 CDA),
// the interface (bit 5: contactless, through NewContactless) and a valid
// prefix (select, GPO — the qPBOC one over contactless —, first GENERATE AC
// asking ARQC) so that the fuzzer reaches every state; the rest is a list of APDUs, each
// preceded by its length byte. The card must never panic, must always
// answer at least a status word, and its money must stay consistent: the
// balance only grows through an accepted PUT DATA 9F79 and never exceeds
// the limit.
func FuzzTransmit(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x07, 5, 0x80, 0xCA, 0x9F, 0x79, 0x00})
	f.Add(append([]byte{0x03, 0x3D}, apdu.GenerateAC(0x40, make([]byte, 52)).Bytes()...))
	// Contactless: PPSE, then a qPBOC GPO in the prefix and READ RECORD.
	ppse := apdu.Select([]byte("2PAY.SYS.DDF01")).Bytes()
	f.Add(append([]byte{0x20, byte(len(ppse))}, ppse...))
	f.Add([]byte{0x23, 5, 0x00, 0xB2, 0x01, 0x14, 0x00, 5, 0x00, 0xB2, 0x01, 0x24, 0x00})
	f.Add([]byte{0x33, 5, 0x80, 0xCA, 0x9F, 0x79, 0x00})
	gpo := apdu.GetProcessingOptions(make([]byte, 57)).Bytes()
	f.Add(append([]byte{0x21, byte(len(gpo))}, gpo...))
	// Offline PIN after GPO: a plaintext VERIFY, GET CHALLENGE and an
	// enciphered VERIFY the length of the ICC key.
	plain := apdu.Verify(0x80, []byte{0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF}).Bytes()
	enc := apdu.Verify(0x88, bytes.Repeat([]byte{0x5A}, 144)).Bytes()
	pin := append([]byte{0x03, byte(len(plain))}, plain...)
	pin = append(append(pin, 5), apdu.GetChallenge().Bytes()...)
	f.Add(append(append(pin, byte(len(enc))), enc...))
	profiles := []*Profile{DefaultProfile()}
	noPSE := DefaultProfile()
	noPSE.PSE = false
	noPSE.Applications[0].GenACFormat = 2
	profiles = append(profiles, noPSE)
	for _, name := range []string{"cda.json", "sm2-cda.json"} {
		p, err := LoadProfile(filepath.Join("..", "testdata", "cards", name))
		if err != nil {
			f.Fatal(err)
		}
		profiles = append(profiles, p)
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		mode := in[0]
		in = in[1:]
		c, err := New(profiles[int(mode>>3&3)%len(profiles)])
		if err != nil {
			t.Fatal(err)
		}
		var card apdu.Transport = c
		contactless := mode&0x20 != 0
		if contactless {
			card = NewContactless(c)
		}
		ctx := context.Background()
		tx := func(cmd []byte) []byte {
			out, err := card.Transmit(ctx, cmd)
			if err != nil {
				t.Fatalf("Transmit(% X): %v", cmd, err)
			}
			if len(out) < 2 {
				t.Fatalf("Transmit(% X): response % X has no status word", cmd, out)
			}
			return out
		}
		amount, _ := bcd.Encode(nil, 100, 6)
		pdol := append(append([]byte{0x01}, amount...), 0x01, 0x56)
		cdol := append(append([]byte(nil), amount...), make([]byte, 46)...)
		if mode&1 != 0 {
			tx(apdu.Select([]byte{0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01}).Bytes())
		}
		if mode&2 != 0 {
			if contactless {
				// 9F66 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 9F7A 9F21 9F4E
				cl := append([]byte{0x36, 0x00, 0x00, 0x80}, amount...)
				cl = append(cl, make([]byte, 6+2+5)...)
				cl = append(cl, 0x01, 0x56, 0x26, 0x01, 0x01, 0x00, 1, 2, 3, 4, 0x01, 0x12, 0x00, 0x00)
				pdol = append(cl, make([]byte, 20)...)
			}
			tx(apdu.GetProcessingOptions(pdol).Bytes())
		}
		if mode&4 != 0 {
			tx(apdu.GenerateAC(0x80, cdol).Bytes())
		}
		start := c.Balance(debitAID)
		prevATC := c.ATC(debitAID)
		prevTries := c.apps[0].pinTries
		for len(in) > 0 {
			n := int(in[0])
			in = in[1:]
			if n > len(in) {
				n = len(in)
			}
			cmd := in[:n]
			out := tx(cmd)
			in = in[n:]
			bal, atc := c.Balance(debitAID), c.ATC(debitAID)
			// Only an accepted, MAC-checked PUT DATA 9F79 may add money.
			load := len(cmd) >= 4 && bytes.Equal(cmd[:4], []byte{0x04, 0xDA, 0x9F, 0x79}) &&
				bytes.Equal(out[len(out)-2:], []byte{0x90, 0x00})
			if bal > start && !load {
				t.Fatalf("balance grew from %d to %d", start, bal)
			}
			if a := c.apps[0]; a.balance > a.limit {
				t.Fatalf("balance %d above the limit %d", a.balance, a.limit)
			}
			if atc < prevATC {
				t.Fatalf("ATC went back from %d to %d", prevATC, atc)
			}
			if int(atc-prevATC) > 1 {
				t.Fatalf("ATC jumped from %d to %d in one APDU", prevATC, atc)
			}
			prevATC = atc
			// The PIN try counter goes up only to the try limit, and only
			// on a VERIFY the card answered 9000.
			if a := c.apps[0]; a.pinTries > a.pinTryLimit || a.pinTries > prevTries &&
				!(len(cmd) >= 2 && cmd[1] == 0x20 && bytes.Equal(out[len(out)-2:], []byte{0x90, 0x00})) {
				t.Fatalf("PIN tries went from %d to %d (limit %d)", prevTries, a.pinTries, a.pinTryLimit)
			}
			prevTries = c.apps[0].pinTries
			if len(c.Log(debitAID)) > MaxLogEntries || len(c.apps[0].loadLog) > MaxLogEntries {
				t.Fatal("log longer than 10 records")
			}
			start = bal
		}
		if _, err := c.Snapshot().Marshal(); err != nil {
			t.Fatalf("snapshot does not marshal: %v", err)
		}
	})
}

// FuzzParseProfile checks that no profile document makes ParseProfile or
// New panic, and that an accepted profile builds a card and round-trips.
func FuzzParseProfile(f *testing.F) {
	f.Add(defaultJSON)
	f.Add([]byte(`{"applications":[{"aid":"A000000333010101","label":"X","pan":"6222021000123456781","expiry":"351231","extra":{"9F63":"01"}}]}`))
	f.Add([]byte(`{"applications":[{"aid":"A000000333010101","label":"X","pan":"6222021000123456781","expiry":"351231","pdol":"9F7A01FF"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParseProfile(in)
		if err != nil {
			return
		}
		if _, err := New(p); err != nil {
			t.Fatalf("ParseProfile accepted a profile New refuses: %v", err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if _, err := ParseProfile(b); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
