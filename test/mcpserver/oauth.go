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

package mcpserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Where the protected resource metadata document is served (OAuth.MetadataPath).
const (
	// MetadataAtPath serves it at the path-suffixed well-known URL of each endpoint:
	// /.well-known/oauth-protected-resource/mcp and /.well-known/oauth-protected-resource/sse.
	MetadataAtPath = "path"
	// MetadataAtRoot serves it only at /.well-known/oauth-protected-resource.
	MetadataAtRoot = "root"
	// MetadataAtBoth serves it at the root and at the path-suffixed URLs.
	MetadataAtBoth = "both"
)

// wellKnownPRM is the RFC 9728 well-known URI prefix.
const wellKnownPRM = "/.well-known/oauth-protected-resource"

// maxTokensSeen bounds how many distinct bearer tokens TokensSeen remembers.
const maxTokensSeen = 1000

// OAuth makes the server an OAuth 2.0 protected resource as the MCP authorization specification
// (2025-11-25) describes: every request to /mcp or /sse must carry `Authorization: Bearer <token>`,
// and the token is checked by RFC 7662 introspection on every request (no cache, so a revoked
// token fails on the next request). The server also serves RFC 9728 protected resource metadata,
// which needs no token. Config.Token is ignored while OAuth is set.
//
// Outcomes: no token, or an inactive, expired or (with CheckAudience) foreign token: 401; a valid
// token without RequiredScope: 403 insufficient_scope; introspection unreachable or answering
// anything but 200 with JSON: 503.
type OAuth struct {
	// IntrospectionURL is the authorization server's RFC 7662 introspection endpoint. It is POSTed
	// `token=<token>&token_type_hint=access_token`, with a 5 s timeout; redirects are not followed.
	IntrospectionURL string
	// ClientID and ClientSecret are the resource server's own credentials for introspection, sent
	// as client_secret_basic (each form-urlencoded first, per RFC 6749 §2.3.1). Empty ClientID: no
	// Authorization header.
	ClientID, ClientSecret string
	// IntrospectionCACertPEM, when set, are the PEM certificates trusted for an https
	// IntrospectionURL instead of the system roots.
	IntrospectionCACertPEM []byte

	// AuthorizationServers are the issuer URLs listed in the metadata document.
	AuthorizationServers []string
	// Resource is the resource identifier advertised in every metadata document and required in
	// the token's aud by CheckAudience. Empty: each document names the resource its well-known URL
	// is derived from (RFC 9728 §3.3), i.e. URL() for …/oauth-protected-resource/mcp, SSEURL() for
	// …/oauth-protected-resource/sse and the origin (scheme://host:port, no path or slash) for the
	// root document; CheckAudience then accepts, for a request on /mcp (/sse), the endpoint's URL
	// when path-suffixed documents are served and the origin when the root document is.
	Resource string
	// ScopesSupported is scopes_supported in the metadata, and scope= in a 401 challenge that
	// carries resource_metadata.
	ScopesSupported []string
	// RequiredScope, when set, must be among the token's scopes; otherwise 403 with
	// `Bearer error="insufficient_scope", scope="<RequiredScope>", resource_metadata="<url>"`.
	RequiredScope string

	// MetadataInHeader: a 401 says `Bearer resource_metadata="<url>"` (plus scope= when
	// ScopesSupported is set). Otherwise it says only `Bearer realm="mcp-test-server"`, and clients
	// must find the metadata at the well-known URLs; the 403 then carries realm in place of
	// resource_metadata. Either way error="invalid_token" is added when a token was presented.
	MetadataInHeader bool
	// MetadataPath is where the metadata document is served: MetadataAtPath (also when empty),
	// MetadataAtRoot or MetadataAtBoth. Elsewhere under the well-known prefix: 404.
	MetadataPath string
	// MetadataURL, when set, is the resource_metadata URL named in challenges instead of the
	// served document's (which is the path-suffixed URL of the endpoint unless MetadataPath is
	// MetadataAtRoot).
	MetadataURL string

	// CheckAudience requires the introspection response's aud (a string or an array) to contain
	// the resource (see Resource); otherwise 401 invalid_token.
	CheckAudience bool
}

func (o *OAuth) clone() *OAuth {
	if o == nil {
		return nil
	}
	c := *o
	c.AuthorizationServers = slices.Clone(o.AuthorizationServers)
	c.ScopesSupported = slices.Clone(o.ScopesSupported)
	c.IntrospectionCACertPEM = slices.Clone(o.IntrospectionCACertPEM)
	return &c
}

