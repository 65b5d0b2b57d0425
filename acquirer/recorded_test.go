// SPDX-License-Identifier: Apache-2.0

package acquirer

import (
	"bytes"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/journal"
	"github.com/go-pboc/pboc/tlv"
)

// Messages that UnionPay POS terminals and acquirers sent, as their
// authors published them (hex dumps in open-source code and logs; the
// bytes only, each citing where it was found). Each is unpacked with this
// package's spec, its fields compared with what the source says they are,
// and packed again to the same bytes.

// recorded is one published message: the MTI onwards, with the frame's
// length, TPDU and header before it when the source kept them.
type recorded struct {
	name   string
	source string
	hex    string
	framed bool           // 2-byte length, TPDU and header precede the MTI
	tpdu   bool           // TPDU and header precede the MTI, no length
	app61  bool           // the header's application type is 61, not 60
	want   map[int]string // GetString of each field: hex for the binary ones
}

var recordedMessages = []recorded{
	{
		name:   "sign-in reply 0810, 60.3 003 (PIK 16, MAK 8 and filler, 40 bytes)",
		source: "yangyongzhen/Easy8583Ans app/src/main/java/com/example/yang/myapplication/My8583Ans.java",
		hex:    easySignInReply, framed: true, app61: true,
		want: map[int]string{0: "0810", 11: "500211", 12: "221301", 13: "0720", 32: "00085500", 37: "221301491329",
			39: "00", 41: "99999906", 42: "001430170119999", 60: "00000519003"},
	},
	{
		name:   "sign-in request 0800, 60.3 003, 63 '000'",
		source: "yangyongzhen/go8583 log1.txt (send:)",
		hex:    "003c600601000060310031181208000020000000c00012000000323230303336303031303435313235343131313030303100110000000000300003303030",
		framed: true,
		want:   map[int]string{0: "0800", 11: "000000", 41: "22003600", 42: "104512541110001", 60: "00000000003"},
	},
	{
		name:   "sign-in request 0800, 60.3 003, 62 'Sequence No' and terminal serial, header 61",
		source: "yangyongzhen/go8583 log.txt (send:)",
		hex:    "0057600601000061310031110808000020000000c0001600000132323030333630303130343531323534313131303030310011000000000030002553657175656e6365204e6f31323330363032323030333630300003303031",
		framed: true, app61: true,
		want: map[int]string{0: "0800", 11: "000001", 41: "22003600", 42: "104512541110001", 60: "00000000003",
			62: "53657175656E6365204E6F3132333036303232303033363030", 63: "303031"}, // binary fields read as hex: "Sequence No12306022003600", "001"
	},
	{
		name:   "sign-in reply 0810, 60.3 003",
		source: "yangyongzhen/go8583 log1.txt (recv:)",
		hex:    "007960000006016031003118120810003800010ac00014000000105203041308000965003130353230333037383838323030323230303336303031303435313235343131313030303100110000660300300040e01b3e860949ee4c0bddd573168ed6ba097575553945990f875ba4eb0000000000000000ede09d04",
		framed: true,
		want:   map[int]string{0: "0810", 32: "00096500", 39: "00", 41: "22003600", 60: "00006603003"},
	},
	{
		name:   "UnionPay QR sale 0200 with field 59, MAC'd under the printed MAK",
		source: "yangyongzhen/go8583 log.txt (the field dump of the sent message, reassembled)",
		hex:    go8583QRSale, framed: true, app61: true,
		want: map[int]string{0: "0200", 3: "000000", 4: "000000000001", 11: "000001", 22: "032", 25: "00",
			41: "22003600", 42: "104512541110001", 49: "156", 60: "2200660300060"},
	},
	{
		name:   "sign-in reply 0810, 60.3 004 (60 bytes)",
		source: "soloicesky/ISO8583Decoder sources/testMain.c @ acf354398242b65947488bc4f23accd4c79bd7bc",
		hex:    soloSignInReply004, tpdu: true,
		want: map[int]string{0: "0810", 11: "000016", 39: "00", 41: "12345678", 42: "123456789012345", 60: "00000085004"},
	},
	{
		name:   "settlement 0500, 48 totals, 60.3 201",
		source: "soloicesky/ISO8583Decoder sources/testMain.c @ 2daad1095e6b96c56a9a5e7599c42caf32f86053",
		hex:    "05000020000000c18012000645313233343536373731323334353637383930313233343500620000000000070070000000000000000000000000000000000000000000000031353600110000000320100003303120",
		want: map[int]string{0: "0500", 11: "000645", 41: "12345677", 42: "123456789012345",
			48: "00000000000700700000000000000000000000000000000000000000000000", 49: "156", 60: "00000003201"},
	},
	{
		name:   "EC offline upload 0200, 60.1 36, 55 with 9F74 and 8A 'Y1', 63 'CUP'",
		source: "soloicesky/ISO8583Decoder sources/testMain.c @ 1369ca141a5491137ca229cb222f3a17abf31acc",
		hex:    soloECUpload,
		want: map[int]string{0: "0200", 3: "000000", 4: "000000000001", 11: "000631", 14: "2212", 22: "072",
			23: "000", 25: "00", 41: "12345677", 42: "123456789012345", 49: "156", 60: "3600000300060"},
	},
	{
		name:   "IC reversal 0400, 39 '06', 55 with 95 9F1E 9F10",
		source: "bin1023111022/demo src/main/java/com/citic/SocketTest.java",
		hex:    "008A600006000060310032007204007024068002c08211196212142000000000012000000000000000011100117629120510000000303631303030303134373830313030303934393030303030313135360040950508800470009f1e0838383434373034369f101307010103a02010010a0100000500004707a18d0014220000010006014543454234394139",
		framed: true,
		want: map[int]string{0: "0400", 3: "000000", 4: "000000000111", 11: "001176", 22: "051", 23: "000", 25: "00",
			39: "06", 41: "10000147", 42: "801000949000001", 49: "156", 60: "22000001000601"},
	},
	{
		name:   "sale 0200 whose track 2 is enciphered under the TDK (hex digits in 35)",
		source: "soloicesky/ISO8583-CUP-FOR-JAVA- src/com/cup/iso8583/Main.java (the MTI, which the source leaves out, added)",
		hex:    "0200" + "3020048020C08811000000000000000001000139022000376013822000594988787DB26C2C1903514D8900313233343536373831323334353637383930313233343531353606100000000000000014220000490005013532413644424543",
		want: map[int]string{3: "000000", 4: "000000000001", 11: "000139", 22: "022", 25: "00",
			35: "6013822000594988787DB26C2C1903514D890", 41: "12345678", 49: "156", 53: "0610000000000000", 60: "22000049000501"},
	},
	{
		name:   "sale reply 0210 with 38, 44 and 63 'CUP'",
		source: "soloicesky/ISO8583-CUP-FOR-JAVA- src/com/cup/iso8583/Main.java (the MTI, which the source leaves out, added)",
		hex:    "0210" + "703E00810ED088131960138220005949887870000000000000000001000135112604103149121231000812345678303030303030303034383038303032303938303031323334353637383132333435363738393031323334352238383838383838383838383636363636363636363636313536061000000000000000142200004900050100034355503343333430354239",
		want: map[int]string{2: "6013822000594988787", 12: "112604", 13: "1031", 15: "1231", 32: "12345678", 37: "000000004808",
			38: "002098", 39: "00", 44: "8888888888866666666666", 60: "22000049000501"},
	},
	{
		name:   "a third-party acquirer's sign-in request: 46 terminal data",
		source: "vfwz/iso8583-parser src/test/java/cn/vfwz/PosMessageTest.java (SIGNIN_REQUEST)",
		hex:    "600003000060310031010008000020000000C408120000783130303136393139383433323930303435383230303042004750493034323034303230323035313430303030323430323130363837303030303030313038303856302E302E332E30040000000000000000110000072600500003303120",
		tpdu:   true,
		want:   map[int]string{0: "0800", 11: "000078", 41: "10016919", 60: "00000726005"},
	},
	{
		name:   "a third-party acquirer's IC sale: 46 terminal data, 62, 63",
		source: "vfwz/iso8583-parser src/test/java/cn/vfwz/PosMessageTest.java (PAY_REQUEST)",
		hex:    vfwzPayRequest, tpdu: true,
		want: map[int]string{0: "0200", 2: "6224242300000069", 3: "000000", 4: "000000001111", 22: "071",
			23: "000", 25: "00", 26: "12", 49: "156", 53: "2410000000000000", 60: "2200072700060"},
	},
	{
		name:   "a third-party acquirer's sale reply: 43 merchant name, 56 result text, 59 TLV",
		source: "vfwz/iso8583-parser src/test/java/cn/vfwz/PosMessageTest.java (PAY_RESPONSE)",
		hex:    vfwzPayReply, tpdu: true,
		want: map[int]string{0: "0210", 37: "X00004002761", 38: "650852", 39: "00", 60: "22000727000600070"},
	},
}

