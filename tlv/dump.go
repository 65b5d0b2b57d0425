package tlv

import (
	"io"
	"strings"
)

// MaskPAN masks a primary account number given as a digit string.
// With 11 digits or more it keeps the first 6 and the last 4 and replaces
// every digit between with '*' ("6234561234567890" → "623456******7890").
// With 5 to 10 digits it keeps only the last 4; with 4 digits or fewer it
// masks them all. Characters are not checked to be digits.
func MaskPAN(digits string) string {
	n := len(digits)
	keepHead, keepTail := 0, 0
	switch {
	case n >= 11:
		keepHead, keepTail = 6, 4
	case n >= 5:
		keepTail = 4
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.WriteString(digits[:keepHead])
	for i := keepHead; i < n-keepTail; i++ {
		sb.WriteByte('*')
	}
	sb.WriteString(digits[n-keepTail:])
	return sb.String()
}

const hexDigits = "0123456789ABCDEF"

func appendHex(dst, v []byte) []byte {
	for _, c := range v {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0x0F])
	}
	return dst
}

// bcdDigits returns the hexadecimal nibbles of v with trailing F nibbles
// (compressed numeric padding) removed.
func bcdDigits(v []byte) string {
	s := string(appendHex(make([]byte, 0, 2*len(v)), v))
	return strings.TrimRight(s, "F")
}

// maskTrack2 masks track 2 equivalent data given as nibbles: the PAN before
// the D separator by MaskPAN, the expiry date and service code (7 digits)
// kept, and the discretionary data after them replaced by '*'. Without a
// separator the whole string is masked as a PAN.
func maskTrack2(s string) string {
	pan, rest, ok := strings.Cut(s, "D")
	if !ok {
		return MaskPAN(s)
	}
	keep := min(7, len(rest))
	return MaskPAN(pan) + "D" + rest[:keep] + strings.Repeat("*", len(rest)-keep)
}

// Dump writes an indented tree of the objects in b to w, one object a line:
// two spaces of indentation per nesting level, the tag, the dictionary name
// (or "?") and, for a primitive object, the value. Text formats (a, an, ans)
// are shown as quoted ASCII with non-printable bytes as '.', other formats in
// hexadecimal. The PAN (5A) and track 2 equivalent data (57) are masked (see
// MaskPAN; in track 2 the discretionary data after the expiry date and service
// code is masked as well). Constructed objects are followed by their children.
//
// On malformed input Dump writes the objects before the fault and returns the
// decoding error; it also returns the first error from w.
func Dump(w io.Writer, b []byte) error {
	line := make([]byte, 0, 128)
	return Walk(b, func(depth int, o TLV) error {
		line = line[:0]
		for range depth {
			line = append(line, ' ', ' ')
		}
		var tb [4]byte
		line = appendHex(line, AppendTag(tb[:0], o.Tag))
		info, known := Lookup(o.Tag)
		line = append(line, ' ')
		if known {
			line = append(line, info.Name...)
		} else {
			line = append(line, '?')
		}
		if !o.Tag.Constructed() {
			line = append(line, ": "...)
			line = appendDumpValue(line, o, info.Format)
		}
		line = append(line, '\n')
		_, err := w.Write(line)
		return err
	})
}

func appendDumpValue(dst []byte, o TLV, f Format) []byte {
	switch {
	case len(o.Value) == 0:
		return append(dst, "(empty)"...)
	case o.Tag == 0x5A:
		return append(dst, MaskPAN(bcdDigits(o.Value))...)
	case o.Tag == 0x57:
		return append(dst, maskTrack2(bcdDigits(o.Value))...)
	case f.text():
		dst = append(dst, '"')
		for _, c := range o.Value {
			if c < 0x20 || c > 0x7E || c == '"' {
				c = '.'
			}
			dst = append(dst, c)
		}
		return append(dst, '"')
	}
	return appendHex(dst, o.Value)
}
