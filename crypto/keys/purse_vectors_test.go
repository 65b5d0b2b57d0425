// SPDX-License-Identifier: Apache-2.0

package keys

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A second, independent worked example: a card vendor's (华大智宝) test
// scripts and their logs for the Changsha metro ED/EP card, published in
// github.com/ConardLKL/ChangSha under doc/华大智宝/:
//
//   - CSMetroScriptandLog_20151102/t1_initAndActive.py: the card's keys as
//     personalised (DLK "load1", DPK "purchase1", DTK "tac"), already
//     diversified for card 4100000089999985;
//   - CSMetroScriptandLog_20151102/t2_load.py and t2_load.txt: a load of
//     0x1C37 fen to an empty EP at terminal 000001000050, the card's answers
//     (random, MAC1, TAC) and the host's MAC2 as sent in CREDIT FOR LOAD;
//   - t7_purchase.py (a log): a composite purchase (type 09) of 0x1C37 fen
//     at terminal 000000000001, TTC 1, and the card's TAC and MAC2.
//
// Every value below is the card's or the script's own, not computed here.
const (
	csDLK = "374598B5C0B0EAE1E1D06609AC5BB369"
	csDPK = "A338D92A10C8285411E761445C831C22"
	csDTK = "CAA6025290114BFCC3C9043F70F7A07A"
)

// TestPurseLoadSecondWorkedExample checks the load session key, MAC1 and
// MAC2 against a real card's answers, and settles the load TAC's data,
// which the notes' own load example does not show: new balance ‖ online
// serial before the load ‖ amount ‖ type ‖ TID ‖ host date ‖ time, the
// layout an issuer's HSM interface also documents (JMJDLL, "充值indata";
// the index does not name its repo).
func TestPurseLoadSecondWorkedExample(t *testing.T) {
	tid := hx(t, "000001000050")
	when := hx(t, "20140825103100")
	const amount, typ = 0x1C37, 0x02 // EP load

	sk, err := PurseSessionKey(hx(t, csDLK), OnlineSessionInput([4]byte{0xCD, 0xEF, 0x4F, 0x20}, 0x0000))
	require.NoError(t, err)
	mac1, err := PurseMAC(sk, OnlineMAC1Data(0, amount, typ, tid))
	require.NoError(t, err)
	assert.Equal(t, "06B1BEF5", upper(mac1), "the card's MAC1 in INITIALIZE FOR LOAD")
	mac2, err := PurseMAC(sk, HostMAC2Data(amount, typ, tid, when))
	require.NoError(t, err)
	assert.Equal(t, "0641DCD8", upper(mac2), "the MAC2 the script sent in CREDIT FOR LOAD, which the card accepted")

	dtk := hx(t, csDTK)
	tk, err := PurseTACKey(dtk)
	require.NoError(t, err)
	assert.Equal(t, "096F066DE0E6EB86", upper(tk), "the TAC key the script prints")

	data := OnlineTACData(amount, 0x0000, amount, typ, tid, when)
	assert.Equal(t, "00001C37000000001C370200000100005020140825103100", upper(data), "the script's TAC input")
	tac, err := PurseTAC(dtk, data)
	require.NoError(t, err)
	assert.Equal(t, "ED0F8755", upper(tac), "the card's TAC from CREDIT FOR LOAD")

	// The readings the card rules out: the balance before the load, the
	// online serial after it, the MAC2 layout without balance and serial.
	for name, wrong := range map[string][]byte{
		"balance before":  OnlineTACData(0, 0x0000, amount, typ, tid, when),
		"serial after":    OnlineTACData(amount, 0x0001, amount, typ, tid, when),
		"the MAC2 layout": HostMAC2Data(amount, typ, tid, when),
	} {
		got, err := PurseTAC(dtk, wrong)
		require.NoError(t, err)
		assert.NotEqual(t, "ED0F8755", upper(got), name)
	}
}

// TestPursePurchaseSecondWorkedExample checks the purchase session key
// (random ‖ CTC ‖ TTC low two bytes) and the card's MAC2 over the amount
// against a real card, and settles the purchase TAC's data: amount ‖ type
// ‖ TID ‖ TTC ‖ terminal date ‖ time — the notes' purchase example cuts it
// off; here the card's own TAC, for a composite purchase (type 09), is
// reproduced. The log's MAC1 (303D735D) is not reproduced by any layout
// tried, so this example does not vouch for the purchase MAC1.
func TestPursePurchaseSecondWorkedExample(t *testing.T) {
	tid := hx(t, "000000000001")
	when := hx(t, "20110919204812")
	const amount, typ, ttc = 0x1C37, 0x09, 1

	sk, err := PurseSessionKey(hx(t, csDPK), OfflineSessionInput([4]byte{0x9A, 0xC8, 0x75, 0x03}, 0x0000, ttc))
	require.NoError(t, err)
	mac2, err := PurseMAC(sk, PurchaseMAC2Data(amount))
	require.NoError(t, err)
	assert.Equal(t, "350AC480", upper(mac2), "the card's MAC2 from DEBIT FOR PURCHASE")

	wrongKey, err := PurseSessionKey(hx(t, csDPK), OfflineSessionInput([4]byte{0x9A, 0xC8, 0x75, 0x03}, 0x0000, 0))
	require.NoError(t, err)
	other, err := PurseMAC(wrongKey, PurchaseMAC2Data(amount))
	require.NoError(t, err)
	assert.NotEqual(t, "350AC480", upper(other), "the TTC enters the session key")

	dtk := hx(t, csDTK)
	tac, err := PurseTAC(dtk, OfflineTACData(amount, typ, tid, ttc, when))
	require.NoError(t, err)
	assert.Equal(t, "44A8E04A", upper(tac), "the card's TAC from DEBIT FOR PURCHASE")

	noTTC, err := PurseTAC(dtk, PurchaseMAC1Data(amount, typ, tid, when))
	require.NoError(t, err)
	assert.NotEqual(t, "44A8E04A", upper(noTTC), "the TTC is in the TAC")
}
