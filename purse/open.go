// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/tlv"
)

// The first steps of every operation: select the application (PSE, else
// the AIDs in order), read EF15 (who the card is and whether it is valid
// today) and, where the operation asks for it, the offline PIN.

// maxPSERecords bounds the directory records read from a PSE.
const maxPSERecords = 8

// open selects the application and reads EF15. It returns false with the
// result ended when the card cannot be used.
func (x *txn) open() (bool, error) {
	aid, err := x.selectApp()
	if err != nil {
		return false, err
	}
	x.res.AID = HexBytes(aid)
	data, err := x.do(ReadBinary(sfiEF15, lenEF15))
	if err != nil {
		return false, err
	}
	if x.info, err = ParseAppInfo(data); err != nil {
		return false, err
	}
	x.res.ASN = x.info.ASN.String()
	info := x.info
	x.res.Info = &info
	if x.t.store != nil {
		x.asnHash = x.t.store.HashASN(x.info.ASN)
	}
	return x.checkDates(), nil
}

// selectApp tries the PSE's directory, then each configured AID.
func (x *txn) selectApp() ([]byte, error) {
	if aid, err := x.selectFromPSE(); aid != nil || err != nil {
		return aid, err
	}
	for _, aid := range x.t.cfg.AIDs {
		r, err := x.exchange(apdu.Select(aid))
		if err != nil {
			return nil, err
		}
		if r.SW.OK() {
			return aid, nil
		}
	}
	x.end(OutcomeTerminated, ReasonNoApplication, "the card has none of the terminal's purse applications")
	return nil, ErrNoApplication
}

// selectFromPSE reads the PSE's directory (SFI from the FCI, records of 61
// templates with 4F) and selects the first configured AID it lists. A card
// without a PSE, or whose PSE lists none, gives nil and no error.
func (x *txn) selectFromPSE() ([]byte, error) {
	r, err := x.exchange(apdu.Select(pseName))
	if err != nil || !r.SW.OK() {
		return nil, err
	}
	sfi, ok, _ := tlv.Find(r.Data, 0x88)
	if !ok || len(sfi) != 1 || sfi[0] == 0 || sfi[0] > 30 {
		return nil, nil
	}
	var listed [][]byte
	for n := byte(1); n <= maxPSERecords; n++ {
		rr, err := x.exchange(apdu.ReadRecord(sfi[0], n))
		if err != nil {
			return nil, err
		}
		if !rr.SW.OK() {
			break
		}
		_ = tlv.Walk(rr.Data, func(_ int, o tlv.TLV) error {
			if o.Tag == 0x4F {
				listed = append(listed, o.Value)
			}
			return nil
		})
	}
	for _, want := range x.t.cfg.AIDs {
		for _, got := range listed {
			if bytes.HasPrefix(got, want) {
				sr, err := x.exchange(apdu.Select(got))
				if err != nil {
					return nil, err
				}
				if sr.SW.OK() {
					return append([]byte(nil), got...), nil
				}
			}
		}
	}
	return nil, nil
}

// checkDates refuses a card outside its EF15 start and end dates (the
// dates are the card's word; a card that garbles them is refused).
func (x *txn) checkDates() bool {
	start, err1 := bcdDate(x.info.Start)
	end, err2 := bcdDate(x.info.End)
	if err1 != nil || err2 != nil {
		x.end(OutcomeTerminated, ReasonCardData, "EF15 start or end date is not a date")
		return false
	}
	today := time.Date(x.now.Year(), x.now.Month(), x.now.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case today.Before(start):
		x.end(OutcomeDeclined, ReasonNotValid, "the card is valid from %s", start.Format("2006-01-02"))
		return false
	case today.After(end):
		x.end(OutcomeDeclined, ReasonExpired, "the card expired on %s", end.Format("2006-01-02"))
		return false
	}
	return true
}

func bcdDate(b [4]byte) (time.Time, error) {
	return time.Parse("20060102", hex.EncodeToString(b[:]))
}

// verifyPIN has the PIN pad present the PIN. It returns false with the
// result declined when the card refused it.
func (x *txn) verifyPIN() (bool, error) {
	if x.t.pad == nil {
		x.end(OutcomeTerminated, ReasonNoPIN, "the operation needs the PIN and the terminal has no PIN pad")
		return false, ErrNoPINPad
	}
	before, t0 := x.outside, time.Now()
	pin := &pinTransport{x: x}
	sw, err := x.t.pad.VerifyPIN(x.ctx, pin, x.t.cfg.PINFormat)
	x.outside = before + time.Since(t0) // the cardholder's typing and the card's VERIFY
	if err != nil {
		if pin.sent {
			return false, fmt.Errorf("purse: PIN pad: %w", err)
		}
		x.end(OutcomeDeclined, ReasonNoPIN, "the PIN was not entered: %v", err)
		return false, nil
	}
	if sw.OK() {
		return true, nil
	}
	if n, ok := sw.TriesLeft(); ok && n > 0 {
		x.end(OutcomeDeclined, ReasonPINIncorrect, "wrong PIN: %d tries left", n)
		return false, nil
	}
	if _, ok := sw.TriesLeft(); ok || sw == apdu.SWAuthMethodBlocked {
		x.end(OutcomeDeclined, ReasonPINBlocked, "the PIN is blocked (%s)", sw)
		return false, nil
	}
	x.end(OutcomeTerminated, ReasonCardRefused, "VERIFY: %s", sw)
	return false, nil
}

// pinTransport is what the PIN pad sends VERIFY through: it goes through
// the operation's exchange (counted and traced without its data) and only
// VERIFY is let through.
type pinTransport struct {
	x    *txn
	sent bool
}

// Transmit passes VERIFY on to the card, and nothing else.
func (p *pinTransport) Transmit(_ context.Context, command []byte) ([]byte, error) {
	c, err := apdu.ParseCommand(command)
	if err != nil || c.CLA != 0x00 || c.INS != 0x20 {
		return nil, fmt.Errorf("%w: the PIN pad may only send VERIFY", ErrConfig)
	}
	p.sent = true
	r, err := p.x.exchange(c)
	if err != nil {
		return nil, err
	}
	return r.Bytes(), nil
}
