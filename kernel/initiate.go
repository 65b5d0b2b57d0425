// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/tlv"
)

// errGPORefused signals 6985 to GET PROCESSING OPTIONS: the application is
// removed from the candidate list and selection goes on (EMV Book 3 §10.1).
var errGPORefused = errors.New("kernel: GET PROCESSING OPTIONS refused (6985)")

const maxRecords = 64 // records one AFL may name in total

// initiate sends GET PROCESSING OPTIONS with the PDOL data and stores the
// AIP and AFL.
func (t *txn) initiate(ctx context.Context) error {
	var pdolData []byte
	if pdol, ok := t.data.get(0x9F38); ok {
		dol, err := t.parseDOL(pdol)
		if err != nil {
			return fmt.Errorf("%w: PDOL: %w", ErrCardData, err)
		}
		if dol.Len() > 252 {
			return fmt.Errorf("%w: PDOL asks for %d bytes", ErrCardData, dol.Len())
		}
		pdolData = t.buildDOL(dol)
	}
	t.term.set(0xDF8111, pdolData) // kept for CDA (not sent to the card)
	r, err := t.exchange(ctx, apdu.GetProcessingOptions(pdolData))
	if err != nil {
		return err
	}
	if r.SW == apdu.SWConditionsNotSatisfied {
		return errGPORefused
	}
	if r.SW != apdu.SWSuccess {
		return &StatusError{Command: "GET PROCESSING OPTIONS", SW: r.SW}
	}
	o, err := tlv.ParseSingle(r.Data)
	if err != nil {
		return fmt.Errorf("%w: GPO response: %w", ErrCardData, err)
	}
	var aip, afl []byte
	switch o.Tag {
	case 0x80: // format 1: AIP ‖ AFL
		if len(o.Value) < 2 || (len(o.Value)-2)%4 != 0 {
			return fmt.Errorf("%w: GPO format 1 of %d bytes", ErrCardData, len(o.Value))
		}
		aip, afl = o.Value[:2], o.Value[2:]
	case 0x77: // format 2: constructed
		if err := t.storeTemplate(o.Value); err != nil {
			return err
		}
		aip, afl = t.data.val(0x82), t.data.val(0x94)
		if len(aip) != 2 || len(afl)%4 != 0 {
			return fmt.Errorf("%w: GPO format 2 without a valid AIP/AFL", ErrCardData)
		}
	default:
		return fmt.Errorf("%w: GPO response template %s", ErrCardData, o.Tag)
	}
	t.aip = [2]byte{aip[0], aip[1]}
	t.afl = afl
	t.data.set(0x82, aip)
	t.data.set(0x94, afl)
	return nil
}

// aflEntry is one 4-byte AFL entry.
type aflEntry struct{ sfi, first, last, oda byte }

func parseAFL(afl []byte) ([]aflEntry, error) {
	if len(afl) == 0 || len(afl)%4 != 0 {
		return nil, fmt.Errorf("%w: AFL of %d bytes", ErrCardData, len(afl))
	}
	out := make([]aflEntry, 0, len(afl)/4)
	total := 0
	for i := 0; i < len(afl); i += 4 {
		e := aflEntry{afl[i] >> 3, afl[i+1], afl[i+2], afl[i+3]}
		if afl[i]&0x07 != 0 || e.sfi < 1 || e.sfi > 30 || e.first < 1 || e.last < e.first || int(e.oda) > int(e.last-e.first)+1 {
			return nil, fmt.Errorf("%w: AFL entry %X", ErrCardData, afl[i:i+4])
		}
		total += int(e.last-e.first) + 1
		if total > maxRecords {
			return nil, fmt.Errorf("%w: AFL names more than %d records", ErrCardData, maxRecords)
		}
		out = append(out, e)
	}
	return out, nil
}

// readRecords reads every record the AFL names and stores their data.
func (t *txn) readRecords(ctx context.Context) error {
	entries, err := parseAFL(t.afl)
	if err != nil {
		return err
	}
	for _, e := range entries {
		for rec := int(e.first); rec <= int(e.last); rec++ {
			data, err := t.mustOK(ctx, apdu.ReadRecord(e.sfi, byte(rec)))
			if err != nil {
				return err
			}
			o, err := tlv.ParseSingle(data)
			if err != nil {
				return fmt.Errorf("%w: SFI %d record %d: %w", ErrCardData, e.sfi, rec, err)
			}
			if o.Tag != 0x70 {
				if e.sfi <= 10 {
					return fmt.Errorf("%w: SFI %d record %d is not a 70 template", ErrCardData, e.sfi, rec)
				}
			} else if err := t.storeTemplate(o.Value); err != nil {
				return fmt.Errorf("SFI %d record %d: %w", e.sfi, rec, err)
			}
			if rec-int(e.first) < int(e.oda) {
				if t.odaRecords == nil {
					t.odaRecords = make([]oda.Record, 0, odaRecordsFor(entries))
				}
				t.odaRecords = append(t.odaRecords, oda.Record{SFI: e.sfi, Data: data})
			}
		}
	}
	return nil
}

// odaRecordsFor is the number of records the AFL flags for ODA.
func odaRecordsFor(entries []aflEntry) int {
	n := 0
	for _, e := range entries {
		n += int(e.oda)
	}
	return n
}

// storeTemplate keeps the primitive objects of a record or response
// template. A primitive object that appears twice is an error (EMV Book 3
// §7.5: redundant data).
func (t *txn) storeTemplate(b []byte) error {
	objs, err := t.parseTemplate(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCardData, err)
	}
	for _, o := range objs {
		if o.Tag.Constructed() {
			continue
		}
		if _, dup := t.data.get(o.Tag); dup && !fciTag(o.Tag) {
			return fmt.Errorf("%w: tag %s appears twice", ErrCardData, o.Tag)
		}
		t.data.set(o.Tag, o.Value)
	}
	return nil
}

// fciTag reports tags that the FCI holds and a record may legitimately repeat.
func fciTag(tag tlv.Tag) bool {
	switch tag {
	case 0x50, 0x87, 0x9F12, 0x5F2D, 0x9F11:
		return true
	}
	return false
}