const (
	easySignInReply    = "007960000001386131003111080810003800010AC0001450021122130107200800085500323231333031343931333239303039393939393930363030313433303137303131393939390011000005190030004046F161A743497B32EAC760DF5EA57DF5900ECCE3977731A7EA402DDF0000000000000000CFF1592A"
	easyTMK            = "258FB0AB70D025CDB99DF2C4D302D646"
	soloSignInReply004 = "60052100006031000000000810003800010AC000140000161441490303081234567830303030303030313334343930303132333435363738313233343536373839303132333435001100000085004000606F3FB56EB7F7B2DF00657E864E9249C89CA2C689380B88B845D2DF350000000000000000A246BBB86F3FB56EB7F7B2DF00657E864E9249C89CA2C689"
	soloECUpload       = "02007024068000c08213196217800100900072756000000000000000000100063122120720000000313233343536373731323334353637383930313233343531353601309f74064543433030319f260817ffdc4f137878289f2701409f101307010103900000010a010000077347a057ab9e9f3704bd5836019f36025973950500000000009a031403049c01009f02060000000000015f2a02015682027c009f1a0201569f03060000000000009f3303e0e1c89f3501229f1e0831303130353232398a02593100133600000300060000034355503834434530423534"
	vfwzPayRequest     = "60000300006031003101000200703C06C000C49A1716622424230000006900000000000000111100007914155408242903071000000012313030313639313938343332393030343538323030304200695049303634303430323032303531343030303032343032313036383730303030303031303630363030303036393037303844333930334633393038303856302E302E332E303135360000000000000000241000000000000001459F260846FD62985CAAE7589F2701809F101307011703A00000010A0100000500001EF41C469F37049536C9B89F36020C66950500000000009A032208249C01009F02060000000011115F2A02015682027C009F1A0201569F03060000000000009F330360E9C89F34030000009F3501229F1E0831323334353637388408A0000003330101029F090200309F4104000000010013220007270006000024FF02213436307C30307C32383638387C34333232323834390021534D303136CDC489E91786D0BE01F543D813611BCD3833353932373435"
	vfwzPayReply       = "60000300006031003101000210703E02810EF08B31166224242300000069000000000000001111000079141556082400000824000000084843166558303030303430303237363136353038353230303130303136393139383433313636353538313230303041BAD3C4CFCAA1D2F8C2A1D0C5CFA2BCBCCAF5D3D0CFDEB9ABCBBE20202020202020202020202020202230333039202020202020203438343320202020202020313536240000000000000001459F260846FD62985CAAE7589F2701809F101307011703A00000010A0100000500001EF41C469F37049536C9B89F36020C66950500000000009A032208249C01009F02060000000011115F2A02015682027C009F1A0201569F03060000000000009F330360E9C89F34030000009F3501229F1E0831323334353637388408A0000003330101029F090200309F410400000001000730302BB3C9B9A6011445463031333336383734373437303733334132463246373036313739324536423634363232443734364132453633364636443246363833353644363537323633363836313645373445463032313843394138433245424338434644364134434345314339464442444531434245334236454500172200072700060007004246314136464335"
	// The 0200 of go8583's log.txt, put together from its field dump
	// (length 0069, TPDU, header, MTI, bitmap, then each field's bytes as
	// printed), and the clear MAK the same log printed after the sign-in.
	go8583QRSale = "0069" + "6006010000" + "613100311108" + "0200" + "3020048000c08031" +
		"000000" + "000000000001" + "000001" + "0320" + "00" + "3232303033363030" + "313034353132353431313130303031" + "313536" +
		"0024" + "413330313936323131313131313131313131313131313131" + "0013" + "22006603000600" + "4535383035454342"
	go8583MAK      = "dab36167e6dfb5ef"
	go8583SignIn62 = "37ce423bfa39b2a5adf173475bc06c9b14ae01bbfdd04400942ee12e0000000000000000b8f616dc"
)

