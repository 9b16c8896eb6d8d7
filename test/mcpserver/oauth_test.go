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
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// introspector is a fake RFC 7662 introspection endpoint: tokens maps a token to its response.
type introspector struct {
	*httptest.Server

	mu       sync.Mutex
	tokens   map[string]map[string]any
	requests []introspectionRequest
}

type introspectionRequest struct {
	method, contentType string
	user, password      string
	basic               bool
	form                map[string][]string
}

func startIntrospector(t *testing.T) *introspector {
	t.Helper()
	in := &introspector{tokens: map[string]map[string]any{}}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, basic := r.BasicAuth()
		_ = r.ParseForm()
		in.mu.Lock()
		in.requests = append(in.requests, introspectionRequest{
			method: r.Method, contentType: r.Header.Get("Content-Type"),
			user: user, password: password, basic: basic, form: r.PostForm,
		})
		resp, ok := in.tokens[r.PostForm.Get("token")]
		in.mu.Unlock()
		if !basic || user != "rs-client" || password != "rs-secret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if !ok {
			resp = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *introspector) set(token string, resp map[string]any) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.tokens[token] = resp
}

func (in *introspector) revoke(token string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.tokens, token)
}

func (in *introspector) last() introspectionRequest {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.requests[len(in.requests)-1]
}

