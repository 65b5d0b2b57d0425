// SPDX-License-Identifier: Apache-2.0

package cardsim

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

func purseCard(t testing.TB, edit func(*PurseProfile)) *PurseCard {
	t.Helper()
	p := DefaultPurseProfile()
	if edit != nil {
		edit(p)
	}
	c, err := NewPurseCard(p)
	require.NoError(t, err)
	return c
}

func psend(t testing.TB, c *PurseCard, hexCmd string) (string, apdu.SW) {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(hexCmd, " ", ""))
	require.NoError(t, err)
	r, err := c.Transmit(context.Background(), b)
	require.NoError(t, err)
	resp, err := apdu.ParseResponse(r)
	require.NoError(t, err)
	return strings.ToUpper(hex.EncodeToString(resp.Data)), resp.SW
}

func selectPurse(t testing.TB, c *PurseCard) {
	t.Helper()
	_, sw := psend(t, c, "00A404000C A00000000353494E4F504543 00")
	require.Equal(t, apdu.SWSuccess, sw)
}

func TestPurseCardFiles(t *testing.T) {
	c := purseCard(t, nil)
	_, sw := psend(t, c, "00B095001E")
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sw, "nothing before SELECT")
	fci, sw := psend(t, c, "00A404000E 315041592E5359532E4444463031 00")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Contains(t, fci, "880101", "the PSE's SFI 1")
	dir, sw := psend(t, c, "00B2010C00")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Contains(t, dir, "4F0CA00000000353494E4F504543")
	_, sw = psend(t, c, "00B2020C00")
	assert.Equal(t, apdu.SWRecordNotFound, sw)
	selectPurse(t, c)
	ef15, sw := psend(t, c, "00B095001E")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, "1000000000000001"+"01"+"01"+"10000001000000000001"+"20240101"+"20351231"+"0100", ef15)
	ef16, sw := psend(t, c, "00B0960029")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Len(t, ef16, 82)
	_, sw = psend(t, c, "00B201C417")
	assert.Equal(t, apdu.SWRecordNotFound, sw, "no records yet")
	bal, sw := psend(t, c, "805C000204")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, "0000C350", bal, "EP 500.00")
	_, sw = psend(t, c, "805C000104")
	assert.Equal(t, apdu.SWSecurityNotSatisfied, sw, "the ED's balance needs the PIN")
	_, sw = psend(t, c, "0020000003123456")
	require.Equal(t, apdu.SWSuccess, sw)
	bal, _ = psend(t, c, "805C000104")
	assert.Equal(t, "00002710", bal, "ED 100.00")
	grey, sw := psend(t, c, "E0CA00001E")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, strings.Repeat("00", 30), grey)
}

