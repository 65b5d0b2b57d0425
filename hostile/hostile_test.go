// SPDX-License-Identifier: Apache-2.0

package hostile_test

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostile"
	"github.com/go-pboc/pboc/tlv"
)

const aid = "A000000333010101"

func card(t *testing.T) *cardsim.Card {
	t.Helper()
	c, err := cardsim.New(cardsim.DefaultProfile())
	require.NoError(t, err)
	return c
}

func send(t *testing.T, tr apdu.Transport, c apdu.Command) (apdu.Response, error) {
	t.Helper()
	return apdu.Exchange(context.Background(), tr, c)
}

func selectAID(t *testing.T, tr apdu.Transport) {
	t.Helper()
	b, _ := hex.DecodeString(aid)
	r, err := send(t, tr, apdu.Select(b))
	require.NoError(t, err)
	require.Equal(t, apdu.SWSuccess, r.SW)
}

// DropAnswer lets the card act and loses its answer; Unplug keeps the
// command from the card.
func TestDropAndUnplug(t *testing.T) {
	c := card(t)
	lies := hostile.NewCard(c, hostile.DropAnswer(hostile.INSSelect, 1))
	b, _ := hex.DecodeString(aid)
	_, err := send(t, lies, apdu.Select(b))
	require.ErrorIs(t, err, hostile.ErrDropped)
	assert.Equal(t, 1, lies.Told(0))
	r, err := send(t, lies, apdu.Select(b))
	require.NoError(t, err, "only the first")
	assert.Equal(t, apdu.SWSuccess, r.SW)

	before := c.ATC(aid)
	gone := hostile.NewCard(c, hostile.Unplug(hostile.INSGPO, 0))
	selectAID(t, gone)
	_, err = send(t, gone, apdu.GetProcessingOptions(make([]byte, 9)))
	require.True(t, errors.Is(err, hostile.ErrDropped))
	assert.Equal(t, before, c.ATC(aid), "the card never saw the GPO")
}

// GetData and ReadRecord answer for the card; Replay repeats the first
// answer.
func TestAnswersAndReplay(t *testing.T) {
	lies := hostile.NewCard(card(t), hostile.GetData(0x9F79, []byte{0, 0, 0, 9, 9, 9}), hostile.ReadRecord(11, 1, []byte{1, 2, 3}))
	selectAID(t, lies)
	r, err := send(t, lies, apdu.GetData(0x9F79))
	require.NoError(t, err)
	assert.Equal(t, tlv.Append(nil, 0x9F79, []byte{0, 0, 0, 9, 9, 9}), r.Data)
	r, err = send(t, lies, apdu.ReadRecord(11, 1))
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, r.Data)

	rep := hostile.NewCard(card(t), hostile.Replay(hostile.INSGetData))
	selectAID(t, rep)
	first, err := send(t, rep, apdu.GetData(0x9F79))
	require.NoError(t, err)
	second, err := send(t, rep, apdu.GetData(0x9F77))
	require.NoError(t, err)
	assert.Equal(t, first, second, "the first answer, replayed")
}

// LogRecord lays a record out as the log format says, right-aligned and
// zero-filled.
func TestLogRecord(t *testing.T) {
	format, _ := hex.DecodeString("9A039F02069F3602")
	rec, err := hostile.LogRecord(format, map[tlv.Tag][]byte{0x9A: {0x26, 0x11, 0x30}, 0x9F02: {0x12, 0x34}, 0x9F36: {0, 7}})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x26, 0x11, 0x30, 0, 0, 0, 0, 0x12, 0x34, 0, 7}, rec)
	_, err = hostile.LogRecord([]byte{0x9F}, nil)
	assert.Error(t, err)
}
