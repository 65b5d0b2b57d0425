// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/tlv"
)

// pseName is the Payment System Environment DDF name.
var pseName = []byte("1PAY.SYS.DDF01")

const (
	maxDirectoryRecords = 32 // records read from a PSE directory
	maxSelectNext       = 16 // SELECT NEXT rounds per terminal AID
	maxCandidates       = 32
)

// buildCandidates builds the candidate list: from the PSE directory when the
// card has one that yields matches, else from the terminal's AID list
// (EMV Book 1 §12.3).
func (t *txn) buildCandidates(ctx context.Context) ([]Candidate, error) {
	cands, err := t.candidatesFromPSE(ctx)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		if cands, err = t.candidatesFromList(ctx); err != nil {
			return nil, err
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: the card offers none of the terminal's %d applications", ErrNoApplication, len(t.k.cfg.Applications))
	}
	sortCandidates(cands)
	return cands, nil
}

// candidatesFromPSE reads the PSE directory. A card without a usable PSE
// yields no candidates and no error: the terminal falls back to the list of
// AIDs. Only a blocked card (6A81) ends the transaction.
func (t *txn) candidatesFromPSE(ctx context.Context) ([]Candidate, error) {
	d := &directoryWalk{}
	ok, err := t.readDirectory(ctx, pseName, d, 0)
	if err != nil || !ok {
		return nil, err
	}
	return d.cands, nil
}

// directoryWalk is what reading the PSE and its DDFs has found so far.
type directoryWalk struct {
	cands   []Candidate
	records int // directory records read, across every directory
	ddfs    int // DDFs selected
}

// Bounds of the directory walk: a card cannot make the terminal walk a
// deep or wide tree of DDFs.
const (
	maxDDFDepth = 2 // DDFs below the PSE
	maxDDFs     = 8
)

// readDirectory selects a DDF (the PSE at depth 0), reads its directory
// (the SFI in its FCI, 88) and then, depth-bounded, the DDFs its entries
// name (9D; EMV Book 1 §12.3.2, HXEMV EmvSele.c:559-650). ok is false for a
// directory that cannot be used; the candidates found before it are kept.
func (t *txn) readDirectory(ctx context.Context, name []byte, d *directoryWalk, depth int) (bool, error) {
	r, err := t.exchange(ctx, apdu.Select(name))
	if err != nil {
		return false, err
	}
	if r.SW == apdu.SWFuncNotSupported && depth == 0 {
		return false, fmt.Errorf("%w: card blocked or SELECT not supported", &StatusError{Command: "SELECT", SW: r.SW})
	}
	if r.SW != apdu.SWSuccess {
		return false, nil
	}
	sfiVal, ok, err := tlv.Find(r.Data, 0x88)
	if err != nil || !ok || len(sfiVal) != 1 || sfiVal[0] < 1 || sfiVal[0] > 10 {
		return false, nil
	}
	var ddfs [][]byte
	for rec := 1; d.records < maxDirectoryRecords; rec++ {
		r, err := t.exchange(ctx, apdu.ReadRecord(sfiVal[0], byte(rec)))
		if err != nil {
			return false, err
		}
		if r.SW == apdu.SWRecordNotFound {
			break
		}
		d.records++
		if r.SW != apdu.SWSuccess {
			return false, nil // a broken directory: use the list of AIDs
		}
		more, ok := t.directoryRecord(r.Data, d)
		if !ok {
			return false, nil
		}
		ddfs = append(ddfs, more...)
	}
	for _, ddf := range ddfs {
		if depth >= maxDDFDepth || d.ddfs >= maxDDFs {
			break
		}
		d.ddfs++
		if _, err := t.readDirectory(ctx, ddf, d, depth+1); err != nil {
			return false, err
		}
	}
	return true, nil
}

