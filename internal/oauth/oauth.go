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

// Package oauth gives the operator OAuth 2.0 access to MCP servers, as the MCP authorization
// specification (2025-11-25, 2026-07-28) and its io.modelcontextprotocol/oauth-client-credentials
// extension describe it for machines: the authorization server is discovered (RFC 9728, RFC 8414,
// OpenID Connect Discovery) or named; the client is pre-registered (client_secret_basic,
// client_secret_post, private_key_jwt per RFC 7523) or registered dynamically (RFC 7591); tokens
// come from the client credentials grant with a resource indicator (RFC 8707), are reused until
// shortly before they expire, and every one that may still be valid is recorded so that it can
// be revoked (RFC 7009) when the MCPServer is deleted, also by a manager that did not obtain it.
// A dynamic client is de-registered (RFC 7592) after its tokens are revoked: de-registering does
// not invalidate tokens already issued.
//
// Every request leaves through the egress: the endpoint policy checks each dial, credentials go
// only to the origin they are meant for, no redirect leaves a host. A resource_metadata URL that
// a hostile MCP server names is read through the same egress, never with credentials.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/toolregistry/mcp-registry-operator/internal/egress"
)

// Store keeps one MCPServer's State: the Secret the operator owns for it.
type Store interface {
	// Load returns the recorded state, nil when there is none.
	Load(ctx context.Context) (*State, error)
	// Save records the state; it fails rather than overwrite a state saved since Load.
	Save(ctx context.Context, state *State) error
}

// Manager obtains, renews and revokes tokens. It keeps nothing in memory: the Store is the
// record, so a restarted manager, or another replica, carries on where this one stopped.
type Manager struct {
	Egress *egress.Egress
	Clock  clock.PassiveClock
}

// Request is what one MCPServer asks for.
type Request struct {
	// Endpoint is the MCP endpoint.
	Endpoint *url.URL
	// Resource is the RFC 8707 resource indicator (the endpoint's canonical URL by default).
	Resource string
	// IssuerURL names the authorization server; empty: discovered.
	IssuerURL string
	// Scopes requested; empty: those the resource asks for.
	Scopes []string
	// Client is a pre-registered client; nil registers one dynamically (ClientName,
	// InitialAccessToken).
	Client             *Credentials
	ClientName         string
	InitialAccessToken string
	// Timeout bounds each request.
	Timeout time.Duration
	// TLS verifies the MCP endpoint's own origin (spec.tls); nil: the system roots.
	TLS *EndpointTLS
	// Refused is a token the MCP server just refused: it is not used again, and a new one is
	// obtained after discovering the authorization server afresh.
	Refused string
}

// Grant is a token to use, and what status may show of it.
type Grant struct {
	AccessToken string
	Issuer      string
	ClientID    string
	ExpiresAt   time.Time
}

// Outcome is what a Token call did on the way, for events.
type Outcome struct {
	// Registered is the client id registered dynamically during this call, if any.
	Registered string
	// Abandoned describes, without secrets, what an authorization server the MCPServer moved
	// away from (issuerURL changed) could not revoke.
	Abandoned string
}

func (m *Manager) now() time.Time {
	if m.Clock == nil {
		return time.Now()
	}
	return m.Clock.Now()
}

func (m *Manager) transport(timeout time.Duration) *transport {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &transport{egress: m.Egress, timeout: timeout}
}

