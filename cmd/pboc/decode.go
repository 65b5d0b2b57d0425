// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/go-pboc/pboc/tlv"
)

// maxDecodeInput bounds what decode reads from standard input.
const maxDecodeInput = 1 << 20

// cmdDecode implements "pboc decode HEX... | -".
func cmdDecode(_ context.Context, e *env, args []string) error {
	f := newFlags(e, "decode", "HEX... | -", `
Decodes BER-TLV given as hex (spaces, colons and line breaks ignored; "-"
reads standard input) as the trace does: tag names, formats, amounts,
dates, codes and bit fields decoded. Bad hex, empty input and truncated or
malformed TLV are bad input (exit status 2).`)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return badInput("HEX needed (or - for standard input)")
	}
	text := strings.Join(pos, "")
	if len(pos) == 1 && pos[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxDecodeInput+1))
		if err != nil {
			return fmt.Errorf("standard input: %w", err)
		}
		if len(b) > maxDecodeInput {
			return badInput("standard input: more than %d bytes", maxDecodeInput)
		}
		text = string(b)
	}
	text = strings.NewReplacer(" ", "", ":", "", "\n", "", "\r", "", "\t", "").Replace(text)
	if text == "" {
		return badInput("empty input")
	}
	for i, r := range text {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return badInput("not hex: %q (U+%04X) at character %d", r, r, utf8.RuneCountInString(text[:i])+1)
		}
	}
	b, err := hex.DecodeString(text)
	if err != nil {
		return badInput("not hex: an odd number of digits (%d)", len(text))
	}
	err = tlv.Dump(e.stdout, b)
	var te *tlv.Error
	if errors.As(err, &te) {
		return badInput("not BER-TLV: %v at byte %d of %d", strings.TrimPrefix(te.Err.Error(), "tlv: "), te.Offset, len(b))
	}
	return err
}
