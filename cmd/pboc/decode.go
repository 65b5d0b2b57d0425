// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
	b, err := parseHex(text)
	if err != nil {
		return badInput("%w", err)
	}
	err = tlv.Dump(e.stdout, b)
	var te *tlv.Error
	if errors.As(err, &te) {
		return badInput("not BER-TLV: %v at byte %d of %d", strings.TrimPrefix(te.Err.Error(), "tlv: "), te.Offset, len(b))
	}
	return err
}
