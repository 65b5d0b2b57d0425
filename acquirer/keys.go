// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"

	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/kernel"
)

// KeyMode is the working-key layout asked for at sign-in (field 60.3 of
// the 0800) and carried in field 62 of the reply (ACQUIRER-NOTES §4).
type KeyMode int

// The key modes this link speaks. 006 (SM4, one unverified source) is not
// offered.
const (
	// KeysDES is 60.3 "001": single-DES PIK and MAK, 24 bytes:
	// PIK 8 ‖ CV 4 ‖ MAK 8 ‖ CV 4.
	KeysDES KeyMode = iota
	// KeysTDES is 60.3 "004": double-length PIK, single MAK and a
	// double-length track data key, 60 bytes: PIK 16 ‖ CV 4 ‖ MAK 8 ‖
	// 00×8 ‖ CV 4 ‖ TDK 16 ‖ CV 4.
	KeysTDES
	// KeysTDESNoTDK is 60.3 "003": 004 without the track data key, 40
	// bytes: PIK 16 ‖ CV 4 ‖ MAK 8 ‖ 00×8 ‖ CV 4. TW asks for it in
	// triple-DES mode without track encryption; recorded replies of
	// several acquirers carry it (yangyongzhen/Easy8583Ans, yangyongzhen/go8583).
	KeysTDESNoTDK
)

// Code is the field 60.3 network management code of the mode.
func (m KeyMode) Code() string {
	switch m {
	case KeysTDES:
		return "004"
	case KeysTDESNoTDK:
		return "003"
	}
	return "001"
}

// tripleDES reports whether the mode's PIK is double length.
func (m KeyMode) tripleDES() bool { return m == KeysTDES || m == KeysTDESNoTDK }

func (m KeyMode) field62Len() int {
	switch m {
	case KeysTDES:
		return 60
	case KeysTDESNoTDK:
		return 40
	}
	return 24
}

// CheckValueLen is the length of a key check value.
const CheckValueLen = 4

// Key errors; test with errors.Is.
var (
	// ErrKey reports a key of the wrong length or a cipher that refused it.
	ErrKey = errors.New("acquirer: unusable key")
	// ErrCheckValue reports a working key whose check value does not
	// match: the key did not arrive as the acquirer sent it (or the TMKs
	// differ). The keys are not installed.
	ErrCheckValue = errors.New("acquirer: working key check value mismatch")
	// ErrNoKeys reports a MAC or PIN request before a sign-in installed
	// working keys.
	ErrNoKeys = errors.New("acquirer: no working keys (sign in first)")
)

// WorkingKeys are the keys of a sign-in reply, each enciphered under the
// terminal master key (TMK) with triple DES in ECB mode, and the check
// value of each clear key: the first 4 bytes of E(key, 00×8).
type WorkingKeys struct {
	Mode                         KeyMode
	PIK, MAK, TDK                []byte // TDK only with KeysTDES
	PIKCheck, MAKCheck, TDKCheck [CheckValueLen]byte
}

// ParseWorkingKeys reads field 62 of a sign-in reply in the given mode.
// The length must be exactly the mode's; in KeysTDES and KeysTDESNoTDK the
// 8 bytes after the MAK must be zero.
func ParseWorkingKeys(mode KeyMode, f62 []byte) (WorkingKeys, error) {
	if len(f62) != mode.field62Len() {
		return WorkingKeys{}, fmt.Errorf("%w: sign-in field 62 is %d bytes, mode %s needs %d", ErrMessage, len(f62), mode.Code(), mode.field62Len())
	}
	w := WorkingKeys{Mode: mode}
	if mode == KeysDES {
		w.PIK = clone(f62[0:8])
		copy(w.PIKCheck[:], f62[8:12])
		w.MAK = clone(f62[12:20])
		copy(w.MAKCheck[:], f62[20:24])
		return w, nil
	}
	w.PIK = clone(f62[0:16])
	copy(w.PIKCheck[:], f62[16:20])
	w.MAK = clone(f62[20:28])
	for _, c := range f62[28:36] {
		if c != 0 {
			return WorkingKeys{}, fmt.Errorf("%w: sign-in field 62: the MAK filler is not zero", ErrMessage)
		}
	}
	copy(w.MAKCheck[:], f62[36:40])
	if mode == KeysTDES {
		w.TDK = clone(f62[40:56])
		copy(w.TDKCheck[:], f62[56:60])
	}
	return w, nil
}

