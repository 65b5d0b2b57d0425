// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"encoding/binary"
	"fmt"

	"github.com/go-pboc/pboc/purse"
)

// Field 62 of the purse messages: the card's fixed fields, as the card
// gave them, in the order of its answers (PURSE-NOTES §2). No source shows
// how a UnionPay acquirer carries a 圈存 or 圈提; this is the link's own
// reading, binary, big-endian like the card's answers, and what
// acquirersim reads. The card is named by its ASN (20 digits do not fit
// field 2, n..19) and the terminal's record ID names the operation, so that
// a request or confirmation sent again after a restart is the same one at
// the host (purse.Host must be idempotent by ID).
//
//	request (0200)        ASN 10 ‖ wallet 1 ‖ type 1 ‖ TID 6 ‖ balance 4 ‖
//	                      online SN 2 ‖ key version 1 ‖ alg 1 ‖ random 4 ‖
//	                      MAC1 4 ‖ CTC 2 ‖ ID length 1 ‖ ID ‖ [grey status 30]
//	reply (0210)          host date and time 7 ‖ MAC2 4 ‖ amount 4
//	confirmation (0220)   ASN 10 ‖ applied 1 (01/00) ‖ TAC 4 ‖ MAC3 4 ‖
//	                      new balance 4 ‖ ID length 1 ‖ ID ‖ [proof 16]
//
// The grey status is the 30 bytes of GET GREY STATUS (an online unlock);
// the proof is the 16 bytes of a fresh INITIALIZE FOR LOAD of 0.00 (a load
// the card did not apply). The amount of a load or unload travels in field
// 4, the kind in 60.1.
const (
	purseRequestFixed = 36
	purseReplyLen     = 15
	purseConfirmFixed = 23
	purseGreyLen      = 30
	purseProofLen     = 16
	// MaxPurseID is the longest record ID field 62 carries.
	MaxPurseID = 64
)

