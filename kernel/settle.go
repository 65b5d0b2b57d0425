// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/go-pboc/pboc/journal"
)

// Settling a torn sale from the card's transaction log. The log is the
// card's unauthenticated word: it may settle the terminal's own records,
// never approve, never refund.
//
//   - Happened: an entry with the record's amount, date and (when the log
//     keeps it) time, whose ATC no other record already stands for. The
//     sale is journaled as a discrepancy (the card paid; the terminal has
//     no cryptogram to clear), with the card's ATC and time.
//   - Absent: no such entry, and the log covers the record's time — it is
//     not full (nothing rolled over), or its oldest entry is older — and
//     offline data authentication passed in this presentation (a card that
//     is not the one its certificates name cannot make the terminal forget
//     money). The record is forgotten: nothing was charged.
//   - Anything else (no ATC in the log, an entry that may be this sale but
//     stands for another record, a log that rolled over, a card that logs
//     no time and sold the same amount that day) keeps the record.

// logVerdict is what the card's log says about one torn sale.
type logVerdict int

const (
	logUnknown logVerdict = iota
	logHappened
	logAbsent
)

// matchLog finds the entry of log (newest first) that is the torn sale p,
// skipping the entries marked used. capacity is the number of records the
// card keeps (9F4D byte 2).
func matchLog(p TornRecord, log []LogEntry, used []bool, capacity int) (int, logVerdict) {
	hasTime := logHas(log, "9F21")
	seen := false
	for i, e := range log {
		if e.Amount != p.Amount || !bytes.Equal(e.Fields["9A"], p.Date[:]) {
			continue
		}
		if hasTime && !bytes.Equal(e.Fields["9F21"], p.Time[:]) {
			continue
		}
		if _, ok := e.Fields["9F36"]; ok && p.ATC != 0 && e.ATC != p.ATC {
			continue // the torn operation's ATC is known: only that entry is it
		}
		seen = true
		if _, ok := e.Fields["9F36"]; ok && !used[i] {
			return i, logHappened
		}
	}
	if seen || !logCovers(log, p, capacity, hasTime) {
		return -1, logUnknown
	}
	return -1, logAbsent
}

// logHas reports whether the log's entries carry the field.
func logHas(log []LogEntry, tag string) bool {
	for _, e := range log {
		if _, ok := e.Fields[tag]; ok {
			return true
		}
	}
	return false
}

// logCovers reports whether the log would still hold an entry made at p's
// date and time: it is not full, or its oldest entry is older than p (by
// date alone when the log keeps no time).
func logCovers(log []LogEntry, p TornRecord, capacity int, hasTime bool) bool {
	if len(log) < capacity {
		return true
	}
	if len(log) == 0 || !logHas(log, "9A") {
		return false
	}
	oldest := log[len(log)-1]
	d := oldest.Fields["9A"]
	if len(d) != 3 {
		return false
	}
	if !hasTime {
		return dateKey(d) < dateKey(p.Date[:])
	}
	tm := oldest.Fields["9F21"]
	if len(tm) != 3 {
		return false
	}
	return dateKey(d) < dateKey(p.Date[:]) || (dateKey(d) == dateKey(p.Date[:]) && timeKey(tm) < timeKey(p.Time[:]))
}

// timeKey orders HHMMSS BCD times.
func timeKey(b []byte) int {
	return dateKey([]byte{0, b[0], b[1]})*100 + int(b[2]>>4)*10 + int(b[2]&0x0F)
}

// settleSales settles torn sales (and taps) from the card's log. A
// conclusively absent sale is forgotten only when the card authenticated
// itself dynamically and the record names this card (with CDA, once the
// first cryptogram's signature verifies); otherwise only what happened is
// settled. A log the card cannot give keeps every record.
func (t *txn) settleSales(ctx context.Context, sales []TornRecord) error {
	log, err := t.readLog(ctx, 0)
	if err != nil {
		if ctx.Err() != nil || isCardGone(ctx, err) {
			return err
		}
		t.res.Detail = "the card's log cannot be read: its torn sales are kept"
		return nil
	}
	capacity := 0
	if le := t.data.val(0x9F4D); len(le) == 2 {
		capacity = int(le[1])
	}
	used := make([]bool, len(log))
	for _, p := range sales {
		if err := t.settleSale(ctx, p, log, used, capacity); err != nil {
			return err
		}
	}
	return nil
}

