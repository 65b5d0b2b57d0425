// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/kernel"
)

// How values are written, the same in every output of the CLI (JSON, the
// readable form, the journal export) and of the examples: an amount in
// yuan with two decimals as a string ("12.34"); the CID (9F27) and every
// other piece of card data as upper-case hex ("40"); times in RFC 3339.

// resultJSON is a kernel.Result as the CLI writes it: the CID as hex, as
// in the journal, instead of a number.
type resultJSON struct {
	*kernel.Result
	CID string `json:"cid"`
}

func newResultJSON(r *kernel.Result) resultJSON {
	return resultJSON{Result: r, CID: fmt.Sprintf("%02X", r.CID)}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func amountOrDash(a *kernel.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

// printTrace prints every APDU: the command by name with its data split by
// the card's DOLs, the response's TLV tree (apdu.TraceDecoder).
func printTrace(w io.Writer, trace []kernel.Exchange) {
	var d apdu.TraceDecoder
	for _, e := range trace {
		if err := d.Write(w, e.Command, e.Response, e.Err); err != nil {
			return
		}
	}
}

func printResult(w io.Writer, r *kernel.Result) {
	fmt.Fprintf(w, "\noutcome          %s\n", r.Outcome)
	fmt.Fprintf(w, "reason           %s: %s\n", r.Reason, r.Detail)
	fmt.Fprintf(w, "amount           %s\n", r.Amount)
	if r.PAN != "" {
		fmt.Fprintf(w, "card             %s %X %s\n", r.PAN, []byte(r.AID), r.Label)
	}
	fmt.Fprintf(w, "balance before   %s\n", amountOrDash(r.BalanceBefore))
	fmt.Fprintf(w, "balance after    %s\n", amountOrDash(r.BalanceAfter))
	fmt.Fprintf(w, "ATC              %d\n", r.ATC)
	if len(r.Cryptogram) > 0 {
		fmt.Fprintf(w, "cryptogram       %X (CID %02X)\n", []byte(r.Cryptogram), r.CID)
	}
	if r.ResponseCode != "" {
		fmt.Fprintf(w, "response code    %s\n", r.ResponseCode)
	}
	for _, s := range r.Scripts {
		fmt.Fprintf(w, "issuer script    %X ok=%t sw=%s %s\n", []byte(s.ID), s.OK, s.SW, s.Err)
	}
	fmt.Fprintf(w, "ODA              %s %s\n", r.ODA, r.ODAError)
	fmt.Fprintf(w, "TVR              %s\n", r.TVR)
	fmt.Fprintf(w, "TSI              %s\n", r.TSI)
	fmt.Fprintf(w, "APDUs            %d\n", r.APDUs)
}
