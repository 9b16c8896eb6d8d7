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

package controller

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// fakeAS is a small OAuth 2.0 authorization server for envtest: RFC 8414 metadata, the client
// credentials grant (client_secret_basic and client_secret_post), RFC 7662 introspection, RFC
// 7009 revocation, RFC 7591 registration and RFC 7592 management. The e2e suite uses a real one
// (oidc-provider); this one lets a test count requests and inject failures.
type fakeAS struct {
	srv *httptest.Server

	mu       sync.Mutex
	clients  map[string]string // client id -> secret
	regToken map[string]string // dynamic client id -> registration access token
	tokens   map[string]*fakeToken
	issued   map[string][]string // client id -> tokens
	requests map[string]int
	down     bool
	ttl      time.Duration
	seq      int
}

type fakeToken struct {
	clientID, resource, scope string
	expires                   time.Time
	revoked                   bool
}

const (
	introspectorID     = "introspector"
	introspectorSecret = "introspector-secret"
)

func startFakeAS() *fakeAS {
	as := &fakeAS{
		clients: map[string]string{introspectorID: introspectorSecret}, regToken: map[string]string{},
		tokens: map[string]*fakeToken{}, issued: map[string][]string{}, requests: map[string]int{}, ttl: time.Hour,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	as.srv = httptest.NewUnstartedServer(http.HandlerFunc(as.serve))
	as.srv.Listener = l
	as.srv.Start()
	DeferCleanup(as.srv.Close)
	return as
}

func (as *fakeAS) issuer() string { return as.srv.URL }

func (as *fakeAS) addClient(id, secret string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.clients[id] = secret
}

func (as *fakeAS) setDown(down bool) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.down = down
}

func (as *fakeAS) count(path string) int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.requests[path]
}

// issuedTo lists the tokens issued to a client.
func (as *fakeAS) issuedTo(clientID string) []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]string(nil), as.issued[clientID]...)
}

// active reports whether a token would introspect active.
func (as *fakeAS) active(token string) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	t := as.tokens[token]
	return t != nil && !t.revoked && time.Now().Before(t.expires)
}

// revoke revokes a token behind the operator's back.
func (as *fakeAS) revoke(token string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if t := as.tokens[token]; t != nil {
		t.revoked = true
	}
}

// dynamicClients lists the registered clients that still exist.
func (as *fakeAS) dynamicClients() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	var out []string
	for id := range as.regToken {
		out = append(out, id)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (as *fakeAS) serve(w http.ResponseWriter, r *http.Request) {
	as.mu.Lock()
	defer as.mu.Unlock()
	path := r.URL.Path
	if strings.HasPrefix(path, "/register/") {
		path = "/register/"
	}
	as.requests[path]++
	if as.down {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	switch path {
	case "/.well-known/oauth-authorization-server":
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": as.issuer(), "token_endpoint": as.issuer() + "/token", "revocation_endpoint": as.issuer() + "/revoke",
			"introspection_endpoint": as.issuer() + "/introspect", "registration_endpoint": as.issuer() + "/register",
			"grant_types_supported":                 []string{"client_credentials"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		})
	case "/token":
		id, ok := as.authenticate(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "client authentication failed"})
			return
		}
		as.seq++
		value := fmt.Sprintf("at-%s-%d", id, as.seq)
		as.tokens[value] = &fakeToken{clientID: id, resource: r.PostForm.Get("resource"), scope: r.PostForm.Get("scope"), expires: time.Now().Add(as.ttl)}
		as.issued[id] = append(as.issued[id], value)
		writeJSON(w, http.StatusOK, map[string]any{"access_token": value, "token_type": "Bearer", "expires_in": int(as.ttl.Seconds()), "scope": r.PostForm.Get("scope")})
	case "/revoke":
		if _, ok := as.authenticate(r); !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		if t := as.tokens[r.PostForm.Get("token")]; t != nil {
			t.revoked = true
		}
		w.WriteHeader(http.StatusOK)
	case "/introspect":
		if id, ok := as.authenticate(r); !ok || id != introspectorID {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		t := as.tokens[r.PostForm.Get("token")]
		if t == nil || t.revoked || time.Now().After(t.expires) {
			writeJSON(w, http.StatusOK, map[string]any{"active": false})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "client_id": t.clientID, "aud": t.resource, "scope": t.scope, "exp": t.expires.Unix()})
	case "/register":
		var meta map[string]any
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&meta) != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_metadata"})
			return
		}
		as.seq++
		id := fmt.Sprintf("dyn-%d", as.seq)
		as.clients[id] = "secret-" + id
		as.regToken[id] = "rat-" + id
		writeJSON(w, http.StatusCreated, map[string]any{
			"client_id": id, "client_secret": "secret-" + id, "registration_access_token": "rat-" + id,
			"registration_client_uri": as.issuer() + "/register/" + id, "token_endpoint_auth_method": "client_secret_basic",
		})
	case "/register/":
		id := strings.TrimPrefix(r.URL.Path, "/register/")
		if tok, ok := as.regToken[id]; !ok || r.Header.Get("Authorization") != "Bearer "+tok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"client_id": id})
		case http.MethodDelete:
			// As with real servers, tokens already issued stay valid: revocation is the
			// operator's job.
			delete(as.regToken, id)
			delete(as.clients, id)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	default:
		http.NotFound(w, r)
	}
}

// authenticate checks client_secret_basic or client_secret_post; the caller holds the lock.
func (as *fakeAS) authenticate(r *http.Request) (string, bool) {
	if err := r.ParseForm(); err != nil {
		return "", false
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	want, known := as.clients[id]
	return id, known && secret != "" && secret == want
}

// countingListener accepts connections on a loopback address and counts them: a stand-in for a
// host the endpoint policy denies, to show that no connection was made.
type countingListener struct {
	l     net.Listener
	mu    sync.Mutex
	count int
}

func startCountingListener(addr string) *countingListener {
	l, err := net.Listen("tcp", addr)
	Expect(err).NotTo(HaveOccurred())
	c := &countingListener{l: l}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.count++
			c.mu.Unlock()
			_ = conn.Close()
		}
	}()
	DeferCleanup(l.Close)
	return c
}

func (c *countingListener) addr() string { return c.l.Addr().String() }

func (c *countingListener) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}
