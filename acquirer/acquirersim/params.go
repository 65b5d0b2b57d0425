// SPDX-License-Identifier: Apache-2.0

package acquirersim

import (
	"bytes"
	"encoding/hex"
	"strconv"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/params"
	"github.com/go-pboc/pboc/tlv"
)

// The downloads of CA public keys (372 query, 370 download, 371 end) and
// IC parameters (382, 380, 381). A query's field 62 is "1" and the number
// of entries the terminal already has (two digits); the reply's is a
// control byte — '0' nothing, '1' this is the last page, '2' more follow —
// and the entries: for CA keys 9F06 9F22 DF05 each, for IC parameters 9F06.
// A download's field 62 names one record (9F06 and 9F22, or 9F06); the
// reply's is '1' and the record, or '0' when there is none.

func (s *Sim) caKeyQuery(r *request) *answer {
	return s.query(r, s.cfg.CAKeys, []tlv.Tag{0x9F06, 0x9F22, 0xDF05})
}

func (s *Sim) paramQuery(r *request) *answer {
	return s.query(r, s.cfg.ICParams, []tlv.Tag{0x9F06})
}

func (s *Sim) caKeyDownload(r *request) *answer {
	return s.download(r, s.cfg.CAKeys, []tlv.Tag{0x9F06, 0x9F22})
}

func (s *Sim) paramDownload(r *request) *answer {
	return s.download(r, s.cfg.ICParams, []tlv.Tag{0x9F06})
}

// query lists records from the count the terminal has, one page at a time.
func (s *Sim) query(r *request, records [][]byte, tags []tlv.Tag) *answer {
	req := bin(r.msg, f62)
	if len(req) != 3 || req[0] != '1' {
		return reply("30")
	}
	from, err := strconv.Atoi(string(req[1:]))
	if err != nil || from < 0 {
		return reply("30")
	}
	if len(records) == 0 {
		return reply("00", f62, []byte("0"))
	}
	to := min(from+s.cfg.Page, len(records))
	ctrl := byte('1')
	if to < len(records) {
		ctrl = '2'
	}
	out := []byte{ctrl}
	for _, rec := range records[min(from, to):to] {
		for _, tag := range tags {
			out = tlv.Append(out, tag, tlvValue(rec, tag))
		}
	}
	return reply("00", f62, out)
}

// download returns the record whose key tags match the request's.
func (s *Sim) download(r *request, records [][]byte, keys []tlv.Tag) *answer {
	want := bin(r.msg, f62)
	for _, rec := range records {
		match := true
		for _, tag := range keys {
			v := tlvValue(rec, tag)
			match = match && v != nil && bytes.Equal(v, tlvValue(want, tag))
		}
		if match {
			return reply("00", f62, append([]byte{'1'}, rec...))
		}
	}
	return reply("00", f62, []byte("0"))
}

// SampleAIDRecord is an IC parameter record as a UnionPay acquirer sends
// it (ACQUIRER-NOTES §5, from PB PedHelper.addAid): AID A000000333010101
// with its TACs, floor limit, thresholds, default DDOL and EC limits.
const SampleAIDRecord = "9F0608A000000333010101DF0101009F08020020DF1105D84000A800DF1205D84004F800DF130500100000009F1B0400000000DF150400000000DF160199DF170199DF14039F3704DF1801019F7B06000000100000DF1906000000100000DF2006000000100000DF2106000000100000"

// SampleCAKeyRecord is a CA public key record as a UnionPay acquirer sends
// it (ACQUIRER-NOTES §6, from PB PedHelper.addCapk): A000000333 index 01,
// expiry 20091231, RSA, SHA-1; its DF03 is the SHA-1 of RID, index, modulus
// and exponent.
const SampleCAKeyRecord = "9F0605A0000003339F220101DF05083230303931323331DF060101DF070101DF028180BBE9066D2517511D239C7BFA77884144AE20C7372F515147E8CE6537C54C0A6A4D45F8CA4D290870CDA59F1344EF71D17D3F35D92F3F06778D0D511EC2A7DC4FFEADF4FB1253CE37A7B2B5A3741227BEF72524DA7A2B7B1CB426BEE27BC513B0CB11AB99BC1BC61DF5AC6CC4D831D0848788CD74F6D543AD37C5A2B4C5D5A93BDF040103DF0314E881E390675D44C2DD81234DCE29C3F5AB2297A0"

// SampleAIDRecords returns the IC parameter records the simulator serves
// by default: the sample record and the same for the contactless AID
// A000000333010106 (the simulated card's).
func SampleAIDRecords() [][]byte {
	a, _ := hex.DecodeString(SampleAIDRecord)
	b := bytes.Clone(a)
	b[10] = 0x06 // 9F06 08 A0000003330101|01 → 06
	return [][]byte{a, b}
}

// CAKeyRecords encodes the keys of a store as CA public key records
// (params.AppendCAKey: 9F06, 9F22, DF05, DF06, DF07, DF02, DF04, DF03), the
// sample record first. A key the writer refuses is left out.
func CAKeyRecords(s *capk.Store) [][]byte {
	sample, _ := hex.DecodeString(SampleCAKeyRecord)
	out := [][]byte{sample}
	if s == nil {
		return out
	}
	for _, k := range s.Keys() {
		if r, err := params.AppendCAKey(nil, k, params.Format{}); err == nil {
			out = append(out, r)
		}
	}
	return out
}
