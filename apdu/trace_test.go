// SPDX-License-Identifier: Apache-2.0

package apdu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testPAN       = "6234561234567890"
	testPANMasked = "623456******7890"
	// testRecord is SFI 1 record 1: 70 { 5A PAN, 57 track 2, 5F24 expiry }.
	testRecord = "7022" +
		"5A08 6234561234567890" +
		"5710 6234561234567890 D2512201 1234567F" +
		"5F2403 251231" +
		"9000"
)

// logLines decodes the JSON lines written by a slog.JSONHandler.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

func newTestLogger(buf *bytes.Buffer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level}))
}

// cardFunc answers with fixed responses by INS.
func cardFunc(t *testing.T, byINS map[byte]string) Transport {
	return TransportFunc(func(_ context.Context, c []byte) ([]byte, error) {
		if len(c) < 2 {
			return nil, errors.New("short command")
		}
		r, ok := byINS[c[1]]
		if !ok {
			return []byte{0x6D, 0x00}, nil
		}
		return mustHex(t, r), nil
	})
}

func TestTracerMasksPAN(t *testing.T) {
	var buf bytes.Buffer
	card := cardFunc(t, map[byte]string{
		0xB2: testRecord,
		// A later response carrying track 1 (ASCII) with the same PAN.
		0xCA: "9F1F14 " + strings.ToUpper(hexOf("B"+testPAN+"^ZHANG")) + " 9000",
		0xAE: "9F2701 80 9000",
	})
	tr := NewTracer(card, newTestLogger(&buf, slog.LevelDebug))
	ctx := context.Background()

	r, err := Exchange(ctx, tr, ReadRecord(1, 1))
	require.NoError(t, err)
	assert.Equal(t, mustHex(t, testRecord[:len(testRecord)-4]), r.Data, "the tracer does not alter the bytes")

	// The PAN now appears in a later command (e.g. CDOL data) and response.
	cdol := mustHex(t, "000000001234 "+testPAN+" 0156")
	_, err = Exchange(ctx, tr, GenerateAC(ACTypeARQC, cdol))
	require.NoError(t, err)
	_, err = Exchange(ctx, tr, GetData(0x9F1F))
	require.NoError(t, err)

	out := buf.String()
	assert.NotContains(t, out, testPAN, "full PAN leaked")
	assert.NotContains(t, out, hexOf(testPAN), "full PAN leaked as ASCII hex")
	assert.NotContains(t, strings.ToLower(out), strings.ToLower(hexOf(testPAN)))
	assert.NotContains(t, out, "1234567F", "track 2 discretionary data leaked")
	assert.Contains(t, out, testPANMasked)
	assert.Contains(t, out, strings.ToUpper(hexOf(testPANMasked)), "ASCII PAN masked in track 1")

	lines := logLines(t, &buf)
	require.Len(t, lines, 3)
	first := lines[0]
	assert.Equal(t, "DEBUG", first["level"])
	assert.Equal(t, "apdu", first["msg"])
	assert.Equal(t, "READ RECORD", first["cmd"])
	assert.Equal(t, "00B2010C00", first["c"])
	assert.Equal(t, "9000 success", first["sw"])
	assert.Contains(t, first, "took")
	assert.Equal(t, "7022"+"5A08"+testPANMasked+"5710"+testPANMasked+"D2512201*******F"+"5F2403251231"+"9000", first["r"])
	assert.Equal(t, "80AE800010000000001234"+testPANMasked+"015600", lines[1]["c"])
	assert.Equal(t, "GENERATE AC", lines[1]["cmd"])
	assert.Equal(t, "GET DATA", lines[2]["cmd"])
}

func hexOf(s string) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&0x0F])
	}
	return b.String()
}

func TestTracerLearnsFromMalformedTLV(t *testing.T) {
	var buf bytes.Buffer
	// 5A is complete, then a length that runs past the end.
	resp := "5A08" + testPAN + "9F4B20 0102 9000"
	tr := NewTracer(cardFunc(t, map[byte]string{0xB2: resp}), newTestLogger(&buf, slog.LevelDebug))
	_, err := Exchange(context.Background(), tr, ReadRecord(2, 1))
	require.NoError(t, err)
	out := buf.String()
	assert.NotContains(t, out, testPAN)
	assert.Contains(t, out, "5A08"+testPANMasked+"9F4B200102", "data that is not valid TLV is still logged")
}

