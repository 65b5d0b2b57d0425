// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-pboc/pboc/scenario"
)

// cmdScenario implements "pboc scenario run [--json] [-v] DIR|FILE...".
func cmdScenario(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "scenario", "run [--json] [-v] DIR|FILE...", `
Runs scenario files (every *.json of a DIR) against the kernel and the
simulated card and issuer, and prints one line per scenario — PASS, or
FAIL with every expectation that did not hold — and a summary line
"N scenarios: P passed, F failed". A file that cannot be read or is not a
valid scenario is reported (ERROR) and the others still run. Card profile
and CA key paths inside a scenario are relative to the scenario file.
Exit status: 0 when every scenario passed (known issues do not fail), 1
when one failed, 2 when a file or directory was missing or invalid.
Format: scenario/doc.go (go doc ./scenario).`)
	asJSON := f.fs.Bool("json", false, "print one JSON object per scenario and one for the summary (JSON lines) instead of text")
	verbose := f.fs.Bool("v", false, "also print each scenario's outcome, reason and APDU sequence")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return badInput("run DIR|FILE... needed")
	case pos[0] != "run":
		return badInput("unknown scenario subcommand %q (want run DIR|FILE...)", pos[0])
	}
	if len(pos) == 1 {
		return badInput("run needs at least one DIR or FILE")
	}
	r := &scenarioRun{e: e, json: *asJSON, verbose: *verbose}
	for _, p := range pos[1:] {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.path(ctx, p)
	}
	return r.finish()
}

// scenarioRun runs the scenario files one by one and keeps the tally.
type scenarioRun struct {
	e             *env
	json, verbose bool
	reports       []*scenario.Report
	invalid       int
}

// path runs the scenario file p, or every *.json file of the directory p.
func (r *scenarioRun) path(ctx context.Context, p string) {
	fi, err := os.Stat(p)
	if err != nil {
		r.bad(p, err)
		return
	}
	if !fi.IsDir() {
		r.file(ctx, p)
		return
	}
	files, err := filepath.Glob(filepath.Join(p, "*.json"))
	if err != nil {
		r.bad(p, err)
		return
	}
	if len(files) == 0 {
		r.bad(p, errors.New("no *.json scenario files"))
		return
	}
	sort.Strings(files)
	for _, file := range files {
		if ctx.Err() != nil {
			return
		}
		r.file(ctx, file)
	}
}

// file loads and runs one scenario file, reporting it either way.
func (r *scenarioRun) file(ctx context.Context, path string) {
	s, err := scenario.Load(path)
	if err != nil {
		r.bad(path, err)
		return
	}
	rep := scenario.Run(ctx, s)
	r.reports = append(r.reports, rep)
	if r.json {
		_ = writeJSONLine(r.e, newScenarioJSON(rep))
		return
	}
	fmt.Fprintln(r.e.stdout, rep.String())
	if r.verbose {
		r.details(rep)
	}
}

// details prints, with -v, what the transaction under test did.
func (r *scenarioRun) details(rep *scenario.Report) {
	w := r.e.stdout
	if rep.Result != nil {
		fmt.Fprintf(w, "    outcome %s, reason %s: %s\n", rep.Result.Outcome, rep.Result.Reason, rep.Result.Detail)
	}
	if rep.Err != nil {
		fmt.Fprintf(w, "    error: %v\n", rep.Err)
	}
	fmt.Fprintf(w, "    %d APDUs: %s\n    %s, %s\n", len(rep.APDUs), strings.Join(rep.APDUs, ", "), rep.Path, rep.Duration.Round(10*time.Microsecond))
}

// bad reports a file or directory that could not be run.
func (r *scenarioRun) bad(path string, err error) {
	r.invalid++
	msg := scenarioProblem(err)
	if r.json {
		_ = writeJSONLine(r.e, scenarioJSON{Path: path, Status: "ERROR", Error: msg})
		return
	}
	fmt.Fprintf(r.e.stdout, "ERROR %s: %s\n", path, msg)
}

// scenarioProblem is what is wrong with a scenario file, without the file
// name (printed before it) said again.
func scenarioProblem(err error) string {
	field := ""
	var se *scenario.Error
	if errors.As(err, &se) {
		if se.Field != "" {
			field = se.Field + ": "
		}
		err = se.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return field + pe.Err.Error()
	}
	return field + err.Error()
}

// scenarioJSON is one line of --json: a scenario's report, or a file
// that could not be run (status ERROR).
type scenarioJSON struct {
	Name       string   `json:"name,omitempty"`
	Path       string   `json:"path"`
	Status     string   `json:"status"`
	KnownIssue string   `json:"known_issue,omitempty"`
	Diffs      []string `json:"diffs,omitempty"`
	Outcome    string   `json:"outcome,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Error      string   `json:"error,omitempty"`
	APDUs      []string `json:"apdus,omitempty"`
	Millis     float64  `json:"ms"`
}

func newScenarioJSON(rep *scenario.Report) scenarioJSON {
	j := scenarioJSON{Name: rep.Name, Path: rep.Path, Status: string(rep.Status), KnownIssue: rep.KnownIssue,
		APDUs: rep.APDUs, Millis: float64(rep.Duration.Microseconds()) / 1000}
	for _, d := range rep.Diffs {
		j.Diffs = append(j.Diffs, d.String())
	}
	if rep.Result != nil {
		j.Outcome, j.Reason = rep.Result.Outcome.String(), string(rep.Result.Reason)
	}
	if rep.Err != nil {
		j.Error = rep.Err.Error()
	}
	return j
}

// summaryJSON is the last line of --json.
type summaryJSON struct {
	Summary     string `json:"summary"`
	Total       int    `json:"total"`
	Passed      int    `json:"passed"`
	Failed      int    `json:"failed"`
	Known       int    `json:"known_issues"`
	Fixed       int    `json:"fixed"`
	Unsupported int    `json:"unsupported"`
	Invalid     int    `json:"invalid_files"`
}

func writeJSONLine(e *env, v any) error { return json.NewEncoder(e.stdout).Encode(v) }

// finish prints the summary and returns the run's error: bad input when a
// file was invalid, a failure when a scenario failed.
func (r *scenarioRun) finish() error {
	sum := scenario.Summarise(r.reports)
	if r.json {
		if err := writeJSONLine(r.e, summaryJSON{Summary: sum.String(), Total: sum.Total, Passed: sum.Passed, Failed: sum.Failed,
			Known: sum.Known, Fixed: sum.Fixed, Unsupported: sum.Unsupported, Invalid: r.invalid}); err != nil {
			return err
		}
	} else {
		line := sum.String()
		if r.invalid > 0 {
			line += fmt.Sprintf("; %d invalid file(s) not run", r.invalid)
		}
		fmt.Fprintln(r.e.stdout, line)
	}
	switch {
	case r.invalid > 0:
		return badInput("%d file(s) could not be run (ERROR lines above)", r.invalid)
	case sum.Failed > 0:
		return fmt.Errorf("%d of %d scenarios failed", sum.Failed, sum.Total)
	}
	return nil
}
