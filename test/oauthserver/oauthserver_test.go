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

package oauthserver

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const resource = "http://127.0.0.1:1/mcp"

// repoRoot is the repository root (go test runs in the package directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

// startServer starts a server for the test, or skips it when oidc-provider is not installed.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	root := repoRoot(t)
	if err := Installed(root); err != nil {
		t.Skipf("skipping: %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipping: node is not on PATH")
	}
	opts.Root, opts.Dir = root, t.TempDir()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(s.LogPath()); err == nil {
				t.Logf("oidc-provider log:\n%s", log)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

type response struct {
	status int
	body   map[string]any
}

func (r response) str(key string) string { s, _ := r.body[key].(string); return s }

// post sends a form (or JSON when form is nil) to url.
func post(t *testing.T, method, target string, form url.Values, jsonBody any, header http.Header) (response, error) {
	t.Helper()
	var body io.Reader
	contentType := ""
	switch {
	case form != nil:
		body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	case jsonBody != nil:
		data, err := json.Marshal(jsonBody)
		if err != nil {
			t.Fatal(err)
		}
		body, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	out := response{status: resp.StatusCode}
	if len(data) > 0 && json.Unmarshal(data, &out.body) != nil {
		t.Fatalf("%s %s: HTTP %d, not JSON: %s", method, target, resp.StatusCode, data)
	}
	return out, nil
}

func basic(id, secret string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	return h
}

// token requests a client_credentials token and fails the test unless it gets one.
func token(t *testing.T, s *Server, form url.Values, header http.Header) string {
	t.Helper()
	form.Set("grant_type", "client_credentials")
	r, err := post(t, http.MethodPost, s.TokenEndpoint(), form, nil, header)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("token request: HTTP %d %v", r.status, r.body)
	}
	if r.str("token_type") != "Bearer" {
		t.Errorf("token_type %q", r.str("token_type"))
	}
	return r.str("access_token")
}

// assertion builds a private_key_jwt client assertion with the standard library only.
func assertion(t *testing.T, key *Key, clientID, aud string) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	now := time.Now().Unix()
	header, _ := json.Marshal(map[string]string{"alg": key.Alg, "typ": "JWT", "kid": key.KID})
	claims, _ := json.Marshal(map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud, "jti": hex.EncodeToString(jti), "iat": now, "exp": now + 60,
	})
	input := b64(header) + "." + b64(claims)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch priv := key.Private.(type) {
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest[:]); err != nil {
			t.Fatal(err)
		}
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64) // JWS ES256: r || s, 32 bytes each
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	default:
		t.Fatalf("unsupported key %T", key.Private)
	}
	return input + "." + b64(sig)
}

func jwtForm(t *testing.T, key *Key, clientID, aud string) url.Values {
	return url.Values{
		"client_id":             {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion(t, key, clientID, aud)},
	}
}