// startOAuth starts a server whose OAuth configuration is o with the introspection endpoint and
// credentials filled in; edit may change it once the server's URLs are known.
func startOAuth(t *testing.T, in *introspector, o OAuth, edit func(*Server, *OAuth)) *Server {
	t.Helper()
	if o.IntrospectionURL == "" {
		o.IntrospectionURL = in.URL
	}
	o.ClientID, o.ClientSecret = "rs-client", "rs-secret"
	s, err := Start("127.0.0.1:0", Config{Tools: GeneratedTools(3), OAuth: &o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if edit != nil {
		s.Update(func(c *Config) { edit(s, c.OAuth) })
	}
	return s
}

// do sends an MCP initialize request to url with token (none when empty).
func do(t *testing.T, method, url, token string) *http.Response {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func origin(s *Server) string { return "http://" + s.listener.Addr().String() }

func TestOAuthUnauthorizedChallenge(t *testing.T) {
	in := startIntrospector(t)
	in.set("good", map[string]any{"active": true})
	for _, tc := range []struct {
		name     string
		oauth    OAuth
		edit     func(*Server, *OAuth)
		endpoint string
		token    string
		want     func(s *Server) string
	}{
		{name: "no metadata in header, no token", endpoint: "/mcp",
			want: func(*Server) string { return `Bearer realm="mcp-test-server"` }},
		{name: "no metadata in header, inactive token", endpoint: "/mcp", token: "revoked",
			want: func(*Server) string { return `Bearer realm="mcp-test-server", error="invalid_token"` }},
		{name: "metadata at path", oauth: OAuth{MetadataInHeader: true}, endpoint: "/mcp",
			want: func(s *Server) string {
				return `Bearer resource_metadata="` + origin(s) + `/.well-known/oauth-protected-resource/mcp"`
			}},
		{name: "metadata at path, sse", oauth: OAuth{MetadataInHeader: true, MetadataPath: MetadataAtBoth}, endpoint: "/sse",
			want: func(s *Server) string {
				return `Bearer resource_metadata="` + origin(s) + `/.well-known/oauth-protected-resource/sse"`
			}},
		{name: "metadata at root, with scopes and token", endpoint: "/mcp", token: "unknown",
			oauth: OAuth{MetadataInHeader: true, MetadataPath: MetadataAtRoot, ScopesSupported: []string{"mcp:read", "mcp:write"}},
			want: func(s *Server) string {
				return `Bearer error="invalid_token", resource_metadata="` + origin(s) + `/.well-known/oauth-protected-resource", scope="mcp:read mcp:write"`
			}},
		{name: "metadata URL override", endpoint: "/mcp",
			oauth: OAuth{MetadataInHeader: true, MetadataURL: "http://169.254.169.254/latest/meta-data"},
			want:  func(*Server) string { return `Bearer resource_metadata="http://169.254.169.254/latest/meta-data"` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startOAuth(t, in, tc.oauth, tc.edit)
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				resp := do(t, method, origin(s)+tc.endpoint, tc.token)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("%s: status %d, want 401", method, resp.StatusCode)
				}
				if got, want := resp.Header.Get("WWW-Authenticate"), tc.want(s); got != want {
					t.Errorf("%s: WWW-Authenticate\n got %s\nwant %s", method, got, want)
				}
			}
			if got := s.Unauthorized(); got != 2 {
				t.Errorf("Unauthorized() = %d, want 2", got)
			}
		})
	}
}

func TestOAuthMetadataDocuments(t *testing.T) {
	in := startIntrospector(t)
	type doc struct {
		Resource               string   `json:"resource"`
		AuthorizationServers   []string `json:"authorization_servers"`
		ScopesSupported        []string `json:"scopes_supported"`
		BearerMethodsSupported []string `json:"bearer_methods_supported"`
	}
	const root, mcp, sse = "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/sse"
	for _, tc := range []struct {
		name     string
		oauth    OAuth
		resource map[string]string // well-known path -> resource; "" means 404; %s is the origin
	}{
		{name: "default is path", resource: map[string]string{root: "", mcp: "%s/mcp", sse: "%s/sse"}},
		{name: "path", oauth: OAuth{MetadataPath: MetadataAtPath}, resource: map[string]string{root: "", mcp: "%s/mcp", sse: "%s/sse", root + "/other": ""}},
		{name: "root", oauth: OAuth{MetadataPath: MetadataAtRoot}, resource: map[string]string{root: "%s", mcp: "", sse: ""}},
		{name: "both", oauth: OAuth{MetadataPath: MetadataAtBoth}, resource: map[string]string{root: "%s", mcp: "%s/mcp", sse: "%s/sse"}},
		{name: "resource override", oauth: OAuth{MetadataPath: MetadataAtBoth, Resource: "https://mcp.example.com/mcp"},
			resource: map[string]string{root: "https://mcp.example.com/mcp", mcp: "https://mcp.example.com/mcp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.oauth.AuthorizationServers = []string{"https://as.example.com", "https://as2.example.com/tenant"}
			tc.oauth.ScopesSupported = []string{"mcp:read"}
			s := startOAuth(t, in, tc.oauth, nil)
			var n int64
			for path, resource := range tc.resource {
				resp, err := http.Get(origin(s) + path)
				n++
				if err != nil {
					t.Fatal(err)
				}
				var got doc
				err = json.NewDecoder(resp.Body).Decode(&got)
				_ = resp.Body.Close()
				if resource == "" {
					if resp.StatusCode != http.StatusNotFound {
						t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
					}
					continue
				}
				if resp.StatusCode != http.StatusOK || err != nil {
					t.Fatalf("%s: status %d, decoding: %v", path, resp.StatusCode, err)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s: Content-Type %q", path, ct)
				}
				want := doc{
					Resource:             strings.ReplaceAll(resource, "%s", origin(s)),
					AuthorizationServers: tc.oauth.AuthorizationServers, ScopesSupported: []string{"mcp:read"},
					BearerMethodsSupported: []string{"header"},
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
			if got := s.MetadataRequests(); got != n {
				t.Errorf("MetadataRequests() = %d, want %d", got, n)
			}
			if got := s.Introspections(); got != 0 {
				t.Errorf("Introspections() = %d, want 0: metadata needs no token", got)
			}
		})
	}
}

// bearerTransport adds an Authorization header to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func connect(ctx context.Context, s *Server, sse bool, token string) (*sdk.ClientSession, error) {
	hc := &http.Client{Transport: bearerTransport{token}}
	var transport sdk.Transport = &sdk.StreamableClientTransport{Endpoint: s.URL(), HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true}
	if sse {
		transport = &sdk.SSEClientTransport{Endpoint: s.SSEURL(), HTTPClient: hc}
	}
	return sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, transport, nil)
}

func TestOAuthValidTokenServesMCP(t *testing.T) {
	in := startIntrospector(t)
	for _, sse := range []bool{false, true} {
		name := map[bool]string{false: "streamable", true: "sse"}[sse]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s := startOAuth(t, in, OAuth{MetadataInHeader: true, CheckAudience: true, RequiredScope: "mcp:read"}, nil)
			token := "token-" + name
			in.set(token, map[string]any{"active": true, "scope": "openid mcp:read", "aud": []string{"other", s.URL(), s.SSEURL()},
				"exp": time.Now().Add(time.Hour).Unix()})
			session, err := connect(ctx, s, sse, token)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = session.Close() }()
			tools, err := session.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(tools.Tools) != 3 {
				t.Errorf("got %d tools, want 3", len(tools.Tools))
			}
			if got := s.TokensSeen(); !slices.Equal(got, []string{token}) {
				t.Errorf("TokensSeen() = %q", got)
			}
			before := s.Introspections()
			if before < 2 {
				t.Errorf("Introspections() = %d, want one per request", before)
			}

			// No cache: the request after a revocation fails.
			in.revoke(token)
			if _, err := session.ListTools(ctx, nil); err == nil {
				t.Fatal("tools/list with a revoked token succeeded")
			}
			if s.Introspections() <= before || s.Unauthorized() == 0 {
				t.Errorf("after revocation: Introspections() = %d (was %d), Unauthorized() = %d", s.Introspections(), before, s.Unauthorized())
			}
		})
	}
}