// body returns the message of r from the MTI on, and its frame prefix.
func (r recorded) body(t *testing.T) (prefix, body []byte) {
	b := unhex(t, r.hex)
	n := 0
	switch {
	case r.framed:
		require.Equal(t, len(b)-2, int(b[0])<<8|int(b[1]), "the frame's length")
		n = 2 + tpduLen + headerLen
	case r.tpdu:
		n = tpduLen + headerLen
	}
	return b[:n], b[n:]
}

func TestRecordedMessagesUnpack(t *testing.T) {
	spec := newSpec(19)
	for _, r := range recordedMessages {
		t.Run(r.name, func(t *testing.T) {
			prefix, body := r.body(t)
			if len(prefix) > 0 {
				assert.Equal(t, byte(0x60), prefix[len(prefix)-tpduLen-headerLen], "TPDU ID")
				app := byte(0x60)
				if r.app61 {
					app = 0x61
				}
				assert.Equal(t, app, prefix[len(prefix)-headerLen], "header application type")
			}
			msg := iso8583.NewMessage(spec)
			require.NoError(t, unpack(msg, body), r.source)
			for id, want := range r.want {
				got, err := msg.GetString(id)
				require.NoError(t, err, "field %d", id)
				assert.Equal(t, want, got, "field %d", id)
			}
			if f60 := str(msg, fReserved60); f60 != "" {
				_, err := ParseField60(f60)
				assert.NoError(t, err, "field 60 %s", f60)
			}
			again, err := msg.Pack()
			require.NoError(t, err)
			assert.Equal(t, body, again, "packed again, the same bytes")
		})
	}
}

