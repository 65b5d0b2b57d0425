package capk

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Finding is the report [Check] makes on one key.
type Finding struct {
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
	// Check.
	Expired bool
	// Revocations is the number of issuer certificates revoked under this
	// key.
	Revocations int
	// Err is the result of [Key.Validate]; nil when the key is usable.
	Err error
	// Note is the key's note.
	Note string
}

// OK reports whether the key is valid and not expired.
func (f Finding) OK() bool {
	return f.Err == nil && f.ChecksumOK && !f.Expired
}

// String formats the finding on one line, for example
// "A000000333/08 rsa-1152 e=3 sha1 checksum ok expires 2030-12-31".
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
	if f.Err != nil && f.ChecksumOK {
		fmt.Fprintf(&b, " INVALID: %v", f.Err)
	}
	return b.String()
}

// Check reports on every key in s, in the order of [Store.Keys]: whether
// the checksum is right, whether the key has expired at now, its size and
// exponent, and how many certificates are revoked under it. A nil or empty
// store gives no findings.
func Check(s *Store, now time.Time) []Finding {
	keys := s.Keys()
	revs := s.revocations()
	out := make([]Finding, 0, len(keys))
	for i := range keys {
		k := &keys[i]
		f := Finding{
			RID:        k.RID,
			Index:      k.Index,
			Algorithm:  k.Algorithm,
			HashAlg:    k.HashAlg,
			Bits:       k.Bits(),
			ChecksumOK: bytes.Equal(k.ComputeChecksum(), k.Checksum),
			Expiry:     k.Expiry,
			Expired:    k.Expired(now),
			Err:        k.Validate(),
			Note:       k.Note,
		}
		if k.Algorithm != AlgSM2 && len(k.Exponent) <= 8 {
			f.Exponent = new(big.Int).SetBytes(k.Exponent).Uint64()
		}
		for _, r := range revs {
			if r.rid == k.RID && r.index == k.Index {
				f.Revocations++
			}
		}
		out = append(out, f)
	}
	return out
}
