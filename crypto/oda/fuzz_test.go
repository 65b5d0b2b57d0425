// SPDX-License-Identifier: Apache-2.0

package oda_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/crypto/pki"
)

// sentinels is every error the package exports; TestSentinelsListed keeps
// it complete, so a new sentinel cannot make the fuzzers fail at random.
var sentinels = []error{oda.ErrFormat, oda.ErrHash, oda.ErrExpired, oda.ErrRevoked, oda.ErrIssuerID,
	oda.ErrPAN, oda.ErrSignature, oda.ErrKeyLength, oda.ErrStaticData, oda.ErrAlgorithm, oda.ErrCID,
	oda.ErrMissing}

// TestSentinelsListed compares sentinels with the Err variables declared in
// the package's source.
func TestSentinelsListed(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "types.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			for _, id := range spec.(*ast.ValueSpec).Names {
				if strings.HasPrefix(id.Name, "Err") {
					declared++
				}
			}
		}
	}
	if declared != len(sentinels) {
		t.Fatalf("types.go declares %d Err variables, the fuzzers know %d", declared, len(sentinels))
	}
}

func checkSentinel(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

// Fuzzing modes: how the fuzzer's bytes reach the parser.
const (
	modeRaw      = iota // the bytes are the card's value, as is
	modeRSAPlain        // the bytes are the recovered RSA block, signed with the real key
	modeSM2Body         // the bytes are the SM2 item without signature, signed with the real key
	modes
)

type fuzzKeys struct {
	rsa, sm *chain
}

var (
	fuzzOnce sync.Once
	fuzzK    fuzzKeys
)

func keysForFuzz(t testing.TB) fuzzKeys {
	fuzzOnce.Do(func() {
		fuzzK = fuzzKeys{rsa: newRSAChain(t, 1024, 1024, 1024, 3), sm: newSM2Chain(t)}
	})
	return fuzzK
}

// prepare turns fuzzer bytes into a value for signer according to mode.
func prepare(signer *pki.KeyPair, mode byte, data []byte, extra ...[]byte) []byte {
	switch mode % modes {
	case modeRSAPlain:
		n := len(signer.Public().Modulus)
		block := make([]byte, n)
		copy(block, data)
		block[0] = 0x6A // below the modulus, whose top bit is set
		if len(data) > n && data[n]&1 == 1 {
			reseal(block, extra...) // let the fuzzer get past the hash check sometimes
		}
		sig, err := signer.SignRaw(block)
		if err != nil {
			return data
		}
		return sig
	case modeSM2Body:
		if len(data) > 400 {
			data = data[:400]
		}
		msg := append([]byte(nil), data...)
		for _, x := range extra {
			msg = append(msg, x...)
		}
		sig, err := signer.SignRaw(msg)
		if err != nil {
			return data
		}
		return append(append([]byte(nil), data...), sig...)
	}
	return data
}

func FuzzRecoverIssuerKey(f *testing.F) {
	k := keysForFuzz(f)
	f.Add(k.rsa.issCert, k.rsa.issRem, k.rsa.issExp, testPAN, byte(modeRaw))
	f.Add(k.sm.issCert, []byte(nil), []byte(nil), testPAN, byte(modeRaw))
	f.Add(k.sm.issCert[:78], []byte(nil), []byte(nil), testPAN, byte(modeSM2Body))
	f.Fuzz(func(t *testing.T, cert, rem, exp, pan []byte, mode byte) {
		ca, signer := k.rsa.ca.Public(), k.rsa.ca
		if mode%modes == modeSM2Body || (mode%modes == modeRaw && mode&0x80 != 0) {
			ca, signer = k.sm.ca.Public(), k.sm.ca
		}
		in := oda.IssuerCertInput{CA: ca, Cert: prepare(signer, mode, cert, rem, exp), Remainder: rem, Exponent: exp, PAN: pan, Now: testNow}
		key, err := oda.RecoverIssuerKey(in)
		checkSentinel(t, err)
		if err == nil {
			if verr := key.Validate(); verr != nil {
				t.Fatalf("accepted an invalid key: %v", verr)
			}
		}
	})
}

func FuzzRecoverICCKey(f *testing.F) {
	k := keysForFuzz(f)
	f.Add(k.rsa.iccCert, k.rsa.iccRem, k.rsa.iccExp, testPAN, testStatic, byte(modeRaw))
	f.Add(k.sm.iccCert, []byte(nil), []byte(nil), testPAN, testStatic, byte(modeRaw|0x80))
	f.Add(k.sm.iccCert[:84], []byte(nil), []byte(nil), testPAN, testStatic, byte(modeSM2Body))
	f.Fuzz(func(t *testing.T, cert, rem, exp, pan, static []byte, mode byte) {
		issuer, signer := k.rsa.issuerKey, k.rsa.iss
		if mode%modes == modeSM2Body || (mode%modes == modeRaw && mode&0x80 != 0) {
			issuer, signer = k.sm.issuerKey, k.sm.iss
		}
		extra := [][]byte{rem, exp, static}
		if signer.Alg() == oda.SM2 {
			extra = [][]byte{static}
		}
		in := oda.ICCCertInput{Issuer: issuer, Cert: prepare(signer, mode, cert, extra...), Remainder: rem, Exponent: exp, PAN: pan, StaticData: static, Now: testNow}
		key, err := oda.RecoverICCKey(in)
		checkSentinel(t, err)
		if err == nil {
			if verr := key.Validate(); verr != nil {
				t.Fatalf("accepted an invalid key: %v", verr)
			}
		}
	})
}

// FuzzSignedData feeds SSAD, DDA, CDA and fDDA verification.
func FuzzSignedData(f *testing.F) {
	k := keysForFuzz(f)
	ssad, _ := pki.SignStaticData(k.rsa.iss, [2]byte{1, 2}, testStatic)
	sdad, _ := pki.SignDynamicData(k.rsa.icc, []byte{1, 2, 3}, testDDOL)
	f.Add(ssad, testStatic, byte(modeRaw), byte(0))
	f.Add(sdad, testDDOL, byte(modeRaw), byte(1))
	f.Add(sdad[:10], testDDOL, byte(modeRSAPlain), byte(2))
	f.Add([]byte{0x15, 0x03, 0x02, 0x01, 0x02}, testDDOL, byte(modeSM2Body), byte(1))
	f.Add([]byte{0x16, 0x03, 0x02, 0x01, 0x02}, []byte{1, 2, 3, 4}, byte(modeSM2Body), byte(3))
	f.Fuzz(func(t *testing.T, item, extra []byte, mode, kind byte) {
		c := k.rsa
		if mode%modes == modeSM2Body || (mode%modes == modeRaw && mode&0x80 != 0) {
			c = k.sm
		}
		switch kind % 4 {
		case 0:
			_, err := oda.VerifySSAD(c.issuerKey, prepare(c.iss, mode, item, extra), extra)
			checkSentinel(t, err)
		case 1:
			_, err := oda.VerifySDAD(c.iccKey, prepare(c.icc, mode, item, extra), extra)
			checkSentinel(t, err)
		case 2:
			un := []byte{1, 2, 3, 4}
			_, err := oda.VerifyCDA(oda.CDAInput{ICC: c.iccKey, SDAD: prepare(c.icc, mode, item, un), UnpredictableNumber: un, PDOLData: extra, CID: 0x40})
			checkSentinel(t, err)
		case 3:
			un := []byte{1, 2, 3, 4}
			_, err := oda.VerifyFDDA(oda.FDDAInput{ICC: c.iccKey, SDAD: prepare(c.icc, mode, item, un), UnpredictableNumber: un, CardAuthData: extra})
			checkSentinel(t, err)
		}
	})
}

func FuzzStaticData(f *testing.F) {
	f.Add([]byte{0x70, 0x04, 0x5A, 0x02, 0x12, 0x34}, byte(1), []byte{0x82}, []byte{0x7C, 0x00})
	f.Add([]byte{0x70, 0x81, 0x01, 0x00}, byte(11), []byte(nil), []byte(nil))
	f.Add([]byte{0x70, 0x82, 0x00, 0x01, 0x00}, byte(30), []byte{0x9F, 0x4A}, []byte{0x00})
	f.Fuzz(func(t *testing.T, rec []byte, sfi byte, tags, aip []byte) {
		out, err := oda.StaticData([]oda.Record{{SFI: sfi, Data: rec}, {SFI: sfi ^ 8, Data: rec}}, tags, aip)
		checkSentinel(t, err)
		if len(out) > 2*len(rec)+len(aip) {
			t.Fatalf("output of %d bytes from %d bytes of input", len(out), len(rec))
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz from real certificates when
// ODA_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("ODA_WRITE_CORPUS") != "1" {
		t.Skip("set ODA_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	k := keysForFuzz(t)
	ssad, _ := pki.SignStaticData(k.rsa.iss, [2]byte{1, 2}, testStatic)
	sdad, _ := pki.SignDynamicData(k.rsa.icc, []byte{1, 2, 3}, testDDOL)
	smSDAD, _ := pki.SignDynamicData(k.sm.icc, []byte{1, 2, 3}, testDDOL)
	write := func(name string, i int, args ...any) {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := "go test fuzz v1\n"
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				s += "[]byte(" + strconv.Quote(string(v)) + ")\n"
			case byte:
				s += fmt.Sprintf("byte(%d)\n", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzRecoverIssuerKey", 1, k.rsa.issCert, k.rsa.issRem, k.rsa.issExp, testPAN, byte(modeRaw))
	write("FuzzRecoverIssuerKey", 2, k.sm.issCert, []byte{}, []byte{}, testPAN, byte(modeRaw|0x80))
	write("FuzzRecoverIssuerKey", 3, k.sm.issCert[:78], []byte{}, []byte{}, testPAN, byte(modeSM2Body))
	write("FuzzRecoverIssuerKey", 4, rsaOpen(t, k.rsa.ca.Public(), k.rsa.issCert), k.rsa.issRem, k.rsa.issExp, testPAN, byte(modeRSAPlain))
	write("FuzzRecoverICCKey", 1, k.rsa.iccCert, k.rsa.iccRem, k.rsa.iccExp, testPAN, testStatic, byte(modeRaw))
	write("FuzzRecoverICCKey", 2, k.sm.iccCert, []byte{}, []byte{}, testPAN, testStatic, byte(modeRaw|0x80))
	write("FuzzRecoverICCKey", 3, k.sm.iccCert[:84], []byte{}, []byte{}, testPAN, testStatic, byte(modeSM2Body))
	write("FuzzRecoverICCKey", 4, rsaOpen(t, k.rsa.iss.Public(), k.rsa.iccCert), k.rsa.iccRem, k.rsa.iccExp, testPAN, testStatic, byte(modeRSAPlain))
	write("FuzzSignedData", 1, ssad, testStatic, byte(modeRaw), byte(0))
	write("FuzzSignedData", 2, sdad, testDDOL, byte(modeRaw), byte(1))
	write("FuzzSignedData", 3, rsaOpen(t, k.rsa.icc.Public(), sdad), testDDOL, byte(modeRSAPlain), byte(1))
	write("FuzzSignedData", 4, smSDAD[:len(smSDAD)-64], testDDOL, byte(modeSM2Body), byte(1))
	write("FuzzSignedData", 5, []byte{0x16, 0x03, 0x02, 0x01, 0x02}, []byte{0x01, 0xAA}, byte(modeSM2Body), byte(3))
	write("FuzzStaticData", 1, []byte{0x70, 0x04, 0x5A, 0x02, 0x12, 0x34}, byte(1), []byte{0x82}, []byte{0x7C, 0x00})
	write("FuzzStaticData", 2, []byte{0x70, 0x82, 0x00, 0x02, 0x5A, 0x00}, byte(12), []byte{}, []byte{})
}
