// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"bytes"
	"hash/maphash"
	"sync"

	"github.com/go-pboc/pboc/crypto/oda"
)

// issuerCache keeps the issuer certificates a Kernel has opened, keyed by
// the exact bytes they depend on — the CA key (algorithm, modulus or
// point, exponent) and the card's 90, 92 and 9F32 — so that the next card
// of the same issuer costs no RSA recovery or SM2 verification of its
// issuer certificate. What depends on the transaction (the issuer
// identifier against the PAN, the expiry against today, revocation of the
// serial) is checked every time (oda.IssuerCert.Check). A certificate
// that fails to open is not kept. Bounded: it starts again when full.
type issuerCache struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64]issuerEntry
}

type issuerEntry struct {
	in   [][]byte // the bytes the certificate was opened from
	cert *oda.IssuerCert
}

const maxIssuerCache = 64

// open returns the issuer certificate for these bytes, from the cache or
// opened now.
func (c *issuerCache) open(ca oda.PublicKey, cert, remainder, exponent []byte) (*oda.IssuerCert, error) {
	in := [...][]byte{{byte(ca.Alg)}, ca.Modulus, ca.Exponent, ca.Point, cert, remainder, exponent}
	c.mu.Lock()
	if c.m == nil {
		c.seed, c.m = maphash.MakeSeed(), make(map[uint64]issuerEntry)
	}
	h := issuerHash(c.seed, in[:])
	if e, ok := c.m[h]; ok && sameInput(e.in, in[:]) {
		c.mu.Unlock()
		return e.cert, nil
	}
	c.mu.Unlock()
	ic, err := oda.OpenIssuerCert(ca, cert, remainder, exponent)
	if err != nil {
		return nil, err
	}
	kept := make([][]byte, len(in))
	for i, b := range in {
		kept[i] = bytes.Clone(b)
	}
	c.mu.Lock()
	if len(c.m) >= maxIssuerCache {
		clear(c.m)
	}
	c.m[h] = issuerEntry{in: kept, cert: ic}
	c.mu.Unlock()
	return ic, nil
}

// issuerHash hashes the inputs, each with its length.
func issuerHash(seed maphash.Seed, in [][]byte) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for _, b := range in {
		h.WriteByte(byte(len(b) >> 8))
		h.WriteByte(byte(len(b)))
		h.Write(b)
	}
	return h.Sum64()
}

func sameInput(a, b [][]byte) bool {
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
