// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package purse_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/purse"
)

// The crash test re-runs this test binary as a child process: the
// terminal. The card, the PSAM and the reserve host stay in the parent (they
// are other devices, and survive the terminal), reached over the child's
// stdin and stdout. The parent SIGKILLs the child at a chosen step of a
// chosen record write (before the frame, with the frame half on disk, after
// the write was acknowledged), then restarts the terminal on the same store,
// presents the card and checks that the card, the reserve and the records
// agree: money moved exactly once or not at all, and every record is final.

const (
	envCrashChild = "PBOC_PURSE_CRASH_CHILD"
	envCrashPath  = "PBOC_PURSE_CRASH_PATH"
	envCrashFlow  = "PBOC_PURSE_CRASH_FLOW"
)

// wire is one message between child and parent.
type wire struct {
	ASN  string                  `json:"asn,omitempty"`
	Req  *purse.HostRequest      `json:"req,omitempty"`
	Conf *purse.HostConfirmation `json:"conf,omitempty"`
}

// link is the child's side of the line protocol.
type link struct {
	in  *bufio.Reader
	out io.Writer
}

func (l *link) call(line string) string {
	fmt.Fprintln(l.out, line)
	s, err := l.in.ReadString('\n')
	if err != nil {
		os.Exit(5) // the parent went away
	}
	return strings.TrimSpace(s)
}

type remote struct {
	l      *link
	prefix string
}

func (r *remote) Transmit(_ context.Context, b []byte) ([]byte, error) {
	ans := r.l.call(r.prefix + " " + hex.EncodeToString(b))
	if v, ok := strings.CutPrefix(ans, "R "); ok {
		return hex.DecodeString(v)
	}
	return nil, errors.New(ans)
}

type remoteHost struct{ l *link }

func hostErr(ans string) error {
	switch {
	case strings.HasPrefix(ans, "D "):
		code, reason, _ := strings.Cut(strings.TrimPrefix(ans, "D "), " ")
		return &purse.DeclineError{Code: code, Reason: reason}
	case strings.HasPrefix(ans, "V "):
		return fmt.Errorf("%w: %s", purse.ErrEvidence, ans)
	}
	return errors.New(ans)
}

func (h remoteHost) Authorize(_ context.Context, req *purse.HostRequest) (*purse.HostResponse, error) {
	b, _ := json.Marshal(wire{ASN: req.ASN.Digits(), Req: req})
	ans := h.l.call("A " + string(b))
	if v, ok := strings.CutPrefix(ans, "R "); ok {
		var resp purse.HostResponse
		return &resp, json.Unmarshal([]byte(v), &resp)
	}
	return nil, hostErr(ans)
}

func (h remoteHost) Confirm(_ context.Context, c *purse.HostConfirmation) error {
	b, _ := json.Marshal(wire{ASN: c.ASN.Digits(), Conf: c})
	if ans := h.l.call("F " + string(b)); ans != "OK" {
		return hostErr(ans)
	}
	return nil
}

// TestCrashChild is the terminal process.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) != "1" {
		t.Skip("child process of TestCrashAtEveryRecordWrite")
	}
	l := &link{in: bufio.NewReader(os.Stdin), out: os.Stdout}
	n := 0
	purse.SetPutHook(func(step, path string) {
		st, _ := os.Stat(path)
		l.call(fmt.Sprintf("P %s %d %d", step, n, st.Size()))
		if step == "after" {
			n++
		}
	})
	store, err := purse.OpenStore(os.Getenv(envCrashPath), storeKey)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	ctx := context.Background()
	sam, err := purse.OpenPSAM(ctx, &remote{l, "S"})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	term, _ := purse.New(purse.Config{Now: func() time.Time { return testNow }}, purse.WithHost(remoteHost{l}),
		purse.WithSAM(sam), purse.WithStore(store), purse.WithPINPad(hostsim.PursePINPad{PIN: "123456"}))
	s := &station{term: term}
	card := &remote{l, "C"}
	var f flow
	for _, x := range flows {
		if x.name == os.Getenv(envCrashFlow) {
			f = x
		}
	}
	if f.name == "fuel" {
		_, _ = term.Dispense(ctx, card, purse.DispenseRequest{Preset: 30000, Nozzle: reportingPump{l}})
	} else {
		_, _ = f.run(s, card)
	}
	l.call("DONE")
	os.Exit(0)
}

// reportingPump tells the parent it delivered, before it returns.
type reportingPump struct{ l *link }

func (p reportingPump) Fuel(_ context.Context, limit purse.Amount) (purse.Fill, error) {
	a := min(limit, 25000)
	p.l.call(fmt.Sprintf("FUEL %d", a))
	return purse.Fill{Amount: a, Volume: uint32(a) * 100 / 785, Price: 785, Grade: 92, Nozzle: 1}, nil
}

// crashRun is what the parent saw of one child run.
type crashRun struct {
	puts    int          // record writes acknowledged
	killed  string       // "" when the child finished
	fuelled purse.Amount // what the pump delivered
}