// Token returns an access token for req, reusing a recorded one that is not close to expiry.
func (m *Manager) Token(ctx context.Context, store Store, req Request) (*Grant, Outcome, error) {
	var out Outcome
	if m.Egress == nil {
		return nil, out, errors.New("oauth.Manager has no Egress")
	}
	st, err := store.Load(ctx)
	if err != nil {
		return nil, out, err
	}
	fresh := st == nil
	if fresh {
		st = &State{}
	}
	t := m.transport(req.Timeout)
	t.tls = req.TLS
	now := m.now()
	dirty := false

	if req.Refused != "" {
		for i := range st.Tokens {
			if st.Tokens[i].Value == req.Refused && !st.Tokens[i].Refused {
				st.Tokens[i].Refused = true
				dirty = true
			}
		}
	}

	// The authorization server: discovered once, again when the endpoint or issuer changes or
	// the MCP server refused a token.
	endpoint := req.Endpoint.String()
	var authMethods []string // what a client registered now may use
	mustRegister := req.Client == nil && !st.registered()
	issuerChanged := req.IssuerURL != "" && strings.TrimSuffix(st.Issuer, "/") != strings.TrimSuffix(req.IssuerURL, "/")
	if st.TokenEndpoint == "" || st.Endpoint != endpoint || issuerChanged || req.Refused != "" || mustRegister {
		d, err := t.discover(ctx, req.Endpoint, req.IssuerURL)
		if err != nil {
			return nil, out, m.saveWith(ctx, store, st, dirty, err)
		}
		if st.Issuer != "" && st.Issuer != d.server.Issuer && st.ClientID != "" {
			if req.IssuerURL == "" {
				// Discovered anew, the MCP server names another authorization server. The
				// client's credentials never go to a new one on the MCP server's word alone.
				return nil, out, m.saveWith(ctx, store, st, dirty, &Error{Kind: KindDiscovery, Err: fmt.Errorf(
					"the MCP server now names authorization server %s, not %s, which client %q was used with; the operator sends no credentials to another authorization server on the MCP server's word: set spec.auth.oauth2.issuerURL to %s to move",
					redactString(d.server.Issuer), redactString(st.Issuer), st.ClientID, redactString(d.server.Issuer))})
			}
			// Moved on purpose (issuerURL): what the old server issued is revoked there first,
			// best effort, and a dynamic client is registered anew.
			out.Abandoned = m.releaseAll(ctx, t, st, now)
		}
		st.Issuer, st.TokenEndpoint = d.server.Issuer, d.server.TokenEndpoint
		st.RevocationEndpoint, st.RegistrationEndpoint = d.server.RevocationEndpoint, d.server.RegistrationEndpoint
		st.Endpoint, st.DiscoveredScopes = endpoint, d.scopes
		dirty = true
		if req.Client == nil && !st.registered() {
			st.Method = "" // chosen at registration
		}
		authMethods = d.server.TokenEndpointAuthMethodsSupported
	}
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = st.DiscoveredScopes
	}

	// The client.
	var creds *Credentials
	if req.Client != nil {
		creds = req.Client
		source := SourceSecret
		if creds.Method == MethodPrivateKeyJWT {
			source = SourcePrivateKey
		}
		if st.ClientID != "" && (st.ClientID != creds.ClientID || st.Source != source) {
			// Another client than the one recorded: what the old one holds is released while
			// its credentials are still known, before the new one is used.
			if err := m.switchClient(ctx, t, st, now, strconv.Quote(creds.ClientID)); err != nil {
				return nil, out, err
			}
		}
		if st.Source != source || st.ClientID != creds.ClientID || st.ClientSecret != creds.ClientSecret ||
			st.Method != creds.method() || string(st.KeyPEM) != string(creds.KeyPEM) || st.KeyID != keyID(creds) {
			st.Source, st.ClientID, st.ClientSecret, st.Method = source, creds.ClientID, creds.ClientSecret, creds.method()
			st.KeyPEM, st.KeyID = creds.KeyPEM, keyID(creds)
			st.RegistrationAccessToken, st.RegistrationClientURI = "", ""
			dirty = true
		}
	} else {
		if st.Source != SourceDynamic && st.ClientID != "" {
			if err := m.switchClient(ctx, t, st, now, "(a dynamically registered one)"); err != nil {
				return nil, out, err
			}
		}
		if !st.registered() {
			if fresh {
				// Recorded before registering: a client registered but never recorded could
				// never be de-registered.
				if err := store.Save(ctx, st); err != nil {
					return nil, out, fmt.Errorf("cannot record the OAuth state before registering a client: %w", err)
				}
				dirty = false
			}
			meta := &ServerMetadata{Issuer: st.Issuer, TokenEndpoint: st.TokenEndpoint, RegistrationEndpoint: st.RegistrationEndpoint,
				TokenEndpointAuthMethodsSupported: authMethods}
			reg, err := t.register(ctx, meta, req.ClientName, req.InitialAccessToken, scopes)
			if reg != nil && reg.ClientID != "" {
				// Recorded even when unusable: it exists at the authorization server, and is
				// de-registered on delete.
				st.Source, st.ClientID, st.ClientSecret, st.Method = SourceDynamic, reg.ClientID, reg.ClientSecret, reg.Method
				st.RegistrationAccessToken, st.RegistrationClientURI = reg.AccessToken, reg.ClientURI
				st.KeyPEM, st.KeyID = nil, ""
				dirty = true
				out.Registered = reg.ClientID
				if saveErr := store.Save(ctx, st); saveErr != nil {
					// Not recorded, so not de-registrable later: de-registered now.
					_ = t.deregister(ctx, reg)
					return nil, out, fmt.Errorf("registered client %q at %s but cannot record it (de-registered it again): %w", reg.ClientID, redactString(st.RegistrationEndpoint), saveErr)
				}
				dirty = false
			}
			if err != nil {
				return nil, out, m.saveWith(ctx, store, st, dirty, err)
			}
		}
		var err error
		if creds, err = st.credentials(); err != nil {
			return nil, out, m.saveWith(ctx, store, st, dirty, &Error{Kind: KindRegistration, Err: err})
		}
	}

	resource := req.Resource
	scope := strings.Join(scopes, " ")
	if tok := usable(st, creds.ClientID, resource, scope, now, t.timeout); tok != nil {
		if err := m.saveWith(ctx, store, st, dirty, nil); err != nil {
			return nil, out, err
		}
		return grant(st, tok), out, nil
	}

	meta := &ServerMetadata{Issuer: st.Issuer, TokenEndpoint: st.TokenEndpoint}
	tok, err := t.requestToken(ctx, meta, creds, scopes, resource, now)
	if err != nil {
		return nil, out, m.saveWith(ctx, store, st, dirty, err)
	}
	issued := IssuedToken{Value: tok.AccessToken, Hint: "access_token", ClientID: creds.ClientID, Resource: resource, Scope: scope, IssuedAt: now}
	if !tok.ExpiresAt.IsZero() {
		issued.ExpiresAt = &tok.ExpiresAt
	}
	superseded := accessTokensOf(st, creds.ClientID)
	st.Tokens = append(st.Tokens, issued)
	if tok.RefreshToken != "" {
		st.Tokens = append(st.Tokens, IssuedToken{Value: tok.RefreshToken, Hint: "refresh_token", ClientID: creds.ClientID, IssuedAt: now})
	}
	overflow := st.prune(now)
	if err := store.Save(ctx, st); err != nil {
		// Not recorded, so not revocable later: revoked now.
		if st.RevocationEndpoint != "" {
			_ = t.revoke(ctx, st.RevocationEndpoint, st.Issuer, creds, tok.AccessToken, "access_token", now)
			if tok.RefreshToken != "" {
				_ = t.revoke(ctx, st.RevocationEndpoint, st.Issuer, creds, tok.RefreshToken, "refresh_token", now)
			}
		}
		return nil, out, fmt.Errorf("cannot record the new token: %w", err)
	}
	// Tokens replaced by this one, or beyond the bound, are revoked now (best effort: those that
	// fail stay recorded and are revoked on delete).
	revoked := m.revokeBestEffort(ctx, t, st, creds, append(superseded, overflow...), now)
	st.remove(revoked)
	if capped := st.cap(); len(revoked) > 0 || capped {
		_ = store.Save(ctx, st) // the tokens are revoked: a failure here only leaves them listed
	}
	return grant(st, &issued), out, nil
}

