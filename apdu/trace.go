// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"context"
	"encoding/hex"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-pboc/pboc/tlv"
)

// maxMasks bounds how many account numbers a tracer remembers; the oldest
// is forgotten first.
const maxMasks = 64

// NewTracer returns a Transport that forwards to t and logs every APDU on
// logger at slog.LevelDebug (slog.Default() when logger is nil) with the
// attributes:
//
//	cmd  the command name, e.g. "READ RECORD"
//	c    the command in hex
//	r    the response in hex (absent when the transport failed)
//	sw   the status word and its meaning
//	took the time the transport took
//	err  the transport error, if any
//
// Sensitive data is never logged in clear. The data field of VERIFY and
// PIN CHANGE/UNBLOCK (a PIN block) is replaced by '*'. Every response is
// searched for tags 5A (PAN) and 57 (track 2 equivalent data), including
// inside templates; data that is not valid TLV is still logged, and the
// objects found before the error still count. From then on, wherever the
// PAN's digits appear in a logged command, response or error (as BCD
// nibbles or as ASCII), they are shown masked by tlv.MaskPAN (first 6 and
// last 4 digits kept), and the discretionary data of a track 2 after its
// expiry date and service code is replaced by '*'. The tracer remembers the
// last 64 account numbers it has seen.
//
// The returned Transport is safe for concurrent use. It does not change the
// bytes exchanged.
func NewTracer(t Transport, logger *slog.Logger) Transport {
	if logger == nil {
		logger = slog.Default()
	}
	return &tracer{next: t, log: logger}
}

type tracer struct {
	next Transport
	log  *slog.Logger

	mu    sync.Mutex
	masks []mask // oldest first, at most maxMasks entries
}

// mask replaces pattern with replacement (same length) in upper-case hex
// text.
type mask struct {
	pattern, replacement string
}

func (t *tracer) Transmit(ctx context.Context, command []byte) ([]byte, error) {
	start := time.Now()
	resp, err := t.next.Transmit(ctx, command)
	took := time.Since(start)
	if err == nil {
		t.learn(resp)
	}
	if !t.log.Enabled(ctx, slog.LevelDebug) {
		return resp, err
	}
	masks := t.snapshot()
	name := "malformed command"
	if len(command) >= 2 {
		name = insName(command[1])
	}
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs,
		slog.String("cmd", name),
		slog.String("c", applyMasks(masks, commandHex(command))))
	if err != nil {
		attrs = append(attrs, slog.Duration("took", took), slog.String("err", applyMasks(masks, err.Error())))
	} else {
		swText := "no status word"
		if r, perr := ParseResponse(resp); perr == nil {
			swText = r.SW.String()
		}
		attrs = append(attrs,
			slog.String("r", applyMasks(masks, strings.ToUpper(hex.EncodeToString(resp)))),
			slog.String("sw", swText),
			slog.Duration("took", took))
	}
	t.log.LogAttrs(ctx, slog.LevelDebug, "apdu", attrs...)
	return resp, err
}

// commandHex encodes a command in upper-case hex, hiding the data field of
// commands that carry a PIN block.
func commandHex(command []byte) string {
	s := strings.ToUpper(hex.EncodeToString(command))
	if len(command) > 5 && (command[1] == 0x20 || command[1] == 0x24) {
		s = s[:10] + strings.Repeat("*", len(s)-10)
	}
	return s
}

// learn records the account numbers found in a response.
func (t *tracer) learn(resp []byte) {
	if len(resp) <= 2 {
		return
	}
	data := resp[:len(resp)-2]
	var found []mask
	// Objects seen before a malformed one still count.
	err := tlv.Walk(data, func(_ int, o tlv.TLV) error {
		switch o.Tag {
		case 0x5A:
			found = appendPANMasks(found, panDigits(o.Value))
		case 0x57, 0x9F6B:
			found = appendTrack2Masks(found, o.Value)
		case 0x56:
			found = appendTrack1Masks(found, o.Value)
		}
		return nil
	})
	if err != nil {
		// A card that garbles a template length must not get its PAN
		// logged in clear: look for anything shaped like 5A or 57.
		found = scanPANs(found, data)
	}
	if len(found) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range found {
		if i := indexMask(t.masks, m.pattern); i >= 0 {
			t.masks = append(t.masks[:i], t.masks[i+1:]...) // refresh: move to newest
		}
		if len(t.masks) == maxMasks {
			t.masks = append(t.masks[:0], t.masks[1:]...)
		}
		t.masks = append(t.masks, m)
	}
}

func indexMask(ms []mask, pattern string) int {
	for i, m := range ms {
		if m.pattern == pattern {
			return i
		}
	}
	return -1
}

