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
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// Client authentication methods (RFC 7591 section 2, RFC 7523).
const (
	MethodClientSecretBasic = "client_secret_basic"
	MethodClientSecretPost  = "client_secret_post"
	MethodPrivateKeyJWT     = "private_key_jwt"
)

// Credentials authenticate the operator's OAuth client to the authorization server.
type Credentials struct {
	ClientID string
	// ClientSecret, for client_secret_basic and client_secret_post.
	ClientSecret string
	// Method is client_secret_basic (the default), client_secret_post or private_key_jwt.
	Method string
	// Key signs private_key_jwt assertions; KeyPEM is its PEM, kept to revoke later.
	Key    *SigningKey
	KeyPEM []byte
}

func (c *Credentials) method() string {
	if c.Method == "" {
		return MethodClientSecretBasic
	}
	return c.Method
}

// authenticate adds the client's authentication to a request for audience (the issuer), and
// returns the Authorization header value to send, if any.
func (c *Credentials) authenticate(form url.Values, audience string, now time.Time) (string, error) {
	switch c.method() {
	case MethodClientSecretBasic:
		// RFC 6749 section 2.3.1: both parts form-urlencoded before Basic encoding.
		user := url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret)
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user)), nil
	case MethodClientSecretPost:
		form.Set("client_id", c.ClientID)
		form.Set("client_secret", c.ClientSecret)
		return "", nil
	case MethodPrivateKeyJWT:
		if c.Key == nil {
			return "", errors.New("private_key_jwt without a key")
		}
		assertion, err := c.Key.assertion(c.ClientID, audience, now)
		if err != nil {
			return "", err
		}
		form.Set("client_id", c.ClientID)
		form.Set("client_assertion_type", ClientAssertionType)
		form.Set("client_assertion", assertion)
		return "", nil
	}
	return "", fmt.Errorf("unsupported client authentication method %q", c.Method)
}

// Token is an access token the authorization server issued.
type Token struct {
	AccessToken string
	// RefreshToken, when the server issued one (rare with client credentials), is revoked too.
	RefreshToken string
	// ExpiresAt is zero when the server did not say.
	ExpiresAt time.Time
	Scope     string
}

// tokenResponse is RFC 6749 section 5.1.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Scope        string          `json:"scope"`
}

// maxTokenBytes bounds an access token the operator accepts (it is stored in a Secret).
const maxTokenBytes = 16 << 10

// requestToken asks for an access token with the client credentials grant (RFC 6749 section
// 4.4), for resource (RFC 8707) and scopes.
func (t *transport) requestToken(ctx context.Context, meta *ServerMetadata, creds *Credentials, scopes []string, resource string, now time.Time) (*Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	if resource != "" {
		form.Set("resource", resource)
	}
	authz, err := creds.authenticate(form, meta.Issuer, now)
	if err != nil {
		return nil, &Error{Kind: KindAuthentication, Err: err}
	}
	resp, err := t.do(ctx, request{method: http.MethodPost, url: meta.TokenEndpoint, authorization: authz, form: form})
	if err != nil {
		return nil, deniedOrUnreachable(KindAuthentication, fmt.Errorf("requesting a token: %w", err))
	}
	if resp.status != http.StatusOK {
		return nil, answerError(KindAuthentication, "the authorization server refused the token request of client "+strconv.Quote(creds.ClientID), meta.TokenEndpoint, resp,
			creds.ClientSecret, form.Get("client_assertion"))
	}
	var tr tokenResponse
	if err := resp.decodeJSON(&tr); err != nil {
		return nil, &Error{Kind: KindAuthentication, Err: fmt.Errorf("token response from %s: %w", redactString(meta.TokenEndpoint), err)}
	}
	if tr.AccessToken == "" || len(tr.AccessToken) > maxTokenBytes || len(tr.RefreshToken) > maxTokenBytes {
		return nil, &Error{Kind: KindAuthentication, Err: fmt.Errorf("token response from %s has no access_token, or one over %d bytes", redactString(meta.TokenEndpoint), maxTokenBytes)}
	}
	if !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, &Error{Kind: KindAuthentication, Err: fmt.Errorf("token response from %s: token_type %q, want Bearer",
			redactString(meta.TokenEndpoint), text.Truncate(text.Sanitize(tr.TokenType), 32))}
	}
	tok := &Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Scope: text.Truncate(tr.Scope, 4096)}
	if secs, ok := parseSeconds(tr.ExpiresIn); ok && secs > 0 {
		tok.ExpiresAt = now.Add(time.Duration(min(secs, int64(366*24*3600))) * time.Second)
	}
	return tok, nil
}

