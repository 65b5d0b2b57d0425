// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/go-pboc/pboc/cardsim/psam"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/internal/atomicfile"
)

// purseStateFormat names the format of a pboc purse --state file.
const purseStateFormat = "pboc purse state 1"

// purseState is what pboc purse --state FILE keeps of the simulated PSAM
// and the simulated reserve (备付金) between runs, so that consecutive runs
// go on: the PSAM's TTC (a second purchase does not send the first one's
// TTC again, which an acquirer would refuse as a duplicate), and the
// reserve's accounts, authorisations, escape bills and ledger count
// (hostsim.ReserveState: no card number, no key). A part the run did not
// simulate (--psam-reader, --acquirer, --offline) is kept as it was.
type purseState struct {
	Format  string                `json:"format"`
	PSAM    *psamState            `json:"psam,omitempty"`
	Reserve *hostsim.ReserveState `json:"reserve,omitempty"`
}

// psamState is the simulated PSAM's counter, with its serial so that the
// TTC of one PSAM is never given to another.
type psamState struct {
	Serial string `json:"serial"`
	TTC    uint32 `json:"ttc"`
}

// loadPurseState reads the --state file ("" is none: nil). A missing
// file is a first run. A file that does not read whole — torn by a crash
// before this program wrote it atomically, cut, edited — is bad input: it
// is never taken for a fresh start, which would hand out the TTCs and
// spend the reserve money of the runs it recorded again.
func loadPurseState(path string) (*purseState, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A first run, unless the file could never be written: said now,
		// not when the first TTC reservation fails under the PSAM's SELECT.
		if err := checkStoreFile("--state", path); err != nil {
			return nil, err
		}
		return &purseState{Format: purseStateFormat}, nil
	}
	switch {
	case err != nil:
		return nil, badInput("--state %s: %w", path, pathless(err))
	case len(b) == 0:
		return nil, badInput("--state %s: empty file: a torn or damaged state is not reset; restore it, or remove it to start afresh", path)
	}
	var st purseState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err = dec.Decode(&st); err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("data after the state")
	}
	if err != nil {
		return nil, badInput("--state %s: not a whole state file (%v): a torn or damaged state is not reset; restore it, or remove it to start afresh", path, err)
	}
	if st.Format != purseStateFormat {
		return nil, badInput("--state %s: format %q, want %q", path, st.Format, purseStateFormat)
	}
	return &st, nil
}

// psamProfile applies the state's TTC to the simulated PSAM's profile.
func (st *purseState) psamProfile(p *psam.Profile, path string) error {
	if st == nil || st.PSAM == nil {
		return nil
	}
	if st.PSAM.Serial != p.Serial {
		return badInput("--state %s: the TTC of PSAM %s, not of the simulated PSAM %s", path, st.PSAM.Serial, p.Serial)
	}
	p.TTC = st.PSAM.TTC
	return nil
}

// restoreReserve gives the simulated reserve the state's accounts.
func (st *purseState) restoreReserve(r *hostsim.Reserve, path string) error {
	if st == nil || st.Reserve == nil || r == nil {
		return nil
	}
	if err := r.Restore(*st.Reserve); err != nil {
		return badInput("--state %s: %w", path, err)
	}
	return nil
}

// ttcBlock is how many TTCs of the simulated PSAM one write of --state
// reserves before the PSAM may use them. A run writes its last TTC at the
// end; one that does not get there (killed, or that write failing after
// the card's file was written) leaves the reservation, so that the next
// run skips what is left of the block and never hands out a TTC again:
// the journal's records, and the acquirer, may already hold it.
const ttcBlock = 100

// ttcReserver is the simulated PSAM as the terminal sees it with --state:
// a command reaches the PSAM only once the state file holds a TTC at or
// above any it may use.
type ttcReserver struct {
	sam  *psam.PSAM
	upto uint32 // the TTC the state file holds
	save func(upto uint32) error
}

// Transmit reserves the next block of TTCs when the PSAM has used the
// last one reserved, then passes the command on. A reservation that
// cannot be written fails the command: the PSAM is not asked.
func (r *ttcReserver) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	if ttc := r.sam.TTC(); ttc >= r.upto {
		upto := ttc + ttcBlock
		if err := r.save(upto); err != nil {
			return nil, fmt.Errorf("reserve the PSAM's TTCs: %w", err)
		}
		r.upto = upto
	}
	return r.sam.Transmit(ctx, command)
}

// reserveTTC writes --state as it was read, but for the simulated PSAM's
// TTC: upto.
func (pf *purseFlags) reserveTTC(upto uint32) error {
	st := *pf.st
	st.PSAM = &psamState{Serial: pf.simSAM.Snapshot().Serial, TTC: upto}
	return st.save(pf.state)
}

// save writes the state atomically: a temporary file in the same
// directory, fsync'd, renamed over path, and the directory fsync'd. A
// crash leaves the old state or the new one, never a mix.
func (st *purseState) save(path string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("--state %s: %w", path, err)
	}
	return nil
}
