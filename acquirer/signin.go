// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"errors"
	"fmt"

	"github.com/moov-io/iso8583"

	"github.com/go-pboc/pboc/journal"
)

// SignIn signs the terminal in (0800, 60.3 001 or 004): the acquirer
// answers with new working keys under the TMK, which the security module
// installs only if every check value matches, and with the batch number to
// use (60.2). The sign-in reply carries no MAC; the keys authenticate
// themselves: without the TMK no one can send keys whose check values
// match. The link signs in by itself before its first request and when a
// reply header asks for it (processing requirement 3).
func (l *Link) SignIn(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.signIn(ctx)
}

func (l *Link) signIn(ctx context.Context) error {
	// Whatever the answer, the keys the acquirer holds for this terminal
	// may have changed: until a sign-in succeeds, none is in force.
	l.signedIn = false
	mode := l.cfg.Variant.Keys
	reply, err := l.manage(ctx, msgSignIn, mode.Code(), fields{fPrivate63: []byte(l.cfg.Operator)})
	if err != nil {
		return err
	}
	w, err := ParseWorkingKeys(mode, bin(reply, fPrivate62))
	if err != nil {
		return err
	}
	if err := l.sec.LoadWorkingKeys(ctx, w); err != nil {
		return fmt.Errorf("acquirer: sign-in: %w", err)
	}
	if f60, err := ParseField60(str(reply, fReserved60)); err == nil && f60.Batch != 0 {
		// The acquirer's batch number is taken only while the terminal's
		// batch is empty (the counter refuses otherwise): a number changed
		// under open transactions would split them between two settlements.
		if err := l.counter.SetBatch(ctx, f60.Batch); err != nil && !errors.Is(err, journal.ErrBatchInUse) {
			return fmt.Errorf("acquirer: sign-in batch %06d: %w", f60.Batch, err)
		}
	}
	l.signedIn = true
	return nil
}

// SignOff signs the terminal off (0820, 60.3 002); the next request signs
// in again.
func (l *Link) SignOff(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.manage(ctx, msgSignOff, "", nil)
	l.signedIn = false
	return err
}

// Echo sends an echo test (0820, 60.3 301).
func (l *Link) Echo(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.manage(ctx, msgEcho, "", nil)
	return err
}

// manage sends a management message without MAC and returns its reply when
// it fits and approves. The caller holds l.mu.
func (l *Link) manage(ctx context.Context, k msgKind, net603 string, extra fields) (*iso8583.Message, error) {
	return l.manageIn(ctx, k, 0, net603, extra)
}

// manageIn is manage with 60.2 the given batch (0: the trace number's).
func (l *Link) manageIn(ctx context.Context, k msgKind, batch uint32, net603 string, extra fields) (*iso8583.Message, error) {
	stan, stanBatch, err := l.number(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	if batch == 0 {
		batch = stanBatch
	}
	msg, err := l.build(k, stan, batch, net603, "", extra)
	if err != nil {
		return nil, err
	}
	reply, err := l.confirmed(ctx, msg, false) // management messages carry no MAC
	if err != nil {
		return nil, err
	}
	if code := str(reply, fResponseCode); code != "00" {
		return nil, &ResponseError{Message: messages[k].name, Code: code}
	}
	return reply, nil
}