// settleSale settles one torn sale from the log (see matchLog).
func (t *txn) settleSale(ctx context.Context, p TornRecord, log []LogEntry, used []bool, capacity int) error {
	for {
		i, v := matchLog(p, log, used, capacity)
		switch {
		case v == logHappened:
			used[i] = true
			s := Settlement{Record: p, Happened: true, ATC: log[i].ATC, Time: log[i].Time,
				Evidence: fmt.Sprintf("the card's log shows it (ATC %d): journaled as a discrepancy, no cryptogram", log[i].ATC)}
			err := t.journalDiscrepancy(ctx, p.Amount, s.ATC, s.Time, "torn sale found in the card's transaction log; the terminal never received its cryptogram")
			if errors.Is(err, journal.ErrConflict) {
				continue // that entry stands for a journaled sale: not this one
			}
			if err != nil {
				return err
			}
			return t.forget(ctx, s)
		case v == logAbsent && p.PANHash != [32]byte{}:
			s := Settlement{Record: p, Evidence: "absent from the card's log, which covers its time"}
			switch {
			case t.cardAuthenticated():
				return t.forget(ctx, s)
			case t.res.ODA == ODACDA && !t.cdaFailed:
				t.forgetDue = append(t.forgetDue, s) // once the cryptogram's signature verifies
			}
			return nil
		default:
			return nil // kept until evidence settles it
		}
	}
}

// forget removes a settled record from the torn log and reports it.
func (t *txn) forget(ctx context.Context, s Settlement) error {
	if err := t.k.torn.Remove(ctx, s.Record); err != nil {
		return fmt.Errorf("kernel: torn log: %w", err)
	}
	s.Record.AID = t.keep(s.Record.AID)
	t.res.Settled = append(t.res.Settled, s)
	return nil
}

// settleAfterFirstAC settles what waited for the first cryptogram of this
// presentation: the torn scripts, and, with CDA, the torn sales the card's
// log shows absent once the signature verified.
func (t *txn) settleAfterFirstAC(ctx context.Context) error {
	due := t.forgetDue
	t.forgetDue = nil
	if t.cardAuthenticated() {
		for _, s := range due {
			if err := t.forget(ctx, s); err != nil {
				return err
			}
		}
	}
	return t.settleScripts(ctx)
}

// settleScripts settles the torn scripts of this card from the first
// cryptogram of this presentation: its IAD carries the EC balance the card
// MACs, and ODA passed (settleTorn collected the records only then). Only
// an unbroken chain is conclusive — the cryptogram's ATC follows the
// script's — so that a card used elsewhere in between, whose balance may
// equal either by chance, leaves the record for the issuer. A script that
// did not take effect is reversed at the host with the evidence, which the
// host must verify; one that did is done (a load is journaled then).
func (t *txn) settleScripts(ctx context.Context) error {
	due := t.scriptsDue
	t.scriptsDue = nil
	if len(due) == 0 {
		return nil
	}
	ev := t.evidence()
	for _, p := range due {
		if ev == nil || ev.ATC != p.ATC+1 || p.ECCurrency != 0 {
			continue // not conclusive (or another wallet's balance): kept for the issuer to reconcile
		}
		var s Settlement
		switch ev.BalanceBefore() {
		case p.Expected:
			s = Settlement{Record: p, Happened: true, Evidence: fmt.Sprintf("the card's MACed balance %s in the cryptogram of ATC %d", ev.BalanceBefore(), ev.ATC)}
			if err := t.journalSettledLoad(ctx, p); err != nil {
				return err
			}
		case p.BalanceBefore:
			rev, ok := t.k.host.(ScriptReverser)
			if !ok || p.Request == nil {
				continue
			}
			req := *p.Request
			req.PAN, _ = panDigits(t.data.val(0x5A))
			req.Evidence = ev
			if err := rev.ReverseScript(ctx, &req); err != nil {
				t.res.Detail += "; the script reversal was refused or failed, kept: " + err.Error()
				continue
			}
			s = Settlement{Record: p, Reversed: true, Evidence: fmt.Sprintf("the card's MACed balance %s in the cryptogram of ATC %d: the script did not take effect", ev.BalanceBefore(), ev.ATC)}
		default:
			continue
		}
		if err := t.forget(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