// recordedMessage unpacks the named recording.
func recordedMessage(t *testing.T, name string) *iso8583.Message {
	t.Helper()
	for _, r := range recordedMessages {
		if r.name == name {
			_, body := r.body(t)
			msg := iso8583.NewMessage(newSpec(19))
			require.NoError(t, unpack(msg, body))
			return msg
		}
	}
	t.Fatalf("no recording %q", name)
	return nil
}

// A recorded 003 sign-in reply and the TMK its author published: the keys
// parse in KeysTDESNoTDK, their check values verify under that TMK and
// under no other, and the installed MAK is the one the check value names.
func TestRecordedSignIn003KeysVerifyUnderThePublishedTMK(t *testing.T) {
	msg := recordedMessage(t, "sign-in reply 0810, 60.3 003 (PIK 16, MAK 8 and filler, 40 bytes)")
	f62 := bin(msg, fPrivate62)
	require.Len(t, f62, 40)
	w, err := ParseWorkingKeys(KeysTDESNoTDK, f62)
	require.NoError(t, err)
	assert.Nil(t, w.TDK)
	assert.Equal(t, f62, w.Field62(), "field 62 round-trips")
	_, err = ParseWorkingKeys(KeysTDES, f62)
	assert.ErrorIs(t, err, ErrMessage, "40 bytes are not a 004 reply")
	_, err = ParseWorkingKeys(KeysDES, f62)
	assert.ErrorIs(t, err, ErrMessage, "nor a 001 one")

	m, err := NewSoftModule(unhex(t, easyTMK))
	require.NoError(t, err)
	require.NoError(t, m.LoadWorkingKeys(t.Context(), w))
	mac, err := m.MAC(t.Context(), []byte("recorded"))
	require.NoError(t, err)
	want, err := CUPMAC(unhex(t, "AB7C577CC7A18045"), []byte("recorded")) // the MAK under that TMK
	require.NoError(t, err)
	assert.Equal(t, want, mac)

	other, err := NewSoftModule(unhex(t, "358FB0AB70D025CDB99DF2C4D302D646")) // one bit, not a parity bit
	require.NoError(t, err)
	assert.ErrorIs(t, other.LoadWorkingKeys(t.Context(), w), ErrCheckValue, "another TMK")

	// The other 003 reply parses the same way (its TMK was not published).
	w2, err := ParseWorkingKeys(KeysTDESNoTDK, bin(recordedMessage(t, "sign-in reply 0810, 60.3 003"), fPrivate62))
	require.NoError(t, err)
	assert.Len(t, w2.PIK, 16)
	assert.Len(t, w2.MAK, 8)
}

