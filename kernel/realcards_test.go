// SPDX-License-Identifier: Apache-2.0

package kernel_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// Real cards' recorded answers, replayed against the kernel. Each answer
// below is the bytes a real PBOC / UnionPay card sent, as published with
// the source named beside it (only the bytes are taken). Where a
// recording does not hold an answer the kernel asks for, the card answers
// what a card without that data answers (6A82, 6A83, 6A88), never made-up
// data.

// recordedAnswer is one recorded exchange: the command (hex, Le optional)
// and the card's answer with its status word.
type recordedAnswer struct{ cmd, rsp string }

// recordedCard answers with a real card's recorded answers. An answer is
// chosen by the command's CLA INS P1 P2 and data; Le is not compared, as
// recordings differ in whether they show it, and a recorded command of
// only CLA INS P1 P2 matches any data (GET PROCESSING OPTIONS carries the
// terminal's unpredictable number, never the same twice). A command the recording does
// not hold is answered as a card without that file or data object answers
// it: SELECT 6A82, READ RECORD 6A83, GET DATA 6A88; anything else fails
// the test (the kernel sent something the card was never asked).
type recordedCard struct {
	t       *testing.T
	answers []recordedAnswer
	sent    []string // every command, hex
}

func (c *recordedCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	c.t.Helper()
	c.sent = append(c.sent, fmt.Sprintf("%X", cmd))
	got, err := apdu.ParseCommand(cmd)
	require.NoError(c.t, err)
	for _, a := range c.answers {
		want, err := apdu.ParseCommand(unhex(c.t, a.cmd))
		require.NoError(c.t, err, a.cmd)
		anyData := len(unhex(c.t, a.cmd)) == 4
		if want.CLA == got.CLA && want.INS == got.INS && want.P1 == got.P1 && want.P2 == got.P2 && (anyData || bytes.Equal(want.Data, got.Data)) {
			return unhex(c.t, a.rsp), nil
		}
	}
	switch got.INS {
	case 0xA4:
		return []byte{0x6A, 0x82}, nil
	case 0xB2:
		return []byte{0x6A, 0x83}, nil
	case 0xCA:
		return []byte{0x6A, 0x88}, nil
	}
	c.t.Errorf("the recording has no answer to %X", cmd)
	return []byte{0x6D, 0x00}, nil
}

// t0Card puts a card behind the T=0 protocol as ISO/IEC 7816-3 and EMV
// Book 1 (Annex A) have it: a command with data that has response data
// is answered 61xx and the data comes with GET RESPONSE (00 C0, Le = xx);
// a command without data whose Le is not the length of its answer is
// answered 6Cxx (the length) and answered when sent again with that Le.
// It is what a lab's replay of a T=0 card sends through a reader that
// leaves 61xx / 6Cxx to the terminal (PC/SC).
type t0Card struct {
	inner   apdu.Transport
	pending []byte   // the answer GET RESPONSE gives, with its status word
	sent    []string // every command, hex
}

func (c *t0Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.sent = append(c.sent, fmt.Sprintf("%X", cmd))
	x, err := apdu.ParseCommand(cmd)
	if err != nil {
		return nil, err
	}
	if x.CLA == 0x00 && x.INS == 0xC0 {
		rsp := c.pending
		if rsp == nil {
			return []byte{0x69, 0x85}, nil
		}
		data := rsp[:len(rsp)-2]
		if x.Ne != len(data) {
			return le(0x6C, len(data)), nil
		}
		c.pending = nil
		return rsp, nil
	}
	c.pending = nil
	rsp, err := c.inner.Transmit(ctx, cmd)
	if err != nil || len(rsp) <= 2 {
		return rsp, err
	}
	n := len(rsp) - 2
	switch {
	case len(x.Data) > 0:
		c.pending = rsp
		return le(0x61, n), nil
	case x.Ne != n:
		return le(0x6C, n), nil
	}
	return rsp, nil
}

