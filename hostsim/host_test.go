// SPDX-License-Identifier: Apache-2.0

package hostsim_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

var algs = []keys.Alg{keys.TDES, keys.SM4}

func setup(t *testing.T, alg keys.Alg, balance kernel.Amount, opts ...hostsim.Option) (*hostsim.Host, *card) {
	t.Helper()
	c := newCard(t, alg)
	h := hostsim.New(opts...)
	require.NoError(t, h.AddAccount(c.account(balance)))
	return h, c
}

func authorize(t *testing.T, h *hostsim.Host, o *online) *kernel.AuthResponse {
	t.Helper()
	resp, err := h.Authorize(context.Background(), o.req)
	require.NoError(t, err)
	return resp
}

func TestPurchaseApproved(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg.String(), func(t *testing.T) {
			h, c := setup(t, alg, 100_00)
			o := c.request(kernel.RequestPurchase, 12_34)
			resp := authorize(t, h, o)

			assert.Equal(t, "00", resp.ResponseCode)
			assert.True(t, resp.Approved())
			assert.Equal(t, "000001", resp.AuthCode)
			assert.Empty(t, resp.Scripts)
			c.requireARPC(o, resp)
			assert.Equal(t, kernel.Amount(87_66), balanceOf(t, h, testPAN))

			e := lastEntry(t, h)
			assert.Equal(t, hostsim.Entry{
				Seq: 1, PAN: tlv.MaskPAN(testPAN), Kind: kernel.RequestPurchase, Amount: 12_34,
				ATC: o.atc, ResponseCode: "00", AuthCode: "000001", Debit: 12_34, Balance: 87_66,
			}, e)

			// A second transaction gets the next authorisation code.
			resp = authorize(t, h, c.request(kernel.RequestPurchase, 1_00))
			assert.Equal(t, "000002", resp.AuthCode)
			assert.Equal(t, kernel.Amount(86_66), balanceOf(t, h, testPAN))
		})
	}
}

func TestRetryIsIdempotent(t *testing.T) {
	h, c := setup(t, keys.TDES, 100_00)
	o := c.request(kernel.RequestLoadDesignated, 30_00).withPIN(t, testPIN).withEC(10_00, 1000_00)
	first := authorize(t, h, o)
	require.Equal(t, "00", first.ResponseCode)
	want := *first
	want.Scripts = append([]byte(nil), first.Scripts...)
	want.IssuerAuthData = append([]byte(nil), first.IssuerAuthData...)
	first.Scripts[0] ^= 0xFF // the caller's copy is its own

	second := authorize(t, h, o)
	assert.Equal(t, &want, second)
	assert.Equal(t, kernel.Amount(70_00), balanceOf(t, h, testPAN), "charged once")

	l := h.Ledger()
	require.Len(t, l, 2)
	assert.False(t, l[0].Replay)
	assert.True(t, l[1].Replay)
	assert.Zero(t, l[1].Debit)
	assert.Equal(t, "00", l[1].ResponseCode)

	// A new ATC is a new transaction.
	third := authorize(t, h, c.request(kernel.RequestLoadDesignated, 30_00).withPIN(t, testPIN).withEC(40_00, 1000_00))
	assert.Equal(t, "000002", third.AuthCode)
	assert.Equal(t, kernel.Amount(40_00), balanceOf(t, h, testPAN))
}

