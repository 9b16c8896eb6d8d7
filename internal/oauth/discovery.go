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
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// ServerMetadata is what the operator uses of an authorization server's metadata (RFC 8414, or
// OpenID Connect Discovery).
type ServerMetadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	RegistrationEndpoint              string   `json:"registration_endpoint,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
}

// resourceMetadata is an RFC 9728 protected resource metadata document.
type resourceMetadata struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers"`
	ScopesSupported      []string `json:"scopes_supported"`
}

// Bounds on what a metadata document may list.
const (
	maxAuthorizationServers = 16
	maxScopes               = 64
)

// discovered is the outcome of discovery for one MCP endpoint.
type discovered struct {
	server ServerMetadata
	// scopes the resource asks for (its challenge, else its metadata), used when the MCPServer
	// names none.
	scopes []string
}

// discover finds the authorization server of the MCP endpoint as the MCP authorization
// specification orders it: the endpoint's 401 challenge naming resource_metadata (RFC 9728
// section 5.1), else the protected resource metadata at the path-suffixed well-known URL and then
// at the root; then the authorization server's metadata (RFC 8414 and OpenID Connect Discovery
// URLs in the specification's order). With issuer set, the authorization server is that one.
func (t *transport) discover(ctx context.Context, endpoint *url.URL, issuer string) (*discovered, error) {
	if issuer != "" {
		meta, err := t.serverMetadata(ctx, issuer)
		if err != nil {
			return nil, err
		}
		return &discovered{server: *meta}, nil
	}

	challenge, hasChallenge, err := t.probe(ctx, endpoint)
	if err != nil {
		return nil, deniedOrUnreachable(KindDiscovery, fmt.Errorf("probing the MCP endpoint %s: %w", redact(endpoint), err))
	}
	var candidates []string
	fromHeader := hasChallenge && challenge.ResourceMetadata != ""
	if fromHeader {
		// A hostile server can name any URL here: it goes through the same policy-checked egress
		// as everything else, and is only ever read, with no credentials.
		candidates = []string{challenge.ResourceMetadata}
	} else {
		candidates = wellKnownResourceMetadata(endpoint)
	}
	prm, prmURL, err := t.resourceMetadata(ctx, endpoint, candidates, fromHeader)
	if err != nil {
		return nil, err
	}
	var last error
	for _, as := range prm.AuthorizationServers {
		meta, err := t.serverMetadata(ctx, as)
		if err == nil {
			d := &discovered{server: *meta}
			switch {
			case hasChallenge && challenge.Scope != "":
				d.scopes = boundScopes(strings.Fields(challenge.Scope))
			case len(prm.ScopesSupported) > 0:
				d.scopes = boundScopes(prm.ScopesSupported)
			}
			return d, nil
		}
		last = err
	}
	if last == nil {
		last = discoveryError(fmt.Errorf("the protected resource metadata at %s lists no authorization server", redactString(prmURL)))
	}
	return nil, last
}

// probe asks the endpoint, without credentials, for its challenge. Only the headers are read.
func (t *transport) probe(ctx context.Context, endpoint *url.URL) (Challenge, bool, error) {
	hc := t.egress.Client(t.options(endpoint, ""))
	defer hc.CloseIdleConnections()
	probeCtx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(probeCtx, http.MethodGet, endpoint.String(), nil)
	if err != nil {
		return Challenge{}, false, err
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return Challenge{}, false, unwrapURLError(err)
	}
	_ = resp.Body.Close() // an unprotected SSE endpoint would stream forever
	if resp.StatusCode != http.StatusUnauthorized {
		return Challenge{}, false, nil
	}
	c, ok := ParseChallenge(resp.Header.Values("WWW-Authenticate"))
	return c, ok, nil
}

// wellKnownResourceMetadata is where RFC 9728 metadata of endpoint may be: path-suffixed, then
// at the root.
func wellKnownResourceMetadata(endpoint *url.URL) []string {
	root := url.URL{Scheme: endpoint.Scheme, Host: endpoint.Host, Path: "/.well-known/oauth-protected-resource"}
	p := strings.TrimSuffix(endpoint.EscapedPath(), "/")
	if p == "" {
		return []string{root.String()}
	}
	withPath := root
	withPath.RawPath = root.Path + p
	if unescaped, err := url.PathUnescape(withPath.RawPath); err == nil {
		withPath.Path = unescaped // Path holds the unescaped form: p is escaped
	}
	return []string{withPath.String(), root.String()}
}

