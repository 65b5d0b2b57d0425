// SPDX-License-Identifier: Apache-2.0

package cardsim

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultProfileIsTheSeedCard(t *testing.T) {
	p := DefaultProfile()
	require.Len(t, p.Applications, 1)
	a := p.Applications[0]
	assert.True(t, p.PSE)
	assert.Equal(t, debitAID, a.AID)
	assert.Equal(t, "PBOC DEBIT", a.Label)
	assert.Len(t, a.PAN, 19)
	assert.True(t, strings.HasPrefix(a.PAN, "622202"))
	assert.True(t, luhnValid(a.PAN))
	assert.GreaterOrEqual(t, a.Expiry, "300101")
	require.NotNil(t, a.EC)
	assert.Equal(t, EC{Enabled: true, Balance: "500.00", BalanceLimit: "1000.00", SingleLimit: "300.00",
		ResetThreshold: "1.00", IssuerAuthCode: "ECC001"}, *a.EC)

	// The embedded file and testdata/cards/default.json are the same card.
	embedded, err := os.ReadFile(filepath.Join("profiles", "default.json"))
	require.NoError(t, err)
	shared, err := os.ReadFile(filepath.Join("..", "testdata", "cards", "default.json"))
	require.NoError(t, err)
	assert.JSONEq(t, string(embedded), string(shared))

	// DefaultProfile returns independent copies.
	p.Applications[0].EC.Balance = "1.00"
	assert.Equal(t, "500.00", DefaultProfile().Applications[0].EC.Balance)
}

func TestTestdataProfiles(t *testing.T) {
	load := func(name string) *Profile {
		p, err := LoadProfile(filepath.Join("..", "testdata", "cards", name))
		require.NoError(t, err, name)
		return p
	}
	assert.False(t, load("no-pse.json").PSE)
	assert.Equal(t, "5.00", load("low-balance.json").Applications[0].EC.Balance)
	assert.False(t, load("no-ec.json").Applications[0].EC.Enabled)

	two := load("two-apps.json")
	require.Len(t, two.Applications, 2)
	assert.Equal(t, creditAID, two.Applications[0].AID)
	assert.Equal(t, "PBOC CREDIT", two.Applications[0].Label)
	assert.Equal(t, 2, two.Applications[0].Priority)
	assert.Equal(t, debitAID, two.Applications[1].AID)
	assert.Equal(t, 1, two.Applications[1].Priority)
	assert.True(t, two.Applications[0].EC.Enabled)
	assert.True(t, two.Applications[1].EC.Enabled)
}

