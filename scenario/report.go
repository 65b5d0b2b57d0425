// SPDX-License-Identifier: Apache-2.0

package scenario

import (
	"strconv"
	"strings"
	"time"

	"github.com/go-pboc/pboc/kernel"
)

// Status is how a scenario ended.
type Status string

// The statuses.
const (
	// StatusPass: every expectation held.
	StatusPass Status = "PASS"
	// StatusFail: at least one expectation did not hold.
	StatusFail Status = "FAIL"
	// StatusKnown: expectations did not hold, but the scenario is marked
	// known_issue; reported, not failing.
	StatusKnown Status = "KNOWN"
	// StatusFixed: the scenario is marked known_issue but passes now; the
	// marker should be removed. Not failing.
	StatusFixed Status = "FIXED"
	// StatusUnsupported: the kernel lacks what the scenario needs (for
	// example contactless); not failing.
	StatusUnsupported Status = "UNSUPPORTED"
)

// Diff is one expectation that did not hold.
type Diff struct {
	// Field is the expectation's name ("outcome", "tvr", "card_balance").
	Field string
	// Want and Got are the expected and actual values as text.
	Want, Got string
	// Note adds context, such as the whole TVR ("TVR 8000000000").
	Note string
}

// String is "field: want W, got G (note)".
func (d Diff) String() string {
	s := d.Field + ": want " + d.Want + ", got " + d.Got
	if d.Note != "" {
		s += " (" + d.Note + ")"
	}
	return s
}

// Report is what running one scenario produced.
type Report struct {
	// Name and Path identify the scenario.
	Name, Path string
	// Pass reports that every expectation held.
	Pass bool
	// Status refines Pass with known issues and unsupported scenarios.
	Status Status
	// KnownIssue is the scenario's known_issue text.
	KnownIssue string
	// Diffs lists the expectations that did not hold, in a fixed order.
	Diffs []Diff
	// Result is the kernel's result for a purchase or a load (nil for
	// reads and when the transaction could not run).
	Result *kernel.Result
	// Err is the error the kernel returned for the transaction under test.
	Err error
	// APDUs lists the command names sent in the transaction under test.
	APDUs []string
	// Duration is how long the scenario took.
	Duration time.Duration
}

// Failed reports whether the report should fail a run: expectations that
// did not hold in a scenario without a known issue.
func (r *Report) Failed() bool { return r.Status == StatusFail }

// String is one line: "PASS name", or the status, the name and the
// differences, e.g. "FAIL ec-offline-approved: outcome: want
// approved_offline, got online_required; tvr: want ODA not performed
// clear, got set (TVR 8000000000)".
func (r *Report) String() string {
	var sb strings.Builder
	sb.WriteString(string(r.Status) + " " + r.Name)
	switch r.Status {
	case StatusPass:
		return sb.String()
	case StatusFixed:
		sb.WriteString(": passes now; remove known_issue (" + r.KnownIssue + ")")
		return sb.String()
	case StatusKnown:
		sb.WriteString(" [known issue: " + r.KnownIssue + "]")
	}
	for i, d := range r.Diffs {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		sb.WriteString(d.String())
	}
	return sb.String()
}

// Summary counts reports by status.
type Summary struct {
	Total, Passed, Failed, Known, Fixed, Unsupported int
}

// Summarise counts the reports.
func Summarise(reports []*Report) Summary {
	s := Summary{Total: len(reports)}
	for _, r := range reports {
		switch r.Status {
		case StatusPass:
			s.Passed++
		case StatusFail:
			s.Failed++
		case StatusKnown:
			s.Known++
		case StatusFixed:
			s.Fixed++
		case StatusUnsupported:
			s.Unsupported++
		}
	}
	return s
}

// String is "40 scenarios: 38 passed, 1 failed, 1 known issue, ...".
func (s Summary) String() string {
	var sb strings.Builder
	sb.WriteString(itoa(s.Total) + " scenarios: " + itoa(s.Passed) + " passed, " + itoa(s.Failed) + " failed")
	if s.Known > 0 {
		sb.WriteString(", " + itoa(s.Known) + " known issue(s)")
	}
	if s.Fixed > 0 {
		sb.WriteString(", " + itoa(s.Fixed) + " fixed (remove known_issue)")
	}
	if s.Unsupported > 0 {
		sb.WriteString(", " + itoa(s.Unsupported) + " unsupported")
	}
	return sb.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
