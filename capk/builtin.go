// SPDX-License-Identifier: Apache-2.0

package capk

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sync"
)

// builtinFS holds the built-in key files: the scheme's published keys
// only. Every builtin/*.json file is embedded and merged by Builtin; to add
// published keys, drop another file in the same format into builtin/ (the
// tests check every key in it). The card simulator's test CA lives apart,
// in testkeys/, and is served only by TestKeys.
//
//go:embed builtin/*.json
var builtinFS embed.FS

//go:embed testkeys/*.json
var testKeysFS embed.FS

// embedded is one compiled-in key set, loaded once.
type embedded struct {
	once  sync.Once
	fsys  fs.FS
	glob  string
	store *Store
	err   error
}

var (
	builtinKeys = &embedded{fsys: builtinFS, glob: "builtin/*.json"}
	testKeys    = &embedded{fsys: testKeysFS, glob: "testkeys/*.json"}
)

// fresh returns a new store holding the set's keys.
func (e *embedded) fresh() *Store {
	e.once.Do(func() { e.store, e.err = loadEmbedded(e.fsys, e.glob) })
	if e.err != nil {
		panic(e.err)
	}
	s := NewStore()
	s.Merge(e.store)
	return s
}

// Builtin returns a new store holding the published CA public keys compiled
// into the package: the China UnionPay keys (RID A000000333). It holds no
// test key, so a terminal that trusts Builtin approves no card signed by
// the simulator's test CA (see TestKeys). Each call returns a fresh store
// that the caller may modify. The embedded files are checked by the
// package's tests, so Builtin panics only if the package was built from
// broken files.
func Builtin() *Store { return builtinKeys.fresh() }

// TestKeys returns a new store holding only the card simulator's test CA
// (RID A000000333, indexes F1 RSA-1984 e=3, F2 RSA-1408 e=65537, F3 SM2).
// Their private keys derive from seeds published in this repository
// (package pki), so anyone can sign a card with them: never trust them in
// production. Tests, the CLI and the examples that talk to the simulated
// card merge them explicitly:
//
//	store := capk.Builtin()
//	store.Merge(capk.TestKeys())
func TestKeys() *Store { return testKeys.fresh() }

// loadEmbedded loads and merges every file matching glob in fsys, in name
// order. Two files defining the same RID and index with different
// contents are an error.
func loadEmbedded(fsys fs.FS, glob string) (*Store, error) {
	names, err := fs.Glob(fsys, glob)
	if err != nil {
		return nil, fmt.Errorf("capk: builtin: %w", err)
	}
	slices.Sort(names)
	all := NewStore()
	from := map[keyID]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("capk: builtin: %w", err)
		}
		s, err := Load(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("capk: builtin %s: %w", name, err)
		}
		for _, k := range s.Keys() {
			id := keyID{k.RID, k.Index}
			if old, ok := all.Lookup(k.RID, k.Index); ok && !sameKey(&old, &k) {
				return nil, fmt.Errorf("capk: builtin %s: %w: %s/%02X differs from the key in %s", name, ErrFormat, k.RID, k.Index, from[id])
			}
			from[id] = name
		}
		all.Merge(s)
	}
	return all, nil
}

// sameKey reports whether a and b are the same key material.
func sameKey(a, b *Key) bool {
	return a.RID == b.RID && a.Index == b.Index && a.Algorithm == b.Algorithm &&
		a.HashAlg == b.HashAlg && bytes.Equal(a.Modulus, b.Modulus) &&
		bytes.Equal(a.Exponent, b.Exponent) && a.Expiry.Equal(b.Expiry)
}
