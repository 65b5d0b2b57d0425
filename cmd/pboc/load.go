// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/kernel"
)

// cmdLoad implements "pboc load --amount 100 [--type KIND] [flags]".
func cmdLoad(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "load", "--amount 100 [--type designated|non-designated|cash] [flags]", `
Loads electronic cash onto the card (圈存) through the simulated issuer: a
designated-account load (online PIN) draws on the card's back-office
account, a non-designated or cash load does not. The issuer's script sets
the new balance; the result reports the balance the card holds afterwards.`)
	var s saleFlags
	s.register(f)
	amountText := f.fs.String("amount", "", "`AMOUNT` to load in yuan, e.g. 100.00")
	kindText := f.fs.String("type", "designated", "load `KIND`: designated, non-designated or cash")
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	amount, err := parsePositiveAmount("amount", *amountText)
	if err != nil {
		return err
	}
	kind, err := kernel.ParseLoadKind(*kindText)
	if err != nil {
		return badInput("--type %q: want designated, non-designated or cash", *kindText)
	}
	return s.transact(ctx, e, func(ctx context.Context, k *kernel.Kernel, card apdu.Transport) (*kernel.Result, error) {
		return k.Load(ctx, card, kernel.LoadRequest{Kind: kind, Amount: amount})
	})
}