func TestARQCAltered(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg.String(), func(t *testing.T) {
			h, c := setup(t, alg, 100_00)

			// A flipped ARQC bit.
			o := c.request(kernel.RequestPurchase, 5_00)
			o.tags[0x9F26] = append([]byte(nil), o.arqc...)
			o.tags[0x9F26][7] ^= 0x01
			o.req.Field55 = encodeTags(o.tags)
			resp := authorize(t, h, o)
			assert.Equal(t, "05", resp.ResponseCode)
			assert.Nil(t, resp.IssuerAuthData, "no 91 without a valid ARQC")
			assert.Empty(t, resp.AuthCode)
			assert.Empty(t, resp.Scripts)

			// Data covered by the ARQC changed on the way (amount raised in
			// field 55 and in the request alike).
			o = c.request(kernel.RequestPurchase, 5_00)
			o.tags[0x9F02] = n12(t, 50_00)
			o.req.Amount = 50_00
			o.req.Field55 = encodeTags(o.tags)
			resp = authorize(t, h, o)
			assert.Equal(t, "05", resp.ResponseCode)

			// The CVR at 9F10[3:7] is covered too.
			o = c.request(kernel.RequestPurchase, 5_00)
			o.tags[0x9F10] = []byte{0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x01, byte(alg)}
			o.req.Field55 = encodeTags(o.tags)
			assert.Equal(t, "05", authorize(t, h, o).ResponseCode)

			// The card's keys under another algorithm do not match the account's.
			other := keys.SM4
			if alg == keys.SM4 {
				other = keys.TDES
			}
			o = c.request(kernel.RequestPurchase, 5_00)
			o.tags[0x9F10] = []byte{0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, byte(other)}
			o.req.Field55 = encodeTags(o.tags)
			assert.Equal(t, "05", authorize(t, h, o).ResponseCode)

			assert.Equal(t, kernel.Amount(100_00), balanceOf(t, h, testPAN))
			l := h.Ledger()
			require.Len(t, l, 4)
			for _, e := range l {
				assert.Equal(t, "05", e.ResponseCode)
				assert.NotEmpty(t, e.Note)
			}
		})
	}
}

func TestWrongPIN(t *testing.T) {
	h, c := setup(t, keys.TDES, 100_00)

	o := c.request(kernel.RequestPurchase, 5_00).withPIN(t, "654321")
	resp := authorize(t, h, o)
	assert.Equal(t, "55", resp.ResponseCode)
	assert.Empty(t, resp.AuthCode)
	c.requireARPC(o, resp) // the card can authenticate the decline

	// The right PIN under another key is a wrong PIN for this host.
	o = c.request(kernel.RequestPurchase, 5_00)
	block, err := hostsim.PINPad{Key: issuerKeys.SMC, PIN: testPIN}.OnlinePIN(context.Background(), testPAN, 5_00)
	require.NoError(t, err)
	o.req.PINBlock = block
	assert.Equal(t, "55", authorize(t, h, o).ResponseCode)

	// A block of the wrong size is a format error.
	o = c.request(kernel.RequestPurchase, 5_00)
	o.req.PINBlock = []byte{1, 2, 3}
	assert.Equal(t, "30", authorize(t, h, o).ResponseCode)

	// The right PIN passes.
	o = c.request(kernel.RequestPurchase, 5_00).withPIN(t, testPIN)
	assert.Equal(t, "00", authorize(t, h, o).ResponseCode)
	assert.Equal(t, kernel.Amount(95_00), balanceOf(t, h, testPAN))
}

func TestSM4PINKey(t *testing.T) {
	pinKey := unhex("00112233445566778899AABBCCDDEEFF")
	h, c := setup(t, keys.SM4, 100_00, hostsim.WithPINKey(keys.SM4, pinKey))
	pad := hostsim.PINPad{Key: pinKey, Alg: keys.SM4, PIN: testPIN}
	block, err := pad.OnlinePIN(context.Background(), testPAN, 5_00)
	require.NoError(t, err)
	require.Len(t, block, 16)

	o := c.request(kernel.RequestPurchase, 5_00)
	o.req.PINBlock = block
	assert.Equal(t, "00", authorize(t, h, o).ResponseCode)

	// A TDES block for an SM4 PIN key has the wrong size.
	o = c.request(kernel.RequestPurchase, 5_00).withPIN(t, testPIN)
	assert.Equal(t, "30", authorize(t, h, o).ResponseCode)
}

func TestBadPINKeyIsSystemError(t *testing.T) {
	h, c := setup(t, keys.TDES, 100_00, hostsim.WithPINKey(keys.TDES, []byte{1, 2, 3}))
	o := c.request(kernel.RequestPurchase, 5_00).withPIN(t, testPIN)
	resp := authorize(t, h, o)
	assert.Equal(t, "96", resp.ResponseCode)
	c.requireARPC(o, resp)
}

