// SPDX-License-Identifier: Apache-2.0

// Command pboc runs PBOC electronic-cash transactions against the built-in
// simulated card (or a card profile file, or a card in a PC/SC reader) and
// decodes card data.
//
//	pboc purchase --amount 12.34 [--contactless] [--card FILE [--save]] [--journal FILE] [--torn-log FILE] [--json [--trace]]
//	pboc balance  [--card FILE] [--json]
//	pboc log      [--card FILE] [--json]
//	pboc load     --amount 100 [--type designated|non-designated|cash] [--card FILE [--save]] [--journal FILE] [--torn-log FILE] [--json]
//	pboc capk     list [FILE] | check FILE | import FILE [--out FILE] | export [--test-ca] [--binary]
//	pboc params   show FILE | import FILE [--out FILE] | export [--binary] [--out FILE]
//	pboc decode   HEX... | -
//	pboc serve-card [--profile FILE] [--addr 127.0.0.1:35963] [--t1] [--trace]
//	pboc journal  list|export|batch [--journal FILE] [--data-key-file FILE] [--batch N]
//	pboc purse    balance|records|load|unload|purchase|dispense [--amount A] [--card FILE [--save]] [--journal FILE] [--json [--trace]]
//	pboc scenario run [--json] [-v] DIR|FILE...
//	pboc version  (or pboc --version)
//
// Every command's -h lists its flags with their defaults. The commands are
// the table in commands.go; each lives in its own file.
//
// --reader NAME talks to a card in a PC/SC reader instead of the simulated
// card (serve-card makes the simulated card available to any PC/SC tool).
//
// Online steps (automatic top-up, loads, sales the card sends online) go to
// a simulated issuer host holding a back-office account for the card
// (--account, default 2000.00) with the cardholder PIN --pin (default
// 123456), entered on a simulated PIN pad; --offline runs without a host.
//
// An error is one line on standard error, "pboc COMMAND: what is wrong",
// and the exit status is one table for every command:
//
//	0  the command ran (a declined sale is a result, not a failure)
//	1  the transaction was terminated or failed, or an I/O failure (the
//	   card or reader went away, a file to write could not be written, a
//	   scenario or a CA key check failed)
//	2  bad input: an unknown command or flag, an invalid amount or PIN,
//	   bad hex, truncated or malformed TLV, empty input, a file to read
//	   that is missing, a directory or malformed (card profile, CA key
//	   file, scenario, journal, torn log, --state, a key file), flags that
//	   do not go together
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The exit statuses, one table for every command.
const (
	exitOK    = 0 // the command ran
	exitFail  = 1 // the transaction or an I/O operation failed
	exitInput = 2 // bad input
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

// env is what a command reads and writes: its result goes to stdout,
// notes to stderr.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run runs the command args name and returns the exit status. An error is
// printed once, as one line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(ctx, &env{stdin: os.Stdin, stdout: stdout, stderr: stderr}, args)
}

// runEnv is run with e's standard input too.
func runEnv(ctx context.Context, e *env, args []string) int {
	stderr := e.stderr
	if len(args) == 0 {
		fmt.Fprintln(stderr, "pboc: no command (pboc help lists them)")
		return exitInput
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return exit(stderr, "pboc help", cmdHelp(e, args[1:]))
	case "-version", "--version":
		args[0] = "version"
	}
	c, ok := lookup(args[0])
	if !ok {
		return exit(stderr, "pboc", badInput("unknown command %q (pboc help lists them)", args[0]))
	}
	return exit(stderr, "pboc "+c.name, c.run(ctx, e, args[1:]))
}

// exit prints err, if any, as one line after prefix and returns its exit
// status.
func exit(w io.Writer, prefix string, err error) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case isBadInput(err):
		fmt.Fprintf(w, "%s: %s\n", prefix, message(prefix, err))
		return exitInput
	default:
		fmt.Fprintf(w, "%s: %s\n", prefix, message(prefix, err))
		return exitFail
	}
}

// message is err's text without the "NAME: " of a package named as the
// command's last word ("pboc params" and an error of package params, "pboc
// journal" and one of package journal wrapped in the command's words), at
// the start or after a ": ", so that each part is said once.
func message(prefix string, err error) string {
	name := prefix[strings.LastIndexByte(prefix, ' ')+1:]
	msg := strings.TrimPrefix(err.Error(), name+": ")
	return strings.ReplaceAll(msg, ": "+name+": ", ": ")
}

// inputError is bad input (exit status 2): what the user typed or named is
// wrong, not the card or the machine.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// reworded is err said in other words (a package's prefix left out),
// still wrapping it.
type reworded struct {
	msg string
	err error
}

func (r *reworded) Error() string { return r.msg }
func (r *reworded) Unwrap() error { return r.err }

// badInput is an inputError with a formatted message (%w allowed).
func badInput(format string, args ...any) error {
	return &inputError{fmt.Errorf(format, args...)}
}

// isBadInput reports whether err is, or wraps, bad input.
func isBadInput(err error) bool {
	var ie *inputError
	return errors.As(err, &ie)
}
