// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/crypto/pki"
	"github.com/go-pboc/pboc/tlv"
)

// Tags the card produces or reads.
const (
	tagAID          tlv.Tag = 0x4F
	tagLabel        tlv.Tag = 0x50
	tagTrack2       tlv.Tag = 0x57
	tagPAN          tlv.Tag = 0x5A
	tagFCI          tlv.Tag = 0x6F
	tagRecord       tlv.Tag = 0x70
	tagRespFormat2  tlv.Tag = 0x77
	tagRespFormat1  tlv.Tag = 0x80
	tagAIP          tlv.Tag = 0x82
	tagCommandTmpl  tlv.Tag = 0x83
	tagDFName       tlv.Tag = 0x84
	tagPriority     tlv.Tag = 0x87
	tagSFI          tlv.Tag = 0x88
	tagARC          tlv.Tag = 0x8A
	tagCDOL1        tlv.Tag = 0x8C
	tagCDOL2        tlv.Tag = 0x8D
	tagCVMList      tlv.Tag = 0x8E
	tagDirEntry     tlv.Tag = 0x61
	tagFCIProp      tlv.Tag = 0xA5
	tagFCIIssuer    tlv.Tag = 0xBF0C
	tagName         tlv.Tag = 0x5F20
	tagExpiry       tlv.Tag = 0x5F24
	tagEffective    tlv.Tag = 0x5F25
	tagCountry      tlv.Tag = 0x5F28
	tagTxnCurrency  tlv.Tag = 0x5F2A
	tagLanguage     tlv.Tag = 0x5F2D
	tagPSN          tlv.Tag = 0x5F34
	tagAmount       tlv.Tag = 0x9F02
	tagAUC          tlv.Tag = 0x9F07
	tagAppVersion   tlv.Tag = 0x9F08
	tagIACDefault   tlv.Tag = 0x9F0D
	tagIACDenial    tlv.Tag = 0x9F0E
	tagIACOnline    tlv.Tag = 0x9F0F
	tagIAD          tlv.Tag = 0x9F10
	tagCodeTable    tlv.Tag = 0x9F11
	tagPrefName     tlv.Tag = 0x9F12
	tagLastOnline   tlv.Tag = 0x9F13
	tagPINTries     tlv.Tag = 0x9F17
	tagAC           tlv.Tag = 0x9F26
	tagCID          tlv.Tag = 0x9F27
	tagATC          tlv.Tag = 0x9F36
	tagPDOL         tlv.Tag = 0x9F38
	tagAppCurrency  tlv.Tag = 0x9F42
	tagLogEntry     tlv.Tag = 0x9F4D
	tagLogFormat    tlv.Tag = 0x9F4F
	tagECThreshold  tlv.Tag = 0x9F6D
	tagEC2Currency  tlv.Tag = 0xDF71
	tagEC2Balance   tlv.Tag = 0xDF79
	tagEC2Limit     tlv.Tag = 0xDF77
	tagEC2Single    tlv.Tag = 0xDF78
	tagEC2Threshold tlv.Tag = 0xDF76
	tagECAuthCode   tlv.Tag = 0x9F74
	tagECLimit      tlv.Tag = 0x9F77
	tagECSingle     tlv.Tag = 0x9F78
	tagECBalance    tlv.Tag = 0x9F79
	tagECTermSupprt tlv.Tag = 0x9F7A
	tagCAIndex      tlv.Tag = 0x8F
	tagIssuerCert   tlv.Tag = 0x90
	tagIssuerAuth   tlv.Tag = 0x91
	tagIssuerRem    tlv.Tag = 0x92
	tagSSAD         tlv.Tag = 0x93
	tagIssuerExp    tlv.Tag = 0x9F32
	tagUN           tlv.Tag = 0x9F37
	tagICCCert      tlv.Tag = 0x9F46
	tagICCExp       tlv.Tag = 0x9F47
	tagICCRem       tlv.Tag = 0x9F48
	tagDDOL         tlv.Tag = 0x9F49
	tagSDATagList   tlv.Tag = 0x9F4A
	tagSDAD         tlv.Tag = 0x9F4B
	tagPINCert      tlv.Tag = 0x9F2D
	tagPINExp       tlv.Tag = 0x9F2E
	tagPINRem       tlv.Tag = 0x9F2F
	tagLoadLogEntry tlv.Tag = 0xDF4D
	tagLoadLogFmt   tlv.Tag = 0xDF4F
)

// Card constants.
const (
	pseName    = "1PAY.SYS.DDF01"
	logSFI     = 11
	loadLogSFI = 12
	odaSFI     = 3
	// maxRecordBytes is the most response data a short APDU can carry.
	maxRecordBytes = 256
)

var (
	algTDES = keys.TDES
	algSM4  = keys.SM4
	// logEntry is the log entry (tag 9F4D): SFI 11, 10 records.
	logEntry = []byte{logSFI, MaxLogEntries}
	// loadLogEntry is the load log entry (tag DF4D): SFI 12, 10 records.
	loadLogEntry = []byte{loadLogSFI, MaxLogEntries}
	// ddol is the DDOL (tag 9F49) of DDA and CDA cards.
	ddol = []byte{0x9F, 0x37, 0x04}
)

