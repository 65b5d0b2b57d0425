// SPDX-License-Identifier: Apache-2.0

package params_test

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // the CAPK checksum is SHA-1
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/params"
	"github.com/go-pboc/pboc/tlv"
)

// The sample records of ACQUIRER-NOTES §5 and §6 (from a UnionPay POS
// program's defaults, PedHelper.addAid / addCapk).
const (
	sampleAID = "9F0608A000000333010101DF0101009F08020020DF1105D84000A800DF1205D84004F800DF13050010000000" +
		"9F1B0400000000DF150400000000DF160199DF170199DF14039F3704DF1801019F7B06000000100000" +
		"DF1906000000100000DF2006000000100000DF2106000000100000"
	sampleCAKey = "9F0605A0000003339F220101DF05083230303931323331DF060101DF070101DF028180" +
		"BBE9066D2517511D239C7BFA77884144AE20C7372F515147E8CE6537C54C0A6A4D45F8CA4D290870CDA59F1344EF71D17D3F35D92F3F06778D0D511EC2A7DC4FFEADF4FB1253CE37A7B2B5A3741227BEF72524DA7A2B7B1CB426BEE27BC513B0CB11AB99BC1BC61DF5AC6CC4D831D0848788CD74F6D543AD37C5A2B4C5D5A93B" +
		"DF040103DF0314E881E390675D44C2DD81234DCE29C3F5AB2297A0"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestSampleAIDRecord(t *testing.T) {
	a, err := params.ParseAID(unhex(t, sampleAID), params.Format{})
	require.NoError(t, err)
	assert.Equal(t, kernel.Application{
		AID:                   unhex(t, "A000000333010101"),
		PartialMatch:          false, // DF01 00: exact match (LiaoYang_POS's reading, the default)
		Version:               [2]byte{0x00, 0x20},
		TACDefault:            [5]byte{0xD8, 0x40, 0x00, 0xA8, 0x00},
		TACOnline:             [5]byte{0xD8, 0x40, 0x04, 0xF8, 0x00},
		TACDenial:             [5]byte{0x00, 0x10, 0x00, 0x00, 0x00},
		MaxTargetPercent:      99, // DF16 99: n2, one BCD byte
		TargetPercent:         99,
		DefaultDDOL:           unhex(t, "9F3704"),
		OnlinePIN:             true,
		EC:                    true,
		ECTransactionLimit:    100000, // 1000.00
		ContactlessFloorLimit: 100000,
		ContactlessLimit:      100000,
		CVMRequiredLimit:      100000,
	}, a)

	// Written back, the record is the sample byte for byte.
	out, err := params.AppendAID(nil, a, params.Format{})
	require.NoError(t, err)
	assert.Equal(t, sampleAID, strings.ToUpper(hex.EncodeToString(out)))

	// The other reading of DF01 makes it a partial match.
	other, err := params.ParseAID(unhex(t, sampleAID), params.Format{ASI: params.ASIZeroPartial})
	require.NoError(t, err)
	assert.True(t, other.PartialMatch)
	out, err = params.AppendAID(nil, other, params.Format{ASI: params.ASIZeroPartial})
	require.NoError(t, err)
	assert.Equal(t, sampleAID, strings.ToUpper(hex.EncodeToString(out)))
}

func TestSampleCAKeyRecord(t *testing.T) {
	rec := unhex(t, sampleCAKey)
	k, err := params.ParseCAKey(rec, params.Format{})
	require.NoError(t, err)
	assert.Equal(t, capk.RID{0xA0, 0x00, 0x00, 0x03, 0x33}, k.RID)
	assert.Equal(t, byte(0x01), k.Index)
	assert.Equal(t, capk.AlgRSA, k.Algorithm)
	assert.Equal(t, capk.HashSHA1, k.HashAlg)
	assert.Len(t, k.Modulus, 128)
	assert.Equal(t, []byte{0x03}, k.Exponent)
	assert.Equal(t, time.Date(2009, 12, 31, 0, 0, 0, 0, time.UTC), k.Expiry, "DF05 \"20091231\"")
	// DF03 is SHA-1(RID ‖ index ‖ modulus ‖ exponent), recomputed here
	// independently of capk.
	h := sha1.New() //nolint:gosec
	h.Write(k.RID[:])
	h.Write([]byte{k.Index})
	h.Write(k.Modulus)
	h.Write(k.Exponent)
	assert.Equal(t, h.Sum(nil), k.Checksum)
	// It is the published UnionPay key 01 (capk's built-in set).
	pub, ok := capk.Builtin().Lookup(k.RID, k.Index)
	require.True(t, ok)
	assert.Equal(t, pub.Modulus, k.Modulus)

	out, err := params.AppendCAKey(nil, k, params.Format{})
	require.NoError(t, err)
	assert.Equal(t, rec, out, "written back byte for byte")

	// A lie in any byte of the key material or the checksum is refused.
	for _, off := range []int{40, 100, 162, len(rec) - 10, len(rec) - 1} { // modulus, checksum
		bad := append([]byte(nil), rec...)
		bad[off] ^= 0x10 // the modulus stays odd: only the checksum can tell
		_, err := params.ParseCAKey(bad, params.Format{})
		require.ErrorIs(t, err, params.ErrChecksum, "byte %d", off)
		require.ErrorIs(t, err, capk.ErrChecksum)
		var re *params.RecordError
		require.True(t, errors.As(err, &re))
		assert.Equal(t, tlv.Tag(0xDF03), re.Tag)
		assert.Equal(t, 1, strings.Count(err.Error(), "checksum mismatch"), "said once: %v", err)
		assert.Equal(t, 1, strings.Count(err.Error(), "params: "), "said once: %v", err)
	}
}

func TestExpiryForms(t *testing.T) {
	key := caKeyWith(t, nil)
	cases := []struct {
		name, df05 string
		want       time.Time
		bad        bool
	}{
		{"ASCII YYYYMMDD (CUP hosts)", hex.EncodeToString([]byte("20301231")), time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{"BCD YYYYMMDD (4 bytes)", "20301231", time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{"BCD YYMMDD (3 bytes)", "221231", time.Date(2022, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{"leap day", hex.EncodeToString([]byte("20280229")), time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), false},
		{"no such day", hex.EncodeToString([]byte("20270229")), time.Time{}, true},
		{"month 13", hex.EncodeToString([]byte("20301331")), time.Time{}, true},
		{"year 0000 (found by FuzzReadCAKeys)", hex.EncodeToString([]byte("00001001")), time.Time{}, true},
		{"BCD year 0000", "00001001", time.Time{}, true},
		{"ASCII letter", hex.EncodeToString([]byte("2030123X")), time.Time{}, true},
		{"BCD F nibble", "2030123F", time.Time{}, true},
		{"5 bytes", "2030123100", time.Time{}, true},
		{"2 bytes", "2030", time.Time{}, true},
	}
	for _, c := range cases {
		rec := replaceTag(t, key, 0xDF05, unhex(t, c.df05))
		k, err := params.ParseCAKey(rec, params.Format{})
		if c.bad {
			require.ErrorIs(t, err, params.ErrFormat, c.name)
			var re *params.RecordError
			require.True(t, errors.As(err, &re))
			assert.Equal(t, tlv.Tag(0xDF05), re.Tag, c.name)
			continue
		}
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, k.Expiry, c.name)
	}
	// Written as BCD when asked, ASCII otherwise; both read back.
	k, err := params.ParseCAKey(key, params.Format{})
	require.NoError(t, err)
	for _, enc := range []params.ExpiryEncoding{params.ExpiryASCII, params.ExpiryBCD} {
		out, err := params.AppendCAKey(nil, k, params.Format{Expiry: enc})
		require.NoError(t, err)
		df05, _, _ := tlv.Find(out, 0xDF05)
		assert.Len(t, df05, map[params.ExpiryEncoding]int{params.ExpiryASCII: 8, params.ExpiryBCD: 4}[enc])
		back, err := params.ParseCAKey(out, params.Format{})
		require.NoError(t, err)
		assert.Equal(t, k.Expiry, back.Expiry)
	}
}

// caKeyWith is the sample CA key record with its objects edited.
func caKeyWith(t *testing.T, edit func(objs []tlv.TLV) []tlv.TLV) []byte {
	t.Helper()
	objs, err := tlv.Parse(unhex(t, sampleCAKey))
	require.NoError(t, err)
	if edit != nil {
		objs = edit(objs)
	}
	return tlv.Encode(objs...)
}

// replaceTag replaces (or, for a nil value, removes) tag in rec.
func replaceTag(t *testing.T, rec []byte, tag tlv.Tag, v []byte) []byte {
	t.Helper()
	objs, err := tlv.Parse(rec)
	require.NoError(t, err)
	var out []tlv.TLV
	for _, o := range objs {
		if o.Tag == tag {
			if v == nil {
				continue
			}
			o.Value = v
		}
		out = append(out, o)
	}
	return tlv.Encode(out...)
}

func TestASIReadings(t *testing.T) {
	for _, c := range []struct {
		reading params.ASIReading
		df01    byte
		partial bool
	}{
		{params.ASIZeroExact, 0x00, false}, {params.ASIZeroExact, 0x01, true},
		{params.ASIZeroPartial, 0x00, true}, {params.ASIZeroPartial, 0x01, false},
	} {
		rec := replaceTag(t, unhex(t, sampleAID), 0xDF01, []byte{c.df01})
		a, err := params.ParseAID(rec, params.Format{ASI: c.reading})
		require.NoError(t, err)
		assert.Equal(t, c.partial, a.PartialMatch, "%s DF01 %02X", c.reading, c.df01)
		out, err := params.AppendAID(nil, a, params.Format{ASI: c.reading})
		require.NoError(t, err)
		assert.Equal(t, rec, out)
	}
	_, err := params.ParseAID(replaceTag(t, unhex(t, sampleAID), 0xDF01, []byte{0x02}), params.Format{})
	assertTagError(t, err, params.ErrFormat, 0xDF01)
}

func assertTagError(t *testing.T, err error, sentinel error, tag tlv.Tag) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var re *params.RecordError
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, tag, re.Tag, "%v", err)
	if tag != 0 {
		assert.Contains(t, err.Error(), "tag "+tag.String())
	}
}

// badRecord is a lie or a slip in one record and the error it gets.
type badRecord struct {
	name     string
	rec      []byte
	sentinel error
	tag      tlv.Tag
}

// checkBadRecords runs parse on each row: the error wraps the row's
// sentinel, names its tag, and says which kind of record.
func checkBadRecords(t *testing.T, rows []badRecord, kind string, parse func([]byte) error) {
	for _, c := range rows {
		t.Run(c.name, func(t *testing.T) {
			err := parse(c.rec)
			assertTagError(t, err, c.sentinel, c.tag)
			assert.Contains(t, err.Error(), "params: "+kind+" record")
		})
	}
}

func TestAIDRecordErrors(t *testing.T) {
	sample := unhex(t, sampleAID)
	cases := []badRecord{
		{"no AID", replaceTag(t, sample, 0x9F06, nil), params.ErrMissing, 0x9F06},
		{"AID of 4 bytes", replaceTag(t, sample, 0x9F06, unhex(t, "A0000003")), params.ErrFormat, 0x9F06},
		{"AID of 17 bytes", replaceTag(t, sample, 0x9F06, make([]byte, 17)), params.ErrFormat, 0x9F06},
		{"no DF01", replaceTag(t, sample, 0xDF01, nil), params.ErrMissing, 0xDF01},
		{"no version", replaceTag(t, sample, 0x9F08, nil), params.ErrMissing, 0x9F08},
		{"version of 3 bytes", replaceTag(t, sample, 0x9F08, unhex(t, "002000")), params.ErrFormat, 0x9F08},
		{"9F09 differs from 9F08", append(append([]byte(nil), sample...), unhex(t, "9F09020030")...), params.ErrFormat, 0x9F09},
		{"no TAC denial", replaceTag(t, sample, 0xDF13, nil), params.ErrMissing, 0xDF13},
		{"TAC online of 4 bytes", replaceTag(t, sample, 0xDF12, unhex(t, "D84004F8")), params.ErrFormat, 0xDF12},
		{"floor limit of 6 bytes", replaceTag(t, sample, 0x9F1B, unhex(t, "000000001000")), params.ErrFormat, 0x9F1B},
		{"DF16 not BCD", replaceTag(t, sample, 0xDF16, unhex(t, "A0")), params.ErrFormat, 0xDF16},
		{"target above maximum", replaceTag(t, sample, 0xDF16, unhex(t, "50")), params.ErrFormat, 0xDF17},
		{"DF14 not a DOL", replaceTag(t, sample, 0xDF14, unhex(t, "9F37")), params.ErrFormat, 0xDF14},
		{"DF18 02", replaceTag(t, sample, 0xDF18, unhex(t, "02")), params.ErrFormat, 0xDF18},
		{"9F7B not BCD", replaceTag(t, sample, 0x9F7B, unhex(t, "00000010000A")), params.ErrFormat, 0x9F7B},
		{"DF20 of 5 bytes", replaceTag(t, sample, 0xDF20, unhex(t, "0000100000")), params.ErrFormat, 0xDF20},
		{"zero CL floor with a floor limit", replaceTag(t, replaceTag(t, sample, 0x9F1B, unhex(t, "00000064")), 0xDF19, make([]byte, 6)), params.ErrUnsupported, 0xDF19},
		{"unknown tag", append(append([]byte(nil), sample...), unhex(t, "DF690101")...), params.ErrUnknownTag, 0xDF69},
		{"tag twice", append(append([]byte(nil), sample...), unhex(t, "DF180101")...), params.ErrDuplicate, 0xDF18},
		{"a template", append(append([]byte(nil), sample...), unhex(t, "7003DF1800")...), params.ErrFormat, 0x70},
		{"truncated", sample[:len(sample)-3], params.ErrFormat, 0},
		{"empty", nil, params.ErrFormat, 0},
		{"too long", append(append([]byte(nil), sample...), tlv.Append(nil, 0xDF14, make([]byte, 3000))...), params.ErrTooLarge, 0},
	}
	checkBadRecords(t, cases, params.KindAID, func(rec []byte) error {
		_, err := params.ParseAID(rec, params.Format{})
		return err
	})
}

// A zero contactless limit means what the record says, never "no limit".
func TestZeroContactlessLimits(t *testing.T) {
	sample := unhex(t, sampleAID)
	zero := make([]byte, 6)
	a, err := params.ParseAID(replaceTag(t, replaceTag(t, sample, 0xDF20, zero), 0xDF21, zero), params.Format{})
	require.NoError(t, err)
	assert.Equal(t, kernel.Amount(1), a.ContactlessLimit, "DF20 0: no contactless, every tap of 0.01 or more goes to another interface")
	assert.Equal(t, kernel.Amount(1), a.CVMRequiredLimit, "DF21 0: CVM for every tap")
	a, err = params.ParseAID(replaceTag(t, sample, 0xDF19, zero), params.Format{})
	require.NoError(t, err)
	assert.Zero(t, a.ContactlessFloorLimit, "DF19 0 with 9F1B 0: every tap above 0 online, as the kernel applies it")
	noEC, err := params.ParseAID(replaceTag(t, sample, 0x9F7B, nil), params.Format{})
	require.NoError(t, err)
	assert.False(t, noEC.EC, "no 9F7B, no electronic cash")
	for _, tag := range []tlv.Tag{0xDF19, 0xDF20, 0xDF21} {
		absent, err := params.ParseAID(replaceTag(t, sample, tag, nil), params.Format{})
		require.NoError(t, err)
		out, err := params.AppendAID(nil, absent, params.Format{})
		require.NoError(t, err)
		_, found, _ := tlv.Find(out, tag)
		assert.False(t, found, "an absent %s stays absent", tag)
	}
}

func TestUnknownTagsWhenAllowed(t *testing.T) {
	rec := append(unhex(t, sampleAID), unhex(t, "DF6901015F2A0201569F1A020156")...)
	var skipped []string
	a, err := params.ParseAID(rec, params.Format{AllowUnknown: true, Skipped: func(kind string, n int, tag tlv.Tag) {
		skipped = append(skipped, kind+" "+tag.String())
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"AID DF69", "AID 5F2A", "AID 9F1A"}, skipped)
	assert.Equal(t, unhex(t, "A000000333010101"), a.AID)
}

// Every field of an Application survives the trip to a record and back,
// in both DF01 readings and with either version tag.
func TestAIDRoundTripEveryField(t *testing.T) {
	full := kernel.Application{
		AID: unhex(t, "A0000003330101060102030405060708"), PartialMatch: true, Version: [2]byte{0x12, 0x34},
		TACDefault: [5]byte{1, 2, 3, 4, 5}, TACOnline: [5]byte{6, 7, 8, 9, 10}, TACDenial: [5]byte{11, 12, 13, 14, 15},
		FloorLimit: 0xFFFFFFFF, RandomThreshold: 123456, TargetPercent: 7, MaxTargetPercent: 98,
		DefaultDDOL: unhex(t, "9F37049F0206"), TDOL: unhex(t, "9F02065F2A02"), OnlinePIN: true,
		EC: true, ECTransactionLimit: kernel.MaxAmount, ContactlessFloorLimit: 5, ContactlessLimit: 999999999,
		CVMRequiredLimit: 30001, TTQ: [4]byte{0x36, 0x00, 0x40, 0x80},
	}
	minimal := kernel.Application{AID: unhex(t, "A000000333")}
	ecZero := kernel.Application{AID: unhex(t, "A000000333010106"), EC: true}
	for _, f := range []params.Format{{}, {ASI: params.ASIZeroPartial}, {VersionTag: 0x9F09}} {
		for name, a := range map[string]kernel.Application{"full": full, "minimal": minimal, "EC with limit 0": ecZero} {
			rec, err := params.AppendAID(nil, a, f)
			require.NoError(t, err)
			back, err := params.ParseAID(rec, f)
			require.NoError(t, err, "%s %+v", name, f)
			if a.DefaultDDOL == nil {
				back.DefaultDDOL = nil
			}
			assert.Equal(t, a, back, "%s %+v", name, f)
		}
	}
	// The default configuration as a parameter file and back.
	var buf bytes.Buffer
	cfg := kernel.DefaultConfig()
	require.NoError(t, params.WriteAIDs(&buf, cfg.Applications, params.Format{}, params.Hex))
	apps, err := params.ReadAIDs(buf.Bytes(), params.Format{})
	require.NoError(t, err)
	assert.Equal(t, cfg.Applications, apps)
}

func TestAIDWriterRefusesWhatARecordCannotHold(t *testing.T) {
	base := kernel.Application{AID: unhex(t, "A000000333010101")}
	for name, c := range map[string]struct {
		mutate func(a *kernel.Application)
		tag    tlv.Tag
	}{
		"AID of 4 bytes":      {func(a *kernel.Application) { a.AID = a.AID[:4] }, 0x9F06},
		"floor limit over b4": {func(a *kernel.Application) { a.FloorLimit = 1 << 32 }, 0x9F1B},
		"percent over 99":     {func(a *kernel.Application) { a.MaxTargetPercent = 100 }, 0xDF17},
		"target over max":     {func(a *kernel.Application) { a.TargetPercent, a.MaxTargetPercent = 50, 40 }, 0xDF17},
		"limit over n12":      {func(a *kernel.Application) { a.ContactlessLimit = kernel.MaxAmount + 1 }, 0x9F7B},
		"DDOL over 252":       {func(a *kernel.Application) { a.DefaultDDOL = make([]byte, 253) }, 0xDF14},
	} {
		a := base
		c.mutate(&a)
		_, err := params.AppendAID(nil, a, params.Format{})
		assertTagError(t, err, params.ErrInvalid, c.tag)
		assert.NotEmpty(t, name)
	}
}

func TestCAKeyRecordErrors(t *testing.T) {
	sample := unhex(t, sampleCAKey)
	cases := []badRecord{
		{"no RID", replaceTag(t, sample, 0x9F06, nil), params.ErrMissing, 0x9F06},
		{"RID of 6 bytes", replaceTag(t, sample, 0x9F06, unhex(t, "A00000033300")), params.ErrFormat, 0x9F06},
		{"no index", replaceTag(t, sample, 0x9F22, nil), params.ErrMissing, 0x9F22},
		{"no checksum", replaceTag(t, sample, 0xDF03, nil), params.ErrMissing, 0xDF03},
		{"checksum of 19 bytes", replaceTag(t, sample, 0xDF03, make([]byte, 19)), params.ErrFormat, 0xDF03},
		{"no algorithm", replaceTag(t, sample, 0xDF07, nil), params.ErrMissing, 0xDF07},
		{"algorithm 02", replaceTag(t, sample, 0xDF07, []byte{2}), params.ErrInvalid, 0xDF07},
		{"hash 02", replaceTag(t, sample, 0xDF06, []byte{2}), params.ErrInvalid, 0xDF06},
		{"exponent 05", replaceTag(t, sample, 0xDF04, []byte{5}), params.ErrInvalid, 0xDF04},
		{"RSA without exponent", replaceTag(t, sample, 0xDF04, nil), params.ErrInvalid, 0xDF04},
		{"SM2 with an exponent", replaceTag(t, sample, 0xDF07, []byte{4}), params.ErrInvalid, 0xDF04},
		{"modulus of 249 bytes", replaceTag(t, sample, 0xDF02, make([]byte, 249)), params.ErrFormat, 0xDF02},
		{"modulus of 32 bytes", replaceTag(t, sample, 0xDF02, bytes.Repeat([]byte{0xB1}, 32)), params.ErrInvalid, 0xDF02},
		{"unknown tag", append(append([]byte(nil), sample...), unhex(t, "DF080100")...), params.ErrUnknownTag, 0xDF08},
		{"tag twice", append(append([]byte(nil), sample...), unhex(t, "9F220101")...), params.ErrDuplicate, 0x9F22},
	}
	checkBadRecords(t, cases, params.KindCAKey, func(rec []byte) error {
		_, err := params.ParseCAKey(rec, params.Format{})
		return err
	})
}

// Every key of the built-in and the test sets (RSA e=3, e=65537, SM2) goes
// to a record and back unchanged, with and without expiry, in both DF05
// encodings.
func TestCAKeyRoundTrip(t *testing.T) {
	all := append(capk.Builtin().Keys(), capk.TestKeys().Keys()...)
	algs := map[byte]bool{}
	for _, k := range all {
		algs[k.Algorithm] = true
		for _, f := range []params.Format{{}, {Expiry: params.ExpiryBCD}} {
			rec, err := params.AppendCAKey(nil, k, f)
			require.NoError(t, err)
			back, err := params.ParseCAKey(rec, f)
			require.NoError(t, err, "%s/%02X", k.RID, k.Index)
			back.Note = k.Note
			assert.Equal(t, k, back, "%s/%02X", k.RID, k.Index)
		}
	}
	assert.True(t, algs[capk.AlgRSA] && algs[capk.AlgSM2], "RSA and SM2 keys")
	bad := all[0]
	bad.Checksum = make([]byte, 20)
	_, err := params.AppendCAKey(nil, bad, params.Format{})
	assertTagError(t, err, params.ErrChecksum, 0xDF03)
}

// DF18 restricts online PIN for the application when 00; a record without
// it leaves online PIN to the terminal's capabilities.
func TestDF18OnlinePIN(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  string
		want bool
	}{
		{"DF18 01", sampleAID, true},
		{"DF18 00", strings.Replace(sampleAID, "DF180101", "DF180100", 1), false},
		{"no DF18", strings.Replace(sampleAID, "DF180101", "", 1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := params.ParseAID(unhex(t, tc.rec), params.Format{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, a.OnlinePIN)
		})
	}
}
