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
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/internal/egress"
)

func TestTokenClientSecretBasic(t *testing.T) {
	e := newEnv(t, mcpOptions{challengeScope: "mcp:read mcp:write", prmScopes: []string{"ignored"}})
	// Characters that form-urlencoding changes (RFC 6749 section 2.3.1).
	creds := &Credentials{ClientID: "op client:1/é", ClientSecret: "s3cr+t/&= %x:y"}
	g, out := e.token(e.req(creds))

	issued := e.as.issuedTokens()
	if len(issued) != 1 || g.AccessToken != issued[0] {
		t.Fatalf("grant %q, issued %q", g.AccessToken, issued)
	}
	if g.Issuer != e.as.URL() || g.ClientID != creds.ClientID || !g.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("grant %+v", g)
	}
	if out.Registered != "" {
		t.Errorf("registered %q", out.Registered)
	}
	reqs := e.tokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests", len(reqs))
	}
	r := reqs[0]
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(creds.ClientID)+":"+url.QueryEscape(creds.ClientSecret)))
	if r.Authorization != wantAuth {
		t.Errorf("Authorization %q, want %q", r.Authorization, wantAuth)
	}
	// And the server can read it back.
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Authorization, "Basic "))
	user, pass, _ := strings.Cut(string(raw), ":")
	if u, _ := url.QueryUnescape(user); u != creds.ClientID {
		t.Errorf("client id read back %q", u)
	}
	if p, _ := url.QueryUnescape(pass); p != creds.ClientSecret {
		t.Errorf("client secret read back %q", p)
	}
	if !strings.HasPrefix(r.ContentType, "application/x-www-form-urlencoded") {
		t.Errorf("content type %q", r.ContentType)
	}
	wantForm := url.Values{"grant_type": {"client_credentials"}, "resource": {e.endpoint()}, "scope": {"mcp:read mcp:write"}}
	if r.Form.Encode() != wantForm.Encode() {
		t.Errorf("form %v, want %v", r.Form, wantForm)
	}
	if got, want := e.mcp.log(), []string{"GET /mcp", "GET /.well-known/oauth-protected-resource/mcp"}; !slices.Equal(got, want) {
		t.Errorf("MCP requests %q, want %q", got, want)
	}

	st := e.store.state(t)
	if st.Issuer != e.as.URL() || st.TokenEndpoint != e.as.URL()+"/token" || st.RevocationEndpoint != e.as.URL()+"/revoke" ||
		st.RegistrationEndpoint != e.as.URL()+"/register" || st.Endpoint != e.endpoint() {
		t.Errorf("state endpoints %+v", st)
	}
	if st.Source != SourceSecret || st.ClientID != creds.ClientID || st.ClientSecret != creds.ClientSecret || st.Method != MethodClientSecretBasic {
		t.Errorf("state client %q %q %q", st.Source, st.ClientID, st.Method)
	}
	if !slices.Equal(st.DiscoveredScopes, []string{"mcp:read", "mcp:write"}) {
		t.Errorf("discovered scopes %q", st.DiscoveredScopes)
	}
	if len(st.Tokens) != 1 {
		t.Fatalf("tokens %+v", st.Tokens)
	}
	tok := st.Tokens[0]
	if tok.Value != g.AccessToken || tok.Hint != "access_token" || tok.ClientID != creds.ClientID || tok.Resource != e.endpoint() ||
		tok.Scope != "mcp:read mcp:write" || !tok.IssuedAt.Equal(t0) || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(t0.Add(time.Hour)) || tok.Refused {
		t.Errorf("recorded token %+v", tok)
	}
}

