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
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"
)

// fakeAS is an authorization server: RFC 8414 metadata, token, revocation, registration and
// registration management endpoints. Its knobs are read under mu, per request.
type fakeAS struct {
	t   *testing.T
	srv *recServer

	mu sync.Mutex
	// issued are the token values issued, in order; registered the dynamic clients.
	issued     []string
	registered []fakeClient
	// revoked counts successful revocations per token value.
	revoked map[string]int

	noRevocation, noRegistration bool
	authMethods                  []string
	// tokenReply, when set, answers /token.
	tokenReply *reply
	// tokenExtra is merged into a successful token answer.
	tokenExtra map[string]any
	// noExpiry leaves expires_in out; refresh issues a refresh token too.
	noExpiry, refresh bool
	// revokeStatus, when set, is the status /revoke answers for a token (0: 200), with
	// revokeBody (JSON) when not 200.
	revokeStatus func(token string) int
	revokeBody   string
	// registerReply, when set, answers /register; registerExtra is merged into a success.
	registerReply *reply
	registerExtra map[string]any
	// deregStatus is what DELETE /register/<id> answers (0: 204).
	deregStatus int
}

type fakeClient struct{ ID, Secret, AccessToken string }

func newFakeAS(t *testing.T) *fakeAS {
	a := &fakeAS{t: t, revoked: map[string]int{}}
	a.srv = newRecServer(t, a.serve)
	return a
}

// restart serves the same authorization server on a new listener at the same address.
func (a *fakeAS) restart(t *testing.T) {
	addr := a.srv.Listener.Addr().String()
	a.srv.Close()
	a.srv = newRecServerOn(t, listenAt(t, addr), a.serve)
}

func (a *fakeAS) URL() string { return a.srv.URL }

func (a *fakeAS) set(f func(a *fakeAS)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func (a *fakeAS) issuedTokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.issued...)
}

func (a *fakeAS) revokedCount(token string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.revoked[token]
}

// secrets are every credential the server handed out.
func (a *fakeAS) secrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := append([]string(nil), a.issued...)
	for _, c := range a.registered {
		out = append(out, c.Secret, c.AccessToken)
	}
	return out
}

func (a *fakeAS) metadata(base string) map[string]any {
	m := map[string]any{
		"issuer":                base,
		"token_endpoint":        base + "/token",
		"grant_types_supported": []string{"client_credentials"},
	}
	if !a.noRevocation {
		m["revocation_endpoint"] = base + "/revoke"
	}
	if !a.noRegistration {
		m["registration_endpoint"] = base + "/register"
	}
	if a.authMethods != nil {
		m["token_endpoint_auth_methods_supported"] = a.authMethods
	}
	return m
}

func (a *fakeAS) serve(s *recServer, w http.ResponseWriter, r *http.Request, rec recorded) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/.well-known/oauth-authorization-server":
		writeJSON(w, 200, a.metadata(s.URL))
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		if a.tokenReply != nil {
			a.tokenReply.write(w)
			return
		}
		n := len(a.issued) + 1
		access := fmt.Sprintf("at-%d-SECRETACCESS", n)
		a.issued = append(a.issued, access)
		body := map[string]any{"access_token": access, "token_type": "Bearer"}
		if !a.noExpiry {
			body["expires_in"] = 3600
		}
		if a.refresh {
			refresh := fmt.Sprintf("rt-%d-SECRETREFRESH", n)
			a.issued = append(a.issued, refresh)
			body["refresh_token"] = refresh
		}
		for k, v := range a.tokenExtra {
			body[k] = v
		}
		writeJSON(w, 200, body)
	case r.Method == http.MethodPost && r.URL.Path == "/revoke":
		status := 200
		if a.revokeStatus != nil {
			if s := a.revokeStatus(rec.Form.Get("token")); s != 0 {
				status = s
			}
		}
		if status == 200 {
			a.revoked[rec.Form.Get("token")]++
			return
		}
		if a.revokeBody != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(a.revokeBody))
	case r.Method == http.MethodPost && r.URL.Path == "/register":
		if a.registerReply != nil {
			a.registerReply.write(w)
			return
		}
		var req registrationRequest
		if err := json.Unmarshal(rec.Body, &req); err != nil {
			a.t.Errorf("registration request: %v", err)
		}
		n := len(a.registered) + 1
		c := fakeClient{ID: fmt.Sprintf("dyn-%d", n), Secret: fmt.Sprintf("dynsecret-%d-SECRET", n), AccessToken: fmt.Sprintf("rat-%d-SECRET", n)}
		a.registered = append(a.registered, c)
		body := map[string]any{
			"client_id": c.ID, "client_secret": c.Secret, "registration_access_token": c.AccessToken,
			"registration_client_uri": s.URL + "/register/" + c.ID, "token_endpoint_auth_method": req.AuthMethod,
			"grant_types": req.GrantTypes,
		}
		for k, v := range a.registerExtra {
			body[k] = v
		}
		writeJSON(w, http.StatusCreated, body)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/register/"):
		status := a.deregStatus
		if status == 0 {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
	default:
		http.NotFound(w, r)
	}
}

