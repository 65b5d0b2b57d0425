// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/purse"
)

// One row per rule of the terminal, the row's name saying it.
func TestRules(t *testing.T) {
	ctx := context.Background()
	expired := cardsim.DefaultPurseProfile()
	expired.End = "20251231"
	future := cardsim.DefaultPurseProfile()
	future.Start = "20270101"
	blocked := cardsim.DefaultPurseProfile()
	zero := 0
	blocked.PIN.Tries = &zero
	low := cardsim.DefaultPurseProfile()
	low.Wallets.EP.Balance = "10.00"
	empty := cardsim.DefaultPurseProfile()
	empty.Wallets.EP.Balance = "0.00"
	full := cardsim.DefaultPurseProfile()
	full.Wallets.EP.Balance = "9950.00"

	load := func(a purse.Amount) func(*station) (*purse.Result, error) {
		return func(s *station) (*purse.Result, error) { return s.term.Load(ctx, s.card, a) }
	}
	cases := []struct {
		name    string
		prof    *cardsim.PurseProfile
		opts    []stationOpt
		run     func(*station) (*purse.Result, error)
		outcome purse.Outcome
		reason  purse.Reason
	}{
		{"a wrong PIN declines with the tries left", nil, []stationOpt{withPIN("654321")}, load(1000), purse.OutcomeDeclined, purse.ReasonPINIncorrect},
		{"a blocked PIN declines", blocked, nil, load(1000), purse.OutcomeDeclined, purse.ReasonPINBlocked},
		{"a cancelled PIN entry declines", nil, []stationOpt{withPIN("")}, load(1000), purse.OutcomeDeclined, purse.ReasonNoPIN},
		{"an expired card is refused", expired, nil, load(1000), purse.OutcomeDeclined, purse.ReasonExpired},
		{"a card not yet valid is refused", future, nil, load(1000), purse.OutcomeDeclined, purse.ReasonNotValid},
		{"a load above the card's limit is refused by the card", full, nil, load(10000), purse.OutcomeDeclined, purse.ReasonCardRefused},
		{"a load above the reserve is declined by the host", nil, nil, load(300000), purse.OutcomeDeclined, purse.ReasonHostDeclined},
		{"a purchase above the balance is refused by the card", low, nil, func(s *station) (*purse.Result, error) {
			return s.term.Purchase(ctx, s.card, 1001)
		}, purse.OutcomeDeclined, purse.ReasonInsufficient},
		{"an unload above the ED is refused", nil, nil, func(s *station) (*purse.Result, error) {
			return s.term.Unload(ctx, s.card, 10001)
		}, purse.OutcomeDeclined, purse.ReasonInsufficient},
		{"fuel on an empty card is refused, the card never grey", empty, nil, func(s *station) (*purse.Result, error) {
			return s.term.Dispense(ctx, s.card, purse.DispenseRequest{Nozzle: &pump{want: 1}})
		}, purse.OutcomeDeclined, purse.ReasonInsufficient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStation(t, c.prof, c.opts...)
			before := s.card.Balance(2)
			reserve := s.reserve.Balance(s.asn)
			res, _ := c.run(s)
			require.NotNil(t, res)
			assert.Equal(t, c.outcome, res.Outcome, res.Detail)
			assert.Equal(t, c.reason, res.Reason, res.Detail)
			if c.outcome != purse.OutcomeApproved {
				assert.Equal(t, before, s.card.Balance(2), "nothing moved on the card")
				assert.Equal(t, reserve, s.reserve.Balance(s.asn), "nothing moved at the reserve")
			}
		})
	}
}

func TestWrongPINCountsDown(t *testing.T) {
	s := newStation(t, nil, withPIN("000000"))
	for want := 2; want >= 1; want-- {
		res, err := s.term.Load(context.Background(), s.card, 100)
		require.NoError(t, err)
		assert.Equal(t, purse.ReasonPINIncorrect, res.Reason)
		assert.Contains(t, res.Detail, []string{"", "1 tries", "2 tries"}[want])
	}
	res, err := s.term.Load(context.Background(), s.card, 100)
	require.NoError(t, err)
	assert.Equal(t, purse.ReasonPINBlocked, res.Reason, "the third wrong PIN blocks")
}

