package capk

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sync"
)

// builtinFS holds the built-in key files. Every builtin/*.json file is
// embedded and merged by Builtin; to add keys, drop another file in the
// same format into builtin/ (the tests check every key in it).
//
//go:embed builtin/*.json
var builtinFS embed.FS

var (
	builtinOnce  sync.Once
	builtinStore *Store
	builtinErr   error
)

// Builtin returns a new store holding the built-in keys: the China
// UnionPay CA public keys (RID A000000333) and any other key set compiled
// into the package. Each call returns a fresh store that the caller may
// modify. The embedded files are checked by the package's tests, so
// Builtin panics only if the package was built from broken files.
func Builtin() *Store {
	builtinOnce.Do(func() { builtinStore, builtinErr = loadBuiltin(builtinFS) })
	if builtinErr != nil {
		panic(builtinErr)
	}
	s := NewStore()
	s.Merge(builtinStore)
	return s
}

// loadBuiltin loads and merges every *.json file under builtin/ in fsys,
// in name order. Two files defining the same RID and index with different
// contents are an error.
func loadBuiltin(fsys fs.FS) (*Store, error) {
	names, err := fs.Glob(fsys, "builtin/*.json")
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