func TestPurseCardLoadWithTheHostsMAC2(t *testing.T) {
	c := purseCard(t, nil)
	selectPurse(t, c)
	_, sw := psend(t, c, "805000020B 01 00001000 000000000001 10")
	assert.Equal(t, apdu.SWSecurityNotSatisfied, sw, "a load needs the PIN")
	psend(t, c, "0020000003123456")
	_, sw = psend(t, c, "805000020B 02 00001000 000000000001 10")
	assert.Equal(t, apdu.SW(0x9403), sw, "key index 02 is not the card's")
	init, sw := psend(t, c, "805000020B 01 00001000 000000000001 10")
	require.Equal(t, apdu.SWSuccess, sw)
	require.Len(t, init, 32)
	assert.Equal(t, "0000C350"+"0000"+"01"+"00", init[:16])
	rnd, _ := hex.DecodeString(init[16:24])

	// The host's side, from the issuer's master key and the ASN.
	master, _ := hex.DecodeString("1011121314151617F0F1F2F3F4F5F6F7")
	asn, _ := hex.DecodeString("10000001000000000001")
	dlk, err := keys.DiversifyPurseKey(master, asn[2:])
	require.NoError(t, err)
	sk, err := keys.PurseSessionKey(dlk, keys.OnlineSessionInput([4]byte(rnd), 0))
	require.NoError(t, err)
	tid, _ := hex.DecodeString("000000000001")
	mac1, _ := keys.PurseMAC(sk, keys.OnlineMAC1Data(50000, 0x1000, 2, tid))
	assert.Equal(t, strings.ToUpper(hex.EncodeToString(mac1)), init[24:], "the card's MAC1")
	when, _ := hex.DecodeString("20260315103000")
	mac2, _ := keys.PurseMAC(sk, keys.HostMAC2Data(0x1000, 2, tid, when))
	bad := append([]byte(nil), mac2...)
	bad[0] ^= 1
	_, sw = psend(t, c, "805200000B 20260315103000 "+hex.EncodeToString(bad)+" 04")
	assert.Equal(t, apdu.SW(0x9302), sw, "a wrong MAC2 is refused")
	assert.Equal(t, uint32(50000), c.Balance(2))
	_, sw = psend(t, c, "805200000B 20260315103000 "+hex.EncodeToString(mac2)+" 04")
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sw, "one CREDIT per INITIALIZE")

	init, _ = psend(t, c, "805000020B 01 00001000 000000000001 10")
	rnd, _ = hex.DecodeString(init[16:24])
	sk, _ = keys.PurseSessionKey(dlk, keys.OnlineSessionInput([4]byte(rnd), 0))
	mac2, _ = keys.PurseMAC(sk, keys.HostMAC2Data(0x1000, 2, tid, when))
	tac, sw := psend(t, c, "805200000B 20260315103000 "+hex.EncodeToString(mac2)+" 04")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, uint32(50000+0x1000), c.Balance(2))
	online, _ := c.Serials(2)
	assert.Equal(t, uint16(1), online)
	rec, sw := psend(t, c, "00B201C417")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, "0000"+"000000"+"00001000"+"02"+"000000000001"+"20260315103000", rec)
	proof, sw := psend(t, c, "805A000202000008")
	require.Equal(t, apdu.SWSuccess, sw)
	assert.Equal(t, tac, proof[8:], "GET TRANSACTION PROVE repeats the TAC")
	_, sw = psend(t, c, "805A000202000108")
	assert.Equal(t, apdu.SW(0x9406), sw, "no transaction 1 yet")
}

func TestPurseCardRefusals(t *testing.T) {
	c := purseCard(t, func(p *PurseProfile) { p.Wallets.EP.Balance = "9999.00" })
	selectPurse(t, c)
	psend(t, c, "0020000003123456")
	_, sw := psend(t, c, "805000020B 01 00030000 000000000001 10")
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sw, "above the 10000.00 limit")
	_, sw = psend(t, c, "805001020B 01 0FFFFFFF 000000000001 0F")
	assert.Equal(t, apdu.SW(0x9401), sw, "above the balance")
	_, sw = psend(t, c, "805005020B 01 00000001 000000000001 10")
	assert.Equal(t, apdu.SWIncorrectP1P2, sw, "only the ED unloads")
	_, sw = psend(t, c, "805401000F 00000001 20260315103000 00000000 08")
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sw, "DEBIT without INITIALIZE")
	_, sw = psend(t, c, "E07E0802 1B "+strings.Repeat("00", 27)+" 04")
	assert.Equal(t, apdu.SWConditionsNotSatisfied, sw, "no unlock of a card not grey")
	_, sw = psend(t, c, "84500002 0B 01000010000000000000 01")
	assert.Equal(t, apdu.SWCLANotSupported, sw)
	_, sw = psend(t, c, "0020000003654321")
	assert.Equal(t, apdu.SW(0x63C2), sw)
	_, sw = psend(t, c, "0020000003654321")
	assert.Equal(t, apdu.SW(0x63C1), sw)
	_, sw = psend(t, c, "0020000003654321")
	assert.Equal(t, apdu.SWAuthMethodBlocked, sw)
	_, sw = psend(t, c, "0020000003123456")
	assert.Equal(t, apdu.SWAuthMethodBlocked, sw, "blocked stays blocked")
}

