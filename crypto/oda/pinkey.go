// SPDX-License-Identifier: Apache-2.0

package oda

// RecoverICCPINKey recovers and checks the ICC PIN encipherment public key
// from its certificate (tags 9F2D, 9F2F remainder, 9F2E exponent; EMV Book
// 2 §7.1): the layout and checks of the ICC public key certificate (format
// 04 with an RSA issuer key, 14 with an SM2 one), except that the hash (or
// SM2 signature) covers no static data. in.StaticData is ignored; the
// other fields are those of RecoverICCKey.
func RecoverICCPINKey(in ICCCertInput) (*ICCKey, error) {
	in.StaticData = nil
	return RecoverICCKey(in)
}
