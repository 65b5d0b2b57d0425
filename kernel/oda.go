// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/tlv"
)

// ODAMethod is the offline data authentication method used.
type ODAMethod int

// The methods, in the order of preference CDA > DDA > SDA.
const (
	ODANone ODAMethod = iota
	ODASDA
	ODADDA
	ODACDA
	// ODAfDDA is qPBOC fast DDA (contactless); a failure sets the TVR's
	// DDA-failed bit, as PBOC specifies.
	ODAfDDA
)

var odaNames = [...]string{"none", "SDA", "DDA", "CDA", "fDDA"}

// String is "none", "SDA", "DDA" or "CDA".
func (m ODAMethod) String() string {
	if m >= 0 && int(m) < len(odaNames) {
		return odaNames[m]
	}
	return "unknown"
}

// MarshalText encodes the method by name.
func (m ODAMethod) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// AIP byte 1 bits (EMV Book 3 Annex C1).
const (
	aipSDA        = 0x40
	aipDDA        = 0x20
	aipCVM        = 0x10
	aipTRM        = 0x08
	aipIssuerAuth = 0x04
	aipCDA        = 0x01
)

// chooseODA picks the method both sides support: CDA, then DDA, then SDA
// (EMV Book 3 §10.3), from the AIP and terminal capabilities byte 3.
//
// What if the AIP is a lie? A card that hides its ODA support gets "ODA not
// performed" (TAC-online sends it online); one that claims a method it
// cannot do fails it. Both end in the action codes, never in an approval.
func (t *txn) chooseODA() ODAMethod {
	caps := t.k.cfg.Capabilities[2]
	switch {
	case t.aip[0]&aipCDA != 0 && caps&0x08 != 0:
		return ODACDA
	case t.aip[0]&aipDDA != 0 && caps&0x40 != 0:
		return ODADDA
	case t.aip[0]&aipSDA != 0 && caps&0x80 != 0:
		return ODASDA
	}
	return ODANone
}

// failedBit is the TVR bit for a failure of the method.
func (m ODAMethod) failedBit() TVRBit {
	switch m {
	case ODASDA:
		return TVRSDAFailed
	case ODADDA, ODAfDDA:
		return TVRDDAFailed
	default:
		return TVRCDAFailed
	}
}

// performODA runs offline data authentication. A failure of the card's data
// is recorded in the TVR (and Result.ODAError), not returned: only transport
// errors end the transaction.
func (t *txn) performODA(ctx context.Context) error {
	m := t.chooseODA()
	t.res.ODA = m
	if m == ODANone {
		t.res.TVR.Set(TVRODANotPerformed)
		return nil
	}
	// CDA is performed with GENERATE AC: the TSI says so when a GENERATE
	// AC asks for it, or here when its preparation fails (HXEMV
	// EmvModul.c, the CDA branch of iEmvDataAuth).
	if m != ODACDA {
		t.res.TSI.Set(TSIODAPerformed)
	}
	if m == ODASDA {
		t.res.TVR.Set(TVRSDASelected)
	}
	err := t.odaSteps(ctx, m)
	if err != nil && !isODAFailure(err) {
		return err
	}
	if err != nil {
		t.res.TSI.Set(TSIODAPerformed)
		t.odaFailed(m, err)
	}
	return nil
}

// cdaRequest decides whether a GENERATE AC asks for CDA: only when CDA was
// selected and prepared (the ICC key recovered) and the cryptogram asked
// for is not an AAC (EMV Book 2 §6.6). Asking sets the TSI's "offline data
// authentication was performed"; a first GENERATE AC that asks for an AAC
// instead leaves CDA undone and sets "offline data authentication was not
// performed" (HXEMV EmvModul.c, the first GENERATE AC).
func (t *txn) cdaRequest(p1 byte, first bool) bool {
	if t.icc == nil {
		return false
	}
	if p1&0xC0 == apdu.ACTypeAAC {
		if first {
			t.res.TVR.Set(TVRODANotPerformed)
		}
		return false
	}
	t.res.TSI.Set(TSIODAPerformed)
	return true
}

