// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"encoding/json"
	"fmt"
)

// RecordKind says which flow wrote a journal entry: the "record" member of
// its payload. (Kind, by contrast, is what a clearing record is for the
// back office.) One file may hold the entries of both flows — the EMV
// kernel's clearing records and the purse's records — and each reader
// takes its own and leaves the other's as written.
type RecordKind string

// The record kinds this package knows.
const (
	// RecordClearing is a clearing Record or one of its events: a payload
	// without a "record" member (as every clearing entry is written), or
	// with "record": "clearing".
	RecordClearing RecordKind = "clearing"
	// RecordPurse is a record of package purse's Store ("record":
	// "purse"); File keeps it without reading it (Payloads returns it).
	RecordPurse RecordKind = "purse"
)

// KindOf returns the record kind of a payload. A payload without a
// "record" member is a clearing entry, except one with the purse record's
// "asn_hash" and "state" members and no "event" (a purse record written
// before the member existed). A "record" member naming a kind this package
// does not know is an error wrapping ErrNewerFormat (a newer writer's
// record is refused, never dropped); a payload that is not a JSON object
// is one wrapping ErrInvalid.
func KindOf(payload []byte) (RecordKind, error) {
	var head struct {
		Record  *string `json:"record"`
		Event   string  `json:"event"`
		ASNHash string  `json:"asn_hash"`
		State   string  `json:"state"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return "", fmt.Errorf("%w: not a JSON object: %w", ErrInvalid, err)
	}
	if head.Record == nil {
		if head.Event == "" && head.ASNHash != "" && head.State != "" {
			return RecordPurse, nil
		}
		return RecordClearing, nil
	}
	switch k := RecordKind(*head.Record); k {
	case RecordClearing, RecordPurse:
		return k, nil
	default:
		return "", fmt.Errorf("%w: record kind %q (this reader knows %q and %q)", ErrNewerFormat, k, RecordClearing, RecordPurse)
	}
}
