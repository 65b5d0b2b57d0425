package main

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/kernel"
)

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