func (o *OAuth) servesPath() bool { return o.MetadataPath != MetadataAtRoot }
func (o *OAuth) servesRoot() bool {
	return o.MetadataPath == MetadataAtRoot || o.MetadataPath == MetadataAtBoth
}

// authState is what the server counts and remembers about authentication.
type authState struct {
	metadataRequests, introspections, unauthorized atomic.Int64

	mu     sync.Mutex
	tokens []string
	seen   map[string]struct{}

	clientMu sync.Mutex
	clientCA string
	client   *http.Client
}

// MetadataRequests is the number of requests under /.well-known/oauth-protected-resource,
// whatever their outcome (404s included).
func (s *Server) MetadataRequests() int64 { return s.auth.metadataRequests.Load() }

// Introspections is the number of introspection requests attempted, failed ones included.
func (s *Server) Introspections() int64 { return s.auth.introspections.Load() }

// Unauthorized is the number of 401 answers, in OAuth mode and for the static Token alike.
func (s *Server) Unauthorized() int64 { return s.auth.unauthorized.Load() }

// TokensSeen returns the distinct bearer tokens presented to /mcp or /sse (in either mode), in
// the order first seen; at most 1000 are remembered.
func (s *Server) TokensSeen() []string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return slices.Clone(s.auth.tokens)
}

// bearerToken returns the token of an `Authorization: Bearer <token>` header, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func isEndpoint(path string) bool { return path == "/mcp" || path == "/sse" }