// parseSeconds reads expires_in, a number (some servers send a string).
func parseSeconds(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		n = json.Number(s)
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	if f, err := n.Float64(); err == nil {
		return int64(f), true
	}
	return 0, false
}

// revoke revokes one token (RFC 7009). A token the server does not know is revoked as far as it
// is concerned (RFC 7009 section 2.2 answers 200).
func (t *transport) revoke(ctx context.Context, endpoint, issuer string, creds *Credentials, token, hint string, now time.Time) error {
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	authz, err := creds.authenticate(form, issuer, now)
	if err != nil {
		return err
	}
	resp, err := t.do(ctx, request{method: http.MethodPost, url: endpoint, authorization: authz, form: form})
	if err != nil {
		return deniedOrUnreachable(KindAuthentication, err)
	}
	switch {
	case resp.status == http.StatusOK || resp.status == http.StatusNoContent:
		return nil
	case resp.status == http.StatusBadRequest && errorCode(resp) == "unsupported_token_type":
		// RFC 7009 section 2.2.1: this server cannot revoke this kind of token; retrying will
		// not change that.
		return fmt.Errorf("%w: the authorization server at %s cannot revoke this kind of token (unsupported_token_type)", errUnrevocable, redactString(endpoint))
	}
	return answerError(KindAuthentication, "the authorization server refused to revoke a token", endpoint, resp, token)
}

// errUnrevocable is a token the authorization server says it cannot revoke.
var errUnrevocable = errors.New("cannot be revoked")

// errCannotDeregister is a client the authorization server does not let the operator delete
// (RFC 7592 section 2.3: 403; 405 when it offers no delete).
var errCannotDeregister = errors.New("cannot be de-registered")

func errorCode(resp *response) string {
	var er errorResponse
	if json.Unmarshal(resp.body, &er) != nil {
		return ""
	}
	return er.Code
}

// Registration is a client the operator registered dynamically (RFC 7591), with what RFC 7592
// needs to de-register it.
type Registration struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Method       string `json:"token_endpoint_auth_method"`
	AccessToken  string `json:"registration_access_token"`
	ClientURI    string `json:"registration_client_uri"`
}

// registrationRequest is the client metadata sent (RFC 7591 section 2).
type registrationRequest struct {
	ClientName    string   `json:"client_name"`
	GrantTypes    []string `json:"grant_types"`
	ResponseTypes []string `json:"response_types"`
	RedirectURIs  []string `json:"redirect_uris"`
	AuthMethod    string   `json:"token_endpoint_auth_method"`
	Scope         string   `json:"scope,omitempty"`
	SoftwareID    string   `json:"software_id"`
}