func TestTracerScansBrokenTemplate(t *testing.T) {
	var buf bytes.Buffer
	// The template claims 0x24 bytes but holds 0x22: Walk fails before it
	// reaches 5A or 57, and the PAN must still not leak.
	resp := "7024" + testRecord[4:]
	tr := NewTracer(cardFunc(t, map[byte]string{0xB2: resp}), newTestLogger(&buf, slog.LevelDebug))
	_, err := Exchange(context.Background(), tr, ReadRecord(1, 1))
	require.NoError(t, err)
	out := buf.String()
	assert.NotContains(t, out, testPAN)
	assert.NotContains(t, out, "1234567F")
	assert.Contains(t, out, "7024"+"5A08"+testPANMasked+"5710"+testPANMasked+"D2512201*******F")
}

func TestTracerPANOnlyFromTags(t *testing.T) {
	var buf bytes.Buffer
	// Not TLV at all: nothing learned, the response is logged as is.
	tr := NewTracer(cardFunc(t, map[byte]string{0x84: "0102030405060708 9000"}), newTestLogger(&buf, slog.LevelDebug))
	_, err := Exchange(context.Background(), tr, GetChallenge())
	require.NoError(t, err)
	assert.Contains(t, buf.String(), `"r":"01020304050607089000"`)
	// A short "PAN" is not treated as one, so the trace is not garbled.
	buf.Reset()
	tr = NewTracer(cardFunc(t, map[byte]string{0xB2: "70035A0112 9000", 0x84: "1212 9000"}), newTestLogger(&buf, slog.LevelDebug))
	_, _ = Exchange(context.Background(), tr, ReadRecord(1, 1))
	_, _ = Exchange(context.Background(), tr, GetChallenge())
	assert.Contains(t, buf.String(), `"r":"12129000"`)
}

func TestTracerHidesPINBlock(t *testing.T) {
	var buf bytes.Buffer
	tr := NewTracer(cardFunc(t, map[byte]string{0x20: "63C2", 0x24: "9000"}), newTestLogger(&buf, slog.LevelDebug))
	_, err := Exchange(context.Background(), tr, Verify(0x80, mustHex(t, "241234FFFFFFFFFF")))
	require.NoError(t, err)
	_, err = Exchange(context.Background(), tr, Command{CLA: 0x84, INS: 0x24, P2: 0x01, Data: mustHex(t, "1122334455667788AABBCCDD")})
	require.NoError(t, err)
	out := buf.String()
	assert.NotContains(t, out, "241234")
	assert.NotContains(t, out, "1122334455667788")
	lines := logLines(t, &buf)
	require.Len(t, lines, 2)
	assert.Equal(t, "0020008008"+strings.Repeat("*", 16), lines[0]["c"])
	assert.Equal(t, "63C2 verification failed, 2 tries left", lines[0]["sw"])
	assert.Equal(t, "PIN CHANGE/UNBLOCK", lines[1]["cmd"])
}

func TestTracerLogsTransportError(t *testing.T) {
	var buf bytes.Buffer
	gone := errors.New("card removed")
	tr := NewTracer(TransportFunc(func(context.Context, []byte) ([]byte, error) { return nil, gone }),
		newTestLogger(&buf, slog.LevelDebug))
	_, err := tr.Transmit(context.Background(), []byte{0x00, 0xA4})
	require.ErrorIs(t, err, gone)
	lines := logLines(t, &buf)
	require.Len(t, lines, 1)
	assert.Equal(t, "card removed", lines[0]["err"])
	assert.Equal(t, "SELECT", lines[0]["cmd"])
	assert.NotContains(t, lines[0], "r")

	buf.Reset()
	tr = NewTracer(TransportFunc(func(context.Context, []byte) ([]byte, error) { return []byte{0x90}, nil }),
		newTestLogger(&buf, slog.LevelDebug))
	_, err = tr.Transmit(context.Background(), []byte{0x00})
	require.NoError(t, err, "the tracer passes the response through unchanged")
	lines = logLines(t, &buf)
	require.Len(t, lines, 1)
	assert.Equal(t, "malformed command", lines[0]["cmd"])
	assert.Equal(t, "no status word", lines[0]["sw"])
}