// directoryRecord adds the ADF entries of one directory record (70[61…])
// to d and returns the DDF names its entries give (9D).
func (t *txn) directoryRecord(b []byte, d *directoryWalk) ([][]byte, bool) {
	rec70, err := tlv.ParseSingle(b)
	if err != nil || rec70.Tag != 0x70 {
		return nil, false
	}
	var buf [8]tlv.TLV // a directory record holds a few entries
	entries, err := tlv.ParseAppend(buf[:0], rec70.Value)
	if err != nil {
		return nil, false
	}
	var ddfs [][]byte
	for _, e := range entries {
		if e.Tag != 0x61 {
			continue
		}
		if name, ok, err := tlv.Find(e.Value, 0x9D); err == nil && ok && len(name) >= 5 && len(name) <= 16 {
			ddfs = append(ddfs, name)
			continue
		}
		c, ok := parseDirectoryEntry(e.Value)
		if !ok {
			continue
		}
		if _, match := t.k.cfg.application(c.AID); match && len(d.cands) < maxCandidates {
			d.cands = append(d.cands, c)
		}
	}
	return ddfs, true
}

func parseDirectoryEntry(b []byte) (Candidate, bool) {
	var buf [8]tlv.TLV // 4F, 50, 9F12, 87 and a few more
	objs, err := tlv.ParseAppend(buf[:0], b)
	if err != nil {
		return Candidate{}, false
	}
	var c Candidate
	for _, o := range objs {
		switch o.Tag {
		case 0x4F:
			c.AID = o.Value
		case 0x50:
			c.Label = printable(o.Value)
		case 0x9F12:
			c.PreferredName = printable(o.Value)
		case 0x87:
			if len(o.Value) == 1 {
				c.Priority = int(o.Value[0] & 0x0F)
				c.ConfirmationRequired = o.Value[0]&0x80 != 0
			}
		}
	}
	if len(c.AID) < 5 || len(c.AID) > 16 {
		return Candidate{}, false
	}
	return c, true
}

// candidatesFromList tries every terminal AID with SELECT (and SELECT NEXT
// where partial matching is allowed).
func (t *txn) candidatesFromList(ctx context.Context) ([]Candidate, error) {
	var cands []Candidate
	for i := range t.k.cfg.Applications {
		a := &t.k.cfg.Applications[i]
		cmd := apdu.Select(a.AID)
		for round := 0; round < maxSelectNext; round++ {
			r, err := t.exchange(ctx, cmd)
			if err != nil {
				return nil, err
			}
			if r.SW == apdu.SWFuncNotSupported {
				return nil, fmt.Errorf("%w: card blocked", &StatusError{Command: "SELECT", SW: r.SW})
			}
			if r.SW != apdu.SWSuccess && r.SW != apdu.SWSelectedFileInvalidated {
				break // not on the card: next terminal AID
			}
			c, ok := parseFCI(r.Data)
			if ok && r.SW == apdu.SWSuccess && len(cands) < maxCandidates {
				if bytes.Equal(c.AID, a.AID) || (a.PartialMatch && bytes.HasPrefix(c.AID, a.AID)) {
					cands = append(cands, c)
				}
			}
			if !a.PartialMatch || !ok || !bytes.HasPrefix(c.AID, a.AID) {
				break
			}
			cmd = apdu.SelectNext(a.AID)
		}
	}
	return cands, nil
}

// parseFCI reads the candidate data from an ADF's FCI (6F template).
func parseFCI(b []byte) (Candidate, bool) {
	fci, err := tlv.ParseSingle(b)
	if err != nil || fci.Tag != 0x6F {
		return Candidate{}, false
	}
	var buf, propBuf [8]tlv.TLV // 84, A5; 50, 87, 9F38, BF0C, ...
	objs, err := tlv.ParseAppend(buf[:0], fci.Value)
	if err != nil {
		return Candidate{}, false
	}
	var c Candidate
	for _, o := range objs {
		switch o.Tag {
		case 0x84:
			c.AID = o.Value
		case 0xA5:
			prop, err := tlv.ParseAppend(propBuf[:0], o.Value)
			if err != nil {
				return Candidate{}, false
			}
			for _, p := range prop {
				switch p.Tag {
				case 0x50:
					c.Label = printable(p.Value)
				case 0x9F12:
					c.PreferredName = printable(p.Value)
				case 0x87:
					if len(p.Value) == 1 {
						c.Priority = int(p.Value[0] & 0x0F)
						c.ConfirmationRequired = p.Value[0]&0x80 != 0
					}
				}
			}
		}
	}
	if len(c.AID) < 5 || len(c.AID) > 16 {
		return Candidate{}, false
	}
	return c, true
}

