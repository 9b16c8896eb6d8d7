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

package oauth

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// maxResponseBytes bounds every answer read from an authorization server or a metadata URL.
const maxResponseBytes = 256 << 10

// maxErrorText bounds what of an answer is quoted in an error.
const maxErrorText = 200

// transport sends the OAuth requests of one MCPServer through the egress: every dial checked by
// the endpoint policy, credentials only to the URL's origin, no redirect off its host.
type transport struct {
	egress  *egress.Egress
	timeout time.Duration
	// tls verifies the MCP endpoint's origin (spec.tls): the probe and protected resource
	// metadata on it. Every other origin is verified with the system roots.
	tls *EndpointTLS
}

// EndpointTLS is how the MCP endpoint's certificate is verified (spec.tls).
type EndpointTLS struct {
	Origin             *url.URL
	RootCAs            *x509.CertPool
	InsecureSkipVerify bool
}

// options are the egress client options for a request to target.
func (t *transport) options(target *url.URL, authorization string) egress.ClientOptions {
	opts := egress.ClientOptions{Origin: target, Authorization: authorization, ResponseHeaderTimeout: t.timeout}
	if t.tls != nil && t.tls.Origin != nil && sameOrigin(target, t.tls.Origin) {
		opts.RootCAs, opts.InsecureSkipVerify = t.tls.RootCAs, t.tls.InsecureSkipVerify
	}
	return opts
}

// request is one HTTP request to an OAuth endpoint.
type request struct {
	method string
	url    string
	// authorization, when set, is sent to the URL's origin only.
	authorization string
	form          url.Values
	json          any
}

// response is an answer, its body read (bounded).
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and reads the answer. Errors name the URL, never a credential.
func (t *transport) do(ctx context.Context, req request) (*response, error) {
	target, err := url.Parse(req.url)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("invalid URL %q", text.Ellipsize(req.url, maxErrorText))
	}
	hc := t.egress.Client(t.options(target, req.authorization))
	defer hc.CloseIdleConnections()
	hc.Timeout = t.timeout
	if req.method != http.MethodGet {
		// A redirected POST or DELETE would carry its form (a client secret, an assertion, a
		// token being revoked) to wherever it points: the operator does not follow one.
		hc.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
			return fmt.Errorf("%w: %s %s answered with a redirect to %s", egress.ErrRedirectRefused, req.method, redact(target), redact(r.URL))
		}
	}

	var body io.Reader
	contentType := ""
	switch {
	case req.form != nil:
		body = strings.NewReader(req.form.Encode())
		contentType = "application/x-www-form-urlencoded"
	case req.json != nil:
		raw, err := json.Marshal(req.json)
		if err != nil {
			return nil, err
		}
		body = strings.NewReader(string(raw))
		contentType = "application/json"
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("invalid request to %s: %w", redact(target), err)
	}
	if contentType != "" {
		httpReq.Header.Set("Content-Type", contentType)
	}
	httpReq.Header.Set("Accept", "application/json")
	resp, err := hc.Do(httpReq)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, redact(target), unwrapURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", req.method, redact(target), err)
	}
	if len(raw) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s: the answer exceeds %d bytes", req.method, redact(target), maxResponseBytes)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// unwrapURLError drops *url.Error's own prefix (method and URL, which the caller states), keeping
// its cause and chain.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// redact is the URL without its query, user info and fragment: what an error may show.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return text.Ellipsize(c.String(), maxErrorText)
}

// redactString is redact for a URL string.
func redactString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return text.Ellipsize(text.Sanitize(s), maxErrorText)
	}
	return redact(u)
}

// decodeJSON decodes a JSON object answer into v.
func (r *response) decodeJSON(v any) error {
	if mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type")); err == nil && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fmt.Errorf("the answer is %s, not JSON", text.Ellipsize(text.Sanitize(mt), 64))
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("the answer is not a valid JSON object: %v", text.Ellipsize(err.Error(), maxErrorText))
	}
	return nil
}

// checkSecureURL accepts an authorization server URL: absolute https, or http to a loopback
// host (development; the endpoint policy denies loopback unless the manager allows it). Client
// credentials and tokens never travel in clear text to another host.
func checkSecureURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return nil, fmt.Errorf("%s %q is not an absolute URL", field, text.Ellipsize(text.Sanitize(raw), maxErrorText))
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%s %s has a fragment", field, redact(u))
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if LoopbackHost(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("%s %s is plain http: authorization servers must use https (http only on a loopback host)", field, redact(u))
	}
	return nil, fmt.Errorf("%s %s: want an https URL", field, redact(u))
}

// LoopbackHost reports whether host is localhost or a loopback address: the one place plain http
// is accepted for OAuth.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
