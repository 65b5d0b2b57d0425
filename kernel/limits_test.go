// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/kernel"
)

func TestAPDUTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.APDUTimeout = 50 * time.Millisecond
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	card := loadCard(t, "default.json")
	n := 0
	stuck := apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
		n++
		if n == 5 { // the card stops answering after a few commands
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return card.Transmit(ctx, cmd)
	})
	start := time.Now()
	res, err := k.Purchase(context.Background(), stuck, 100)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
}

func TestTransactionDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	slow := apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		return []byte{0x6A, 0x82}, nil
	})
	res, err := newKernel(t).Purchase(ctx, slow, 100)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kernel.ErrNoApplication), "%v", err)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)
}

func TestAFLCannotKeepTheTerminalBusy(t *testing.T) {
	card := loadCard(t, "default.json")
	// SFI 1, records 1 to 255, then SFI 2..30 the same: thousands of records.
	afl := []byte{}
	for sfi := byte(1); sfi <= 30; sfi++ {
		afl = append(afl, sfi<<3, 1, 0xFF, 0)
	}
	gpo := append(append([]byte{0x80, byte(2 + len(afl)), 0x3C, 0x00}, afl...), 0x90, 0x00)
	m := &mangle{card: card, ins: 0xA8, fn: func([]byte) []byte { return gpo }}
	res, err := newKernel(t).Purchase(context.Background(), m, 100)
	require.ErrorIs(t, err, kernel.ErrCardData)
	assert.Contains(t, err.Error(), "AFL names more than")
	assert.Less(t, res.APDUs, 10)
}

func TestAPDUBudget(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAPDUs = 6
	k, err := kernel.New(cfg)
	require.NoError(t, err)
	res, err := k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.ErrorIs(t, err, kernel.ErrCardData)
	assert.LessOrEqual(t, res.APDUs, 7)
	assert.Equal(t, kernel.OutcomeTerminated, res.Outcome)

	cfg = testConfig()
	cfg.MaxResponseBytes = 200
	k, err = kernel.New(cfg)
	require.NoError(t, err)
	_, err = k.Purchase(context.Background(), loadCard(t, "default.json"), 100)
	require.ErrorIs(t, err, kernel.ErrCardData)
}
