// SPDX-License-Identifier: Apache-2.0

package params

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/internal/atomicfile"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// Encoding is how a parameter file holds its records.
type Encoding int

// The encodings.
const (
	// Hex is text: one record a line in hex (either case); spaces and tabs
	// inside a line, blank lines and everything after a '#' are ignored.
	Hex Encoding = iota
	// Binary is the records' bytes one after another, as downloaded (the
	// reply's control byte stripped); each record starts with 9F06.
	Binary
)

// String names the encoding.
func (e Encoding) String() string {
	if e == Binary {
		return "binary"
	}
	return "hex"
}

// Split returns the records of a parameter file and its encoding: Binary
// when the file starts with byte 9F (the first byte of 9F06), Hex
// otherwise. Errors name the record and wrap ErrFormat or ErrTooLarge.
func Split(data []byte) ([][]byte, Encoding, error) {
	if len(data) > MaxFileLen {
		return nil, Hex, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(data), MaxFileLen)
	}
	if len(data) > 0 && data[0] == 0x9F {
		recs, err := splitBinary(data)
		return recs, Binary, err
	}
	recs, err := splitHex(data)
	return recs, Hex, err
}

// splitHex reads one record a line.
func splitHex(data []byte) ([][]byte, error) {
	var recs [][]byte
	for i, line := range strings.Split(string(data), "\n") {
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		typed := line
		line = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' {
				return -1
			}
			return r
		}, line)
		if line == "" {
			continue
		}
		if len(recs) == MaxRecords {
			return nil, fmt.Errorf("%w: more than %d records", ErrTooLarge, MaxRecords)
		}
		rec, err := hex.DecodeString(line)
		if err != nil {
			return nil, &RecordError{Kind: "parameter", Record: len(recs) + 1, Err: fmt.Errorf("%w: line %d: %s", ErrFormat, i+1, hexProblem(typed, len(line)))}
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// hexProblem says what is wrong with a line of hex as typed: the first
// character that is not a hex digit, white space, with its position in the
// line, or else an odd number of digits.
func hexProblem(line string, digits int) string {
	for i, r := range line {
		if !strings.ContainsRune("0123456789abcdefABCDEF \t\r", r) {
			return fmt.Sprintf("not hex: %q (U+%04X) at character %d", r, r, utf8.RuneCountInString(line[:i])+1)
		}
	}
	return fmt.Sprintf("not hex: an odd number of digits (%d)", digits)
}

// splitBinary starts a record at each top-level 9F06 (each record is
// re-encoded from its objects: padding and over-long length fields go).
func splitBinary(data []byte) ([][]byte, error) {
	objs, err := tlv.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	var groups [][]tlv.TLV
	for _, o := range objs {
		switch {
		case o.Tag == 0x9F06 && len(groups) == MaxRecords:
			return nil, fmt.Errorf("%w: more than %d records", ErrTooLarge, MaxRecords)
		case o.Tag == 0x9F06:
			groups = append(groups, nil)
		case len(groups) == 0:
			return nil, &RecordError{Kind: "parameter", Record: 1, Tag: o.Tag, Err: fmt.Errorf("%w: before the first 9F06", ErrFormat)}
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], o)
	}
	recs := make([][]byte, len(groups))
	for i, g := range groups {
		recs[i] = tlv.Encode(g...)
	}
	return recs, nil
}

// ReadAIDs reads a file of AID parameter records (Split) into
// applications, in file order. Two records for the same AID, and a file
// without records, are errors.
func ReadAIDs(data []byte, f Format) ([]kernel.Application, error) {
	recs, _, err := Split(data)
	if err != nil {
		return nil, numbered(err, KindAID, 0)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no AID parameter record in the file", ErrMissing)
	}
	apps := make([]kernel.Application, 0, len(recs))
	seen := make(map[string]int, len(recs))
	for i, rec := range recs {
		a, err := parseAID(rec, &f, i+1)
		if err != nil {
			return nil, numbered(err, KindAID, i+1)
		}
		if first, dup := seen[string(a.AID)]; dup {
			return nil, numbered(tagErr(0x9F06, ErrDuplicate, "AID %X is also record %d", a.AID, first), KindAID, i+1)
		}
		seen[string(a.AID)] = i + 1
		apps = append(apps, a)
	}
	return apps, nil
}

