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

package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of Retry-After: shorter is taken as the minimum, longer as the maximum.
const (
	minRetryAfter = time.Second
	maxRetryAfter = 10 * time.Minute
	// DefaultMaxRequestsPerHost is how many requests the operator has in flight to one host at
	// most, across every MCPServer that names it.
	DefaultMaxRequestsPerHost = 4
	// maxRedirects bounds a redirect chain.
	maxRedirects = 5
)

// Egress is the operator's one way out: HTTP clients whose every dial the policy checks, whose
// redirects stay on the endpoint's host, whose credentials go only to the endpoint's origin, and
// which, per host shared by every MCPServer, bound the requests in flight and honour Retry-After.
type Egress struct {
	policy  *Policy
	perHost int
	// OnThrottle, when set, is told each time a host answers 429 or 503 (the status code).
	onThrottle func(code int)

	mu    sync.Mutex
	hosts map[string]*hostState
}

// hostState is what the operator knows of one host (host:port).
type hostState struct {
	slots     chan struct{}
	notBefore time.Time
	code      int // the status that set notBefore
}

// New returns an Egress; maxPerHost < 1 takes DefaultMaxRequestsPerHost. onThrottle may be nil.
func New(policy *Policy, maxPerHost int, onThrottle func(code int)) *Egress {
	if maxPerHost < 1 {
		maxPerHost = DefaultMaxRequestsPerHost
	}
	return &Egress{policy: policy, perHost: maxPerHost, onThrottle: onThrottle, hosts: map[string]*hostState{}}
}

// Policy is the endpoint policy every dial is checked against.
func (e *Egress) Policy() *Policy { return e.policy }

// ClientOptions describe one endpoint.
type ClientOptions struct {
	// Origin is the endpoint's URL: credentials go to its scheme, host and port only, and
	// redirects may not leave its host.
	Origin *url.URL
	// Authorization, when set, is the Authorization header value sent to the origin, never
	// elsewhere.
	Authorization string
	// RootCAs verifies servers' certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// InsecureSkipVerify disables certificate verification.
	InsecureSkipVerify bool
	// ResponseHeaderTimeout bounds the wait for each response's headers; 0 means none.
	ResponseHeaderTimeout time.Duration
	// Wrap, when set, wraps the transport below the credentials (e.g. to cap response bodies).
	Wrap func(http.RoundTripper) http.RoundTripper
	// Refused, when set, is told of every request the egress refuses: a redirect it does not
	// follow (dial refusals and Retry-After waits reach Wrap's round tripper as errors).
	Refused func(error)
}

// Client returns an HTTP client for one endpoint.
func (e *Egress) Client(opts ClientOptions) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	// No proxy: a proxy would dial the endpoint on the operator's behalf, past the policy.
	base.Proxy = nil
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: e.policy.Control}
	base.DialContext = dialer.DialContext
	base.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            opts.RootCAs,
		InsecureSkipVerify: opts.InsecureSkipVerify, //nolint:gosec // the user asked for it in spec.tls
	}
	base.ResponseHeaderTimeout = opts.ResponseHeaderTimeout
	var rt http.RoundTripper = &hostLimited{egress: e, next: base}
	if opts.Wrap != nil {
		rt = opts.Wrap(rt)
	}
	rt = &credentials{next: rt, origin: opts.Origin, authorization: opts.Authorization}
	check := sameHost(opts.Origin)
	return &http.Client{Transport: rt, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		err := check(req, via)
		if err != nil && opts.Refused != nil {
			opts.Refused(err)
		}
		return err
	}}
}

// Explain adds to err, from a request to origin, that the host asked to wait (Retry-After) when
// it did and the wait has not passed, so that the caller can schedule its retry after it.
func (e *Egress) Explain(origin *url.URL, err error) error {
	var throttled *ThrottledError
	if err == nil || errors.As(err, &throttled) {
		return err
	}
	host := strings.ToLower(origin.Host)
	if until, code := e.waitUntil(host); time.Now().Before(until) {
		return fmt.Errorf("%w (%v)", &ThrottledError{Host: host, Code: code, Until: until}, err)
	}
	return err
}

// ErrRedirectRefused is matched by errors.Is for a redirect the operator does not follow.
var ErrRedirectRefused = errors.New("redirect refused")