func keyID(c *Credentials) string {
	if c.Key == nil {
		return ""
	}
	return c.Key.keyID
}

func grant(st *State, t *IssuedToken) *Grant {
	g := &Grant{AccessToken: t.Value, Issuer: st.Issuer, ClientID: st.ClientID}
	if t.ExpiresAt != nil {
		g.ExpiresAt = *t.ExpiresAt
	}
	return g
}

// saveWith saves the state when dirty and returns cause (or the save's error when there is no
// cause).
func (m *Manager) saveWith(ctx context.Context, store Store, st *State, dirty bool, cause error) error {
	if !dirty {
		return cause
	}
	if err := store.Save(ctx, st); err != nil {
		if cause != nil {
			return errors.Join(cause, fmt.Errorf("cannot record the OAuth state: %w", err))
		}
		return fmt.Errorf("cannot record the OAuth state: %w", err)
	}
	return cause
}

// usable is the newest recorded access token for this client, resource and scope that the MCP
// server has not refused and that is not close to expiry.
func usable(st *State, clientID, resource, scope string, now time.Time, timeout time.Duration) *IssuedToken {
	for i := len(st.Tokens) - 1; i >= 0; i-- {
		t := &st.Tokens[i]
		if t.Hint != "access_token" || t.Refused || t.ClientID != clientID || t.Resource != resource || t.Scope != scope {
			continue
		}
		if t.ExpiresAt == nil {
			return t
		}
		lifetime := t.ExpiresAt.Sub(t.IssuedAt)
		margin := min(max(2*timeout, lifetime/10), lifetime/2)
		if now.Add(margin).Before(*t.ExpiresAt) {
			return t
		}
	}
	return nil
}

