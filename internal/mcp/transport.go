/*
Copyright 2026 The mcp-registry-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package mcp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/toolregistry/mcp-registry-operator/internal/egress"
)

// roundTripper caps every response body, and records the HTTP status codes that mean the
// credentials were refused and the errors that mean the egress refused the request. It runs below
// egress' credentials layer, which alone adds the Authorization header.
type roundTripper struct {
	next     http.RoundTripper
	maxBytes int64
	tracker  *statusTracker
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		rt.tracker.refused(err)
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		rt.tracker.record(resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	resp.Body = &limitedBody{body: resp.Body, remaining: rt.maxBytes, max: rt.maxBytes}
	return resp, nil
}

// limitedBody fails a read once more than max bytes have been read, instead of silently truncating:
// a truncated JSON-RPC message would otherwise surface as a confusing parse error.
type limitedBody struct {
	body      io.ReadCloser
	remaining int64
	max       int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 {
		return 0, fmt.Errorf("response body exceeds %d bytes", b.max)
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	if b.remaining < 0 {
		return n, fmt.Errorf("response body exceeds %d bytes", b.max)
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.body.Close() }

// statusTracker remembers whether the server refused the credentials during a discovery, and
// whether the egress refused a request (the SDK may not keep the error's chain).
type statusTracker struct {
	mu        sync.Mutex
	status    int
	challenge []string
	refusal   error
}

// refused records err when it is the egress refusing a request (endpoint policy, redirect,
// Retry-After).
func (t *statusTracker) refused(err error) {
	var throttled *egress.ThrottledError
	if !errors.Is(err, egress.ErrDenied) && !errors.Is(err, egress.ErrRedirectRefused) && !errors.Is(err, egress.ErrOtherHost) &&
		!errors.As(err, &throttled) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refusal == nil {
		t.refusal = err
	}
}

func (t *statusTracker) record(status int, challenge []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.status = status
	t.challenge = append([]string(nil), challenge[:min(len(challenge), 4)]...)
}

// RefusedError is a discovery the server refused with HTTP 401 or 403; errors.Is matches it with
// ErrUnauthorized.
type RefusedError struct {
	// Status is 401 or 403.
	Status int
	// Challenge holds the WWW-Authenticate values the server sent (at most 4).
	Challenge []string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%v (HTTP %d)", ErrUnauthorized, e.Status) }

// Is makes errors.Is(err, ErrUnauthorized) true.
func (e *RefusedError) Is(target error) bool { return target == ErrUnauthorized }

// wrap marks err as ErrUnauthorized when the server answered 401 or 403, and puts first the
// egress' refusal, when one caused it.
func (t *statusTracker) wrap(err error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refusal != nil && !errors.Is(err, t.refusal) {
		return fmt.Errorf("%w (%v)", t.refusal, err)
	}
	if t.status != 0 {
		return fmt.Errorf("%w: %w", &RefusedError{Status: t.status, Challenge: t.challenge}, err)
	}
	return err
}