// register registers a confidential client for the client credentials grant.
func (t *transport) register(ctx context.Context, meta *ServerMetadata, name, initialAccessToken string, scopes []string) (*Registration, error) {
	if meta.RegistrationEndpoint == "" {
		return nil, &Error{Kind: KindRegistration, Err: fmt.Errorf("the authorization server %s offers no registration_endpoint: dynamic client registration is not available; use clientSecretRef or privateKeyRef",
			redactString(meta.Issuer))}
	}
	method := MethodClientSecretBasic
	if s := meta.TokenEndpointAuthMethodsSupported; len(s) > 0 && !contains(s, MethodClientSecretBasic) {
		if !contains(s, MethodClientSecretPost) {
			return nil, &Error{Kind: KindRegistration, Err: fmt.Errorf("the authorization server %s supports neither client_secret_basic nor client_secret_post for dynamically registered clients",
				redactString(meta.Issuer))}
		}
		method = MethodClientSecretPost
	}
	body := registrationRequest{
		ClientName: name, GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{}, RedirectURIs: []string{},
		AuthMethod: method, Scope: strings.Join(scopes, " "), SoftwareID: "mcp-registry-operator",
	}
	authz := ""
	if initialAccessToken != "" {
		authz = "Bearer " + initialAccessToken
	}
	resp, err := t.do(ctx, request{method: http.MethodPost, url: meta.RegistrationEndpoint, authorization: authz, json: body})
	if err != nil {
		return nil, deniedOrUnreachable(KindRegistration, fmt.Errorf("registering a client: %w", err))
	}
	if resp.status != http.StatusCreated && resp.status != http.StatusOK {
		return nil, answerError(KindRegistration, "the authorization server refused to register a client", meta.RegistrationEndpoint, resp, initialAccessToken)
	}
	reg := &Registration{}
	if err := resp.decodeJSON(reg); err != nil {
		return nil, &Error{Kind: KindRegistration, Err: fmt.Errorf("registration response from %s: %w", redactString(meta.RegistrationEndpoint), err)}
	}
	if reg.ClientID == "" || len(reg.ClientID) > 512 || len(reg.ClientSecret) > maxTokenBytes || len(reg.AccessToken) > maxTokenBytes {
		return nil, &Error{Kind: KindRegistration, Err: fmt.Errorf("registration response from %s has no client_id, or oversized fields", redactString(meta.RegistrationEndpoint))}
	}
	if reg.Method == "" {
		reg.Method = method
	}
	if reg.Method != MethodClientSecretBasic && reg.Method != MethodClientSecretPost {
		return reg, &Error{Kind: KindRegistration, Err: fmt.Errorf("the authorization server registered client %q with token_endpoint_auth_method %q, which the operator cannot use",
			reg.ClientID, text.Truncate(text.Sanitize(reg.Method), 64))}
	}
	if reg.ClientSecret == "" {
		return reg, &Error{Kind: KindRegistration, Err: fmt.Errorf("the authorization server registered client %q without a client_secret", reg.ClientID)}
	}
	if reg.ClientURI != "" {
		if _, err := checkSecureURL("registration_client_uri", reg.ClientURI); err != nil {
			return reg, &Error{Kind: KindRegistration, Err: err}
		}
	}
	return reg, nil
}

// errAlreadyGone says the authorization server no longer knows the client.
var errAlreadyGone = errors.New("the client is already gone")

// deregister deletes a dynamically registered client (RFC 7592 section 2.3). 401, 403, 404 and
// 410 mean the registration no longer exists (its access token is invalidated with it).
func (t *transport) deregister(ctx context.Context, reg *Registration) error {
	if reg.ClientURI == "" || reg.AccessToken == "" {
		return errAlreadyGone
	}
	resp, err := t.do(ctx, request{method: http.MethodDelete, url: reg.ClientURI, authorization: "Bearer " + reg.AccessToken})
	if err != nil {
		return deniedOrUnreachable(KindRegistration, err)
	}
	switch resp.status {
	case http.StatusNoContent, http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusGone:
		// RFC 7592 section 2.3: the registration access token is invalidated with the client.
		return errAlreadyGone
	case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return fmt.Errorf("%w: client %q at %s (HTTP %d: the authorization server does not let clients delete themselves)",
			errCannotDeregister, reg.ClientID, redactString(reg.ClientURI), resp.status)
	}
	return answerError(KindRegistration, "the authorization server refused to de-register client "+strconv.Quote(reg.ClientID), reg.ClientURI, resp, reg.AccessToken)
}
