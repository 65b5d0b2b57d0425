// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/kernel"
)

// cmdBalance implements "pboc balance [flags]".
func cmdBalance(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "balance", "[flags]", `
Reads the card's electronic-cash balance (9F79), balance limit (9F77),
single-transaction limit (9F78) and reset threshold (9F6D) by GET DATA.
Nothing is written to a journal: a read moves no money.`)
	var c cardFlags
	c.register(f)
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	card, release, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer release()
	k, err := kernel.New(c.config())
	if err != nil {
		return err
	}
	b, err := k.ReadBalance(ctx, card)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, b)
	}
	w := e.stdout
	fmt.Fprintf(w, "application      %X %s\n", []byte(b.AID), b.Label)
	fmt.Fprintf(w, "EC balance       %s\n", amountOrDash(b.Balance))
	fmt.Fprintf(w, "balance limit    %s\n", amountOrDash(b.Limit))
	fmt.Fprintf(w, "single limit     %s\n", amountOrDash(b.SingleLimit))
	fmt.Fprintf(w, "reset threshold  %s\n", amountOrDash(b.ResetThreshold))
	return nil
}
