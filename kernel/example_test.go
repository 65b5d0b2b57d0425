// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"context"
	"fmt"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/hostsim"
	"github.com/go-pboc/pboc/kernel"
)

// An offline electronic-cash sale against the simulated seed card.
func ExampleKernel_Purchase() {
	card, _ := cardsim.New(cardsim.DefaultProfile())
	cfg := kernel.DefaultConfig()
	// The simulated card is signed by the simulator's test CA: trust it
	// here, never in production (kernel.DefaultConfig trusts only the
	// published keys of capk.Builtin).
	cfg.CAPK = capk.Builtin()
	cfg.CAPK.Merge(capk.TestKeys())
	k, _ := kernel.New(cfg)
	res, err := k.Purchase(context.Background(), card, kernel.Amount(1234))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Outcome, res.Reason, res.ODA)
	fmt.Println(*res.BalanceBefore, "->", *res.BalanceAfter)
	// Output:
	// approved_offline ec_approved DDA
	// 500.00 -> 487.66
}

// Reading the EC data of a card.
func ExampleKernel_ReadBalance() {
	card, _ := cardsim.New(cardsim.DefaultProfile())
	k, _ := kernel.New(kernel.DefaultConfig())
	b, err := k.ReadBalance(context.Background(), card)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("balance", *b.Balance, "limit", *b.Limit, "single", *b.SingleLimit, "threshold", *b.ResetThreshold)
	// Output:
	// balance 500.00 limit 1000.00 single 300.00 threshold 1.00
}

// A cash load at a kiosk: the issuer's script credits the card, and the
// result reports the balance read back from the card.
func ExampleKernel_Load() {
	p := cardsim.DefaultProfile()
	card, _ := cardsim.New(p)
	issuer := hostsim.New()
	acc, _ := hostsim.AccountFromProfile(p.Applications[0], kernel.Amount(200000), "123456")
	_ = issuer.AddAccount(acc)
	k, _ := kernel.New(kernel.DefaultConfig(), kernel.WithHost(issuer))
	res, err := k.Load(context.Background(), card, kernel.LoadRequest{Kind: kernel.LoadCash, Amount: 20000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Outcome, res.Reason)
	fmt.Println(*res.BalanceBefore, "->", *res.BalanceAfter)
	// Output:
	// approved_online loaded
	// 500.00 -> 700.00
}
