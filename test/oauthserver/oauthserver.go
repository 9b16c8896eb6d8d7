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

// Package oauthserver runs a real OAuth 2.0 authorization server for tests: oidc-provider from
// npm (pinned in hack/oidc-provider, installed by `make oidc-provider` into bin/oidc-provider),
// driven by hack/oidc-provider/server.mjs. It issues opaque client_credentials access tokens
// (RFC 6749 §4.4) for a resource indicator (RFC 8707), authenticates clients with
// client_secret_basic, client_secret_post or private_key_jwt (RS256, ES256), and serves
// introspection (RFC 7662), revocation (RFC 7009), dynamic registration (RFC 7591) and its
// management (RFC 7592). Its state lives in memory and ends with the process.
//
// A TCP proxy on its own loopback port sits in front of node, and the issuer is the proxy's URL,
// so SetReachable can make the authorization server unreachable (connections refused, open ones
// dropped) and reachable again on the same URL with its state kept. The helpers that read the
// server's state (IssuedTokens, Clients, Requests, Introspect) talk to node directly, so they work
// whatever SetReachable says. Everything binds to 127.0.0.0/8 only.
package oauthserver

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
)

// Endpoint paths below the issuer URL (oidc-provider's defaults).
const (
	TokenPath         = "/token"
	IntrospectionPath = "/token/introspection"
	RevocationPath    = "/token/revocation"
	RegistrationPath  = "/reg"
	JWKSPath          = "/jwks"
	// Both discovery documents are served, with the same content.
	OAuthDiscoveryPath  = "/.well-known/oauth-authorization-server"
	OpenIDDiscoveryPath = "/.well-known/openid-configuration"
)

// Authentication methods at the token endpoint.
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
	PrivateKeyJWT     = "private_key_jwt"
)

// DefaultScope is what every resource server grants, and the scope of a Client without one.
const DefaultScope = "mcp:tools mcp:admin"

// IntrospectorID is the client_id of the introspection client Start registers.
const IntrospectorID = "introspector"

// readyTimeout bounds the wait for node to print its ready line.
const readyTimeout = 30 * time.Second

// Client is a pre-registered client, allowed the client_credentials grant only.
type Client struct {
	ID string
	// Secret is required for client_secret_basic and client_secret_post, unused by private_key_jwt.
	Secret string
	// AuthMethod is ClientSecretBasic (the default), ClientSecretPost or PrivateKeyJWT.
	AuthMethod string
	// JWKS is the client's public key set ({"keys": [...]}, see JWKS) for PrivateKeyJWT.
	JWKS json.RawMessage
	// Scope is the space-separated scopes the client may request (default DefaultScope).
	Scope string
}

// Key is a private_key_jwt signing key: RS256 (RSA 2048) or ES256 (P-256).
type Key struct {
	// Alg is the JWS algorithm, "RS256" or "ES256".
	Alg string
	// KID is the RFC 7638 JWK thumbprint of the public key, also the JWK's kid.
	KID string
	// Private signs: *rsa.PrivateKey or *ecdsa.PrivateKey.
	Private crypto.Signer
	// PKCS8PEM is the private key as a PEM "PRIVATE KEY" block (PKCS #8).
	PKCS8PEM []byte
	// TraditionalPEM is the private key in its algorithm's own PEM form: "RSA PRIVATE KEY"
	// (PKCS #1) or "EC PRIVATE KEY" (SEC 1).
	TraditionalPEM []byte
	// PublicJWK is the public key as a JWK with kid, alg and use "sig".
	PublicJWK json.RawMessage
}

// NewRSAKey generates an RS256 key (RSA 2048).
func NewRSAKey() (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	n, e := b64(priv.N.Bytes()), b64(bigEndian(priv.E))
	// RFC 7638: the required members in lexicographic order, no whitespace.
	thumbprint := fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, e, n)
	return newKey("RS256", priv, x509.MarshalPKCS1PrivateKey(priv), "RSA PRIVATE KEY", thumbprint,
		map[string]string{"kty": "RSA", "n": n, "e": e})
}

