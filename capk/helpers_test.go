// SPDX-License-Identifier: Apache-2.0

package capk_test

import (
	"crypto/sha1" //nolint:gosec // the EMV checksum is SHA-1.
	"encoding/hex"
	"strings"
)

func sha1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
