// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelp is returned after -h printed a command's usage: exit status 0.
var errHelp = errors.New("help printed")

// flags is one command's flag set. -h prints the usage line, what the
// command does and every flag with its default to standard output; a
// flag error is one line of bad input, without the usage after it.
type flags struct {
	fs    *flag.FlagSet
	e     *env
	name  string // "purchase", "journal list"
	usage string // what follows the name: "--amount 12.34 [flags]"
	about string // what the command does, a few lines
}

func newFlags(e *env, name, usage, about string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &flags{fs: fs, e: e, name: name, usage: usage, about: about}
	fs.Usage = func() {}
	return f
}

// captured, when set (by a test), sees every command's flag set before it
// is parsed.
var captured func(*flag.FlagSet)

// parse parses args, flags and positional arguments in any order (a "--"
// ends the flags), and returns the positional arguments.
func (f *flags) parse(args []string) ([]string, error) {
	if captured != nil {
		captured(f.fs)
	}
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp()
				return nil, errHelp
			}
			return nil, badInput("%s (pboc %s -h lists the flags)", flagProblem(err), f.name)
		}
		rest := f.fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseNoArgs parses args for a command that takes flags only.
func (f *flags) parseNoArgs(args []string) error {
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("unexpected argument %q (pboc %s -h lists the flags)", pos[0], f.name)
	}
	return nil
}

// printHelp writes the usage, the description and the flags.
func (f *flags) printHelp() {
	w := f.e.stdout
	fmt.Fprintf(w, "usage: pboc %s %s\n\n%s\n", f.name, f.usage, strings.TrimSpace(f.about))
	first := true
	f.fs.VisitAll(func(fl *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nflags:")
			first = false
		}
		name, usage := flag.UnquoteUsage(fl)
		head := "  --" + fl.Name
		if name != "" {
			head += " " + strings.ToUpper(name)
		}
		fmt.Fprintf(w, "%s\n      %s%s\n", head, usage, defaultNote(fl))
	})
}

// defaultNote is " (default X)" for a flag whose default is not the zero
// value of its type.
func defaultNote(fl *flag.Flag) string {
	switch fl.DefValue {
	case "", "false", "0":
		return ""
	}
	return fmt.Sprintf(" (default %s)", fl.DefValue)
}

// flagProblem rewords the flag package's errors with the flags spelt as
// this CLI documents them (--amount, not -amount).
func flagProblem(err error) string {
	msg := err.Error()
	for _, r := range []struct{ prefix, format string }{
		{"flag provided but not defined: -", "unknown flag --%s"},
		{"flag needs an argument: -", "--%s needs a value"},
	} {
		if name, ok := strings.CutPrefix(msg, r.prefix); ok {
			return fmt.Sprintf(r.format, name)
		}
	}
	return strings.ReplaceAll(msg, " for -", " for --")
}