// MarshalPurseRequest encodes field 62 of a purse request (load, unload,
// online unlock). The kind and the amount are not in it (60.1, field 4).
func MarshalPurseRequest(r *purse.HostRequest) ([]byte, error) {
	if len(r.ID) == 0 || len(r.ID) > MaxPurseID {
		return nil, fmt.Errorf("%w: purse record ID of %d bytes (1 to %d)", ErrMessage, len(r.ID), MaxPurseID)
	}
	b := make([]byte, 0, purseRequestFixed+1+len(r.ID)+purseGreyLen)
	b = append(b, r.ASN[:]...)
	b = append(b, byte(r.Wallet), byte(r.Type))
	b = append(b, r.TID[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(r.Balance))
	b = binary.BigEndian.AppendUint16(b, r.OnlineSN)
	b = append(b, r.KeyVersion, r.Alg)
	b = append(b, r.Random[:]...)
	b = append(b, r.MAC1[:]...)
	b = binary.BigEndian.AppendUint16(b, r.CTC)
	b = append(b, byte(len(r.ID)))
	b = append(b, r.ID...)
	if r.Grey != nil {
		b = appendGrey(b, r.Grey)
	}
	return b, nil
}

// ParsePurseRequest decodes field 62 of a purse request; Kind and Amount
// are left for the caller to set from 60.1 and field 4.
func ParsePurseRequest(b []byte) (*purse.HostRequest, error) {
	if len(b) < purseRequestFixed+2 {
		return nil, fmt.Errorf("%w: purse request field 62 of %d bytes", ErrMessage, len(b))
	}
	r := &purse.HostRequest{}
	copy(r.ASN[:], b[0:10])
	r.Wallet, r.Type = purse.Wallet(b[10]), purse.TxType(b[11])
	copy(r.TID[:], b[12:18])
	r.Balance = purse.Amount(binary.BigEndian.Uint32(b[18:22]))
	r.OnlineSN = binary.BigEndian.Uint16(b[22:24])
	r.KeyVersion, r.Alg = b[24], b[25]
	copy(r.Random[:], b[26:30])
	copy(r.MAC1[:], b[30:34])
	r.CTC = binary.BigEndian.Uint16(b[34:36])
	id, rest, err := purseID(b[36:])
	if err != nil {
		return nil, err
	}
	r.ID = id
	switch len(rest) {
	case 0:
	case purseGreyLen:
		g, err := purse.ParseGreyStatus(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: purse request grey status: %w", ErrMessage, err)
		}
		r.Grey = &g
	default:
		return nil, fmt.Errorf("%w: purse request field 62: %d bytes after the ID", ErrMessage, len(rest))
	}
	return r, nil
}

// MarshalPurseReply encodes field 62 of an approved purse reply.
func MarshalPurseReply(r *purse.HostResponse) []byte {
	b := make([]byte, 0, purseReplyLen)
	b = append(b, r.Time[:]...)
	b = append(b, r.MAC2[:]...)
	return binary.BigEndian.AppendUint32(b, uint32(r.Amount))
}

// ParsePurseReply decodes field 62 of an approved purse reply.
func ParsePurseReply(b []byte) (*purse.HostResponse, error) {
	if len(b) != purseReplyLen {
		return nil, fmt.Errorf("%w: purse reply field 62 of %d bytes, want %d", ErrMismatch, len(b), purseReplyLen)
	}
	r := &purse.HostResponse{Amount: purse.Amount(binary.BigEndian.Uint32(b[11:15]))}
	copy(r.Time[:], b[0:7])
	copy(r.MAC2[:], b[7:11])
	return r, nil
}

// MarshalPurseConfirmation encodes field 62 of a purse confirmation.
func MarshalPurseConfirmation(c *purse.HostConfirmation) ([]byte, error) {
	if len(c.ID) == 0 || len(c.ID) > MaxPurseID {
		return nil, fmt.Errorf("%w: purse record ID of %d bytes (1 to %d)", ErrMessage, len(c.ID), MaxPurseID)
	}
	b := make([]byte, 0, purseConfirmFixed+1+len(c.ID)+purseProofLen)
	b = append(b, c.ASN[:]...)
	applied := byte(0)
	if c.Applied {
		applied = 1
	}
	b = append(b, applied)
	b = append(b, c.TAC[:]...)
	b = append(b, c.MAC3[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(c.NewBalance))
	b = append(b, byte(len(c.ID)))
	b = append(b, c.ID...)
	if p := c.Proof; p != nil {
		b = binary.BigEndian.AppendUint32(b, uint32(p.Balance))
		b = binary.BigEndian.AppendUint16(b, p.OnlineSN)
		b = append(b, p.KeyVersion, p.Alg)
		b = append(b, p.Random[:]...)
		b = append(b, p.MAC1[:]...)
	}
	return b, nil
}

// ParsePurseConfirmation decodes field 62 of a purse confirmation; Kind
// is left for the caller to set from 60.1.
func ParsePurseConfirmation(b []byte) (*purse.HostConfirmation, error) {
	if len(b) < purseConfirmFixed+2 {
		return nil, fmt.Errorf("%w: purse confirmation field 62 of %d bytes", ErrMessage, len(b))
	}
	c := &purse.HostConfirmation{}
	copy(c.ASN[:], b[0:10])
	switch b[10] {
	case 0:
	case 1:
		c.Applied = true
	default:
		return nil, fmt.Errorf("%w: purse confirmation applied flag %02X", ErrMessage, b[10])
	}
	copy(c.TAC[:], b[11:15])
	copy(c.MAC3[:], b[15:19])
	c.NewBalance = purse.Amount(binary.BigEndian.Uint32(b[19:23]))
	id, rest, err := purseID(b[23:])
	if err != nil {
		return nil, err
	}
	c.ID = id
	switch len(rest) {
	case 0:
	case purseProofLen:
		p, err := purse.ParseOnlineInit(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: purse confirmation proof: %w", ErrMessage, err)
		}
		c.Proof = &p
	default:
		return nil, fmt.Errorf("%w: purse confirmation field 62: %d bytes after the ID", ErrMessage, len(rest))
	}
	return c, nil
}

// purseID reads the length-prefixed record ID at the start of b.
func purseID(b []byte) (string, []byte, error) {
	n := int(b[0])
	if n == 0 || n > MaxPurseID || len(b) < 1+n {
		return "", nil, fmt.Errorf("%w: purse record ID of %d bytes in %d", ErrMessage, n, len(b)-1)
	}
	return string(b[1 : 1+n]), b[1+n:], nil
}

// appendGrey appends the 30 bytes of GET GREY STATUS (purse.ParseGreyStatus
// reads them back).
func appendGrey(b []byte, g *purse.GreyStatus) []byte {
	b = append(b, g.Status, byte(g.Type), g.ETID)
	b = binary.BigEndian.AppendUint32(b, uint32(g.Balance))
	b = binary.BigEndian.AppendUint16(b, g.CTC)
	b = append(b, g.TID[:]...)
	b = append(b, g.Time[:]...)
	b = append(b, g.Word[:]...)
	return append(b, g.TAC[:]...)
}