// resourceMetadata reads the first candidate that serves a metadata document. An answer that is
// not found moves to the next candidate; a refused connection or an invalid document ends the
// search (a metadata URL from the challenge is the only candidate).
func (t *transport) resourceMetadata(ctx context.Context, endpoint *url.URL, candidates []string, fromHeader bool) (*resourceMetadata, string, error) {
	var tried []string
	for _, c := range candidates {
		u, err := url.Parse(c)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, "", discoveryError(fmt.Errorf("resource_metadata %q in the endpoint's WWW-Authenticate is not an http(s) URL", text.Ellipsize(text.Sanitize(c), maxErrorText)))
		}
		if u.Scheme == "http" && !sameOrigin(u, endpoint) && !LoopbackHost(u.Hostname()) {
			return nil, "", discoveryError(fmt.Errorf("resource_metadata %s is plain http on another origin than the endpoint's", redact(u)))
		}
		resp, err := t.do(ctx, request{method: http.MethodGet, url: c})
		if err != nil {
			return nil, "", deniedOrUnreachable(KindDiscovery, fmt.Errorf("reading protected resource metadata: %w", err))
		}
		if resp.status != http.StatusOK {
			tried = append(tried, fmt.Sprintf("%s (HTTP %d)", redact(u), resp.status))
			if resp.status >= 500 || resp.status == http.StatusTooManyRequests {
				return nil, "", transientError(KindDiscovery, fmt.Errorf("reading protected resource metadata %s: HTTP %d", redact(u), resp.status))
			}
			continue
		}
		prm := &resourceMetadata{}
		if err := resp.decodeJSON(prm); err != nil {
			return nil, "", discoveryError(fmt.Errorf("protected resource metadata %s: %w", redact(u), err))
		}
		if err := validateResource(prm, endpoint); err != nil {
			return nil, "", discoveryError(fmt.Errorf("protected resource metadata %s: %w", redact(u), err))
		}
		return prm, c, nil
	}
	how := "the endpoint did not answer 401 with a resource_metadata challenge, and no protected resource metadata was found at "
	if fromHeader {
		how = "no protected resource metadata at "
	}
	return nil, "", discoveryError(fmt.Errorf("%s%s; set spec.auth.oauth2.issuerURL to name the authorization server", how, strings.Join(tried, ", ")))
}

// validateResource checks the document describes endpoint (RFC 9728 section 3.3): its resource is
// the endpoint's URL or a prefix of it on the same origin, and it lists bounded, usable
// authorization servers.
func validateResource(prm *resourceMetadata, endpoint *url.URL) error {
	res, err := url.Parse(prm.Resource)
	if err != nil || prm.Resource == "" || res.Host == "" {
		return fmt.Errorf("resource %q is not an absolute URL", text.Ellipsize(text.Sanitize(prm.Resource), maxErrorText))
	}
	if !sameOrigin(res, endpoint) || !pathPrefix(res.EscapedPath(), endpoint.EscapedPath()) {
		return fmt.Errorf("it describes resource %s, not the MCP endpoint %s", redact(res), redact(endpoint))
	}
	if len(prm.AuthorizationServers) == 0 {
		return errors.New("it lists no authorization_servers")
	}
	if len(prm.AuthorizationServers) > maxAuthorizationServers {
		prm.AuthorizationServers = prm.AuthorizationServers[:maxAuthorizationServers]
	}
	return nil
}

// pathPrefix reports whether resource's path covers endpoint's: equal, or a parent segment.
func pathPrefix(resource, endpoint string) bool {
	resource = strings.TrimSuffix(resource, "/")
	endpoint = strings.TrimSuffix(endpoint, "/")
	return resource == "" || resource == endpoint || strings.HasPrefix(endpoint, resource+"/")
}

