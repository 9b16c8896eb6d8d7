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
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Keys of the credentials Secret the operator owns for an MCPServer. The first four are the
// dynamic registration (RFC 7591, 7592); the rest is what revocation needs even after the
// user's own Secrets are gone (a GitOps prune deletes them together with the MCPServer).
const (
	KeyClientID                = "client_id"
	KeyClientSecret            = "client_secret"
	KeyRegistrationAccessToken = "registration_access_token"
	KeyRegistrationClientURI   = "registration_client_uri"
	KeyPrivateKey              = "private_key"
	KeyKeyID                   = "key_id"
	KeyAuthMethod              = "token_endpoint_auth_method"
	KeyClientSource            = "client_source"
	KeyIssuer                  = "issuer"
	KeyTokenEndpoint           = "token_endpoint"
	KeyRevocationEndpoint      = "revocation_endpoint"
	KeyRegistrationEndpoint    = "registration_endpoint"
	KeyEndpoint                = "mcp_endpoint"
	KeyDiscoveredScopes        = "discovered_scopes"
	KeyTokens                  = "tokens"
)

// Client sources, as recorded in client_source.
const (
	SourceSecret     = "client_secret"
	SourcePrivateKey = "private_key"
	SourceDynamic    = "dynamic"
)

// IssuedToken is a token the operator obtained and has not seen expire or revoked.
type IssuedToken struct {
	Value string `json:"value"`
	// Hint is the RFC 7009 token_type_hint: access_token or refresh_token.
	Hint      string     `json:"hint"`
	ClientID  string     `json:"clientID"`
	Resource  string     `json:"resource,omitempty"`
	Scope     string     `json:"scope,omitempty"`
	IssuedAt  time.Time  `json:"issuedAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Refused is set when the MCP server refused the token: it is never used again, and still
	// revoked.
	Refused bool `json:"refused,omitempty"`
}

// State is what the operator keeps for one MCPServer's OAuth, in the Secret it owns.
type State struct {
	Issuer, TokenEndpoint, RevocationEndpoint, RegistrationEndpoint string
	// Endpoint is the MCP endpoint discovery was made for.
	Endpoint string
	// DiscoveredScopes are the scopes the resource asked for.
	DiscoveredScopes []string

	// Source is client_secret, private_key or dynamic; the rest describes the client.
	Source       string
	ClientID     string
	ClientSecret string
	Method       string
	KeyPEM       []byte
	KeyID        string
	// Registration holds what RFC 7592 needs (dynamic clients).
	RegistrationAccessToken, RegistrationClientURI string

	Tokens []IssuedToken
}

// Data encodes the state as Secret data.
func (s *State) Data() (map[string][]byte, error) {
	data := map[string][]byte{}
	put := func(k, v string) {
		if v != "" {
			data[k] = []byte(v)
		}
	}
	put(KeyIssuer, s.Issuer)
	put(KeyTokenEndpoint, s.TokenEndpoint)
	put(KeyRevocationEndpoint, s.RevocationEndpoint)
	put(KeyRegistrationEndpoint, s.RegistrationEndpoint)
	put(KeyEndpoint, s.Endpoint)
	put(KeyDiscoveredScopes, strings.Join(s.DiscoveredScopes, " "))
	put(KeyClientSource, s.Source)
	put(KeyClientID, s.ClientID)
	put(KeyClientSecret, s.ClientSecret)
	put(KeyAuthMethod, s.Method)
	put(KeyPrivateKey, string(s.KeyPEM))
	put(KeyKeyID, s.KeyID)
	put(KeyRegistrationAccessToken, s.RegistrationAccessToken)
	put(KeyRegistrationClientURI, s.RegistrationClientURI)
	if len(s.Tokens) > 0 {
		raw, err := json.Marshal(s.Tokens)
		if err != nil {
			return nil, err
		}
		data[KeyTokens] = raw
	}
	return data, nil
}

// StateFromData decodes Secret data written by Data.
func StateFromData(data map[string][]byte) (*State, error) {
	get := func(k string) string { return string(data[k]) }
	s := &State{
		Issuer: get(KeyIssuer), TokenEndpoint: get(KeyTokenEndpoint), RevocationEndpoint: get(KeyRevocationEndpoint),
		RegistrationEndpoint: get(KeyRegistrationEndpoint), Endpoint: get(KeyEndpoint),
		DiscoveredScopes: strings.Fields(get(KeyDiscoveredScopes)),
		Source:           get(KeyClientSource), ClientID: get(KeyClientID), ClientSecret: get(KeyClientSecret),
		Method: get(KeyAuthMethod), KeyPEM: data[KeyPrivateKey], KeyID: get(KeyKeyID),
		RegistrationAccessToken: get(KeyRegistrationAccessToken), RegistrationClientURI: get(KeyRegistrationClientURI),
	}
	if raw := data[KeyTokens]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &s.Tokens); err != nil {
			return nil, fmt.Errorf("key %q: %v", KeyTokens, err)
		}
	}
	return s, nil
}

// credentials are the recorded client's, for revocation.
func (s *State) credentials() (*Credentials, error) {
	c := &Credentials{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Method: s.Method, KeyPEM: s.KeyPEM}
	if s.Method == MethodPrivateKeyJWT {
		key, err := ParseSigningKey(s.KeyPEM, s.KeyID)
		if err != nil {
			return nil, fmt.Errorf("the recorded private key: %w", err)
		}
		c.Key = key
	}
	return c, nil
}

// registered reports whether the state records a dynamic registration.
func (s *State) registered() bool { return s.Source == SourceDynamic && s.ClientID != "" }

// live are the tokens that may still be valid at now.
func (s *State) live(now time.Time) []IssuedToken {
	var out []IssuedToken
	for _, t := range s.Tokens {
		if t.ExpiresAt == nil || t.ExpiresAt.After(now.Add(-clockSkew)) {
			out = append(out, t)
		}
	}
	return out
}

// clockSkew is how long after its expiry a token is still treated as possibly valid.
const clockSkew = time.Minute

// prune drops expired tokens and returns the oldest beyond maxRecordedTokens, for the caller to
// revoke; they stay recorded until revoked (see cap).
func (s *State) prune(now time.Time) (overflow []IssuedToken) {
	s.Tokens = s.live(now)
	sort.SliceStable(s.Tokens, func(i, j int) bool { return s.Tokens[i].IssuedAt.Before(s.Tokens[j].IssuedAt) })
	if n := len(s.Tokens) - maxRecordedTokens; n > 0 {
		overflow = append(overflow, s.Tokens[:n]...)
	}
	return overflow
}

// maxRecordedTokens is how many tokens the operator aims to keep for revocation; renewal revokes
// those it replaces, so more than a few means the authorization server refused revocations.
const maxRecordedTokens = 32

// hardMaxTokens bounds the record whatever happens: beyond it the oldest are forgotten (they are
// the likeliest to have expired), so that the Secret stays far inside its size limit.
const hardMaxTokens = 4 * maxRecordedTokens

// cap enforces hardMaxTokens on tokens sorted oldest first; it reports whether it dropped any.
func (s *State) cap() bool {
	n := len(s.Tokens) - hardMaxTokens
	if n <= 0 {
		return false
	}
	s.Tokens = append([]IssuedToken(nil), s.Tokens[n:]...)
	return true
}

// remove drops the tokens with the given values.
func (s *State) remove(values map[string]bool) {
	kept := s.Tokens[:0]
	for _, t := range s.Tokens {
		if !values[t.Value] {
			kept = append(kept, t)
		}
	}
	s.Tokens = kept
}
