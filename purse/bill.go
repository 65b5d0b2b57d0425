// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"fmt"
)

// DispenserBill is the dispenser's bill of one fuel sale (账单), the record
// a pump uploads to its station controller, with the fields PURSE-NOTES §5
// lists [IPT offsets; KJ]. It is built from the sale's Record; the ASN is
// masked here and given in clear only to Bytes (for the upload).
type DispenserBill struct {
	POSTTC  uint32   `json:"pos_ttc"`
	Type    byte     `json:"t_type"` // BillNormal, BillEscape, BillUnlock
	Time    DateTime `json:"time"`
	ASN     string   `json:"asn"` // masked
	Balance Amount   `json:"balance"`
	Amount  Amount   `json:"amount"`
	CTC     uint16   `json:"ctc"`
	// TAC is the card's TAC of DEBIT FOR UNLOCK, or its GTAC on an escape.
	TAC        MAC    `json:"tac"`
	GMAC       MAC    `json:"gmac"`
	PSAMTAC    MAC    `json:"psam_tac"`
	PSAMSerial string `json:"psam_asn"`
	TID        TID    `json:"psam_tid"`
	PSAMTTC    uint32 `json:"psam_ttc"`
	Wallet     Wallet `json:"debit_source"`
	KeyVersion byte   `json:"key_version"`
	Nozzle     byte   `json:"nozzle"`
	Grade      uint16 `json:"grade"`
	Volume     uint32 `json:"volume"` // centilitres
	Price      Amount `json:"price"`  // per litre
}

// BillOf builds the bill of a fuel record. psamSerial is the PSAM's
// serial (PSAMInfo.Serial).
func BillOf(r Record, psamSerial [10]byte) (DispenserBill, error) {
	if r.Kind != KindFuel {
		return DispenserBill{}, fmt.Errorf("%w: %s is a %s, not a fuel sale", ErrRecord, r.ID, r.Kind)
	}
	b := DispenserBill{POSTTC: r.POSTTC, Type: r.BillType, Time: r.Time, ASN: r.ASN, Amount: r.Amount, CTC: r.UnlockCTC,
		TAC: r.TAC, GMAC: r.GMAC, PSAMTAC: r.PSAMTAC, PSAMSerial: fmt.Sprintf("%X", psamSerial), TID: r.TID,
		PSAMTTC: r.UnlockTTC, Wallet: r.Wallet, KeyVersion: r.KeyVersion}
	if r.BalanceBefore >= r.Amount {
		b.Balance = r.BalanceBefore - r.Amount
	}
	if r.State == StateEscape || (r.State != StateApplied && r.TAC.IsZero()) {
		b.TAC, b.Type = r.GTAC, BillEscape
	}
	if f := r.Fill; f != nil {
		b.Nozzle, b.Grade, b.Volume, b.Price = f.Nozzle, f.Grade, f.Volume, f.Price
	}
	return b, nil
}

// Bytes encodes the bill in the dispenser's layout [IPT offsets], with
// the card's ASN in clear (for the upload to the station; never stored so):
// POS-TTC 4 ‖ T-TYPE 1 ‖ datetime 7 ‖ ASN 10 ‖ balance 4 ‖ amount 3 ‖ CTC 2
// ‖ TAC 4 ‖ GMAC 4 ‖ PSAM-TAC 4 ‖ PSAM ASN 10 ‖ PSAM TID 6 ‖ PSAM TTC 4 ‖
// debit source 1 ‖ unit 1 ‖ card kind 1 ‖ key version 1 ‖ nozzle 1 ‖ grade
// 2 ‖ volume 3 ‖ price 2 ‖ staff 1 ‖ volume total 4 ‖ RFU 11 ‖ T-MAC 4: 95
// bytes. The T-MAC (a PBOC 3DES MAC from the PSAM's DES service, 80 1A /
// 80 FA, whose key the public sources do not give) is left zero.
func (b DispenserBill) Bytes(asn ASN, psamSerial [10]byte) []byte {
	out := make([]byte, 0, 95)
	out = append(out, byte(b.POSTTC>>24), byte(b.POSTTC>>16), byte(b.POSTTC>>8), byte(b.POSTTC), b.Type)
	out = append(out, b.Time[:]...)
	out = append(out, asn[:]...)
	out = append(out, b.Balance.bytes()...)
	out = append(out, b.Amount.bytes()[1:]...) // 3 bytes
	out = append(out, byte(b.CTC>>8), byte(b.CTC))
	out = append(out, b.TAC[:]...)
	out = append(out, b.GMAC[:]...)
	out = append(out, b.PSAMTAC[:]...)
	out = append(out, psamSerial[:]...)
	out = append(out, b.TID[:]...)
	out = append(out, byte(b.PSAMTTC>>24), byte(b.PSAMTTC>>16), byte(b.PSAMTTC>>8), byte(b.PSAMTTC))
	out = append(out, byte(b.Wallet), 0x00, 0x00, b.KeyVersion, b.Nozzle, byte(b.Grade>>8), byte(b.Grade))
	out = append(out, byte(b.Volume>>16), byte(b.Volume>>8), byte(b.Volume))
	out = append(out, byte(b.Price>>8), byte(b.Price), 0x00)
	out = append(out, make([]byte, 4+11+4)...) // volume total, RFU, T-MAC
	return out
}