// afl returns the AFL of the normal or the EC path. Both read SFI 1
// record 1 and SFI 2 record 1; the EC path adds SFI 2 record 2 (9F74).
// A card with ODA flags SFI 2 record 1 for offline data authentication
// and adds SFI 3 records 1 to 3 (certificates, not flagged).
func (a *app) afl(ec bool) []byte {
	last, flagged := byte(1), byte(0)
	if ec {
		last = 2
	}
	if a.oda != odaNone {
		flagged = 1
	}
	out := []byte{1 << 3, 1, 1, 0, 2 << 3, 1, last, flagged}
	if n := len(a.odaRecords); n > 0 {
		out = append(out, odaSFI<<3, 1, byte(n), 0)
	}
	return out
}

// record returns record rec of file sfi of the application (SFI 1 to 3),
// or nil if there is none.
func (a *app) record(sfi, rec int) []byte {
	switch {
	case sfi == 1 && rec == 1:
		return a.recTrack
	case sfi == 2 && rec == 1:
		return a.recApp
	case sfi == 2 && rec == 2:
		return a.recEC
	case sfi == odaSFI && rec >= 1 && rec <= len(a.odaRecords):
		return a.odaRecords[rec-1]
	}
	return nil
}

// app is the compiled, personalised image of one application plus its
// persistent counters.
// ecPurse is the EC data of one currency: balance, balance limit,
// single-transaction limit and reset threshold (9F79 9F77 9F78 9F6D, or for
// the second currency DF79 DF77 DF78 DF76), and the currency (DF71 for the
// second one).
type ecPurse struct {
	cur                               []byte
	balance, limit, single, threshold uint64
}

// purse returns the EC purse of a transaction currency (5F2A): the
// application's when cur is its currency (or absent), the second
// currency's when cur is DF71; nil otherwise.
func (a *app) purse(cur []byte) *ecPurse {
	switch {
	case cur == nil || bytes.Equal(cur, a.currency):
		return &a.ecPurse
	case a.second != nil && bytes.Equal(cur, a.second.cur):
		return a.second
	}
	return nil
}

type app struct {
	prof *Application
	lang string // card language preference (5F2D)

	aid                              []byte
	aip, auc, cvmList                []byte
	appVersion                       []byte // 9F08
	iacDefault, iacDenial, iacOnline []byte
	currency, country                []byte
	pdolRaw, cdol1Raw, cdol2Raw      []byte
	logFmtRaw                        []byte
	pdol, cdol1, cdol2, logFmt       tlv.DOL
	extra                            []tlv.TLV
	authCode                         []byte
	imk                              keys.IssuerKeys
	alg                              keys.Alg
	algID                            byte
	format                           int
	oda                              odaMethod
	odaParams                        *odaParams
	loadLogFmt                       tlv.DOL
	// Contactless (qPBOC) personalisation; see qpboc.go.
	qpboc       bool    // answers over the contactless interface
	clPDOLRaw   []byte  // contactless PDOL
	clPDOL      tlv.DOL //
	ctq         []byte  // 9F6C
	fddaVersion byte    // 00 or 01

	// Built images.
	fci       []byte
	dirRecord []byte
	recTrack  []byte // SFI 1 record 1
	recApp    []byte // SFI 2 record 1
	recEC     []byte // SFI 2 record 2 (EC only)
	fciCL     []byte // FCI over the contactless interface (contactless PDOL)
	ppseEntry tlv.TLV
	// ODA personalisation (personaliseODA), nil without ODA.
	odaRecords [][]byte     // SFI 3 records 1..n
	staticData []byte       // static data to be authenticated
	icc        *pki.KeyPair // ICC private key (DDA, CDA)

	// Persistent state.
	ecEnabled          bool
	ecPurse                     // the EC amounts of the application currency
	second             *ecPurse // the second EC currency (PBOC 3.0, DF71), nil when none
	atc, lastOnlineATC uint16
	log                [][]byte // newest first
	loadLog            [][]byte // newest first
	dynCounter         uint32   // ICC dynamic numbers issued
	challenges         uint32   // GET CHALLENGE answers issued
	pinTries           byte
	pinTryLimit        byte
	pinEnc             int          // pinEncNone, pinEncICC or pinEncSeparate
	pinEncKey          *pki.KeyPair // the separate PIN encipherment key
	cardKeys           keys.CardKeys
}

