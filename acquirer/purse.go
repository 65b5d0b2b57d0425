// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"fmt"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/purse"
)

// PurseHost is the link as the host of the fuel-card purse (purse.Host):
// the reserve account (备付金) that pays a 圈存 and takes a 圈提, and the
// online unlock of a card grey from elsewhere. It is a view of its Link,
// not a type of its own, because purse.Host and kernel.Host both name
// their method Authorize; get it with Link.Purse:
//
//	t, err := purse.New(cfg, purse.WithHost(link.Purse()), purse.WithStore(store), ...)
//
// The messages (no source shows how a UnionPay acquirer carries them:
// this is the link's reading, and acquirersim's):
//
//	load (圈存)        0200 3 600000 25 91 60.1 48, 4 amount, 62 → 0210 62 = host time, MAC2, amount
//	unload (圈提)      0200 3 210000 25 00 60.1 49, 4 amount, 62 → 0210 the same
//	online unlock     0200 3 000000 25 00 60.1 52, 4 zero, 62 (with the grey status) → 0210 62, the bill's amount
//	confirmation      0220 the original's 3 25 60.1, 60.3 000, 62 = TAC or MAC3, or the proof → 0230
//
// every one MAC'd (field 64), field 62 as purse62.go lays it out. Before a
// request the link sends what it owes (script advices, pending reversals,
// offline uploads), as before a sale.
//
// The money rules rest on the purse's own evidence, not on a reversal: the
// purse terminal writes its record before it asks, and a load the card did
// not apply is given back by the host only on the card's proof (a fresh
// MAC1 over the unchanged online serial), which the terminal takes and
// queues in its Store. So the link never answers a purse request with a
// decline it cannot prove: no reply, a reply without a valid MAC (a
// "decline" in it may hide a debit), one that does not fit, or the
// acquirer's "91"/"96" (the issuer may have acted) are errors that are not
// purse.ErrDeclined, on which the terminal takes the card's proof and
// confirms it; only a MAC-verified decline is a *purse.DeclineError. No
// 0400 goes for a purse request: a blind reversal would be a second road
// to money the proof already gives back. A confirmation the acquirer does
// not take stays in the terminal's Store (purse.Terminal.Flush sends it
// again; the host is idempotent by record ID).
type PurseHost struct{ l *Link }

var _ purse.Host = (*PurseHost)(nil)

// Purse returns the link as the purse's host.
func (l *Link) Purse() *PurseHost { return &PurseHost{l} }

// purseRequests maps an operation to its request message.
var purseRequests = map[purse.Kind]msgKind{
	purse.KindLoad:         msgPurseLoad,
	purse.KindUnload:       msgPurseUnload,
	purse.KindOnlineUnlock: msgPurseUnlock,
}

// Authorize sends the card's INITIALIZE answer (MAC1) and returns the
// host's MAC2 (purse.Host). See PurseHost for what each failure means.
func (p *PurseHost) Authorize(ctx context.Context, req *purse.HostRequest) (*purse.HostResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil purse request", ErrMessage)
	}
	k, ok := purseRequests[req.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: purse kind %q", ErrMessage, req.Kind)
	}
	data, err := MarshalPurseRequest(req)
	if err != nil {
		return nil, err
	}
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.beforeOnline(ctx, true); err != nil {
		return nil, err
	}
	stan, batch, err := l.number(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	msg, err := l.build(k, stan, batch, "", l.rest60(false), fields{fAmount: fmt.Sprintf("%012d", req.Amount),
		fEntryMode: "052", fCurrency: l.cfg.Currency, fPrivate62: data})
	if err != nil {
		return nil, err
	}
	reply, err := l.purseExchange(ctx, msg, req.Kind, req.ASN)
	if err != nil {
		return nil, err
	}
	resp, err := ParsePurseReply(bin(reply, fPrivate62))
	if err != nil {
		return nil, fmt.Errorf("acquirer: purse %s of card %s: %w", req.Kind, req.ASN, err)
	}
	return resp, nil
}

// Confirm sends the card's evidence (purse.Host): the TAC of a load, the
// MAC3 of an unload or an unlock, or the proof that a load was not
// applied. A refusal of the evidence wraps purse.ErrEvidence.
func (p *PurseHost) Confirm(ctx context.Context, c *purse.HostConfirmation) error {
	if c == nil {
		return fmt.Errorf("%w: nil purse confirmation", ErrMessage)
	}
	k, ok := purseRequests[c.Kind]
	if !ok {
		return fmt.Errorf("%w: purse kind %q", ErrMessage, c.Kind)
	}
	data, err := MarshalPurseConfirmation(c)
	if err != nil {
		return err
	}
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	// A confirmation gives money back or pays it in: it is not held up by
	// an EC reversal the acquirer cannot take yet, only by a sign-in.
	if err := l.connect(ctx); err != nil {
		return err
	}
	if !l.signedIn {
		if err := l.signIn(ctx); err != nil {
			return err
		}
	}
	stan, batch, err := l.number(ctx, 0, 0)
	if err != nil {
		return err
	}
	orig := messages[k]
	msg, err := l.build(msgPurseConfirm, stan, batch, "", "", fields{fProcessingCode: orig.proc, fCondition: orig.cond,
		fReserved60: Field60{Type: orig.type601, Batch: batch, Network: "000"}.String(), fPrivate62: data})
	if err != nil {
		return err
	}
	_, err = l.purseExchange(ctx, msg, c.Kind, c.ASN)
	return err
}

// purseExchange sends a purse message and returns its reply when it is a
// MAC-verified approval that fits the request. Everything else is an
// error: a *purse.DeclineError only for a MAC-verified refusal, wrapping
// purse.ErrEvidence for a refused confirmation ("63"). The caller holds
// l.mu.
func (l *Link) purseExchange(ctx context.Context, msg *iso8583.Message, kind purse.Kind, asn purse.ASN) (*iso8583.Message, error) {
	mti, _ := msg.GetMTI()
	what := fmt.Sprintf("acquirer: purse %s %s of card %s", kind, mti, asn)
	reply, in, err := l.exchange(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if in.MAC != MACValid {
		// Not evidence either way: a decline in it may hide a debit.
		return nil, fmt.Errorf("%s: %w", what, ErrBadMAC)
	}
	if err := fits(msg, reply); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	switch code := str(reply, fResponseCode); code {
	case "00":
		return reply, nil
	case PurseEvidenceRefused:
		return nil, fmt.Errorf("%s: %w (response code %s)", what, purse.ErrEvidence, code)
	case "91", "96":
		// The acquirer could not get the issuer's word: the reserve may
		// have been debited. Not a decline, so the terminal proves.
		return nil, fmt.Errorf("%s: %w", what, &ResponseError{Message: "purse " + string(kind), Code: code})
	default:
		return nil, &purse.DeclineError{Code: code, Reason: fmt.Sprintf("the acquirer declined the purse %s (%s)", kind, mti)}
	}
}

// PurseEvidenceRefused is the response code (field 39) of a purse
// confirmation whose TAC, MAC3 or proof the issuer refused: ISO 8583's
// "security violation", this link's reading.
const PurseEvidenceRefused = "63"
