// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
)

// transactionTimeout bounds one card command's whole transaction.
const transactionTimeout = 30 * time.Second

// cmdPurchase implements "pboc purchase --amount 12.34 [flags]".
func cmdPurchase(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "purchase", "--amount 12.34 [flags]", `
A sale against the simulated card (default) or a card in a PC/SC reader:
the kernel decides between offline electronic cash, online and automatic
top-up; --contactless taps the card (qPBOC, 闪付) instead of inserting it.
Prints every APDU decoded and the result; --json prints one object.`)
	var s saleFlags
	s.register(f)
	amountText := f.fs.String("amount", "", "`AMOUNT` in yuan, e.g. 12.34 (full-width digits １２．３４ are read as digits)")
	contactless := f.fs.Bool("contactless", false, "tap the card (qPBOC, 闪付) instead of inserting it")
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	amount, err := parsePositiveAmount("amount", *amountText)
	if err != nil {
		return err
	}
	return s.transact(ctx, e, func(ctx context.Context, k *kernel.Kernel, card apdu.Transport) (*kernel.Result, error) {
		if *contactless {
			return purchaseContactless(ctx, k, card, amount)
		}
		return k.Purchase(ctx, card, amount)
	})
}

// transact checks the flags, opens the card and the kernel, runs one
// transaction, saves the card with --save and prints the result. The
// transaction's error (terminated, journal write failed) is returned after
// the result is printed.
func (s *saleFlags) transact(ctx context.Context, e *env, tx func(context.Context, *kernel.Kernel, apdu.Transport) (*kernel.Result, error)) error {
	if err := s.check(); err != nil {
		return err
	}
	card, release, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer release()
	k, closeJournal, err := s.kernel(ctx)
	if err != nil {
		return err
	}
	defer closeJournal()
	ctx, cancel := context.WithTimeout(ctx, transactionTimeout)
	defer cancel()
	res, txErr := tx(ctx, k, card)
	if s.finish != nil {
		s.finish(ctx, res)
	}
	if err := s.saveCard(); err != nil {
		return fmt.Errorf("--save %s: %w", s.card, err)
	}
	fmt.Fprintln(e.stderr, s.trustNote())
	if res == nil {
		return txErr
	}
	if s.json {
		if s.trace {
			printTrace(e.stderr, res.Trace)
		}
		if err := writeJSON(e.stdout, newResultJSON(res)); err != nil {
			return err
		}
	} else {
		printTrace(e.stdout, res.Trace)
		printResult(e.stdout, res)
	}
	return txErr
}

// purchaseContactless runs a qPBOC (闪付) tap of amount. A simulated card
// (*cardsim.Card) is presented through its contactless interface; any
// other transport is taken to be a card in a contactless reader already.
func purchaseContactless(ctx context.Context, k *kernel.Kernel, card apdu.Transport, amount kernel.Amount) (*kernel.Result, error) {
	if c, ok := card.(*cardsim.Card); ok {
		card = cardsim.NewContactless(c)
	}
	res, err := k.PurchaseContactless(ctx, card, amount)
	if err != nil {
		return res, fmt.Errorf("contactless purchase: %w", err)
	}
	return res, nil
}
