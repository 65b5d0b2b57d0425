// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"fmt"

	"github.com/moov-io/iso8583"
)

// msgKind names a message of the link.
type msgKind int

const (
	msgSignIn msgKind = iota
	msgSignOff
	msgEcho
	msgBalance
	msgSale
	msgLoadDesignated
	msgLoadCash
	msgLoadOther
	msgReversal
	msgOfflineUpload
	msgOfflineUploadBatch
	msgScriptAdvice
	msgSettlement
	msgTCUpload
	msgBatchEnd
	msgCAKeyQuery
	msgCAKeyDownload
	msgCAKeyEnd
	msgParamQuery
	msgParamDownload
	msgParamEnd
	msgPurseLoad
	msgPurseUnload
	msgPurseUnlock
	msgPurseConfirm
)

// msgType is one row of the message table (ACQUIRER-NOTES §3): the MTI,
// processing code (field 3), condition code (25), 60.1 and 60.3, and
// whether field 64 is sent. Builders fill the rest.
type msgType struct {
	name      string
	mti       string
	proc      string // "" when field 3 is not sent
	cond      string // "" when field 25 is not sent
	type601   string
	net603    string
	mac       bool
	financial bool // fields 22, 23, 60.4, 60.5 follow the card
}

var messages = [...]msgType{
	msgSignIn:             {"sign-in", "0800", "", "", "00", "001", false, false}, // 60.3 by key mode
	msgSignOff:            {"sign-off", "0820", "", "", "00", "002", false, false},
	msgEcho:               {"echo test", "0820", "", "", "00", "301", false, false},
	msgBalance:            {"balance inquiry", "0200", "310000", "00", "01", "000", true, true},
	msgSale:               {"sale", "0200", "000000", "00", "22", "000", true, true},
	msgLoadDesignated:     {"EC load, designated account", "0200", "600000", "91", "45", "000", true, true},
	msgLoadCash:           {"EC load, cash", "0200", "630000", "91", "46", "000", true, true},
	msgLoadOther:          {"EC load, other account", "0200", "620000", "91", "47", "000", true, true},
	msgReversal:           {"reversal", "0400", "", "", "", "", true, true}, // the original's 3, 25, 60
	msgOfflineUpload:      {"offline upload", "0200", "000000", "00", "36", "000", true, true},
	msgOfflineUploadBatch: {"offline upload in batch", "0320", "000000", "00", "36", "000", false, true},
	msgScriptAdvice:       {"script result advice", "0620", "", "", "00", "951", true, true}, // the original's 3, 25
	msgSettlement:         {"settlement", "0500", "", "", "00", "201", false, false},
	msgTCUpload:           {"IC TC upload", "0320", "", "", "00", "203", false, false}, // 205 unbalanced
	msgBatchEnd:           {"batch end", "0320", "", "", "00", "207", false, false},    // 202 unbalanced
	msgCAKeyQuery:         {"CA key query", "0820", "", "", "00", "372", false, false},
	msgCAKeyDownload:      {"CA key download", "0800", "", "", "00", "370", false, false},
	msgCAKeyEnd:           {"CA key download end", "0800", "", "", "00", "371", false, false},
	msgParamQuery:         {"IC parameter query", "0820", "", "", "00", "382", false, false},
	msgParamDownload:      {"IC parameter download", "0800", "", "", "00", "380", false, false},
	msgParamEnd:           {"IC parameter download end", "0800", "", "", "00", "381", false, false},
	// The purse messages are this link's reading (no source shows them):
	// see purse.go.
	msgPurseLoad:    {"purse load", "0200", "600000", "91", "48", "000", true, true},
	msgPurseUnload:  {"purse unload", "0200", "210000", "00", "49", "000", true, true},
	msgPurseUnlock:  {"purse online unlock", "0200", "000000", "00", "52", "000", true, true},
	msgPurseConfirm: {"purse confirmation", "0220", "", "", "", "", true, true}, // the original's 3, 25, 60.1
}

// fields is a set of field values to put into a message: strings for
// text and numeric fields, bytes for binary ones.
type fields map[int]any

// build makes a message of kind k with trace number stan: MTI, 3, 11, 25,
// 41, 42, 60 (60.1, batch, 60.3 and rest60), the extra fields and, when
// the row says so, a placeholder for field 64 that the codec fills. net603
// overrides the row's 60.3 when not empty.
func (l *Link) build(k msgKind, stan, batch uint32, net603, rest60 string, extra fields) (*iso8583.Message, error) {
	mt := messages[k]
	if net603 == "" {
		net603 = mt.net603
	}
	f := fields{fSTAN: fmt.Sprintf("%06d", stan), fTerminalID: l.cfg.TerminalID, fMerchantID: l.cfg.MerchantID}
	if mt.proc != "" {
		f[fProcessingCode] = mt.proc
	}
	if mt.cond != "" {
		f[fCondition] = mt.cond
	}
	if mt.type601 != "" {
		f[fReserved60] = Field60{Type: mt.type601, Batch: batch, Network: net603, Rest: rest60}.String()
	}
	for id, v := range extra {
		f[id] = v
	}
	if mt.mac {
		f[fMAC] = make([]byte, MACLen)
	}
	return newMessage(l.spec, mt.mti, f)
}

// newMessage sets every field of f on a new message.
func newMessage(spec *iso8583.MessageSpec, mti string, f fields) (*iso8583.Message, error) {
	msg := iso8583.NewMessage(spec)
	msg.MTI(mti)
	for id, v := range f {
		var err error
		switch v := v.(type) {
		case string:
			err = msg.Field(id, v)
		case []byte:
			err = msg.BinaryField(id, v)
		default:
			err = fmt.Errorf("field %d: value of type %T", id, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMessage, err)
		}
	}
	return msg, nil
}

// str returns field id of msg as a string ("" when absent).
func str(msg *iso8583.Message, id int) string {
	if msg.GetField(id) == nil {
		return ""
	}
	s, err := msg.GetString(id)
	if err != nil {
		return ""
	}
	return s
}

// bin returns field id of msg as bytes (nil when absent).
func bin(msg *iso8583.Message, id int) []byte {
	if msg.GetField(id) == nil {
		return nil
	}
	b, err := msg.GetBytes(id)
	if err != nil {
		return nil
	}
	return b
}

// fits checks that a reply answers req: the reply MTI, the same trace
// number and, where the reply carries them, the same terminal, merchant,
// processing code and amount. A response code is required. The
// trace number and MTI already matched for the reply to be delivered; they
// are checked again so that fits stands on its own.
func fits(req, reply *iso8583.Message) error {
	rmti, _ := req.GetMTI()
	mti, _ := reply.GetMTI()
	if mti != replyMTI(rmti) {
		return fmt.Errorf("%w: MTI %s answers %s", ErrMismatch, mti, rmti)
	}
	for _, id := range []int{fSTAN, fTerminalID, fMerchantID, fProcessingCode, fAmount} {
		want, got := str(req, id), str(reply, id)
		if got == "" && id != fSTAN {
			continue
		}
		if got != want {
			return fmt.Errorf("%w: field %d is %q, the request's %q", ErrMismatch, id, got, want)
		}
	}
	if code := str(reply, fResponseCode); len(code) != 2 {
		return fmt.Errorf("%w: response code %q", ErrMismatch, code)
	}
	return nil
}