// accessTokensOf are the recorded access tokens of the client, which a new token replaces.
func accessTokensOf(st *State, clientID string) []IssuedToken {
	var out []IssuedToken
	for _, t := range st.Tokens {
		if t.Hint == "access_token" && t.ClientID == clientID {
			out = append(out, t)
		}
	}
	return out
}

// revokeBestEffort revokes tokens and returns the values revoked.
func (m *Manager) revokeBestEffort(ctx context.Context, t *transport, st *State, creds *Credentials, tokens []IssuedToken, now time.Time) map[string]bool {
	revoked := map[string]bool{}
	if st.RevocationEndpoint == "" {
		return revoked
	}
	for _, tok := range tokens {
		if t.revoke(ctx, st.RevocationEndpoint, st.Issuer, creds, tok.Value, tok.Hint, now) == nil {
			revoked[tok.Value] = true
		}
	}
	return revoked
}

// switchClient releases the recorded client before another is used; while the authorization
// server cannot revoke what it holds, the switch waits (a transient error), so that nothing it
// issued is forgotten.
func (m *Manager) switchClient(ctx context.Context, t *transport, st *State, now time.Time, next string) error {
	old := st.ClientID
	saved := *st
	saved.Tokens = append([]IssuedToken(nil), st.Tokens...)
	if left := m.releaseAll(ctx, t, st, now); left != "" {
		*st = saved
		return transientError(KindAuthentication, fmt.Errorf(
			"the client changed from %q to %s, and what the old one holds cannot be revoked yet (%s): the new client is used once it is", old, next, left))
	}
	return nil
}