// runTerminal runs the child against s's devices and kills it at put k
// (0-based) step ("before", "torn", "after"; k < 0: never).
func runTerminal(t *testing.T, s *station, f flow, k int, step string) crashRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashChild+"=1", envCrashPath+"="+s.path, envCrashFlow+"="+f.name)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var run crashRun
	var before int64
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		verb, arg, _ := strings.Cut(line, " ")
		reply := ""
		switch verb {
		case "C", "S":
			reply = s.serveDevice(verb, arg)
		case "A", "F":
			reply = s.serveHost(verb, arg)
		case "FUEL":
			v, _ := strconv.Atoi(arg)
			run.fuelled = purse.Amount(v)
			reply = "GO"
		case "P":
			parts := strings.Fields(arg)
			n, _ := strconv.Atoi(parts[1])
			size, _ := strconv.ParseInt(parts[2], 10, 64)
			if parts[0] == "before" {
				before = size
			} else {
				run.puts = n + 1
			}
			if n == k && (parts[0] == step || (step == "torn" && parts[0] == "after")) {
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				run.killed = step
				if step == "torn" {
					require.NoError(t, os.Truncate(s.path, before+(size-before)/2)) // half the frame
					run.puts = n
				}
				if step == "before" {
					run.puts = n
				}
			}
			reply = "GO"
		case "DONE":
			reply = "BYE"
		case "ERR":
			t.Errorf("child: %s", line)
		}
		if run.killed != "" {
			break
		}
		fmt.Fprintln(in, reply)
	}
	_ = cmd.Wait()
	return run
}

// serveDevice answers a command of the child to the card ("C") or the
// PSAM ("S").
func (s *station) serveDevice(verb, arg string) string {
	dev := interface {
		Transmit(context.Context, []byte) ([]byte, error)
	}(s.card)
	if verb == "S" {
		dev = s.psam
	}
	b, _ := hex.DecodeString(arg)
	r, err := dev.Transmit(context.Background(), b)
	if err != nil {
		return "X " + err.Error()
	}
	return "R " + hex.EncodeToString(r)
}

// serveHost answers a host call of the child with the station's reserve.
func (s *station) serveHost(verb, arg string) string {
	var w wire
	if err := json.Unmarshal([]byte(arg), &w); err != nil {
		return "X " + err.Error()
	}
	asn, err := purse.ParseASN(w.ASN)
	if err != nil {
		return "X " + err.Error()
	}
	var de *purse.DeclineError
	if verb == "A" {
		w.Req.ASN = asn
		resp, err := s.reserve.Authorize(context.Background(), w.Req)
		switch {
		case errors.As(err, &de):
			return "D " + de.Code + " " + de.Reason
		case err != nil:
			return "X " + err.Error()
		}
		b, _ := json.Marshal(resp)
		return "R " + string(b)
	}
	w.Conf.ASN = asn
	switch err := s.reserve.Confirm(context.Background(), w.Conf); {
	case errors.Is(err, purse.ErrEvidence):
		return "V " + err.Error()
	case err != nil:
		return "X " + err.Error()
	}
	return "OK"
}

func TestCrashAtEveryRecordWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			clean := newStation(t, nil)
			require.NoError(t, clean.store.Close())
			run := runTerminal(t, clean, f, -1, "")
			require.Empty(t, run.killed)
			c, _ := f.moved(clean)
			require.Equal(t, int64(f.amount), c, "the clean run paid")
			rows := 0
			for k := 0; k < run.puts; k++ {
				for _, step := range []string{"before", "torn", "after"} {
					what := fmt.Sprintf("%s: killed at write %d %s", f.name, k, step)
					s := newStation(t, nil)
					require.NoError(t, s.store.Close())
					s.store = nil
					r := runTerminal(t, s, f, k, step)
					require.Equal(t, step, r.killed, what)
					left := s.leftBehind(t)
					s.afterCrash(t, r)
					t.Logf("%-34s left %-22s card %6d grey %02X", what, left, int64(s.card.Balance(f.wallet()))-f.start(), s.card.Grey())
					f.agree(t, s, what)
					if f.name == "fuel" {
						paid, _ := f.moved(s)
						assert.Equal(t, int64(r.fuelled), paid, "%s: the card paid what the pump delivered", what)
					}
					rows++
				}
			}
			t.Logf("%s: %d record writes, %d kills, all agree", f.name, run.puts, rows)
		})
	}
}

// leftBehind names the record state the dead terminal left on disk.
func (s *station) leftBehind(t *testing.T) string {
	st, err := purse.OpenStore(s.path, storeKey)
	require.NoError(t, err)
	defer st.Close()
	var out []string
	for _, r := range st.Records() {
		out = append(out, string(r.State))
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, ",")
}

func (f flow) wallet() byte {
	if f.name == "unload" {
		return 1
	}
	return 2
}

func (f flow) start() int64 {
	if f.name == "unload" {
		return 10000
	}
	return 50000
}

// afterCrash restarts the terminal and presents the card. A sale killed
// after the pump was released but before its delivery was recorded is
// settled by the station from the pump's totaliser (the bill of what it
// delivered), by the online unlock.
func (s *station) afterCrash(t *testing.T, r crashRun) {
	t.Helper()
	s.comeBack(t)
	if s.card.Grey() != 0x01 {
		return
	}
	for _, rec := range s.store.Records() {
		if rec.Kind == purse.KindFuel && rec.State == purse.StateLocked {
			s.reserve.AddEscapeBill(hostsim.EscapeBill{ASN: s.asn, TID: rec.TID, CTC: rec.Serial, Amount: r.fuelled})
		}
	}
	res, err := s.term.Dispense(context.Background(), s.card, purse.DispenseRequest{Nozzle: &pump{}})
	require.NoError(t, err)
	require.NotEqual(t, byte(0x01), s.card.Grey(), "the totaliser's bill unlocks the card: %s", res.Detail)
}
