// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/tlv"
)

// processingRestrictions checks the application version, usage control and
// dates (EMV Book 3 §10.4) and sets the TVR. It never ends the transaction:
// terminal action analysis decides what the bits mean.
func (t *txn) processingRestrictions() {
	tvr := &t.res.TVR
	if v, ok := t.data.get(0x9F08); ok && !bytes.Equal(v, t.app.Version[:]) {
		tvr.Set(TVRVersionsDiffer)
	}
	if auc, ok := t.data.get(0x9F07); ok && len(auc) == 2 && !t.usageAllowed(auc) {
		tvr.Set(TVRServiceNotAllowed)
	}
	today3 := bcdDate3(t.now)
	today := today3[:]
	if eff, ok := t.data.get(0x5F25); ok && len(eff) == 3 && dateAfter(eff, today) {
		tvr.Set(TVRNotYetEffective)
	}
	if exp, ok := t.data.get(0x5F24); ok && len(exp) == 3 && dateAfter(today, exp) {
		tvr.Set(TVRExpiredApplication)
	}
}

// usageAllowed applies the application usage control (9F07) as EMV Book 3
// §10.4.2 and HXEMV (EmvModul.c iEmvProcRistrictions) do: "valid at ATMs"
// at an ATM, "valid at terminals other than ATMs" elsewhere; and, only when
// the card gives its issuer country code (5F28), the domestic or
// international bit for the transaction type, a sale needing goods or
// services (EMV Application Note 27: either will do).
func (t *txn) usageAllowed(auc []byte) bool {
	const (
		validAtATMs      = 0x02
		validNotAtATMs   = 0x01
		domesticGoodsSvc = 0x20 | 0x08
		intlGoodsSvc     = 0x10 | 0x04
	)
	atm := t.isATM()
	if (atm && auc[0]&validAtATMs == 0) || (!atm && auc[0]&validNotAtATMs == 0) {
		return false
	}
	country, ok := t.data.get(0x5F28)
	if !ok || len(country) != 2 {
		return true
	}
	domestic := bytes.Equal(country, t.term.val(0x9F1A))
	switch t.term.val(0x9C)[0] {
	case TxnGoods:
		return (domestic && auc[0]&domesticGoodsSvc != 0) || (!domestic && auc[0]&intlGoodsSvc != 0)
	}
	// EC loads are not covered by the AUC bits; the card's own rules apply.
	return true
}

// isATM reports an ATM terminal type (14, 15, 16 with cash capability).
func (t *txn) isATM() bool {
	tt := t.k.cfg.TerminalType
	return (tt == 0x14 || tt == 0x15 || tt == 0x16) && t.k.cfg.AdditionalCapabilities[0]&0x80 != 0
}

// dateAfter compares two YYMMDD BCD dates (years 50-99 are 19xx).
func dateAfter(a, b []byte) bool { return dateKey(a) > dateKey(b) }

func dateKey(d []byte) int {
	y := int(d[0]>>4)*10 + int(d[0]&0x0F)
	if y < 50 {
		y += 100
	}
	return y*10000 + (int(d[1]>>4)*10+int(d[1]&0x0F))*100 + int(d[2]>>4)*10 + int(d[2]&0x0F)
}

// terminalRiskManagement runs the checks of EMV Book 3 §10.6 that apply:
// the exception file always; floor limit, random selection and velocity
// checking on the non-EC path (an EC sale is bounded by the EC limits
// instead of the floor limit, PBOC Book 13).
func (t *txn) terminalRiskManagement(ctx context.Context, amount Amount, ecOffline bool) error {
	t.res.TSI.Set(TSITerminalRiskPerformed)
	// With an empty exception file the PAN need not be decoded.
	if len(t.k.exceptions) > 0 {
		if pan, err := panDigits(t.data.val(0x5A)); err == nil && t.k.onExceptionFile(pan) {
			t.res.TVR.Set(TVRCardOnExceptionFile)
		}
	}
	if ecOffline {
		return nil
	}
	app := t.app
	if amount >= app.FloorLimit {
		t.res.TVR.Set(TVRFloorLimitExceeded)
	} else if t.randomlySelected(amount) {
		t.res.TVR.Set(TVRRandomlySelected)
	}
	return t.velocity(ctx)
}