// le is SW1 with the length n as SW2 (256 as 00).
func le(sw1 byte, n int) []byte { return []byte{sw1, byte(n)} }

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// Recorded answers, by source.
var (
	// neil-pan-s/qpboc-kernel, QPboc-Kata-Run-Log.txt: a UnionPay debit
	// card tapped on an Android phone (2017-06-01 16:36:21); the log
	// prints each APDU and its answer. The PAN is masked in the log
	// itself (6299999999999999).
	qpbocPPSE = recordedAnswer{"00A404000E325041592E5359532E444446303100",
		"6F30840E325041592E5359532E4444463031A51EBF0C1B61194F08A000000333010101500A50424F43204445424954870101 9000"}
	qpbocSelectAID = recordedAnswer{"00A4040008A00000033301010100",
		"6F598408A000000333010101A54D500A50424F432044454249548701019F38189F66049F02069F03069F1A0295055F2A029A039C019F37045F2D027A689F1101019F120A50424F43204445424954BF0C0A9F4D020B0ADF4D020C0A 9000"}
	// (The recorded GPO command was 80A8000023 8321 36800000
	// 000000000001 000000000000 0156 0000000000 0156 170601 00 2B29EBE4.)
	qpbocGPO = recordedAnswer{"80A80000",
		"774F82027C009F36020ADC57116299999999999999D201120101234567899F101307010103A00000010A010000038787868FD1FC9F2608AD03EE811AFAD4845F3401009F6C0200009F5D06000000038787 9000"}

	// CSDN download qq54328485/10296224 ("读取PBOC卡的基本流程"): a PBOC
	// debit card read with a contact reader — a PSE whose directory is
	// in SFI 10 (READ RECORD P2 54), one directory record, the ADF's FCI.
	csdnPSE = recordedAnswer{"00A404000E315041592E5359532E4444463031",
		"6F15840E315041592E5359532E4444463031A50388010A 9000"}
	csdnDirRecord = recordedAnswer{"00B2015400",
		"702861264F08A000000333010101500A50424F432044454249549F120A50424F43204445424954870101 9000"}
	csdnSelectAID = recordedAnswer{"00A4040008A000000333010101",
		"6F3E8408A000000333010101A532500A50424F432044454249548701019F38189F66049F02069F03069F1A0295055F2A029A039C019F3704BF0C059F4D020B0A 9000"}

	// u72.net/daima/9wb3.html ("读取PBOC电子现金指令流", also on
	// javashuo.com and zoukankan.com): a PBOC EC card over T=0, the
	// procedure bytes shown. SELECT PSE was answered 61 28 and GET
	// RESPONSE 28 gave the FCI; READ RECORD 01 0C with Le 00 was answered
	// 6C 27 and, sent again with Le 27, gave the directory record (an
	// entry without a priority indicator).
	t0PSEFCI     = "6F26840E315041592E5359532E4444463031A5148801015F2D027A689F110101BF0C059F4D020B0A 9000"
	t0DirRecord  = "70256123 4F08A000000333010101 500A50424F43204445424954 9F120A50424F43204445424954 9000"
	t0PSE        = recordedAnswer{"00A404000E315041592E5359532E4444463031", t0PSEFCI}
	t0DirRecord1 = recordedAnswer{"00B2010C00", t0DirRecord}

	// An Android demo's PbocUtils.java (package com.wd.liandidemo.RF,
	// its main method): a card's answer to GET DATA 9F4F and the first
	// record of its transaction log (2016-05-24 19:12:22, type 01, ATC
	// 003F, the merchant name all zeros).
	liandiLogFormat = recordedAnswer{"80CA9F4F00", "9F4F199A039F21039F02069F03069F1A025F2A029F4E149C019F3602 9000"}
	liandiLogRecord = recordedAnswer{"00B2015C00",
		"160524191222000000000000000000000000015601560000000000000000000000000000000000000000 01 003F 9000"}

	// A bus reader's qPBOC.c (SANLIAN HD300, getqPbocMoney): the comment
	// records GET DATA 9F79 to a UnionPay card (block byte 03 removed):
	// EC balance 37.80.
	busBalance = recordedAnswer{"80CA9F7900", "9F7906000000003780 9000"}
)

// TestRealCardPSEInSFI10 reads the EC balance of a card whose PSE
// directory is in SFI 10, the highest SFI EMV Book 1 §12.2.3 allows a
// directory (1-10), with the balance another card answered.
func TestRealCardPSEInSFI10(t *testing.T) {
	card := &recordedCard{t: t, answers: []recordedAnswer{csdnPSE, csdnDirRecord, csdnSelectAID, busBalance}}
	bal, err := newKernel(t).ReadBalance(context.Background(), card)
	require.NoError(t, err)
	assert.Equal(t, unhex(t, debitAID), []byte(bal.AID))
	assert.Equal(t, "PBOC DEBIT", bal.Label)
	require.NotNil(t, bal.Balance)
	assert.Equal(t, kernel.Amount(3780), *bal.Balance)
	assert.Nil(t, bal.Limit, "9F77 not on this card: 6A88")
	assert.Equal(t, []string{
		"00A404000E315041592E5359532E444446303100", // SELECT PSE
		"00B2015400", "00B2025400", // the directory, SFI 10, to 6A83
		"00A4040008A00000033301010100", // the ADF
		"80CA9F7900", "80CA9F7700", "80CA9F7800", "80CA9F6D00",
	}, card.sent[:8])
}