// ReadCAKeys reads a file of CA public key records (Split) into a key
// store; every key's checksum is verified (a wrong DF03 refuses the whole
// file: a terminal does not run on half a download). Two records for the
// same RID and index, and a file without records, are errors.
func ReadCAKeys(data []byte, f Format) (*capk.Store, error) {
	recs, _, err := Split(data)
	if err != nil {
		return nil, numbered(err, KindCAKey, 0)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no CA key record in the file", ErrMissing)
	}
	store := capk.NewStore()
	for i, rec := range recs {
		k, err := parseCAKey(rec, &f, i+1)
		if err != nil {
			return nil, numbered(err, KindCAKey, i+1)
		}
		if _, dup := store.Lookup(k.RID, k.Index); dup {
			return nil, numbered(tagErr(0x9F22, ErrDuplicate, "%s/%02X twice in the file", k.RID, k.Index), KindCAKey, i+1)
		}
		if err := store.Add(k); err != nil {
			return nil, numbered(tagErr(0xDF02, ErrInvalid, "%w", err), KindCAKey, i+1)
		}
	}
	return store, nil
}

// WriteAIDs writes the AID parameter records of apps to w in enc.
func WriteAIDs(w io.Writer, apps []kernel.Application, f Format, enc Encoding) error {
	return writeAll(w, apps, f, enc, KindAID, AppendAID)
}

// WriteCAKeys writes the CA public key records of keys to w in enc.
func WriteCAKeys(w io.Writer, keys []capk.Key, f Format, enc Encoding) error {
	return writeAll(w, keys, f, enc, KindCAKey, AppendCAKey)
}

// writeAll encodes every item with appendRecord, then writes them all:
// nothing is written when one cannot be encoded.
func writeAll[T any](w io.Writer, items []T, f Format, enc Encoding, kind string, appendRecord func([]byte, T, Format) ([]byte, error)) error {
	recs := make([][]byte, len(items))
	for i, it := range items {
		rec, err := appendRecord(nil, it, f)
		if err != nil {
			return numbered(err, kind, i+1)
		}
		recs[i] = rec
	}
	return writeRecords(w, recs, enc)
}

func writeRecords(w io.Writer, recs [][]byte, enc Encoding) error {
	var b bytes.Buffer
	for _, rec := range recs {
		if enc == Binary {
			b.Write(rec)
			continue
		}
		b.WriteString(strings.ToUpper(hex.EncodeToString(rec)))
		b.WriteByte('\n')
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("params: write: %w", err)
	}
	return nil
}

// LoadConfig returns base with its applications read from the AID
// parameter file aidPath and its CA keys from the CA key file caKeyPath
// (either in either encoding). The files replace what base had: the
// terminal runs on what its acquirer gave it. An empty path keeps base's.
func LoadConfig(base kernel.Config, aidPath, caKeyPath string, f Format) (kernel.Config, error) {
	cfg := base
	if aidPath != "" {
		data, err := readFile(aidPath)
		if err != nil {
			return base, err
		}
		if cfg.Applications, err = ReadAIDs(data, f); err != nil {
			return base, fmt.Errorf("%s: %w", aidPath, err)
		}
	}
	if caKeyPath != "" {
		data, err := readFile(caKeyPath)
		if err != nil {
			return base, err
		}
		if cfg.CAPK, err = ReadCAKeys(data, f); err != nil {
			return base, fmt.Errorf("%s: %w", caKeyPath, err)
		}
	}
	return cfg, nil
}

// SaveConfig writes cfg's applications as AID parameter records to aidPath
// and its CA keys (capk.Builtin when cfg.CAPK is nil, as the kernel
// trusts) as CA key records to caKeyPath, in enc: the files LoadConfig
// reads back into the same applications and keys. An empty path is not
// written. A file is written whole or not at all (a temporary file
// renamed over it).
func SaveConfig(cfg kernel.Config, aidPath, caKeyPath string, f Format, enc Encoding) error {
	if aidPath != "" {
		var b bytes.Buffer
		if err := WriteAIDs(&b, cfg.Applications, f, enc); err != nil {
			return err
		}
		if err := writeFile(aidPath, b.Bytes()); err != nil {
			return err
		}
	}
	if caKeyPath != "" {
		store := cfg.CAPK
		if store == nil {
			store = capk.Builtin()
		}
		var b bytes.Buffer
		if err := WriteCAKeys(&b, store.Keys(), f, enc); err != nil {
			return err
		}
		return writeFile(caKeyPath, b.Bytes())
	}
	return nil
}

// writeFile replaces path's content with data atomically (a crash leaves
// the old file or the new one, whole).
func writeFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	return nil
}

// readFile reads at most MaxFileLen bytes of path.
func readFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileLen+1))
	if err != nil {
		return nil, fmt.Errorf("params: read %s: %w", path, err)
	}
	if len(data) > MaxFileLen {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, path, MaxFileLen)
	}
	return data, nil
}
