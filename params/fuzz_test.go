// SPDX-License-Identifier: Apache-2.0

package params_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/go-pboc/pboc/capk"
	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/params"
)

// sentinels are the errors a reader may return.
var sentinels = []error{params.ErrFormat, params.ErrMissing, params.ErrUnknownTag, params.ErrDuplicate,
	params.ErrTooLarge, params.ErrUnsupported, params.ErrChecksum, params.ErrInvalid}

func knownError(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fuzzFormats are the readings the fuzzers alternate between.
var fuzzFormats = []params.Format{{}, {ASI: params.ASIZeroPartial, VersionTag: 0x9F09, Expiry: params.ExpiryBCD, AllowUnknown: true}}

// FuzzReadAIDs feeds arbitrary files to the AID parameter reader: it must
// not panic, every error must be one of the package's, and what it
// accepts must write and read back to the same applications.
func FuzzReadAIDs(f *testing.F) {
	var def bytes.Buffer
	if err := params.WriteAIDs(&def, kernel.DefaultConfig().Applications, params.Format{}, params.Binary); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(sampleAID + "\n"))
	f.Add(unhexF(f, sampleAID))
	f.Add(def.Bytes())
	f.Add([]byte("# c\n" + sampleAID + "9F660426000080970A9F0206\n"))
	f.Add([]byte(sampleAID + "DF690101\n" + sampleAID + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ft := range fuzzFormats {
			apps, err := params.ReadAIDs(data, ft)
			if err != nil {
				if !knownError(err) {
					t.Fatalf("unknown error %v", err)
				}
				continue
			}
			var out bytes.Buffer
			if err := params.WriteAIDs(&out, apps, ft, params.Hex); err != nil {
				t.Fatalf("an accepted application does not write: %v", err)
			}
			again, err := params.ReadAIDs(out.Bytes(), ft)
			if err != nil {
				t.Fatalf("written records do not read back: %v", err)
			}
			for i := range apps {
				if !equalApp(apps[i], again[i]) {
					t.Fatalf("record %d: %+v reads back as %+v", i+1, apps[i], again[i])
				}
			}
		}
	})
}

func equalApp(a, b kernel.Application) bool {
	return bytes.Equal(a.AID, b.AID) && a.PartialMatch == b.PartialMatch && a.Version == b.Version &&
		a.FloorLimit == b.FloorLimit && a.EC == b.EC && a.ECTransactionLimit == b.ECTransactionLimit &&
		a.RandomThreshold == b.RandomThreshold && a.TargetPercent == b.TargetPercent && a.MaxTargetPercent == b.MaxTargetPercent &&
		a.TACDenial == b.TACDenial && a.TACOnline == b.TACOnline && a.TACDefault == b.TACDefault &&
		a.ContactlessLimit == b.ContactlessLimit && a.ContactlessFloorLimit == b.ContactlessFloorLimit &&
		a.CVMRequiredLimit == b.CVMRequiredLimit && a.TTQ == b.TTQ && bytes.Equal(a.DefaultDDOL, b.DefaultDDOL) &&
		bytes.Equal(a.TDOL, b.TDOL) && a.OnlinePIN == b.OnlinePIN
}

// FuzzReadCAKeys is FuzzReadAIDs for CA key records: what it accepts is a
// store of valid keys (checksums verified) that writes and reads back.
func FuzzReadCAKeys(f *testing.F) {
	var test bytes.Buffer
	if err := params.WriteCAKeys(&test, capk.TestKeys().Keys(), params.Format{}, params.Binary); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(sampleCAKey + "\n"))
	f.Add(unhexF(f, sampleCAKey))
	f.Add(test.Bytes())
	f.Add([]byte(sampleCAKey[:len(sampleCAKey)-2] + "00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ft := range fuzzFormats {
			store, err := params.ReadCAKeys(data, ft)
			if err != nil {
				if !knownError(err) {
					t.Fatalf("unknown error %v", err)
				}
				continue
			}
			keys := store.Keys()
			for _, k := range keys {
				if err := k.Validate(); err != nil {
					t.Fatalf("accepted an invalid key: %v", err)
				}
			}
			var out bytes.Buffer
			if err := params.WriteCAKeys(&out, keys, ft, params.Binary); err != nil {
				t.Fatalf("an accepted key does not write: %v", err)
			}
			again, err := params.ReadCAKeys(out.Bytes(), ft)
			if err != nil || again.Len() != len(keys) {
				t.Fatalf("written records do not read back: %v", err)
			}
			for i, k := range again.Keys() {
				if !bytes.Equal(k.Modulus, keys[i].Modulus) || !k.Expiry.Equal(keys[i].Expiry) || k.Index != keys[i].Index {
					t.Fatalf("key %d reads back differently", i)
				}
			}
		}
	})
}

func unhexF(f *testing.F, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
