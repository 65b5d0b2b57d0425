// SPDX-License-Identifier: Apache-2.0

package oda

// VerifySSAD verifies signed static application data (tag 93; EMV Book 2
// §5.4, format 03 with an RSA issuer key, 13 with an SM2 issuer key) against
// the static data to be authenticated, and returns the data authentication
// code (to be stored as 9F45).
func VerifySSAD(issuer *IssuerKey, ssad, staticData []byte) (dac []byte, err error) {
	if issuer == nil {
		return nil, errorf(ErrAlgorithm, "no issuer key")
	}
	switch issuer.Alg {
	case RSA:
		w, r, err := rsaRecover(issuer.PublicKey, ssad)
		if err != nil {
			return nil, err
		}
		defer w.release()
		if err := checkRecovered(r, FormatSSAD); err != nil {
			return nil, err
		}
		n := len(r)
		if HashAlg(r[2]) != SHA1 {
			return nil, errorf(ErrAlgorithm, "hash algorithm indicator %02X", r[2])
		}
		if err := checkHash(r[n-21:n-1], r[1:n-21], staticData); err != nil {
			return nil, err
		}
		return clone(r[3:5]), nil
	case SM2:
		const body = 3
		if len(ssad) != body+SM2SignatureLen {
			return nil, errorf(ErrKeyLength, "SM2 signed static data of %d bytes (want %d)", len(ssad), body+SM2SignatureLen)
		}
		if ssad[0] != FormatSM2SSAD {
			return nil, errorf(ErrFormat, "format %02X (want 13)", ssad[0])
		}
		if err := sm2Verify(issuer.PublicKey, concat(ssad[:body], staticData), ssad[body:]); err != nil {
			return nil, err
		}
		return clone(ssad[1:3]), nil
	}
	return nil, errorf(ErrAlgorithm, "issuer key algorithm %s", issuer.Alg)
}

// dynamicData verifies a signed dynamic application data object (9F4B) made
// with the ICC key and returns the ICC dynamic data it carries. For RSA the
// format is 05 and extra is hashed after the recovered data; for SM2 the
// format is sm2Format and extra follows the signed fields.
func dynamicData(icc *ICCKey, sdad []byte, sm2Format byte, extra ...[]byte) ([]byte, error) {
	if icc == nil {
		return nil, errorf(ErrAlgorithm, "no ICC key")
	}
	switch icc.Alg {
	case RSA:
		w, r, err := rsaRecover(icc.PublicKey, sdad)
		if err != nil {
			return nil, err
		}
		defer w.release()
		if err := checkRecovered(r, FormatSDAD); err != nil {
			return nil, err
		}
		n := len(r)
		if HashAlg(r[2]) != SHA1 {
			return nil, errorf(ErrAlgorithm, "hash algorithm indicator %02X", r[2])
		}
		ldd := int(r[3])
		if ldd > n-25 {
			return nil, errorf(ErrFormat, "ICC dynamic data length %d exceeds %d", ldd, n-25)
		}
		if err := checkHash(r[n-21:n-1], r[1:n-21], extra...); err != nil {
			return nil, err
		}
		return clone(r[4 : 4+ldd]), nil
	case SM2:
		if len(sdad) < 2+SM2SignatureLen {
			return nil, errorf(ErrKeyLength, "SM2 signed dynamic data of %d bytes", len(sdad))
		}
		if sdad[0] != sm2Format {
			return nil, errorf(ErrFormat, "format %02X (want %02X)", sdad[0], sm2Format)
		}
		ldd := int(sdad[1])
		if len(sdad) != 2+ldd+SM2SignatureLen {
			return nil, errorf(ErrKeyLength, "SM2 signed dynamic data of %d bytes for %d bytes of ICC dynamic data", len(sdad), ldd)
		}
		body := sdad[:2+ldd]
		if err := sm2Verify(icc.PublicKey, concat(append([][]byte{body}, extra...)...), sdad[len(body):]); err != nil {
			return nil, err
		}
		return clone(sdad[2:len(body)]), nil
	}
	return nil, errorf(ErrAlgorithm, "ICC key algorithm %s", icc.Alg)
}

// dynamicNumber splits ICC dynamic data into the ICC dynamic number
// (2–8 bytes, preceded by its length) and what follows.
func dynamicNumber(idd []byte) (num, rest []byte, err error) {
	if len(idd) < 1 {
		return nil, nil, errorf(ErrFormat, "empty ICC dynamic data")
	}
	l := int(idd[0])
	if l < 2 || l > 8 || 1+l > len(idd) {
		return nil, nil, errorf(ErrFormat, "ICC dynamic number length %d in %d bytes", l, len(idd))
	}
	// idd is the caller's own copy (dynamicData clones it): the number
	// may alias it.
	return idd[1 : 1+l : 1+l], idd[1+l:], nil
}

// VerifySDAD verifies signed dynamic application data for DDA (tag 9F4B;
// EMV Book 2 §6.5, format 05 with an RSA ICC key, 15 with SM2) against the
// data the terminal sent in INTERNAL AUTHENTICATE (the DDOL data), and
// returns the ICC dynamic number (to be stored as 9F4C).
func VerifySDAD(icc *ICCKey, sdad, ddolData []byte) (iccDynamicNumber []byte, err error) {
	idd, err := dynamicData(icc, sdad, FormatSM2SDAD, ddolData)
	if err != nil {
		return nil, err
	}
	num, _, err := dynamicNumber(idd)
	return num, err
}

