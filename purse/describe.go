// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/tlv"
)

// Description is one command and its answer as a person reads them: the
// command's name, both in hex with the card data masked (the ASN but its
// first 6 and last 4 digits, the cardholder's name and ID number, the
// PIN), and the fields decoded: amounts in yuan, serials, MACs, the grey
// status.
type Description struct {
	Name     string
	Command  string // hex, masked
	Response string // hex, masked (data and SW)
	SW       apdu.SW
	Sent     string // the command's data, decoded
	Answer   string // the answer's data, decoded
}

// describer decodes one command's data and answer. A decoder is called
// only with data of its length (sentLen, answerLen; 0: any length, for
// decoders that check it themselves).
type describer struct {
	sent               func(d []byte) string
	answer             func(d []byte) string
	sentLen, answerLen int
	// maskCmd and maskResp are byte ranges [from, to) of the data to hide.
	maskCmd, maskResp [][2]int
}

// describers is the table of what Describe knows, by command name.
var describers = map[string]describer{
	"VERIFY":                  {sent: func(d []byte) string { return "PIN " + strings.Repeat("*", 6) }, maskCmd: [][2]int{{0, 255}}},
	"GET BALANCE":             {answer: describeBalance},
	"INITIALIZE FOR LOAD":     {sent: describeInitData, answer: describeOnlineInit, sentLen: 11},
	"INITIALIZE FOR UNLOAD":   {sent: describeInitData, answer: describeOnlineInit, sentLen: 11},
	"INITIALIZE FOR PURCHASE": {sent: describeInitData, answer: describeOfflineInit, sentLen: 11},
	"CREDIT FOR LOAD":         {sent: describeHostMAC2, answer: macs("TAC"), sentLen: 11},
	"DEBIT FOR UNLOAD":        {sent: describeHostMAC2, answer: macs("MAC3"), sentLen: 11},
	"DEBIT FOR PURCHASE": {sent: func(d []byte) string {
		return fmt.Sprintf("TTC %d, time %s, MAC1 %X", be(d, 0, 4), dt(d, 4), part(d, 11, 15))
	}, answer: macs("TAC", "MAC2"), sentLen: 15},
	"GET TRANSACTION PROVE": {sent: func(d []byte) string { return fmt.Sprintf("serial %d", be(d, 0, 2)) }, answer: macs("MAC", "TAC"), sentLen: 2},
	"GET GREY STATUS":       {answer: describeGrey},
	"INITIALIZE FOR GREY LOCK": {sent: func(d []byte) string {
		return fmt.Sprintf("key index %02X, TID %X", part(d, 0, 1), part(d, 1, 7))
	}, answer: describeOfflineInit, sentLen: 7},
	"GREY LOCK": {sent: func(d []byte) string {
		return fmt.Sprintf("TTC %d, terminal random %X, time %s, MAC1 %X", be(d, 0, 4), part(d, 4, 8), dt(d, 8), part(d, 15, 19))
	}, answer: macs("GTAC", "MAC2"), sentLen: 19},
	"DEBIT FOR UNLOCK": {sent: func(d []byte) string {
		return fmt.Sprintf("amount %s, CTC %d, TID %X, TTC %d, time %s, GMAC %X", yuan(d, 0), be(d, 4, 6), part(d, 6, 12), be(d, 12, 16), dt(d, 16), part(d, 23, 27))
	}, answer: macs("TAC"), sentLen: 27},
	"INITIALIZE FOR ONLINE UNLOCK": {sent: func(d []byte) string {
		return fmt.Sprintf("key index %02X, TID %X", part(d, 0, 1), part(d, 1, 7))
	}, answer: describeUnlockInit, sentLen: 7},
	"ONLINE UNLOCK": {sent: func(d []byte) string {
		return fmt.Sprintf("amount %s, host time %s, MAC2 %X", yuan(d, 0), dt(d, 4), part(d, 11, 15))
	}, answer: macs("MAC3"), sentLen: 15},
	"READ BINARY":            {answer: describeFile},
	"READ RECORD":            {answer: describeRecord},
	"PSAM MAC1 FOR PURCHASE": {sent: describeSAMMAC1, answer: macs("TTC", "MAC1"), maskCmd: [][2]int{{20, 26}}, sentLen: 28},
	"PSAM GREY-LOCK MAC1":    {sent: describeSAMMAC1, answer: macs("TTC", "terminal random", "MAC1"), maskCmd: [][2]int{{20, 26}}, sentLen: 28},
	"PSAM CHECK MAC2":        {sent: macs("MAC2")},
	"PSAM CHECK GREY MAC2":   {sent: macs("MAC2")},
	"PSAM GMAC": {sent: func(d []byte) string {
		return fmt.Sprintf("type %02X, ASN …%X, CTC %d, amount %s", part(d, 0, 1), part(d, 7, 9), be(d, 9, 11), yuan(d, 11))
	}, answer: macs("GMAC", "PSAM-TAC"), maskCmd: [][2]int{{1, 7}}, sentLen: 15},
}