// odaFailed records an ODA failure: the method's TVR bit, and "ICC data
// missing" when the card lacks a data object ODA needs (EMV Book 3 §10.3;
// HXEMV EmvDAuth.c:210-220, 265-272, 423-433): 8F, 90, 9F32, 93, 9F46,
// 9F47, or a remainder its certificate needs.
func (t *txn) odaFailed(m ODAMethod, err error) {
	t.res.TVR.Set(m.failedBit())
	t.res.ODAError, t.res.ODAErr = err.Error(), err
	if errors.Is(err, oda.ErrMissing) || errors.Is(err, errICCDataMissing) {
		t.res.TVR.Set(TVRICCDataMissing)
	}
}

// errICCDataMissing marks an ODA failure for lack of a data object.
var errICCDataMissing = errors.New("kernel: ICC data missing")

// CA public key errors of offline data authentication (in Result.ODAErr).
var (
	// ErrCAKeyIndexMissing: the card gave no CA public key index (8F) or
	// issuer certificate (90).
	ErrCAKeyIndexMissing = errors.New("kernel: CA public key index (8F) or issuer certificate (90) missing")
	// ErrCAKeyNotFound: the terminal has no CA key for the RID and index.
	ErrCAKeyNotFound = errors.New("kernel: no CA public key")
	// ErrCAKeyExpired: the terminal's CA key has expired.
	ErrCAKeyExpired = errors.New("kernel: CA public key expired")
)

// odaFailure marks an error as a failed authentication of the card's data.
type odaFailure struct{ err error }

func (e odaFailure) Error() string { return e.err.Error() }
func (e odaFailure) Unwrap() error { return e.err }

func isODAFailure(err error) bool {
	_, ok := err.(odaFailure)
	return ok
}

func odaFail(format string, args ...any) error { return odaFailure{fmt.Errorf(format, args...)} }

func (t *txn) odaSteps(ctx context.Context, m ODAMethod) error {
	issuer, static, err := t.issuerKey()
	if err != nil {
		return err
	}
	if m == ODASDA {
		if t.data.val(0x93) == nil {
			return odaFail("SDA: %w: no signed static application data (93)", errICCDataMissing)
		}
		dac, err := oda.VerifySSAD(issuer, t.data.val(0x93), static)
		if err != nil {
			return odaFail("SDA: signed static application data: %w", err)
		}
		t.data.set(0x9F45, dac)
		return nil
	}
	if t.data.val(0x9F46) == nil {
		return odaFail("%s: %w: no ICC public key certificate (9F46)", m, errICCDataMissing)
	}
	icc, err := oda.RecoverICCKey(oda.ICCCertInput{
		Issuer: issuer, Cert: t.data.val(0x9F46), Remainder: t.data.val(0x9F48), Exponent: t.data.val(0x9F47),
		PAN: t.data.val(0x5A), StaticData: static, Now: t.now,
	})
	if err != nil {
		return odaFail("%s: ICC public key certificate: %w", m, err)
	}
	if m == ODACDA {
		t.icc = icc // the signature comes with GENERATE AC
		return nil
	}
	return t.dda(ctx, icc)
}

// issuerKey finds the CA key and recovers the issuer public key, and builds
// the static data to be authenticated.
func (t *txn) issuerKey() (*oda.IssuerKey, []byte, error) {
	idx, ok := t.data.get(0x8F)
	cert := t.data.val(0x90)
	if !ok || len(idx) != 1 || cert == nil {
		t.res.TVR.Set(TVRICCDataMissing)
		return nil, nil, odaFailure{ErrCAKeyIndexMissing}
	}
	var rid capk.RID
	copy(rid[:], t.aid)
	store := t.k.capk
	key, buf, ok := store.AppendLookup(t.keyBuf[:0], rid, idx[0])
	t.keyBuf = buf
	if !ok {
		return nil, nil, odaFail("%w %s/%02X", ErrCAKeyNotFound, rid, idx[0])
	}
	if key.Expired(t.now) {
		return nil, nil, odaFail("%w: %s/%02X", ErrCAKeyExpired, rid, idx[0])
	}
	static, err := oda.AppendStaticData(t.reserve(oda.StaticDataCap(t.odaRecords, t.aip[:]))[:0], t.odaRecords, t.data.val(0x9F4A), t.aip[:])
	if err != nil {
		return nil, nil, odaFail("static data to be authenticated: %w", err)
	}
	pub := oda.PublicKey{Alg: oda.PKAlg(key.Algorithm), Modulus: key.Modulus, Exponent: key.Exponent}
	if pub.Alg == oda.SM2 {
		pub = oda.PublicKey{Alg: oda.SM2, Point: key.Modulus}
	}
	ic, err := t.k.issuers.open(pub, cert, t.data.val(0x92), t.data.val(0x9F32))
	if err != nil {
		return nil, nil, odaFail("issuer public key certificate: %w", err)
	}
	issuer, err := ic.Check(t.data.val(0x5A), t.now, func(serial [3]byte) bool { return store.Revoked(rid, idx[0], serial) })
	if err != nil {
		return nil, nil, odaFail("issuer public key certificate: %w", err)
	}
	return issuer, static, nil
}