// wellKnownServerMetadata is where an issuer's metadata may be, in the MCP specification's order:
// RFC 8414 with path insertion, OpenID Connect with path insertion, OpenID Connect with path
// appending; without a path, RFC 8414 and then OpenID Connect at the root.
func wellKnownServerMetadata(issuer *url.URL) []string {
	p := strings.TrimSuffix(issuer.EscapedPath(), "/")
	at := func(escapedPath string) string {
		u := url.URL{Scheme: issuer.Scheme, Host: issuer.Host}
		if unescaped, err := url.PathUnescape(escapedPath); err == nil {
			u.Path, u.RawPath = unescaped, escapedPath
		}
		return u.String()
	}
	if p == "" {
		return []string{at("/.well-known/oauth-authorization-server"), at("/.well-known/openid-configuration")}
	}
	return []string{
		at("/.well-known/oauth-authorization-server" + p),
		at("/.well-known/openid-configuration" + p),
		at(path.Clean(p) + "/.well-known/openid-configuration"),
	}
}

// serverMetadata reads and validates the metadata of the authorization server issuer.
func (t *transport) serverMetadata(ctx context.Context, issuer string) (*ServerMetadata, error) {
	iss, err := checkSecureURL("authorization server", issuer)
	if err != nil {
		return nil, discoveryError(err)
	}
	if iss.RawQuery != "" {
		return nil, discoveryError(fmt.Errorf("authorization server %s has a query (RFC 8414 forbids it)", redact(iss)))
	}
	var tried []string
	for _, c := range wellKnownServerMetadata(iss) {
		resp, err := t.do(ctx, request{method: http.MethodGet, url: c})
		if err != nil {
			return nil, deniedOrUnreachable(KindDiscovery, fmt.Errorf("reading authorization server metadata: %w", err))
		}
		if resp.status != http.StatusOK {
			tried = append(tried, fmt.Sprintf("%s (HTTP %d)", redactString(c), resp.status))
			if resp.status >= 500 || resp.status == http.StatusTooManyRequests {
				return nil, transientError(KindDiscovery, fmt.Errorf("reading authorization server metadata %s: HTTP %d", redactString(c), resp.status))
			}
			continue
		}
		meta := &ServerMetadata{}
		if err := resp.decodeJSON(meta); err != nil {
			return nil, discoveryError(fmt.Errorf("authorization server metadata %s: %w", redactString(c), err))
		}
		if err := meta.validate(issuer); err != nil {
			return nil, discoveryError(fmt.Errorf("authorization server metadata %s: %w", redactString(c), err))
		}
		return meta, nil
	}
	return nil, discoveryError(fmt.Errorf("no authorization server metadata for %s at %s", redact(iss), strings.Join(tried, ", ")))
}

// validate checks the metadata is the issuer's (RFC 8414 section 3.3: identical issuer) and that
// its endpoints are safe to send credentials to.
func (m *ServerMetadata) validate(issuer string) error {
	if strings.TrimSuffix(m.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return fmt.Errorf("it names issuer %q, not %q (RFC 8414 section 3.3)", text.Ellipsize(text.Sanitize(m.Issuer), maxErrorText), redactString(issuer))
	}
	if m.TokenEndpoint == "" {
		return errors.New("it has no token_endpoint")
	}
	for _, e := range []struct{ field, value string }{
		{"token_endpoint", m.TokenEndpoint}, {"revocation_endpoint", m.RevocationEndpoint}, {"registration_endpoint", m.RegistrationEndpoint},
	} {
		if e.value == "" {
			continue
		}
		if _, err := checkSecureURL(e.field, e.value); err != nil {
			return err
		}
	}
	if len(m.GrantTypesSupported) > 0 && !contains(m.GrantTypesSupported, "client_credentials") {
		return errors.New("it does not offer the client_credentials grant (grant_types_supported)")
	}
	if len(m.TokenEndpointAuthMethodsSupported) > maxScopes {
		m.TokenEndpointAuthMethodsSupported = m.TokenEndpointAuthMethodsSupported[:maxScopes]
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// boundScopes keeps at most maxScopes valid scope tokens.
func boundScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if validScope(s) && len(out) < maxScopes {
			out = append(out, s)
		}
	}
	return out
}

// validScope reports whether s is an RFC 6749 scope-token.
func validScope(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}