// NewECKey generates an ES256 key (P-256).
func NewECKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	point := pub.Bytes() // 0x04 || X || Y, 32 bytes each
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(point[1:33]), b64(point[33:65])
	sec1, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	thumbprint := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, x, y)
	return newKey("ES256", priv, sec1, "EC PRIVATE KEY", thumbprint,
		map[string]string{"kty": "EC", "crv": "P-256", "x": x, "y": y})
}

func newKey(alg string, priv crypto.Signer, traditional []byte, traditionalType, thumbprint string, jwk map[string]string) (*Key, error) {
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(thumbprint))
	kid := base64.RawURLEncoding.EncodeToString(sum[:])
	jwk["kid"], jwk["alg"], jwk["use"] = kid, alg, "sig"
	public, err := json.Marshal(jwk)
	if err != nil {
		return nil, err
	}
	return &Key{
		Alg: alg, KID: kid, Private: priv,
		PKCS8PEM:       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		TraditionalPEM: pem.EncodeToMemory(&pem.Block{Type: traditionalType, Bytes: traditional}),
		PublicJWK:      public,
	}, nil
}

// bigEndian is e as a minimal big-endian byte string.
func bigEndian(e int) []byte {
	var out []byte
	for ; e > 0; e >>= 8 {
		out = append([]byte{byte(e)}, out...)
	}
	return out
}

// JWKS is the public key set {"keys": [...]} of keys, for Client.JWKS.
func JWKS(keys ...*Key) json.RawMessage {
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.PublicJWK)
	}
	data, _ := json.Marshal(set)
	return data
}

// Options configure Start.
type Options struct {
	// Root is the repository root: the script is Root/hack/oidc-provider/server.mjs and the
	// package Root/bin/oidc-provider/node_modules/oidc-provider.
	Root string
	// Dir receives the log (oidc-provider-<port>.log) and the clients file; it must exist.
	Dir string
	// Clients are registered at start, besides the introspection client.
	Clients []Client
	// InitialAccessToken, when set, is the Bearer token dynamic registration requires.
	InitialAccessToken string
	// AccessTokenTTL is the lifetime of access tokens (default one hour; whole seconds, at least 1).
	AccessTokenTTL time.Duration
	// DefaultResource, when set, is the resource indicator assumed by a token request that names
	// none; otherwise such a request gets an opaque token with no audience.
	DefaultResource string
	// Addr is the proxy's listen address, the issuer's host and port (default "127.0.0.1:0": a
	// free port). It must be a 127.0.0.0/8 address.
	Addr string
}

// RegisteredClient is a dynamically registered client, as Clients reports it.
type RegisteredClient struct {
	ClientID string `json:"client_id"`
	// Exists is false once the client was deleted (RFC 7592).
	Exists bool `json:"exists"`
}

// Introspection is the part of an RFC 7662 response the tests look at.
type Introspection struct {
	Active   bool   `json:"active"`
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Audience string `json:"aud,omitempty"`
	Expiry   int64  `json:"exp,omitempty"`
	Issuer   string `json:"iss,omitempty"`
}

// Server is a running authorization server.
type Server struct {
	proc               *localcluster.Process
	proxy              *proxy
	backend            string // http://127.0.0.1:<node port>
	logPath            string
	clientsFile        string
	introspectorSecret string
	http               *http.Client
	closeOnce          sync.Once
	closeErr           error
}

// Installed reports, as an error naming `make oidc-provider`, whether the oidc-provider package is
// missing from root/bin/oidc-provider/node_modules.
func Installed(root string) error {
	pkg := filepath.Join(modulesDir(root), "oidc-provider", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return fmt.Errorf("oidc-provider is not installed (%s is missing): run 'make oidc-provider'", pkg)
	}
	return nil
}

func modulesDir(root string) string {
	return filepath.Join(root, "bin", "oidc-provider", "node_modules")
}

// ScriptPath is the authorization server program below root.
func ScriptPath(root string) string {
	return filepath.Join(root, "hack", "oidc-provider", "server.mjs")
}