// Field62 encodes w for a sign-in reply.
func (w WorkingKeys) Field62() []byte {
	out := make([]byte, 0, w.Mode.field62Len())
	out = append(append(out, w.PIK...), w.PIKCheck[:]...)
	out = append(out, w.MAK...)
	if w.Mode.tripleDES() {
		out = append(out, make([]byte, 8)...)
	}
	out = append(out, w.MAKCheck[:]...)
	if w.Mode == KeysTDES {
		out = append(append(out, w.TDK...), w.TDKCheck[:]...)
	}
	return out
}

// CheckValue returns the first 4 bytes of E(key, 00×8): DES for an 8-byte
// key, two-key triple DES for a 16-byte one.
func CheckValue(key []byte) ([CheckValueLen]byte, error) {
	var cv [CheckValueLen]byte
	b, err := tdesCipher(key)
	if err != nil {
		return cv, err
	}
	var e [8]byte
	b.Encrypt(e[:], e[:])
	copy(cv[:], e[:])
	return cv, nil
}

// SealWorkingKeys is the acquirer's side of sign-in: it enciphers clear
// working keys under tmk and computes their check values. pik is 8 bytes
// (KeysDES) or 16 (KeysTDES, KeysTDESNoTDK), mak 8, tdk 16 (KeysTDES
// only; nil otherwise).
func SealWorkingKeys(mode KeyMode, tmk, pik, mak, tdk []byte) (WorkingKeys, error) {
	wantPIK := 8
	if mode.tripleDES() {
		wantPIK = 16
	}
	if wantTDK := mode == KeysTDES; wantTDK && len(tdk) != 16 || !wantTDK && tdk != nil {
		return WorkingKeys{}, fmt.Errorf("%w: TDK of %d bytes for mode %s", ErrKey, len(tdk), mode.Code())
	}
	if len(pik) != wantPIK || len(mak) != 8 {
		return WorkingKeys{}, fmt.Errorf("%w: PIK of %d bytes (%d), MAK of %d (8)", ErrKey, len(pik), wantPIK, len(mak))
	}
	b, err := tdesCipher(tmk)
	if err != nil {
		return WorkingKeys{}, err
	}
	w := WorkingKeys{Mode: mode}
	for _, k := range []struct {
		clear []byte
		enc   *[]byte
		cv    *[CheckValueLen]byte
	}{{pik, &w.PIK, &w.PIKCheck}, {mak, &w.MAK, &w.MAKCheck}, {tdk, &w.TDK, &w.TDKCheck}} {
		if k.clear == nil {
			continue
		}
		if *k.enc, err = ecb(b, k.clear, true); err != nil {
			return WorkingKeys{}, err
		}
		if *k.cv, err = CheckValue(k.clear); err != nil {
			return WorkingKeys{}, err
		}
	}
	return w, nil
}

// SecurityModule is the terminal's PIN pad or secure element (a PED): it
// holds the terminal master key, takes the working keys of a sign-in, and
// computes the MAC of field 64 under the MAK. It enciphers PINs under the
// PIK itself; neither the kernel nor the link ever sees a PIN or a clear
// key. It must be safe for concurrent use.
type SecurityModule interface {
	// LoadWorkingKeys deciphers w under the TMK, verifies every check
	// value (ErrCheckValue otherwise, installing nothing) and installs
	// the keys.
	LoadWorkingKeys(ctx context.Context, w WorkingKeys) error
	// MAC returns CUPMAC of mab under the installed MAK (ErrNoKeys before
	// a sign-in).
	MAC(ctx context.Context, mab []byte) ([MACLen]byte, error)
}