func TestPINPad(t *testing.T) {
	ctx := context.Background()
	_, err := hostsim.PINPad{}.OnlinePIN(ctx, testPAN, 1_00)
	assert.ErrorIs(t, err, kernel.ErrPINBypass)

	_, err = hostsim.PINPad{PIN: "12"}.OnlinePIN(ctx, testPAN, 1_00)
	assert.ErrorIs(t, err, keys.ErrInput)

	block, err := hostsim.PINPad{PIN: testPIN}.OnlinePIN(ctx, testPAN, 1_00)
	require.NoError(t, err)
	clearBlock, err := keys.DecryptPINBlock(keys.TDES, hostsim.DefaultPINKey(), block)
	require.NoError(t, err)
	pin, err := keys.PINFromBlock(clearBlock, testPAN)
	require.NoError(t, err)
	assert.Equal(t, testPIN, pin)

	s := fmt.Sprintf("%v %+v %#v", hostsim.PINPad{PIN: testPIN}, hostsim.PINPad{PIN: testPIN}, hostsim.PINPad{PIN: testPIN})
	assert.NotContains(t, s, testPIN)
}

func TestPINRequired(t *testing.T) {
	h, c := setup(t, keys.TDES, 5000_00)
	o := c.request(kernel.RequestPurchase, 5_00).withEC(10_00, 1000_00)
	o.req.TopUp = true
	resp := authorize(t, h, o)
	assert.Equal(t, "55", resp.ResponseCode)
	c.requireARPC(o, resp)

	o = c.request(kernel.RequestLoadDesignated, 5_00).withEC(10_00, 1000_00)
	assert.Equal(t, "55", authorize(t, h, o).ResponseCode)
	assert.Equal(t, kernel.Amount(5000_00), balanceOf(t, h, testPAN))
}

func TestInsufficientFunds(t *testing.T) {
	h, c := setup(t, keys.TDES, 10_00)
	o := c.request(kernel.RequestPurchase, 10_01)
	resp := authorize(t, h, o)
	assert.Equal(t, "51", resp.ResponseCode)
	assert.Empty(t, resp.AuthCode)
	c.requireARPC(o, resp)
	assert.Equal(t, kernel.Amount(10_00), balanceOf(t, h, testPAN))

	// Exactly the balance is fine.
	assert.Equal(t, "00", authorize(t, h, c.request(kernel.RequestPurchase, 10_00)).ResponseCode)
	assert.Zero(t, balanceOf(t, h, testPAN))
}

func TestTopUp(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg.String(), func(t *testing.T) {
			h, c := setup(t, alg, 5000_00)
			o := c.request(kernel.RequestPurchase, 50_00).withPIN(t, testPIN).withEC(20_00, 1000_00)
			o.req.TopUp = true
			resp := authorize(t, h, o)
			require.Equal(t, "00", resp.ResponseCode)
			c.requireARPC(o, resp)

			scripts := c.runScripts(o, resp)
			require.Len(t, scripts, 1)
			assert.Equal(t, []byte{0, 0, 0, 1}, scripts[0].id)
			assert.Equal(t, uint16(0x9F79), scripts[0].tag)
			assert.Equal(t, n12(t, 1000_00), scripts[0].value, "9F79 set to the limit")

			// The script is bound to this transaction's ATC and ARQC.
			sk, err := keys.SessionKey(alg, c.ck.SMI, o.atc)
			require.NoError(t, err)
			objs, err := tlv.Parse(resp.Scripts)
			require.NoError(t, err)
			cmd, _, err := tlv.Find(objs[0].Value, 0x86)
			require.NoError(t, err)
			otherARQC := append([]byte(nil), o.arqc...)
			otherARQC[0] ^= 1
			_, _, err = keys.VerifyECUpdateScript(alg, sk, cmd, o.tags[0x9F36], otherARQC)
			assert.ErrorIs(t, err, keys.ErrMAC)

			// Purchase 50.00 plus refill 980.00.
			assert.Equal(t, kernel.Amount(5000_00-50_00-980_00), balanceOf(t, h, testPAN))
			e := lastEntry(t, h)
			assert.Equal(t, kernel.Amount(1030_00), e.Debit)
			assert.Equal(t, kernel.Amount(980_00), e.Refill)
			require.NotNil(t, e.ScriptBalance)
			assert.Equal(t, kernel.Amount(1000_00), *e.ScriptBalance)
		})
	}
}

