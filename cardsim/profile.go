// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/tlv"
)

// ErrInvalidProfile is wrapped by every error that ParseProfile, LoadProfile
// and New return for a profile that cannot be personalised.
var ErrInvalidProfile = errors.New("cardsim: invalid profile")

// ProfileError names the profile field that failed validation, as a JSON
// path such as "applications[0].ec.balance". It wraps ErrInvalidProfile.
type ProfileError struct {
	// Field is the JSON path of the offending field; empty for errors about
	// the document as a whole (bad JSON, unknown field).
	Field string
	// Msg says what is wrong with the field.
	Msg string
	// Err is an underlying error, if any (for example from encoding/json).
	Err error
}

// Error returns "cardsim: invalid profile: <field>: <msg>".
func (e *ProfileError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidProfile.Error())
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrInvalidProfile and the underlying error, so that
// errors.Is works for both.
func (e *ProfileError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidProfile, e.Err}
	}
	return []error{ErrInvalidProfile}
}

func fieldErr(field, format string, args ...any) error {
	return &ProfileError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Profile is the personalisation of a simulated card, as read from JSON.
// The JSON format is documented in the package documentation. After
// ParseProfile, LoadProfile or Card.Snapshot every defaulted field holds
// its effective value, so Marshal writes a complete, explicit profile.
type Profile struct {
	// Name is a free-form description of the card.
	Name string `json:"name"`
	// PSE says whether the card has the 1PAY.SYS.DDF01 directory.
	PSE bool `json:"pse"`
	// Language is the language preference (tag 5F2D), 2 to 8 lower-case
	// letters in pairs; default "zhen".
	Language string `json:"language,omitempty"`
	// Applications lists the card's applications in card order (1 to 8).
	Applications []Application `json:"applications"`
}

// Application is the personalisation of one payment application.
type Application struct {
	// AID is the application identifier in hex, 5 to 16 bytes.
	AID string `json:"aid"`
	// Label is the application label (tag 50), 1 to 16 printable ASCII.
	Label string `json:"label"`
	// PreferredName is the application preferred name (tag 9F12), up to 16
	// printable ASCII characters; empty means absent.
	PreferredName string `json:"preferred_name,omitempty"`
	// Priority is the application priority indicator (tag 87), 1 to 15;
	// 0 means the tag is absent.
	Priority int `json:"priority,omitempty"`
	// PAN is the application primary account number, 12 to 19 digits with
	// a valid Luhn check digit.
	PAN string `json:"pan"`
	// PANSequence is the PAN sequence number (tag 5F34), 0 to 99.
	PANSequence int `json:"pan_sequence"`
	// Effective is the application effective date YYMMDD (tag 5F25);
	// empty means absent.
	Effective string `json:"effective,omitempty"`
	// Expiry is the application expiration date YYMMDD (tag 5F24).
	Expiry string `json:"expiry"`
	// CardholderName is the cardholder name (tag 5F20), 2 to 26 printable
	// ASCII characters; empty means absent.
	CardholderName string `json:"cardholder_name,omitempty"`
	// Currency is the ISO 4217 numeric application currency (tag 9F42),
	// 1 to 999; default 156.
	Currency int `json:"currency,omitempty"`
	// Country is the ISO 3166 numeric issuer country (tag 5F28), 1 to 999;
	// default 156.
	Country int `json:"country,omitempty"`
	// AIP is the application interchange profile in hex, 2 bytes;
	// default "1800" (cardholder verification supported, terminal risk
	// management to be performed).
	AIP string `json:"aip,omitempty"`
	// AUC is the application usage control (tag 9F07), 2 bytes hex;
	// default "FF00".
	AUC string `json:"auc,omitempty"`
	// CVMList is the CVM list (tag 8E) in hex; default online PIN if the
	// terminal supports it, else signature, else no CVM required.
	CVMList string `json:"cvm_list,omitempty"`
	// IACDefault, IACDenial and IACOnline are the issuer action codes
	// (tags 9F0D, 9F0E, 9F0F), 5 bytes hex each.
	IACDefault string `json:"iac_default,omitempty"`
	// ApplicationVersion is the application version number (tag 9F08), 2
	// bytes hex; default DefaultApplicationVersion (PBOC 3.0, 0030).
	ApplicationVersion string `json:"application_version,omitempty"`
	// IACDenial is the issuer action code - denial (tag 9F0E).
	IACDenial string `json:"iac_denial,omitempty"`
	// IACOnline is the issuer action code - online (tag 9F0F).
	IACOnline string `json:"iac_online,omitempty"`
	// PDOL is the processing options data object list (tag 9F38) in hex.
	// Absent means the default "9F7A019F02065F2A02"; "" means no PDOL.
	PDOL *string `json:"pdol,omitempty"`
	// CDOL1 is the first card risk management DOL (tag 8C) in hex.
	CDOL1 string `json:"cdol1,omitempty"`
	// CDOL2 is the second card risk management DOL (tag 8D) in hex.
	CDOL2 string `json:"cdol2,omitempty"`
	// LogFormat is the transaction log format (tag 9F4F) in hex.
	LogFormat string `json:"log_format,omitempty"`
	// EC is the electronic-cash personalisation; nil or enabled=false
	// means the card has no EC.
	EC *EC `json:"ec,omitempty"`
	// ATC is the application transaction counter, 0 to 65535.
	ATC int `json:"atc"`
	// LastOnlineATC is the last online ATC register (tag 9F13), ≤ ATC.
	LastOnlineATC int `json:"last_online_atc"`
	// Log holds the transaction log records in hex, newest first, at most
	// 10, each exactly as long as the log format says.
	Log []string `json:"log,omitempty"`
	// LoadLog holds the load log records (SFI 12) in hex, newest first, at
	// most 10, each P1 ‖ P2 ‖ balance before ‖ balance after ‖ data of the
	// load log format DefaultLoadLogFormat (DF4F).
	LoadLog []string `json:"load_log,omitempty"`
	// Keys holds the issuer master keys from which the card keys derive.
	Keys *Keys `json:"keys,omitempty"`
	// KeyAlg is the symmetric algorithm, "tdes" (default) or "sm4".
	KeyAlg string `json:"key_alg,omitempty"`
	// ODA is the offline data authentication method the card is
	// personalised for: "none" (default), "sda", "dda" or "cda".
	ODA string `json:"oda,omitempty"`
	// ODAAlg is the public key algorithm of the certificates: "rsa"
	// (default when ODA is not "none") or "sm2".
	ODAAlg string `json:"oda_alg,omitempty"`
	// CAIndex is the index (tag 8F) of the test CA key that certifies the
	// issuer key, 2 hex digits: F1 or F2 for RSA (default F1), F3 for SM2
	// (default). See TestCA.
	CAIndex string `json:"ca_index,omitempty"`
	// IssuerKeyBits is the RSA issuer key size, 1024 to 1984 bits, a
	// multiple of 8, not longer than the CA key; default 1408.
	IssuerKeyBits int `json:"issuer_key_bits,omitempty"`
	// ICCKeyBits is the RSA ICC key size (DDA and CDA), 1024 bits up to
	// the issuer key size; default 1152. CDA also needs the GENERATE AC
	// response to fit 256 bytes, which allows at most 1744 bits.
	ICCKeyBits int `json:"icc_key_bits,omitempty"`
	// IssuerExponent is the RSA issuer public exponent, 3 (default) or
	// 65537.
	IssuerExponent int `json:"issuer_exponent,omitempty"`
	// ICCExponent is the RSA ICC public exponent, 3 (default) or 65537.
	ICCExponent int `json:"icc_exponent,omitempty"`
	// GenACFormat is the GENERATE AC response format: 1 (tag 80, default)
	// or 2 (tag 77).
	GenACFormat int `json:"genac_format,omitempty"`
	// PIN is the offline PIN data (reserved; only the try counter is used).
	PIN *PIN `json:"pin,omitempty"`
	// Extra maps tag hex to value hex; each object is appended to the
	// SFI 2 record 1 in tag order.
	Extra map[string]string `json:"extra,omitempty"`
	// QPBOC is the contactless (qPBOC, 闪付) personalisation; absent means
	// the defaults (contactless enabled). See NewContactless.
	QPBOC *QPBOC `json:"qpboc,omitempty"`
}

// QPBOC is the contactless personalisation of an application: how it
// answers over the contactless interface (NewContactless).
type QPBOC struct {
	// Disabled leaves the application out of the PPSE and refuses it over
	// the contactless interface.
	Disabled bool `json:"disabled,omitempty"`
	// PDOL is the contactless PDOL (9F38 in the contactless FCI) in hex;
	// default DefaultQPBOCPDOL. It must ask for 9F66 (4), 9F02 (6),
	// 5F2A (2) and 9F37 (4).
	PDOL string `json:"pdol,omitempty"`
	// CTQ is the card transaction qualifiers (9F6C), 2 bytes hex; default
	// "2000" (go online if offline data authentication fails).
	CTQ string `json:"ctq,omitempty"`
	// FDDAVersion is the fDDA version the card signs with when the
	// terminal supports it (TTQ byte 4 bit 8): "01" (default) or "00".
	FDDAVersion string `json:"fdda_version,omitempty"`
}

// EC is the electronic-cash personalisation of an application. Amounts are
// decimal yuan strings such as "500.00".
type EC struct {
	// Enabled switches the EC path on.
	Enabled bool `json:"enabled"`
	// Balance is the EC balance (tag 9F79); required when enabled.
	Balance string `json:"balance,omitempty"`
	// BalanceLimit is the EC balance limit (tag 9F77); required when enabled.
	BalanceLimit string `json:"balance_limit,omitempty"`
	// SingleLimit is the EC single-transaction limit (tag 9F78); required
	// when enabled.
	SingleLimit string `json:"single_limit,omitempty"`
	// ResetThreshold is the EC reset threshold (tag 9F6D); default "0.00".
	ResetThreshold string `json:"reset_threshold,omitempty"`
	// IssuerAuthCode is the EC issuer authorisation code (tag 9F74), six
	// ASCII letters or digits; default "ECC001".
	IssuerAuthCode string `json:"issuer_auth_code,omitempty"`
	// SecondCurrency is the EC purse of a second currency (PBOC 3.0: DF71
	// currency, DF79 balance, DF77 limit, DF78 single limit, DF76 reset
	// threshold): a sale in that currency (5F2A) is paid from it.
	SecondCurrency *SecondCurrencyEC `json:"second_currency,omitempty"`
}

// SecondCurrencyEC is the second-currency EC purse of an application.
type SecondCurrencyEC struct {
	// Currency is the ISO 4217 numeric code (e.g. 840); it must differ
	// from the application currency.
	Currency       int    `json:"currency"`
	Balance        string `json:"balance"`
	BalanceLimit   string `json:"balance_limit"`
	SingleLimit    string `json:"single_limit"`
	ResetThreshold string `json:"reset_threshold,omitempty"`
}

// Keys holds 16-byte test issuer master keys in hex. Empty fields take the
// package's built-in test keys.
type Keys struct {
	// IMKAC is the issuer master key for application cryptograms.
	IMKAC string `json:"imk_ac,omitempty"`
	// IMKSMI is the issuer master key for secure-messaging integrity.
	IMKSMI string `json:"imk_smi,omitempty"`
	// IMKSMC is the issuer master key for secure-messaging confidentiality.
	IMKSMC string `json:"imk_smc,omitempty"`
}

// PIN is the reference PIN of an application, which the card verifies
// offline (VERIFY, see pin.go) and simulators such as hostsim take as the
// issuer's, and its try counter (tag 9F17, answered by GET DATA).
type PIN struct {
	// Value is the PIN, 4 to 12 digits; default "123456".
	Value string `json:"value,omitempty"`
	// Tries is the PIN try counter, 0 to 15; default the try limit. At 0
	// the PIN is blocked.
	Tries *int `json:"tries,omitempty"`
	// TryLimit is the PIN try limit, 1 to 15: a verified PIN sets the
	// counter back to it. Default 3 (or tries, if more).
	TryLimit int `json:"try_limit,omitempty"`
	// Encipherment is the key an enciphered offline PIN (VERIFY P2 88) is
	// deciphered with: "icc" (the ICC key; the default for RSA DDA and CDA
	// cards), "separate" (an RSA key of its own, 1024 bits, whose
	// certificate 9F2D with 9F2E/9F2F is in SFI 3 record 4; RSA DDA and
	// CDA cards) or "none" (the default otherwise: P2 88 answers 6A81).
	Encipherment string `json:"encipherment,omitempty"`
}

// PIN encipherment modes (PIN.Encipherment).
const (
	pinEncNone = iota
	pinEncICC
	pinEncSeparate
)

// Default values applied when a profile leaves a field out.
const (
	DefaultPDOL               = "9F7A019F02065F2A02"
	DefaultApplicationVersion = "0030"
	DefaultCDOL1              = "9F02069F03069F1A0295055F2A029A039C019F37049F21039F4E14"
	DefaultCDOL2              = "8A029F02069F03069F1A0295055F2A029A039C019F3704"
	DefaultLogFormat          = "9A039F21039F02069F03069F1A025F2A029F4E149C019F3602"
	// DefaultAIP is the AIP of a card without ODA: cardholder
	// verification, terminal risk management and issuer authentication
	// supported. A card with ODA adds its method: SDA 5C00, DDA 3C00,
	// CDA 3D00 (DDA and CDA).
	DefaultAIP       = "1C00"
	DefaultAUC       = "FF00"
	DefaultCVMList   = "000000000000000042035E031F03"
	DefaultIACDef    = "DC4000A800"
	DefaultIACDenial = "0010000000"
	DefaultIACOnline = "DC4004F800"
	// DefaultQPBOCPDOL is the contactless PDOL: TTQ, amounts, country,
	// TVR, currency, date, type, unpredictable number, EC terminal support
	// indicator, and the time and merchant name the transaction log keeps.
	DefaultQPBOCPDOL = "9F66049F02069F03069F1A0295055F2A029A039C019F37049F7A019F21039F4E14"
	// DefaultCTQ is the card transaction qualifiers (9F6C): go online if
	// offline data authentication fails.
	DefaultCTQ = "2000"
	// DefaultLoadLogFormat is the load log format (DF4F): transaction date,
	// time, terminal country, merchant name and ATC.
	DefaultLoadLogFormat = "9A039F21039F1A029F4E149F3602"
	// DefaultDDOL is the DDOL (9F49) of DDA and CDA cards: the terminal's
	// unpredictable number.
	DefaultDDOL = "9F3704"
	// DefaultIssuerKeyBits, DefaultICCKeyBits and DefaultRSAExponent are
	// the RSA key sizes and exponent used when a profile leaves them out.
	DefaultIssuerKeyBits = 1408
	DefaultICCKeyBits    = 1152
	DefaultRSAExponent   = 3
	DefaultIMKAC         = "0123456789ABCDEFFEDCBA9876543210"
	DefaultIMKSMI        = "1032547698BADCFEEFCDAB8967452301"
	DefaultIMKSMC        = "89ABCDEF01234567FEDCBA9876543210"
	DefaultAuthCode      = "ECC001"
	DefaultLanguage      = "zhen"
	DefaultPIN           = "123456"
	DefaultPINTries      = 3
	// MaxLogEntries is the number of transaction log records the card
	// keeps (9F4D = 0B 0A).
	MaxLogEntries = 10
	// MaxProfileSize bounds the JSON accepted by ParseProfile.
	MaxProfileSize = 1 << 20
	maxApps        = 8
)

//go:embed profiles/default.json
var defaultJSON []byte

// DefaultProfile returns a fresh copy of the seed card: one EC application
// A000000333010101 "PBOC DEBIT" with balance 500.00, limit 1000.00, single
// limit 300.00, reset threshold 1.00, a PSE, and RSA DDA (issuer key 1408
// bits certified by test CA key F1, ICC key 1152 bits).
func DefaultProfile() *Profile {
	p, err := ParseProfile(defaultJSON)
	if err != nil {
		panic("cardsim: embedded default profile is invalid: " + err.Error())
	}
	return p
}

// LoadProfile reads and validates a JSON profile file.
func LoadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cardsim: load profile: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxProfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cardsim: load profile %s: %w", path, err)
	}
	p, err := ParseProfile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParseProfile decodes and validates a JSON profile. Unknown fields,
