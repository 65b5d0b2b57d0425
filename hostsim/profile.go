// SPDX-License-Identifier: Apache-2.0

package hostsim

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/go-pboc/pboc/cardsim"
	"github.com/go-pboc/pboc/crypto/keys"
	"github.com/go-pboc/pboc/kernel"
)

// AccountFromProfile builds the issuer's account for one application of a
// card profile: the same PAN, PAN sequence number and issuer master keys
// the simulated card was personalised with, a back-office balance and the
// cardholder's online PIN.
func AccountFromProfile(app cardsim.Application, balance kernel.Amount, pin string) (Account, error) {
	if app.Keys == nil {
		return Account{}, fmt.Errorf("%w: application %s has no keys", ErrAccount, app.AID)
	}
	var ik keys.IssuerKeys
	for _, k := range []struct {
		dst  *[]byte
		hex  string
		name string
	}{{&ik.AC, app.Keys.IMKAC, "imk_ac"}, {&ik.SMI, app.Keys.IMKSMI, "imk_smi"}, {&ik.SMC, app.Keys.IMKSMC, "imk_smc"}} {
		b, err := hex.DecodeString(k.hex)
		if err != nil {
			return Account{}, fmt.Errorf("%w: %s: %v", ErrAccount, k.name, err)
		}
		*k.dst = b
	}
	alg := keys.TDES
	if strings.EqualFold(app.KeyAlg, "sm4") {
		alg = keys.SM4
	}
	if app.PANSequence < 0 || app.PANSequence > 99 {
		return Account{}, fmt.Errorf("%w: pan_sequence %d", ErrAccount, app.PANSequence)
	}
	psn := byte(app.PANSequence/10<<4 | app.PANSequence%10)
	return Account{PAN: app.PAN, PSN: psn, Alg: alg, Keys: ik, PIN: pin, Balance: balance}, nil
}
