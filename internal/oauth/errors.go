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
	"errors"
	"fmt"
	"strings"

	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// Kind says which step failed; the controller reports it as the Stalled reason of the same name.
type Kind string

const (
	// KindDiscovery: the authorization server could not be found (no challenge, no metadata,
	// metadata that does not match, a URL the endpoint policy refuses).
	KindDiscovery Kind = "DiscoveryFailed"
	// KindAuthentication: the authorization server refused the client or its request (e.g.
	// invalid_client, invalid_scope), or the MCP server refused the token it issued.
	KindAuthentication Kind = "AuthenticationFailed"
	// KindRegistration: dynamic client registration was refused or is not offered.
	KindRegistration Kind = "RegistrationFailed"
)

// Error is an OAuth failure. Its message names endpoints and OAuth error codes, never a
// credential.
type Error struct {
	Kind Kind
	// Transient is true when the authorization server asked to retry later (HTTP 429 or 5xx):
	// retrying may succeed without any change.
	Transient bool
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func discoveryError(err error) error { return kindError(KindDiscovery, err) }

func kindError(kind Kind, err error) error {
	var oe *Error
	if errors.As(err, &oe) {
		return err
	}
	return &Error{Kind: kind, Err: err}
}

func transientError(kind Kind, err error) error { return &Error{Kind: kind, Transient: true, Err: err} }

// KindOf is the kind of err, "" when it is no OAuth error.
func KindOf(err error) (Kind, bool) {
	var oe *Error
	if errors.As(err, &oe) {
		return oe.Kind, oe.Transient
	}
	return "", false
}

// errorResponse is an RFC 6749 section 5.2 error answer.
type errorResponse struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// answerError describes a refusal from endpoint: its OAuth error code and description when it
// sent one, else its HTTP status and a bounded excerpt, with every value of sent (what the request
// carried: a secret, an assertion, a token) scrubbed, should the server echo one. 429 and 5xx are
// transient.
func answerError(kind Kind, what, endpoint string, resp *response, sent ...string) error {
	body := string(resp.body)
	for _, v := range sent {
		if len(v) >= 4 {
			body = strings.ReplaceAll(body, v, "[redacted]")
		}
	}
	var er errorResponse
	detail := fmt.Sprintf("HTTP %d", resp.status)
	if json.Unmarshal([]byte(body), &er) == nil && er.Code != "" {
		detail += ": " + text.Truncate(text.Sanitize(er.Code), 64)
		if er.Description != "" {
			detail += " (" + text.ForMessage(er.Description, maxErrorText) + ")"
		}
	} else if s := strings.TrimSpace(text.ForMessage(body, maxErrorText)); s != "" {
		detail += ": " + s
	}
	err := fmt.Errorf("%s at %s: %s", what, redactString(endpoint), detail)
	if resp.status == 429 || resp.status >= 500 {
		return transientError(kind, err)
	}
	return &Error{Kind: kind, Err: err}
}

// deniedOrUnreachable wraps a transport failure: a refusal by the endpoint policy is final (no
// connection was made), anything else may pass.
func deniedOrUnreachable(kind Kind, err error) error {
	if errors.Is(err, egress.ErrDenied) {
		return &Error{Kind: kind, Err: err}
	}
	return transientError(kind, err)
}