func TestTopUpWithoutRefill(t *testing.T) {
	tests := []struct {
		name    string
		balance kernel.Amount
		ec      func(*online) *online
		note    string
	}{
		{"account covers only the purchase", 100_00, func(o *online) *online { return o.withEC(20_00, 1000_00) }, "not the refill"},
		{"no EC data", 5000_00, func(o *online) *online { return o }, "missing"},
		{"no limit", 5000_00, func(o *online) *online { b := kernel.Amount(20_00); o.req.ECBalance = &b; return o }, "missing"},
		{"already full", 5000_00, func(o *online) *online { return o.withEC(1000_00, 1000_00) }, "at the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c := setup(t, keys.TDES, tt.balance)
			o := tt.ec(c.request(kernel.RequestPurchase, 50_00).withPIN(t, testPIN))
			o.req.TopUp = true
			resp := authorize(t, h, o)
			assert.Equal(t, "00", resp.ResponseCode)
			assert.Empty(t, resp.Scripts)
			c.requireARPC(o, resp)
			assert.Equal(t, tt.balance-50_00, balanceOf(t, h, testPAN), "purchase only")
			e := lastEntry(t, h)
			assert.Contains(t, e.Note, tt.note)
			assert.Nil(t, e.ScriptBalance)
			assert.Zero(t, e.Refill)
		})
	}
}

func TestLoads(t *testing.T) {
	tests := []struct {
		kind                     kernel.RequestKind
		pin                      bool
		wantDebit, wantND, wantC kernel.Amount
	}{
		{kernel.RequestLoadDesignated, true, 200_00, 0, 0},
		{kernel.RequestLoadNonDesignated, false, 0, 200_00, 0},
		{kernel.RequestLoadNonDesignated, true, 0, 200_00, 0},
		{kernel.RequestLoadCash, false, 0, 0, 200_00},
	}
	for _, tt := range tests {
		for _, alg := range algs {
			t.Run(fmt.Sprintf("%v/pin=%t/%v", tt.kind, tt.pin, alg), func(t *testing.T) {
				h, c := setup(t, alg, 500_00)
				o := c.request(tt.kind, 200_00).withEC(300_00, 1000_00)
				if tt.pin {
					o.withPIN(t, testPIN)
				}
				resp := authorize(t, h, o)
				require.Equal(t, "00", resp.ResponseCode)
				assert.Len(t, resp.AuthCode, 6)
				c.requireARPC(o, resp)
				scripts := c.runScripts(o, resp)
				require.Len(t, scripts, 1)
				assert.Equal(t, uint16(0x9F79), scripts[0].tag)
				assert.Equal(t, n12(t, 500_00), scripts[0].value)

				assert.Equal(t, 500_00-tt.wantDebit, balanceOf(t, h, testPAN))
				assert.Equal(t, tt.wantND, h.NonDesignatedTotal())
				assert.Equal(t, tt.wantC, h.CashTotal())
				e := lastEntry(t, h)
				assert.Equal(t, tt.wantDebit, e.Debit)
				require.NotNil(t, e.ScriptBalance)
				assert.Equal(t, kernel.Amount(500_00), *e.ScriptBalance)
			})
		}
	}
}

func TestLoadUpToTheLimit(t *testing.T) {
	h, c := setup(t, keys.TDES, 0)
	o := c.request(kernel.RequestLoadCash, 700_00).withEC(300_00, 1000_00)
	resp := authorize(t, h, o)
	require.Equal(t, "00", resp.ResponseCode)
	assert.Equal(t, n12(t, 1000_00), c.runScripts(o, resp)[0].value)
}

