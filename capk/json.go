// SPDX-License-Identifier: Apache-2.0

package capk

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// MaxFileSize is the largest input [Load] accepts, in bytes.
const MaxFileSize = 8 << 20

// expiryLayout is the layout of the "expiry" field.
const expiryLayout = "2006-01-02"

// fileJSON is the on-disk form of a Store.
type fileJSON struct {
	Keys    []keyJSON `json:"keys"`
	Revoked []revJSON `json:"revoked,omitempty"`
}

type keyJSON struct {
	RID       string `json:"rid"`
	Index     string `json:"index"`
	Algorithm string `json:"algorithm"`
	Hash      string `json:"hash"`
	Modulus   string `json:"modulus"`
	Exponent  string `json:"exponent,omitempty"`
	Expiry    string `json:"expiry,omitempty"`
	Checksum  string `json:"checksum"`
	Note      string `json:"note,omitempty"`
}

type revJSON struct {
	RID    string `json:"rid"`
	Index  string `json:"index"`
	Serial string `json:"serial"`
}

var (
	algNames  = map[string]byte{"rsa": AlgRSA, "sm2": AlgSM2}
	hashNames = map[string]byte{"sha1": HashSHA1, "sm3": HashSM3}
)

// AlgorithmName returns "rsa" or "sm2" for a known algorithm indicator and
// the two hex digits of the indicator otherwise.
func AlgorithmName(alg byte) string {
	return nameOf(algNames, alg)
}

// HashName returns "sha1" or "sm3" for a known hash indicator and the two
// hex digits of the indicator otherwise.
func HashName(h byte) string {
	return nameOf(hashNames, h)
}

func nameOf(names map[string]byte, v byte) string {
	for n, b := range names {
		if b == v {
			return n
		}
	}
	return fmt.Sprintf("%02X", v)
}

// Load reads a store in the JSON format described in the package
// documentation. Every key is validated as by [Store.Add]. Errors name the
// entry and field ("keys[3].checksum: ...") and wrap [ErrFormat],
// [ErrInvalidKey] or [ErrChecksum].
func Load(r io.Reader) (*Store, error) {
	f, err := decodeFile(r)
	if err != nil {
		return nil, err
	}
	s := NewStore()
	seen := make(map[keyID]int, len(f.Keys))
	for i, kj := range f.Keys {
		k, field, err := kj.key()
		if err == nil {
			field, err = k.validate()
		}
		if err != nil {
			return nil, fmt.Errorf("keys[%d].%s: %w", i, field, err)
		}
		id := keyID{k.RID, k.Index}
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("keys[%d]: %w: duplicate of keys[%d] (%s/%02X)", i, ErrFormat, j, k.RID, k.Index)
		}
		seen[id] = i
		s.putLocked(k.clone()) // s is not shared yet.
	}
	for i, rj := range f.Revoked {
		r, field, err := rj.revocation()
		if err != nil {
			return nil, fmt.Errorf("revoked[%d].%s: %w", i, field, err)
		}
		s.revokeLocked(r)
	}
	return s, nil
}

// LoadFile reads a store from the JSON file at path (see [Load]). Errors
// also name the file.
func LoadFile(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capk: %w", err)
	}
	defer f.Close()
	s, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Save writes the store in the JSON format read by [Load], keys and
// revocations sorted, hex in upper case. A nil store is written as an
// empty one.
func (s *Store) Save(w io.Writer) error {
	f := fileJSON{Keys: []keyJSON{}}
	for _, k := range s.Keys() {
		kj := keyJSON{
			RID:       k.RID.String(),
			Index:     hexUpper([]byte{k.Index}),
			Algorithm: AlgorithmName(k.Algorithm),
			Hash:      HashName(k.HashAlg),
			Modulus:   hexUpper(k.Modulus),
			Exponent:  hexUpper(k.Exponent),
			Checksum:  hexUpper(k.Checksum),
			Note:      k.Note,
		}
		if !k.Expiry.IsZero() {
			kj.Expiry = k.Expiry.Format(expiryLayout)
		}
		f.Keys = append(f.Keys, kj)
	}
	for _, r := range s.revocations() {
		f.Revoked = append(f.Revoked, revJSON{
			RID:    r.rid.String(),
			Index:  hexUpper([]byte{r.index}),
			Serial: hexUpper(r.serial[:]),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("capk: save: %w", err)
	}
	return nil
}

// key converts the JSON form to a Key; it does not validate the key. It
// returns the first field that does not parse.
func (kj *keyJSON) key() (k Key, field string, err error) {
	k, p := kj.parse()
	if len(p) > 0 {
		return k, p[0].field, p[0].err
	}
	return k, "", nil
}

// parse converts every field of the JSON form it can and returns every
// field that does not parse, in file order.
func (kj *keyJSON) parse() (Key, []fieldProblem) {
	var k Key
	var out []fieldProblem
	check := func(field string, err error) {
		if err != nil {
			out = append(out, fieldProblem{field, err})
		}
	}
	var err error
	k.RID, err = ParseRID(kj.RID)
	check("rid", err)
	k.Index, err = parseByte(kj.Index)
	check("index", err)
	var ok bool
	if k.Algorithm, ok = algNames[strings.ToLower(kj.Algorithm)]; !ok {
		check("algorithm", fmt.Errorf("%w: unknown algorithm %q, want \"rsa\" or \"sm2\"", ErrFormat, kj.Algorithm))
	}
	if k.HashAlg, ok = hashNames[strings.ToLower(kj.Hash)]; !ok {
		check("hash", fmt.Errorf("%w: unknown hash %q, want \"sha1\" or \"sm3\"", ErrFormat, kj.Hash))
	}
	k.Modulus, err = parseHex(kj.Modulus)
	check("modulus", err)
	k.Exponent, err = parseHex(kj.Exponent)
	check("exponent", err)
	k.Checksum, err = parseHex(kj.Checksum)
	check("checksum", err)
	if kj.Expiry != "" {
		if k.Expiry, err = time.Parse(expiryLayout, kj.Expiry); err != nil {
			check("expiry", fmt.Errorf("%w: expiry %q, want YYYY-MM-DD", ErrFormat, kj.Expiry))
		}
	}
	k.Note = kj.Note
	return k, out
}

func (rj *revJSON) revocation() (r revocation, field string, err error) {
	if r.rid, err = ParseRID(rj.RID); err != nil {
		return r, "rid", err
	}
	if r.index, err = parseByte(rj.Index); err != nil {
		return r, "index", err
	}
	if len(rj.Serial) != 6 {
		return r, "serial", fmt.Errorf("%w: serial %q, want 6 hex digits", ErrFormat, rj.Serial)
	}
	if _, err := hex.Decode(r.serial[:], []byte(rj.Serial)); err != nil {
		return r, "serial", fmt.Errorf("%w: serial %q: %v", ErrFormat, rj.Serial, err)
	}
	return r, "", nil
}

func parseByte(s string) (byte, error) {
	if len(s) != 2 {
		return 0, fmt.Errorf("%w: %q, want 2 hex digits", ErrFormat, s)
	}
	var b [1]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrFormat, s, err)
	}
	return b[0], nil
}

func parseHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: bad hex: %v", ErrFormat, err)
	}
	return b, nil
}