// dda runs INTERNAL AUTHENTICATE and verifies the signed dynamic data.
func (t *txn) dda(ctx context.Context, icc *oda.ICCKey) error {
	// The card's DDOL, else the application's default DDOL (a terminal
	// parameter: UnionPay's DF14; EMV Book 2 §6.5.1). Without either, DDA
	// cannot be done.
	ddol := t.data.val(0x9F49)
	if ddol == nil {
		ddol = t.app.DefaultDDOL
	}
	if ddol == nil {
		return odaFail("DDA: %w: the card has no DDOL (9F49) and the terminal no default DDOL", errICCDataMissing)
	}
	dol, err := t.parseDOL(ddol)
	if err != nil || dol.Len() > 252 {
		return odaFail("DDA: DDOL: %v", err)
	}
	hasUN := false
	for _, e := range dol {
		hasUN = hasUN || e.Tag == 0x9F37
	}
	if !hasUN {
		return odaFail("DDA: the DDOL does not ask for the unpredictable number")
	}
	ddolData := t.buildDOL(dol)
	r, err := t.exchange(ctx, apdu.InternalAuthenticate(ddolData))
	if err != nil {
		return err
	}
	if r.SW != apdu.SWSuccess {
		return odaFail("DDA: INTERNAL AUTHENTICATE: %s", r.SW)
	}
	o, err := tlv.ParseSingle(r.Data)
	if err != nil {
		return odaFail("DDA: INTERNAL AUTHENTICATE response: %w", err)
	}
	var sdad []byte
	switch o.Tag {
	case 0x80:
		sdad = o.Value
	case 0x77:
		sdad, _, _ = tlv.Find(o.Value, 0x9F4B)
	}
	if sdad == nil {
		return odaFail("DDA: no signed dynamic application data")
	}
	dyn, err := oda.VerifySDAD(icc, sdad, ddolData)
	if err != nil {
		return odaFail("DDA: signed dynamic application data: %w", err)
	}
	t.data.set(0x9F4C, dyn)
	return nil
}

// verifyCDA checks the CDA signature of a GENERATE AC response (format 2).
// It returns the signed cryptogram, or an ODA failure when the signature
// is missing or wrong.
func (t *txn) verifyCDA(template []byte, cid byte, second bool) ([]byte, error) {
	var sdad []byte
	rest := make([]byte, 0, len(template))
	objs, err := tlv.Parse(template)
	if err != nil {
		return nil, odaFail("CDA: %w", err)
	}
	for _, o := range objs {
		if o.Tag == 0x9F4B {
			sdad = o.Value
			continue
		}
		rest = tlv.Append(rest, o.Tag, o.Value)
	}
	if sdad == nil {
		return nil, odaFail("CDA: %w: GENERATE AC response without signed dynamic data (9F4B)", errICCDataMissing)
	}
	in := oda.CDAInput{
		ICC: t.icc, SDAD: sdad, UnpredictableNumber: t.term.val(0x9F37),
		PDOLData: t.term.val(0xDF8111), CDOLData: t.term.val(0xDF8112), ResponseTLVs: rest, CID: cid,
	}
	if second {
		in.CDOLData, in.CDOL2Data = t.term.val(0xDF8112), t.term.val(0xDF8113)
	}
	r, err := oda.VerifyCDA(in)
	if err != nil {
		return nil, odaFail("CDA: %w", err)
	}
	t.data.set(0x9F4C, r.ICCDynamicNumber)
	return r.Cryptogram, nil
}
