// SPDX-License-Identifier: Apache-2.0

// Package keys implements what PBOC cards and issuers compute with symmetric
// keys: ICC master key (UDK) derivation, session keys, application
// cryptograms (ARQC/TC/AAC), ARPC, issuer script MACs, the PUT DATA script used
// for electronic cash top-up, and online PIN blocks.
//
// Two algorithms are supported, named by the algorithm byte of the PBOC issuer
// application data (9F10): TDES (0x01, PBOC 2.0, double-length keys) and SM4
// (0x04, PBOC 3.0 / JR/T 0025, GB/T 32907). All keys are 16 bytes.
//
// # Formulas
//
// In what follows E(K, X) is block encryption (two-key 3DES EDE for TDES, SM4
// for SM4), ⊕ is XOR and ‖ concatenation.
//
// ICC master key, EMV Book 2 Annex A1.4.1 option A (PBOC 2.0 part 7 / JR/T 0025.7):
// let Y be the rightmost 16 digits of PAN‖PSN (PSN as two digits), left-padded
// with '0' when shorter, packed as 8 BCD bytes. Then
//
//	TDES: MK = E(IMK, Y) ‖ E(IMK, Y ⊕ FF..FF), each byte set to odd parity
//	SM4:  MK = E(IMK, Y ‖ (Y ⊕ FF..FF))        (one 16-byte block, no parity)
//
// Session key from the ATC (PBOC 2.0 part 7, "过程密钥"):
//
//	TDES: SK = E(MK, 000000000000‖ATC) ‖ E(MK, 000000000000‖(ATC ⊕ FFFF))
//	SM4:  SK = E(MK, 000000000000‖ATC‖000000000000‖(ATC ⊕ FFFF))
//
// Session keys are returned as computed (no parity adjustment), which is how
// the published worked examples show them; DES ignores parity bits anyway.
//
// MAC (used for cryptograms and script MACs): data padded with ISO/IEC 9797-1
// padding method 2 (append 80, then 00 to a multiple of the block size), then
//
//	TDES: ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC"): single-DES CBC-MAC
//	      with the left key half, output transformation DES(KL, DES⁻¹(KR, H))
//	SM4:  SM4 CBC-MAC with a zero IV, 16-byte result
//
// A cryptogram is the first 8 bytes of that MAC, a script MAC the first 4.
// ARPC method 1: E(SK, ARQC ⊕ (ARC‖000000000000)); for SM4 the 8-byte value is
// followed by eight 00 bytes to fill the block and the first 8 bytes of the
// result are the ARPC.
//
// The cryptogram input (ACData) is the fixed PBOC data set
// 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36 followed by the card verification
// results (4 bytes at 9F10[3:7]), 37 bytes in all.
//
// # Sources
//
// Formulas: EMV Book 2 Annex A1 (key derivation, retail MAC, ARPC method 1)
// and PBOC 2.0/3.0 part 7 as shown in the public worked examples listed in the
// tests, which were used to confirm the byte placement of the session key
// inputs (for both TDES and SM4), the SM4 ICC key derivation and the SM4 MAC.
//
// Secrets: nothing in this package logs or formats keys or PIN blocks;
// cryptograms and MACs are compared in constant time.
package keys
