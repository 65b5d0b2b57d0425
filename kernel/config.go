// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/go-pboc/pboc/capk"
)

// Config is the terminal configuration. The zero value is not usable; start
// from [DefaultConfig] and change what differs.
type Config struct {
	// TerminalType is tag 9F35 (e.g. 0x22: attended, offline with online capability).
	TerminalType byte
	// Capabilities is tag 9F33 (card input, CVM and security capabilities).
	// New sets byte 2's offline PIN bits (plaintext 80, enciphered 10) and
	// PBOC's cardholder ID bit (01) from what it is given
	// (WithOfflinePINPad, WithCardholderIDVerifier), whatever they say here.
	Capabilities [3]byte
	// AdditionalCapabilities is tag 9F40.
	AdditionalCapabilities [5]byte
	// CountryCode is the terminal country code (9F1A), ISO 3166 numeric (156 China).
	CountryCode uint16
	// CurrencyCode is the transaction currency code (5F2A), ISO 4217 numeric (156 CNY).
	CurrencyCode uint16
	// MerchantName is tag 9F4E, merchant name and location, which the card
	// keeps in its transaction log: at most 20 bytes (a longer name is a
	// configuration error, never cut) and no control characters. The bytes
	// are sent as given. Write the name in UTF-8 (six Chinese characters
	// fit) — LogEntry.Merchant reads UTF-8 back — or, for cards whose logs
	// GBK terminals print (what PBOC terminals commonly write in 9F4E), put
	// the GBK bytes of the name in the string: the kernel converts nothing,
	// the standard library having no GBK table. A card whose DOL asks for
	// fewer bytes gets the first ones (EMV fits an ans value on the right),
	// which may end inside a character.
	MerchantName string
	// TerminalID is tag 9F1C: exactly 8 printable ASCII characters.
	TerminalID string
	// MerchantID is tag 9F16: exactly 15 printable ASCII characters.
	MerchantID string
	// Location is the terminal's time zone; nil means time.Local. The date
	// and time the terminal sends (9A, 9F21) are its wall clock there, and
	// the card's transaction log entries, which hold those, are read back
	// in it (LogEntry.Time).
	Location *time.Location
	// OnlineCapable reports whether the terminal can go online at all. An
	// offline-only terminal approves an EC sale below the reset threshold
	// offline instead of asking for an automatic top-up.
	OnlineCapable bool
	// SM reports that the terminal supports the SM algorithms (SM2, SM3,
	// SM4; PBOC 3.0): the kernel sends DF69 = 01 to a card whose PDOL asks
	// for it (a PBOC 3.0 SM2 card's PDOL ends DF6001 DF6901), 00 otherwise.
	SM bool
	// Applications is the terminal's list of supported applications (AIDs).
	Applications []Application
	// ExceptionFile lists PANs (digits) that must not be accepted offline.
	ExceptionFile []string
	// IFDSerial is the interface device serial number (9F1E, 8 characters).
	IFDSerial string
	// PANHashKey keys the hash that journal and torn records use to match a
	// card without storing its PAN. Keep it secret and stable across
	// restarts when those records are durable; nil means a random key per
	// Kernel (fine for in-memory records).
	PANHashKey []byte
	// CAPK is the CA public key store for offline data authentication;
	// nil means the built-in keys (capk.Builtin).
	CAPK *capk.Store
	// Now returns the current time; nil means time.Now. Tests pin it.
	Now func() time.Time
	// MaxAPDUs bounds the commands one transaction may send (0: 256). A card
	// whose AFL names thousands of records cannot keep the terminal busy.
	MaxAPDUs int
	// APDUTimeout bounds each command's round trip (0: only the
	// transaction's context applies).
	APDUTimeout time.Duration
	// MaxResponseBytes bounds the bytes one transaction may receive (0: 64 KiB).
	MaxResponseBytes int
	// Trace keeps every command and response of a transaction in
	// Result.Trace, for diagnostics and certification logs. It is off by
	// default: a trace is a few kilobytes per transaction that a busy
	// terminal would otherwise hand to the garbage collector. For a trace
	// of selected transactions only, wrap their transport in apdu.NewTracer.
	Trace bool
}

