// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DataKey is the terminal's data key: it encrypts the full PAN of each
// clearing record (the uploads need field 2) so that the journal never
// holds it in clear. The key stays wherever the vendor keeps it (an HSM, a
// secure element, the PIN pad): the journal only asks it to seal and open.
// NewAESGCMKey is a software implementation.
type DataKey interface {
	// ID names the key; it is stored beside every ciphertext so that the
	// right key (after a rotation) can be found. It must not reveal the key.
	ID() string
	// Seal encrypts plaintext, authenticating aad with it, and returns one
	// self-contained ciphertext (nonce included).
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	// Open decrypts what Seal returned, failing if the ciphertext or aad
	// was changed.
	Open(ctx context.Context, ciphertext, aad []byte) ([]byte, error)
}

// SealedPAN is a PAN encrypted by a DataKey.
type SealedPAN struct {
	// Key is the DataKey's ID.
	Key string `json:"key"`
	// Data is the ciphertext, upper-case hex.
	Data string `json:"data"`
}

// Bounds of a SealedPAN, checked by Validate.
const (
	maxSealed = 256
	maxKeyID  = 64
)

// Errors of SealPAN and OpenPAN.
var (
	// ErrNoPAN: the record holds no encrypted PAN.
	ErrNoPAN = errors.New("journal: record holds no encrypted PAN")
	// ErrWrongKey: the PAN was sealed under another key than the one given.
	ErrWrongKey = errors.New("journal: PAN sealed under another data key")
	// ErrSealedPAN: the sealed PAN does not open, or opens to something
	// that is not this record's PAN.
	ErrSealedPAN = errors.New("journal: sealed PAN does not open to the record's PAN")
)

// panAAD binds a sealed PAN to its record: the ciphertext of one record
// does not open as another's.
func panAAD(id string) []byte { return []byte("pboc journal pan\x00" + id) }

// SealPAN encrypts pan (digits; trailing 'F' padding dropped) under key
// into r.EncryptedPAN, bound to r.ID, which must be set first.
func (r *Record) SealPAN(ctx context.Context, key DataKey, pan string) error {
	if r.ID == "" {
		return fmt.Errorf("%w: seal the PAN after setting the record's ID", ErrInvalid)
	}
	c, err := key.Seal(ctx, []byte(trimPAN(pan)), panAAD(r.ID))
	if err != nil {
		return fmt.Errorf("journal: seal PAN of %s: %w", r.ID, err)
	}
	r.EncryptedPAN = &SealedPAN{Key: key.ID(), Data: strings.ToUpper(hex.EncodeToString(c))}
	return nil
}

// OpenPAN decrypts the record's PAN with key. It fails with ErrWrongKey
// when the PAN was sealed under another key, and with ErrSealedPAN when the
// ciphertext was altered, moved from another record, or opens to a PAN
// whose masked form is not the record's MaskedPAN.
func (r *Record) OpenPAN(ctx context.Context, key DataKey) (string, error) {
	p := r.EncryptedPAN
	if p == nil {
		return "", fmt.Errorf("%w: %s", ErrNoPAN, r.ID)
	}
	if p.Key != key.ID() {
		return "", fmt.Errorf("%w: %s was sealed under %q, not %q", ErrWrongKey, r.ID, p.Key, key.ID())
	}
	c, err := hex.DecodeString(p.Data)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSealedPAN, r.ID, err)
	}
	pan, err := key.Open(ctx, c, panAAD(r.ID))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSealedPAN, r.ID, err)
	}
	s := string(pan)
	if !digits(s, len(s)) || len(s) < 12 || len(s) > 19 || (r.MaskedPAN != "" && MaskPAN(s) != r.MaskedPAN) {
		return "", fmt.Errorf("%w: %s", ErrSealedPAN, r.ID)
	}
	return s, nil
}

// AESGCMKey is a DataKey held in memory: AES-GCM with a random 96-bit
// nonce per seal. Its ID is its key check value, "aes-gcm:" followed by the
// first three bytes of AES(key, 0¹²⁸) in hex, the usual way of naming a
// key in payments without revealing it.
type AESGCMKey struct {
	id   string
	aead cipher.AEAD
}

var _ DataKey = (*AESGCMKey)(nil)

// NewAESGCMKey returns a software data key for a 16-, 24- or 32-byte AES
// key. The caller keeps key secret (not in the journal's directory).
func NewAESGCMKey(key []byte) (*AESGCMKey, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("journal: data key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("journal: data key: %w", err)
	}
	var kcv [aes.BlockSize]byte
	block.Encrypt(kcv[:], kcv[:])
	return &AESGCMKey{id: "aes-gcm:" + strings.ToUpper(hex.EncodeToString(kcv[:3])), aead: aead}, nil
}

// ID returns the key check value.
func (k *AESGCMKey) ID() string { return k.id }

// Seal returns nonce ‖ AES-GCM(plaintext, aad).
func (k *AESGCMKey) Seal(_ context.Context, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, out); err != nil {
		return nil, fmt.Errorf("journal: nonce: %w", err)
	}
	return k.aead.Seal(out, out, plaintext, aad), nil
}

// Open reverses Seal.
func (k *AESGCMKey) Open(_ context.Context, ciphertext, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(ciphertext) < n+k.aead.Overhead() {
		return nil, errors.New("journal: sealed data too short")
	}
	return k.aead.Open(nil, ciphertext[:n], ciphertext[n:], aad)
}