// go8583's log printed its clear MAK after a 003 sign-in: the reply's MAK
// check value is that key's, and the QR sale it then sent (field 59 = the
// code) carries the CUP ECB MAC of that key over MTI..60 with 59 inside.
func TestRecordedQRSaleMACVerifiesUnderThePrintedMAK(t *testing.T) {
	mak := unhex(t, go8583MAK)
	w, err := ParseWorkingKeys(KeysTDESNoTDK, unhex(t, go8583SignIn62))
	require.NoError(t, err)
	cv, err := CheckValue(mak)
	require.NoError(t, err)
	assert.Equal(t, w.MAKCheck, cv)

	frame := unhex(t, go8583QRSale)
	c := newCodec(newSpec(19), TPDU{}, TPDU{}, header61, false, func(*iso8583.Message) (macFunc, error) {
		return func(mab []byte) ([MACLen]byte, error) { return CUPMAC(mak, mab) }, nil
	})
	msg, err := c.ReadMessage(bytes.NewReader(frame))
	require.NoError(t, err)
	in, ok := c.take(msg)
	require.True(t, ok)
	assert.Equal(t, MACValid, in.MAC)
	assert.Equal(t, "A30196211111111111111111", string(bin(msg, fReserved59)))
	assert.Equal(t, "E5805ECB", string(bin(msg, fMAC)))

	bad := bytes.Clone(frame)
	bad[len(bad)-MACLen-3] ^= 0x01 // inside field 60
	msg, err = c.ReadMessage(bytes.NewReader(bad))
	require.NoError(t, err)
	in, _ = c.take(msg)
	assert.Equal(t, MACInvalid, in.MAC, "field 59/60 are inside the MAC")
}

// The recorded 004 reply parses in KeysTDES: filler zero, a TDK (here the
// same bytes as the PIK) with its check value.
func TestRecordedSignIn004Parses(t *testing.T) {
	w, err := ParseWorkingKeys(KeysTDES, bin(recordedMessage(t, "sign-in reply 0810, 60.3 004 (60 bytes)"), fPrivate62))
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "6F3FB56EB7F7B2DF00657E864E9249C8"), w.PIK)
	assert.Equal(t, unhex(t, "380B88B845D2DF35"), w.MAK)
	assert.Equal(t, w.PIK, w.TDK)
	assert.Equal(t, w.PIKCheck, w.TDKCheck)
}

// The recorded settlement's field 48 reads as the totals: 7 domestic
// debits of 0.07 in all, nothing else, settlement codes 0 (a request).
func TestRecordedSettlementField48(t *testing.T) {
	tot, dom, foreign, err := journal.ParseField48(str(recordedMessage(t, "settlement 0500, 48 totals, 60.3 201"), fAdditional))
	require.NoError(t, err)
	assert.Equal(t, journal.Side{DebitCount: 7, DebitAmount: 7}, tot.Domestic)
	assert.Equal(t, journal.Side{}, tot.Foreign)
	assert.Equal(t, [2]byte{'0', '0'}, [2]byte{dom, foreign})
	again, err := tot.Field48()
	require.NoError(t, err)
	assert.Equal(t, str(recordedMessage(t, "settlement 0500, 48 totals, 60.3 201"), fAdditional), again, "our 48 of the same totals")
}

// The recorded EC upload's field 55 is TLV with the EC issuer authorisation
// code (9F74) and 8A "Y1", as the notes say an EC upload carries.
func TestRecordedECUploadField55(t *testing.T) {
	f55 := bin(recordedMessage(t, "EC offline upload 0200, 60.1 36, 55 with 9F74 and 8A 'Y1', 63 'CUP'"), fICC)
	for tag, want := range map[tlv.Tag]string{0x9F74: "ECC001", 0x8A: "Y1"} {
		v, ok, err := tlv.Find(f55, tag)
		require.NoError(t, err)
		require.True(t, ok, "%s", tag)
		assert.Equal(t, want, string(v))
	}
}

// The header go8583 and Easy8583Ans send and get back.
var header61 = Header{0x61, 0x31, 0x00, 0x31, 0x11, 0x08}

// A reply whose header application type is 61 is refused by the default
// variant (60) and read by one whose Header says 61.
func TestHeaderApplicationTypeFollowsTheVariant(t *testing.T) {
	frame := unhex(t, easySignInReply)
	for _, tc := range []struct {
		name string
		v    Variant
		ok   bool
	}{
		{"default header 60 31 00 31 13 01", Variant{}, false},
		{"Header 61 31 00 31 11 08", Variant{Header: header61}, true},
	} {
		v := tc.v.withDefaults()
		c := newCodec(Spec(v), v.TPDU, v.TPDU.Swapped(), v.Header, false, func(*iso8583.Message) (macFunc, error) { return nil, ErrNoKeys })
		msg, err := c.ReadMessage(bytes.NewReader(frame))
		if !tc.ok {
			assert.Error(t, err, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		in, _ := c.take(msg)
		assert.Equal(t, header61, in.Header, tc.name)
	}
}

// RecordedMessage returns the recording of that name, unpacked (for the
// external tests that compare the link's messages with it).
func RecordedMessage(t *testing.T, name string) *iso8583.Message { return recordedMessage(t, name) }
