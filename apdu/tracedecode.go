// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-pboc/pboc/tlv"
)

// TraceDecoder writes the APDUs of a card session for people, in order,
// decoding what the bytes mean with what the card said earlier in the
// session:
//
//   - the data of GET PROCESSING OPTIONS against the card's PDOL (9F38,
//     from the SELECT answer), of the first and second GENERATE AC against
//     CDOL1 and CDOL2 (8C, 8D, from the records) and of INTERNAL
//     AUTHENTICATE against the DDOL (9F49; 9F37 04 when the card has none),
//     each value on its own line under the tag's name;
//   - format-1 answers (tag 80) split into their fields: AIP and AFL after
//     GET PROCESSING OPTIONS; CID, ATC, application cryptogram and issuer
//     application data after GENERATE AC; the signed dynamic data after
//     INTERNAL AUTHENTICATE;
//   - every other response as the TLV tree tlv.Dump writes.
//
// Values are read as tlv.Describe reads them. The PAN and track 2 are
// masked wherever they appear as 5A or 57 (tlv.Dump), and the data of
// VERIFY and PIN CHANGE/UNBLOCK (a PIN block) is never shown. Data that
// does not fit the DOL it should follow is shown as hex, with what is
// wrong: a card's DOL is no reason to trust the card. The zero value is
// ready to use; use one per card session.
type TraceDecoder struct {
	pdol, cdol1, cdol2, ddol tlv.DOL
	haveDDOL                 bool
	genACs                   int  // GENERATE AC commands since the last GPO
	ins                      byte // the last command's instruction
}

// defaultDDOL is the DDOL a terminal uses when the card gives none: the
// unpredictable number (EMV Book 3 §6.5.2).
var defaultDDOL = tlv.DOL{{Tag: 0x9F37, Len: 4}}

// Write writes one exchange to w: the command, its data decoded, then the
// response's status word and data, or err, the transport's error.
func (d *TraceDecoder) Write(w io.Writer, command, response []byte, err error) error {
	var b []byte
	b = d.appendCommand(b, command)
	switch {
	case err != nil:
		b = fmt.Appendf(b, "← error: %v\n", err)
	default:
		b = d.appendResponse(b, response)
	}
	_, werr := w.Write(b)
	return werr
}

// appendCommand writes "→ NAME HEX (what P1 P2 say)" and the decoded data.
func (d *TraceDecoder) appendCommand(b, command []byte) []byte {
	c, err := ParseCommand(command)
	if err != nil {
		d.ins = 0
		return fmt.Appendf(b, "→ %-22s %s (%v)\n", "?", commandHex(command), err)
	}
	d.ins = c.INS
	b = fmt.Appendf(b, "→ %-22s %s", c.Name(), commandHex(command))
	if p := describeParams(c); p != "" {
		b = fmt.Appendf(b, " (%s)", p)
	}
	b = append(b, '\n')
	switch c.INS {
	case 0xA8: // GET PROCESSING OPTIONS: 83 ‖ PDOL data
		d.genACs = 0
		return appendTemplateData(b, c.Data, 0x83, d.pdol, "PDOL")
	case 0xAE: // GENERATE AC: CDOL1 data, then CDOL2 data
		d.genACs++
		if d.genACs == 1 {
			return appendDOLData(b, 1, c.Data, d.cdol1, "CDOL1")
		}
		return appendDOLData(b, 1, c.Data, d.cdol2, "CDOL2")
	case 0x88: // INTERNAL AUTHENTICATE: DDOL data
		ddol := d.ddol
		if !d.haveDDOL {
			ddol = defaultDDOL
		}
		return appendDOLData(b, 1, c.Data, ddol, "DDOL")
	case 0x82: // EXTERNAL AUTHENTICATE: the issuer authentication data
		return appendObject(b, 1, tlv.TLV{Tag: 0x91, Value: c.Data})
	case 0xA4:
		if len(c.Data) > 0 {
			return appendObject(b, 1, tlv.TLV{Tag: 0x84, Value: c.Data})
		}
	}
	return b
}

// describeParams reads P1 P2 where they say something: the cryptogram a
// GENERATE AC asks for, the record READ RECORD reads, the tag GET DATA and
// PUT DATA name.
func describeParams(c Command) string {
	switch c.INS {
	case 0xAE:
		s := [4]string{"AAC", "TC", "ARQC", "RFU"}[c.P1>>6] + " requested"
		if c.P1&0x10 != 0 {
			s += ", CDA signature requested"
		}
		return s
	case 0xB2:
		if c.P2&0x07 == 0x04 {
			return fmt.Sprintf("SFI %d record %d", c.P2>>3, c.P1)
		}
	case 0xCA, 0xDA:
		tag := tlv.Tag(uint32(c.P1)<<8 | uint32(c.P2))
		if c.P1 == 0 {
			tag = tlv.Tag(c.P2)
		}
		if info, ok := tlv.Lookup(tag); ok {
			return fmt.Sprintf("%s %s", tag, info.Name)
		}
		return tag.String()
	}
	return ""
}

