// SPDX-License-Identifier: Apache-2.0

package kernel

import (
	"math/rand/v2"
	"testing"

	"github.com/go-pboc/pboc/tlv"
)

// The tag table behaves as a map through any sequence of sets and
// deletes, growth included.
func TestTagTableAgreesWithAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tab := newTagTable(4)
	want := map[tlv.Tag][]byte{}
	for i := range 20000 {
		tag := tlv.Tag(r.IntN(300) + 1)
		if r.IntN(3) == 0 {
			tab.del(tag)
			delete(want, tag)
		} else {
			v := []byte{byte(i)}
			tab.set(tag, v)
			want[tag] = v
		}
		if i%97 == 0 {
			for k := tlv.Tag(0); k <= 301; k++ {
				got, ok := tab.get(k)
				w, wok := want[k]
				if ok != wok || string(got) != string(w) {
					t.Fatalf("step %d tag %d: got %v %v, want %v %v", i, k, got, ok, w, wok)
				}
			}
			if tab.len() != len(want) {
				t.Fatalf("len %d, want %d", tab.len(), len(want))
			}
		}
	}
	tab.reset()
	if tab.len() != 0 || tab.has(1) {
		t.Fatal("reset left entries")
	}
}