// Start starts node with hack/oidc-provider/server.mjs behind a loopback TCP proxy and waits until
// it listens. The node process dies with the test binary (parent-death signal); Close stops it.
func Start(opts Options) (_ *Server, err error) {
	if opts.Root == "" || opts.Dir == "" {
		return nil, errors.New("oauthserver: Options.Root and Options.Dir are required")
	}
	if err := Installed(opts.Root); err != nil {
		return nil, err
	}
	script := ScriptPath(opts.Root)
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("oauthserver: %w", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("oauthserver: node is not on PATH: oidc-provider needs Node.js 20 or later")
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := requireLoopback(addr); err != nil {
		return nil, err
	}
	ttl := opts.AccessTokenTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	if ttl < time.Second {
		return nil, fmt.Errorf("oauthserver: AccessTokenTTL %s is under a second", ttl)
	}

	s := &Server{http: &http.Client{Timeout: 10 * time.Second}}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	secret := make([]byte, 24)
	_, _ = rand.Read(secret)
	s.introspectorSecret = hex.EncodeToString(secret)

	s.proxy, err = newProxy(addr)
	if err != nil {
		return nil, err
	}
	issuer := "http://" + s.proxy.addr

	if s.clientsFile, err = writeClients(opts.Dir, opts.Clients, s.introspectorSecret); err != nil {
		return nil, err
	}
	s.logPath = filepath.Join(opts.Dir, "oidc-provider-"+portOf(s.proxy.addr)+".log")
	env := []string{
		"PORT=0",
		"HOST=127.0.0.1",
		"ISSUER=" + issuer,
		"CLIENTS_FILE=" + s.clientsFile,
		"OIDC_PROVIDER_MODULES=" + modulesDir(opts.Root),
		"ACCESS_TOKEN_TTL=" + strconv.Itoa(int(ttl/time.Second)),
		"INITIAL_ACCESS_TOKEN=" + opts.InitialAccessToken,
		"DEFAULT_RESOURCE=" + opts.DefaultResource,
	}
	var offset int64
	if fi, err := os.Stat(s.logPath); err == nil {
		offset = fi.Size()
	}
	s.proc, err = localcluster.StartProcess(node, []string{script}, env, s.logPath)
	if err != nil {
		return nil, fmt.Errorf("oauthserver: cannot start node: %w", err)
	}
	port, err := s.waitReady(offset, issuer)
	if err != nil {
		return nil, err
	}
	s.backend = "http://127.0.0.1:" + port
	s.proxy.backend = "127.0.0.1:" + port
	if err := s.proxy.setReachable(true); err != nil {
		return nil, err
	}
	return s, nil
}

var readyLine = regexp.MustCompile(`(?m)^oidc-provider ready on http://127\.0\.0\.1:(\d+) issuer (\S+)$`)

// waitReady waits for the ready line node prints after offset in the log and returns node's port.
func (s *Server) waitReady(offset int64, issuer string) (string, error) {
	deadline := time.Now().Add(readyTimeout)
	for {
		data, _ := os.ReadFile(s.logPath)
		if int64(len(data)) >= offset {
			if m := readyLine.FindSubmatch(data[offset:]); m != nil {
				if string(m[2]) != issuer {
					return "", fmt.Errorf("oauthserver: issuer %s, want %s", m[2], issuer)
				}
				return string(m[1]), nil
			}
		}
		if s.proc.Exited() {
			return "", fmt.Errorf("oauthserver: node exited with code %d before it was ready; %s", s.proc.ExitCode(), s.logTail())
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("oauthserver: not ready after %s; %s", readyTimeout, s.logTail())
		}
		select {
		case <-s.proc.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail is the end of the log, for error messages.
func (s *Server) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("no log (%v)", err)
	}
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return fmt.Sprintf("log %s ends with:\n%s", s.logPath, data)
}

// clientMetadata is the oidc-provider client metadata written to the clients file.
type clientMetadata struct {
	ClientID                string          `json:"client_id"`
	ClientSecret            string          `json:"client_secret,omitempty"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	RedirectURIs            []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	Scope                   string          `json:"scope,omitempty"`
}

func writeClients(dir string, clients []Client, introspectorSecret string) (string, error) {
	all := []clientMetadata{{
		ClientID: IntrospectorID, ClientSecret: introspectorSecret, GrantTypes: []string{},
		ResponseTypes: []string{}, RedirectURIs: []string{}, TokenEndpointAuthMethod: ClientSecretBasic,
	}}
	for _, c := range clients {
		if c.ID == "" || c.ID == IntrospectorID {
			return "", fmt.Errorf("oauthserver: invalid client id %q", c.ID)
		}
		m := clientMetadata{
			ClientID: c.ID, GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{},
			RedirectURIs: []string{}, TokenEndpointAuthMethod: c.AuthMethod, Scope: c.Scope,
		}
		if m.TokenEndpointAuthMethod == "" {
			m.TokenEndpointAuthMethod = ClientSecretBasic
		}
		if m.Scope == "" {
			m.Scope = DefaultScope
		}
		switch m.TokenEndpointAuthMethod {
		case ClientSecretBasic, ClientSecretPost:
			if c.Secret == "" {
				return "", fmt.Errorf("oauthserver: client %s: %s needs a secret", c.ID, m.TokenEndpointAuthMethod)
			}
			m.ClientSecret = c.Secret
		case PrivateKeyJWT:
			if len(c.JWKS) == 0 {
				return "", fmt.Errorf("oauthserver: client %s: private_key_jwt needs a JWKS", c.ID)
			}
			m.JWKS = c.JWKS
		default:
			return "", fmt.Errorf("oauthserver: client %s: unsupported auth method %q", c.ID, m.TokenEndpointAuthMethod)
		}
		all = append(all, m)
	}
	data, err := json.Marshal(all)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "oidc-clients-*.json")
	if err != nil {
		return "", fmt.Errorf("oauthserver: %w", err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("oauthserver: %w", err)
	}
	return f.Name(), f.Close()
}

// Issuer is the issuer URL (the proxy's), e.g. http://127.0.0.1:40000; the endpoints are below it.
func (s *Server) Issuer() string { return "http://" + s.proxy.addr }

// TokenEndpoint is Issuer()+TokenPath.
func (s *Server) TokenEndpoint() string { return s.Issuer() + TokenPath }

// DirectURL is node's own address, which SetReachable does not affect: a protected resource that
// must keep introspecting while the issuer is unreachable can use DirectURL()+IntrospectionPath.
// Discovery documents fetched there name endpoints on it, not on the issuer.
func (s *Server) DirectURL() string { return s.backend }

// LogPath is node's log (requests, errors; never secrets or token values).
func (s *Server) LogPath() string { return s.logPath }

// IntrospectionClient is the client the protected resource uses at IntrospectionPath, with
// client_secret_basic.
func (s *Server) IntrospectionClient() (id, secret string) {
	return IntrospectorID, s.introspectorSecret
}

// SetReachable(false) closes the issuer's listening socket (connections are refused) and drops
// every open connection; SetReachable(true) listens again on the same port. node and its state are
// untouched.
func (s *Server) SetReachable(reachable bool) error { return s.proxy.setReachable(reachable) }

// SetMode sets "normal", or "error": every request but /test/ then answers 503
// {"error":"temporarily_unavailable"}.
func (s *Server) SetMode(mode string) error {
	body, _ := json.Marshal(map[string]string{"mode": mode})
	return s.testCall(http.MethodPost, "/test/mode", bytes.NewReader(body), nil)
}

// IssuedTokens lists every access token value issued to clientID by client_credentials, oldest
// first: exactly the access_token strings the token endpoint returned.
func (s *Server) IssuedTokens(clientID string) ([]string, error) {
	var out struct {
		Tokens []string `json:"tokens"`
	}
	err := s.testCall(http.MethodGet, "/test/tokens?client_id="+url.QueryEscape(clientID), nil, &out)
	return out.Tokens, err
}

// Clients lists the dynamically registered clients, in registration order.
func (s *Server) Clients() ([]RegisteredClient, error) {
	var out struct {
		Clients []RegisteredClient `json:"clients"`
	}
	err := s.testCall(http.MethodGet, "/test/clients", nil, &out)
	return out.Clients, err
}

// Requests counts the requests node received per endpoint since it started: "token",
// "revocation", "introspection", "registration" (RFC 7591 and 7592), "discovery", "jwks",
// "other". Requests made while SetReachable(false) never reach node; those answered 503 in error
// mode count. Introspect's own requests count under "introspection".
func (s *Server) Requests() (map[string]int, error) {
	var out struct {
		Requests map[string]int `json:"requests"`
	}
	err := s.testCall(http.MethodGet, "/test/requests", nil, &out)
	return out.Requests, err
}

// Introspect reports whether token is active (RFC 7662), asking node directly as the
// introspection client.
func (s *Server) Introspect(token string) (bool, error) {
	in, err := s.Introspection(token)
	return in.Active, err
}

// Introspection is the RFC 7662 response for token, asked of node directly.
func (s *Server) Introspection(token string) (Introspection, error) {
	var in Introspection
	req, err := http.NewRequest(http.MethodPost, s.backend+IntrospectionPath,
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return in, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(IntrospectorID), url.QueryEscape(s.introspectorSecret))
	resp, err := s.http.Do(req)
	if err != nil {
		return in, fmt.Errorf("oauthserver: introspection: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return in, fmt.Errorf("oauthserver: introspection: HTTP %d: %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return in, fmt.Errorf("oauthserver: introspection: %w", err)
	}
	return in, nil
}

// ReadRegistration reads a client's registration (RFC 7592 GET on its registration_client_uri
// with its registration_access_token) and returns the HTTP status: 200 while it exists, 401 once
// deleted.
func (s *Server) ReadRegistration(uri, registrationAccessToken string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, uri, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+registrationAccessToken)
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// testCall calls a /test/ endpoint on node and decodes its JSON answer into out (when not nil).
func (s *Server) testCall(method, path string, body io.Reader, out any) error {
	req, err := http.NewRequest(method, s.backend+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("oauthserver: %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oauthserver: %s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("oauthserver: %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Close stops the proxy and node and removes the clients file (it holds secrets). The log stays.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.proxy != nil {
			_ = s.proxy.setReachable(false)
		}
		if s.proc != nil {
			s.closeErr = s.proc.Stop(5 * time.Second)
		}
		if s.clientsFile != "" {
			_ = os.Remove(s.clientsFile)
		}
		s.http.CloseIdleConnections()
	})
	return s.closeErr
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("oauthserver: address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return fmt.Errorf("oauthserver: address %q is not a 127.0.0.0/8 address", addr)
	}
	return nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// proxy forwards TCP connections from its loopback address to node, and can stop doing so.
type proxy struct {
	addr    string // fixed once the first listen picked the port
	backend string // node's host:port, set before the proxy is first made reachable

	mu     sync.Mutex
	ln     net.Listener // nil while unreachable
	gen    int          // incremented whenever ln changes: connections of an older listener are refused
	served int          // the gen whose accept loop runs
	conns  map[net.Conn]struct{}
}

// newProxy reserves the proxy's port. Connections wait in the backlog until setReachable(true).
func newProxy(addr string) (*proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oauthserver: cannot listen on %s: %w", addr, err)
	}
	return &proxy{addr: ln.Addr().String(), ln: ln, gen: 1, conns: map[net.Conn]struct{}{}}, nil
}

func (p *proxy) setReachable(reachable bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !reachable {
		if p.ln != nil {
			_ = p.ln.Close()
			p.ln = nil
			p.gen++
		}
		for c := range p.conns {
			_ = c.Close()
			delete(p.conns, c)
		}
		return nil
	}
	if p.ln == nil {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("oauthserver: cannot listen on %s again: %w", p.addr, err)
		}
		p.ln = ln
		p.gen++
	}
	if p.served != p.gen {
		p.served = p.gen
		go p.serve(p.ln, p.gen)
	}
	return nil
}

// serve accepts connections until ln is closed.
func (p *proxy) serve(ln net.Listener, gen int) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		go p.forward(c, gen)
	}
}

// forward copies between c and a new connection to node until either side closes, or until
// setReachable(false) closes both.
func (p *proxy) forward(c net.Conn, gen int) {
	if !p.track(c, gen) {
		return
	}
	defer p.untrack(c)
	b, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(b, gen) {
		return
	}
	defer p.untrack(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(b, c)
		if tc, ok := b.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, _ = io.Copy(c, b)
	_ = c.Close()
	_ = b.Close()
	<-done
}

// track records conn, or closes it and returns false when the proxy stopped since gen.
func (p *proxy) track(conn net.Conn, gen int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen != gen || p.ln == nil {
		_ = conn.Close()
		return false
	}
	p.conns[conn] = struct{}{}
	return true
}

func (p *proxy) untrack(conn net.Conn) {
	p.mu.Lock()
	delete(p.conns, conn)
	p.mu.Unlock()
	_ = conn.Close()
}
