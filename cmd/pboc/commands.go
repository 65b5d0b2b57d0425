// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
)

// A command is one line of the table: what is typed after pboc, one line
// for pboc help, and the function (in the command's own file) that parses
// the command's flags and runs it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the CLI. Adding a command is one line here and a file
// holding its function.
var commands = []command{
	{"purchase", "a sale: offline EC, online, automatic top-up, or a --contactless tap", cmdPurchase},
	{"balance", "read the card's EC balance, limits and reset threshold", cmdBalance},
	{"log", "read the card's transaction log, newest first", cmdLog},
	{"load", "load electronic cash onto the card (圈存) through the issuer", cmdLoad},
	{"capk", "list the built-in CA public keys, check a CA key file, import or export CA key records", cmdCAPK},
	{"params", "show, import or export UnionPay AID parameter records", cmdParams},
	{"decode", "decode BER-TLV hex (tag names, values decoded)", cmdDecode},
	{"serve-card", "put the simulated card into vpcd's virtual PC/SC reader", cmdServeCard},
	{"serve-acquirer", "serve a simulated acquirer (UnionPay POS ISO 8583) for --acquirer", cmdServeAcquirer},
	{"journal", "list or export the clearing journal --journal wrote, or add up a batch", cmdJournal},
	{"purse", "fuel cards (PBOC ED/EP purse): balance, records, load 圈存, unload 圈提, purchase, dispense", cmdPurse},
	{"scenario", "run conformance scenario files and report each", cmdScenario},
	{"version", "print the version of this build", cmdVersion},
}

// lookup finds the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// cmdHelp implements "pboc help [COMMAND]": the list of commands, or the
// usage of one (as COMMAND -h prints it).
func cmdHelp(e *env, args []string) error {
	if len(args) == 0 {
		printCommands(e)
		return nil
	}
	c, ok := lookup(args[0])
	if !ok {
		return badInput("unknown command %q (pboc help lists them)", args[0])
	}
	return c.run(context.Background(), e, []string{"-h"})
}

func printCommands(e *env) {
	w := e.stdout
	fmt.Fprintln(w, "pboc: PBOC / EMV electronic cash against the simulated card, or a card in a PC/SC reader")
	fmt.Fprintln(w, "\nusage: pboc COMMAND [flags]      pboc COMMAND -h lists a command's flags")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nexit status: 0 the command ran (a declined sale is a result), 1 the transaction or I/O failed, 2 bad input")
}
