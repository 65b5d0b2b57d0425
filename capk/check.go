// SPDX-License-Identifier: Apache-2.0

package capk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// Finding is the report [Check] or [Inspect] makes on one key.
type Finding struct {
	// Entry is the key's position in the "keys" array of the file
	// [Inspect] read; -1 for a finding of [Check] on a store.
	Entry int
	// RID and Index identify the key.
	RID   RID
	Index byte
	// Algorithm and HashAlg are the key's indicators.
	Algorithm byte
	HashAlg   byte
	// Bits is the key size: the RSA modulus length in bits, 256 for SM2.
	Bits int
	// Exponent is the RSA public exponent (3 or 65537); 0 for SM2.
	Exponent uint64
	// ChecksumOK reports whether the stored checksum matches the one
	// recomputed from the key.
	ChecksumOK bool
	// Expiry is the key's last valid day (zero: none known).
	Expiry time.Time
	// Expired reports whether the key has expired at the time given to
	// Check. An expired key is a warning, not a problem: the file is
	// still well formed, and the kernel refuses the key at transaction
	// time (kernel.ErrCAKeyExpired) whatever the file says.
	Expired bool
	// Revocations is the number of issuer certificates revoked under this
	// key.
	Revocations int
	// Problems lists everything wrong with the key, each naming its JSON
	// field ("checksum: …") and wrapping [ErrFormat], [ErrInvalidKey] or
	// [ErrChecksum]. Empty when the key is usable.
	Problems []error
	// Err is the problems joined ([errors.Join]); nil when the key is
	// usable.
	Err error
	// Note is the key's note.
	Note string
}

// OK reports whether the key is usable: no problems. An expired key is
// OK; Expired says it needs replacing.
func (f Finding) OK() bool { return len(f.Problems) == 0 }

// String formats the finding on one line, for example
// "A000000333/08 rsa-1152 e=3 sha1 checksum ok expires 2030-12-31", the
// problems after a colon.
func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%02X %s-%d", f.RID, f.Index, AlgorithmName(f.Algorithm), f.Bits)
	if f.Algorithm != AlgSM2 {
		fmt.Fprintf(&b, " e=%d", f.Exponent)
	}
	fmt.Fprintf(&b, " %s", HashName(f.HashAlg))
	if f.ChecksumOK {
		b.WriteString(" checksum ok")
	} else {
		b.WriteString(" checksum BAD")
	}
	switch {
	case f.Expiry.IsZero():
		b.WriteString(" no expiry")
	case f.Expired:
		fmt.Fprintf(&b, " EXPIRED %s", f.Expiry.Format(expiryLayout))
	default:
		fmt.Fprintf(&b, " expires %s", f.Expiry.Format(expiryLayout))
	}
	if f.Revocations > 0 {
		fmt.Fprintf(&b, " revoked-certs=%d", f.Revocations)
	}
	for i, p := range f.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Check reports on every key in s, in the order of [Store.Keys]: whether
// the checksum is right, whether the key has expired at now, its size and
// exponent, every problem, and how many certificates are revoked under it.
// A nil or empty store gives no findings.
func Check(s *Store, now time.Time) []Finding {
	keys := s.Keys()
	revs := s.revocations()
	out := make([]Finding, 0, len(keys))
	for i := range keys {
		f := finding(&keys[i], now, nil)
		f.Entry = -1
		for _, r := range revs {
			if r.rid == f.RID && r.index == f.Index {
				f.Revocations++
			}
		}
		out = append(out, f)
	}
	return out
}

// finding reports on k; parsed lists the fields of its file entry that did
// not parse (then only those are reported: the rest of the key cannot be
// judged).
func finding(k *Key, now time.Time, parsed []fieldProblem) Finding {
	f := Finding{
		RID:        k.RID,
		Index:      k.Index,
		Algorithm:  k.Algorithm,
		HashAlg:    k.HashAlg,
		Bits:       k.Bits(),
		ChecksumOK: len(k.Checksum) > 0 && bytes.Equal(k.ComputeChecksum(), k.Checksum),
		Expiry:     k.Expiry,
		Expired:    k.Expired(now),
		Note:       k.Note,
	}
	if k.Algorithm != AlgSM2 && len(k.Exponent) <= 8 {
		f.Exponent = new(big.Int).SetBytes(k.Exponent).Uint64()
	}
	problems := parsed
	if len(problems) == 0 {
		problems = k.problems()
	}
	for _, p := range problems {
		f.Problems = append(f.Problems, fmt.Errorf("%s: %w", p.field, p.err))
	}
	f.Err = errors.Join(f.Problems...)
	return f
}

// FileReport is what [Inspect] found in a CA key file.
type FileReport struct {
	// Keys has one finding per entry of "keys", in file order.
	Keys []Finding
	// Revoked lists the problems of the "revoked" entries
	// ("revoked[2].serial: …"), each wrapping [ErrFormat].
	Revoked []error
}

// Failed is the number of keys with problems plus the number of bad
// revocation entries. Expired keys do not count.
func (r *FileReport) Failed() int {
	n := len(r.Revoked)
	for _, f := range r.Keys {
		if !f.OK() {
			n++
		}
	}
	return n
}

// Inspect reads a CA key file in the format of [Load] and reports on every
// entry with all its problems, where Load stops at the first: a lab
// checking a key file wants the whole list at once. An entry's problems
// are the fields that do not parse, or else every rule of [Key.Validate]
// it breaks (hash, algorithm, modulus, exponent and checksum are judged
// independently), and being a duplicate of an earlier RID and index. An
// expired key is a warning ([Finding.Expired]), not a problem. The error
// is only for input that is not a CA key file at all: larger than
// [MaxFileSize], not JSON, unknown fields, or no "keys"; it wraps
// [ErrFormat].
func Inspect(r io.Reader, now time.Time) (*FileReport, error) {
	f, err := decodeFile(r)
	if err != nil {
		return nil, err
	}
	rep := &FileReport{}
	seen := make(map[keyID]int, len(f.Keys))
	for i, kj := range f.Keys {
		k, parsed := kj.parse()
		fd := finding(&k, now, parsed)
		fd.Entry = i
		id := keyID{k.RID, k.Index}
		if j, dup := seen[id]; dup && len(parsed) == 0 {
			fd.Problems = append(fd.Problems, fmt.Errorf("index: %w: %s/%02X already in keys[%d]", ErrFormat, k.RID, k.Index, j))
			fd.Err = errors.Join(fd.Problems...)
		} else if !dup {
			seen[id] = i
		}
		rep.Keys = append(rep.Keys, fd)
	}
	for i, rj := range f.Revoked {
		rv, field, err := rj.revocation()
		if err != nil {
			rep.Revoked = append(rep.Revoked, fmt.Errorf("revoked[%d].%s: %w", i, field, err))
			continue
		}
		for j := range rep.Keys {
			if k := &rep.Keys[j]; k.RID == rv.rid && k.Index == rv.index {
				k.Revocations++
			}
		}
	}
	return rep, nil
}

// decodeFile reads the JSON document of a CA key file: at most
// MaxFileSize bytes, no unknown fields, nothing after the object, "keys"
// present.
func decodeFile(r io.Reader) (*fileJSON, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read: %w", ErrFormat, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: input larger than %d bytes", ErrFormat, MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileJSON
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the top-level object", ErrFormat)
	}
	if f.Keys == nil {
		return nil, fmt.Errorf("%w: \"keys\" missing", ErrFormat)
	}
	return &f, nil
}