// sortCandidates orders by priority (1 highest), applications without a
// priority last, keeping the card's order among equals.
func sortCandidates(c []Candidate) {
	rank := func(p int) int {
		if p == 0 {
			return 16
		}
		return p
	}
	slices.SortStableFunc(c, func(a, b Candidate) int { return rank(a.Priority) - rank(b.Priority) })
}

// choose picks one candidate: automatically when there is exactly one that
// needs no confirmation, by the Selector otherwise; without a Selector the
// highest-priority candidate that needs no confirmation.
func (t *txn) choose(ctx context.Context, cands []Candidate) (int, error) {
	if len(cands) == 1 && !cands[0].ConfirmationRequired {
		return 0, nil
	}
	if s := t.k.selector; s != nil {
		i, err := s.Choose(ctx, t.keepCandidates(cands))
		if err != nil {
			if errors.Is(err, ErrCancelled) {
				return 0, err
			}
			return 0, fmt.Errorf("%w: selector: %w", ErrCancelled, err)
		}
		if i < 0 || i >= len(cands) {
			return 0, fmt.Errorf("%w: selector chose %d of %d", ErrCancelled, i, len(cands))
		}
		return i, nil
	}
	for i, c := range cands {
		if !c.ConfirmationRequired {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: every application needs cardholder confirmation and there is no selector", ErrNoApplication)
}

// keepCandidates copies the candidates for a Selector, which may keep
// them (their AIDs would otherwise point into the arena).
func (t *txn) keepCandidates(cands []Candidate) []Candidate {
	out := make([]Candidate, len(cands))
	for i, c := range cands {
		c.AID = t.keep(c.AID)
		out[i] = c
	}
	return out
}

// selectApplication runs application selection to the end: it builds the
// candidate list, chooses, and SELECTs the final application, removing
// candidates that fail (EMV Book 1 §12.4). It leaves the FCI in t.
func (t *txn) selectApplication(ctx context.Context, cands []Candidate) ([]Candidate, error) {
	for len(cands) > 0 {
		i, err := t.choose(ctx, cands)
		if err != nil {
			return cands, err
		}
		c := cands[i]
		cands = append(cands[:i:i], cands[i+1:]...)
		r, err := t.exchange(ctx, apdu.Select(c.AID))
		if err != nil {
			return cands, err
		}
		if r.SW != apdu.SWSuccess {
			continue
		}
		fc, ok := parseFCI(r.Data)
		if !ok || !bytes.Equal(fc.AID, c.AID) {
			continue
		}
		app, ok := t.k.cfg.application(fc.AID)
		if !ok {
			continue
		}
		if err := t.storeFCI(r.Data); err != nil {
			continue
		}
		t.app, t.aid = app, fc.AID
		t.term.set(0x9F09, app.Version[:])
		t.res.AID = t.keep(fc.AID)
		t.res.Label = fc.Label
		if fc.PreferredName != "" && fc.Label == "" {
			t.res.Label = fc.PreferredName
		}
		return cands, nil
	}
	return nil, fmt.Errorf("%w: every candidate failed final selection", ErrNoApplication)
}

// storeFCI keeps the FCI's data objects (PDOL, label, log entry, ...).
func (t *txn) storeFCI(b []byte) error {
	t.data.reset()
	t.fci = b
	return tlv.Walk(b, func(_ int, o tlv.TLV) error {
		if !o.Tag.Constructed() {
			if _, dup := t.data.get(o.Tag); !dup {
				t.data.set(o.Tag, o.Value)
			}
		}
		return nil
	})
}

// printable keeps the printable ASCII of a label, so a hostile label cannot
// inject control characters into a display or a log.
func printable(b []byte) string {
	if !slices.ContainsFunc(b, func(c byte) bool { return c < 0x20 || c >= 0x7F }) {
		return string(b) // the common case: one copy
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			out = append(out, c)
		}
	}
	return string(out)
}