// build produces the FCI, directory entry and records of a.
func (a *app) build() error {
	p := a.prof
	var prop []tlv.TLV
	prop = append(prop, tlv.TLV{Tag: tagLabel, Value: []byte(p.Label)})
	if p.Priority > 0 {
		prop = append(prop, tlv.TLV{Tag: tagPriority, Value: []byte{byte(p.Priority)}})
	}
	if len(a.pdolRaw) > 0 {
		prop = append(prop, tlv.TLV{Tag: tagPDOL, Value: a.pdolRaw})
	}
	prop = append(prop,
		tlv.TLV{Tag: tagLanguage, Value: []byte(a.lang)},
		tlv.TLV{Tag: tagCodeTable, Value: []byte{0x01}})
	if p.PreferredName != "" {
		prop = append(prop, tlv.TLV{Tag: tagPrefName, Value: []byte(p.PreferredName)})
	}
	prop = append(prop, tlv.Constructed(tagFCIIssuer,
		tlv.TLV{Tag: tagLogEntry, Value: logEntry},
		tlv.TLV{Tag: tagLoadLogEntry, Value: loadLogEntry}))
	a.fci = tlv.Encode(tlv.Constructed(tagFCI,
		tlv.TLV{Tag: tagDFName, Value: a.aid},
		tlv.Constructed(tagFCIProp, prop...)))
	if a.qpboc {
		a.buildContactless(prop)
	}

	dir := []tlv.TLV{{Tag: tagAID, Value: a.aid}, {Tag: tagLabel, Value: []byte(p.Label)}}
	if p.Priority > 0 {
		dir = append(dir, tlv.TLV{Tag: tagPriority, Value: []byte{byte(p.Priority)}})
	}
	if p.PreferredName != "" {
		dir = append(dir, tlv.TLV{Tag: tagPrefName, Value: []byte(p.PreferredName)})
	}
	a.dirRecord = tlv.Encode(tlv.Constructed(tagRecord, tlv.Constructed(tagDirEntry, dir...)))

	track := []tlv.TLV{{Tag: tagTrack2, Value: track2(p.PAN, p.Expiry)}}
	if p.CardholderName != "" {
		track = append(track, tlv.TLV{Tag: tagName, Value: []byte(p.CardholderName)})
	}
	a.recTrack = tlv.Encode(tlv.Constructed(tagRecord, track...))

	rec := []tlv.TLV{
		{Tag: tagPAN, Value: panBytes(p.PAN)},
		{Tag: tagPSN, Value: bcdN(uint64(p.PANSequence), 1)},
		{Tag: tagExpiry, Value: dateBytes(p.Expiry)},
	}
	if p.Effective != "" {
		rec = append(rec, tlv.TLV{Tag: tagEffective, Value: dateBytes(p.Effective)})
	}
	rec = append(rec,
		tlv.TLV{Tag: tagCountry, Value: a.country},
		tlv.TLV{Tag: tagAUC, Value: a.auc},
	)
	if a.cvmList != nil {
		rec = append(rec, tlv.TLV{Tag: tagCVMList, Value: a.cvmList})
	}
	rec = append(rec,
		tlv.TLV{Tag: tagCDOL1, Value: a.cdol1Raw},
		tlv.TLV{Tag: tagCDOL2, Value: a.cdol2Raw},
		tlv.TLV{Tag: tagIACDefault, Value: a.iacDefault},
		tlv.TLV{Tag: tagIACDenial, Value: a.iacDenial},
		tlv.TLV{Tag: tagIACOnline, Value: a.iacOnline},
		tlv.TLV{Tag: tagAppVersion, Value: a.appVersion},
		tlv.TLV{Tag: tagAppCurrency, Value: a.currency},
	)
	for _, x := range a.extra {
		for _, have := range rec {
			if have.Tag == x.Tag {
				return fmt.Errorf("extra tag %s is already in the SFI 2 record", x.Tag)
			}
		}
		rec = append(rec, x)
	}
	a.recApp = tlv.Encode(tlv.Constructed(tagRecord, rec...))
	if a.ecEnabled {
		a.recEC = tlv.Encode(tlv.Constructed(tagRecord, tlv.TLV{Tag: tagECAuthCode, Value: a.authCode}))
	}
	for _, r := range []struct {
		name string
		data []byte
	}{{"FCI", a.fci}, {"contactless FCI", a.fciCL}, {"directory record", a.dirRecord}, {"SFI 1 record 1", a.recTrack},
		{"SFI 2 record 1", a.recApp}, {"SFI 2 record 2", a.recEC}} {
		if len(r.data) > maxRecordBytes {
			return fmt.Errorf("%s would be %d bytes, more than %d", r.name, len(r.data), maxRecordBytes)
		}
	}
	return nil
}

// track2 builds track 2 equivalent data: PAN, separator D, YYMM, service
// code 220, discretionary data 0000, padded with F to whole bytes.
func track2(pan, expiry string) []byte {
	s := pan + "D" + expiry[:4] + "220" + "0000"
	if len(s)%2 == 1 {
		s += "F"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// panBytes encodes the PAN as cn: digits left-justified, padded with F.
func panBytes(pan string) []byte {
	s := pan
	if len(s)%2 == 1 {
		s += "F"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// dateBytes encodes YYMMDD (already validated) as n6.
func dateBytes(d string) []byte {
	b, err := hex.DecodeString(d)
	if err != nil {
		return nil
	}
	return b
}