// CDAInput holds what the terminal has to verify a CDA signature.
type CDAInput struct {
	// ICC is the key returned by RecoverICCKey.
	ICC *ICCKey
	// SDAD is the value of 9F4B in the GENERATE AC response.
	SDAD []byte
	// UnpredictableNumber is the 9F37 the terminal sent in this GENERATE AC.
	UnpredictableNumber []byte
	// PDOLData and CDOLData are the data the terminal sent in GET
	// PROCESSING OPTIONS and in the first GENERATE AC.
	PDOLData, CDOLData []byte
	// ResponseTLVs are the TLV objects of the GENERATE AC response template
	// (77) in the order received, without 9F4B.
	ResponseTLVs []byte
	// CID is the 9F27 the card returned.
	CID byte
	// CDOL2Data is the data sent in the second GENERATE AC; set it only when
	// verifying the second GENERATE AC.
	CDOL2Data []byte
}

// CDAResult is what a verified CDA signature yields.
type CDAResult struct {
	// ICCDynamicNumber is the ICC dynamic number (9F4C).
	ICCDynamicNumber []byte
	// CID is the signed cryptogram information data.
	CID byte
	// Cryptogram is the signed application cryptogram (use it as 9F26).
	Cryptogram []byte
}

// VerifyCDA verifies a combined DDA/application cryptogram signature (EMV
// Book 2 §6.6.2). The recovered ICC dynamic data is L ‖ ICC dynamic number ‖
// CID ‖ AC (8) ‖ transaction data hash code (20 for SHA-1, 32 for SM3); the
// signature covers it and the unpredictable number. The signed CID must equal
// in.CID, and the transaction data hash code must equal the hash of PDOL data
// ‖ CDOL1 data (‖ CDOL2 data) ‖ response TLVs. Any change to the response
// objects, including 9F26, therefore fails with ErrHash.
func VerifyCDA(in CDAInput) (*CDAResult, error) {
	idd, err := dynamicData(in.ICC, in.SDAD, FormatSM2SDAD, in.UnpredictableNumber)
	if err != nil {
		return nil, err
	}
	num, rest, err := dynamicNumber(idd)
	if err != nil {
		return nil, err
	}
	hs := in.ICC.HashAlg.Size()
	if hs == 0 {
		return nil, errorf(ErrAlgorithm, "ICC key hash algorithm %s", in.ICC.HashAlg)
	}
	if len(rest) < 1+8+hs {
		return nil, errorf(ErrFormat, "CDA ICC dynamic data too short (%d bytes after the dynamic number)", len(rest))
	}
	cid, ac, tdhc := rest[0], rest[1:9], rest[9:9+hs]
	if cid != in.CID {
		return nil, errorf(ErrCID, "signed CID %02X, returned %02X", cid, in.CID)
	}
	got := TransactionDataHash(in.ICC.HashAlg, in.PDOLData, in.CDOLData, in.CDOL2Data, in.ResponseTLVs)
	if !equal(got, tdhc) {
		return nil, errorf(ErrHash, "transaction data hash %X, computed %X", tdhc, got)
	}
	return &CDAResult{ICCDynamicNumber: num, CID: cid, Cryptogram: ac[:len(ac):len(ac)]}, nil
}

// FDDAInput holds what the terminal has to verify a qPBOC fDDA signature.
type FDDAInput struct {
	// ICC is the key returned by RecoverICCKey.
	ICC *ICCKey
	// SDAD is the value of 9F4B.
	SDAD []byte
	// UnpredictableNumber (9F37, 4 bytes), Amount (9F02, 6 bytes) and
	// Currency (5F2A, 2 bytes) are what the terminal sent in the PDOL.
	UnpredictableNumber, Amount, Currency []byte
	// CardAuthData is 9F69 from the card; its first byte is the fDDA version.
	// Empty means version 00.
	CardAuthData []byte
}

// VerifyFDDA verifies a qPBOC fast DDA signature and returns the ICC dynamic
// number. Version 00 signs the unpredictable number only; version 01 signs
// UN ‖ amount ‖ currency ‖ 9F69. The version is 9F69 byte 0. RSA uses
// format 05, SM2 format 16.
func VerifyFDDA(in FDDAInput) (iccDynamicNumber []byte, err error) {
	if len(in.UnpredictableNumber) != 4 {
		return nil, errorf(ErrFormat, "unpredictable number of %d bytes", len(in.UnpredictableNumber))
	}
	extra := [][]byte{in.UnpredictableNumber}
	version := byte(0)
	if len(in.CardAuthData) > 0 {
		version = in.CardAuthData[0]
	}
	switch version {
	case 0x00:
	case 0x01:
		if len(in.Amount) != 6 || len(in.Currency) != 2 {
			return nil, errorf(ErrFormat, "fDDA 01 needs a 6-byte amount and a 2-byte currency")
		}
		extra = append(extra, in.Amount, in.Currency, in.CardAuthData)
	default:
		return nil, errorf(ErrFormat, "fDDA version %02X", version)
	}
	idd, err := dynamicData(in.ICC, in.SDAD, FormatSM2FDDA, extra...)
	if err != nil {
		return nil, err
	}
	num, _, err := dynamicNumber(idd)
	return num, err
}