func TestTokenClientSecretPost(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	creds := &Credentials{ClientID: "post-client", ClientSecret: "post-SECRET", Method: MethodClientSecretPost}
	e.token(e.req(creds))
	r := e.tokenRequests()[0]
	if r.Authorization != "" {
		t.Errorf("Authorization %q with client_secret_post", r.Authorization)
	}
	if r.Form.Get("client_id") != creds.ClientID || r.Form.Get("client_secret") != creds.ClientSecret || r.Form.Get("grant_type") != "client_credentials" {
		t.Errorf("form %v", r.Form)
	}
	if r.Form.Has("client_assertion") {
		t.Errorf("client_assertion with client_secret_post")
	}
	if st := e.store.state(t); st.Method != MethodClientSecretPost || st.Source != SourceSecret {
		t.Errorf("state method %q source %q", st.Method, st.Source)
	}
}

func TestTokenPrivateKeyJWT(t *testing.T) {
	rsaK, ecK := testKeys(t)
	for _, tt := range []struct {
		name string
		pem  []byte
		pub  crypto.PublicKey
		kid  string
	}{
		{"RS256", pkcs8PEM(t, rsaK), &rsaK.PublicKey, "rsa-key"},
		{"ES256", sec1PEM(t, ecK), &ecK.PublicKey, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			key, err := ParseSigningKey(tt.pem, tt.kid)
			if err != nil {
				t.Fatal(err)
			}
			creds := &Credentials{ClientID: "jwt-client", Method: MethodPrivateKeyJWT, Key: key, KeyPEM: tt.pem}
			e.token(e.req(creds))
			r := e.tokenRequests()[0]
			if r.Authorization != "" || r.Form.Has("client_secret") {
				t.Errorf("secret-based authentication with private_key_jwt: %q %v", r.Authorization, r.Form)
			}
			if r.Form.Get("client_assertion_type") != ClientAssertionType || r.Form.Get("client_id") != creds.ClientID {
				t.Errorf("form %v", r.Form)
			}
			header, claims := verifyJWT(t, r.Form.Get("client_assertion"), tt.pub)
			if header["kid"] != tt.kid {
				t.Errorf("kid %q, want %q", header["kid"], tt.kid)
			}
			if claims["iss"] != creds.ClientID || claims["sub"] != creds.ClientID || claims["aud"] != e.as.URL() {
				t.Errorf("claims %v", claims)
			}
			if claimInt(t, claims, "iat") != t0.Unix() || claimInt(t, claims, "exp") != t0.Unix()+60 {
				t.Errorf("iat/exp %v %v: want the manager's clock", claims["iat"], claims["exp"])
			}
			st := e.store.state(t)
			if st.Source != SourcePrivateKey || st.Method != MethodPrivateKeyJWT || string(st.KeyPEM) != string(tt.pem) || st.KeyID != tt.kid || st.ClientSecret != "" {
				t.Errorf("state %q %q kid %q", st.Source, st.Method, st.KeyID)
			}

			// Revocation signs a fresh assertion with the recorded key.
			rep, err := e.m.Revoke(context.Background(), e.store, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			e.noSecrets("report", rep)
			rv := e.revokeRequests()
			if len(rv) != 1 || rep.Revoked != 1 {
				t.Fatalf("%d revocations, report %+v", len(rv), rep)
			}
			_, rclaims := verifyJWT(t, rv[0].Form.Get("client_assertion"), tt.pub)
			if rclaims["jti"] == claims["jti"] {
				t.Errorf("jti %v reused", claims["jti"])
			}
			if rv[0].Form.Get("token") != e.as.issuedTokens()[0] || rv[0].Form.Get("token_type_hint") != "access_token" {
				t.Errorf("revocation form %v", rv[0].Form)
			}
		})
	}
}

func TestTokenClientAuthenticationErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		creds   *Credentials
		wantErr string
	}{
		{"private_key_jwt without a key", &Credentials{ClientID: "c", Method: MethodPrivateKeyJWT}, "without a key"},
		{"unsupported method", &Credentials{ClientID: "c", ClientSecret: "x-SECRET", Method: "tls_client_auth"}, "unsupported client authentication method"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			_, _, err := e.m.Token(context.Background(), e.store, e.req(tt.creds))
			wantKind(t, err, KindAuthentication, false)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %q, want %q", err, tt.wantErr)
			}
			e.noSecrets("error", err)
			if n := len(e.tokenRequests()); n != 0 {
				t.Errorf("%d token requests", n)
			}
		})
	}
}

