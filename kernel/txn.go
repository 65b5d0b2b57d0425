package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-pboc/pboc/apdu"
	"github.com/go-pboc/pboc/crypto/oda"
	"github.com/go-pboc/pboc/tlv"
)

// txn is the state of one transaction. It is never shared between
// goroutines; the Kernel hands each transaction its own.
type txn struct {
	k          *Kernel
	card       apdu.Transport
	res        *Result
	now        time.Time
	app        *Application // the terminal's entry for the selected application
	aid        []byte       // the card's DF name of the selected application
	fci        []byte
	term       map[tlv.Tag][]byte // terminal data (amount, TVR, UN, ...)
	data       map[tlv.Tag][]byte // card data from the FCI, GPO and records
	aip        [2]byte
	afl        []byte
	odaRecords []oda.Record // records flagged for ODA
	icc        *oda.ICCKey  // the ICC key when CDA is to be verified
	cdaFailed  bool
	pinBlock   []byte  // the enciphered online PIN block, if captured
	ecLimit    *Amount // 9F77 when read
	ecOffered  bool    // 9F7A = 01 was sent
	ecReason   Reason  // why EC was not offered
	ecDetail   string
	apdus      int
	bytes      int
}

func (k *Kernel) newTxn(card apdu.Transport, res *Result) *txn {
	now := k.cfg.Now()
	t := &txn{
		k:    k,
		card: card,
		res:  res,
		now:  now,
		term: make(map[tlv.Tag][]byte, 24),
		data: make(map[tlv.Tag][]byte, 48),
	}
	res.TransactionTime = now
	return t
}

// exchange sends one command, records it in the trace and enforces the
// per-transaction budgets.
func (t *txn) exchange(ctx context.Context, c apdu.Command) (apdu.Response, error) {
	if t.apdus >= t.k.cfg.MaxAPDUs {
		return apdu.Response{}, fmt.Errorf("%w: more than %d commands", ErrCardData, t.k.cfg.MaxAPDUs)
	}
	tr := apdu.TransportFunc(func(ctx context.Context, cmd []byte) ([]byte, error) {
		start := time.Now()
		t.apdus++
		if t.apdus > t.k.cfg.MaxAPDUs {
			return nil, fmt.Errorf("%w: more than %d commands", ErrCardData, t.k.cfg.MaxAPDUs)
		}
		actx := ctx
		if d := t.k.cfg.APDUTimeout; d > 0 {
			var cancel context.CancelFunc
			actx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		rsp, err := t.card.Transmit(actx, cmd)
		t.bytes += len(rsp)
		if err == nil && t.bytes > t.k.cfg.MaxResponseBytes {
			t.res.Trace = append(t.res.Trace, Exchange{Command: cmd, Duration: time.Since(start)})
			return nil, fmt.Errorf("%w: card sent more than %d bytes", ErrCardData, t.k.cfg.MaxResponseBytes)
		}
		// Own the bytes: a transport may reuse its buffer, and the data
		// store keeps slices of responses for the whole transaction.
		rsp = bytes.Clone(rsp)
		t.res.Trace = append(t.res.Trace, Exchange{Command: cmd, Response: rsp, Err: err, Duration: time.Since(start)})
		return rsp, err
	})
	r, err := apdu.Exchange(ctx, tr, c)
	t.res.APDUs = t.apdus
	return r, err
}

// mustOK sends a command and requires 9000.
func (t *txn) mustOK(ctx context.Context, c apdu.Command) ([]byte, error) {
	r, err := t.exchange(ctx, c)
	if err != nil {
		return nil, err
	}
	if r.SW != apdu.SWSuccess {
		return nil, &StatusError{Command: c.Name(), SW: r.SW}
	}
	return r.Data, nil
}

// StatusError is a status word that ended a step.
type StatusError struct {
	Command string
	SW      apdu.SW
}

func (e *StatusError) Error() string { return fmt.Sprintf("kernel: %s: %s", e.Command, e.SW) }

// Is makes every StatusError match ErrCardStatus.
func (e *StatusError) Is(target error) bool { return target == ErrCardStatus }

// value looks a tag up: terminal data first, then card data.
func (t *txn) Value(tag tlv.Tag) ([]byte, bool) {
	if v, ok := t.term[tag]; ok {
		return v, true
	}
	v, ok := t.data[tag]
	return v, ok
}

// setTerminalData fills the terminal-sourced data objects for a purchase.
func (t *txn) setTerminalData(amount Amount, txnType byte) error {
	cfg := &t.k.cfg
	un := make([]byte, 4)
	if _, err := io.ReadFull(t.k.rand, un); err != nil {
		return fmt.Errorf("kernel: unpredictable number: %w", err)
	}
	t.res.UnpredictableNumber = un
	t.term[0x9F02] = amount.n12()
	t.term[0x9F03] = make([]byte, 6)
	t.term[0x9F1A] = bcd2(cfg.CountryCode)
	t.term[0x5F2A] = bcd2(cfg.CurrencyCode)
	t.term[0x5F36] = []byte{0x02}
	t.term[0x9A] = bcdDate(t.now)
	t.term[0x9F21] = bcdTime(t.now)
	t.term[0x9C] = []byte{txnType}
	t.term[0x9F37] = un
	t.term[0x9F35] = []byte{cfg.TerminalType}
	t.term[0x9F33] = cfg.Capabilities[:]
	t.term[0x9F40] = cfg.AdditionalCapabilities[:]
	t.term[0x9F4E] = []byte(cfg.MerchantName)
	t.term[0x9F1C] = []byte(cfg.TerminalID)
	t.term[0x9F16] = []byte(cfg.MerchantID)
	t.term[0x9F7A] = []byte{0x00}
	ifd := cfg.IFDSerial
	if ifd == "" {
		ifd = cfg.TerminalID
	}
	t.term[0x9F1E] = []byte(ifd)
	seq := t.k.seq.Add(1) % 100000000
	t.term[0x9F41] = []byte{bcdByte(int(seq / 1000000)), bcdByte(int(seq / 10000 % 100)), bcdByte(int(seq / 100 % 100)), bcdByte(int(seq % 100))}
	t.term[0x95] = t.res.TVR[:]
	t.term[0x9B] = t.res.TSI[:]
	return nil
}

func bcd2(v uint16) []byte { return []byte{byte(v / 100 % 10), byte(v/10%10<<4 | v%10)} }

func bcdByte(v int) byte { return byte(v/10%10<<4 | v%10) }

func bcdDate(t time.Time) []byte {
	return []byte{bcdByte(t.Year() % 100), bcdByte(int(t.Month())), bcdByte(t.Day())}
}

func bcdTime(t time.Time) []byte {
	return []byte{bcdByte(t.Hour()), bcdByte(t.Minute()), bcdByte(t.Second())}
}

// classify turns an error into the result's outcome and reason.
func (t *txn) fail(err error) (*Result, error) {
	r := t.res
	r.Outcome = OutcomeTerminated
	switch {
	case errors.Is(err, ErrNoApplication):
		r.Reason = ReasonNoApplication
	case errors.Is(err, ErrCancelled), errors.Is(err, context.Canceled):
		r.Reason = ReasonCancelled
	case errors.Is(err, ErrCardData), errors.Is(err, ErrCardStatus), errors.Is(err, apdu.ErrShortResponse):
		r.Reason = ReasonCardError
	default:
		r.Reason = ReasonTransport
	}
	r.Detail = err.Error()
	return r, err
}
