package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/go-pboc/pboc/scenario"
)

const scenarioUsage = "scenario run DIR|FILE..."

// cmdScenario implements "pboc scenario run DIR|FILE...": it runs every
// scenario file named (every *.json of a directory), prints one report
// line per scenario and a summary, and fails when a scenario failed.
// Scenarios marked known_issue are reported without failing the run.
func cmdScenario(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		return usageError{"scenario needs: " + scenarioUsage}
	}
	if len(args) == 1 {
		return usageError{"scenario run needs at least one DIR or FILE"}
	}
	var all []*scenario.Scenario
	for _, p := range args[1:] {
		fi, err := os.Stat(p)
		if err != nil {
			return usageError{err.Error()}
		}
		if fi.IsDir() {
			list, err := scenario.LoadDir(p)
			if err != nil {
				return usageError{err.Error()}
			}
			if len(list) == 0 {
				return usageError{fmt.Sprintf("%s: no *.json scenario files", p)}
			}
			all = append(all, list...)
			continue
		}
		s, err := scenario.Load(p)
		if err != nil {
			return usageError{err.Error()}
		}
		all = append(all, s)
	}
	reports := make([]*scenario.Report, 0, len(all))
	for _, s := range all {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
		r := scenario.Run(ctx, s)
		reports = append(reports, r)
		if _, err := fmt.Fprintln(w, r.String()); err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
	}
	sum := scenario.Summarise(reports)
	if _, err := fmt.Fprintln(w, sum.String()); err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d scenarios failed", sum.Failed, sum.Total)
	}
	return nil
}