// TestRealCardT0ResponseChaining replays a T=0 card: the PSE's FCI comes
// after 61 28 with GET RESPONSE, the directory record after 6C 27 with the
// command re-sent; the kernel sends exactly what the recorded terminal
// sent (00 C0 00 00 28, 00 B2 01 0C 27) and selects the application.
func TestRealCardT0ResponseChaining(t *testing.T) {
	inner := &recordedCard{t: t, answers: []recordedAnswer{t0PSE, t0DirRecord1, qpbocSelectAID, busBalance}}
	card := &t0Card{inner: inner}
	bal, err := newKernel(t).ReadBalance(context.Background(), card)
	require.NoError(t, err)
	require.NotNil(t, bal.Balance)
	assert.Equal(t, kernel.Amount(3780), *bal.Balance)
	assert.Equal(t, "PBOC DEBIT", bal.Label)
	assert.Equal(t, []string{
		"00A404000E315041592E5359532E444446303100", "00C0000028", // 61 28, as recorded
		"00B2010C00", "00B2010C27", // 6C 27, as recorded
		"00B2020C00",                                 // 6A83: the directory's end
		"00A4040008A00000033301010100", "00C000005B", // the ADF's FCI, 61 5B
		"80CA9F7900", "80CA9F7909", // 6C 09
	}, card.sent[:9])
}

// TestRealCardT0ExchangeAsRecorded checks apdu.Exchange against the
// recorded T=0 session byte for byte: the commands the terminal sent and
// the card's procedure answers.
func TestRealCardT0ExchangeAsRecorded(t *testing.T) {
	steps := []recordedAnswer{
		{"00A404000E315041592E5359532E444446303100", "6128"},
		{"00C0000028", t0PSEFCI},
		{"00B2010C00", "6C27"},
		{"00B2010C27", t0DirRecord},
	}
	i := 0
	card := apdu.TransportFunc(func(_ context.Context, cmd []byte) ([]byte, error) {
		require.Less(t, i, len(steps), "command %X after the recording ended", cmd)
		assert.Equal(t, unhex(t, steps[i].cmd), cmd, "command %d", i)
		i++
		return unhex(t, steps[i-1].rsp), nil
	})
	ctx := context.Background()
	r, err := apdu.Exchange(ctx, card, apdu.Select([]byte("1PAY.SYS.DDF01")))
	require.NoError(t, err)
	assert.Equal(t, apdu.SWSuccess, r.SW)
	sfi, ok, err := tlv.Find(r.Data, 0x88)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []byte{1}, sfi)
	r, err = apdu.Exchange(ctx, card, apdu.ReadRecord(1, 1))
	require.NoError(t, err)
	aid, ok, err := tlv.Find(r.Data, 0x4F)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, unhex(t, debitAID), aid)
	assert.Equal(t, 4, i)
}

// TestRealCardUnionPayLogFormat reads a real transaction log record with
// the format 9F4F a real card gives (the PBOC one: 9A 9F21 9F02 9F03 9F1A
// 5F2A 9F4E 9C 9F36, 45 bytes), the log entry 9F4D 0B0A of a real FCI.
func TestRealCardUnionPayLogFormat(t *testing.T) {
	card := &recordedCard{t: t, answers: []recordedAnswer{qpbocSelectAID, liandiLogFormat, liandiLogRecord}}
	log, err := newKernel(t).ReadTransactionLog(context.Background(), card)
	require.NoError(t, err)
	require.Len(t, log, 1, "record 2 is 6A83")
	e := log[0]
	assert.Equal(t, time.Date(2016, 5, 24, 19, 12, 22, 0, fixedNow.Location()), e.Time)
	assert.Equal(t, kernel.Amount(0), e.Amount)
	assert.Equal(t, uint16(156), e.Country)
	assert.Equal(t, uint16(156), e.Currency)
	assert.Equal(t, "", e.Merchant, "twenty zero bytes are padding")
	assert.Equal(t, byte(0x01), e.Type)
	assert.Equal(t, uint16(0x3F), e.ATC)
	assert.Len(t, e.Fields, 9)
	assert.Contains(t, card.sent, "00B2015C00", "SFI 11 record 1")
	assert.Contains(t, card.sent, "00B2025C00", "record 2, which ends the log")
}

