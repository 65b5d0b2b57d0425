// SPDX-License-Identifier: Apache-2.0

package purse_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/purse"
)

// TestAPDUSequences pins each flow's commands, in order, to the card and
// to the PSAM (the seed fuel card, which has a PSE; the README lists these).
func TestAPDUSequences(t *testing.T) {
	open := "SELECT, READ RECORD, READ RECORD, SELECT, READ BINARY"
	cases := []struct {
		flow       flow
		card, psam string
	}{
		{flows[0], open + ", VERIFY, INITIALIZE FOR LOAD, CREDIT FOR LOAD, GET BALANCE", ""},
		{flows[1], open + ", VERIFY, INITIALIZE FOR UNLOAD, DEBIT FOR UNLOAD, GET BALANCE", ""},
		{flows[2], open + ", INITIALIZE FOR PURCHASE, DEBIT FOR PURCHASE, GET BALANCE",
			"PSAM MAC1 FOR PURCHASE, PSAM CHECK MAC2"},
		{flows[3], open + ", VERIFY, GET GREY STATUS, INITIALIZE FOR GREY LOCK, GREY LOCK, DEBIT FOR UNLOCK, GET GREY STATUS, GET BALANCE",
			"PSAM GREY-LOCK MAC1, PSAM CHECK GREY MAC2, PSAM GMAC"},
	}
	for _, c := range cases {
		s := newStation(t, nil)
		sam := &recorder{t: s.psam}
		ps, err := purse.OpenPSAM(context.Background(), sam)
		require.NoError(t, err)
		sam.names = nil
		s.sam = ps
		s.reopen()
		card := &recorder{t: s.card}
		res, err := c.flow.run(s, card)
		require.NoError(t, err)
		require.Equal(t, purse.OutcomeApproved, res.Outcome)
		assert.Equal(t, c.card, strings.Join(card.names, ", "), c.flow.name)
		assert.Equal(t, c.psam, strings.Join(sam.names, ", "), c.flow.name)
		assert.Equal(t, len(card.names), res.APDUs, "%s: Result.APDUs counts the card's commands", c.flow.name)
		t.Logf("%-8s %2d card commands, %d PSAM commands", c.flow.name, len(card.names), len(sam.names))
	}
}
