// SPDX-License-Identifier: Apache-2.0

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package acquirer_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/acquirer"
	"github.com/go-pboc/pboc/acquirer/acquirersim"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// The crash test runs this test binary as a terminal process that is
// SIGKILLed at one step of its work with the acquirer — on either side of
// every write of the link's state, after each message leaves, and around
// the kernel's journal write — then runs it again as the terminal powering
// up, and checks that the issuer's account, the acquirer's records and the
// journal agree: a sale that stood is never reversed, one that did not
// stand is always reversed, an offline sale is counted once.

const (
	envCrashChild = "PBOC_ACQUIRER_CRASH_CHILD"
	envCrashDir   = "PBOC_ACQUIRER_DIR"
	envCrashAddr  = "PBOC_ACQUIRER_ADDR"
	envCrashMode  = "PBOC_ACQUIRER_MODE"    // sale-stood, sale-reversed, upload, recover
	envCrashKill  = "PBOC_ACQUIRER_KILL_AT" // "step#n": the n-th time the step is reached
)

// crashRequest is the captured online request a child sends.
type crashRequest struct {
	Req kernel.AuthRequest
	PIN string
}

// TestCrashChild is the terminal process. It prints "KILL step" when it
// reaches the kill point (and waits there for SIGKILL), "ERR ..." on an
// unexpected failure and "DONE" at the end.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) != "1" {
		t.Skip("child process of TestCrashAtEveryStep")
	}
	dir, mode := os.Getenv(envCrashDir), os.Getenv(envCrashMode)
	killAt, seen := os.Getenv(envCrashKill), map[string]int{}
	die := func(step string) {
		fmt.Printf("KILL %s\n", step)
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	statePath := filepath.Join(dir, "acquirer.state")
	var mu sync.Mutex // the codec calls the hook from the connection's writer
	hook := func(step string) {
		mu.Lock()
		defer mu.Unlock()
		seen[step]++
		if killAt == fmt.Sprintf("%s#%d", step, seen[step]) {
			die(step)
		}
		// torn:X is a write of event X that the crash cuts in the middle:
		// half a frame on disk, then the kill.
		if name, ok := strings.CutPrefix(step, "before:"); ok && killAt == "torn:"+name+"#1" && seen[step] == 1 {
			f, err := os.OpenFile(statePath, os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				_, _ = f.Write([]byte{'P', 'J', 1, 0, 0, 0, 0x40, 0, '{', '"', 't'})
				_ = f.Sync()
				f.Close()
			}
			die("torn:" + name)
		}
	}
	acquirer.SetStepHook(hook)
	fail := func(err error) {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(dir, "journal.dat"))
	if err != nil {
		fail(err)
	}
	link, state, module, err := openTerminal(ctx, dir, os.Getenv(envCrashAddr), j)
	if err != nil {
		fail(err)
	}
	if err := link.SignIn(ctx); err != nil {
		fail(err)
	}
	switch mode {
	case "recover":
		if err := link.Flush(ctx); err != nil {
			fail(err)
		}
	case "upload":
		_ = link.Flush(ctx) // the killed step is inside
	default:
		if err := childSale(ctx, dir, mode, link, module, j, hook); err != nil {
			fail(err)
		}
	}
	link.Close()
	state.Close()
	j.Close()
	fmt.Println("DONE")
	os.Exit(0)
}

// childSale sends the captured request; on approval it completes it as
// the mode says: the card completed (the kernel journals the sale, then the
// link settles it at the next request) or the card declined (Reverse).
func childSale(ctx context.Context, dir, mode string, link *acquirer.Link, module *acquirer.SoftModule, j *journal.File, hook func(string)) error {
	b, err := os.ReadFile(filepath.Join(dir, "request.json"))
	if err != nil {
		return err
	}
	var cr crashRequest
	if err := json.Unmarshal(b, &cr); err != nil {
		return err
	}
	req := cr.Req
	if req.PINBlock, err = module.PINPad(cr.PIN).OnlinePIN(ctx, req.PAN, req.Amount); err != nil {
		return err
	}
	resp, err := link.Authorize(ctx, &req)
	if err != nil || !resp.Approved() {
		return fmt.Errorf("authorize: %v %v", resp, err)
	}
	if mode == "sale-reversed" {
		if err := link.Reverse(ctx, &req); err != nil && !errors.Is(err, acquirer.ErrQueued) {
			return err
		}
		return nil
	}
	hook("journal")
	rec := stoodRecord(&req)
	key, err := journal.NewAESGCMKey(testDataKey)
	if err != nil {
		return err
	}
	if err := rec.SealPAN(ctx, key, req.PAN); err != nil {
		return err
	}
	if err := j.Append(ctx, rec); err != nil {
		return err
	}
	hook("journaled")
	return link.Flush(ctx)
}