func TestTracerLearnsWhileDebugDisabled(t *testing.T) {
	var buf bytes.Buffer
	var level slog.LevelVar
	level.Set(slog.LevelInfo)
	tr := NewTracer(cardFunc(t, map[byte]string{0xB2: testRecord}), newTestLogger(&buf, &level))
	_, err := Exchange(context.Background(), tr, ReadRecord(1, 1))
	require.NoError(t, err)
	assert.Empty(t, buf.String(), "nothing is logged above debug level")

	level.Set(slog.LevelDebug)
	_, err = Exchange(context.Background(), tr, GenerateAC(ACTypeTC, mustHex(t, testPAN)))
	require.NoError(t, err)
	assert.NotContains(t, buf.String(), testPAN)
	assert.Contains(t, buf.String(), testPANMasked)
}

func TestTracerNilLoggerUsesDefault(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	slog.SetDefault(newTestLogger(&buf, slog.LevelDebug))
	tr := NewTracer(echo9000(), nil)
	_, err := Exchange(context.Background(), tr, GetChallenge())
	require.NoError(t, err)
	assert.Contains(t, buf.String(), `"cmd":"GET CHALLENGE"`)
}

func TestTracerBoundedMemory(t *testing.T) {
	var buf bytes.Buffer
	n := 0
	card := TransportFunc(func(context.Context, []byte) ([]byte, error) {
		n++
		pan := []byte{0x62, 0x34, 0x56, byte(n >> 8), byte(n), 0x11, 0x22, 0x33}
		return append(append([]byte{0x5A, 0x08}, pan...), 0x90, 0x00), nil
	})
	tr := NewTracer(card, newTestLogger(&buf, slog.LevelInfo)).(*tracer)
	for i := 0; i < 3*maxMasks; i++ {
		_, err := tr.Transmit(context.Background(), []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, len(tr.masks), maxMasks)
}

func TestTracerConcurrent(t *testing.T) {
	var buf syncBuffer
	tr := NewTracer(cardFunc(t, map[byte]string{0xB2: testRecord, 0xCA: "9F3602000A 9000"}),
		slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				_, err := Exchange(context.Background(), tr, ReadRecord(1, 1))
				assert.NoError(t, err)
				_, err = Exchange(context.Background(), tr, GetData(0x9F36))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	out := buf.String()
	assert.NotContains(t, out, testPAN)
	assert.Equal(t, 8*20*2, strings.Count(out, "\n"))
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func BenchmarkTracer(b *testing.B) {
	b.ReportAllocs()
	resp := []byte{0x70, 0x0A, 0x5A, 0x08, 0x62, 0x34, 0x56, 0x12, 0x34, 0x56, 0x78, 0x90, 0x90, 0x00}
	tr := NewTracer(TransportFunc(func(context.Context, []byte) ([]byte, error) { return resp, nil }),
		slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	cmd := ReadRecord(1, 1).Bytes()
	ctx := context.Background()
	for b.Loop() {
		if _, err := tr.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// A card that sends its PAN only in track 1 (56) or qPBOC track 2 (9F6B)
// still never has it logged in clear.
func TestTracerLearnsFromTrack1And9F6B(t *testing.T) {
	track1 := "B" + testPAN + "^ZHANG/SAN^2512201"
	for name, answer := range map[string]string{
		"56":   fmt.Sprintf("70%02X 56%02X", len(track1)+2, len(track1)) + hexOf(track1) + " 9000",
		"9F6B": "700B 9F6B08" + testPAN + " 9000",
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			card := cardFunc(t, map[byte]string{0xB2: answer, 0xAE: "9F2701 80 9000"})
			tr := NewTracer(card, newTestLogger(&buf, slog.LevelDebug))
			_, _ = Exchange(context.Background(), tr, ReadRecord(1, 1))
			_, _ = Exchange(context.Background(), tr, GenerateAC(ACTypeARQC, mustHex(t, testPAN)))
			out := buf.String()
			assert.NotContains(t, out, testPAN, "full PAN leaked")
			assert.NotContains(t, out, hexOf(testPAN), "full PAN leaked as ASCII hex")
		})
	}
}
