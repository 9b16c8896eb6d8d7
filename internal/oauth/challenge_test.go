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
	"testing"
)

func TestParseChallenge(t *testing.T) {
	const prm = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	tests := []struct {
		name   string
		values []string
		want   Challenge
		ok     bool
	}{
		{
			name:   "single Bearer with every parameter",
			values: []string{`Bearer resource_metadata="` + prm + `", scope="mcp:read mcp:write", error="invalid_token", error_description="expired"`},
			want:   Challenge{ResourceMetadata: prm, Scope: "mcp:read mcp:write", Error: "invalid_token", Description: "expired"},
			ok:     true,
		},
		{
			name:   "unquoted token values",
			values: []string{`Bearer error=insufficient_scope, scope=mcp`},
			want:   Challenge{Error: "insufficient_scope", Scope: "mcp"},
			ok:     true,
		},
		{
			name:   "bare Bearer",
			values: []string{`Bearer`},
			ok:     true,
		},
		{
			name:   "Bearer with a realm only",
			values: []string{`Bearer realm="mcp"`},
			ok:     true,
		},
		{
			name:   "quoted strings with escapes and commas",
			values: []string{`Bearer error_description="a \"quoted\", comma, and \\ backslash", scope="x,y"`},
			want:   Challenge{Description: `a "quoted", comma, and \ backslash`, Scope: "x,y"},
			ok:     true,
		},
		{
			name:   "Basic before Bearer in one header",
			values: []string{`Basic realm="x", Bearer resource_metadata="` + prm + `"`},
			want:   Challenge{ResourceMetadata: prm},
			ok:     true,
		},
		{
			name:   "Bearer before Basic in one header",
			values: []string{`Bearer scope="a", Basic realm="b, c"`},
			want:   Challenge{Scope: "a"},
			ok:     true,
		},
		{
			name:   "Basic with several parameters, then Bearer",
			values: []string{`Basic realm="x", charset="UTF-8", Bearer error="invalid_token", scope=s`},
			want:   Challenge{Error: "invalid_token", Scope: "s"},
			ok:     true,
		},
		{
			name:   "multiple header values",
			values: []string{`Basic realm="x"`, `Digest realm="y", nonce="abc", qop="auth"`, `Bearer scope="from-third"`},
			want:   Challenge{Scope: "from-third"},
			ok:     true,
		},
		{
			name:   "the first Bearer wins across header values",
			values: []string{`Bearer scope="first"`, `Bearer scope="second"`},
			want:   Challenge{Scope: "first"},
			ok:     true,
		},
		{
			name:   "token68 with padding before Bearer",
			values: []string{`Negotiate abc==, Bearer scope="a b"`},
			want:   Challenge{Scope: "a b"},
			ok:     true,
		},
		{
			name:   "token68 without padding before Bearer",
			values: []string{`Negotiate YWJjZGVm, Bearer scope="a b"`},
			want:   Challenge{Scope: "a b"},
			ok:     true,
		},
		{
			name:   "token68 with the base64 alphabet's + and / before Bearer",
			values: []string{`Negotiate YW+J/jZG==, Bearer scope="a"`},
			want:   Challenge{Scope: "a"},
			ok:     true,
		},
		{
			name:   "Bearer with a token68 credential",
			values: []string{`Bearer abc==, Basic realm="x"`},
			ok:     true,
		},
		{
			name:   "no spaces around commas",
			values: []string{`Basic realm="x",Bearer scope="a",error=invalid_token`},
			want:   Challenge{Scope: "a", Error: "invalid_token"},
			ok:     true,
		},
		{
			name:   "case-insensitive scheme and parameter names",
			values: []string{`bEARER Resource_Metadata="` + prm + `", SCOPE="s", Error="e", ERROR_DESCRIPTION="d"`},
			want:   Challenge{ResourceMetadata: prm, Scope: "s", Error: "e", Description: "d"},
			ok:     true,
		},
		{
			name:   "duplicate parameter: the first is kept",
			values: []string{`Bearer scope="one", scope="two"`},
			want:   Challenge{Scope: "one"},
			ok:     true,
		},
		{
			name:   "whitespace and empty list elements",
			values: []string{` , ,  Bearer   scope = "s" ,, error = e `},
			want:   Challenge{Scope: "s", Error: "e"},
			ok:     true,
		},
		{
			name:   "a scheme whose name starts with Bearer is not Bearer",
			values: []string{`BearerX scope="no"`},
		},
		{name: "no Bearer", values: []string{`Basic realm="x"`, `Negotiate`}},
		{name: "no values"},
		{name: "empty value", values: []string{""}},
		{
			name:   "unterminated quote in Bearer: the parameters before it",
			values: []string{`Bearer scope="s", error="never closed`},
			want:   Challenge{Scope: "s"},
			ok:     true,
		},
		{
			name:   "unterminated quote before Bearer swallows it",
			values: []string{`Basic realm="x, Bearer scope="s"`},
		},
		{
			name:   "malformed header value, then a good one",
			values: []string{`"garbage`, `Bearer scope="s"`},
			want:   Challenge{Scope: "s"},
			ok:     true,
		},
		{
			name:   "malformed parameter resynchronises at the next comma",
			values: []string{`Basic realm=x y z, Bearer scope="s"`},
			want:   Challenge{Scope: "s"},
			ok:     true,
		},
		{
			name:   "trailing backslash in a quoted string",
			values: []string{`Bearer scope="s\`},
			ok:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseChallenge(tt.values)
			if ok != tt.ok || got != tt.want {
				t.Errorf("ParseChallenge(%q) = %+v, %v; want %+v, %v", tt.values, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseChallengeBounded(t *testing.T) {
	t.Run("Bearer past the bound is not read", func(t *testing.T) {
		v := `Basic realm="` + strings.Repeat("x", maxChallengeBytes) + `", Bearer scope="s"`
		if c, ok := ParseChallenge([]string{v}); ok {
			t.Errorf("found %+v beyond %d bytes", c, maxChallengeBytes)
		}
	})
	t.Run("Bearer within the bound, value cut at it", func(t *testing.T) {
		v := `Bearer scope="s", error_description=` + strings.Repeat("d", 4*maxChallengeBytes)
		c, ok := ParseChallenge([]string{v})
		if !ok || c.Scope != "s" {
			t.Fatalf("got %+v, %v", c, ok)
		}
		if len(c.Description) > maxChallengeBytes {
			t.Errorf("description of %d bytes, beyond the bound %d", len(c.Description), maxChallengeBytes)
		}
	})
	t.Run("many values, each bounded", func(t *testing.T) {
		big := strings.Repeat(`Basic realm="r", `, 2*maxChallengeBytes/16)
		values := make([]string, 0, 65)
		for range 64 {
			values = append(values, big)
		}
		values = append(values, `Bearer scope="last"`)
		c, ok := ParseChallenge(values)
		if !ok || c.Scope != "last" {
			t.Errorf("got %+v, %v", c, ok)
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	for _, seed := range []string{
		`Bearer resource_metadata="https://x/.well-known/oauth-protected-resource", scope="a b"`,
		`Basic realm="x", Bearer error="invalid_token"`,
		`Negotiate abc==, Bearer scope="a b"`,
		`Bearer scope="unterminated`,
		`Bearer scope="a\"b\\", error=x`,
		`,,, = "" ,`,
		`Bearer ="x"`,
		`Bearer a=b=c, d`,
		`"`,
		`\`,
		"Bearer scope=\"\x00\xff\"",
	} {
		f.Add(seed, "")
		f.Add("Basic realm=\"r\"", seed)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		c, ok := ParseChallenge([]string{a, b})
		if !ok && c != (Challenge{}) {
			t.Fatalf("ok=false with %+v", c)
		}
		for _, s := range []string{c.ResourceMetadata, c.Scope, c.Error, c.Description} {
			if len(s) > maxChallengeBytes {
				t.Fatalf("parameter of %d bytes", len(s))
			}
		}
	})
}