// releaseAll revokes what the recorded client holds and de-registers a dynamic client, then
// forgets them: used when the MCPServer moves to another client or authorization server, whose
// credentials cannot revoke the old ones. It returns, without secrets, what it could not release
// ("" when everything went).
func (m *Manager) releaseAll(ctx context.Context, t *transport, st *State, now time.Time) string {
	live := st.live(now)
	var left []IssuedToken
	if creds, err := st.credentials(); err == nil && st.RevocationEndpoint != "" {
		revoked := m.revokeBestEffort(ctx, t, st, creds, live, now)
		for _, tok := range live {
			if !revoked[tok.Value] {
				left = append(left, tok)
			}
		}
	} else {
		left = live
	}
	var parts []string
	if len(left) > 0 {
		parts = append(parts, describeTokens(left, now)+" issued by "+st.Issuer)
	}
	if st.registered() && st.RegistrationAccessToken != "" {
		err := t.deregister(ctx, &Registration{ClientID: st.ClientID, AccessToken: st.RegistrationAccessToken, ClientURI: st.RegistrationClientURI})
		if err != nil && !errors.Is(err, errAlreadyGone) {
			parts = append(parts, fmt.Sprintf("client %q not de-registered at %s", st.ClientID, redactString(st.RegistrationClientURI)))
		}
	}
	st.Tokens = nil
	st.Source, st.ClientID, st.ClientSecret, st.Method, st.KeyPEM, st.KeyID = "", "", "", "", nil, ""
	st.RegistrationAccessToken, st.RegistrationClientURI = "", ""
	return strings.Join(parts, "; ")
}

// Report says what a revocation did, or would have to do.
type Report struct {
	// Revoked is the number of tokens revoked; RevocationEndpoint where.
	Revoked            int
	RevocationEndpoint string
	// Deregistered is the dynamic client de-registered, if any.
	Deregistered string
	// Unrevocable describes tokens that could not be revoked because the authorization server
	// offers no revocation endpoint (they stay valid until they expire).
	Unrevocable string
	// Remaining describes, after a failure, what is not revoked yet: no token values.
	Remaining string
}

// Revoke revokes every recorded token that may still be valid and then de-registers a dynamic
// client, recording progress as it goes. Safe to repeat: a token revoked twice is fine, and a
// client already gone counts as de-registered.
func (m *Manager) Revoke(ctx context.Context, store Store, timeout time.Duration) (Report, error) {
	var rep Report
	st, err := store.Load(ctx)
	if err != nil || st == nil {
		return rep, err
	}
	t := m.transport(timeout)
	now := m.now()
	live := st.live(now)
	rep.RevocationEndpoint = st.RevocationEndpoint
	if len(live) > 0 {
		if st.RevocationEndpoint == "" {
			rep.Unrevocable = describeTokens(live, now) + fmt.Sprintf(": the authorization server %s offers no revocation endpoint", st.Issuer)
		} else {
			creds, err := st.credentials()
			if err != nil {
				rep.Remaining = remaining(st, live, now)
				return rep, &Error{Kind: KindAuthentication, Err: err}
			}
			revoked := map[string]bool{}
			var refused []IssuedToken
			for _, tok := range live {
				err := t.revoke(ctx, st.RevocationEndpoint, st.Issuer, creds, tok.Value, tok.Hint, now)
				if errors.Is(err, errUnrevocable) {
					refused = append(refused, tok) // said so, once: retrying will not change it
					revoked[tok.Value] = true
					continue
				}
				if err != nil {
					st.remove(revoked)
					rep.Revoked = len(revoked)
					_ = m.saveWith(ctx, store, st, len(revoked) > 0, nil)
					rep.Remaining = remaining(st, st.live(now), now)
					return rep, fmt.Errorf("revoking credentials at %s: %w", redactString(st.RevocationEndpoint), err)
				}
				revoked[tok.Value] = true
			}
			rep.Revoked = len(revoked) - len(refused)
			if len(refused) > 0 {
				rep.Unrevocable = describeTokens(refused, now) + ": the authorization server " + st.Issuer + " cannot revoke them (unsupported_token_type)"
			}
		}
	}
	st.Tokens = nil
	if st.registered() && st.RegistrationAccessToken != "" {
		reg := &Registration{ClientID: st.ClientID, AccessToken: st.RegistrationAccessToken, ClientURI: st.RegistrationClientURI}
		err := t.deregister(ctx, reg)
		if errors.Is(err, errCannotDeregister) {
			rep.Unrevocable = strings.TrimPrefix(rep.Unrevocable+"; "+err.Error(), "; ")
			err = errAlreadyGone // nothing more the operator can do
		}
		if err != nil && !errors.Is(err, errAlreadyGone) {
			_ = m.saveWith(ctx, store, st, rep.Revoked > 0, nil)
			rep.Remaining = remaining(st, nil, now)
			return rep, fmt.Errorf("de-registering client %q at %s: %w", st.ClientID, redactString(st.RegistrationClientURI), err)
		}
		if !strings.Contains(rep.Unrevocable, errCannotDeregister.Error()) {
			rep.Deregistered = st.ClientID
		}
	}
	if rep.Revoked == 0 && rep.Deregistered == "" && rep.Unrevocable == "" && len(st.live(now)) == 0 && !st.registered() {
		return rep, nil // nothing was recorded
	}
	st.RegistrationAccessToken, st.ClientSecret = "", ""
	if st.Source == SourceDynamic {
		st.Source = ""
	}
	return rep, m.saveWith(ctx, store, st, true, nil)
}

