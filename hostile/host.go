// SPDX-License-Identifier: Apache-2.0

package hostile

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/go-pboc/pboc/kernel"
	"github.com/go-pboc/pboc/tlv"
)

// Host is a kernel.Host that lies: it asks Inner for the answer and then
// changes it as Lie says. Reversals go to Inner unchanged (a lying issuer
// that refunds is not a risk to the merchant), when Inner takes them.
type Host struct {
	Inner kernel.Host
	Lie   HostLie
}

// HostLie changes an issuer's answer.
type HostLie func(ctx context.Context, req *kernel.AuthRequest, resp *kernel.AuthResponse) (*kernel.AuthResponse, error)

var (
	_ kernel.Reverser       = (*Host)(nil)
	_ kernel.ScriptReverser = (*Host)(nil)
)

// Authorize asks Inner and lies about its answer.
func (h *Host) Authorize(ctx context.Context, req *kernel.AuthRequest) (*kernel.AuthResponse, error) {
	resp, err := h.Inner.Authorize(ctx, req)
	if err != nil || resp == nil {
		return resp, err
	}
	c := *resp
	c.Scripts = bytes.Clone(resp.Scripts)
	return h.Lie(ctx, req, &c)
}

// Reverse passes a reversal to Inner.
func (h *Host) Reverse(ctx context.Context, req *kernel.AuthRequest) error {
	if r, ok := h.Inner.(kernel.Reverser); ok {
		return r.Reverse(ctx, req)
	}
	return fmt.Errorf("hostile: %T takes no reversal", h.Inner)
}

// ReverseScript passes a script reversal to Inner.
func (h *Host) ReverseScript(ctx context.Context, req *kernel.AuthRequest) error {
	if r, ok := h.Inner.(kernel.ScriptReverser); ok {
		return r.ReverseScript(ctx, req)
	}
	return fmt.Errorf("hostile: %T takes no script reversal", h.Inner)
}

// NoScripts approves as the issuer did but sends none of its scripts: an
// approved top-up or load whose refill never arrives.
func NoScripts(_ context.Context, _ *kernel.AuthRequest, r *kernel.AuthResponse) (*kernel.AuthResponse, error) {
	r.Scripts = nil
	return r, nil
}

// BrokenScripts flips the last byte of every script command (its MAC): the
// card refuses them.
func BrokenScripts(_ context.Context, _ *kernel.AuthRequest, r *kernel.AuthResponse) (*kernel.AuthResponse, error) {
	out := r.Scripts[:0:0]
	objs, err := tlv.Parse(r.Scripts)
	if err != nil {
		return r, nil
	}
	for _, o := range objs {
		inner, err := tlv.Parse(o.Value)
		if err != nil {
			continue
		}
		var body []byte
		for _, x := range inner {
			v := bytes.Clone(x.Value)
			if x.Tag == 0x86 && len(v) > 0 {
				v[len(v)-1] ^= 0xFF
			}
			body = tlv.Append(body, x.Tag, v)
		}
		out = tlv.Append(out, o.Tag, body)
	}
	r.Scripts = out
	return r, nil
}

// ScriptsBefore moves the issuer's scripts from template 72 (after the
// second GENERATE AC) to 71 (before it).
func ScriptsBefore(_ context.Context, _ *kernel.AuthRequest, r *kernel.AuthResponse) (*kernel.AuthResponse, error) {
	objs, err := tlv.Parse(r.Scripts)
	if err != nil {
		return r, nil
	}
	var out []byte
	for _, o := range objs {
		tag := o.Tag
		if tag == 0x72 {
			tag = 0x71
		}
		out = tlv.Append(out, tag, o.Value)
	}
	r.Scripts = out
	return r, nil
}

// Late answers after d, or not at all when the terminal's context ends
// first (the answer the issuer gave is then lost to the terminal).
func Late(d time.Duration) HostLie {
	return func(ctx context.Context, _ *kernel.AuthRequest, r *kernel.AuthResponse) (*kernel.AuthResponse, error) {
		select {
		case <-time.After(d):
			return r, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Decline answers code (for example "05") whatever the issuer said, and
// drops its scripts.
func Decline(code string) HostLie {
	return func(_ context.Context, _ *kernel.AuthRequest, r *kernel.AuthResponse) (*kernel.AuthResponse, error) {
		r.ResponseCode, r.Scripts = code, nil
		return r, nil
	}
}
