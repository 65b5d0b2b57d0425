// SPDX-License-Identifier: Apache-2.0

package oda

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// A certificate naming another PAN fails with ErrPAN, and the error text
// (which reaches logs and results) shows neither PAN in full.
func TestPANMismatchTextIsMasked(t *testing.T) {
	cert, _ := hex.DecodeString("6222021000999999997F")
	pan, _ := hex.DecodeString("6222021000123456781F")
	err := checkPAN(cert, pan)
	if !errors.Is(err, ErrPAN) {
		t.Fatalf("err = %v, want ErrPAN", err)
	}
	for _, digits := range []string{"6222021000999999997", "6222021000123456781", "1000999999", "1000123456"} {
		if strings.Contains(err.Error(), digits) {
			t.Errorf("%q shows %s", err, digits)
		}
	}
	if !strings.Contains(err.Error(), "622202*********6781") {
		t.Errorf("%q does not show the masked PAN", err)
	}
}