// TestRealCardDumpsEveryRecordedAnswer runs every recorded answer through
// tlv.Dump: no error, the track 2 of the qPBOC GPO answer masked.
func TestRealCardDumpsEveryRecordedAnswer(t *testing.T) {
	for _, a := range []recordedAnswer{qpbocPPSE, qpbocSelectAID, qpbocGPO, csdnPSE, csdnDirRecord, csdnSelectAID,
		t0PSE, t0DirRecord1, liandiLogFormat, busBalance} {
		rsp := unhex(t, a.rsp)
		var b strings.Builder
		require.NoError(t, tlv.Dump(&b, rsp[:len(rsp)-2]), a.rsp)
		assert.NotContains(t, b.String(), "6299999999999999", a.cmd)
	}
}

// TestRealCardQPBOCOnlineTap replays a real qPBOC tap: PPSE, the ADF, and
// a GPO answer in format 2 (77) with the ARQC and no AFL — the card asks
// for online authorisation and gives everything in the GPO answer.
func TestRealCardQPBOCOnlineTap(t *testing.T) {
	cfg := testConfig()
	tap := time.Date(2017, 6, 1, 16, 36, 21, 0, fixedNow.Location()) // the log's date
	cfg.Now = func() time.Time { return tap }
	var req *kernel.AuthRequest
	host := kernel.HostFunc(func(_ context.Context, r *kernel.AuthRequest) (*kernel.AuthResponse, error) {
		req = r
		return &kernel.AuthResponse{ResponseCode: "00"}, nil
	})
	k, err := kernel.New(cfg, kernel.WithHost(host))
	require.NoError(t, err)
	card := &recordedCard{t: t, answers: []recordedAnswer{qpbocPPSE, qpbocSelectAID, qpbocGPO}}
	res, err := k.PurchaseContactless(context.Background(), card, 1)
	require.NoError(t, err)
	assert.Equal(t, kernel.OutcomeApprovedOnline, res.Outcome, res.Detail)
	assert.Equal(t, kernel.ReasonOnlineApproved, res.Reason)
	assert.Len(t, card.sent, 3, "PPSE, SELECT, GPO: no AFL, nothing to read")
	assert.Equal(t, "629999******9999", res.PAN)
	assert.Equal(t, uint16(0x0ADC), res.ATC)
	require.NotNil(t, req)
	assert.Equal(t, "6299999999999999", req.PAN, "the host gets the PAN of track 2")
	for _, tag := range []struct {
		tag tlv.Tag
		v   string
	}{{0x9F26, "AD03EE811AFAD484"}, {0x9F36, "0ADC"}, {0x9F10, "07010103A00000010A010000038787868FD1FC"}, {0x82, "7C00"}} {
		v, ok, err := tlv.Find(req.Field55, tag.tag)
		require.NoError(t, err)
		if assert.True(t, ok, "field 55 has %s", tag.tag) {
			assert.Equal(t, unhex(t, tag.v), v, "field 55 %s", tag.tag)
		}
	}
}

// TestLogRecordLongerThanItsFormat reads a record with bytes after the
// fields 9F4F names: they are ignored, the fields are the real record's; a
// record shorter than the format is refused.
func TestLogRecordLongerThanItsFormat(t *testing.T) {
	padded := recordedAnswer{liandiLogRecord.cmd, strings.TrimSuffix(liandiLogRecord.rsp, "9000") + "FFFF 9000"}
	card := &recordedCard{t: t, answers: []recordedAnswer{qpbocSelectAID, liandiLogFormat, padded}}
	log, err := newKernel(t).ReadTransactionLog(context.Background(), card)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Equal(t, uint16(0x3F), log[0].ATC, "the fields are where the format puts them")
	assert.Equal(t, byte(0x01), log[0].Type)
	assert.Len(t, log[0].Fields, 9)

	short := recordedAnswer{liandiLogRecord.cmd, strings.TrimSuffix(liandiLogRecord.rsp, "003F 9000") + "00 9000"}
	card = &recordedCard{t: t, answers: []recordedAnswer{qpbocSelectAID, liandiLogFormat, short}}
	_, err = newKernel(t).ReadTransactionLog(context.Background(), card)
	assert.ErrorIs(t, err, kernel.ErrCardData)
}