func TestTokenScopesAndResource(t *testing.T) {
	for _, tt := range []struct {
		name      string
		opts      mcpOptions
		scopes    []string
		issuer    bool
		resource  *string
		wantScope *string // nil: no scope parameter
	}{
		{name: "explicit scopes win", opts: mcpOptions{challengeScope: "c1", prmScopes: []string{"p1"}}, scopes: []string{"x", "y"}, wantScope: ptr("x y")},
		{name: "the challenge's scope", opts: mcpOptions{challengeScope: "c1 c2", prmScopes: []string{"p1"}}, wantScope: ptr("c1 c2")},
		{name: "then the metadata's scopes_supported", opts: mcpOptions{prmScopes: []string{"p1", "p2"}}, wantScope: ptr("p1 p2")},
		{name: "invalid scope tokens dropped", opts: mcpOptions{prmScopes: []string{"ok", "bad\"quote", ""}}, wantScope: ptr("ok")},
		{name: "none", opts: mcpOptions{}},
		{name: "issuer named: nothing discovered from the resource", opts: mcpOptions{challengeScope: "c1", prmScopes: []string{"p1"}}, issuer: true},
		{name: "no resource indicator", opts: mcpOptions{}, resource: ptr("")},
		{name: "another resource indicator", opts: mcpOptions{}, resource: ptr("https://mcp.example.com/")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			req := e.req(basicCreds("c", "c-SECRET"))
			req.Scopes = tt.scopes
			if tt.issuer {
				req.IssuerURL = e.as.URL()
			}
			if tt.resource != nil {
				req.Resource = *tt.resource
			}
			e.token(req)
			form := e.tokenRequests()[0].Form
			if tt.wantScope == nil {
				if form.Has("scope") {
					t.Errorf("scope %q, want none", form.Get("scope"))
				}
			} else if form.Get("scope") != *tt.wantScope {
				t.Errorf("scope %q, want %q", form.Get("scope"), *tt.wantScope)
			}
			switch {
			case req.Resource == "" && form.Has("resource"):
				t.Errorf("resource %q, want none", form.Get("resource"))
			case req.Resource != "" && form.Get("resource") != req.Resource:
				t.Errorf("resource %q, want %q", form.Get("resource"), req.Resource)
			}
			if tt.issuer && len(e.mcp.log()) != 0 {
				t.Errorf("MCP endpoint probed with an issuer named: %q", e.mcp.log())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     reply
		transient bool
		wantErr   []string
	}{
		{
			name:    "invalid_client",
			reply:   reply{status: 401, json: map[string]any{"error": "invalid_client", "error_description": "client authentication failed"}},
			wantErr: []string{"invalid_client", "client authentication failed", `client "c"`, "HTTP 401", "/token"},
		},
		{
			name:    "invalid_scope",
			reply:   reply{status: 400, json: map[string]any{"error": "invalid_scope"}},
			wantErr: []string{"invalid_scope", "HTTP 400"},
		},
		{
			name:    "error without a code: a bounded excerpt",
			reply:   reply{status: 403, contentType: "text/plain", body: "forbidden " + strings.Repeat("x", 10000)},
			wantErr: []string{"HTTP 403", "forbidden"},
		},
		{name: "503", reply: reply{status: 503}, transient: true, wantErr: []string{"HTTP 503"}},
		{name: "500 with a body", reply: reply{status: 500, contentType: "text/html", body: "<h1>oops</h1>"}, transient: true, wantErr: []string{"HTTP 500", "oops"}},
		{name: "429", reply: reply{status: 429, json: map[string]any{"error": "slow_down"}}, transient: true, wantErr: []string{"HTTP 429", "slow_down"}},
		{
			name:    "token_type not Bearer",
			reply:   reply{status: 200, json: map[string]any{"access_token": "at-mac-SECRET", "token_type": "mac", "expires_in": 60}},
			wantErr: []string{`token_type "mac"`, "want Bearer"},
		},
		{
			name:    "token_type missing",
			reply:   reply{status: 200, json: map[string]any{"access_token": "at-none-SECRET"}},
			wantErr: []string{"token_type"},
		},
		{
			name:    "DPoP token",
			reply:   reply{status: 200, json: map[string]any{"access_token": "at-dpop-SECRET", "token_type": "DPoP"}},
			wantErr: []string{"DPoP"},
		},
		{name: "no access_token", reply: reply{status: 200, json: map[string]any{"token_type": "Bearer"}}, wantErr: []string{"no access_token"}},
		{
			name:    "oversized access_token",
			reply:   reply{status: 200, json: map[string]any{"token_type": "Bearer", "access_token": strings.Repeat("a", maxTokenBytes+1)}},
			wantErr: []string{"over"},
		},
		{name: "not JSON", reply: reply{status: 200, contentType: "text/html", body: "<html>"}, wantErr: []string{"not JSON"}},
		{name: "invalid JSON", reply: reply{status: 200, contentType: "application/json", body: `{"access_token":`}, wantErr: []string{"not a valid JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			e.as.set(func(a *fakeAS) { a.tokenReply = &tt.reply })
			creds := basicCreds("c", "very-SECRET-client-secret")
			g, _, err := e.m.Token(context.Background(), e.store, e.req(creds))
			if g != nil {
				t.Errorf("grant %+v with an error", g)
			}
			wantKind(t, err, KindAuthentication, tt.transient)
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q, want it to contain %q", err, w)
				}
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			e.extra = append(e.extra, "at-mac-SECRET", "at-none-SECRET", "at-dpop-SECRET", strings.Repeat("a", 64))
			e.noSecrets("error", err)
			if st := e.store.state(t); st == nil || len(st.Tokens) != 0 {
				t.Errorf("state after a refusal: %+v", st)
			} else if st.TokenEndpoint == "" {
				t.Errorf("discovery not recorded: %+v", st)
			}
		})
	}
}

func TestTokenOversizedAnswer(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	e.as.set(func(a *fakeAS) {
		a.tokenReply = &reply{status: 200, contentType: "application/json", body: `{"access_token":"x","token_type":"Bearer"}` + strings.Repeat(" ", maxResponseBytes)}
	})
	_, _, err := e.m.Token(context.Background(), e.store, e.req(basicCreds("c", "c-SECRET")))
	if k, _ := KindOf(err); k != KindAuthentication || !strings.Contains(errString(err), "exceeds") {
		t.Fatalf("err %v (kind %q)", err, k)
	}
}

func TestTokenBearerCaseInsensitive(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	e.as.set(func(a *fakeAS) { a.tokenExtra = map[string]any{"token_type": "bearer", "scope": "granted"} })
	g, _ := e.token(e.req(basicCreds("c", "c-SECRET")))
	if g.AccessToken != e.as.issuedTokens()[0] {
		t.Errorf("grant %+v", g)
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		raw  string
		want int64
		ok   bool
	}{
		{"3600", 3600, true},
		{`"3600"`, 3600, true},
		{"3600.9", 3600, true},
		{`"3600.5"`, 3600, true},
		{"0", 0, true},
		{"-5", -5, true},
		{"1e3", 1000, true},
		{"", 0, false},
		{"null", 0, false},
		{`"soon"`, 0, false},
		{`""`, 0, false},
		{"true", 0, false},
		{"{}", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseSeconds(json.RawMessage(tt.raw))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseSeconds(%s) = %d, %v; want %d, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTokenExpiresIn(t *testing.T) {
	for _, tt := range []struct {
		name      string
		expiresIn any // nil: absent
		want      time.Duration
	}{
		{"number", 120, 2 * time.Minute},
		{"string", "120", 2 * time.Minute},
		{"float", 120.7, 2 * time.Minute},
		{"absent", nil, 0},
		{"zero", 0, 0},
		{"negative", -10, 0},
		{"garbage", "later", 0},
		{"capped at 366 days", 1 << 40, 366 * 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			e.as.set(func(a *fakeAS) {
				a.noExpiry = true
				if tt.expiresIn != nil {
					a.tokenExtra = map[string]any{"expires_in": tt.expiresIn}
				}
			})
			g, _ := e.token(e.req(basicCreds("c", "c-SECRET")))
			tok := e.store.state(t).Tokens[0]
			if tt.want == 0 {
				if !g.ExpiresAt.IsZero() || tok.ExpiresAt != nil {
					t.Errorf("expiry %v / %v, want none", g.ExpiresAt, tok.ExpiresAt)
				}
				return
			}
			if !g.ExpiresAt.Equal(t0.Add(tt.want)) || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(t0.Add(tt.want)) {
				t.Errorf("expiry %v / %v, want %v", g.ExpiresAt, tok.ExpiresAt, t0.Add(tt.want))
			}
		})
	}
}

func TestDynamicRegistration(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, mcpOptions{challengeScope: "mcp:read"})
	req := e.req(nil)
	req.ClientName = "ns/server"
	req.InitialAccessToken = "iat-SECRET-initial"
	e.extra = append(e.extra, req.InitialAccessToken)

	g, out := e.token(req)
	if out.Registered != "dyn-1" || g.ClientID != "dyn-1" {
		t.Fatalf("outcome %+v, grant client %q", out, g.ClientID)
	}
	regs := e.as.srv.requests(http.MethodPost, "/register")
	if len(regs) != 1 {
		t.Fatalf("%d registrations", len(regs))
	}
	if regs[0].Authorization != "Bearer iat-SECRET-initial" {
		t.Errorf("registration Authorization %q", regs[0].Authorization)
	}
	if !strings.HasPrefix(regs[0].ContentType, "application/json") {
		t.Errorf("registration content type %q", regs[0].ContentType)
	}
	var body map[string]any
	if err := json.Unmarshal(regs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["client_name"] != "ns/server" || body["token_endpoint_auth_method"] != MethodClientSecretBasic || body["scope"] != "mcp:read" ||
		body["software_id"] != "mcp-registry-operator" {
		t.Errorf("registration body %v", body)
	}
	if gt, _ := body["grant_types"].([]any); len(gt) != 1 || gt[0] != "client_credentials" {
		t.Errorf("grant_types %v", body["grant_types"])
	}
	if ru, ok := body["redirect_uris"].([]any); !ok || len(ru) != 0 {
		t.Errorf("redirect_uris %v, want []", body["redirect_uris"])
	}
	tr := e.tokenRequests()
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("dyn-1:dynsecret-1-SECRET"))
	if len(tr) != 1 || tr[0].Authorization != wantAuth {
		t.Errorf("token requests %+v, want the registered client's credentials", tr)
	}
	st := e.store.state(t)
	if st.Source != SourceDynamic || st.ClientID != "dyn-1" || st.ClientSecret != "dynsecret-1-SECRET" ||
		st.RegistrationAccessToken != "rat-1-SECRET" || st.RegistrationClientURI != e.as.URL()+"/register/dyn-1" || st.Method != MethodClientSecretBasic {
		t.Errorf("state %+v", st)
	}

	// Renewal reuses the registration.
	e.clock.Step(time.Hour)
	g2, out2 := e.token(req)
	if out2.Registered != "" || g2.ClientID != "dyn-1" || g2.AccessToken == g.AccessToken {
		t.Errorf("second call: outcome %+v, grant %+v", out2, g2)
	}
	// So does a restarted manager on the same record.
	e.clock.Step(time.Hour)
	m2 := &Manager{Egress: testEgress(t), Clock: e.clock}
	g3, out3, err := m2.Token(ctx, e.store.handle(), req)
	if err != nil {
		t.Fatal(err)
	}
	if out3.Registered != "" || g3.ClientID != "dyn-1" {
		t.Errorf("restarted manager: outcome %+v, grant %+v", out3, g3)
	}
	if n := len(e.as.srv.requests(http.MethodPost, "/register")); n != 1 {
		t.Errorf("%d registrations, want 1", n)
	}
	if n := len(e.tokenRequests()); n != 3 {
		t.Errorf("%d token requests, want 3", n)
	}

	p := Pending(e.store.state(t), e.clock.Now())
	if len(p) != 2 || !strings.Contains(p[1], `de-register dynamic client "dyn-1" at `+e.as.URL()+"/register/dyn-1") {
		t.Errorf("pending %q", p)
	}
	e.noSecrets("pending", strings.Join(p, "\n"))

	// Delete: every live token revoked, then the client de-registered with its access token.
	rep, err := m2.Revoke(ctx, e.store.handle(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.noSecrets("report", rep)
	if rep.Deregistered != "dyn-1" || rep.RevocationEndpoint != e.as.URL()+"/revoke" || rep.Remaining != "" || rep.Unrevocable != "" {
		t.Errorf("report %+v", rep)
	}
	if g3.AccessToken == "" || e.as.revokedCount(g3.AccessToken) != 1 {
		t.Errorf("the live token %q was not revoked", g3.AccessToken)
	}
	for _, r := range e.revokeRequests() {
		if r.Authorization != wantAuth {
			t.Errorf("revocation with Authorization %q", r.Authorization)
		}
	}
	dels := e.as.srv.requests(http.MethodDelete, "/register/dyn-1")
	if len(dels) != 1 || dels[0].Authorization != "Bearer rat-1-SECRET" {
		t.Errorf("de-registration %+v", dels)
	}
	st = e.store.state(t)
	if len(st.Tokens) != 0 || st.ClientSecret != "" || st.RegistrationAccessToken != "" || st.Source != "" {
		t.Errorf("state after revoke %+v", st)
	}
	if p := Pending(st, e.clock.Now()); len(p) != 0 {
		t.Errorf("pending after revoke %q", p)
	}

	// Again: nothing left to do, nothing sent.
	before := len(e.as.srv.log())
	rep, err = m2.Revoke(ctx, e.store.handle(), 5*time.Second)
	if err != nil || rep.Revoked != 0 || rep.Deregistered != "" {
		t.Errorf("second revoke: %+v, %v", rep, err)
	}
	if after := len(e.as.srv.log()); after != before {
		t.Errorf("second revoke sent %d requests", after-before)
	}
}

func TestDynamicRegistrationMethods(t *testing.T) {
	for _, tt := range []struct {
		name        string
		authMethods []string
		extra       map[string]any
		wantMethod  string
		wantErr     string
	}{
		{name: "basic when offered", authMethods: []string{"private_key_jwt", "client_secret_basic"}, wantMethod: MethodClientSecretBasic},
		{name: "post when basic is not offered", authMethods: []string{"private_key_jwt", "client_secret_post"}, wantMethod: MethodClientSecretPost},
		{name: "the server's choice of method kept", authMethods: nil, extra: map[string]any{"token_endpoint_auth_method": "client_secret_post"}, wantMethod: MethodClientSecretPost},
		{name: "no method given back: the one asked", extra: map[string]any{"token_endpoint_auth_method": ""}, wantMethod: MethodClientSecretBasic},
		{name: "neither secret method offered", authMethods: []string{"private_key_jwt"}, wantErr: "neither client_secret_basic nor client_secret_post"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			e.as.set(func(a *fakeAS) { a.authMethods, a.registerExtra = tt.authMethods, tt.extra })
			_, _, err := e.m.Token(context.Background(), e.store, e.req(nil))
			if tt.wantErr != "" {
				wantKind(t, err, KindRegistration, false)
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %q", err)
				}
				if n := len(e.as.srv.requests(http.MethodPost, "/register")); n != 0 {
					t.Errorf("%d registrations", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr := e.tokenRequests()[0]
			switch tt.wantMethod {
			case MethodClientSecretPost:
				if tr.Authorization != "" || tr.Form.Get("client_id") != "dyn-1" || tr.Form.Get("client_secret") != "dynsecret-1-SECRET" {
					t.Errorf("token request %+v", tr)
				}
			case MethodClientSecretBasic:
				if !strings.HasPrefix(tr.Authorization, "Basic ") || tr.Form.Has("client_secret") {
					t.Errorf("token request %+v", tr)
				}
			}
			if st := e.store.state(t); st.Method != tt.wantMethod {
				t.Errorf("recorded method %q, want %q", st.Method, tt.wantMethod)
			}
		})
	}
}

func TestDynamicRegistrationFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("no registration_endpoint", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		e.as.set(func(a *fakeAS) { a.noRegistration = true })
		_, _, err := e.m.Token(ctx, e.store, e.req(nil))
		wantKind(t, err, KindRegistration, false)
		if !strings.Contains(err.Error(), "registration_endpoint") || !strings.Contains(err.Error(), e.as.URL()) {
			t.Errorf("err %q", err)
		}
		if n := len(e.tokenRequests()); n != 0 {
			t.Errorf("%d token requests", n)
		}
	})
	for _, tt := range []struct {
		name      string
		reply     reply
		transient bool
		wantErr   string
	}{
		{"refused", reply{status: 400, json: map[string]any{"error": "invalid_client_metadata", "error_description": "no"}}, false, "invalid_client_metadata"},
		{"unavailable", reply{status: 503}, true, "HTTP 503"},
		{"not JSON", reply{status: 201, contentType: "text/html", body: "<p>"}, false, "not JSON"},
		{"no client_id", reply{status: 201, json: map[string]any{"client_secret": "s-SECRET"}}, false, "no client_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			e.as.set(func(a *fakeAS) { a.registerReply = &tt.reply })
			_, out, err := e.m.Token(ctx, e.store, e.req(nil))
			wantKind(t, err, KindRegistration, tt.transient)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %q, want %q", err, tt.wantErr)
			}
			e.extra = append(e.extra, "s-SECRET")
			e.noSecrets("error", err)
			if out.Registered != "" {
				t.Errorf("registered %q", out.Registered)
			}
			if st := e.store.state(t); st != nil && (st.registered() || len(st.Tokens) > 0) {
				t.Errorf("state %+v", st)
			}
		})
	}

	// A client registered but unusable is recorded, so that it is de-registered on delete.
	for _, tt := range []struct {
		name    string
		extra   map[string]any
		wantErr string
	}{
		{"unusable method", map[string]any{"token_endpoint_auth_method": "private_key_jwt"}, "cannot use"},
		{"no client_secret", map[string]any{"client_secret": ""}, "without a client_secret"},
		{"registration_client_uri plain http elsewhere", map[string]any{"registration_client_uri": "http://as.example.com/register/dyn-1"}, "plain http"},
	} {
		t.Run("recorded though "+tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			e.as.set(func(a *fakeAS) { a.registerExtra = tt.extra })
			_, out, err := e.m.Token(ctx, e.store, e.req(nil))
			wantKind(t, err, KindRegistration, false)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %q, want %q", err, tt.wantErr)
			}
			e.noSecrets("error", err)
			if out.Registered != "dyn-1" {
				t.Errorf("outcome %+v", out)
			}
			st := e.store.state(t)
			if !st.registered() || st.ClientID != "dyn-1" {
				t.Fatalf("state %+v: the registration is not recorded", st)
			}
			if n := len(e.tokenRequests()); n != 0 {
				t.Errorf("%d token requests with an unusable client", n)
			}
		})
	}
}

