// SPDX-License-Identifier: Apache-2.0

package kernel

import "github.com/go-pboc/pboc/tlv"

// tagTable holds a transaction's data objects by tag: an open-addressed
// table with linear probing over a power-of-two number of slots, grown at
// three quarters full. A transaction looks tags up a few hundred times;
// this costs a multiply and a compare where a Go map hashes and walks its
// groups, and it is recycled with the transaction (reset keeps its slots).
// Tag 0 is not a tag and marks an empty slot. Values are the caller's (the
// table stores slices, never copies).
type tagTable struct {
	keys []tlv.Tag
	vals [][]byte
	n    int
}

// newTagTable returns a table with room for about n tags before it grows.
func newTagTable(n int) tagTable {
	size := 16
	for size*3/4 < n {
		size *= 2
	}
	return tagTable{keys: make([]tlv.Tag, size), vals: make([][]byte, size)}
}

// slot is where tag is, or the empty slot where it would go.
func (m *tagTable) slot(tag tlv.Tag) int {
	mask := len(m.keys) - 1
	i := int(uint32(tag)*0x9E3779B1>>16) & mask
	for m.keys[i] != tag && m.keys[i] != 0 {
		i = (i + 1) & mask
	}
	return i
}

// get returns tag's value and whether the table holds it.
func (m *tagTable) get(tag tlv.Tag) ([]byte, bool) {
	if tag == 0 || len(m.keys) == 0 {
		return nil, false
	}
	i := m.slot(tag)
	return m.vals[i], m.keys[i] == tag
}

// val returns tag's value, nil when the table does not hold it.
func (m *tagTable) val(tag tlv.Tag) []byte {
	v, _ := m.get(tag)
	return v
}

// has reports whether the table holds tag.
func (m *tagTable) has(tag tlv.Tag) bool {
	_, ok := m.get(tag)
	return ok
}

// set stores v under tag (tag 0 is ignored).
func (m *tagTable) set(tag tlv.Tag, v []byte) {
	if tag == 0 {
		return
	}
	if (m.n+1)*4 > len(m.keys)*3 {
		m.grow()
	}
	i := m.slot(tag)
	if m.keys[i] == 0 {
		m.keys[i] = tag
		m.n++
	}
	m.vals[i] = v
}

// del removes tag, shifting back the entries after it so that no probe
// sequence is broken.
func (m *tagTable) del(tag tlv.Tag) {
	if tag == 0 || len(m.keys) == 0 {
		return
	}
	i := m.slot(tag)
	if m.keys[i] != tag {
		return
	}
	mask := len(m.keys) - 1
	m.keys[i], m.vals[i] = 0, nil
	m.n--
	for j := (i + 1) & mask; m.keys[j] != 0; j = (j + 1) & mask {
		k, v := m.keys[j], m.vals[j]
		m.keys[j], m.vals[j] = 0, nil
		s := m.slot(k)
		m.keys[s], m.vals[s] = k, v
	}
}

// grow doubles the slots (or makes the first 16).
func (m *tagTable) grow() {
	old := *m
	size := 2 * len(old.keys)
	if size == 0 {
		size = 16
	}
	*m = tagTable{keys: make([]tlv.Tag, size), vals: make([][]byte, size)}
	for i, k := range old.keys {
		if k != 0 {
			m.set(k, old.vals[i])
		}
	}
}

// reset empties the table, keeping its slots.
func (m *tagTable) reset() {
	clear(m.keys)
	clear(m.vals)
	m.n = 0
}

// len is the number of tags held.
func (m *tagTable) len() int { return m.n }