func TestMoneyNeedsStoreHostSAM(t *testing.T) {
	ctx := context.Background()
	s := newStation(t, nil)
	bare, err := purse.New(s.cfg, purse.WithPINPad(s.pad))
	require.NoError(t, err)
	for name, run := range map[string]func() (*purse.Result, error){
		"load":     func() (*purse.Result, error) { return bare.Load(ctx, s.card, 100) },
		"unload":   func() (*purse.Result, error) { return bare.Unload(ctx, s.card, 100) },
		"purchase": func() (*purse.Result, error) { return bare.Purchase(ctx, s.card, 100) },
		"fuel": func() (*purse.Result, error) {
			return bare.Dispense(ctx, s.card, purse.DispenseRequest{Nozzle: &pump{want: 100}})
		},
	} {
		res, _ := run()
		assert.NotEqual(t, purse.OutcomeApproved, res.Outcome, name)
		assert.Zero(t, res.APDUs, "%s: the card is not asked", name)
	}
	assert.Equal(t, uint32(50000), s.card.Balance(2))
	// A store but no host: loads are declined before the card is asked.
	onlyStore, err := purse.New(s.cfg, purse.WithStore(s.store), purse.WithPINPad(s.pad))
	require.NoError(t, err)
	res, _ := onlyStore.Load(ctx, s.card, 100)
	assert.Equal(t, purse.ReasonHostUnreachable, res.Reason)
	assert.Zero(t, res.APDUs)
}

func TestGreyCardIsNotLoaded(t *testing.T) {
	s := newStation(t, nil)
	fc := &pullable{card: s.card}
	_, _ = s.term.Dispense(context.Background(), fc, purse.DispenseRequest{Nozzle: &removeWhilePumping{pump: pump{want: 500}, card: fc}})
	require.Equal(t, byte(0x01), s.card.Grey())
	fc.Reinsert()
	// At a kiosk (another terminal, no SAM of the pump): the card refuses
	// to be loaded while grey; nothing moves.
	kiosk, err := purse.New(s.cfg, purse.WithHost(s.reserve), purse.WithStore(s.store), purse.WithPINPad(s.pad))
	require.NoError(t, err)
	res, err := kiosk.Load(context.Background(), s.card, 1000)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeDeclined, res.Outcome)
	assert.Equal(t, purse.ReasonCardRefused, res.Reason, res.Detail)
	assert.Equal(t, purse.Amount(200000), s.reserve.Balance(s.asn))
}

func TestTraceHidesThePIN(t *testing.T) {
	s := newStation(t, nil, withConfig(func(c *purse.Config) { c.Trace = true }))
	res, err := s.term.Load(context.Background(), s.card, 1000)
	require.NoError(t, err)
	require.Equal(t, purse.OutcomeApproved, res.Outcome)
	found := false
	for _, e := range res.Trace {
		c, err := apdu.ParseCommand(e.Command)
		require.NoError(t, err)
		if c.INS == 0x20 {
			found = true
			assert.Equal(t, []byte("***"), c.Data)
			assert.False(t, bytes.Contains(e.Command, []byte{0x12, 0x34, 0x56}))
		}
	}
	assert.True(t, found, "VERIFY is in the trace, its data hidden")
	assert.Len(t, res.Trace, res.APDUs)
}

// lyingCard changes the answers of some commands (by INS).
type lyingCard struct {
	card apdu.Transport
	lies map[byte]func([]byte) []byte
}

func (l *lyingCard) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	r, err := l.card.Transmit(ctx, b)
	if lie := l.lies[b[1]]; err == nil && lie != nil && len(b) > 2 && len(r) > 2 {
		r = lie(append([]byte(nil), r...))
	}
	return r, err
}

func flip(i int) func([]byte) []byte {
	return func(r []byte) []byte { r[i] ^= 0xFF; return r }
}