// SoftModule is a SecurityModule in software, for tests, simulations and
// terminals without a PED: the keys live in process memory. It also serves
// as the PIN pad (PINPad), enciphering the ISO 9564 format-0 PIN block
// under the PIK. Create it with NewSoftModule.
type SoftModule struct {
	mu       sync.RWMutex
	tmk      []byte
	pik, mak []byte
	tdk      []byte
}

var _ SecurityModule = (*SoftModule)(nil)

// NewSoftModule returns a module holding tmk (8 or 16 bytes) and no
// working keys.
func NewSoftModule(tmk []byte) (*SoftModule, error) {
	if _, err := tdesCipher(tmk); err != nil {
		return nil, err
	}
	return &SoftModule{tmk: clone(tmk)}, nil
}

// String describes the module without its keys.
func (m *SoftModule) String() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return fmt.Sprintf("software security module, working keys: %t", m.mak != nil)
}

// LoadWorkingKeys implements SecurityModule.
func (m *SoftModule) LoadWorkingKeys(ctx context.Context, w WorkingKeys) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := tdesCipher(m.tmk)
	if err != nil {
		return err
	}
	var clearKeys [3][]byte
	for i, k := range []struct {
		name string
		enc  []byte
		cv   [CheckValueLen]byte
	}{{"PIK", w.PIK, w.PIKCheck}, {"MAK", w.MAK, w.MAKCheck}, {"TDK", w.TDK, w.TDKCheck}} {
		if k.enc == nil && i == 2 {
			continue
		}
		key, err := ecb(b, k.enc, false)
		if err != nil {
			return fmt.Errorf("acquirer: %s: %w", k.name, err)
		}
		cv, err := CheckValue(key)
		if err != nil {
			return fmt.Errorf("acquirer: %s: %w", k.name, err)
		}
		if subtle.ConstantTimeCompare(cv[:], k.cv[:]) != 1 {
			for _, c := range clearKeys {
				clear(c)
			}
			clear(key)
			return fmt.Errorf("%w: %s", ErrCheckValue, k.name)
		}
		clearKeys[i] = key
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.pik)
	clear(m.mak)
	clear(m.tdk)
	m.pik, m.mak, m.tdk = clearKeys[0], clearKeys[1], clearKeys[2]
	return nil
}

// MAC implements SecurityModule.
func (m *SoftModule) MAC(ctx context.Context, mab []byte) ([MACLen]byte, error) {
	if err := ctx.Err(); err != nil {
		return [MACLen]byte{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.mak == nil {
		return [MACLen]byte{}, ErrNoKeys
	}
	return CUPMAC(m.mak, mab)
}

// PINPad returns a kernel.PINPad whose cardholder types pin: it builds the
// format-0 PIN block for the PAN and enciphers it under the PIK installed
// at the time of the call (triple DES; a single-length PIK as K‖K). An
// empty pin is a bypass (kernel.ErrPINBypass).
func (m *SoftModule) PINPad(pin string) kernel.PINPad {
	return kernel.PINPadFunc(func(ctx context.Context, pan string, _ kernel.Amount) ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if pin == "" {
			return nil, kernel.ErrPINBypass
		}
		m.mu.RLock()
		pik := doubleLength(m.pik)
		m.mu.RUnlock()
		if pik == nil {
			return nil, fmt.Errorf("%w: %w", kernel.ErrPINPadUnavailable, ErrNoKeys)
		}
		defer clear(pik)
		block, err := keys.PINBlock(pin, pan)
		if err != nil {
			return nil, fmt.Errorf("acquirer: PIN pad: %w", err)
		}
		defer clear(block)
		return keys.EncryptPINBlock(keys.TDES, pik, block)
	})
}

// doubleLength returns a 16-byte copy of a TDES key (K‖K for 8 bytes), or
// nil for no key.
func doubleLength(k []byte) []byte {
	switch len(k) {
	case 8:
		return append(clone(k), k...)
	case 16:
		return clone(k)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