func TestOAuthTokenChecks(t *testing.T) {
	in := startIntrospector(t)
	for _, tc := range []struct {
		name   string
		oauth  OAuth
		intro  func(s *Server) map[string]any // introspection response for the token; nil: unknown
		status int
		header func(s *Server) string // WWW-Authenticate; "" means not checked
	}{
		{name: "active", intro: func(*Server) map[string]any { return map[string]any{"active": true} }, status: http.StatusOK},
		{name: "inactive", oauth: OAuth{MetadataInHeader: true},
			intro:  func(*Server) map[string]any { return map[string]any{"active": false, "scope": "mcp:read"} },
			status: http.StatusUnauthorized,
			header: func(s *Server) string {
				return `Bearer error="invalid_token", resource_metadata="` + origin(s) + `/.well-known/oauth-protected-resource/mcp"`
			}},
		{name: "unknown", status: http.StatusUnauthorized,
			header: func(*Server) string { return `Bearer realm="mcp-test-server", error="invalid_token"` }},
		{name: "expired", intro: func(*Server) map[string]any {
			return map[string]any{"active": true, "exp": time.Now().Add(-time.Minute).Unix()}
		}, status: http.StatusUnauthorized},
		{name: "missing scope", oauth: OAuth{MetadataInHeader: true, RequiredScope: "mcp:tools"},
			intro:  func(*Server) map[string]any { return map[string]any{"active": true, "scope": "mcp:read mcp:toolsx"} },
			status: http.StatusForbidden,
			header: func(s *Server) string {
				return `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="` + origin(s) + `/.well-known/oauth-protected-resource/mcp"`
			}},
		{name: "missing scope, metadata URL override", oauth: OAuth{MetadataInHeader: true, RequiredScope: "mcp:tools", MetadataURL: "http://127.0.0.9/prm"},
			intro:  func(*Server) map[string]any { return map[string]any{"active": true} },
			status: http.StatusForbidden,
			header: func(*Server) string {
				return `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="http://127.0.0.9/prm"`
			}},
		{name: "missing scope, no metadata in header", oauth: OAuth{RequiredScope: "mcp:tools"},
			intro:  func(*Server) map[string]any { return map[string]any{"active": true} },
			status: http.StatusForbidden,
			header: func(*Server) string {
				return `Bearer realm="mcp-test-server", error="insufficient_scope", scope="mcp:tools"`
			}},
		{name: "scope present", oauth: OAuth{RequiredScope: "mcp:tools"},
			intro:  func(*Server) map[string]any { return map[string]any{"active": true, "scope": "a mcp:tools b"} },
			status: http.StatusOK},
		{name: "audience string", oauth: OAuth{CheckAudience: true},
			intro:  func(s *Server) map[string]any { return map[string]any{"active": true, "aud": s.URL()} },
			status: http.StatusOK},
		{name: "audience array", oauth: OAuth{CheckAudience: true},
			intro:  func(s *Server) map[string]any { return map[string]any{"active": true, "aud": []string{"x", s.URL()}} },
			status: http.StatusOK},
		{name: "audience of the other endpoint", oauth: OAuth{CheckAudience: true, MetadataInHeader: true},
			intro:  func(s *Server) map[string]any { return map[string]any{"active": true, "aud": s.SSEURL()} },
			status: http.StatusUnauthorized,
			header: func(s *Server) string {
				return `Bearer error="invalid_token", resource_metadata="` + origin(s) + `/.well-known/oauth-protected-resource/mcp"`
			}},
		{name: "audience missing", oauth: OAuth{CheckAudience: true},
			intro: func(*Server) map[string]any { return map[string]any{"active": true} }, status: http.StatusUnauthorized},
		{name: "audience root resource", oauth: OAuth{CheckAudience: true, MetadataPath: MetadataAtRoot},
			intro:  func(s *Server) map[string]any { return map[string]any{"active": true, "aud": origin(s) + "/"} },
			status: http.StatusOK},
		{name: "audience endpoint when only root is served", oauth: OAuth{CheckAudience: true, MetadataPath: MetadataAtRoot},
			intro:  func(s *Server) map[string]any { return map[string]any{"active": true, "aud": s.URL()} },
			status: http.StatusUnauthorized},
		{name: "audience resource override", oauth: OAuth{CheckAudience: true, Resource: "urn:mcp:test"},
			intro:  func(*Server) map[string]any { return map[string]any{"active": true, "aud": "urn:mcp:test"} },
			status: http.StatusOK},
		{name: "audience not checked", intro: func(*Server) map[string]any { return map[string]any{"active": true, "aud": "elsewhere"} },
			status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startOAuth(t, in, tc.oauth, nil)
			token := "tok-" + strings.ReplaceAll(tc.name, " ", "-")
			if tc.intro != nil {
				in.set(token, tc.intro(s))
			}
			resp := do(t, http.MethodPost, s.URL(), token)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.header != nil {
				if got, want := resp.Header.Get("WWW-Authenticate"), tc.header(s); got != want {
					t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, want)
				}
			}
			if got := s.Introspections(); got != 1 {
				t.Errorf("Introspections() = %d, want 1", got)
			}
			if want := int64(0); tc.status == http.StatusUnauthorized {
				want = 1
				if got := s.Unauthorized(); got != want {
					t.Errorf("Unauthorized() = %d, want %d", got, want)
				}
			}

			req := in.last()
			if req.method != http.MethodPost || req.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("introspection request: %s, Content-Type %q", req.method, req.contentType)
			}
			if !req.basic || req.user != "rs-client" || req.password != "rs-secret" {
				t.Errorf("introspection credentials: basic %v, %q:%q", req.basic, req.user, req.password)
			}
			if diff := cmp.Diff(map[string][]string{"token": {token}, "token_type_hint": {"access_token"}}, req.form); diff != "" {
				t.Errorf("introspection form (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOAuthIntrospectionFailures(t *testing.T) {
	in := startIntrospector(t)
	in.set("good", map[string]any{"active": true})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String() + "/introspect"
	_ = l.Close()

	redirect := httptest.NewServer(http.RedirectHandler(in.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }))
	defer garbage.Close()

	for _, tc := range []struct {
		name   string
		url    string
		secret string
	}{
		{name: "unreachable", url: down},
		{name: "redirect not followed", url: redirect.URL},
		{name: "not JSON", url: garbage.URL},
		{name: "client rejected", url: in.URL, secret: "wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startOAuth(t, in, OAuth{IntrospectionURL: tc.url}, func(_ *Server, o *OAuth) {
				if tc.secret != "" {
					o.ClientSecret = tc.secret
				}
			})
			if resp := do(t, http.MethodPost, s.URL(), "good"); resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("status %d, want 503", resp.StatusCode)
			}
			if got := s.Unauthorized(); got != 0 {
				t.Errorf("Unauthorized() = %d, want 0", got)
			}
		})
	}
}