// appendResponse writes "← SW" and the data, learning the DOLs it holds.
func (d *TraceDecoder) appendResponse(b, response []byte) []byte {
	r, err := ParseResponse(response)
	if err != nil {
		return fmt.Appendf(b, "← %X (%v)\n", response, err)
	}
	b = fmt.Appendf(b, "← %s\n", r.SW)
	if len(r.Data) == 0 {
		return b
	}
	if len(r.Data) > 1 && r.Data[0] == 0x80 {
		if fields := format1Fields[d.ins]; fields != nil {
			return appendFormat1(b, r.Data, fields)
		}
	}
	d.learn(r.Data)
	var sb strings.Builder
	if err := tlv.Dump(&sb, r.Data); err != nil {
		sb.WriteString(fmt.Sprintf("(%d bytes, not TLV: %v)\n", len(r.Data), err))
	}
	return appendIndented(b, sb.String())
}

// learn keeps the DOLs a response gives for the commands to come.
func (d *TraceDecoder) learn(data []byte) {
	_ = tlv.Walk(data, func(_ int, o tlv.TLV) error {
		dol, err := tlv.ParseDOL(o.Value)
		if err != nil {
			return nil // a malformed DOL: its data is shown as hex later
		}
		switch o.Tag {
		case 0x9F38:
			d.pdol = dol
		case 0x8C:
			d.cdol1 = dol
		case 0x8D:
			d.cdol2 = dol
		case 0x9F49:
			d.ddol, d.haveDDOL = dol, true
		}
		return nil
	})
}

// A format-1 field: its tag and length (0: the rest).
type format1Field struct {
	tag tlv.Tag
	n   int
}

// format1Fields are the fields of a format-1 answer by the command's
// instruction (EMV Book 3 §6.5.5.4, §6.5.8.4, §6.5.9.4).
var format1Fields = map[byte][]format1Field{
	0xA8: {{0x82, 2}, {0x94, 0}},                               // AIP ‖ AFL
	0xAE: {{0x9F27, 1}, {0x9F36, 2}, {0x9F26, 8}, {0x9F10, 0}}, // CID ‖ ATC ‖ AC ‖ IAD
	0x88: {{0x9F4B, 0}},                                        // SDAD
}

// appendFormat1 writes a format-1 answer with its fields split.
func appendFormat1(b, data []byte, fields []format1Field) []byte {
	o, err := tlv.ParseSingle(data)
	if err != nil || len(tlv.Append(nil, o.Tag, o.Value)) != len(data) {
		return fmt.Appendf(b, "    (%d bytes, not one format-1 object)\n", len(data))
	}
	b = appendObject(b, 1, o)
	v := o.Value
	for i, f := range fields {
		n := f.n
		if n == 0 || i == len(fields)-1 && n > len(v) {
			n = len(v)
		}
		if n > len(v) {
			return fmt.Appendf(b, "      (%d bytes left, %s needs %d)\n", len(v), f.tag, n)
		}
		b = appendObject(b, 2, tlv.TLV{Tag: f.tag, Value: v[:n]})
		v = v[n:]
	}
	return b
}

// appendTemplateData writes the template (tag want, 83 for GPO) holding
// DOL data, then the data split by dol.
func appendTemplateData(b, data []byte, want tlv.Tag, dol tlv.DOL, name string) []byte {
	o, err := tlv.ParseSingle(data)
	if err != nil || o.Tag != want || len(tlv.Append(nil, o.Tag, o.Value)) != len(data) {
		return fmt.Appendf(b, "    %X (not a %s template)\n", data, want)
	}
	b = appendObject(b, 1, o)
	return appendDOLData(b, 2, o.Value, dol, name)
}

// appendDOLData writes data split by dol, one line per entry, or the data
// as hex with the reason it cannot be split.
func appendDOLData(b []byte, depth int, data []byte, dol tlv.DOL, name string) []byte {
	if len(data) == 0 {
		return b
	}
	pad := strings.Repeat("  ", depth+1)
	if dol == nil {
		return fmt.Appendf(b, "%s%X (no %s seen in this session)\n", pad, data, name)
	}
	if len(data) != dol.Len() {
		return fmt.Appendf(b, "%s%X (%d bytes; the %s asks for %d)\n", pad, data, len(data), name, dol.Len())
	}
	off := 0
	for _, e := range dol {
		n := max(e.Len, 0)
		b = appendObject(b, depth, tlv.TLV{Tag: e.Tag, Value: data[off : off+n]})
		off += n
	}
	return b
}

// appendObject writes o's line, indented for the trace.
func appendObject(b []byte, depth int, o tlv.TLV) []byte {
	b = append(b, "  "...)
	return tlv.AppendLine(b, depth, o)
}

// appendIndented indents every line of a dump for the trace.
func appendIndented(b []byte, dump string) []byte {
	for line := range strings.SplitSeq(strings.TrimRight(dump, "\n"), "\n") {
		b = append(b, "    "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	return b
}