func TestCardLies(t *testing.T) {
	ctx := context.Background()
	purchase := func(s *station, c apdu.Transport) (*purse.Result, error) { return s.term.Purchase(ctx, c, 1234) }
	cases := []struct {
		name   string
		lies   map[byte]func([]byte) []byte
		run    func(*station, apdu.Transport) (*purse.Result, error)
		reason purse.Reason
		paid   uint32 // what the card really paid
	}{
		{"INITIALIZE FOR PURCHASE says 0.01 and accepts 12.34", map[byte]func([]byte) []byte{0x50: func(r []byte) []byte {
			copy(r, []byte{0, 0, 0, 1})
			return r
		}}, purchase, purse.ReasonCardData, 0},
		{"INITIALIZE FOR LOAD answers a balance its MAC1 does not cover", map[byte]func([]byte) []byte{0x50: flip(3)},
			func(s *station, c apdu.Transport) (*purse.Result, error) { return s.term.Load(ctx, c, 1000) }, purse.ReasonHostDeclined, 0},
		{"a fake card's MAC2, in DEBIT FOR PURCHASE and its proof", map[byte]func([]byte) []byte{0x54: flip(5), 0x5A: flip(1)},
			purchase, purse.ReasonMAC2Invalid, 1234},
		{"a fake card's grey-lock MAC2, in GREY LOCK and the grey status", map[byte]func([]byte) []byte{0x7C: flip(5), 0xCA: func(r []byte) []byte {
			if r[0] == 0x01 {
				r[22] ^= 0xFF // the MAC2 word
			}
			return r
		}}, func(s *station, c apdu.Transport) (*purse.Result, error) {
			return s.term.Dispense(ctx, c, purse.DispenseRequest{Nozzle: &pump{want: 100}})
		}, purse.ReasonMAC2Invalid, 0},
		{"GET GREY STATUS answers 77", map[byte]func([]byte) []byte{0xCA: func(r []byte) []byte { r[0] = 0x77; return r }},
			func(s *station, c apdu.Transport) (*purse.Result, error) {
				return s.term.Dispense(ctx, c, purse.DispenseRequest{Nozzle: &pump{want: 100}})
			}, purse.ReasonCardData, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStation(t, nil)
			res, _ := c.run(s, &lyingCard{card: s.card, lies: c.lies})
			require.NotNil(t, res)
			assert.NotEqual(t, purse.OutcomeApproved, res.Outcome, res.Detail)
			assert.Equal(t, c.reason, res.Reason, res.Detail)
			assert.Equal(t, 50000-c.paid, s.card.Balance(2))
			assert.Equal(t, byte(0), s.card.Grey(), "never left grey")
			assert.Equal(t, purse.Amount(200000), s.reserve.Balance(s.asn))
			if c.paid > 0 {
				rec, _ := s.store.Get(res.RecordID)
				assert.Equal(t, purse.StateUnresolved, rec.State, "the card's TAC is kept for the issuer")
				assert.False(t, rec.TAC.IsZero())
			}
		})
	}
}

// A MAC2 garbled on its way, not by the card: the card's own proof
// (GET TRANSACTION PROVE, or the grey status) is checked by the SAM and
// the sale stands.
func TestGarbledMAC2Recovered(t *testing.T) {
	ctx := context.Background()
	for ins, run := range map[byte]func(*station, apdu.Transport) (*purse.Result, error){
		0x54: func(s *station, c apdu.Transport) (*purse.Result, error) { return s.term.Purchase(ctx, c, 1234) },
		0x7C: func(s *station, c apdu.Transport) (*purse.Result, error) {
			return s.term.Dispense(ctx, c, purse.DispenseRequest{Nozzle: &pump{want: 1234}})
		},
	} {
		s := newStation(t, nil)
		res, err := run(s, &lyingCard{card: s.card, lies: map[byte]func([]byte) []byte{ins: flip(5)}})
		require.NoError(t, err)
		assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
		assert.Equal(t, uint32(50000-1234), s.card.Balance(2))
	}
}

