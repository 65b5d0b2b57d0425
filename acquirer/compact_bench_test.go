// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
)

// BenchmarkOpenState opens the state of a terminal that did 5000 sales in
// a settled batch: "history" replays the whole log (what OpenState did
// before compaction, measured without it), "open+compact" is the first
// OpenState on that log, which compacts it, and "compacted" every later
// one.
func BenchmarkOpenState(b *testing.B) {
	ctx := context.Background()
	key, err := journal.NewAESGCMKey(compactKey)
	require.NoError(b, err)
	dir := b.TempDir()
	long := filepath.Join(dir, "long.state")
	writeLongLog(b, long, 5000)
	b.Run("history", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l, err := journal.OpenLog(long)
			require.NoError(b, err)
			_, err = newState(ctx, l, key)
			require.NoError(b, err)
			require.NoError(b, l.Close())
		}
		b.ReportMetric(float64(fileSize(b, long)), "file-bytes")
	})
	b.Run("open+compact", func(b *testing.B) {
		b.ReportAllocs()
		path := filepath.Join(dir, "copy.state")
		for b.Loop() {
			b.StopTimer()
			copyFile(b, long, path)
			b.StartTimer()
			st, err := OpenState(ctx, path, key)
			require.NoError(b, err)
			require.NoError(b, st.Close())
		}
	})
	compacted := filepath.Join(dir, "compacted.state")
	copyFile(b, long, compacted)
	st, err := OpenState(ctx, compacted, key)
	require.NoError(b, err)
	require.NoError(b, st.Close())
	b.Run("compacted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := OpenState(ctx, compacted, key)
			require.NoError(b, err)
			require.NoError(b, st.Close())
		}
		b.ReportMetric(float64(fileSize(b, compacted)), "file-bytes")
	})
}
