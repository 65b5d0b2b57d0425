// Package vpcdtest serialises the tests that serve a simulated card on
// vsmartcard's vpcd port: the port takes one card at a time and go test
// runs packages in parallel, so every such test holds Lock while its card
// is in the reader.
package vpcdtest