// Application is one entry of the terminal's AID list with its parameters.
type Application struct {
	// AID is the application identifier (5-16 bytes).
	AID []byte
	// PartialMatch allows card applications whose AID starts with this AID
	// (EMV "partial name selection").
	PartialMatch bool
	// Version is the terminal's application version number (9F09).
	Version [2]byte
	// FloorLimit is the terminal floor limit (9F1B) for this application.
	FloorLimit Amount
	// EC enables electronic cash for this application.
	EC bool
	// ECTransactionLimit is the EC terminal transaction limit (9F7B): the
	// terminal offers EC only for amounts up to it. Zero means the floor
	// limit is used; if both are zero EC is not offered.
	ECTransactionLimit Amount
	// RandomThreshold, TargetPercent and MaxTargetPercent drive random
	// transaction selection (EMV Book 3 §10.6.2) below the floor limit.
	RandomThreshold                 Amount
	TargetPercent, MaxTargetPercent int
	// TACDenial, TACOnline and TACDefault are the terminal action codes.
	TACDenial, TACOnline, TACDefault [5]byte
	// ContactlessLimit is the contactless transaction limit: a tap of this
	// amount or more is sent to another interface. Zero means no limit.
	ContactlessLimit Amount
	// ContactlessFloorLimit is the contactless floor limit: above it the
	// terminal asks the card for an online cryptogram (TTQ byte 2 bit 8).
	// Zero means FloorLimit applies.
	ContactlessFloorLimit Amount
	// CVMRequiredLimit is the contactless CVM required limit: from this
	// amount on the terminal asks for cardholder verification (TTQ byte 2
	// bit 7). Zero means no limit.
	CVMRequiredLimit Amount
	// StatusCheck asks for an online cryptogram when the amount is one
	// currency unit (1.00), the contactless status check.
	StatusCheck bool
	// TTQ is the base value of the terminal transaction qualifiers (9F66)
	// for qPBOC; zero means DefaultTTQ. See PurchaseContactless for the
	// bits the kernel sets per transaction.
	TTQ [4]byte
	// DefaultDDOL is the terminal's default dynamic data authentication
	// data object list, used for DDA when the card has no DDOL (9F49)
	// (EMV Book 2 §6.5.1); the UnionPay AID parameter record's DF14. Nil
	// means none.
	DefaultDDOL []byte
	// TDOL is the terminal's default transaction certificate data object
	// list, used when the card's CDOL asks for the TC hash value (98) and
	// the card has no TDOL (97) (EMV Book 3 §5.4). Nil means none.
	TDOL []byte
	// OnlinePIN reports that the terminal supports online PIN for this
	// application (the AID parameter record's DF18 = 01).
	OnlinePIN bool
}

// DefaultTTQ is the base terminal transaction qualifiers (9F66): qPBOC
// supported (byte 1 bit 6), online PIN (bit 3) and signature (bit 2)
// supported, fDDA version 01 supported (byte 4 bit 8).
var DefaultTTQ = [4]byte{0x26, 0x00, 0x00, 0x80}

// Hex AIDs that the default configuration supports.
const (
	AIDUnionPayDebit  = "A000000333010101"
	AIDUnionPayCredit = "A000000333010102"
	AIDUnionPayQuasi  = "A000000333010103"
	AIDUnionPayEC     = "A000000333010106"
)

// DefaultConfig is a configuration for an attended, online-capable Chinese
// POS terminal with the UnionPay debit, credit, quasi-credit and EC
// applications, EC enabled with a 1000.00 EC terminal transaction limit;
// contactless (qPBOC) taps below 1000.00, offline up to 500.00, with
// cardholder verification from 300.00.
func DefaultConfig() Config {
	apps := make([]Application, 0, 4)
	for _, aid := range []string{AIDUnionPayDebit, AIDUnionPayCredit, AIDUnionPayQuasi, AIDUnionPayEC} {
		b, _ := hex.DecodeString(aid)
		apps = append(apps, Application{
			AID:                b,
			PartialMatch:       true,
			Version:            [2]byte{0x00, 0x30},
			FloorLimit:         0,
			EC:                 true,
			ECTransactionLimit: 100000,
			TACDenial:          [5]byte{0x00, 0x10, 0x00, 0x00, 0x00},
			TACOnline:          [5]byte{0xD8, 0x40, 0x04, 0xF8, 0x00},
			TACDefault:         [5]byte{0xD8, 0x40, 0x00, 0xA8, 0x00},

			ContactlessLimit:      100000,
			ContactlessFloorLimit: 50000,
			CVMRequiredLimit:      30000,
			TTQ:                   DefaultTTQ,

			DefaultDDOL: []byte{0x9F, 0x37, 0x04}, // the unpredictable number (EMV's usual default)
			OnlinePIN:   true,
		})
	}
	return Config{
		TerminalType:           0x22,
		Capabilities:           [3]byte{0xE0, 0x68, 0xC8}, // IC; online PIN, signature, no CVM; SDA, DDA, CDA
		AdditionalCapabilities: [5]byte{0x6F, 0x00, 0xF0, 0xF0, 0x01},
		CountryCode:            156,
		CurrencyCode:           156,
		MerchantName:           "GO-PBOC TEST SHOP",
		TerminalID:             "PBOC0001",
		MerchantID:             "123456789012345",
		OnlineCapable:          true,
		SM:                     true,
		Applications:           apps,
	}
}