func TestCommandNames(t *testing.T) {
	tid := purse.TID{}
	for want, c := range map[string]apdu.Command{
		"INITIALIZE FOR LOAD":          purse.InitializeForLoad(purse.EP, 1, 1, tid),
		"INITIALIZE FOR PURCHASE":      purse.InitializeForPurchase(purse.EP, 1, 1, tid),
		"INITIALIZE FOR UNLOAD":        purse.InitializeForUnload(1, 1, tid),
		"CREDIT FOR LOAD":              purse.CreditForLoad(purse.DateTime{}, purse.MAC{}),
		"DEBIT FOR PURCHASE":           purse.DebitForPurchase(1, purse.DateTime{}, purse.MAC{}),
		"DEBIT FOR UNLOAD":             purse.DebitForUnload(purse.DateTime{}, purse.MAC{}),
		"GET BALANCE":                  purse.GetBalance(purse.ED),
		"GET GREY STATUS":              purse.GetGreyStatus(true),
		"INITIALIZE FOR GREY LOCK":     purse.InitializeForGreyLock(purse.EP, 1, tid),
		"GREY LOCK":                    purse.GreyLock(1, [4]byte{}, purse.DateTime{}, purse.MAC{}),
		"DEBIT FOR UNLOCK":             purse.DebitForUnlock(purse.EP, 1, 1, tid, 1, purse.DateTime{}, purse.MAC{}),
		"INITIALIZE FOR ONLINE UNLOCK": purse.InitializeForOnlineUnlock(purse.EP, 1, tid),
		"ONLINE UNLOCK":                purse.OnlineUnlock(1, purse.DateTime{}, purse.MAC{}),
		"GET TRANSACTION PROVE":        purse.GetTransactionProve(purse.TypeEPLoad, 1),
		"PSAM MAC1 FOR PURCHASE":       purse.SAMMAC1(false, nil),
		"PSAM GREY-LOCK MAC1":          purse.SAMMAC1(true, nil),
		"PSAM CHECK MAC2":              purse.SAMCheckMAC2(false, purse.MAC{}),
		"PSAM CHECK GREY MAC2":         purse.SAMCheckMAC2(true, purse.MAC{}),
		"PSAM GMAC":                    purse.SAMGMAC([8]byte{}, 1, 1),
		"READ BINARY":                  purse.ReadBinary(0x15, 30),
		"READ RECORD":                  purse.ReadRecordEF18(1),
		"SELECT":                       purse.SelectFID(0x3F00),
	} {
		assert.Equal(t, want, purse.CommandName(c))
		assert.NoError(t, c.Validate(), want)
	}
	// The layouts of PURSE-NOTES §2, §4, §5, byte for byte.
	var tid2 purse.TID
	copy(tid2[:], []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55})
	for want, c := range map[string]apdu.Command{
		"805000020B010000100000112233445510":      purse.InitializeForLoad(purse.EP, 1, 0x1000, tid2),
		"805001020B0100001000001122334455" + "0F": purse.InitializeForPurchase(purse.EP, 1, 0x1000, tid2),
		"805005010B0100001000001122334455" + "10": purse.InitializeForUnload(1, 0x1000, tid2),
		"805C000204":                 purse.GetBalance(purse.EP),
		"E0CA00001E":                 purse.GetGreyStatus(false),
		"E0CA01001E":                 purse.GetGreyStatus(true),
		"E07A080207010011223344550F": purse.InitializeForGreyLock(purse.EP, 1, tid2),
		"E07A0902070100112233445512": purse.InitializeForOnlineUnlock(purse.EP, 1, tid2),
		"805A0006020007" + "08":      purse.GetTransactionProve(purse.TypeEPPurchase, 7),
		"00B201C4" + "17":            purse.ReadRecordEF18(1),
		"00B095001E":                 purse.ReadBinary(0x15, 30),
	} {
		assert.Equal(t, want, hexUpper(c.Bytes()), purse.CommandName(c))
	}
}

func hexUpper(b []byte) string {
	const d = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&0x0F])
	}
	return string(out)
}

func TestDispenserBill(t *testing.T) {
	s := newStation(t, nil)
	res, err := s.term.Dispense(context.Background(), s.card, purse.DispenseRequest{Nozzle: &pump{want: 25000}})
	require.NoError(t, err)
	rec, ok := s.store.Get(res.RecordID)
	require.True(t, ok)
	serial := [10]byte{0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}
	b, err := purse.BillOf(rec, serial)
	require.NoError(t, err)
	assert.Equal(t, purse.BillNormal, b.Type)
	assert.Equal(t, purse.Amount(25000), b.Amount)
	assert.Equal(t, purse.Amount(25000), b.Balance, "the balance after")
	assert.Equal(t, res.TAC, b.TAC)
	assert.Equal(t, uint32(1), b.POSTTC)
	assert.Equal(t, "100000**********0001", b.ASN)
	raw := b.Bytes(s.asn, serial)
	require.Len(t, raw, 95)
	assert.Equal(t, s.asn[:], raw[12:22], "the ASN at offset 12 [IPT]")
	assert.Equal(t, res.TAC[:], raw[31:35], "the TAC at 31")
	assert.Equal(t, rec.GMAC[:], raw[35:39], "the GMAC at 35")
	assert.Equal(t, rec.PSAMTAC[:], raw[39:43], "the PSAM-TAC at 39")
	assert.Equal(t, rec.TID[:], raw[53:59], "the PSAM TID at 53")
	assert.Equal(t, []byte{0x00, 0x61, 0xA8}, raw[26:29], "the amount, 3 bytes at 26")
	_, err = purse.BillOf(purse.Record{Kind: purse.KindLoad}, serial)
	assert.ErrorIs(t, err, purse.ErrRecord)
}