// Abandon forgets what Revoke could not revoke (a forced delete) and says what that was.
func (m *Manager) Abandon(ctx context.Context, store Store) (string, error) {
	st, err := store.Load(ctx)
	if err != nil || st == nil {
		return "", err
	}
	now := m.now()
	what := remaining(st, st.live(now), now)
	st.Tokens = nil
	st.RegistrationAccessToken, st.ClientSecret, st.Source = "", "", ""
	return what, m.saveWith(ctx, store, st, true, nil)
}

// remaining describes what is left to revoke, without secrets.
func remaining(st *State, live []IssuedToken, now time.Time) string {
	var parts []string
	if len(live) > 0 {
		parts = append(parts, describeTokens(live, now)+" issued by "+st.Issuer)
	}
	if st.registered() && st.RegistrationAccessToken != "" {
		parts = append(parts, fmt.Sprintf("client %q not de-registered at %s", st.ClientID, redactString(st.RegistrationClientURI)))
	}
	return strings.Join(parts, "; ")
}

// describeTokens says how many tokens and until when they may be valid.
func describeTokens(tokens []IssuedToken, now time.Time) string {
	var latest time.Time
	forever := false
	for _, t := range tokens {
		if t.ExpiresAt == nil {
			forever = true
		} else if t.ExpiresAt.After(latest) {
			latest = *t.ExpiresAt
		}
	}
	noun := "token"
	if len(tokens) != 1 {
		noun = "tokens"
	}
	switch {
	case forever:
		return fmt.Sprintf("%d %s (valid until revoked)", len(tokens), noun)
	case latest.After(now):
		return fmt.Sprintf("%d %s (valid until %s at the latest)", len(tokens), noun, latest.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%d %s", len(tokens), noun)
}

// Pending describes what a delete would revoke, for `kubectl mcp impact`: no secrets.
func Pending(st *State, now time.Time) []string {
	if st == nil {
		return nil
	}
	var out []string
	if live := st.live(now); len(live) > 0 {
		where := "at " + st.RevocationEndpoint
		if st.RevocationEndpoint == "" {
			where = "(no revocation endpoint: they stay valid until they expire)"
		}
		out = append(out, fmt.Sprintf("revoke %s issued to client %q by %s %s", describeTokens(live, now), st.ClientID, st.Issuer, where))
	}
	if st.registered() && st.RegistrationAccessToken != "" {
		out = append(out, fmt.Sprintf("de-register dynamic client %q at %s", st.ClientID, redactString(st.RegistrationClientURI)))
	}
	return slices.Clip(out)
}