// introspect returns the RFC 7662 response, failing the test on error.
func introspect(t *testing.T, s *Server, tok string) Introspection {
	t.Helper()
	in, err := s.Introspection(tok)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// lastIssued checks that tok is the newest token IssuedTokens records for clientID.
func lastIssued(t *testing.T, s *Server, clientID, tok string) {
	t.Helper()
	tokens, err := s.IssuedTokens(clientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) == 0 || tokens[len(tokens)-1] != tok {
		t.Fatalf("IssuedTokens(%s) = %d tokens, the last is not the one the client received", clientID, len(tokens))
	}
}

func requests(t *testing.T, s *Server) map[string]int {
	t.Helper()
	r, err := s.Requests()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestKeys(t *testing.T) {
	rsaKey, err := NewRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := NewECKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Key{rsaKey, ecKey} {
		for _, p := range [][]byte{k.PKCS8PEM, k.TraditionalPEM} {
			block, _ := pem.Decode(p)
			if block == nil {
				t.Fatalf("%s: not PEM", k.Alg)
			}
			var parsed any
			switch block.Type {
			case "PRIVATE KEY":
				parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			case "RSA PRIVATE KEY":
				parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			case "EC PRIVATE KEY":
				parsed, err = x509.ParseECPrivateKey(block.Bytes)
			default:
				t.Fatalf("%s: unexpected PEM type %s", k.Alg, block.Type)
			}
			if err != nil {
				t.Fatalf("%s %s: %v", k.Alg, block.Type, err)
			}
			if !parsed.(interface{ Equal(crypto.PrivateKey) bool }).Equal(k.Private) {
				t.Errorf("%s %s: not the same key", k.Alg, block.Type)
			}
		}
		var jwk map[string]string
		if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil {
			t.Fatal(err)
		}
		if jwk["kid"] != k.KID || jwk["alg"] != k.Alg || jwk["d"] != "" {
			t.Errorf("JWK %v", jwk)
		}
	}
}

func TestOAuthServer(t *testing.T) {
	rsaKey, err := NewRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := NewECKey()
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Options{
		AccessTokenTTL: 10 * time.Minute,
		Clients: []Client{
			{ID: "basic", Secret: "basic-secret"},
			{ID: "post", Secret: "post-secret", AuthMethod: ClientSecretPost},
			{ID: "jwt-rs256", AuthMethod: PrivateKeyJWT, JWKS: JWKS(rsaKey)},
			{ID: "jwt-es256", AuthMethod: PrivateKeyJWT, JWKS: JWKS(ecKey)},
		},
	})
	issuer := s.Issuer()
	if !strings.HasPrefix(issuer, "http://127.0.0.1:") || issuer == s.DirectURL() {
		t.Fatalf("issuer %s, direct %s: want the proxy's loopback URL", issuer, s.DirectURL())
	}

	t.Run("discovery", func(t *testing.T) {
		for _, p := range []string{OAuthDiscoveryPath, OpenIDDiscoveryPath} {
			r, err := post(t, http.MethodGet, issuer+p, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusOK || r.str("issuer") != issuer {
				t.Fatalf("%s: HTTP %d issuer %q", p, r.status, r.str("issuer"))
			}
			for key, path := range map[string]string{
				"token_endpoint": TokenPath, "introspection_endpoint": IntrospectionPath,
				"revocation_endpoint": RevocationPath, "registration_endpoint": RegistrationPath,
			} {
				if r.str(key) != issuer+path {
					t.Errorf("%s: %s = %q, want %q", p, key, r.str(key), issuer+path)
				}
			}
		}
	})

	t.Run("client_credentials", func(t *testing.T) {
		withResource := func(form url.Values) url.Values {
			form.Set("resource", resource)
			form.Set("scope", "mcp:tools")
			return form
		}
		cases := []struct {
			client string
			form   func() url.Values
			header http.Header
		}{
			{"basic", func() url.Values { return url.Values{} }, basic("basic", "basic-secret")},
			{"post", func() url.Values {
				return url.Values{"client_id": {"post"}, "client_secret": {"post-secret"}}
			}, nil},
			{"jwt-rs256", func() url.Values { return jwtForm(t, rsaKey, "jwt-rs256", s.TokenEndpoint()) }, nil},
			{"jwt-es256", func() url.Values { return jwtForm(t, ecKey, "jwt-es256", s.TokenEndpoint()) }, nil},
			{"jwt-rs256", func() url.Values { return jwtForm(t, rsaKey, "jwt-rs256", issuer) }, nil}, // aud = issuer
		}
		for _, c := range cases {
			tok := token(t, s, withResource(c.form()), c.header)
			in := introspect(t, s, tok)
			if !in.Active || in.ClientID != c.client || in.Audience != resource || in.Scope != "mcp:tools" || in.Issuer != issuer {
				t.Errorf("%s: introspection %+v", c.client, in)
			}
			if strings.Count(tok, ".") == 2 {
				t.Errorf("%s: the token looks like a JWT, want opaque", c.client)
			}
			lastIssued(t, s, c.client, tok)
		}

		// Without resource: an opaque token with no audience.
		tok := token(t, s, url.Values{"scope": {"mcp:admin"}}, basic("basic", "basic-secret"))
		if in := introspect(t, s, tok); !in.Active || in.Audience != "" || in.Scope != "mcp:admin" {
			t.Errorf("without resource: introspection %+v", in)
		}

		// A wrong secret and a reused assertion are refused.
		form := url.Values{"grant_type": {"client_credentials"}}
		if r, _ := post(t, http.MethodPost, s.TokenEndpoint(), form, nil, basic("basic", "wrong")); r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" {
			t.Errorf("wrong secret: HTTP %d %v", r.status, r.body)
		}
		replay := jwtForm(t, rsaKey, "jwt-rs256", s.TokenEndpoint())
		token(t, s, withResource(replay), nil)
		replay.Set("grant_type", "client_credentials")
		if r, _ := post(t, http.MethodPost, s.TokenEndpoint(), replay, nil, nil); r.status != http.StatusUnauthorized {
			t.Errorf("replayed assertion: HTTP %d %v", r.status, r.body)
		}
	})

	t.Run("revocation", func(t *testing.T) {
		tok := token(t, s, url.Values{"resource": {resource}}, basic("basic", "basic-secret"))
		if active, err := s.Introspect(tok); err != nil || !active {
			t.Fatalf("before revocation: active %v, %v", active, err)
		}
		before := requests(t, s)["revocation"]
		r, err := post(t, http.MethodPost, issuer+RevocationPath, url.Values{"token": {tok}}, nil, basic("basic", "basic-secret"))
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("revocation: HTTP %d %v %v", r.status, r.body, err)
		}
		if active, err := s.Introspect(tok); err != nil || active {
			t.Fatalf("after revocation: active %v, %v", active, err)
		}
		if got := requests(t, s)["revocation"]; got != before+1 {
			t.Errorf("revocation requests %d, want %d", got, before+1)
		}
	})

	t.Run("registration", func(t *testing.T) {
		r, err := post(t, http.MethodPost, issuer+RegistrationPath, nil, map[string]any{
			"client_name": "dynamic", "grant_types": []string{"client_credentials"},
			"token_endpoint_auth_method": ClientSecretBasic, "scope": DefaultScope,
		}, nil)
		if err != nil || r.status != http.StatusCreated {
			t.Fatalf("registration: HTTP %d %v %v", r.status, r.body, err)
		}
		id, secret := r.str("client_id"), r.str("client_secret")
		uri, rat := r.str("registration_client_uri"), r.str("registration_access_token")
		if id == "" || secret == "" || rat == "" || uri != issuer+RegistrationPath+"/"+id {
			t.Fatalf("registration response %v", r.body)
		}
		tok := token(t, s, url.Values{"resource": {resource}, "scope": {"mcp:tools mcp:admin"}}, basic(id, secret))
		lastIssued(t, s, id, tok)
		if status, err := s.ReadRegistration(uri, rat); err != nil || status != http.StatusOK {
			t.Fatalf("read: %d %v", status, err)
		}
		if status, _ := s.ReadRegistration(uri, "wrong"); status != http.StatusUnauthorized {
			t.Errorf("read with a wrong token: %d", status)
		}
		clients, err := s.Clients()
		if err != nil || !slices.Contains(clients, RegisteredClient{ClientID: id, Exists: true}) {
			t.Fatalf("Clients() = %v, %v", clients, err)
		}

		h := http.Header{"Authorization": {"Bearer " + rat}}
		if r, err := post(t, http.MethodDelete, uri, nil, nil, h); err != nil || r.status != http.StatusNoContent {
			t.Fatalf("delete: HTTP %d %v %v", r.status, r.body, err)
		}
		if status, err := s.ReadRegistration(uri, rat); err != nil || status != http.StatusUnauthorized {
			t.Fatalf("read after delete: %d %v", status, err)
		}
		clients, err = s.Clients()
		if err != nil || !slices.Contains(clients, RegisteredClient{ClientID: id, Exists: false}) {
			t.Fatalf("Clients() after delete = %v, %v", clients, err)
		}
		// The deleted client cannot get a new token...
		form := url.Values{"grant_type": {"client_credentials"}}
		if r, _ := post(t, http.MethodPost, s.TokenEndpoint(), form, nil, basic(id, secret)); r.status != http.StatusUnauthorized {
			t.Errorf("token for a deleted client: HTTP %d %v", r.status, r.body)
		}
		// ...but de-registering does not invalidate the token it already has: it stays active
		// until it expires or is revoked.
		if in := introspect(t, s, tok); !in.Active || in.ClientID != id {
			t.Errorf("token of a deleted client: introspection %+v, want active", in)
		}
	})

	t.Run("error mode", func(t *testing.T) {
		if err := s.SetMode("error"); err != nil {
			t.Fatal(err)
		}
		before := requests(t, s)["token"]
		r, err := post(t, http.MethodPost, s.TokenEndpoint(), url.Values{"grant_type": {"client_credentials"}}, nil, basic("basic", "basic-secret"))
		if err != nil || r.status != http.StatusServiceUnavailable || r.str("error") != "temporarily_unavailable" {
			t.Errorf("error mode: HTTP %d %v %v", r.status, r.body, err)
		}
		if got := requests(t, s)["token"]; got != before+1 {
			t.Errorf("token requests %d, want %d", got, before+1)
		}
		if err := s.SetMode("normal"); err != nil {
			t.Fatal(err)
		}
		token(t, s, url.Values{}, basic("basic", "basic-secret"))
		if err := s.SetMode("bogus"); err == nil {
			t.Error("SetMode(bogus) succeeded")
		}
	})

	t.Run("reachability", func(t *testing.T) {
		kept := token(t, s, url.Values{"resource": {resource}}, basic("basic", "basic-secret"))
		open, err := net.DialTimeout("tcp", strings.TrimPrefix(issuer, "http://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = open.Close() }()
		before := requests(t, s)["token"]

		if err := s.SetReachable(false); err != nil {
			t.Fatal(err)
		}
		_ = open.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := open.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("open connection after SetReachable(false): %v, want it dropped", err)
		}
		httpClient.CloseIdleConnections()
		_, err = post(t, http.MethodPost, s.TokenEndpoint(), url.Values{"grant_type": {"client_credentials"}}, nil, basic("basic", "basic-secret"))
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("token request while unreachable: %v, want connection refused", err)
		}
		if got := requests(t, s)["token"]; got != before {
			t.Errorf("token requests %d while unreachable, want %d", got, before)
		}

		if err := s.SetReachable(true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetReachable(true); err != nil { // idempotent
			t.Fatal(err)
		}
		token(t, s, url.Values{}, basic("basic", "basic-secret"))
		if active, err := s.Introspect(kept); err != nil || !active {
			t.Errorf("token issued before the outage: active %v, %v", active, err)
		}
	})

	t.Run("requests", func(t *testing.T) {
		r := requests(t, s)
		for _, k := range []string{"token", "revocation", "introspection", "registration", "discovery"} {
			if r[k] == 0 {
				t.Errorf("requests[%s] = 0: %v", k, r)
			}
		}
	})
}

func TestInitialAccessToken(t *testing.T) {
	s := startServer(t, Options{InitialAccessToken: "let-me-in"})
	body := map[string]any{"grant_types": []string{"client_credentials"}}
	for _, c := range []struct {
		header http.Header
		status int
	}{
		{nil, http.StatusUnauthorized},
		{http.Header{"Authorization": {"Bearer wrong"}}, http.StatusUnauthorized},
		{http.Header{"Authorization": {"Bearer let-me-in"}}, http.StatusCreated},
	} {
		r, err := post(t, http.MethodPost, s.Issuer()+RegistrationPath, nil, body, c.header)
		if err != nil || r.status != c.status {
			t.Errorf("registration with %v: HTTP %d %v %v, want %d", c.header, r.status, r.body, err, c.status)
		}
	}
	if clients, err := s.Clients(); err != nil || len(clients) != 1 {
		t.Errorf("Clients() = %v, %v", clients, err)
	}
	if _, err := Start(Options{Root: repoRoot(t), Dir: t.TempDir(), Addr: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "127.0.0.0/8") {
		t.Errorf("Start with a non-loopback address: %v", err)
	}
}
