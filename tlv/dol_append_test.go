// SPDX-License-Identifier: Apache-2.0

package tlv

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDOLAppend(t *testing.T) {
	for _, in := range []string{pbocPDOL, pbocCDOL1, "", "9F37", "9F", "DF811104"} {
		want, wantErr := ParseDOL(h(in))
		scratch := make(DOL, 0, 16)
		got, err := ParseDOLAppend(scratch, h(in))
		if wantErr != nil {
			assert.Nil(t, got, in)
			assert.Equal(t, wantErr, err, in)
			var e *Error
			assert.True(t, errors.As(err, &e), in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, append(DOL(nil), want...), append(DOL(nil), got...), in)
		if len(want) > 0 {
			assert.Same(t, &scratch[:1][0], &got[0], "%s: reuses the storage it was given", in)
		}
	}
	// Appends after what dst holds.
	d, err := ParseDOLAppend(DOL{{Tag: 0x9F37, Len: 4}}, h(pbocPDOL))
	require.NoError(t, err)
	assert.Equal(t, DOL{{0x9F37, 4}, {0x9F7A, 1}, {0x9F02, 6}, {0x5F2A, 2}}, d)
}

func TestParseDOLAppendDoesNotAllocate(t *testing.T) {
	b := h(pbocCDOL1)
	scratch := make(DOL, 0, 16)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if scratch, err = ParseDOLAppend(scratch[:0], b); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
