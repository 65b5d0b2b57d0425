// SPDX-License-Identifier: Apache-2.0

package hostsim_test

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

const (
	testPAN = "6222021000123456781"
	testPIN = "123456"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// issuerKeys are test issuer master keys.
var issuerKeys = keys.IssuerKeys{
	AC:  unhex("0123456789ABCDEFFEDCBA9876543210"),
	SMI: unhex("1133557799BBDDFF0022446688AACCEE"),
	SMC: unhex("A1B2C3D4E5F60718293A4B5C6D7E8F90"),
}

var txnType = map[kernel.RequestKind]byte{
	kernel.RequestPurchase:          0x00,
	kernel.RequestLoadDesignated:    0x60,
	kernel.RequestLoadNonDesignated: 0x62,
	kernel.RequestLoadCash:          0x63,
}

// card is the card side of the tests: it derives its own keys from the
// issuer master keys and computes real ARQCs.
type card struct {
	t   testing.TB
	alg keys.Alg
	pan string
	psn byte
	ck  keys.CardKeys
	atc uint16
}

func newCard(t testing.TB, alg keys.Alg) *card {
	t.Helper()
	ck, err := issuerKeys.Derive(alg, testPAN, 0x01)
	require.NoError(t, err)
	return &card{t: t, alg: alg, pan: testPAN, psn: 0x01, ck: ck, atc: 0x0010}
}

// account returns the host account of the card.
func (c *card) account(balance kernel.Amount) hostsim.Account {
	return hostsim.Account{PAN: c.pan, PSN: c.psn, Alg: c.alg, Keys: issuerKeys, PIN: testPIN, Balance: balance}
}

// online is one online request as the card and terminal made it.
type online struct {
	req  *kernel.AuthRequest
	atc  uint16
	arqc []byte
	tags map[uint32][]byte
}

func n12(t testing.TB, v kernel.Amount) []byte {
	b, err := bcd.Encode(nil, uint64(v), 6)
	require.NoError(t, err)
	return b
}

// encodeTags encodes tags in a fixed order.
func encodeTags(tags map[uint32][]byte) []byte {
	order := []uint32{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03}
	var out []byte
	for _, tag := range order {
		if v, ok := tags[tag]; ok {
			out = tlv.Append(out, tlv.Tag(tag), v)
		}
	}
	return out
}

// request makes the card generate an ARQC for a new transaction (the ATC
// counts up) and returns the request the terminal sends.
func (c *card) request(kind kernel.RequestKind, amount kernel.Amount) *online {
	c.t.Helper()
	c.atc++
	atc := []byte{byte(c.atc >> 8), byte(c.atc)}
	tags := map[uint32][]byte{
		0x9F27: {0x80},
		0x9F10: {0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, byte(c.alg)},
		0x9F36: atc,
		0x9F37: {0x12, 0x34, byte(c.atc), 0x78},
		0x9F02: n12(c.t, amount),
		0x9F03: make([]byte, 6),
		0x9F1A: {0x01, 0x56},
		0x95:   {0x00, 0x00, 0x04, 0x80, 0x00},
		0x5F2A: {0x01, 0x56},
		0x9A:   {0x26, 0x05, 0x17},
		0x9C:   {txnType[kind]},
		0x82:   {0x7C, 0x00},
	}
	sk, err := keys.SessionKey(c.alg, c.ck.AC, c.atc)
	require.NoError(c.t, err)
	arqc, err := keys.Cryptogram(c.alg, sk, keys.ACData(func(tag uint32) []byte { return tags[tag] }))
	require.NoError(c.t, err)
	tags[0x9F26] = arqc
	req := &kernel.AuthRequest{
		Kind: kind, Amount: amount, PAN: c.pan, PANSequence: c.psn,
		Field55: encodeTags(tags),
	}
	return &online{req: req, atc: c.atc, arqc: arqc, tags: tags}
}

// withPIN adds the PIN block of pin from the default simulated PIN pad.
func (o *online) withPIN(t testing.TB, pin string) *online {
	t.Helper()
	block, err := hostsim.PINPad{PIN: pin}.OnlinePIN(context.Background(), o.req.PAN, o.req.Amount)
	require.NoError(t, err)
	o.req.PINBlock = block
	return o
}

// withEC sets the EC balance and limit read from the card.
func (o *online) withEC(balance, limit kernel.Amount) *online {
	o.req.ECBalance, o.req.ECLimit = &balance, &limit
	return o
}

// requireARPC checks tag 91 as the card would: ARPC ‖ ARC with the ARPC
// recomputed under the card's own AC session key.
func (c *card) requireARPC(o *online, resp *kernel.AuthResponse) {
	c.t.Helper()
	require.Len(c.t, resp.IssuerAuthData, 10)
	arc := resp.IssuerAuthData[8:]
	require.Equal(c.t, resp.ResponseCode, string(arc))
	sk, err := keys.SessionKey(c.alg, c.ck.AC, o.atc)
	require.NoError(c.t, err)
	want, err := keys.ARPC(c.alg, sk, o.arqc, arc)
	require.NoError(c.t, err)
	require.True(c.t, keys.Equal(want, resp.IssuerAuthData[:8]), "ARPC does not verify")
}

// checkARPC is requireARPC for goroutines other than the test's.
func (c *card) checkARPC(o *online, resp *kernel.AuthResponse) error {
	if len(resp.IssuerAuthData) != 10 || string(resp.IssuerAuthData[8:]) != resp.ResponseCode {
		return errors.New("91 is not ARPC ‖ ARC")
	}
	sk, err := keys.SessionKey(c.alg, c.ck.AC, o.atc)
	if err != nil {
		return err
	}
	want, err := keys.ARPC(c.alg, sk, o.arqc, resp.IssuerAuthData[8:])
	if err != nil {
		return err
	}
	if !keys.Equal(want, resp.IssuerAuthData[:8]) {
		return errors.New("ARPC does not verify")
	}
	return nil
}

// script is one issuer script as the card sees it after checking its MAC.
type script struct {
	id    []byte
	tag   uint16
	value []byte
}

// runScripts parses the response scripts and checks every PUT DATA MAC with
// the card's own SMI session key, as the card does before applying them.
func (c *card) runScripts(o *online, resp *kernel.AuthResponse) []script {
	c.t.Helper()
	objs, err := tlv.Parse(resp.Scripts)
	require.NoError(c.t, err)
	sk, err := keys.SessionKey(c.alg, c.ck.SMI, o.atc)
	require.NoError(c.t, err)
	var out []script
	for _, o72 := range objs {
		require.Equal(c.t, tlv.Tag(0x72), o72.Tag)
		inner, err := tlv.Parse(o72.Value)
		require.NoError(c.t, err)
		require.Len(c.t, inner, 2)
		require.Equal(c.t, tlv.Tag(0x9F18), inner[0].Tag)
		require.Len(c.t, inner[0].Value, 4)
		require.Equal(c.t, tlv.Tag(0x86), inner[1].Tag)
		tag, value, err := keys.VerifyECUpdateScript(c.alg, sk, inner[1].Value, o.tags[0x9F36], o.arqc)
		require.NoError(c.t, err)
		out = append(out, script{id: inner[0].Value, tag: tag, value: value})
	}
	return out
}

func balanceOf(t testing.TB, h *hostsim.Host, pan string) kernel.Amount {
	t.Helper()
	a, ok := h.Account(pan)
	require.True(t, ok)
	return a.Balance
}

func lastEntry(t testing.TB, h *hostsim.Host) hostsim.Entry {
	t.Helper()
	l := h.Ledger()
	require.NotEmpty(t, l)
	return l[len(l)-1]
}