// validate checks the configuration and fills defaults.
func (c *Config) validate() error {
	if len(c.Applications) == 0 {
		return fmt.Errorf("%w: no applications", ErrConfig)
	}
	for i, a := range c.Applications {
		if len(a.AID) < 5 || len(a.AID) > 16 {
			return fmt.Errorf("%w: applications[%d].aid: %d bytes, want 5-16", ErrConfig, i, len(a.AID))
		}
		for j := 0; j < i; j++ {
			if bytes.Equal(c.Applications[j].AID, a.AID) {
				return fmt.Errorf("%w: applications[%d].aid: duplicate %X", ErrConfig, i, a.AID)
			}
		}
		if a.TargetPercent < 0 || a.TargetPercent > 99 || a.MaxTargetPercent < a.TargetPercent || a.MaxTargetPercent > 99 {
			return fmt.Errorf("%w: applications[%d]: random selection percentages must be 0-99 with target <= max", ErrConfig, i)
		}
		if a.ECTransactionLimit > MaxAmount || a.FloorLimit > MaxAmount || a.ContactlessLimit > MaxAmount ||
			a.ContactlessFloorLimit > MaxAmount || a.CVMRequiredLimit > MaxAmount {
			return fmt.Errorf("%w: applications[%d]: limit above n12", ErrConfig, i)
		}
	}
	if c.CountryCode > 999 || c.CurrencyCode > 999 {
		return fmt.Errorf("%w: country/currency code must be 3 digits", ErrConfig)
	}
	if err := c.validateTerminalFields(); err != nil {
		return err
	}
	if c.MaxAPDUs < 0 || c.MaxResponseBytes < 0 || c.APDUTimeout < 0 {
		return fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if c.MaxAPDUs == 0 {
		c.MaxAPDUs = 256
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = 64 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	// The terminal's dates and times are its wall clock in Location.
	now, loc := c.Now, c.Location
	c.Now = func() time.Time { return now().In(loc) }
	return nil
}

// Lengths of the terminal fields (EMV Book 3 Annex A; PBOC).
const (
	maxMerchantNameLen = 20 // 9F4E, as the card's log format holds it
	terminalIDLen      = 8  // 9F1C, an 8
	merchantIDLen      = 15 // 9F16, ans 15
)

// validateTerminalFields checks 9F4E, 9F1C and 9F16, naming the field.
func (c *Config) validateTerminalFields() error {
	if n := len(c.MerchantName); n > maxMerchantNameLen {
		return fmt.Errorf("%w: MerchantName (9F4E): %d bytes, at most %d", ErrConfig, n, maxMerchantNameLen)
	}
	if i := strings.IndexFunc(c.MerchantName, func(r rune) bool { return r < 0x20 || r == 0x7F }); i >= 0 {
		return fmt.Errorf("%w: MerchantName (9F4E): control character %02X at byte %d", ErrConfig, c.MerchantName[i], i)
	}
	for _, f := range []struct {
		name, value string
		n           int
	}{{"TerminalID (9F1C)", c.TerminalID, terminalIDLen}, {"MerchantID (9F16)", c.MerchantID, merchantIDLen}} {
		if len(f.value) != f.n {
			return fmt.Errorf("%w: %s: %q is %d characters, want %d", ErrConfig, f.name, f.value, len(f.value), f.n)
		}
		if i := strings.IndexFunc(f.value, func(r rune) bool { return r < 0x20 || r > 0x7E }); i >= 0 {
			return fmt.Errorf("%w: %s: %q: byte %d is not printable ASCII", ErrConfig, f.name, f.value, i)
		}
	}
	return nil
}

// application returns the terminal application that matches a card AID:
// exactly, or by prefix where partial matching is allowed.
func (c *Config) application(cardAID []byte) (*Application, bool) {
	for i := range c.Applications {
		a := &c.Applications[i]
		if bytes.Equal(a.AID, cardAID) || (a.PartialMatch && len(cardAID) > len(a.AID) && bytes.HasPrefix(cardAID, a.AID)) {
			return a, true
		}
	}
	return nil, false
}

// ECLimit is the EC terminal transaction limit that applies to a card
// application (9F7B, or the floor limit where 9F7B is not set), and
// whether EC is enabled for it at all.
func (c *Config) ECLimit(cardAID []byte) (Amount, bool) {
	a, ok := c.application(cardAID)
	if !ok || !a.EC {
		return 0, false
	}
	limit := a.ECTransactionLimit
	if limit == 0 {
		limit = a.FloorLimit
	}
	return limit, limit > 0
}