// Describe decodes a command and its answer (answer nil when there was
// none). It never panics on bad input; what it cannot decode it shows in
// hex, masked where the command's answer carries card data.
func Describe(command, answer []byte) Description {
	c, err := apdu.ParseCommand(command)
	if err != nil {
		return Description{Name: "malformed command", Command: strings.ToUpper(hex.EncodeToString(command))}
	}
	d := Description{Name: CommandName(c)}
	ds := describers[d.Name]
	if d.Name == "READ BINARY" {
		switch len(answer) - 2 {
		case lenEF15:
			ds.maskResp = [][2]int{{13, 18}} // the ASN but its first 6 and last 4 digits
		case lenEF16, lenEF16Long:
			ds.maskResp = [][2]int{{2, 40}} // the cardholder's name and ID number
		}
	}
	d.Command = maskedHex(command, 5, ds.maskCmd)
	if len(c.Data) > 0 && ds.sent != nil {
		d.Sent = fitting(ds.sent, ds.sentLen, c.Data)
	}
	if answer == nil {
		return d
	}
	r, err := apdu.ParseResponse(answer)
	if err != nil {
		d.Response = strings.ToUpper(hex.EncodeToString(answer))
		return d
	}
	d.SW, d.Response = r.SW, maskedHex(answer, 0, ds.maskResp)
	if len(r.Data) > 0 && ds.answer != nil && r.SW.OK() {
		d.Answer = fitting(ds.answer, ds.answerLen, r.Data)
	}
	return d
}

// fitting runs a decoder on data of its length; other data is only
// counted (it may hold card data that is not masked).
func fitting(f func([]byte) string, n int, d []byte) string {
	if n > 0 && len(d) != n {
		return fmt.Sprintf("%d bytes, want %d", len(d), n)
	}
	return f(d)
}

// maskedHex is the hex of b with the ranges (offset by off, clipped to b
// and the status word spared) replaced by '*'.
func maskedHex(b []byte, off int, ranges [][2]int) string {
	s := []byte(strings.ToUpper(hex.EncodeToString(b)))
	end := len(b)
	if off == 0 {
		end -= 2 // a response's SW is not data
	}
	for _, r := range ranges {
		for i := off + r[0]; i < off+r[1] && i < end; i++ {
			if i >= 0 {
				s[2*i], s[2*i+1] = '*', '*'
			}
		}
	}
	return string(s)
}

func part(d []byte, from, to int) []byte { return d[from:to] }

func be(d []byte, from, to int) uint32 {
	var v uint32
	for _, b := range d[from:to] {
		v = v<<8 | uint32(b)
	}
	return v
}

func yuan(d []byte, at int) string { return Amount(be(d, at, at+4)).String() }

func dt(d []byte, at int) string { return DateTime(d[at : at+7]).String() }