// stoodRecord is the journal record the kernel writes for an approved
// online sale: masked PAN, ATC and the field 55 of the final TC (here the
// request's, which carries the same ATC and unpredictable number).
func stoodRecord(req *kernel.AuthRequest) journal.Record {
	r := journal.Record{Time: time.Now().UTC(), Kind: journal.KindOnlineSale, Amount: uint64(req.Amount), Currency: "0156",
		AID: "A000000333010101", Field55: hex.EncodeToString(req.Field55), Outcome: "approved_online"}
	r.SetPANKeyed([]byte("k"), req.PAN)
	objs, _ := tlv.Parse(req.Field55)
	for _, o := range objs {
		switch {
		case o.Tag == 0x9F36 && len(o.Value) == 2:
			r.ATC = uint16(o.Value[0])<<8 | uint16(o.Value[1])
		case o.Tag == 0x9F26:
			r.Cryptogram, r.CID = hex.EncodeToString(o.Value), "40"
		}
	}
	r.ID = journal.RecordID(r.Kind, r.AID, r.PANHash, r.PSN, r.ATC)
	return r
}

// openTerminal opens the state and the link of the terminal in dir.
func openTerminal(ctx context.Context, dir, addr string, j *journal.File) (*acquirer.Link, *acquirer.State, *acquirer.SoftModule, error) {
	module, err := acquirer.NewSoftModule(testTMK)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := journal.NewAESGCMKey(testDataKey)
	if err != nil {
		return nil, nil, nil, err
	}
	state, err := acquirer.OpenState(ctx, filepath.Join(dir, "acquirer.state"), key)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg := acquirer.Config{Addr: addr, TerminalID: terminalID, MerchantID: merchantID, Timeout: 2 * time.Second, ConnectTimeout: time.Second}
	link, err := acquirer.Open(ctx, cfg, module, state, acquirer.WithCounter(j),
		acquirer.WithClearing(acquirer.JournalClearing(j, key)), acquirer.WithEvidence(acquirer.JournalEvidence(j)))
	if err != nil {
		state.Close()
		return nil, nil, nil, err
	}
	return link, state, module, nil
}

// runCrashChild runs the child and SIGKILLs it at its kill point; it
// returns the step it was killed at ("" when it finished).
func runCrashChild(t *testing.T, dir, addr, mode, killAt string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashChild+"=1", envCrashDir+"="+dir, envCrashAddr+"="+addr,
		envCrashMode+"="+mode, envCrashKill+"="+killAt,
		// A race-detector build sleeps a second at exit by default: 66 of them would be a minute.
		"GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "KILL "):
			killed = strings.TrimPrefix(line, "KILL ")
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		case strings.HasPrefix(line, "ERR "):
			t.Errorf("child %s (kill at %q): %s", mode, killAt, line)
		}
	}
	err = cmd.Wait()
	if killed != "" {
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.True(t, ok)
		require.True(t, ws.Signaled(), "child ended by %v, want SIGKILL", err)
	} else {
		require.NoError(t, err, "child %s without a kill point", mode)
	}
	return killed
}

// crashWorld is the acquirer and issuer the children talk to, and the
// captured request.
type crashWorld struct {
	host *hostsim.Host
	sim  *acquirersim.Sim
	pan  string
	req  crashRequest
}

func newCrashWorld(t *testing.T, req crashRequest) *crashWorld {
	t.Helper()
	p := cardsim.DefaultProfile()
	w := &crashWorld{host: hostsim.New(), pan: p.Applications[0].PAN, req: req}
	acct, err := hostsim.AccountFromProfile(p.Applications[0], 200000, cardholderPIN)
	require.NoError(t, err)
	require.NoError(t, w.host.AddAccount(acct))
	w.sim, err = acquirersim.New(acquirersim.Config{Host: w.host, TMK: testTMK})
	require.NoError(t, err)
	require.NoError(t, w.sim.Start("127.0.0.1:0"))
	t.Cleanup(w.sim.Close)
	return w
}

// crashResult counts the runs of one scenario and what they ended as.
type crashResult struct{ runs, reversedAtEnd, stoodAtEnd, lost, double int }

func TestCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	// One capture serves every run: the request, and a journal holding an
	// offline EC sale for the upload runs (copied into each run's dir).
	seed := t.TempDir()
	j, err := journal.Open(filepath.Join(seed, "journal.dat"))
	require.NoError(t, err)
	req := captureSale(t, j)
	require.NoError(t, j.Close())
	seedJournal, err := os.ReadFile(filepath.Join(seed, "journal.dat"))
	require.NoError(t, err)
	saleSteps := []string{"before:armed#1", "torn:armed", "after:armed#1", "wrote:0200#1",
		"before:reply#1", "after:reply#1"}
	stood := append(saleSteps, "journal#1", "journaled#1", "before:stood#1", "after:stood#1")
	reversed := append(saleSteps, "before:reverse#1", "after:reverse#1", "wrote:0400#1", "before:reversed#1", "after:reversed#1")
	// The upload's marks are the journal's (its own crash test kills inside
	// each write); here the kill is on either side of each.
	uploads := []string{"mark:sent#1", "marked:sent#1", "wrote:0200#1", "mark:acknowledged#1", "marked:acknowledged#1"}
	table := map[string]*crashResult{}
	for _, sc := range []struct {
		mode  string
		steps []string
	}{{"sale-stood", stood}, {"sale-reversed", reversed}, {"upload", uploads}} {
		res := &crashResult{}
		table[sc.mode] = res
		for _, step := range sc.steps {
			dir := t.TempDir()
			w := newCrashWorld(t, req)
			if sc.mode == "upload" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "journal.dat"), seedJournal, 0o600))
			}
			b, err := json.Marshal(w.req)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "request.json"), b, 0o600))

			killAt := step
			if strings.HasPrefix(step, "torn:") {
				killAt = step + "#1"
			}
			killed := runCrashChild(t, dir, w.sim.Addr(), sc.mode, killAt)
			require.NotEmpty(t, killed, "kill point %s reached", step)
			runCrashChild(t, dir, w.sim.Addr(), "recover", "") // power-up: drain what is owed

			res.runs++
			w.check(t, dir, sc.mode, step, res)
		}
	}
	t.Logf("%-14s %5s %9s %16s %5s %7s", "scenario", "runs", "reversed", "stood (counted)", "lost", "double")
	for _, mode := range []string{"sale-stood", "sale-reversed", "upload"} {
		r := table[mode]
		t.Logf("%-14s %5d %9d %16d %5d %7d", mode, r.runs, r.reversedAtEnd, r.stoodAtEnd, r.lost, r.double)
		assert.Zero(t, r.lost, "%s: money lost", mode)
		assert.Zero(t, r.double, "%s: money moved twice", mode)
	}
}

// check verifies the agreement after a crash at step and the power-up.
func (w *crashWorld) check(t *testing.T, dir, mode, step string, res *crashResult) {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(filepath.Join(dir, "journal.dat"), journal.ReadOnly())
	require.NoError(t, err)
	defer j.Close()
	recs, err := j.Records(ctx)
	require.NoError(t, err)
	acct, _ := w.host.Account(w.pan)
	if mode == "upload" {
		up := w.sim.Uploads()
		tot := w.sim.Totals(terminalID, 1)
		if len(up) != 1 || tot.Domestic.DebitCount != 1 {
			res.lost += 1 - min(len(up), 1)
			res.double += max(int(tot.Domestic.DebitCount)-1, 0)
			t.Errorf("%s: uploads %+v, totals %+v", step, up, tot)
			return
		}
		for _, rec := range recs {
			if rec.Kind == journal.KindECOfflineSale {
				assert.Equal(t, journal.UploadAcknowledged, rec.UploadState(), "%s: the journal says acknowledged", step)
			}
		}
		res.stoodAtEnd++ // uploaded and counted once
		return
	}
	stoodInJournal := false
	for _, r := range recs {
		stoodInJournal = stoodInJournal || r.Kind == journal.KindOnlineSale
	}
	charged := acct.Balance == 200000-w.req.Req.Amount
	switch {
	case charged:
		res.stoodAtEnd++
	case acct.Balance == 200000:
		res.reversedAtEnd++
	default:
		res.double++
		t.Errorf("%s %s: account %s", mode, step, acct.Balance)
	}
	// A sale is charged exactly when the terminal journaled it.
	if charged && !stoodInJournal {
		res.lost++ // the customer pays for a sale the merchant never saw approved
		t.Errorf("%s %s: charged without a journaled sale", mode, step)
	}
	if !charged && stoodInJournal {
		res.lost++ // the merchant holds a sale the issuer gave back
		t.Errorf("%s %s: journaled sale reversed", mode, step)
	}
	held := 0
	for _, a := range w.sim.Auths() {
		if a.Response == "00" && !a.Reversed {
			held++
		}
	}
	assert.Equal(t, b2i(stoodInJournal), held, "%s %s: the acquirer holds the sale iff it stood", mode, step)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