func TestLoadRefused(t *testing.T) {
	tests := []struct {
		name string
		kind kernel.RequestKind
		amt  kernel.Amount
		ec   bool
		pin  bool
		code string
	}{
		{"designated over the limit", kernel.RequestLoadDesignated, 700_01, true, true, "61"},
		{"non-designated over the limit", kernel.RequestLoadNonDesignated, 700_01, true, false, "61"},
		{"cash over the limit", kernel.RequestLoadCash, 1000_00, true, false, "61"},
		{"designated, account short", kernel.RequestLoadDesignated, 600_00, true, true, "51"},
		{"without EC balance and limit", kernel.RequestLoadCash, 10_00, false, false, "30"},
		{"zero", kernel.RequestLoadCash, 0, true, false, "13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c := setup(t, keys.TDES, 500_00)
			o := c.request(tt.kind, tt.amt)
			if tt.ec {
				o.withEC(300_00, 1000_00)
			}
			if tt.pin {
				o.withPIN(t, testPIN)
			}
			resp := authorize(t, h, o)
			assert.Equal(t, tt.code, resp.ResponseCode)
			assert.Empty(t, resp.Scripts)
			assert.Empty(t, resp.AuthCode)
			c.requireARPC(o, resp)
			assert.Equal(t, kernel.Amount(500_00), balanceOf(t, h, testPAN), "account untouched")
			assert.Zero(t, h.NonDesignatedTotal())
			assert.Zero(t, h.CashTotal())
			assert.NotEmpty(t, lastEntry(t, h).Note)
		})
	}
}

func TestRequestConsistency(t *testing.T) {
	h, c := setup(t, keys.TDES, 500_00)

	// A purchase request whose card data says cash load.
	o := c.request(kernel.RequestLoadCash, 10_00)
	o.req.Kind = kernel.RequestPurchase
	resp := authorize(t, h, o)
	assert.Equal(t, "12", resp.ResponseCode)
	c.requireARPC(o, resp)

	// A request amount other than the one the card signed.
	o = c.request(kernel.RequestPurchase, 10_00)
	o.req.Amount = 1_00
	assert.Equal(t, "13", authorize(t, h, o).ResponseCode)

	o = c.request(kernel.RequestPurchase, 10_00)
	o.req.Kind = kernel.RequestKind(42)
	assert.Equal(t, "12", authorize(t, h, o).ResponseCode)

	assert.Equal(t, kernel.Amount(500_00), balanceOf(t, h, testPAN))
}

func TestUnreachable(t *testing.T) {
	h, c := setup(t, keys.TDES, 100_00)
	h.SetUnreachable(true)
	o := c.request(kernel.RequestPurchase, 5_00)
	resp, err := h.Authorize(context.Background(), o.req)
	assert.ErrorIs(t, err, hostsim.ErrUnreachable)
	assert.Nil(t, resp)
	assert.Empty(t, h.Ledger())
	assert.Equal(t, kernel.Amount(100_00), balanceOf(t, h, testPAN))

	h.SetUnreachable(false)
	assert.Equal(t, "00", authorize(t, h, o).ResponseCode)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = h.Authorize(ctx, c.request(kernel.RequestPurchase, 5_00).req)
	assert.ErrorIs(t, err, context.Canceled)

	_, err = h.Authorize(context.Background(), nil)
	assert.ErrorIs(t, err, hostsim.ErrRequest)
}

