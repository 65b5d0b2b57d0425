// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
)

// SAM is the terminal's secure access module for offline purchases: it
// knows the terminal ID the card must be told, computes MAC1 from the
// card's INITIALIZE answer (with its purchase master key diversified by
// the card's ASN) and checks the card's MAC2. A PSAM in a reader slot is
// one (OpenPSAM); an HSM behind a vendor's API can be another.
type SAM interface {
	// TerminalID returns the terminal ID (the PSAM's EF16) the terminal
	// sends to the card; the SAM's MACs cover it.
	TerminalID() TID
	// MAC1 starts a purchase (Grey false, 80 70) or a grey lock (Grey
	// true, E0 40) and returns the terminal transaction serial (TTC), the
	// terminal random (grey lock only) and MAC1.
	MAC1(ctx context.Context, req *MAC1Request) (*MAC1Response, error)
	// CheckMAC2 checks the card's MAC2 of that purchase or grey lock (80
	// 72 / E0 42); an error means it is not the card's (wrapping ErrSAM
	// when the SAM refused it).
	CheckMAC2(ctx context.Context, grey bool, mac2 MAC) error
}

// GreySAM is a SAM that can also close a grey lock: the GMAC with which
// the card accepts DEBIT FOR UNLOCK, and the PSAM-TAC that signs the
// dispenser's bill.
type GreySAM interface {
	SAM
	// GMAC computes the GMAC and PSAM-TAC (E0 44) of the amount dispensed
	// under the grey lock begun by the last MAC1 with Grey set.
	GMAC(ctx context.Context, req *GMACRequest) (*GMACResponse, error)
}

// MAC1Request is what the SAM needs from the card's INITIALIZE FOR
// PURCHASE (or FOR GREY LOCK) answer.
type MAC1Request struct {
	Grey       bool     // a grey lock (E0 40) rather than a purchase (80 70)
	CardRandom [4]byte  // the card's random
	CTC        uint16   // the card's offline serial
	Amount     Amount   // the purchase amount, or the balance for a grey lock
	Type       TxType   // 05/06 purchase, 91 grey lock
	Time       DateTime // the terminal's date and time, sent to the card too
	KeyVersion byte     // from the card's answer
	Alg        byte     // from the card's answer
	ASN        ASN      // the card's ASN: its right 8 bytes diversify the key
}

// MAC1Response is the SAM's answer.
type MAC1Response struct {
	TTC            uint32  // terminal transaction serial
	TerminalRandom [4]byte // grey lock only
	MAC1           MAC
}

// GMACRequest is what the GMAC covers.
type GMACRequest struct {
	ASN    ASN
	CTC    uint16 // the card's offline serial at the grey lock
	Amount Amount // the amount dispensed
}

// GMACResponse is the SAM's answer.
type GMACResponse struct {
	GMAC    MAC
	PSAMTAC MAC
}

// PSAM is a PSAM card in a reader slot, reached through an apdu.Transport.
// It implements GreySAM. Its methods must not be called concurrently (one
// PSAM serves one transaction at a time, as a PSAM does).
type PSAM struct {
	t    apdu.Transport
	info PSAMInfo
	// factor2, when set, is sent after the ASN as the second
	// diversification factor (data 24 bytes longer by 8: two-level keys).
	factor2 []byte
}

var _ GreySAM = (*PSAM)(nil)

// PSAMOption configures OpenPSAM.
type PSAMOption func(*PSAM)

// WithSecondFactor makes the PSAM diversify its key twice, with the card's
// ASN and then with factor (8 bytes: a city or issuer code as some
// transit applications send): the MAC1 commands then carry 36 bytes. Which
// level comes first is unverified (PURSE-NOTES §4); this is the order the
// simulated PSAM uses.
func WithSecondFactor(factor [8]byte) PSAMOption {
	return func(p *PSAM) { p.factor2 = append([]byte(nil), factor[:]...) }
}