// ErrOtherHost is matched by errors.Is for a request to another host than the endpoint's, which
// the operator never sends (an SSE server can name any URL for its client's messages).
var ErrOtherHost = errors.New("request to another host refused")

// sameHost follows redirects only to the endpoint's own host (any port; http may become https,
// never the reverse). A redirect elsewhere is refused outright rather than followed without
// credentials: an MCP endpoint that moved is a change for the MCPServer's owner to make.
func sameHost(origin *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrRedirectRefused, maxRedirects)
		}
		if origin == nil {
			return nil
		}
		if !strings.EqualFold(req.URL.Hostname(), origin.Hostname()) {
			return fmt.Errorf("%w: the endpoint redirected to another host (%s); the operator follows redirects only on %s, and sends credentials only to %s",
				ErrRedirectRefused, req.URL.Host, origin.Hostname(), originOf(origin))
		}
		if origin.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: the endpoint redirected from https to %s", ErrRedirectRefused, req.URL.Scheme)
		}
		return nil
	}
}

// credentials adds the Authorization header to requests for the origin (same scheme, host and
// port) and removes any from every other request: Go's client forwards headers it was given on
// some redirects; this layer never forwards credentials.
type credentials struct {
	next          http.RoundTripper
	origin        *url.URL
	authorization string
}

func (c *credentials) RoundTrip(req *http.Request) (*http.Response, error) {
	// Not only redirects can send a client elsewhere: an SSE server names the URL its client posts
	// to. Every request stays on the endpoint's host.
	if c.origin != nil && !strings.EqualFold(req.URL.Hostname(), c.origin.Hostname()) {
		return nil, fmt.Errorf("%w: a request to %s, another host than the endpoint's (%s)", ErrOtherHost, req.URL.Host, c.origin.Hostname())
	}
	sameOrigin := c.origin != nil && originOf(req.URL) == originOf(c.origin)
	if c.authorization != "" && sameOrigin {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", c.authorization)
	} else if req.Header.Get("Authorization") != "" {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	return c.next.RoundTrip(req)
}

// originOf is scheme://host:port with the default port made explicit.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// ThrottledError is a request refused because its host asked the operator to wait (HTTP 429 or 503
// with Retry-After), or one not sent because the wait has not passed.
type ThrottledError struct {
	Host  string
	Code  int
	Until time.Time
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s asked to wait (HTTP %d, Retry-After): no request to it before %s",
		e.Host, e.Code, e.Until.UTC().Format(time.RFC3339))
}

// hostLimited bounds the requests in flight per host and keeps the operator quiet toward a host
// until its Retry-After has passed, for every MCPServer that names the host.
type hostLimited struct {
	egress *Egress
	next   http.RoundTripper
}

func (h *hostLimited) RoundTrip(req *http.Request) (*http.Response, error) {
	host := strings.ToLower(req.URL.Host)
	state := h.egress.host(host)
	if err := acquire(req.Context(), state.slots); err != nil {
		return nil, err
	}
	resp, err := func() (*http.Response, error) {
		defer func() { <-state.slots }()
		if until, code := h.egress.waitUntil(host); time.Now().Before(until) {
			return nil, &ThrottledError{Host: host, Code: code, Until: until}
		}
		return h.next.RoundTrip(req)
	}()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			h.egress.throttle(host, resp.StatusCode, time.Now().Add(wait))
		}
		if h.egress.onThrottle != nil {
			h.egress.onThrottle(resp.StatusCode)
		}
	}
	return resp, nil
}

func acquire(ctx context.Context, slots chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Egress) host(host string) *hostState {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.hosts[host]
	if s == nil {
		s = &hostState{slots: make(chan struct{}, e.perHost)}
		e.hosts[host] = s
	}
	return s
}

func (e *Egress) throttle(host string, code int, until time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.hosts[host]; s != nil && until.After(s.notBefore) {
		s.notBefore, s.code = until, code
	}
}

func (e *Egress) waitUntil(host string) (time.Time, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.hosts[host]; s != nil {
		return s.notBefore, s.code
	}
	return time.Time{}, 0
}

// retryAfter parses a Retry-After value (seconds, or an HTTP date), bounded to [1 s, 10 min].
func retryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(value); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, minRetryAfter), maxRetryAfter), true
}
