// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/purse"
)

// The purse's records in pboc journal: a file written by pboc purse
// --journal (purse.Store) holds them beside, or instead of, the clearing
// records of pboc purchase and load; each entry says which it is (its
// "record" member, journal.KindOf).

// purseOperation names a purse record's operation for people: what the
// card did, with the name the station's staff use for it.
func purseOperation(r *purse.Record) string {
	switch r.Kind {
	case purse.KindLoad:
		return "load 圈存"
	case purse.KindUnload:
		return "unload 圈提"
	case purse.KindPurchase:
		return "purchase"
	case purse.KindFuel:
		if r.BillType == purse.BillUnlock {
			return "unlock 补扣" // an escape completed at the card's next presentation
		}
		return "grey lock 灰锁"
	case purse.KindOnlineUnlock:
		return "online unlock 联机解扣"
	case purse.KindForeignTAC:
		return "foreign unlock TAC"
	}
	return string(r.Kind)
}

// listPurseRecord prints one purse record on one line, in the columns of
// the clearing records where they mean the same: the time, the kind, the
// amount and wallet, the card (its ASN masked as a PAN is), then the
// operation, the card's counter (online serial or CTC), the PSAM's TTC,
// the TAC (MAC3 for an unload: its evidence) and the record's state.
func listPurseRecord(w io.Writer, r *purse.Record) {
	ttc, tac := "-", "-"
	if r.TTC != 0 {
		ttc = fmt.Sprint(r.TTC)
	}
	switch {
	case !r.TAC.IsZero():
		tac = "TAC " + r.TAC.String()
	case !r.MAC3.IsZero():
		tac = "MAC3 " + r.MAC3.String()
	}
	state := string(r.State)
	if r.Host != purse.HostNone {
		state += ", host " + string(r.Host)
	}
	fmt.Fprintf(w, "%s  %-15s  %10s %-4s  %-19s  %-16s  serial %5d  TTC %6s  %-13s  %s\n",
		r.Created.Local().Format("2006-01-02 15:04:05"), "purse "+string(r.Kind), r.Amount, r.Wallet,
		r.ASN, purseOperation(r), r.Serial, ttc, tac, state)
}

// purseExport is a purse record as pboc journal export writes it: the
// record as the purse's store keeps it (amounts in yuan, MACs in hex, the
// ASN masked, hashed and sealed), marked "record": "purse", with its
// operation named and the time its MACs cover in RFC 3339.
type purseExport struct {
	Flow journal.RecordKind `json:"record"`
	*purse.Record
	Operation string `json:"operation"`
	// Time is the record's DateTime (the terminal's wall clock, as the
	// card and the PSAM have it) in RFC 3339; empty when not yet set.
	Time string `json:"time,omitempty"`
}

func newPurseExport(r *purse.Record) purseExport {
	x := purseExport{Flow: journal.RecordPurse, Record: r, Operation: purseOperation(r)}
	if t, err := r.Time.Time(time.Local); err == nil && !r.Time.IsZero() {
		x.Time = t.Format(time.RFC3339)
	}
	return x
}

// inTimeOrder calls clearing for every clearing record and pr for every
// purse record, the two merged by time (each in its own order: the order
// written).
func inTimeOrder(recs []journal.Record, precs []purse.Record, clearing func(*journal.Record) error, pr func(*purse.Record) error) error {
	i, k := 0, 0
	for i < len(recs) || k < len(precs) {
		var err error
		if k == len(precs) || (i < len(recs) && !precs[k].Created.Before(recs[i].Time)) {
			err = clearing(&recs[i])
			i++
		} else {
			err = pr(&precs[k])
			k++
		}
		if err != nil {
			return err
		}
	}
	return nil
}