// macs names the consecutive 4-byte values of an answer.
func macs(names ...string) func([]byte) string {
	return func(d []byte) string {
		if len(d) != 4*len(names) {
			return fmt.Sprintf("%d bytes, want %d", len(d), 4*len(names))
		}
		var parts []string
		for i, n := range names {
			if n == "TTC" {
				parts = append(parts, fmt.Sprintf("TTC %d", be(d, 4*i, 4*i+4)))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %X", n, part(d, 4*i, 4*i+4)))
		}
		return strings.Join(parts, ", ")
	}
}

func describeBalance(d []byte) string {
	b, err := ParseBalance(d)
	if err != nil {
		return err.Error()
	}
	return "balance " + b.String()
}

func describeInitData(d []byte) string {
	return fmt.Sprintf("key index %02X, amount %s, TID %X", part(d, 0, 1), yuan(d, 1), part(d, 5, 11))
}

func describeHostMAC2(d []byte) string {
	return fmt.Sprintf("host time %s, MAC2 %X", dt(d, 0), part(d, 7, 11))
}

func describeOnlineInit(d []byte) string {
	i, err := ParseOnlineInit(d)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("balance %s, online serial %d, key version %02X, alg %02X, random %X, MAC1 %s", i.Balance, i.OnlineSN, i.KeyVersion, i.Alg, i.Random, i.MAC1)
}

func describeOfflineInit(d []byte) string {
	i, err := ParseOfflineInit(d)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("balance %s, CTC %d, overdraft %s, key version %02X, alg %02X, random %X", i.Balance, i.CTC, i.Overdraft, i.KeyVersion, i.Alg, i.Random)
}

func describeUnlockInit(d []byte) string {
	i, err := ParseUnlockInit(d)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("balance %s, CTC %d, online serial %d, random %X, MAC1 %s", i.Balance, i.CTC, i.OnlineSN, i.Random, i.MAC1)
}

func describeGrey(d []byte) string {
	g, err := ParseGreyStatus(d)
	if err != nil {
		return err.Error()
	}
	switch g.Status {
	case GreyLocked:
		return fmt.Sprintf("grey: %s, balance %s, CTC %d, TID %s, %s, MAC2 %s, GTAC %s", g.Type, g.Balance, g.CTC, g.TID, g.Time, g.MAC2(), g.TAC)
	case GreyTACUnread:
		return fmt.Sprintf("TAC unread: %s of %s, CTC %d, TID %s, %s, TAC %s", g.Type, g.Amount(), g.CTC, g.TID, g.Time, g.TAC)
	}
	return "not grey"
}

func describeFile(d []byte) string {
	switch len(d) {
	case lenEF15:
		a, _ := ParseAppInfo(d)
		return fmt.Sprintf("EF15: issuer %X, app type %02X version %02X, ASN %s, valid %X to %X", a.IssuerID, a.AppType, a.AppVersion, a.ASN, a.Start, a.End)
	case lenEF16, lenEF16Long:
		h, _ := ParseCardholder(d)
		return fmt.Sprintf("EF16: card type %02X, staff %02X, name ***, ID %s (type %02X)", h.CardType, h.Staff, h.MaskedID(), h.IDType)
	case lenPSAMEF15:
		return fmt.Sprintf("PSAM EF15: serial %X, version %02X", d[:10], d[10])
	case lenPSAMEF16:
		return fmt.Sprintf("PSAM EF16: terminal ID %X", d)
	case lenPSAMEF17:
		return fmt.Sprintf("PSAM EF17: key index %02X, issuer %X", d[0], d[1:9])
	}
	return fmt.Sprintf("%d bytes", len(d))
}

func describeRecord(d []byte) string {
	if len(d) != lenEF18 {
		// A PSE directory record: its AIDs.
		var aids []string
		_ = tlv.Walk(d, func(_ int, o tlv.TLV) error {
			if o.Tag == 0x4F {
				aids = append(aids, fmt.Sprintf("%X", o.Value))
			}
			return nil
		})
		if len(aids) == 0 {
			return fmt.Sprintf("%d bytes", len(d))
		}
		return "directory: AID " + strings.Join(aids, ", ")
	}
	r, _ := ParseCardRecord(d)
	return fmt.Sprintf("EF18: serial %d, %s %s, TID %s, %s", r.Serial, r.Type, r.Amount, r.TID, r.Time)
}

func describeSAMMAC1(d []byte) string {
	return fmt.Sprintf("card random %X, CTC %d, amount %s, type %02X, time %s, key version %02X, alg %02X, ASN …%X",
		part(d, 0, 4), be(d, 4, 6), yuan(d, 6), part(d, 10, 11), dt(d, 11), part(d, 18, 19), part(d, 19, 20), part(d, 26, 28))
}
