// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-pboc/pboc/bcd"
	"github.com/go-pboc/pboc/kernel"
)

// Full-width input. A Chinese input method in full-width mode (全角) types
// the digits as U+FF10..U+FF19 and the point as U+FF0E ("１２．３４").
// They mean what they show, so amounts, PINs and batch numbers accept
// them as the ASCII digits and point. Anything else that is not ASCII —
// the ideographic full stop 。 (U+3002), a full-width comma or minus — is
// refused with a message that shows the character and its code point: a
// separator that might be a thousands mark or a decimal point is not
// guessed at.

// halfWidth maps full-width digits and the full-width point to ASCII and
// trims white space (the ideographic space U+3000 too).
func halfWidth(s string) string {
	s = strings.TrimSpace(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '．':
			return '.'
		}
		return r
	}, s)
}

// parseAmount reads the amount flag name (in yuan, e.g. 12.34, at most two
// decimals, at most 9999999999.99) as the user typed it. It returns bad
// input with one message that shows what was typed.
func parseAmount(name, typed string) (kernel.Amount, error) {
	if strings.TrimSpace(typed) == "" {
		return 0, badInput("--%s is required (yuan with up to two decimals, e.g. 12.34)", name)
	}
	s := halfWidth(typed)
	bad := func(why string, args ...any) error {
		return badInput("--%s %q: %s", name, typed, fmt.Sprintf(why, args...))
	}
	if s[0] == '-' || strings.HasPrefix(s, "－") {
		return 0, bad("a negative amount")
	}
	for i, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return 0, bad("%q (U+%04X) at character %d is not a digit or a decimal point", r, r, utf8.RuneCountInString(s[:i])+1)
		}
	}
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case strings.Contains(frac, "."):
		return 0, bad("more than one decimal point")
	case dot && len(frac) > 2:
		return 0, bad("more than two decimals (the smallest unit is 0.01)")
	case dot && (whole == "" || frac == ""):
		return 0, bad("a decimal point needs digits on both sides")
	}
	a, err := kernel.ParseAmount(s)
	switch {
	case errors.Is(err, bcd.ErrOverflow) || errors.Is(err, kernel.ErrAmount):
		return 0, bad("more than %s", kernel.MaxAmount)
	case err != nil:
		return 0, bad("not an amount in yuan (e.g. 12.34)")
	}
	return a, nil
}

// parsePositiveAmount is parseAmount refusing zero.
func parsePositiveAmount(name, typed string) (kernel.Amount, error) {
	a, err := parseAmount(name, typed)
	if err == nil && a == 0 {
		return 0, badInput("--%s %q: must be more than 0", name, typed)
	}
	return a, err
}

// PIN lengths of ISO 9564-1.
const minPIN, maxPIN = 4, 12

// parsePIN checks the PIN the cardholder types: 4 to 12 digits (full-width
// digits accepted), or empty for a cardholder who bypasses PIN entry. The
// message never repeats what was typed: it is a PIN.
func parsePIN(typed string) (string, error) {
	if typed == "" {
		return "", nil
	}
	s := halfWidth(typed)
	n := utf8.RuneCountInString(s)
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", badInput("--pin: digits only (%d characters typed)", n)
		}
	}
	if n < minPIN || n > maxPIN {
		return "", badInput("--pin: %d digits, want %d to %d", n, minPIN, maxPIN)
	}
	return s, nil
}

// parseHex reads hex the user typed or named (white space and colons
// ignored). Its error shows the first character that is not a hex digit,
// with its code point and position, or says the digits are odd in number:
// plainer than encoding/hex's "invalid byte: U+007A 'z'", which names
// neither where nor the input.
func parseHex(s string) ([]byte, error) {
	s = strings.NewReplacer(" ", "", ":", "", "\n", "", "\r", "", "\t", "").Replace(s)
	for i, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return nil, fmt.Errorf("not hex: %q (U+%04X) at character %d", r, r, utf8.RuneCountInString(s[:i])+1)
		}
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("not hex: an odd number of digits (%d)", len(s))
	}
	return hex.DecodeString(s)
}

// checkAddr refuses, as bad input and before anything dials or listens,
// an address of the flag name that cannot be one: not HOST:PORT, or a
// port that is not a number from 1 (0 too when listen: any free port) to
// 65535. The net package would say it later, the address three times
// ("connecting to server x: dial tcp: address x: missing port in
// address"), or, for vpcd, retry it forever.
func checkAddr(name, addr string, listen bool) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return badInput("--%s %q: want HOST:PORT", name, addr)
	}
	low := 1
	if listen {
		low = 0
	}
	if n, err := strconv.Atoi(port); err != nil || n < low || n > 65535 {
		return badInput("--%s %q: port %q, want %d to 65535", name, addr, port, low)
	}
	return nil
}