func TestMalformedField55(t *testing.T) {
	c := newCard(t, keys.TDES)
	good := c.request(kernel.RequestPurchase, 5_00)
	without := func(tag uint32) []byte {
		m := map[uint32][]byte{}
		for k, v := range good.tags {
			if k != tag {
				m[k] = v
			}
		}
		return encodeTags(m)
	}
	with := func(tag uint32, v []byte) []byte {
		m := map[uint32][]byte{}
		for k, v := range good.tags {
			m[k] = v
		}
		m[tag] = v
		return encodeTags(m)
	}
	f55 := good.req.Field55
	tests := map[string][]byte{
		"empty":             nil,
		"truncated":         f55[:len(f55)-1],
		"indefinite length": append([]byte{0x9F, 0x26, 0x80}, f55...),
		"long length field": {0x9F, 0x26, 0x84, 0xFF, 0xFF, 0xFF, 0xFF},
		"length past end":   {0x9F, 0x26, 0x82, 0xFF, 0xFF, 0x00},
		"no ARQC":           without(0x9F26),
		"no IAD":            without(0x9F10),
		"no ATC":            without(0x9F36),
		"no 82":             without(0x82),
		"short ARQC":        with(0x9F26, good.arqc[:7]),
		"short IAD":         with(0x9F10, []byte{0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00}),
		"long ATC":          with(0x9F36, []byte{0, 0, 1}),
		"9F02 not BCD":      with(0x9F02, []byte{0, 0, 0, 0, 0x0A, 0}),
		"9F02 short":        with(0x9F02, []byte{0x05, 0x00}),
		"CID is a TC":       with(0x9F27, []byte{0x40}),
		"unknown algorithm": with(0x9F10, []byte{0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, 0x02}),
		"duplicate tag":     append(append([]byte(nil), f55...), 0x9F, 0x36, 0x02, 0x00, 0x01),
		"five-byte tag":     append([]byte{0x9F, 0xFF, 0xFF, 0xFF, 0x01, 0x00}, f55...),
		"padding only":      {0x00, 0xFF, 0x00},
	}
	h := hostsim.New()
	require.NoError(t, h.AddAccount(c.account(100_00)))
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			req := *good.req
			req.Field55 = b
			resp, err := h.Authorize(context.Background(), &req)
			require.NoError(t, err)
			assert.Equal(t, "30", resp.ResponseCode)
			assert.Nil(t, resp.IssuerAuthData)
			e := lastEntry(t, h)
			assert.Equal(t, "30", e.ResponseCode)
			assert.NotEmpty(t, e.Note)
		})
	}
	assert.Equal(t, kernel.Amount(100_00), balanceOf(t, h, testPAN))
	// The genuine request still passes.
	assert.Equal(t, "00", authorize(t, h, good).ResponseCode)
}

func TestUnknownPAN(t *testing.T) {
	c := newCard(t, keys.TDES)
	h := hostsim.New()
	resp := authorize(t, h, c.request(kernel.RequestPurchase, 5_00))
	assert.Equal(t, "14", resp.ResponseCode)
	assert.Nil(t, resp.IssuerAuthData)
	e := lastEntry(t, h)
	assert.Equal(t, tlv.MaskPAN(testPAN), e.PAN)
	assert.NotContains(t, fmt.Sprint(h.Ledger()), testPAN)
}

func TestQueueUpdate(t *testing.T) {
	h, c := setup(t, keys.TDES, 5000_00)
	require.ErrorIs(t, h.QueueUpdate("6222020000000000001", 0x9F77, n12(t, 1_00)), hostsim.ErrUnknownPAN)
	require.ErrorIs(t, h.QueueUpdate(testPAN, 0x9F77, make([]byte, 252)), hostsim.ErrUpdate)
	require.NoError(t, h.QueueUpdate(testPAN, hostsim.TagECBalanceLimit, n12(t, 2000_00)))
	require.NoError(t, h.QueueUpdate(testPAN, hostsim.TagECSingleLimit, n12(t, 500_00)))

	// A decline does not carry them.
	resp := authorize(t, h, c.request(kernel.RequestPurchase, 6000_00))
	require.Equal(t, "51", resp.ResponseCode)
	assert.Empty(t, resp.Scripts)

	// The next approval carries them, after the balance script.
	o := c.request(kernel.RequestLoadCash, 100_00).withEC(0, 1000_00)
	resp = authorize(t, h, o)
	require.Equal(t, "00", resp.ResponseCode)
	scripts := c.runScripts(o, resp)
	require.Len(t, scripts, 3)
	assert.Equal(t, script{id: []byte{0, 0, 0, 1}, tag: 0x9F79, value: n12(t, 100_00)}, scripts[0])
	assert.Equal(t, script{id: []byte{0, 0, 0, 2}, tag: 0x9F77, value: n12(t, 2000_00)}, scripts[1])
	assert.Equal(t, script{id: []byte{0, 0, 0, 3}, tag: 0x9F78, value: n12(t, 500_00)}, scripts[2])
	assert.Equal(t, []uint16{0x9F77, 0x9F78}, lastEntry(t, h).Updates)

	// A plain purchase afterwards: nothing left to send.
	resp = authorize(t, h, c.request(kernel.RequestPurchase, 1_00))
	assert.Empty(t, resp.Scripts)

	// An update alone, on a purchase without top-up.
	require.NoError(t, h.QueueUpdate(testPAN, hostsim.TagECResetThreshold, n12(t, 10_00)))
	o = c.request(kernel.RequestPurchase, 1_00)
	resp = authorize(t, h, o)
	scripts = c.runScripts(o, resp)
	assert.Equal(t, []script{{id: []byte{0, 0, 0, 4}, tag: 0x9F6D, value: n12(t, 10_00)}}, scripts)
}