// snapshot returns the current masks, longest pattern first so that a whole
// track 2 is replaced before the PAN inside it.
func (t *tracer) snapshot() []mask {
	t.mu.Lock()
	ms := make([]mask, len(t.masks))
	copy(ms, t.masks)
	t.mu.Unlock()
	sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].pattern) > len(ms[j].pattern) })
	return ms
}

func applyMasks(ms []mask, s string) string {
	for _, m := range ms {
		s = strings.ReplaceAll(s, m.pattern, m.replacement)
	}
	return s
}

// panDigits returns the leading decimal digits of the nibbles of v (at most
// 19), up to the first non-digit nibble: the F padding of tag 5A or the D
// separator of tag 57.
func panDigits(v []byte) string {
	const maxPAN = 19
	digits := make([]byte, 0, maxPAN)
	for _, c := range v {
		for _, d := range [2]byte{c >> 4, c & 0x0F} {
			if d > 9 || len(digits) == maxPAN {
				return string(digits)
			}
			digits = append(digits, '0'+d)
		}
	}
	return string(digits)
}

// scanPANs searches data that is not valid TLV, byte by byte, for what
// looks like a tag 5A (a short length then 8-19 BCD digits padded with F)
// or a tag 57 (a short length then 8-19 BCD digits and the D separator).
func scanPANs(ms []mask, data []byte) []mask {
	for i := 0; i+2 < len(data); i++ {
		tag, n := data[i], int(data[i+1])
		if (tag != 0x5A && tag != 0x57) || n < 4 || n > 19 || n > len(data)-i-2 {
			continue
		}
		v := data[i+2 : i+2+n]
		pan := panDigits(v)
		if !validPAN(pan) {
			continue
		}
		if tag == 0x5A && onlyFPadding(v, len(pan)) {
			ms = appendPANMasks(ms, pan)
		}
		if tag == 0x57 && len(pan) < 2*n && nibble(v, len(pan)) == 0x0D {
			ms = appendTrack2Masks(ms, v)
		}
	}
	return ms
}

// nibble returns the i-th nibble of v (high nibble first).
func nibble(v []byte, i int) byte {
	if i%2 == 0 {
		return v[i/2] >> 4
	}
	return v[i/2] & 0x0F
}

// onlyFPadding reports whether every nibble of v from the digits-th on is F.
func onlyFPadding(v []byte, digits int) bool {
	for i := digits; i < 2*len(v); i++ {
		if nibble(v, i) != 0x0F {
			return false
		}
	}
	return true
}

// validPAN reports whether digits is long enough to be a PAN (ISO/IEC 7812
// allows 8 to 19 digits); shorter values would make masking garble the
// trace without protecting anything.
func validPAN(digits string) bool { return len(digits) >= 8 }

// appendPANMasks adds the masks for a PAN: its digits as BCD nibbles and as
// hex-encoded ASCII.
func appendPANMasks(ms []mask, pan string) []mask {
	if !validPAN(pan) {
		return ms
	}
	masked := tlv.MaskPAN(pan)
	if len(masked) != len(pan) {
		masked = strings.Repeat("*", len(pan)) // never expected; fail closed
	}
	return append(ms,
		mask{pattern: pan, replacement: masked},
		mask{pattern: asciiHex(pan), replacement: asciiHex(masked)})
}

// appendTrack1Masks adds the masks for track 1 data (tag 56, ASCII
// "B" PAN "^" ...): the PAN's digits, as in 5A.
func appendTrack1Masks(ms []mask, v []byte) []mask {
	s := string(v)
	if len(s) < 2 || s[0] != 'B' {
		return ms
	}
	pan, _, ok := strings.Cut(s[1:], "^")
	if !ok || strings.Trim(pan, "0123456789") != "" {
		return ms
	}
	return appendPANMasks(ms, pan)
}

// appendTrack2Masks adds the masks for a track 2 equivalent (tag 57): the
// PAN before the separator D, and the whole track with its discretionary
// data (after expiry YYMM and service code) hidden.
func appendTrack2Masks(ms []mask, v []byte) []mask {
	pan := panDigits(v)
	if !validPAN(pan) {
		return ms
	}
	ms = appendPANMasks(ms, pan)
	track := strings.TrimRight(strings.ToUpper(hex.EncodeToString(v)), "F")
	if len(track) <= len(pan) || track[len(pan)] != 'D' {
		return ms
	}
	keep := min(len(track), len(pan)+1+7) // separator, YYMM, service code
	// ms[len(ms)-2] is the BCD mask of the PAN added just above.
	masked := ms[len(ms)-2].replacement + track[len(pan):keep] + strings.Repeat("*", len(track)-keep)
	return append(ms, mask{pattern: track, replacement: masked})
}

func asciiHex(s string) string {
	return strings.ToUpper(hex.EncodeToString([]byte(s)))
}
