// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"bytes"
	"context"
	"fmt"

	"github.com/go-pboc/pboc/tlv"
)

// RecordSink takes one downloaded record (TLV, as the acquirer sent it):
// the CA public key or IC parameter reader of the terminal (part 1's
// params package), which checks it before using it.
type RecordSink func(ctx context.Context, record []byte) error

// Bounds of a download: the query's count is two digits, and a query reply
// that says "more" must list something.
const (
	maxDownloadEntries = 99
	maxQueryRounds     = maxDownloadEntries
)

// download describes one of the two downloads.
type download struct {
	name                 string
	query, fetch, finish msgKind
	// keys are the tags naming a record in a query list and a download
	// request; list adds the tags a query entry carries besides.
	keys, list []tlv.Tag
}

var (
	caKeyDownload = download{"CA key", msgCAKeyQuery, msgCAKeyDownload, msgCAKeyEnd,
		[]tlv.Tag{0x9F06, 0x9F22}, []tlv.Tag{0xDF05}}
	icParamDownload = download{"IC parameter", msgParamQuery, msgParamDownload, msgParamEnd,
		[]tlv.Tag{0x9F06}, nil}
)

// DownloadCAKeys downloads the acquirer's CA public keys (0820 372 query,
// with field 62 continuation; 0800 370 for each key; 0800 371 end) and
// hands each record to sink. It returns how many records sink took.
func (l *Link) DownloadCAKeys(ctx context.Context, sink RecordSink) (int, error) {
	return l.download(ctx, caKeyDownload, sink)
}

// DownloadICParams downloads the IC parameters, one record per AID (0820
// 382, 0800 380, 0800 381), into sink.
func (l *Link) DownloadICParams(ctx context.Context, sink RecordSink) (int, error) {
	return l.download(ctx, icParamDownload, sink)
}

func (l *Link) download(ctx context.Context, d download, sink RecordSink) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.connect(ctx); err != nil {
		return 0, err
	}
	names, err := l.queryAll(ctx, d)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		reply, err := l.manage(ctx, d.fetch, "", fields{fPrivate62: name})
		if err != nil {
			return n, err
		}
		f62 := bin(reply, fPrivate62)
		if len(f62) == 0 || f62[0] != '1' {
			continue // the acquirer has no such record after all
		}
		rec := f62[1:]
		if !sameName(rec, name, d.keys) {
			return n, fmt.Errorf("%w: %s download: the record is not the one asked for", ErrMismatch, d.name)
		}
		if err := sink(ctx, bytes.Clone(rec)); err != nil {
			return n, fmt.Errorf("acquirer: %s record: %w", d.name, err)
		}
		n++
	}
	if _, err := l.manage(ctx, d.finish, "", nil); err != nil {
		return n, err
	}
	return n, nil
}

// queryAll runs the query until the acquirer says the list is complete.
// Field 62 of a query is "1" and the count already received; the reply's
// starts with '0' (nothing), '1' (last page) or '2' (more). It returns each
// entry's naming TLVs (9F06 and 9F22 for a CA key, 9F06 for an AID).
func (l *Link) queryAll(ctx context.Context, d download) ([][]byte, error) {
	var names [][]byte
	for round := 0; round < maxQueryRounds; round++ {
		reply, err := l.manage(ctx, d.query, "", fields{fPrivate62: fmt.Appendf(nil, "1%02d", len(names))})
		if err != nil {
			return nil, err
		}
		f62 := bin(reply, fPrivate62)
		if len(f62) == 0 || f62[0] == '0' {
			return names, nil
		}
		if f62[0] != '1' && f62[0] != '2' {
			return nil, fmt.Errorf("%w: %s query: control byte %q", ErrMismatch, d.name, f62[0])
		}
		page, err := entries(f62[1:], d)
		if err != nil {
			return nil, err
		}
		names = append(names, page...)
		if len(names) > maxDownloadEntries {
			return nil, fmt.Errorf("%w: %s query lists more than %d records", ErrMismatch, d.name, maxDownloadEntries)
		}
		if f62[0] == '1' {
			return names, nil
		}
		if len(page) == 0 {
			return nil, fmt.Errorf("%w: %s query says more but lists nothing", ErrMismatch, d.name)
		}
	}
	return nil, fmt.Errorf("%w: %s query did not end", ErrMismatch, d.name)
}

// entries splits a query page into the naming TLVs of each entry: an entry
// starts at each 9F06.
func entries(page []byte, d download) ([][]byte, error) {
	objs, err := tlv.Parse(page)
	if err != nil {
		return nil, fmt.Errorf("%w: %s query: %w", ErrMismatch, d.name, err)
	}
	var out [][]byte
	var cur map[tlv.Tag][]byte
	flush := func() error {
		if cur == nil {
			return nil
		}
		var name []byte
		for _, tag := range d.keys {
			v, ok := cur[tag]
			if !ok {
				return fmt.Errorf("%w: %s query entry without %s", ErrMismatch, d.name, tag)
			}
			name = tlv.Append(name, tag, v)
		}
		out = append(out, name)
		return nil
	}
	for _, o := range objs {
		if o.Tag == d.keys[0] {
			if err := flush(); err != nil {
				return nil, err
			}
			cur = map[tlv.Tag][]byte{}
		}
		if cur == nil {
			return nil, fmt.Errorf("%w: %s query entry does not start with %s", ErrMismatch, d.name, d.keys[0])
		}
		cur[o.Tag] = o.Value
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// sameName reports whether rec carries the naming values of name.
func sameName(rec, name []byte, keys []tlv.Tag) bool {
	for _, tag := range keys {
		if v := findTag(rec, tag); v == nil || !bytes.Equal(v, findTag(name, tag)) {
			return false
		}
	}
	return true
}