func TestLoadProfileMissingFile(t *testing.T) {
	_, err := LoadProfile(filepath.Join(t.TempDir(), "nope.json"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

// mutate applies f to the default profile as a generic JSON document.
func mutate(t *testing.T, f func(doc map[string]any, app map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(defaultJSON, &doc))
	app := doc["applications"].([]any)[0].(map[string]any)
	f(doc, app)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

func TestProfileValidationNamesTheField(t *testing.T) {
	ec := func(app map[string]any) map[string]any { return app["ec"].(map[string]any) }
	cases := []struct {
		name  string
		edit  func(doc, app map[string]any)
		field string
		msg   string
	}{
		{"balance over limit", func(_, a map[string]any) { ec(a)["balance"] = "1200.00" },
			"applications[0].ec.balance", "1200.00 exceeds balance_limit 1000.00"},
		{"bad amount", func(_, a map[string]any) { ec(a)["single_limit"] = "3.001" },
			"applications[0].ec.single_limit", "invalid amount"},
		{"missing limit", func(_, a map[string]any) { delete(ec(a), "balance_limit") },
			"applications[0].ec.balance_limit", "required"},
		{"auth code", func(_, a map[string]any) { ec(a)["issuer_auth_code"] = "ECC01" },
			"applications[0].ec.issuer_auth_code", "6 ASCII"},
		{"aid short", func(_, a map[string]any) { a["aid"] = "A0000003" },
			"applications[0].aid", "want 5 to 16"},
		{"aid not hex", func(_, a map[string]any) { a["aid"] = "A00000033301010X" },
			"applications[0].aid", "not hex"},
		{"luhn", func(_, a map[string]any) { a["pan"] = "6222021000123456782" },
			"applications[0].pan", "Luhn"},
		{"pan letters", func(_, a map[string]any) { a["pan"] = "62220210001234567A" },
			"applications[0].pan", "digits"},
		{"priority", func(_, a map[string]any) { a["priority"] = 16 },
			"applications[0].priority", "0..15"},
		{"psn", func(_, a map[string]any) { a["pan_sequence"] = 100 },
			"applications[0].pan_sequence", "0..99"},
		{"expiry", func(_, a map[string]any) { a["expiry"] = "351331" },
			"applications[0].expiry", "YYMMDD"},
		{"label long", func(_, a map[string]any) { a["label"] = "PBOC DEBIT CARD 12345" },
			"applications[0].label", "1 to 16"},
		{"aip", func(_, a map[string]any) { a["aip"] = "180000" },
			"applications[0].aip", "want 2"},
		{"pdol", func(_, a map[string]any) { a["pdol"] = "9F" },
			"applications[0].pdol", "invalid DOL"},
		{"cdol1 empty", func(_, a map[string]any) { a["cdol1"] = "" },
			"", ""}, // empty cdol1 means the default: accepted
		{"atc", func(_, a map[string]any) { a["atc"] = 70000 },
			"applications[0].atc", "0..65535"},
		{"last online atc", func(_, a map[string]any) { a["last_online_atc"] = 5 },
			"applications[0].last_online_atc", "0..atc"},
		{"key length", func(_, a map[string]any) { a["keys"].(map[string]any)["imk_smi"] = "0011" },
			"applications[0].keys.imk_smi", "want 16"},
		{"key alg", func(_, a map[string]any) { a["key_alg"] = "aes" },
			"applications[0].key_alg", "tdes, sm4"},
		{"ca index unknown", func(_, a map[string]any) { a["ca_index"] = "F4" },
			"applications[0].ca_index", "not a test CA key"},
		{"ca index algorithm", func(_, a map[string]any) { a["oda_alg"] = "sm2"; a["ca_index"] = "F1" },
			"applications[0].ca_index", "is RSA, not SM2"},
		{"ca index hex", func(_, a map[string]any) { a["ca_index"] = "F" },
			"applications[0].ca_index", "not hex"},
		{"issuer key longer than CA", func(_, a map[string]any) { a["ca_index"] = "F2"; a["issuer_key_bits"] = 1416 },
			"applications[0].issuer_key_bits", "longer than the 1408-bit CA key F2"},
		{"icc key longer than issuer", func(_, a map[string]any) { a["icc_key_bits"] = 1416 },
			"applications[0].icc_key_bits", "longer than the 1408-bit issuer key"},
		{"key bits", func(_, a map[string]any) { a["icc_key_bits"] = 1000 },
			"applications[0].icc_key_bits", "1024..1984"},
		{"exponent", func(_, a map[string]any) { a["icc_exponent"] = 17 },
			"applications[0].icc_exponent", "3 or 65537"},
		{"sm2 with RSA sizes", func(_, a map[string]any) {
			a["oda_alg"] = "sm2"
			delete(a, "ca_index")
		}, "applications[0].issuer_key_bits", "RSA only"},
		{"cda key too long", func(_, a map[string]any) {
			a["oda"] = "cda"
			a["issuer_key_bits"] = 1984
			a["icc_key_bits"] = 1752
		}, "applications[0].icc_key_bits", "too long for CDA"},
		{"cda without UN", func(_, a map[string]any) {
			a["oda"] = "cda"
			a["cdol2"] = "8A029F0206"
		}, "applications[0].cdol2", "9F37 04"},
		{"load log length", func(_, a map[string]any) { a["load_log"] = []string{"9F79"} },
			"applications[0].load_log[0]", "want 44"},
		{"oda unknown", func(_, a map[string]any) { a["oda"] = "xda" },
			"applications[0].oda", "not one of"},
		{"oda alg", func(_, a map[string]any) { a["oda_alg"] = "ecdsa" },
			"applications[0].oda_alg", "rsa, sm2"},
		{"genac format", func(_, a map[string]any) { a["genac_format"] = 3 },
			"applications[0].genac_format", "tag 80"},
		{"pin", func(_, a map[string]any) { a["pin"].(map[string]any)["value"] = "12a4" },
			"applications[0].pin.value", "4 to 12 digits"},
		{"log length", func(_, a map[string]any) { a["log"] = []string{"00"} },
			"applications[0].log[0]", "want 45"},
		{"extra tag", func(_, a map[string]any) { a["extra"] = map[string]string{"9F": "01"} },
			`applications[0].extra["9F"]`, "invalid tag"},
		{"extra duplicate", func(_, a map[string]any) { a["extra"] = map[string]string{"5A": "01"} },
			"applications[0]", "already in the SFI 2 record"},
		{"record too long", func(_, a map[string]any) {
			a["extra"] = map[string]string{"9F63": strings.Repeat("00", 200)}
		}, "applications[0]", "SFI 2 record 1 would be"},
		{"no applications", func(d, _ map[string]any) { d["applications"] = []any{} },
			"applications", "at least one"},
		{"language", func(d, _ map[string]any) { d["language"] = "ZH" },
			"language", "lower-case"},
		{"duplicate aid", func(d, a map[string]any) {
			d["applications"] = []any{a, a}
		}, "applications[1].aid", "duplicates applications[0].aid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile(mutate(t, tc.edit))
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidProfile)
			var pe *ProfileError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.field, pe.Field)
			assert.Contains(t, err.Error(), tc.field+": ")
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestProfileErrorMessage(t *testing.T) {
	_, err := ParseProfile(mutate(t, func(_, a map[string]any) {
		a["ec"].(map[string]any)["balance"] = "1200.00"
	}))
	require.Error(t, err)
	assert.Equal(t, "cardsim: invalid profile: applications[0].ec.balance: 1200.00 exceeds balance_limit 1000.00", err.Error())
}

func TestProfileRefusesBadJSON(t *testing.T) {
	_, err := ParseProfile(mutate(t, func(_, a map[string]any) { a["colour"] = "red" }))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidProfile)
	assert.Contains(t, err.Error(), `unknown field "colour"`)

	_, err = ParseProfile(mutate(t, func(_, a map[string]any) { a["ec"].(map[string]any)["bonus"] = 1 }))
	assert.ErrorContains(t, err, `unknown field "bonus"`)

	_, err = ParseProfile([]byte(`{"name": "x",`))
	assert.ErrorIs(t, err, ErrInvalidProfile)
	assert.ErrorContains(t, err, "invalid JSON")

	_, err = ParseProfile(append(append([]byte(nil), defaultJSON...), []byte(`{}`)...))
	assert.ErrorContains(t, err, "data after the profile object")

	_, err = ParseProfile([]byte(`{"applications": [{"atc": "one"}]}`))
	assert.ErrorContains(t, err, "invalid JSON")

	_, err = ParseProfile(make([]byte, MaxProfileSize+1))
	assert.ErrorIs(t, err, ErrInvalidProfile)
}

func TestMinimalProfileGetsDefaults(t *testing.T) {
	p, err := ParseProfile([]byte(`{"applications": [{"aid": "a000000333010101", "label": "X",
		"pan": "6222021000123456781", "expiry": "351231"}]}`))
	require.NoError(t, err)
	a := p.Applications[0]
	assert.Equal(t, "A000000333010101", a.AID)
	assert.Equal(t, "zhen", p.Language)
	assert.Equal(t, DefaultAIP, a.AIP)
	require.NotNil(t, a.PDOL)
	assert.Equal(t, DefaultPDOL, *a.PDOL)
	assert.Equal(t, DefaultCDOL1, a.CDOL1)
	assert.Equal(t, DefaultCDOL2, a.CDOL2)
	assert.Equal(t, DefaultLogFormat, a.LogFormat)
	assert.Equal(t, 156, a.Currency)
	assert.Equal(t, 1, a.GenACFormat)
	assert.Equal(t, "none", a.ODA)
	assert.Equal(t, DefaultIMKAC, a.Keys.IMKAC)
	assert.False(t, a.EC.Enabled)
	require.NotNil(t, a.PIN.Tries)
	assert.Equal(t, 3, *a.PIN.Tries)

	// An explicitly empty PDOL means "no PDOL", not the default.
	p, err = ParseProfile([]byte(`{"applications": [{"aid": "A000000333010101", "label": "X",
		"pan": "6222021000123456781", "expiry": "351231", "pdol": ""}]}`))
	require.NoError(t, err)
	assert.Equal(t, "", *p.Applications[0].PDOL)
}

func TestMarshalRoundTrip(t *testing.T) {
	p := DefaultProfile()
	b, err := p.Marshal()
	require.NoError(t, err)
	q, err := ParseProfile(b)
	require.NoError(t, err)
	assert.Equal(t, p, q)

	p.Applications[0].EC.Balance = "2000.00"
	_, err = p.Marshal()
	assert.ErrorContains(t, err, "applications[0].ec.balance")

	var nilProfile *Profile
	_, err = nilProfile.Marshal()
	assert.ErrorIs(t, err, ErrInvalidProfile)
}

func TestNewValidatesAndCopies(t *testing.T) {
	_, err := New(nil)
	assert.ErrorIs(t, err, ErrInvalidProfile)

	p := DefaultProfile()
	p.Applications[0].PAN = "123"
	_, err = New(p)
	assert.ErrorContains(t, err, "applications[0].pan")

	p = DefaultProfile()
	c, err := New(p)
	require.NoError(t, err)
	p.Applications[0].EC.Balance = "1.00"
	assert.Equal(t, uint64(50000), c.Balance(debitAID))
}
