// SPDX-License-Identifier: Apache-2.0

package params

import (
	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// KindAID names AID parameter records in errors.
const KindAID = "AID"

// maxDOL bounds a DOL in a record (DF14, 97).
const maxDOL = 252

// aidLengths are the tags of an AID parameter record and the lengths
// their values may have.
var aidLengths = map[tlv.Tag]length{
	0x9F06: {5, 16}, 0xDF01: {1, 1}, 0x9F08: {2, 2}, 0x9F09: {2, 2},
	0xDF11: {5, 5}, 0xDF12: {5, 5}, 0xDF13: {5, 5},
	0x9F1B: {4, 4}, 0xDF15: {4, 4}, 0xDF16: {1, 1}, 0xDF17: {1, 1},
	0xDF14: {1, maxDOL}, 0xDF18: {1, 1},
	0x9F7B: {6, 6}, 0xDF19: {6, 6}, 0xDF20: {6, 6}, 0xDF21: {6, 6},
	0x9F66: {4, 4}, 0x97: {1, maxDOL},
}

// ParseAID reads one AID parameter record (the package documentation
// lists its tags) into a kernel.Application. Errors are *RecordError
// values naming the tag.
func ParseAID(rec []byte, f Format) (kernel.Application, error) {
	a, err := parseAID(rec, &f, 0)
	return a, numbered(err, KindAID, 0)
}

func parseAID(rec []byte, f *Format, number int) (kernel.Application, error) {
	v, err := fields(rec, aidLengths, f, KindAID, number)
	if err != nil {
		return kernel.Application{}, err
	}
	if err := require(v, 0x9F06, 0xDF01, 0xDF11, 0xDF12, 0xDF13); err != nil {
		return kernel.Application{}, err
	}
	// Without DF18 the application takes an online PIN when the terminal
	// does (9F33 says whether it has a PIN pad at all): DF18 = 00 is a
	// restriction the acquirer states, not a default.
	a := kernel.Application{AID: clone(v[0x9F06]), OnlinePIN: true}
	if a.PartialMatch, err = f.ASI.partial(v[0xDF01][0]); err != nil {
		return a, tagErr(0xDF01, ErrFormat, "%w", err)
	}
	if err := readVersion(v, &a); err != nil {
		return a, err
	}
	copy(a.TACDefault[:], v[0xDF11])
	copy(a.TACOnline[:], v[0xDF12])
	copy(a.TACDenial[:], v[0xDF13])
	a.FloorLimit, a.RandomThreshold = kernel.Amount(binary4(v, 0x9F1B)), kernel.Amount(binary4(v, 0xDF15))
	if err := readRandomSelection(v, &a); err != nil {
		return a, err
	}
	if err := readDOLs(v, &a); err != nil {
		return a, err
	}
	if pin, ok := v[0xDF18]; ok {
		if pin[0] > 1 {
			return a, tagErr(0xDF18, ErrFormat, "%02X, want 00 or 01", pin[0])
		}
		a.OnlinePIN = pin[0] == 1
	}
	if ttq, ok := v[0x9F66]; ok {
		copy(a.TTQ[:], ttq)
	}
	return a, readLimits(v, &a)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// readVersion reads 9F08 or 9F09; both present must agree.
func readVersion(v map[tlv.Tag][]byte, a *kernel.Application) error {
	v8, has8 := v[0x9F08]
	v9, has9 := v[0x9F09]
	switch {
	case !has8 && !has9:
		return tagErr(0x9F08, ErrMissing, "absent (nor 9F09)")
	case has8 && has9 && string(v8) != string(v9):
		return tagErr(0x9F09, ErrFormat, "%X differs from 9F08 %X", v9, v8)
	case has8:
		copy(a.Version[:], v8)
	default:
		copy(a.Version[:], v9)
	}
	return nil
}

// readRandomSelection reads DF16 and DF17 (n2 each, target ≤ maximum).
func readRandomSelection(v map[tlv.Tag][]byte, a *kernel.Application) (err error) {
	if a.MaxTargetPercent, err = percent(v, 0xDF16); err != nil {
		return err
	}
	if a.TargetPercent, err = percent(v, 0xDF17); err != nil {
		return err
	}
	if a.TargetPercent > a.MaxTargetPercent {
		return tagErr(0xDF17, ErrFormat, "target percentage %d above the maximum %d (DF16)", a.TargetPercent, a.MaxTargetPercent)
	}
	return nil
}

// readDOLs reads DF14 (default DDOL) and 97 (default TDOL): each must be a DOL.
func readDOLs(v map[tlv.Tag][]byte, a *kernel.Application) error {
	for _, d := range []struct {
		tag tlv.Tag
		dst *[]byte
	}{{0xDF14, &a.DefaultDDOL}, {0x97, &a.TDOL}} {
		b, ok := v[d.tag]
		if !ok {
			continue
		}
		if _, err := tlv.ParseDOL(b); err != nil {
			return tagErr(d.tag, ErrFormat, "not a DOL: %w", err)
		}
		*d.dst = clone(b)
	}
	return nil
}

// readLimits reads the EC and contactless limits (n12), applying a zero
// as the record means it (see the package documentation).
func readLimits(v map[tlv.Tag][]byte, a *kernel.Application) error {
	ec, hasEC, err := n12(v, 0x9F7B)
	if err != nil {
		return err
	}
	a.EC, a.ECTransactionLimit = hasEC, kernel.Amount(ec)
	for _, l := range []struct {
		tag tlv.Tag
		dst *kernel.Amount
	}{{0xDF19, &a.ContactlessFloorLimit}, {0xDF20, &a.ContactlessLimit}, {0xDF21, &a.CVMRequiredLimit}} {
		n, ok, err := n12(v, l.tag)
		if err != nil {
			return err
		}
		switch {
		case !ok:
		case n > 0:
			*l.dst = kernel.Amount(n)
		case l.tag == 0xDF19 && a.FloorLimit > 0:
			// Every tap online, but the kernel reads a zero contactless
			// floor limit as 9F1B: it would approve taps up to 9F1B.
			return tagErr(0xDF19, ErrUnsupported, "0 (every tap online) with a non-zero 9F1B (%s), which the kernel would apply instead", a.FloorLimit)
		case l.tag != 0xDF19:
			// No contactless (DF20) or CVM for every tap (DF21): the
			// kernel's zero is "no limit", its smallest limit is 0.01.
			*l.dst = 1
		}
	}
	return nil
}

// AppendAID appends the AID parameter record of a to dst, in the order of
// the UnionPay samples (9F06 DF01 9F08 DF11 DF12 DF13 9F1B DF15 DF16 DF17
// DF14 DF18 9F7B DF19 DF20 DF21), then 9F66 and 97 when set. A zero limit
// (the kernel's "none") is left out, and so is 9F7B when EC is off.
func AppendAID(dst []byte, a kernel.Application, f Format) ([]byte, error) {
	if err := checkWritable(&a); err != nil {
		return dst, numbered(err, KindAID, 0)
	}
	dst = tlv.Append(dst, 0x9F06, a.AID)
	dst = tlv.Append(dst, 0xDF01, []byte{f.ASI.byteFor(a.PartialMatch)})
	dst = tlv.Append(dst, f.versionTag(), a.Version[:])
	dst = tlv.Append(dst, 0xDF11, a.TACDefault[:])
	dst = tlv.Append(dst, 0xDF12, a.TACOnline[:])
	dst = tlv.Append(dst, 0xDF13, a.TACDenial[:])
	dst = tlv.Append(dst, 0x9F1B, be4(uint64(a.FloorLimit)))
	dst = tlv.Append(dst, 0xDF15, be4(uint64(a.RandomThreshold)))
	dst = tlv.Append(dst, 0xDF16, []byte{bcdByte(a.MaxTargetPercent)})
	dst = tlv.Append(dst, 0xDF17, []byte{bcdByte(a.TargetPercent)})
	if len(a.DefaultDDOL) > 0 {
		dst = tlv.Append(dst, 0xDF14, a.DefaultDDOL)
	}
	dst = tlv.Append(dst, 0xDF18, []byte{boolByte(a.OnlinePIN)})
	if a.EC {
		dst = appendN12(dst, 0x9F7B, a.ECTransactionLimit)
	}
	for _, l := range []struct {
		tag tlv.Tag
		v   kernel.Amount
	}{{0xDF19, a.ContactlessFloorLimit}, {0xDF20, a.ContactlessLimit}, {0xDF21, a.CVMRequiredLimit}} {
		if l.v > 0 {
			dst = appendN12(dst, l.tag, l.v)
		}
	}
	if a.TTQ != [4]byte{} {
		dst = tlv.Append(dst, 0x9F66, a.TTQ[:])
	}
	if len(a.TDOL) > 0 {
		dst = tlv.Append(dst, 0x97, a.TDOL)
	}
	return dst, nil
}

// checkWritable refuses what a record cannot carry, so that what is
// written reads back the same.
func checkWritable(a *kernel.Application) error {
	switch {
	case len(a.AID) < 5 || len(a.AID) > 16:
		return tagErr(0x9F06, ErrInvalid, "AID of %d bytes, want 5-16", len(a.AID))
	case a.FloorLimit > 0xFFFFFFFF || a.RandomThreshold > 0xFFFFFFFF:
		return tagErr(0x9F1B, ErrInvalid, "floor limit %s or threshold %s above b4", a.FloorLimit, a.RandomThreshold)
	case a.TargetPercent < 0 || a.MaxTargetPercent > 99 || a.TargetPercent > a.MaxTargetPercent:
		return tagErr(0xDF17, ErrInvalid, "percentages %d/%d, want 0 ≤ target ≤ max ≤ 99", a.TargetPercent, a.MaxTargetPercent)
	case len(a.DefaultDDOL) > maxDOL || len(a.TDOL) > maxDOL:
		return tagErr(0xDF14, ErrInvalid, "DOL longer than %d bytes", maxDOL)
	}
	for _, l := range []kernel.Amount{a.ECTransactionLimit, a.ContactlessFloorLimit, a.ContactlessLimit, a.CVMRequiredLimit} {
		if l > kernel.MaxAmount {
			return tagErr(0x9F7B, ErrInvalid, "limit %s above n12", l)
		}
	}
	return nil
}

func be4(n uint64) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }

func bcdByte(n int) byte { return byte(n/10<<4 | n%10) }

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// appendN12 appends an n12 amount; checkWritable has checked that it fits.
func appendN12(dst []byte, tag tlv.Tag, a kernel.Amount) []byte {
	v, _ := bcd.Encode(make([]byte, 0, 6), uint64(a), 6)
	return tlv.Append(dst, tag, v)
}