// randomlySelected is EMV random transaction selection (Book 3 §10.6.2).
func (t *txn) randomlySelected(amount Amount) bool {
	app := t.app
	if app.FloorLimit == 0 || (app.TargetPercent == 0 && app.MaxTargetPercent == 0) {
		return false
	}
	r := rand.IntN(99) + 1 // 1..99
	if amount < app.RandomThreshold {
		return r <= app.TargetPercent
	}
	if app.FloorLimit <= app.RandomThreshold {
		return false
	}
	// The target percentage rises linearly from the threshold to the floor limit.
	span := float64(app.FloorLimit - app.RandomThreshold)
	p := float64(app.TargetPercent) + float64(app.MaxTargetPercent-app.TargetPercent)*float64(amount-app.RandomThreshold)/span
	return float64(r) <= p
}

// velocity is EMV velocity checking with LCOL (9F14) and UCOL (9F23),
// using the ATC and last online ATC read with GET DATA (EMV Book 3
// §10.6.3; HXEMV EmvModul.c:1309-1335). When either is not returned, or the
// ATC is not above the last online ATC, both limits count as exceeded (and
// a register not returned is ICC data missing); "new card" is set only when
// the last online ATC was returned and is zero.
func (t *txn) velocity(ctx context.Context) error {
	lcol, okL := t.data.get(0x9F14)
	ucol, okU := t.data.get(0x9F23)
	if !okL || !okU || len(lcol) != 1 || len(ucol) != 1 {
		return nil
	}
	atc, errA := t.getDataU16(ctx, 0x9F36)
	last, errL := t.getDataU16(ctx, 0x9F13)
	if ctx.Err() != nil && (errA != nil || errL != nil) {
		return ctx.Err()
	}
	if errL == nil && last == 0 {
		t.res.TVR.Set(TVRNewCard)
	}
	if errA != nil || errL != nil {
		t.res.TVR.Set(TVRICCDataMissing)
	}
	if errA != nil || errL != nil || atc <= last {
		t.res.TVR.Set(TVRLCOLExceeded)
		t.res.TVR.Set(TVRUCOLExceeded)
		return nil
	}
	if diff := int(atc - last); diff > int(lcol[0]) {
		t.res.TVR.Set(TVRLCOLExceeded)
		if diff > int(ucol[0]) {
			t.res.TVR.Set(TVRUCOLExceeded)
		}
	}
	return nil
}

func (t *txn) getDataU16(ctx context.Context, tag tlv.Tag) (uint16, error) {
	data, err := t.mustOK(ctx, apdu.GetData(uint16(tag)))
	if err != nil {
		return 0, err
	}
	v, err := getDataValue(data, tag)
	if err != nil {
		return 0, err
	}
	if len(v) != 2 {
		return 0, fmt.Errorf("%w: %s of %d bytes", ErrCardData, tag, len(v))
	}
	return uint16(v[0])<<8 | uint16(v[1]), nil
}

// actionAnalysis is terminal action analysis (EMV Book 3 §10.7): the
// cryptogram type to ask for, from the TVR and the terminal and issuer
// action codes.
func (t *txn) actionAnalysis() byte {
	tvr := t.res.TVR
	app := t.app
	iacDenial := t.iac(0x9F0E, 0x00)
	iacOnline := t.iac(0x9F0F, 0xFF)
	iacDefault := t.iac(0x9F0D, 0xFF)
	if matches(tvr, app.TACDenial, iacDenial) {
		return apdu.ACTypeAAC
	}
	if t.k.cfg.OnlineCapable {
		if matches(tvr, app.TACOnline, iacOnline) {
			return apdu.ACTypeARQC
		}
		return apdu.ACTypeTC
	}
	if matches(tvr, app.TACDefault, iacDefault) {
		return apdu.ACTypeAAC
	}
	return apdu.ACTypeTC
}

// defaultAction is the decision when an online-capable terminal could not go
// online (EMV Book 3 §10.7, TAC/IAC default).
func (t *txn) defaultAction() byte {
	if matches(t.res.TVR, t.app.TACDefault, t.iac(0x9F0D, 0xFF)) {
		return apdu.ACTypeAAC
	}
	return apdu.ACTypeTC
}

// iac returns an issuer action code, or its EMV default when absent.
func (t *txn) iac(tag tlv.Tag, absent byte) [5]byte {
	var out [5]byte
	if v, ok := t.data.get(tag); ok && len(v) == 5 {
		copy(out[:], v)
		return out
	}
	for i := range out {
		out[i] = absent
	}
	return out
}

func matches(tvr TVR, tac, iac [5]byte) bool {
	for i := range tvr {
		if tvr[i]&(tac[i]|iac[i]) != 0 {
			return true
		}
	}
	return false
}
