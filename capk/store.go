// SPDX-License-Identifier: Apache-2.0

package capk

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
)

// keyID identifies a key in a Store.
type keyID struct {
	rid   RID
	index byte
}

// revocation identifies a revoked issuer certificate.
type revocation struct {
	rid    RID
	index  byte
	serial [3]byte
}

// Store is a set of CA public keys and a revocation list. It is safe for
// concurrent use. A nil *Store behaves as an empty store for every read
// and ignores Revoke and Merge; Add on a nil store returns [ErrNilStore].
// The zero Store is empty and ready to use.
type Store struct {
	mu      sync.RWMutex
	keys    map[keyID]Key
	revoked map[revocation]struct{}
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{}
}

// Add validates k (see [Key.Validate]) and stores a copy of it, replacing
// any key with the same RID and index. A key with a wrong checksum is
// refused with an error wrapping [ErrChecksum].
func (s *Store) Add(k Key) error {
	if s == nil {
		return ErrNilStore
	}
	if err := k.Validate(); err != nil {
		return err
	}
	c := k.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(c)
	return nil
}

// putLocked stores an already validated and cloned key. s.mu must be held.
func (s *Store) putLocked(k Key) {
	if s.keys == nil {
		s.keys = make(map[keyID]Key)
	}
	s.keys[keyID{k.RID, k.Index}] = k
}

// Lookup returns a copy of the key with the given RID and index. The
// caller may modify the returned key freely.
func (s *Store) Lookup(rid RID, index byte) (Key, bool) {
	if s == nil {
		return Key{}, false
	}
	s.mu.RLock()
	k, ok := s.keys[keyID{rid, index}]
	s.mu.RUnlock()
	if !ok {
		return Key{}, false
	}
	return k.clone(), true
}

// AppendLookup is Lookup that copies the key's modulus, exponent and
// checksum by appending them to dst instead of allocating: the returned
// key's slices point into the returned buffer (capped, so that appending
// to one cannot overwrite another). A terminal passes the same buffer,
// emptied, for every transaction.
func (s *Store) AppendLookup(dst []byte, rid RID, index byte) (Key, []byte, bool) {
	if s == nil {
		return Key{}, dst, false
	}
	s.mu.RLock()
	k, ok := s.keys[keyID{rid, index}]
	s.mu.RUnlock()
	if !ok {
		return Key{}, dst, false
	}
	c := k
	c.Modulus, dst = appendField(dst, k.Modulus)
	c.Exponent, dst = appendField(dst, k.Exponent)
	c.Checksum, dst = appendField(dst, k.Checksum)
	return c, dst, true
}

// appendField appends v to dst and returns the copy (capped; nil for
// empty) and the extended dst.
func appendField(dst, v []byte) ([]byte, []byte) {
	s := len(dst)
	dst = append(dst, v...)
	return nilIfEmpty(dst[s:len(dst):len(dst)]), dst
}

// Len returns the number of keys in the store.
func (s *Store) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}

// Keys returns copies of all keys, sorted by RID and then index.
func (s *Store) Keys() []Key {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	out := make([]Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k.clone())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Key) int {
		if c := bytes.Compare(a.RID[:], b.RID[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out
}

// Revoke adds the issuer certificate with the given serial number, signed
// by the CA key (rid, index), to the revocation list. The CA key need not
// be in the store. Revoke on a nil store does nothing.
func (s *Store) Revoke(rid RID, index byte, serial [3]byte) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeLocked(revocation{rid, index, serial})
}

func (s *Store) revokeLocked(r revocation) {
	if s.revoked == nil {
		s.revoked = make(map[revocation]struct{})
	}
	s.revoked[r] = struct{}{}
}

// Revoked reports whether the issuer certificate with the given serial
// number, signed by the CA key (rid, index), is on the revocation list.
func (s *Store) Revoked(rid RID, index byte, serial [3]byte) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.revoked[revocation{rid, index, serial}]
	return ok
}

// revocations returns the revocation list sorted by RID, index, serial.
func (s *Store) revocations() []revocation {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	out := make([]revocation, 0, len(s.revoked))
	for r := range s.revoked {
		out = append(out, r)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, compareRevocation)
	return out
}

func compareRevocation(a, b revocation) int {
	if c := bytes.Compare(a.rid[:], b.rid[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(a.index, b.index); c != 0 {
		return c
	}
	return bytes.Compare(a.serial[:], b.serial[:])
}

// Merge adds all keys and revocations of other to s. A key of other
// replaces a key of s with the same RID and index. Merging a nil store,
// into a nil store, or a store into itself does nothing.
func (s *Store) Merge(other *Store) {
	if s == nil || other == nil || s == other {
		return
	}
	// Snapshot other first so that the two locks are never held together
	// (concurrent a.Merge(b) and b.Merge(a) cannot deadlock).
	keys := other.Keys()
	revs := other.revocations()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		s.putLocked(k)
	}
	for _, r := range revs {
		s.revokeLocked(r)
	}
}
