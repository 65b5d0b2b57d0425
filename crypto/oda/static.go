// SPDX-License-Identifier: Apache-2.0

package oda

// Record is one record read for offline data authentication.
type Record struct {
	// SFI is the short file identifier (1–30) from the AFL.
	SFI byte
	// Data is the whole READ RECORD response data, e.g. 70 L ….
	Data []byte
}

// StaticData builds the static data to be authenticated (EMV Book 3 §10.3)
// from the records flagged in the AFL, in AFL order: for SFI 1–10 the value
// of the record template 70 only; for SFI 11–30 the whole record including
// tag and length. A record that is not exactly one 70 template (or an SFI
// outside 1–30) fails with ErrStaticData. sdaTagList is the value of 9F4A:
// if present it must list only tag 82, and the AIP value (2 bytes) is then
// appended; anything else fails with ErrStaticData.
func StaticData(records []Record, sdaTagList []byte, aip []byte) ([]byte, error) {
	return AppendStaticData(make([]byte, 0, StaticDataCap(records, aip)), records, sdaTagList, aip)
}

// StaticDataCap is the capacity that AppendStaticData needs at most for
// these records: with that much room in dst it does not allocate.
func StaticDataCap(records []Record, aip []byte) int {
	n := len(aip)
	for _, r := range records {
		n += len(r.Data)
	}
	return n
}

// AppendStaticData is StaticData appending to dst (a terminal reuses one
// buffer across transactions). On error it returns nil.
func AppendStaticData(dst []byte, records []Record, sdaTagList []byte, aip []byte) ([]byte, error) {
	out := dst
	for i, r := range records {
		if r.SFI < 1 || r.SFI > 30 {
			return nil, errorf(ErrStaticData, "record %d: SFI %d", i, r.SFI)
		}
		v, ok := recordValue(r.Data)
		if !ok {
			return nil, errorf(ErrStaticData, "record %d (SFI %d) is not a 70 template", i, r.SFI)
		}
		if r.SFI <= 10 {
			out = append(out, v...)
		} else {
			out = append(out, r.Data...)
		}
	}
	if len(sdaTagList) > 0 {
		if len(sdaTagList) != 1 || sdaTagList[0] != 0x82 {
			return nil, errorf(ErrStaticData, "9F4A %X lists tags other than 82", sdaTagList)
		}
		if len(aip) != 2 {
			return nil, errorf(ErrStaticData, "AIP of %d bytes", len(aip))
		}
		out = append(out, aip...)
	}
	return out, nil
}

// recordValue returns the value of a record that is exactly one 70 template
// with a BER length of one to three bytes (70 L, 70 81 L, 70 82 LL).
func recordValue(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != 0x70 {
		return nil, false
	}
	l, off := int(b[1]), 2
	switch {
	case l < 0x80:
	case l == 0x81 && len(b) >= 3:
		l, off = int(b[2]), 3
	case l == 0x82 && len(b) >= 4:
		l, off = int(b[2])<<8|int(b[3]), 4
	default:
		return nil, false
	}
	if len(b)-off != l {
		return nil, false
	}
	return b[off:], true
}