// mcpOptions shape the fake MCP server.
type mcpOptions struct {
	// challengeScope is the scope of the 401 challenge; prmScopes the metadata's scopes_supported.
	challengeScope string
	prmScopes      []string
}

// newFakeMCP is a protected MCP endpoint at /mcp: 401 naming its metadata, which names as.
func newFakeMCP(t *testing.T, as *fakeAS, opts mcpOptions) *recServer {
	asURL := as.URL()
	return newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
		switch r.URL.Path {
		case "/mcp":
			c := `Bearer resource_metadata="` + s.URL + `/.well-known/oauth-protected-resource/mcp"`
			if opts.challengeScope != "" {
				c += `, scope="` + opts.challengeScope + `"`
			}
			w.Header().Set("WWW-Authenticate", c)
			w.WriteHeader(401)
		case "/.well-known/oauth-protected-resource/mcp":
			doc := map[string]any{"resource": s.URL + "/mcp", "authorization_servers": []string{asURL}}
			if opts.prmScopes != nil {
				doc["scopes_supported"] = opts.prmScopes
			}
			writeJSON(w, 200, doc)
		default:
			http.NotFound(w, r)
		}
	})
}

// env is an MCP server, its authorization server, a manager on a fake clock and a store.
type env struct {
	t     *testing.T
	as    *fakeAS
	mcp   *recServer
	clock *testclock.FakeClock
	m     *Manager
	store *memStore
	// extra secrets the test used (client secrets, keys, initial access tokens).
	extra []string
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newEnv(t *testing.T, opts mcpOptions) *env {
	as := newFakeAS(t)
	e := &env{t: t, as: as, mcp: newFakeMCP(t, as, opts), clock: testclock.NewFakeClock(t0), store: newMemStore()}
	e.m = &Manager{Egress: testEgress(t), Clock: e.clock}
	return e
}

func (e *env) endpoint() string { return e.mcp.URL + "/mcp" }

// req asks for a token for the MCP endpoint with client (nil: dynamic registration).
func (e *env) req(client *Credentials) Request {
	if client != nil {
		e.extra = append(e.extra, client.ClientSecret, string(client.KeyPEM))
	}
	return Request{Endpoint: mustURL(e.t, e.endpoint()), Resource: e.endpoint(), Client: client, Timeout: 5 * time.Second}
}

func (e *env) token(req Request) (*Grant, Outcome) {
	e.t.Helper()
	g, out, err := e.m.Token(context.Background(), e.store, req)
	if err != nil {
		e.t.Fatalf("Token: %v", err)
	}
	if g == nil || g.AccessToken == "" {
		e.t.Fatalf("Token: no grant: %+v", g)
	}
	return g, out
}

func (e *env) secrets() []string { return append(e.as.secrets(), e.extra...) }

// noSecrets checks what an error, a report or a description shows.
func (e *env) noSecrets(what string, v any) {
	e.t.Helper()
	s := ""
	switch v := v.(type) {
	case error:
		s = errString(v)
	case string:
		s = v
	default:
		s = fmt.Sprintf("%+v", v)
	}
	assertNoSecrets(e.t, what, s, e.secrets()...)
}

func (e *env) tokenRequests() []recorded { return e.as.srv.requests(http.MethodPost, "/token") }
func (e *env) revokeRequests() []recorded {
	return e.as.srv.requests(http.MethodPost, "/revoke")
}

func basicCreds(id, secret string) *Credentials {
	return &Credentials{ClientID: id, ClientSecret: secret, Method: MethodClientSecretBasic}
}