func TestTokensSeenAndStaticToken(t *testing.T) {
	s, err := Start("127.0.0.1:0", Config{Token: "right", Tools: GeneratedTools(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for _, token := range []string{"wrong", "right", "wrong", ""} {
		do(t, http.MethodPost, s.URL(), token)
	}
	if got := s.TokensSeen(); !slices.Equal(got, []string{"wrong", "right"}) {
		t.Errorf("TokensSeen() = %q", got)
	}
	if got := s.Unauthorized(); got != 3 {
		t.Errorf("Unauthorized() = %d, want 3", got)
	}
	// Without OAuth the well-known URLs are not served (and, with Token, need the token).
	if resp := do(t, http.MethodGet, origin(s)+"/.well-known/oauth-protected-resource/mcp", "right"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("metadata without OAuth: status %d, want 404", resp.StatusCode)
	}

	for i := range maxTokensSeen + 10 {
		s.noteToken(httptest.NewRequest(http.MethodPost, "/mcp", nil).WithContext(context.Background()))
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		r.Header.Set("Authorization", "Bearer t"+strings.Repeat("x", i))
		s.noteToken(r)
	}
	if got := len(s.TokensSeen()); got != maxTokensSeen {
		t.Errorf("%d tokens remembered, want %d", got, maxTokensSeen)
	}
}

func TestConfigCopiesOAuth(t *testing.T) {
	s := &Server{cfg: Config{OAuth: &OAuth{ScopesSupported: []string{"a"}}}}
	cfg := s.Config()
	cfg.OAuth.ScopesSupported[0] = "changed"
	cfg.OAuth.RequiredScope = "changed"
	if got := s.Config().OAuth; got.ScopesSupported[0] != "a" || got.RequiredScope != "" {
		t.Errorf("Config() shares OAuth with the server: %+v", got)
	}
}
