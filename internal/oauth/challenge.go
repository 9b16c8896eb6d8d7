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
	"strings"
)

// Challenge is the Bearer challenge of a WWW-Authenticate header (RFC 6750 section 3, RFC 9728
// section 5.1).
type Challenge struct {
	// ResourceMetadata is the resource_metadata parameter: the URL of the protected resource
	// metadata document.
	ResourceMetadata string
	// Scope is the scope parameter: the scopes the resource needs, space-separated.
	Scope string
	// Error is the error parameter, e.g. invalid_token or insufficient_scope.
	Error string
	// Description is the error_description parameter.
	Description string
}

// maxChallengeBytes bounds the header parsed.
const maxChallengeBytes = 8 << 10

// ParseChallenge finds the Bearer challenge among the challenges of WWW-Authenticate header
// values (RFC 9110 section 11.6.1). ok is false when there is none.
func ParseChallenge(values []string) (c Challenge, ok bool) {
	for _, v := range values {
		if len(v) > maxChallengeBytes {
			v = v[:maxChallengeBytes]
		}
		p := &authParser{s: v}
		for !p.done() {
			scheme, params, good := p.challenge()
			if !good {
				break
			}
			if !strings.EqualFold(scheme, "Bearer") {
				continue
			}
			c = Challenge{
				ResourceMetadata: params["resource_metadata"],
				Scope:            params["scope"],
				Error:            params["error"],
				Description:      params["error_description"],
			}
			return c, true
		}
	}
	return Challenge{}, false
}

// authParser reads challenges: `scheme [token68 | param *(, param)]` separated by commas, where
// param is `name = (token | quoted-string)`.
type authParser struct {
	s string
	i int
}

func (p *authParser) done() bool {
	p.skip(" \t,")
	return p.i >= len(p.s)
}

func (p *authParser) skip(chars string) {
	for p.i < len(p.s) && strings.IndexByte(chars, p.s[p.i]) >= 0 {
		p.i++
	}
}

func isTokenChar(b byte) bool {
	return b > 0x20 && b < 0x7f && !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", rune(b))
}

func (p *authParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// challenge reads one challenge; the parser stops at the start of the next one.
func (p *authParser) challenge() (scheme string, params map[string]string, ok bool) {
	p.skip(" \t,")
	scheme = p.token()
	if scheme == "" {
		return "", nil, false
	}
	params = map[string]string{}
	for {
		p.skip(" \t")
		name := p.token()
		p.skip(" \t")
		if name == "" || p.i >= len(p.s) || p.s[p.i] != '=' {
			// Right after the scheme: a token68 credential (skipped), or nothing.
			p.toNextComma()
			return scheme, params, true
		}
		p.i++ // '='
		p.skip(" \t")
		var value string
		if p.i < len(p.s) && p.s[p.i] == '"' {
			value, ok = p.quoted()
			if !ok {
				return scheme, params, true
			}
		} else {
			value = p.token()
		}
		key := strings.ToLower(name)
		if _, seen := params[key]; !seen {
			params[key] = value
		}
		p.skip(" \t")
		if p.i >= len(p.s) {
			return scheme, params, true
		}
		if p.s[p.i] != ',' {
			p.toNextComma() // malformed: resynchronise at the next comma
			return scheme, params, true
		}
		p.i++
		// After a comma comes another parameter of this challenge, or the next challenge.
		p.skip(" \t,")
		look := p.i
		next := p.token()
		p.skip(" \t")
		isParam := next != "" && p.i < len(p.s) && p.s[p.i] == '='
		p.i = look
		if !isParam {
			return scheme, params, true
		}
	}
}

func (p *authParser) toNextComma() {
	for p.i < len(p.s) && p.s[p.i] != ',' {
		p.i++
	}
}

func (p *authParser) quoted() (string, bool) {
	var b strings.Builder
	p.i++ // opening quote
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\' && p.i+1 < len(p.s):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == '"':
			p.i++
			return b.String(), true
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", false
}
