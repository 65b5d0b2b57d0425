// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"context"
	"testing"
	"time"
)

// FuzzParse feeds hostile scenario files to Parse and runs the ones it
// accepts: neither may panic, and an accepted scenario always produces a
// report with a status.
func FuzzParse(f *testing.F) {
	f.Add([]byte(brokenScenario))
	f.Add([]byte(`{"card": "../cards/default.json", "card_patch": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}, "transaction": {"type": "balance"}, "expect": {}}`))
	// More seeds in testdata/fuzz/FuzzParse.
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, suiteDir)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := Run(ctx, s)
		if r.Status == "" {
			t.Fatalf("no status: %v", r)
		}
		_ = r.String()
	})
}
