// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"time"

	"github.com/go-pboc/pboc/tlv"
)

// bcdByte returns the value of a BCD byte, or -1 if a nibble is not a digit.
func bcdByte(b byte) int {
	hi, lo := b>>4, b&0x0F
	if hi > 9 || lo > 9 {
		return -1
	}
	return int(hi)*10 + int(lo)
}

// checkExpiry checks an MMYY BCD expiration date against now: the
// certificate is valid up to the last day of that month, in now's location.
// YY below 50 means 20YY, otherwise 19YY (EMV convention). A zero now means
// time.Now().
func checkExpiry(expiry [2]byte, now time.Time) error {
	mm, yy := bcdByte(expiry[0]), bcdByte(expiry[1])
	if mm < 1 || mm > 12 || yy < 0 {
		return errorf(ErrFormat, "expiration date %X is not MMYY", expiry[:])
	}
	year := 2000 + yy
	if yy >= 50 {
		year = 1900 + yy
	}
	if now.IsZero() {
		now = time.Now()
	}
	ny, nm := now.Year(), int(now.Month())
	if ny > year || (ny == year && nm > mm) {
		return errorf(ErrExpired, "expired end of %02d/%04d", mm, year)
	}
	return nil
}

// digits extracts the decimal digits of a compressed numeric (cn) value:
// digits followed only by F padding. ok is false for any other nibble.
func digits(b []byte) (d []byte, ok bool) {
	d = make([]byte, 0, 2*len(b))
	pad := false
	for _, x := range b {
		for _, n := range [2]byte{x >> 4, x & 0x0F} {
			switch {
			case n == 0x0F:
				pad = true
			case n <= 9 && !pad:
				d = append(d, n)
			default:
				return nil, false
			}
		}
	}
	return d, true
}

// checkIssuerID checks that the issuer identifier (leftmost 3–8 PAN digits,
// F-padded, 4 bytes) matches the application PAN.
func checkIssuerID(id, pan []byte) error {
	idd, ok := digits(id)
	if !ok || len(id) != 4 || len(idd) < 3 {
		return errorf(ErrIssuerID, "issuer identifier %X is not 3–8 digits padded with F", id)
	}
	pd, ok := digits(pan)
	if !ok || len(pan) > 10 || len(pd) < len(idd) {
		return errorf(ErrIssuerID, "application PAN is missing or malformed")
	}
	if !equal(idd, pd[:len(idd)]) {
		return errorf(ErrIssuerID, "issuer identifier %X does not match the PAN", id)
	}
	return nil
}

// checkPAN checks that the F-padded 10-byte certificate PAN equals the
// application PAN (tag 5A, up to 10 bytes, F-padded).
func checkPAN(certPAN, pan []byte) error {
	cd, ok1 := digits(certPAN)
	pd, ok2 := digits(pan)
	if !ok1 || !ok2 || len(pan) > 10 || len(pd) == 0 || !equal(cd, pd) {
		// Never the PANs themselves: this text reaches logs and results.
		return errorf(ErrPAN, "certificate PAN %s, application PAN %s", maskedDigits(certPAN), maskedDigits(pan))
	}
	return nil
}

// maskedDigits shows a BCD account number (F-padded) as its first 6 and
// last 4 digits, the rest '*' (the PAN leading digits of an issuer
// certificate, 4 to 8 digits, show none of the middle either).
func maskedDigits(b []byte) string {
	d := make([]byte, 0, 2*len(b))
	for _, c := range b {
		for _, n := range [2]byte{c >> 4, c & 0x0F} {
			switch {
			case n <= 9:
				d = append(d, '0'+n)
			case n != 0x0F:
				d = append(d, '?')
			}
		}
	}
	return tlv.MaskPAN(string(d))
}
