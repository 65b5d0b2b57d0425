package acquirer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// aesSealer is AES-GCM with a random 96-bit nonce stored before the
// ciphertext.
type aesSealer struct{ aead cipher.AEAD }

// NewAESSealer returns a Sealer using AES-GCM under key (16, 24 or 32
// bytes; 32 recommended). The key is the terminal's data key: keep it
// outside the state file.
func NewAESSealer(key []byte) (Sealer, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return aesSealer{aead}, nil
}

func (s aesSealer) Seal(plain, ad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("acquirer: seal: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, ad), nil
}

func (s aesSealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: sealed value of %d bytes", ErrState, len(sealed))
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed value does not open: %v", ErrState, err)
	}
	return plain, nil
}