func TestDeregister(t *testing.T) {
	tr := testTransport(t)
	ctx := context.Background()
	const (
		ok = iota
		gone
		cannot
		failed
	)
	for _, tt := range []struct {
		status int
		want   int
	}{
		{200, ok}, {204, ok},
		{401, gone}, {404, gone}, {410, gone},
		{403, cannot}, {405, cannot}, {501, cannot},
		{400, failed}, {500, failed},
	} {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := newRecServer(t, func(_ *recServer, w http.ResponseWriter, _ *http.Request, _ recorded) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"error":"x","error_description":"echo rat-SECRET"}`))
			})
			err := tr.deregister(ctx, &Registration{ClientID: "c", AccessToken: "rat-SECRET", ClientURI: srv.URL + "/register/c"})
			switch tt.want {
			case ok:
				if err != nil {
					t.Errorf("err %v", err)
				}
			case gone:
				if !errors.Is(err, errAlreadyGone) {
					t.Errorf("err %v, want errAlreadyGone", err)
				}
			case cannot:
				if !errors.Is(err, errCannotDeregister) {
					t.Errorf("err %v, want errCannotDeregister", err)
				}
			case failed:
				if err == nil || errors.Is(err, errAlreadyGone) || errors.Is(err, errCannotDeregister) {
					t.Errorf("err %v, want a failure", err)
				}
			}
			assertNoSecrets(t, "error", errString(err), "rat-SECRET")
			reqs := srv.requests(http.MethodDelete, "/register/c")
			if len(reqs) != 1 || reqs[0].Authorization != "Bearer rat-SECRET" {
				t.Errorf("requests %+v", reqs)
			}
		})
	}
	t.Run("nothing to call", func(t *testing.T) {
		if err := tr.deregister(ctx, &Registration{ClientID: "c"}); !errors.Is(err, errAlreadyGone) {
			t.Errorf("err %v", err)
		}
	})
}

func TestTokenRedirectNotFollowed(t *testing.T) {
	elsewhere := newRecServer(t, func(_ *recServer, w http.ResponseWriter, _ *http.Request, _ recorded) {
		writeJSON(w, 200, map[string]any{"access_token": "stolen", "token_type": "Bearer"})
	})
	e := newEnv(t, mcpOptions{})
	for _, status := range []int{301, 302, 307, 308} {
		e.as.set(func(a *fakeAS) {
			a.tokenReply = &reply{status: status, header: map[string]string{"Location": elsewhere.URL + "/token"}}
		})
		_, _, err := e.m.Token(context.Background(), e.store, e.req(&Credentials{ClientID: "c", ClientSecret: "post-SECRET", Method: MethodClientSecretPost}))
		if !errors.Is(err, egress.ErrRedirectRefused) {
			t.Errorf("HTTP %d: err %v, want a refused redirect", status, err)
		}
		if k, _ := KindOf(err); k != KindAuthentication {
			t.Errorf("HTTP %d: kind %q", status, k)
		}
		e.noSecrets("error", err)
	}
	if got := elsewhere.log(); len(got) != 0 {
		t.Errorf("the redirect target received %q", got)
	}
}

func TestTokenErrorEchoingCredentialsRedacted(t *testing.T) {
	const secret = "very-SECRET-client-secret"
	for _, tt := range []struct {
		name  string
		reply reply
	}{
		{"in error_description", reply{status: 401, json: map[string]any{"error": "invalid_client", "error_description": "bad secret " + secret}}},
		{"in a plain body", reply{status: 400, contentType: "text/plain", body: "client_secret=" + secret + " rejected"}},
		{"in the error code", reply{status: 400, json: map[string]any{"error": secret}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			e.as.set(func(a *fakeAS) { a.tokenReply = &tt.reply })
			_, _, err := e.m.Token(context.Background(), e.store, e.req(basicCreds("c", secret)))
			wantKind(t, err, KindAuthentication, false)
			e.noSecrets("error", err)
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("err %q", err)
			}
		})
	}
}