func TestAddAccount(t *testing.T) {
	c := newCard(t, keys.TDES)
	h := hostsim.New()
	good := c.account(1_00)
	require.NoError(t, h.AddAccount(good))
	assert.ErrorIs(t, h.AddAccount(good), hostsim.ErrAccount, "duplicate")

	bad := []func(a *hostsim.Account){
		func(a *hostsim.Account) { a.PAN = "12345" },
		func(a *hostsim.Account) { a.PAN = "62220210001234567X" },
		func(a *hostsim.Account) { a.Alg = 0x02 },
		func(a *hostsim.Account) { a.PSN = 0x1A },
		func(a *hostsim.Account) { a.Keys.SMI = a.Keys.SMI[:8] },
		func(a *hostsim.Account) { a.Balance = kernel.MaxAmount + 1 },
	}
	for i, mutate := range bad {
		a := c.account(1_00)
		a.PAN = "6222021000000000018"
		mutate(&a)
		assert.ErrorIs(t, h.AddAccount(a), hostsim.ErrAccount, "case %d", i)
	}

	// The host keeps its own key copy, and hands out copies.
	keyCopy := append([]byte(nil), issuerKeys.AC...)
	a := c.account(1_00)
	a.PAN = "6222021000000000026"
	a.Keys.AC = keyCopy
	require.NoError(t, h.AddAccount(a))
	keyCopy[0] ^= 0xFF
	got, ok := h.Account(a.PAN)
	require.True(t, ok)
	assert.Equal(t, issuerKeys.AC, got.Keys.AC)
	got.Keys.AC[0] ^= 0xFF
	again, _ := h.Account(a.PAN)
	assert.Equal(t, issuerKeys.AC, again.Keys.AC)

	_, ok = h.Account("0000")
	assert.False(t, ok)

	s := fmt.Sprintf("%v %+v %#v %s", got, got, got, got)
	assert.NotContains(t, s, testPIN)
	assert.NotContains(t, s, a.PAN)
	assert.NotContains(t, strings.ToUpper(s), "0123456789ABCDEF")
}

