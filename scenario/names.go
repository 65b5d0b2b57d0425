// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-pboc/pboc/kernel"
)

// tvrBit is one TVR bit with the short name scenario files use.
type tvrBit struct {
	bit  kernel.TVRBit
	name string
}

// tvrBits lists the TVR bits (EMV Book 3 Annex C5) in order with their
// short names. A scenario may also use the kernel's long name (TVR.Names).
var tvrBits = []tvrBit{
	{kernel.TVRODANotPerformed, "ODA not performed"},
	{kernel.TVRSDAFailed, "SDA failed"},
	{kernel.TVRICCDataMissing, "ICC data missing"},
	{kernel.TVRCardOnExceptionFile, "card on exception file"},
	{kernel.TVRDDAFailed, "DDA failed"},
	{kernel.TVRCDAFailed, "CDA failed"},
	{kernel.TVRSDASelected, "SDA selected"},
	{kernel.TVRVersionsDiffer, "versions differ"},
	{kernel.TVRExpiredApplication, "expired application"},
	{kernel.TVRNotYetEffective, "not yet effective"},
	{kernel.TVRServiceNotAllowed, "service not allowed"},
	{kernel.TVRNewCard, "new card"},
	{kernel.TVRCVMFailed, "CVM failed"},
	{kernel.TVRUnrecognisedCVM, "unrecognised CVM"},
	{kernel.TVRPINTryLimitExceeded, "PIN try limit exceeded"},
	{kernel.TVRPINPadNotWorking, "PIN pad not working"},
	{kernel.TVRPINNotEntered, "PIN not entered"},
	{kernel.TVROnlinePINEntered, "online PIN entered"},
	{kernel.TVRFloorLimitExceeded, "floor limit exceeded"},
	{kernel.TVRLCOLExceeded, "LCOL exceeded"},
	{kernel.TVRUCOLExceeded, "UCOL exceeded"},
	{kernel.TVRRandomlySelected, "randomly selected"},
	{kernel.TVRMerchantForcedOnline, "merchant forced online"},
	{kernel.TVRDefaultTDOLUsed, "default TDOL used"},
	{kernel.TVRIssuerAuthFailed, "issuer authentication failed"},
	{kernel.TVRScriptFailedBefore, "script failed before final GENERATE AC"},
	{kernel.TVRScriptFailedAfter, "script failed after final GENERATE AC"},
}

// tsiBit is one bit of the first TSI byte with its short name.
type tsiBit struct {
	mask byte
	name string
}

// tsiBits lists the TSI bits (EMV Book 3 Annex C6) with their short names.
var tsiBits = []tsiBit{
	{kernel.TSIODAPerformed, "ODA performed"},
	{kernel.TSICVMPerformed, "CVM performed"},
	{kernel.TSICardRiskPerformed, "card risk management performed"},
	{kernel.TSIIssuerAuthPerformed, "issuer authentication performed"},
	{kernel.TSITerminalRiskPerformed, "terminal risk management performed"},
	{kernel.TSIScriptPerformed, "script processing performed"},
}

// normName folds a bit name for matching: case, spaces and hyphens do not
// matter ("ODA not performed" = "oda-not-performed").
func normName(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(s)
}

// tvrByName finds a TVR bit by short or long name.
func tvrByName(name string) (tvrBit, bool) {
	n := normName(name)
	for _, b := range tvrBits {
		var one kernel.TVR
		one.Set(b.bit)
		long := one.Names()
		if normName(b.name) == n || (len(long) == 1 && normName(long[0]) == n) {
			return b, true
		}
	}
	return tvrBit{}, false
}

// tsiByName finds a TSI bit by short or long name.
func tsiByName(name string) (tsiBit, bool) {
	n := normName(name)
	for _, b := range tsiBits {
		var one kernel.TSI
		one.Set(b.mask)
		long := one.Names()
		if normName(b.name) == n || (len(long) == 1 && normName(long[0]) == n) {
			return b, true
		}
	}
	return tsiBit{}, false
}

// TVRBits is a set of TVR bits in a scenario's expectations: a JSON array
// of bit names (["ODA not performed", "floor limit exceeded"], short names
// or the kernel's long ones, case-insensitive) or a hex mask of 5 bytes
// ("8000008000").
type TVRBits struct {
	// Mask holds the bits.
	Mask kernel.TVR
}

// UnmarshalJSON accepts an array of names or a hex mask.
func (b *TVRBits) UnmarshalJSON(data []byte) error {
	names, mask, err := bitsJSON(data, len(b.Mask))
	if err != nil {
		return err
	}
	copy(b.Mask[:], mask)
	for _, n := range names {
		bit, ok := tvrByName(n)
		if !ok {
			return fmt.Errorf("unknown TVR bit %q (try one of: %s)", n, strings.Join(tvrNameList(), ", "))
		}
		b.Mask.Set(bit.bit)
	}
	return nil
}

// MarshalJSON writes the bits as an array of short names.
func (b TVRBits) MarshalJSON() ([]byte, error) { return json.Marshal(b.Names()) }

// Names lists the short names of the bits in the set.
func (b TVRBits) Names() []string {
	var out []string
	for _, t := range tvrBits {
		if b.Mask.Has(t.bit) {
			out = append(out, t.name)
		}
	}
	return out
}

func tvrNameList() []string {
	out := make([]string, len(tvrBits))
	for i, t := range tvrBits {
		out[i] = t.name
	}
	return out
}

// TSIBits is a set of TSI bits: a JSON array of names (["ODA performed"])
// or a hex mask of 2 bytes ("8000").
type TSIBits struct {
	// Mask holds the bits.
	Mask kernel.TSI
}

// UnmarshalJSON accepts an array of names or a hex mask.
func (b *TSIBits) UnmarshalJSON(data []byte) error {
	names, mask, err := bitsJSON(data, len(b.Mask))
	if err != nil {
		return err
	}
	copy(b.Mask[:], mask)
	for _, n := range names {
		bit, ok := tsiByName(n)
		if !ok {
			var all []string
			for _, t := range tsiBits {
				all = append(all, t.name)
			}
			return fmt.Errorf("unknown TSI bit %q (try one of: %s)", n, strings.Join(all, ", "))
		}
		b.Mask.Set(bit.mask)
	}
	return nil
}

// MarshalJSON writes the bits as an array of short names.
func (b TSIBits) MarshalJSON() ([]byte, error) { return json.Marshal(b.Names()) }

// Names lists the short names of the bits in the set.
func (b TSIBits) Names() []string {
	var out []string
	for _, t := range tsiBits {
		if b.Mask.Has(t.mask) {
			out = append(out, t.name)
		}
	}
	return out
}

// bitsJSON decodes an array of names or a hex mask of n bytes.
func bitsJSON(data []byte, n int) (names []string, mask []byte, err error) {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		m, err := hex.DecodeString(s)
		if err != nil || len(m) != n {
			return nil, nil, fmt.Errorf("bit mask %q: want %d bytes of hex", s, n)
		}
		return nil, m, nil
	}
	if err := json.Unmarshal(data, &names); err != nil {
		return nil, nil, fmt.Errorf("want an array of bit names or a hex mask: %w", err)
	}
	return names, nil, nil
}