// trailing data and invalid values are refused with a *ProfileError naming
// the field. The returned profile has every default filled in.
func ParseProfile(b []byte) (*Profile, error) {
	if len(b) > MaxProfileSize {
		return nil, &ProfileError{Msg: fmt.Sprintf("document is %d bytes, more than %d", len(b), MaxProfileSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, &ProfileError{Msg: "invalid JSON", Err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &ProfileError{Msg: "invalid JSON: data after the profile object"}
	}
	if _, err := compile(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Marshal encodes the profile as indented JSON. It validates first, so a
// profile that Marshal accepts is one ParseProfile accepts.
func (p *Profile) Marshal() ([]byte, error) {
	if p == nil {
		return nil, &ProfileError{Msg: "nil profile"}
	}
	c := p.clone()
	if _, err := compile(c); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cardsim: marshal profile: %w", err)
	}
	return append(b, '\n'), nil
}

// clone deep-copies p.
func (p *Profile) clone() *Profile {
	c := *p
	c.Applications = make([]Application, len(p.Applications))
	for i, a := range p.Applications {
		n := a
		if a.PDOL != nil {
			s := *a.PDOL
			n.PDOL = &s
		}
		if a.EC != nil {
			e := *a.EC
			if a.EC.SecondCurrency != nil {
				s := *a.EC.SecondCurrency
				e.SecondCurrency = &s
			}
			n.EC = &e
		}
		if a.Keys != nil {
			k := *a.Keys
			n.Keys = &k
		}
		if a.PIN != nil {
			pin := *a.PIN
			if a.PIN.Tries != nil {
				t := *a.PIN.Tries
				pin.Tries = &t
			}
			n.PIN = &pin
		}
		if a.QPBOC != nil {
			q := *a.QPBOC
			n.QPBOC = &q
		}
		n.Log = append([]string(nil), a.Log...)
		n.LoadLog = append([]string(nil), a.LoadLog...)
		if a.Extra != nil {
			n.Extra = make(map[string]string, len(a.Extra))
			for k, v := range a.Extra {
				n.Extra[k] = v
			}
		}
		c.Applications[i] = n
	}
	return &c
}

// compile fills defaults into p (in place) and builds the card image.
func compile(p *Profile) ([]*app, error) {
	if len(p.Name) > 256 {
		return nil, fieldErr("name", "longer than 256 characters")
	}
	if p.Language == "" {
		p.Language = DefaultLanguage
	}
	if err := checkLanguage(p.Language); err != nil {
		return nil, fieldErr("language", "%s", err)
	}
	if len(p.Applications) == 0 {
		return nil, fieldErr("applications", "at least one application is required")
	}
	if len(p.Applications) > maxApps {
		return nil, fieldErr("applications", "%d applications, at most %d", len(p.Applications), maxApps)
	}
	apps := make([]*app, 0, len(p.Applications))
	for i := range p.Applications {
		a, err := compileApp(&p.Applications[i], fmt.Sprintf("applications[%d]", i), p.Language)
		if err != nil {
			return nil, err
		}
		for j, prev := range apps {
			if bytes.Equal(prev.aid, a.aid) {
				return nil, fieldErr(fmt.Sprintf("applications[%d].aid", i), "duplicates applications[%d].aid", j)
			}
		}
		apps = append(apps, a)
	}
	return apps, nil
}

// compileApp validates one application, fills its defaults and builds its
// records.
func compileApp(a *Application, path, lang string) (*app, error) {
	f := func(name string) string { return path + "." + name }
	out := &app{lang: lang}
	var err error

	if out.aid, err = hexField(f("aid"), a.AID, 5, 16); err != nil {
		return nil, err
	}
	a.AID = strings.ToUpper(a.AID)
	if err := checkText(f("label"), a.Label, 1, 16); err != nil {
		return nil, err
	}
	if err := checkText(f("preferred_name"), a.PreferredName, 0, 16); err != nil {
		return nil, err
	}
	if a.Priority < 0 || a.Priority > 15 {
		return nil, fieldErr(f("priority"), "%d is not in 0..15", a.Priority)
	}
	if err := checkPAN(a.PAN); err != nil {
		return nil, fieldErr(f("pan"), "%s", err)
	}
	if a.PANSequence < 0 || a.PANSequence > 99 {
		return nil, fieldErr(f("pan_sequence"), "%d is not in 0..99", a.PANSequence)
	}
	if a.Expiry == "" {
		return nil, fieldErr(f("expiry"), "required (YYMMDD)")
	}
	if err := checkDate(a.Expiry); err != nil {
		return nil, fieldErr(f("expiry"), "%s", err)
	}
	if a.Effective != "" {
		if err := checkDate(a.Effective); err != nil {
			return nil, fieldErr(f("effective"), "%s", err)
		}
	}
	if a.CardholderName != "" {
		if err := checkText(f("cardholder_name"), a.CardholderName, 2, 26); err != nil {
			return nil, err
		}
	}
	if a.Currency == 0 {
		a.Currency = 156
	}
	if a.Currency < 1 || a.Currency > 999 {
		return nil, fieldErr(f("currency"), "%d is not in 1..999", a.Currency)
	}
	if a.Country == 0 {
		a.Country = 156
	}
	if a.Country < 1 || a.Country > 999 {
		return nil, fieldErr(f("country"), "%d is not in 1..999", a.Country)
	}
	out.currency = bcdN(uint64(a.Currency), 2)
	out.country = bcdN(uint64(a.Country), 2)

	if err := compileODA(a, f, out); err != nil {
		return nil, err
	}
	fixed := []struct {
		name string
		val  *string
		def  string
		n    int
		dst  *[]byte
	}{
		{"aip", &a.AIP, defaultAIP(out.oda), 2, &out.aip},
		{"auc", &a.AUC, DefaultAUC, 2, &out.auc},
		{"iac_default", &a.IACDefault, DefaultIACDef, 5, &out.iacDefault},
		{"iac_denial", &a.IACDenial, DefaultIACDenial, 5, &out.iacDenial},
		{"iac_online", &a.IACOnline, DefaultIACOnline, 5, &out.iacOnline},
		{"application_version", &a.ApplicationVersion, DefaultApplicationVersion, 2, &out.appVersion},
	}
	for _, x := range fixed {
		if *x.val == "" {
			*x.val = x.def
		}
		if *x.dst, err = hexField(f(x.name), *x.val, x.n, x.n); err != nil {
			return nil, err
		}
		*x.val = strings.ToUpper(*x.val)
	}
	if err := compileCVMList(a, f, out); err != nil {
		return nil, err
	}

	if a.PDOL == nil {
		s := DefaultPDOL
		a.PDOL = &s
	}
	dols := []struct {
		name     string
		val      *string
		def      string
		required bool
		max      int
		raw      *[]byte
		dol      *tlv.DOL
	}{
		{"pdol", a.PDOL, "", false, 252, &out.pdolRaw, &out.pdol},
		{"cdol1", &a.CDOL1, DefaultCDOL1, true, 255, &out.cdol1Raw, &out.cdol1},
		{"cdol2", &a.CDOL2, DefaultCDOL2, true, 255, &out.cdol2Raw, &out.cdol2},
		{"log_format", &a.LogFormat, DefaultLogFormat, true, 254, &out.logFmtRaw, &out.logFmt},
	}
	for _, d := range dols {
		if *d.val == "" && d.def != "" {
			*d.val = d.def
		}
		if *d.raw, err = hexField(f(d.name), *d.val, 0, 252); err != nil {
			return nil, err
		}
		*d.val = strings.ToUpper(*d.val)
		if len(*d.raw) == 0 {
			if d.required {
				return nil, fieldErr(f(d.name), "must not be empty")
			}
			continue
		}
		dol, err := tlv.ParseDOL(*d.raw)
		if err != nil {
			return nil, &ProfileError{Field: f(d.name), Msg: "invalid DOL", Err: err}
		}
		if n := dol.Len(); n > d.max {
			return nil, fieldErr(f(d.name), "asks for %d bytes of data, more than %d", n, d.max)
		}
		*d.dol = dol
	}

	if out.oda == odaCDA {
		if err := checkCDOLsForCDA(out, f); err != nil {
			return nil, err
		}
	}

	if a.EC == nil {
		a.EC = &EC{}
	}
	if err := compileEC(a.EC, f("ec"), out); err != nil {
		return nil, err
	}

	if a.ATC < 0 || a.ATC > 0xFFFF {
		return nil, fieldErr(f("atc"), "%d is not in 0..65535", a.ATC)
	}
	if a.LastOnlineATC < 0 || a.LastOnlineATC > a.ATC {
		return nil, fieldErr(f("last_online_atc"), "%d is not in 0..atc (%d)", a.LastOnlineATC, a.ATC)
	}
	out.atc = uint16(a.ATC)
	out.lastOnlineATC = uint16(a.LastOnlineATC)

	if len(a.Log) > MaxLogEntries {
		return nil, fieldErr(f("log"), "%d entries, at most %d", len(a.Log), MaxLogEntries)
	}
	for i, s := range a.Log {
		n := out.logFmt.Len()
		rec, err := hexField(fmt.Sprintf("%s[%d]", f("log"), i), s, n, n)
		if err != nil {
			return nil, err
		}
		a.Log[i] = strings.ToUpper(s)
		out.log = append(out.log, rec)
	}

	out.loadLogFmt = loadLogFormat
	if len(a.LoadLog) > MaxLogEntries {
		return nil, fieldErr(f("load_log"), "%d entries, at most %d", len(a.LoadLog), MaxLogEntries)
	}
	for i, s := range a.LoadLog {
		n := loadLogRecordLen()
		rec, err := hexField(fmt.Sprintf("%s[%d]", f("load_log"), i), s, n, n)
		if err != nil {
			return nil, err
		}
		a.LoadLog[i] = strings.ToUpper(s)
		out.loadLog = append(out.loadLog, rec)
	}

	if a.Keys == nil {
		a.Keys = &Keys{}
	}
	keyFields := []struct {
		name string
		val  *string
		def  string
		dst  *[]byte
	}{
		{"keys.imk_ac", &a.Keys.IMKAC, DefaultIMKAC, &out.imk.AC},
		{"keys.imk_smi", &a.Keys.IMKSMI, DefaultIMKSMI, &out.imk.SMI},
		{"keys.imk_smc", &a.Keys.IMKSMC, DefaultIMKSMC, &out.imk.SMC},
	}
	for _, k := range keyFields {
		if *k.val == "" {
			*k.val = k.def
		}
		if *k.dst, err = hexField(f(k.name), *k.val, 16, 16); err != nil {
			return nil, err
		}
		*k.val = strings.ToUpper(*k.val)
	}
	switch a.KeyAlg {
	case "", "tdes":
		a.KeyAlg = "tdes"
		out.alg, out.algID = algTDES, 0x01
	case "sm4":
		out.alg, out.algID = algSM4, 0x04
	default:
		return nil, fieldErr(f("key_alg"), "%q is not one of tdes, sm4", clip(a.KeyAlg))
	}

	switch a.GenACFormat {
	case 0:
		a.GenACFormat = 1
	case 1, 2:
	default:
		return nil, fieldErr(f("genac_format"), "%d is not 1 (tag 80) or 2 (tag 77)", a.GenACFormat)
	}
	out.format = a.GenACFormat

	if err := compilePIN(a, f, out); err != nil {
		return nil, err
	}

	extraTags := make([]string, 0, len(a.Extra))
	for k := range a.Extra {
		extraTags = append(extraTags, k)
	}
	sort.Strings(extraTags)
	for _, k := range extraTags {
		name := fmt.Sprintf("%s[%q]", f("extra"), clip(k))
		tag, err := tlv.ParseTag(k)
		if err != nil {
			return nil, &ProfileError{Field: name, Msg: "invalid tag", Err: err}
		}
		val, err := hexField(name, a.Extra[k], 0, 252)
		if err != nil {
			return nil, err
		}
		out.extra = append(out.extra, tlv.TLV{Tag: tag, Value: val})
	}

	if err := compileQPBOC(a, f, out); err != nil {
		return nil, err
	}

	out.prof = a
	if err := out.build(); err != nil {
		return nil, fieldErr(path, "%s", err)
	}
	return out, nil
}

// compileCVMList fills the CVM list's default and checks it: the hex of
// 8E, or "none" for a card without one.
func compileCVMList(a *Application, f func(string) string, out *app) error {
	if a.CVMList == "" {
		a.CVMList = DefaultCVMList
		if a.EC != nil && a.EC.Enabled {
			a.CVMList = ECCVMList(a.EC.SingleLimit)
		}
	}
	if strings.EqualFold(a.CVMList, "none") {
		a.CVMList, out.cvmList = "none", nil
		return nil
	}
	var err error
	if out.cvmList, err = hexField(f("cvm_list"), a.CVMList, 8, 8+2*32); err != nil {
		return err
	}
	if len(out.cvmList)%2 != 0 {
		return fieldErr(f("cvm_list"), "amount X, amount Y and 2-byte rules: length %d is odd", len(out.cvmList))
	}
	a.CVMList = strings.ToUpper(a.CVMList)
	return nil
}

// ECCVMList is the CVM list of an EC card whose single-transaction limit
// (9F78) is singleLimit (decimal yuan): no CVM required when the amount is
// in the application currency and under X, X one fen above the single
// limit, so every sale the EC path can take needs no PIN and no
// signature; above it, or in another currency, online PIN if the terminal
// supports it, else signature, else no CVM (DefaultCVMList's rules). An
// unparsable limit gives DefaultCVMList.
func ECCVMList(singleLimit string) string {
	v, err := bcd.ParseAmount(singleLimit)
	if err != nil || v >= 0xFFFFFFFF {
		return DefaultCVMList
	}
	return fmt.Sprintf("%08X000000001F06%s", v+1, DefaultCVMList[16:])
}

// compilePIN fills the PIN's defaults and checks it.
func compilePIN(a *Application, f func(string) string, out *app) error {
	if a.PIN == nil {
		a.PIN = &PIN{}
	}
	p := a.PIN
	if p.Value == "" {
		p.Value = DefaultPIN
	}
	if len(p.Value) < 4 || len(p.Value) > 12 || !allDigits(p.Value) {
		return fieldErr(f("pin.value"), "must be 4 to 12 digits")
	}
	if p.TryLimit == 0 {
		p.TryLimit = DefaultPINTries
		if p.Tries != nil && *p.Tries > p.TryLimit {
			p.TryLimit = *p.Tries
		}
	}
	if p.TryLimit < 1 || p.TryLimit > 15 {
		return fieldErr(f("pin.try_limit"), "%d is not in 1..15", p.TryLimit)
	}
	if p.Tries == nil {
		t := p.TryLimit
		p.Tries = &t
	}
	if *p.Tries < 0 || *p.Tries > p.TryLimit {
		return fieldErr(f("pin.tries"), "%d is not in 0..try_limit (%d)", *p.Tries, p.TryLimit)
	}
	out.pinTries, out.pinTryLimit = byte(*p.Tries), byte(p.TryLimit)
	rsaKey := out.odaParams != nil && out.odaParams.alg == oda.RSA && out.oda != odaSDA
	switch p.Encipherment {
	case "":
		p.Encipherment = "none"
		if rsaKey {
			p.Encipherment, out.pinEnc = "icc", pinEncICC
		}
	case "none":
	case "icc", "separate":
		if !rsaKey {
			return fieldErr(f("pin.encipherment"), "%q needs an RSA DDA or CDA card", p.Encipherment)
		}
		out.pinEnc = pinEncICC
		if p.Encipherment == "separate" {
			out.pinEnc = pinEncSeparate
		}
	default:
		return fieldErr(f("pin.encipherment"), "%q is not one of icc, separate, none", clip(p.Encipherment))
	}
	return nil
}

func compileEC(e *EC, path string, out *app) error {
	f := func(name string) string { return path + "." + name }
	if e.IssuerAuthCode == "" {
		e.IssuerAuthCode = DefaultAuthCode
	}
	if len(e.IssuerAuthCode) != 6 || !alnum(e.IssuerAuthCode) {
		return fieldErr(f("issuer_auth_code"), "%q must be 6 ASCII letters or digits", clip(e.IssuerAuthCode))
	}
	if e.ResetThreshold == "" {
		e.ResetThreshold = "0.00"
	}
	amounts := []struct {
		name string
		val  *string
		dst  *uint64
	}{
		{"balance", &e.Balance, &out.balance},
		{"balance_limit", &e.BalanceLimit, &out.limit},
		{"single_limit", &e.SingleLimit, &out.single},
		{"reset_threshold", &e.ResetThreshold, &out.threshold},
	}
	for _, x := range amounts {
		if *x.val == "" {
			if e.Enabled {
				return fieldErr(f(x.name), "required when EC is enabled")
			}
			*x.val = "0.00"
		}
		v, err := bcd.ParseAmount(*x.val)
		if err != nil {
			return &ProfileError{Field: f(x.name), Msg: "invalid amount", Err: err}
		}
		*x.dst = v
		*x.val = bcd.FormatAmount(v)
	}
	if out.balance > out.limit {
		return fieldErr(f("balance"), "%s exceeds balance_limit %s", e.Balance, e.BalanceLimit)
	}
	out.ecEnabled = e.Enabled
	out.authCode = []byte(e.IssuerAuthCode)
	if e.SecondCurrency != nil {
		return compileSecondCurrency(e.SecondCurrency, f("second_currency"), out)
	}
	return nil
}

// compileSecondCurrency checks and compiles the second-currency EC purse.
func compileSecondCurrency(s *SecondCurrencyEC, path string, out *app) error {
	f := func(name string) string { return path + "." + name }
	if s.Currency <= 0 || s.Currency > 999 {
		return fieldErr(f("currency"), "%d is not a 3-digit ISO 4217 code", s.Currency)
	}
	p := &ecPurse{cur: bcdN(uint64(s.Currency), 2)}
	if bytes.Equal(p.cur, out.currency) {
		return fieldErr(f("currency"), "%d is the application currency", s.Currency)
	}
	if s.ResetThreshold == "" {
		s.ResetThreshold = "0.00"
	}
	for _, x := range []struct {
		name string
		val  *string
		dst  *uint64
	}{{"balance", &s.Balance, &p.balance}, {"balance_limit", &s.BalanceLimit, &p.limit},
		{"single_limit", &s.SingleLimit, &p.single}, {"reset_threshold", &s.ResetThreshold, &p.threshold}} {
		v, err := bcd.ParseAmount(*x.val)
		if err != nil {
			return &ProfileError{Field: f(x.name), Msg: "invalid amount", Err: err}
		}
		*x.dst, *x.val = v, bcd.FormatAmount(v)
	}
	if p.balance > p.limit {
		return fieldErr(f("balance"), "%s exceeds balance_limit %s", s.Balance, s.BalanceLimit)
	}
	out.second = p
	return nil
}

func hexField(field, s string, minLen, maxLen int) ([]byte, error) {
	if len(s) > 2*maxLen+2 {
		return nil, fieldErr(field, "longer than %d bytes", maxLen)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, &ProfileError{Field: field, Msg: fmt.Sprintf("%q is not hex", clip(s)), Err: err}
	}
	if len(b) < minLen || len(b) > maxLen {
		if minLen == maxLen {
			return nil, fieldErr(field, "%d bytes, want %d", len(b), minLen)
		}
		return nil, fieldErr(field, "%d bytes, want %d to %d", len(b), minLen, maxLen)
	}
	return b, nil
}

func checkText(field, s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen {
		return fieldErr(field, "%q has %d characters, want %d to %d", clip(s), len(s), minLen, maxLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return fieldErr(field, "character %d is not printable ASCII", i)
		}
	}
	return nil
}

func checkLanguage(s string) error {
	if len(s) < 2 || len(s) > 8 || len(s)%2 != 0 {
		return fmt.Errorf("%q must be 1 to 4 two-letter codes", clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return fmt.Errorf("%q must be lower-case letters", clip(s))
		}
	}
	return nil
}

func checkPAN(s string) error {
	if len(s) < 12 || len(s) > 19 || !allDigits(s) {
		return fmt.Errorf("%q must be 12 to 19 digits", clip(s))
	}
	if !luhnValid(s) {
		return fmt.Errorf("%q fails the Luhn check", s)
	}
	return nil
}

func luhnValid(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func checkDate(s string) error {
	if len(s) != 6 || !allDigits(s) {
		return fmt.Errorf("%q is not YYMMDD", clip(s))
	}
	mm, _ := strconv.Atoi(s[2:4])
	dd, _ := strconv.Atoi(s[4:6])
	if mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return fmt.Errorf("%q is not a valid YYMMDD date", s)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// clip shortens user-supplied text quoted in error messages.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "..."
}

// bcdN encodes v (known to fit) as n bytes of BCD.
func bcdN(v uint64, n int) []byte {
	b, err := bcd.Encode(nil, v, n)
	if err != nil {
		// Callers only pass values they have range-checked.
		return make([]byte, n)
	}
	return b
}
