// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
)

func TestFaultyRemove(t *testing.T) {
	c := newDefault(t)
	f := NewFaulty(c, Fault{At: 1, Kind: FaultRemove})
	assert.Equal(t, apdu.SWSuccess, selectAID(t, f, debitAID).SW)
	for i := 0; i < 3; i++ {
		_, err := f.Transmit(context.Background(), apdu.GetProcessingOptions(pdolData(t, true, 1, cny)).Bytes())
		assert.ErrorIs(t, err, ErrCardRemoved)
	}
	assert.True(t, f.Removed())
	assert.Equal(t, uint16(0), c.ATC(debitAID), "the GPO never reached the card")
	assert.Equal(t, 4, f.Count())

	f.Reinsert()
	assert.False(t, f.Removed())
	// Reinsertion powers the card up afresh: no application selected.
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, f, apdu.GetProcessingOptions(pdolData(t, true, 1, cny))).SW)
	assert.Equal(t, apdu.SWSuccess, purchaseToGPO(t, f, true, 1).SW)
	assert.Equal(t, 7, f.Count())
}

func TestFaultyReaderErrorAndTimeout(t *testing.T) {
	c := newDefault(t)
	f := NewFaulty(c, Fault{At: 1, Kind: FaultReaderError}, Fault{At: 2, Kind: FaultTimeout})
	require.Equal(t, apdu.SWSuccess, selectAID(t, f, debitAID).SW)
	gpo := apdu.GetProcessingOptions(pdolData(t, true, 1, cny)).Bytes()
	_, err := f.Transmit(context.Background(), gpo)
	assert.ErrorIs(t, err, ErrReader)
	_, err = f.Transmit(context.Background(), gpo)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, uint16(0), c.ATC(debitAID), "card state untouched")
	assert.False(t, f.Removed())
	// The selection survived: the retried GPO works.
	assert.Equal(t, apdu.SWSuccess, sendRaw(t, f, gpo).SW)
	assert.Equal(t, uint16(1), c.ATC(debitAID))
}

func TestFaultySW(t *testing.T) {
	c := newDefault(t)
	f := NewFaulty(c, Fault{At: 0, Kind: FaultSW, SW: 0x6985})
	out, err := f.Transmit(context.Background(), apdu.Select(unhex(t, debitAID)).Bytes())
	require.NoError(t, err)
	assert.Equal(t, []byte{0x69, 0x85}, out)
	// The SELECT was not executed.
	assert.Equal(t, apdu.SWConditionsNotSatisfied, send(t, f, apdu.GetData(0x9F79)).SW)
}

func TestFaultyTruncateAndCorrupt(t *testing.T) {
	c := newDefault(t)
	ref := newDefault(t)
	want, err := ref.Transmit(context.Background(), apdu.Select(unhex(t, debitAID)).Bytes())
	require.NoError(t, err)

	f := NewFaulty(c, Fault{At: 0, Kind: FaultTruncate}, Fault{At: 1, Kind: FaultCorrupt}, Fault{At: 2, Kind: FaultCorrupt})
	out, err := f.Transmit(context.Background(), apdu.Select(unhex(t, debitAID)).Bytes())
	require.NoError(t, err)
	assert.Equal(t, want[:len(want)/2], out)

	out, err = f.Transmit(context.Background(), apdu.Select(unhex(t, debitAID)).Bytes())
	require.NoError(t, err)
	require.Len(t, out, len(want))
	diff := 0
	for i := range out {
		if out[i] != want[i] {
			diff++
			assert.Equal(t, want[i]^0xFF, out[i])
			assert.Less(t, i, len(out)-2, "the data is corrupted, not the SW")
		}
	}
	assert.Equal(t, 1, diff)

	// Without data, the status word is hit.
	out, err = f.Transmit(context.Background(), apdu.ReadRecord(11, 1).Bytes())
	require.NoError(t, err)
	assert.Equal(t, []byte{0x6A, 0x83 ^ 0xFF}, out)
}

func TestFaultyTorn(t *testing.T) {
	c := newDefault(t)
	f := NewFaulty(c, Fault{At: 2, Kind: FaultTorn})
	require.Equal(t, apdu.SWSuccess, purchaseToGPO(t, f, true, 1000).SW)
	_, err := f.Transmit(context.Background(), apdu.GenerateAC(apdu.ACTypeTC, cdol1Data(t, 1000)).Bytes())
	assert.ErrorIs(t, err, ErrCardRemoved)
	// The card did deduct: the terminal never saw the TC.
	assert.Equal(t, uint64(49000), c.Balance(debitAID))
	assert.Len(t, c.Log(debitAID), 1)
	_, err = f.Transmit(context.Background(), apdu.GetData(0x9F79).Bytes())
	assert.ErrorIs(t, err, ErrCardRemoved)

	f.Reinsert()
	require.Equal(t, apdu.SWSuccess, selectAID(t, f, debitAID).SW)
	assert.Equal(t, []byte{0x9F, 0x79, 0x06, 0, 0, 0, 0x04, 0x90, 0x00}, send(t, f, apdu.GetData(0x9F79)).Data)
}

func TestFaultKindString(t *testing.T) {
	assert.Equal(t, "torn", FaultTorn.String())
	assert.Equal(t, "remove", FaultRemove.String())
	assert.Equal(t, "FaultKind(99)", FaultKind(99).String())
}