func TestConcurrent(t *testing.T) {
	const workers, perWorker = 8, 25
	h := hostsim.New()
	cards := make([]*card, workers)
	for i := range cards {
		c := newCard(t, algs[i%2])
		c.pan = fmt.Sprintf("62220210001234%05d", i)
		ck, err := issuerKeys.Derive(c.alg, c.pan, c.psn)
		require.NoError(t, err)
		c.ck = ck
		require.NoError(t, h.AddAccount(c.account(1000_00)))
		cards[i] = c
	}
	// Requests are made up front (the card side is not concurrent), then
	// sent from many goroutines, each twice, with a shared PAN in half.
	type job struct {
		o *online
		c *card
	}
	var jobs []job
	for i := range workers {
		for range perWorker {
			c := cards[i%(workers/2)]
			jobs = append(jobs, job{c.request(kernel.RequestPurchase, 1_00), c})
		}
	}
	codes := make([]string, len(jobs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := w; j < len(jobs); j += workers {
				for range 2 {
					resp, err := h.Authorize(context.Background(), jobs[j].o.req)
					if err != nil || resp.ResponseCode != "00" {
						t.Errorf("job %d: %v %v", j, resp, err)
						return
					}
					if err := jobs[j].c.checkARPC(jobs[j].o, resp); err != nil {
						t.Errorf("job %d: %v", j, err)
						return
					}
					if codes[j] != "" && codes[j] != resp.AuthCode {
						t.Errorf("job %d: retry got auth code %s, first %s", j, resp.AuthCode, codes[j])
					}
					codes[j] = resp.AuthCode
				}
			}
			_ = h.Ledger()
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	for _, code := range codes {
		assert.False(t, seen[code], "auth code %s given twice", code)
		seen[code] = true
	}
	for i, c := range cards {
		want := kernel.Amount(1000_00)
		if i < workers/2 {
			want -= kernel.Amount(2*perWorker) * 1_00
		}
		assert.Equal(t, want, balanceOf(t, h, c.pan), "card %d", i)
	}
	l := h.Ledger()
	assert.Len(t, l, 2*len(jobs))
	replays := 0
	for i, e := range l {
		assert.Equal(t, i+1, e.Seq)
		if e.Replay {
			replays++
		}
	}
	assert.Equal(t, len(jobs), replays)
}

func FuzzField55(f *testing.F) {
	c := newCard(f, keys.TDES)
	good := c.request(kernel.RequestPurchase, 5_00)
	f.Add(good.req.Field55)
	f.Add([]byte{})
	f.Add([]byte{0x9F, 0x26, 0x81})
	f.Add(append([]byte{0x72, 0x03}, good.req.Field55...))
	h := hostsim.New()
	if err := h.AddAccount(c.account(1_000_000_00)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req := *good.req
		req.Field55 = b
		resp, err := h.Authorize(context.Background(), &req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.IssuerAuthData != nil && len(resp.IssuerAuthData) != 10 {
			t.Fatalf("91 of %d bytes", len(resp.IssuerAuthData))
		}
		if len(resp.ResponseCode) != 2 {
			t.Fatalf("response code %q", resp.ResponseCode)
		}
		// Whatever gets past the ARQC check is authenticated with 91.
		if resp.ResponseCode != "30" && resp.ResponseCode != "05" {
			if err := c.checkARPC(good, resp); err != nil {
				t.Fatalf("code %s: %v", resp.ResponseCode, err)
			}
		}
	})
}

// An issuer that queues its own balance (800.00, below the limit 1000.00)
// refills to that value: one balance script sets it and the account pays
// exactly that refill, not the way to the limit.
func TestTopUpToTheIssuersOwnTarget(t *testing.T) {
	h, c := setup(t, keys.TDES, 5000_00)
	require.NoError(t, h.QueueUpdate(testPAN, hostsim.TagECBalance, n12(t, 800_00)))
	require.NoError(t, h.QueueUpdate(testPAN, hostsim.TagECSingleLimit, n12(t, 500_00)))
	o := c.request(kernel.RequestPurchase, 4_50).withPIN(t, testPIN).withEC(5_00, 1000_00)
	o.req.TopUp = true
	resp := authorize(t, h, o)
	require.Equal(t, "00", resp.ResponseCode)
	scripts := c.runScripts(o, resp)
	require.Len(t, scripts, 2, "the queued 9F79 is the balance script, not a second one")
	assert.Equal(t, script{id: []byte{0, 0, 0, 1}, tag: 0x9F79, value: n12(t, 800_00)}, scripts[0])
	assert.Equal(t, script{id: []byte{0, 0, 0, 2}, tag: 0x9F78, value: n12(t, 500_00)}, scripts[1])
	e := lastEntry(t, h)
	assert.Equal(t, kernel.Amount(795_00), e.Refill)
	assert.Equal(t, kernel.Amount(4_50+795_00), e.Debit)
	assert.Equal(t, kernel.Amount(5000_00-4_50-795_00), balanceOf(t, h, testPAN))

	// The target is spent: the next top-up goes to the limit again.
	o = c.request(kernel.RequestPurchase, 1_00).withPIN(t, testPIN).withEC(799_50, 1000_00)
	o.req.TopUp = true
	resp = authorize(t, h, o)
	require.Equal(t, "00", resp.ResponseCode)
	assert.Equal(t, kernel.Amount(200_50), lastEntry(t, h).Refill)

	// A target at or below the card's balance refills nothing.
	require.NoError(t, h.QueueUpdate(testPAN, hostsim.TagECBalance, n12(t, 3_00)))
	o = c.request(kernel.RequestPurchase, 1_00).withPIN(t, testPIN).withEC(5_00, 1000_00)
	o.req.TopUp = true
	resp = authorize(t, h, o)
	require.Equal(t, "00", resp.ResponseCode)
	assert.Contains(t, lastEntry(t, h).Note, "refill target 3.00")
	assert.Zero(t, lastEntry(t, h).Refill)
}