// noteToken remembers the bearer token of a request to an MCP endpoint.
func (s *Server) noteToken(r *http.Request) {
	token := bearerToken(r)
	if token == "" || !isEndpoint(r.URL.Path) {
		return
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if _, ok := s.auth.seen[token]; ok || len(s.auth.tokens) >= maxTokensSeen {
		return
	}
	if s.auth.seen == nil {
		s.auth.seen = map[string]struct{}{}
	}
	s.auth.seen[token] = struct{}{}
	s.auth.tokens = append(s.auth.tokens, token)
}

// origin is scheme://host:port of the server: its listener's address, or the request's Host when
// the handler is served by someone else.
func (s *Server) origin(r *http.Request) string {
	if s.listener != nil {
		return s.scheme() + "://" + s.listener.Addr().String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// resources are the resource identifiers a token for the endpoint at path may be meant for; the
// first is the one challenges are about.
func (s *Server) resources(o *OAuth, r *http.Request, path string) []string {
	if o.Resource != "" {
		return []string{o.Resource}
	}
	var ids []string
	if o.servesPath() {
		ids = append(ids, s.origin(r)+path)
	}
	if o.servesRoot() {
		ids = append(ids, s.origin(r), s.origin(r)+"/")
	}
	return ids
}

// metadataURL is the resource_metadata URL challenges for the endpoint at path name.
func (s *Server) metadataURL(o *OAuth, r *http.Request, path string) string {
	switch {
	case o.MetadataURL != "":
		return o.MetadataURL
	case o.servesPath():
		return s.origin(r) + wellKnownPRM + path
	default:
		return s.origin(r) + wellKnownPRM
	}
}

// protectedResourceMetadata is the RFC 9728 document.
type protectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
}

// serveMetadata serves the protected resource metadata documents (no token needed).
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	s.auth.metadataRequests.Add(1)
	o := s.Config().OAuth
	if o == nil {
		http.NotFound(w, r)
		return
	}
	var resource string
	switch p := r.URL.Path; {
	case (p == wellKnownPRM || p == wellKnownPRM+"/") && o.servesRoot():
		resource = s.origin(r)
	case (p == wellKnownPRM+"/mcp" || p == wellKnownPRM+"/sse") && o.servesPath():
		resource = s.origin(r) + strings.TrimPrefix(p, wellKnownPRM)
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if o.Resource != "" {
		resource = o.Resource
	}
	doc := protectedResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   o.AuthorizationServers,
		ScopesSupported:        o.ScopesSupported,
		BearerMethodsSupported: []string{"header"},
	}
	if doc.AuthorizationServers == nil {
		doc.AuthorizationServers = []string{}
	}
	body, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// authorizeOAuth checks the bearer token of a request to /mcp or /sse. It answers the request
// itself, and reports false, when the request may not go on.
func (s *Server) authorizeOAuth(w http.ResponseWriter, r *http.Request, o *OAuth) bool {
	path := r.URL.Path
	token := bearerToken(r)
	if token == "" {
		s.challenge(w, r, o, path, false, "missing bearer token")
		return false
	}
	info, err := s.introspect(r.Context(), o, token)
	if err != nil {
		http.Error(w, "cannot check the access token: "+err.Error(), http.StatusServiceUnavailable)
		return false
	}
	if !info.Active {
		s.challenge(w, r, o, path, true, "inactive access token")
		return false
	}
	if info.Exp != 0 && time.Now().Unix() >= info.Exp {
		s.challenge(w, r, o, path, true, "expired access token")
		return false
	}
	if o.CheckAudience && !slices.ContainsFunc(s.resources(o, r, path), func(id string) bool {
		return slices.Contains(info.Aud, id)
	}) {
		s.challenge(w, r, o, path, true, "access token not meant for this resource")
		return false
	}
	if o.RequiredScope != "" && !slices.Contains(strings.Fields(info.Scope), o.RequiredScope) {
		params := []string{param("error", "insufficient_scope"), param("scope", o.RequiredScope)}
		if o.MetadataInHeader {
			params = append(params, param("resource_metadata", s.metadataURL(o, r, path)))
		} else {
			params = append([]string{param("realm", "mcp-test-server")}, params...)
		}
		w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
		http.Error(w, "access token lacks scope "+o.RequiredScope, http.StatusForbidden)
		return false
	}
	return true
}

// challenge answers 401 with a Bearer challenge.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, o *OAuth, path string, presented bool, msg string) {
	var params []string
	if presented {
		params = append(params, param("error", "invalid_token"))
	}
	if o.MetadataInHeader {
		params = append(params, param("resource_metadata", s.metadataURL(o, r, path)))
		if len(o.ScopesSupported) > 0 {
			params = append(params, param("scope", strings.Join(o.ScopesSupported, " ")))
		}
	} else {
		params = append([]string{param("realm", "mcp-test-server")}, params...)
	}
	s.auth.unauthorized.Add(1)
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	http.Error(w, msg, http.StatusUnauthorized)
}

// param is name="value", value quoted as RFC 9110 quoted-string.
func param(name, value string) string {
	return name + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
}

// introspection is the part of an RFC 7662 response the server looks at.
type introspection struct {
	Active bool     `json:"active"`
	Scope  string   `json:"scope"`
	Exp    int64    `json:"exp"`
	Aud    audience `json:"aud"`
}

// audience is a JWT-style aud: one string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*a = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// introspect asks the authorization server about token.
func (s *Server) introspect(ctx context.Context, o *OAuth, token string) (*introspection, error) {
	s.auth.introspections.Add(1)
	if o.IntrospectionURL == "" {
		return nil, errors.New("no introspection endpoint configured")
	}
	client, err := s.introspectionClient(o.IntrospectionCACertPEM)
	if err != nil {
		return nil, err
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.ClientID != "" {
		req.SetBasicAuth(url.QueryEscape(o.ClientID), url.QueryEscape(o.ClientSecret))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspection endpoint answered HTTP %d", resp.StatusCode)
	}
	var info introspection
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("introspection response: %w", err)
	}
	return &info, nil
}

// introspectionClient is the HTTP client for introspection: 5 s timeout, no redirects, trusting
// caPEM (or the system roots when empty). It is kept while caPEM stays the same.
func (s *Server) introspectionClient(caPEM []byte) (*http.Client, error) {
	s.auth.clientMu.Lock()
	defer s.auth.clientMu.Unlock()
	if s.auth.client != nil && s.auth.clientCA == string(caPEM) {
		return s.auth.client, nil
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("IntrospectionCACertPEM holds no certificate")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if s.auth.client != nil {
		s.auth.client.CloseIdleConnections()
	}
	s.auth.client = &http.Client{
		Transport:     transport,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.auth.clientCA = string(caPEM)
	return s.auth.client, nil
}

// closeIntrospectionClient drops the introspection client's idle connections.
func (s *Server) closeIntrospectionClient() {
	s.auth.clientMu.Lock()
	defer s.auth.clientMu.Unlock()
	if s.auth.client != nil {
		s.auth.client.CloseIdleConnections()
	}
}