// Describe names and decodes every command and answer of a fuel sale,
// the card's and the PSAM's, with the ASN masked in the hex as well.
func TestDescribeMasks(t *testing.T) {
	prof := cardsim.DefaultPurseProfile()
	prof.ASN = "36925814703692581470" // digits no counter or TID looks like
	s := newStation(t, prof)
	card, sam := &tape{record: s.card}, &tape{record: s.psam}
	ps, err := purse.OpenPSAM(context.Background(), sam)
	require.NoError(t, err)
	term, err := purse.New(s.cfg, purse.WithSAM(ps), purse.WithStore(s.store), purse.WithPINPad(s.pad))
	require.NoError(t, err)
	_, err = term.Dispense(context.Background(), card, purse.DispenseRequest{Nozzle: &pump{want: 100}})
	require.NoError(t, err)
	asn := s.asn.Digits()
	seen := map[string]bool{}
	for _, tp := range []*tape{card, sam} {
		for i := range tp.cmds {
			d := purse.Describe(tp.cmds[i], tp.resps[i])
			seen[d.Name] = true
			all := d.Command + d.Response + d.Sent + d.Answer
			assert.NotContains(t, all, asn, d.Name)
			assert.NotContains(t, all, asn[4:], "%s: not even the 8 bytes of the key factor", d.Name)
			assert.NotContains(t, all, "123456", "%s: no PIN", d.Name)
		}
	}
	for _, n := range []string{"GREY LOCK", "PSAM GMAC", "DEBIT FOR UNLOCK", "READ BINARY", "VERIFY", "PSAM GREY-LOCK MAC1"} {
		assert.True(t, seen[n], n)
	}
	d := purse.Describe(purse.GetBalance(purse.EP).Bytes(), []byte{0x00, 0x00, 0xC3, 0x50, 0x90, 0x00})
	assert.Equal(t, "balance 500.00", d.Answer)
	d = purse.Describe(purse.GetGreyStatus(false).Bytes(), append(append([]byte{0x01, 0x91, 0x00, 0, 0, 0xC3, 0x50, 0, 5, 0, 0, 0, 0, 0, 1, 0x20, 0x26, 0x03, 0x15, 0x10, 0x30, 0x00}, make([]byte, 8)...), 0x90, 0x00))
	assert.Contains(t, d.Answer, "grey: grey lock, balance 500.00, CTC 5, TID 000000000001, 2026-03-15 10:30:00")
	d = purse.Describe([]byte{0x80, 0x5C}, nil)
	assert.Equal(t, "malformed command", d.Name)
	d = purse.Describe(purse.GetBalance(purse.EP).Bytes(), []byte{0x01, 0x90, 0x00})
	assert.Contains(t, d.Answer, "bytes", "a short answer is not decoded")
}

// A card without a PSE, with the older AID, is selected from the
// terminal's list; a card with neither AID is refused before anything.
func TestSelection(t *testing.T) {
	old := cardsim.DefaultPurseProfile()
	old.PSE, old.AID = false, "A00000000386980701"
	s := newStation(t, old)
	res, err := s.term.Load(context.Background(), s.card, 1000)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, res.Detail)
	assert.Equal(t, purse.HexBytes{0xA0, 0, 0, 0, 0x03, 0x86, 0x98, 0x07, 0x01}, res.AID)

	other := cardsim.DefaultPurseProfile()
	other.PSE, other.AID = false, "A000000632010105" // T-Union: not in the default list
	s = newStation(t, other)
	res, err = s.term.Load(context.Background(), s.card, 1000)
	assert.ErrorIs(t, err, purse.ErrNoApplication)
	assert.Equal(t, purse.ReasonNoApplication, res.Reason)
	assert.Equal(t, uint32(50000), s.card.Balance(2))
	withT, err := purse.New(purse.Config{AIDs: [][]byte{{0xA0, 0, 0, 0x06, 0x32, 0x01, 0x01, 0x05}}, Now: s.cfg.Now},
		purse.WithHost(s.reserve), purse.WithSAM(s.sam), purse.WithStore(s.store), purse.WithPINPad(s.pad))
	require.NoError(t, err)
	res, err = withT.Load(context.Background(), s.card, 1000)
	require.NoError(t, err)
	assert.Equal(t, purse.OutcomeApproved, res.Outcome, "Config.AIDs names it")
}