func TestPurseSnapshotRoundTrip(t *testing.T) {
	c := purseCard(t, nil)
	selectPurse(t, c)
	psend(t, c, "0020000003654321")
	p := c.Snapshot()
	assert.Equal(t, 2, *p.PIN.Tries)
	c2, err := NewPurseCard(p)
	require.NoError(t, err)
	assert.Equal(t, c.Snapshot(), c2.Snapshot())
	b, err := p.Marshal()
	require.NoError(t, err)
	p2, err := ParsePurseProfile(b)
	require.NoError(t, err)
	assert.Equal(t, p, p2)
}

func TestPurseProfileErrors(t *testing.T) {
	for field, edit := range map[string]func(*PurseProfile){
		"asn":                  func(p *PurseProfile) { p.ASN = "1000000100000000000A" },
		"wallets.ep.balance":   func(p *PurseProfile) { p.Wallets.EP.Balance = "10000.01" },
		"wallets":              func(p *PurseProfile) { p.Wallets = PurseWallets{} },
		"pin.value":            func(p *PurseProfile) { p.PIN.Value = "12a4" },
		"keys.tac":             func(p *PurseProfile) { p.Keys.TAC = "00" },
		"start":                func(p *PurseProfile) { p.Start = "20241301" },
		"variant.grey_session": func(p *PurseProfile) { p.Variant.GreySession = "other" },
	} {
		p := DefaultPurseProfile()
		edit(p)
		_, err := NewPurseCard(p)
		var pe *ProfileError
		require.ErrorAs(t, err, &pe, field)
		assert.Equal(t, field, pe.Field)
	}
	_, err := ParsePurseProfile([]byte(`{"name": "x", "unknown": 1}`))
	assert.ErrorIs(t, err, ErrInvalidProfile)
}

// FuzzPurseTransmit feeds the fuel card random APDU sequences after a
// valid prefix (the first byte picks: selected, PIN verified, a pending
// INITIALIZE). The card must never panic, always answer a status word, and
// its money must stay consistent: balances within their limits, at most 10
// records, counters that only grow.
func FuzzPurseTransmit(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x03, 16, 0x80, 0x52, 0, 0, 0x0B, 0x20, 0x26, 3, 0x15, 0x10, 0x30, 0, 1, 2, 3, 4})
	f.Add([]byte{0x02, 13, 0xE0, 0x7A, 0x08, 0x02, 0x07, 1, 0, 0, 0, 0, 0, 1, 0x0F})
	f.Add([]byte{0x01, 5, 0xE0, 0xCA, 0x01, 0x00, 0x1E})
	f.Fuzz(func(t *testing.T, in []byte) {
		c := purseCard(t, nil)
		ctx := context.Background()
		if len(in) > 0 {
			pre := []string{"00A404000CA00000000353494E4F50454300"}
			if in[0]&1 != 0 {
				pre = append(pre, "0020000003123456")
			}
			if in[0]&2 != 0 {
				pre = append(pre, "805000020B0100001000000000000110")
			}
			for _, h := range pre {
				b, _ := hex.DecodeString(h)
				_, _ = c.Transmit(ctx, b)
			}
			in = in[1:]
		}
		lastOn, lastOff := c.Serials(2)
		for len(in) > 0 {
			n := int(in[0])
			in = in[1:]
			if n > len(in) {
				n = len(in)
			}
			r, err := c.Transmit(ctx, in[:n])
			in = in[n:]
			if err != nil || len(r) < 2 || len(r) > 258 {
				t.Fatalf("answer %X, %v", r, err)
			}
			for w := byte(1); w <= 2; w++ {
				if c.Balance(w) > 1000000 {
					t.Fatalf("wallet %d: %d above its limit", w, c.Balance(w))
				}
			}
			on, off := c.Serials(2)
			if on < lastOn || off < lastOff {
				t.Fatalf("counters went back: %d/%d after %d/%d", on, off, lastOn, lastOff)
			}
			lastOn, lastOff = on, off
			if len(c.records) > 10 {
				t.Fatal("more than 10 records")
			}
		}
	})
}