// OpenPSAM prepares the PSAM on t: SELECT the MF (3F00), read its serial
// (EF15) and terminal ID (EF16), SELECT the purchase ADF (3F01) and read its
// key index and issuer (EF17).
func OpenPSAM(ctx context.Context, t apdu.Transport, opts ...PSAMOption) (*PSAM, error) {
	p := &PSAM{t: t}
	for _, o := range opts {
		o(p)
	}
	steps := []struct {
		c     apdu.Command
		parse func(*PSAMInfo, []byte) error
	}{
		{SelectFID(0x3F00), nil},
		{ReadBinary(sfiEF15, lenPSAMEF15), parsePSAMEF15},
		{ReadBinary(sfiEF16, lenPSAMEF16), parsePSAMEF16},
		{SelectFID(0x3F01), nil},
		{ReadBinary(sfiEF17, lenPSAMEF17), parsePSAMEF17},
	}
	for _, s := range steps {
		data, err := p.exchange(ctx, s.c)
		if err != nil {
			return nil, err
		}
		if s.parse != nil {
			if err := s.parse(&p.info, data); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrSAM, err)
			}
		}
	}
	return p, nil
}

// Info returns what OpenPSAM read.
func (p *PSAM) Info() PSAMInfo { return p.info }

// TerminalID returns the PSAM's terminal ID (EF16).
func (p *PSAM) TerminalID() TID { return p.info.TID }

// exchange sends c and returns its data; a status other than 9000 is an
// error wrapping ErrSAM and a *StatusError.
func (p *PSAM) exchange(ctx context.Context, c apdu.Command) ([]byte, error) {
	r, err := apdu.Exchange(ctx, p.t, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSAM, err)
	}
	if !r.SW.OK() {
		return nil, fmt.Errorf("%w: %w", ErrSAM, &StatusError{Command: CommandName(c), SW: r.SW})
	}
	return r.Data, nil
}

// MAC1 sends 80 70 (purchase) or E0 40 (grey lock): card random ‖ CTC ‖
// amount-or-balance ‖ type ‖ datetime ‖ key version ‖ algorithm ‖ ASN
// factor [‖ second factor].
func (p *PSAM) MAC1(ctx context.Context, req *MAC1Request) (*MAC1Response, error) {
	f := req.ASN.Factor()
	d := make([]byte, 0, 36)
	d = append(d, req.CardRandom[:]...)
	d = append(d, byte(req.CTC>>8), byte(req.CTC))
	d = append(d, req.Amount.bytes()...)
	d = append(d, byte(req.Type))
	d = append(d, req.Time[:]...)
	d = append(d, req.KeyVersion, req.Alg)
	d = append(d, f[:]...)
	d = append(d, p.factor2...)
	data, err := p.exchange(ctx, SAMMAC1(req.Grey, d))
	if err != nil {
		return nil, err
	}
	want := lenPSAMMAC1
	if req.Grey {
		want = lenPSAMGreyMAC1
	}
	c, err := exact(CommandName(SAMMAC1(req.Grey, nil)), data, want)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSAM, err)
	}
	resp := &MAC1Response{TTC: c.u32()}
	if req.Grey {
		resp.TerminalRandom = c.rand()
	}
	resp.MAC1 = c.mac()
	return resp, nil
}

// CheckMAC2 sends 80 72 or E0 42 with the card's MAC2.
func (p *PSAM) CheckMAC2(ctx context.Context, grey bool, mac2 MAC) error {
	_, err := p.exchange(ctx, SAMCheckMAC2(grey, mac2))
	return err
}

// GMAC sends E0 44: type 93 ‖ ASN factor ‖ CTC ‖ amount.
func (p *PSAM) GMAC(ctx context.Context, req *GMACRequest) (*GMACResponse, error) {
	data, err := p.exchange(ctx, SAMGMAC(req.ASN.Factor(), req.CTC, req.Amount))
	if err != nil {
		return nil, err
	}
	g, t, err := twoMACs("PSAM GMAC", data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSAM, err)
	}
	return &GMACResponse{GMAC: g, PSAMTAC: t}, nil
}
