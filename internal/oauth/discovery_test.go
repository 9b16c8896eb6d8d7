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
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/toolregistry/mcp-registry-operator/internal/egress"
)

func TestWellKnownResourceMetadata(t *testing.T) {
	const root = "/.well-known/oauth-protected-resource"
	tests := []struct {
		endpoint string
		want     []string
	}{
		{"https://mcp.example.com/mcp", []string{"https://mcp.example.com" + root + "/mcp", "https://mcp.example.com" + root}},
		{"https://mcp.example.com/mcp/", []string{"https://mcp.example.com" + root + "/mcp", "https://mcp.example.com" + root}},
		{"https://mcp.example.com/a/b/mcp", []string{"https://mcp.example.com" + root + "/a/b/mcp", "https://mcp.example.com" + root}},
		{"https://mcp.example.com", []string{"https://mcp.example.com" + root}},
		{"https://mcp.example.com/", []string{"https://mcp.example.com" + root}},
		{"https://mcp.example.com:8443/mcp?tenant=1#frag", []string{"https://mcp.example.com:8443" + root + "/mcp", "https://mcp.example.com:8443" + root}},
		{"http://127.0.0.1:8080/mcp", []string{"http://127.0.0.1:8080" + root + "/mcp", "http://127.0.0.1:8080" + root}},
		{"https://user:pw@mcp.example.com/mcp", []string{"https://mcp.example.com" + root + "/mcp", "https://mcp.example.com" + root}},
		// Escaped paths stay escaped once (not %2520).
		{"https://mcp.example.com/my%20mcp", []string{"https://mcp.example.com" + root + "/my%20mcp", "https://mcp.example.com" + root}},
		{"https://mcp.example.com/a%2Fb", []string{"https://mcp.example.com" + root + "/a%2Fb", "https://mcp.example.com" + root}},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			if got := wellKnownResourceMetadata(mustURL(t, tt.endpoint)); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWellKnownServerMetadata(t *testing.T) {
	const as, oidc = "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"
	tests := []struct {
		issuer string
		want   []string
	}{
		{"https://as.example.com", []string{"https://as.example.com" + as, "https://as.example.com" + oidc}},
		{"https://as.example.com/", []string{"https://as.example.com" + as, "https://as.example.com" + oidc}},
		{"https://as.example.com/tenant1", []string{
			"https://as.example.com" + as + "/tenant1", "https://as.example.com" + oidc + "/tenant1", "https://as.example.com/tenant1" + oidc,
		}},
		{"https://as.example.com/tenant1/", []string{
			"https://as.example.com" + as + "/tenant1", "https://as.example.com" + oidc + "/tenant1", "https://as.example.com/tenant1" + oidc,
		}},
		{"https://as.example.com/realms/r1", []string{
			"https://as.example.com" + as + "/realms/r1", "https://as.example.com" + oidc + "/realms/r1", "https://as.example.com/realms/r1" + oidc,
		}},
		{"http://127.0.0.1:9000/t", []string{
			"http://127.0.0.1:9000" + as + "/t", "http://127.0.0.1:9000" + oidc + "/t", "http://127.0.0.1:9000/t" + oidc,
		}},
		{"https://as.example.com/t%20x", []string{
			"https://as.example.com" + as + "/t%20x", "https://as.example.com" + oidc + "/t%20x", "https://as.example.com/t%20x" + oidc,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			if got := wellKnownServerMetadata(mustURL(t, tt.issuer)); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func asMetadata(issuer, origin string) map[string]any {
	return map[string]any{
		"issuer":                issuer,
		"token_endpoint":        origin + "/token",
		"revocation_endpoint":   origin + "/revoke",
		"grant_types_supported": []string{"client_credentials"},
	}
}

// asServer serves RFC 8414 metadata at the root well-known URL.
func asServer(t *testing.T) *recServer {
	return newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
		if r.URL.Path == "/.well-known/oauth-authorization-server" {
			writeJSON(w, 200, asMetadata(s.URL, s.URL))
			return
		}
		http.NotFound(w, r)
	})
}

func TestDiscoverOrder(t *testing.T) {
	ctx := context.Background()

	t.Run("resource_metadata in the challenge: that URL only", func(t *testing.T) {
		as := asServer(t)
		mcp := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
			switch r.URL.Path {
			case "/mcp":
				w.Header().Set("WWW-Authenticate", `Basic realm="x", Bearer resource_metadata="`+s.URL+`/custom/prm", scope="mcp:read mcp:write"`)
				w.WriteHeader(401)
			case "/custom/prm":
				writeJSON(w, 200, map[string]any{"resource": s.URL + "/mcp", "authorization_servers": []string{as.URL}, "scopes_supported": []string{"ignored"}})
			default:
				http.NotFound(w, r)
			}
		})
		d, err := testTransport(t).discover(ctx, mustURL(t, mcp.URL+"/mcp"), "")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := mcp.log(), []string{"GET /mcp", "GET /custom/prm"}; !slices.Equal(got, want) {
			t.Errorf("MCP server requests %q, want %q", got, want)
		}
		if got, want := as.log(), []string{"GET /.well-known/oauth-authorization-server"}; !slices.Equal(got, want) {
			t.Errorf("AS requests %q, want %q", got, want)
		}
		if d.server.Issuer != as.URL || d.server.TokenEndpoint != as.URL+"/token" || d.server.RevocationEndpoint != as.URL+"/revoke" {
			t.Errorf("server %+v", d.server)
		}
		if want := []string{"mcp:read", "mcp:write"}; !slices.Equal(d.scopes, want) {
			t.Errorf("scopes %q, want the challenge's %q", d.scopes, want)
		}
		for _, r := range mcp.requests("GET", "/mcp") {
			if r.Authorization != "" {
				t.Errorf("the probe sent credentials: %q", r.Authorization)
			}
		}
	})

	t.Run("resource_metadata on another loopback origin", func(t *testing.T) {
		as := asServer(t)
		ml := listenAt(t, "127.0.0.1:0")
		mcpURL := "http://" + ml.Addr().String()
		prm := newRecServer(t, func(_ *recServer, w http.ResponseWriter, _ *http.Request, _ recorded) {
			writeJSON(w, 200, map[string]any{"resource": mcpURL + "/", "authorization_servers": []string{as.URL}})
		})
		mcp := newRecServerOn(t, ml, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+prm.URL+`/prm"`)
			w.WriteHeader(401)
		})
		if _, err := testTransport(t).discover(ctx, mustURL(t, mcp.URL+"/mcp"), ""); err != nil {
			t.Fatal(err)
		}
		if got, want := mcp.log(), []string{"GET /mcp"}; !slices.Equal(got, want) {
			t.Errorf("MCP server requests %q, want %q", got, want)
		}
	})

	for _, probe := range []struct {
		name      string
		status    int
		challenge string
	}{
		{"401 Bearer without resource_metadata", 401, `Bearer realm="mcp", scope="from-challenge"`},
		{"401 without a challenge", 401, ""},
		{"401 Basic only", 401, `Basic realm="x"`},
		{"200: not protected", 200, ""},
		{"403", 403, `Bearer error="insufficient_scope"`},
	} {
		t.Run("well-known PRM, path-suffixed then root: "+probe.name, func(t *testing.T) {
			as := asServer(t)
			mcp := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
				switch r.URL.Path {
				case "/mcp":
					if probe.challenge != "" {
						w.Header().Set("WWW-Authenticate", probe.challenge)
					}
					w.WriteHeader(probe.status)
				case "/.well-known/oauth-protected-resource":
					writeJSON(w, 200, map[string]any{"resource": s.URL, "authorization_servers": []string{as.URL}, "scopes_supported": []string{"prm:a", "prm:b"}})
				default:
					http.NotFound(w, r)
				}
			})
			d, err := testTransport(t).discover(ctx, mustURL(t, mcp.URL+"/mcp"), "")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"GET /mcp", "GET /.well-known/oauth-protected-resource/mcp", "GET /.well-known/oauth-protected-resource"}
			if got := mcp.log(); !slices.Equal(got, want) {
				t.Errorf("MCP server requests %q, want %q", got, want)
			}
			wantScopes := []string{"prm:a", "prm:b"}
			if probe.status == 401 && strings.Contains(probe.challenge, "from-challenge") {
				wantScopes = []string{"from-challenge"}
			}
			if !slices.Equal(d.scopes, wantScopes) {
				t.Errorf("scopes %q, want %q", d.scopes, wantScopes)
			}
		})
	}

	t.Run("path-suffixed PRM found: root not read", func(t *testing.T) {
		as := asServer(t)
		mcp := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
			switch r.URL.Path {
			case "/mcp":
				w.WriteHeader(401)
			case "/.well-known/oauth-protected-resource/mcp":
				writeJSON(w, 200, map[string]any{"resource": s.URL + "/mcp", "authorization_servers": []string{as.URL}})
			default:
				t.Errorf("unexpected %s", r.URL.Path)
				http.NotFound(w, r)
			}
		})
		d, err := testTransport(t).discover(ctx, mustURL(t, mcp.URL+"/mcp"), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(d.scopes) != 0 {
			t.Errorf("scopes %q from nowhere", d.scopes)
		}
		if got, want := mcp.log(), []string{"GET /mcp", "GET /.well-known/oauth-protected-resource/mcp"}; !slices.Equal(got, want) {
			t.Errorf("MCP server requests %q, want %q", got, want)
		}
	})

	const (
		asPathInsert   = "GET /.well-known/oauth-authorization-server/tenant1"
		oidcPathInsert = "GET /.well-known/openid-configuration/tenant1"
		oidcPathAppend = "GET /tenant1/.well-known/openid-configuration"
	)
	all := []string{asPathInsert, oidcPathInsert, oidcPathAppend}
	for answering := range all {
		t.Run("issuer with a path: "+all[answering]+" answers", func(t *testing.T) {
			as := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, rec recorded) {
				if rec.String() == all[answering] {
					writeJSON(w, 200, asMetadata(s.URL+"/tenant1", s.URL+"/tenant1"))
					return
				}
				http.NotFound(w, r)
			})
			mcp := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
				switch r.URL.Path {
				case "/mcp":
					w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+s.URL+`/.well-known/oauth-protected-resource/mcp"`)
					w.WriteHeader(401)
				case "/.well-known/oauth-protected-resource/mcp":
					writeJSON(w, 200, map[string]any{"resource": s.URL + "/mcp", "authorization_servers": []string{as.URL + "/tenant1"}})
				default:
					http.NotFound(w, r)
				}
			})
			d, err := testTransport(t).discover(ctx, mustURL(t, mcp.URL+"/mcp"), "")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := as.log(), all[:answering+1]; !slices.Equal(got, want) {
				t.Errorf("AS requests %q, want %q", got, want)
			}
			if d.server.Issuer != as.URL+"/tenant1" || d.server.TokenEndpoint != as.URL+"/tenant1/token" {
				t.Errorf("server %+v", d.server)
			}
		})
	}

	t.Run("issuer without a path: RFC 8414 then OIDC at the root", func(t *testing.T) {
		as := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
			if r.URL.Path == "/.well-known/openid-configuration" {
				writeJSON(w, 200, asMetadata(s.URL+"/", s.URL))
				return
			}
			http.NotFound(w, r)
		})
		d, err := testTransport(t).discover(ctx, mustURL(t, "http://127.0.0.1:1/mcp"), as.URL+"/")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := as.log(), []string{"GET /.well-known/oauth-authorization-server", "GET /.well-known/openid-configuration"}; !slices.Equal(got, want) {
			t.Errorf("AS requests %q, want %q", got, want)
		}
		if d.server.Issuer != as.URL+"/" {
			t.Errorf("issuer %q", d.server.Issuer)
		}
	})

	t.Run("issuerURL set: the MCP endpoint is not probed", func(t *testing.T) {
		as := asServer(t)
		mcp := newRecServer(t, func(_ *recServer, w http.ResponseWriter, _ *http.Request, _ recorded) { w.WriteHeader(401) })
		d, err := testTransport(t).discover(ctx, mustURL(t, mcp.URL+"/mcp"), as.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := mcp.log(); len(got) != 0 {
			t.Errorf("MCP server requests %q, want none", got)
		}
		if d.server.Issuer != as.URL || len(d.scopes) != 0 {
			t.Errorf("discovered %+v", d)
		}
	})

	t.Run("second authorization server used when the first has no metadata", func(t *testing.T) {
		dead := newRecServer(t, func(_ *recServer, w http.ResponseWriter, r *http.Request, _ recorded) { http.NotFound(w, r) })
		as := asServer(t)
		mcp := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
			if r.URL.Path == "/.well-known/oauth-protected-resource" {
				writeJSON(w, 200, map[string]any{"resource": s.URL, "authorization_servers": []string{dead.URL, as.URL}})
				return
			}
			http.NotFound(w, r)
		})
		d, err := testTransport(t).discover(ctx, mustURL(t, mcp.URL), "")
		if err != nil {
			t.Fatal(err)
		}
		if d.server.Issuer != as.URL {
			t.Errorf("issuer %q, want %q", d.server.Issuer, as.URL)
		}
		if got := len(dead.log()); got != 2 {
			t.Errorf("%d requests to the first server, want 2 (RFC 8414, OIDC)", got)
		}
	})
}

// reply is a canned answer.
type reply struct {
	status      int
	contentType string
	body        string
	json        any
	header      map[string]string
}

func (r reply) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	if r.json != nil {
		writeJSON(w, r.status, r.json)
		return
	}
	if r.contentType != "" {
		w.Header().Set("Content-Type", r.contentType)
	}
	w.WriteHeader(r.status)
	_, _ = w.Write([]byte(r.body))
}

func TestDiscoverErrors(t *testing.T) {
	big := strings.Repeat(" ", maxResponseBytes+1)
	goodPRM := func(mcp, as string) reply {
		return reply{status: 200, json: map[string]any{"resource": mcp + "/mcp", "authorization_servers": []string{as}}}
	}
	goodAS := func(as string) reply { return reply{status: 200, json: asMetadata(as, as)} }
	withMeta := func(f func(m map[string]any)) func(as string) reply {
		return func(as string) reply {
			m := asMetadata(as, as)
			f(m)
			return reply{status: 200, json: m}
		}
	}
	tests := []struct {
		name string
		// challenge is the probe's WWW-Authenticate, with {mcp} for the MCP server's URL;
		// default: resource_metadata at {mcp}/prm.
		challenge string
		prm       func(mcp, as string) reply
		as        func(as string) reply
		// issuer, when set, names the authorization server ({as} for its URL).
		issuer    string
		transient bool
		// anyTransient leaves the transient flag unchecked.
		anyTransient bool
		wantErr      string
	}{
		{
			name: "PRM for another origin",
			prm: func(_, as string) reply {
				return reply{status: 200, json: map[string]any{"resource": "http://127.0.0.1:1/mcp", "authorization_servers": []string{as}}}
			},
			wantErr: "not the MCP endpoint",
		},
		{
			name: "PRM for another path",
			prm: func(mcp, as string) reply {
				return reply{status: 200, json: map[string]any{"resource": mcp + "/other", "authorization_servers": []string{as}}}
			},
			wantErr: "not the MCP endpoint",
		},
		{
			name: "PRM for a longer path",
			prm: func(mcp, as string) reply {
				return reply{status: 200, json: map[string]any{"resource": mcp + "/mcp/sub", "authorization_servers": []string{as}}}
			},
			wantErr: "not the MCP endpoint",
		},
		{
			name: "PRM for a sibling with the same prefix",
			prm: func(mcp, as string) reply {
				return reply{status: 200, json: map[string]any{"resource": mcp + "/mc", "authorization_servers": []string{as}}}
			},
			wantErr: "not the MCP endpoint",
		},
		{
			name: "PRM resource not absolute",
			prm: func(_, as string) reply {
				return reply{status: 200, json: map[string]any{"resource": "/mcp", "authorization_servers": []string{as}}}
			},
			wantErr: "not an absolute URL",
		},
		{
			name: "PRM without authorization_servers",
			prm: func(mcp, _ string) reply {
				return reply{status: 200, json: map[string]any{"resource": mcp + "/mcp"}}
			},
			wantErr: "no authorization_servers",
		},
		{
			name: "PRM with an empty authorization_servers",
			prm: func(mcp, _ string) reply {
				return reply{status: 200, json: map[string]any{"resource": mcp + "/mcp", "authorization_servers": []string{}}}
			},
			wantErr: "no authorization_servers",
		},
		{name: "PRM not JSON", prm: func(_, _ string) reply { return reply{status: 200, contentType: "text/html", body: "<html></html>"} }, wantErr: "not JSON"},
		{name: "PRM invalid JSON", prm: func(_, _ string) reply { return reply{status: 200, contentType: "application/json", body: "{"} }, wantErr: "not a valid JSON object"},
		{name: "PRM a JSON array", prm: func(_, _ string) reply { return reply{status: 200, contentType: "application/json", body: "[]"} }, wantErr: "not a valid JSON object"},
		{name: "PRM oversized", prm: func(_, _ string) reply { return reply{status: 200, contentType: "application/json", body: "{}" + big} }, anyTransient: true, wantErr: "exceeds"},
		{name: "PRM 404 at the challenge's URL", prm: func(_, _ string) reply { return reply{status: 404} }, wantErr: "no protected resource metadata at"},
		{name: "PRM 500", prm: func(_, _ string) reply { return reply{status: 500} }, transient: true, wantErr: "HTTP 500"},
		{name: "PRM 502", prm: func(_, _ string) reply { return reply{status: 502} }, transient: true, wantErr: "HTTP 502"},
		{name: "PRM 429", prm: func(_, _ string) reply { return reply{status: 429} }, transient: true, wantErr: "HTTP 429"},
		{
			name: "AS issuer differs", prm: goodPRM,
			as: withMeta(func(m map[string]any) { m["issuer"] = "https://evil.example.com" }), wantErr: "names issuer",
		},
		{
			name: "AS token_endpoint plain http on a non-loopback host", prm: goodPRM,
			as: withMeta(func(m map[string]any) { m["token_endpoint"] = "http://as.example.com/token" }), wantErr: "plain http",
		},
		{
			name: "AS revocation_endpoint plain http on a non-loopback host", prm: goodPRM,
			as: withMeta(func(m map[string]any) { m["revocation_endpoint"] = "http://as.example.com/revoke" }), wantErr: "revocation_endpoint",
		},
		{
			name: "AS registration_endpoint not a URL", prm: goodPRM,
			as: withMeta(func(m map[string]any) { m["registration_endpoint"] = "register" }), wantErr: "registration_endpoint",
		},
		{
			name: "AS token_endpoint with another scheme", prm: goodPRM,
			as: withMeta(func(m map[string]any) { m["token_endpoint"] = "ftp://as.example.com/token" }), wantErr: "want an https URL",
		},
		{
			name: "AS without token_endpoint", prm: goodPRM,
			as: withMeta(func(m map[string]any) { delete(m, "token_endpoint") }), wantErr: "no token_endpoint",
		},
		{
			name: "AS without client_credentials", prm: goodPRM,
			as: withMeta(func(m map[string]any) { m["grant_types_supported"] = []string{"authorization_code", "refresh_token"} }), wantErr: "client_credentials",
		},
		{name: "AS not JSON", prm: goodPRM, as: func(string) reply { return reply{status: 200, contentType: "text/plain", body: "hello"} }, wantErr: "not JSON"},
		{name: "AS oversized", prm: goodPRM, as: func(string) reply { return reply{status: 200, contentType: "application/json", body: "{}" + big} }, anyTransient: true, wantErr: "exceeds"},
		{name: "AS 503", prm: goodPRM, as: func(string) reply { return reply{status: 503} }, transient: true, wantErr: "HTTP 503"},
		{name: "AS 404 everywhere", prm: goodPRM, as: func(string) reply { return reply{status: 404} }, wantErr: "no authorization server metadata"},
		{name: "named issuer 500", issuer: "{as}", as: func(string) reply { return reply{status: 500} }, transient: true, wantErr: "HTTP 500"},
		{name: "named issuer with a query", issuer: "{as}/?tenant=1", as: goodAS, wantErr: "has a query"},
		{name: "named issuer plain http, not loopback", issuer: "http://as.example.com", as: goodAS, wantErr: "plain http"},
		{name: "named issuer not https", issuer: "ftp://as.example.com", as: goodAS, wantErr: "want an https URL"},
		{name: "named issuer with a fragment", issuer: "{as}#x", as: goodAS, wantErr: "fragment"},
		{name: "named issuer not absolute", issuer: "as.example.com", as: goodAS, wantErr: "not an absolute URL"},
		{name: "resource_metadata with a non-http scheme", challenge: `Bearer resource_metadata="ftp://127.0.0.1/prm"`, wantErr: "not an http(s) URL"},
		{name: "resource_metadata file URL", challenge: `Bearer resource_metadata="file:///etc/passwd"`, wantErr: "not an http(s) URL"},
		{name: "resource_metadata relative", challenge: `Bearer resource_metadata="/prm"`, wantErr: "not an http(s) URL"},
		{
			name: "resource_metadata plain http on another, non-loopback origin", challenge: `Bearer resource_metadata="http://prm.example.com/prm"`,
			wantErr: "plain http on another origin",
		},
		{name: "no metadata anywhere", challenge: `Bearer realm="x"`, prm: func(_, _ string) reply { return reply{status: 404} }, wantErr: "issuerURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
				if tt.as == nil || !strings.HasPrefix(r.URL.Path, "/.well-known/") {
					http.NotFound(w, r)
					return
				}
				tt.as(s.URL).write(w)
			})
			mcp := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
				switch {
				case r.URL.Path == "/mcp":
					c := tt.challenge
					if c == "" {
						c = `Bearer resource_metadata="{mcp}/prm"`
					}
					w.Header().Set("WWW-Authenticate", strings.ReplaceAll(c, "{mcp}", s.URL))
					w.WriteHeader(401)
				case tt.prm != nil && (r.URL.Path == "/prm" || strings.HasPrefix(r.URL.Path, "/.well-known/oauth-protected-resource")):
					tt.prm(s.URL, as.URL).write(w)
				default:
					http.NotFound(w, r)
				}
			})
			issuer := strings.ReplaceAll(tt.issuer, "{as}", as.URL)
			d, err := testTransport(t).discover(context.Background(), mustURL(t, mcp.URL+"/mcp"), issuer)
			if err == nil {
				t.Fatalf("discovered %+v, want an error", d)
			}
			if k, tr := KindOf(err); k != KindDiscovery || (!tt.anyTransient && tr != tt.transient) {
				t.Fatalf("KindOf = (%q, transient %v), want (%q, %v); err: %v", k, tr, KindDiscovery, tt.transient, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %q, want it to contain %q", err, tt.wantErr)
			}
			if len(err.Error()) > 2000 {
				t.Errorf("error of %d bytes: unbounded", len(err.Error()))
			}
			if tt.challenge == "" && tt.issuer == "" {
				// The challenge named the metadata: no well-known URL is tried instead.
				for _, r := range mcp.log() {
					if strings.Contains(r, "/.well-known/") {
						t.Errorf("MCP requests %q: well-known tried despite resource_metadata", mcp.log())
						break
					}
				}
			}
		})
	}
}

func TestDiscoverDeniedMakesNoConnection(t *testing.T) {
	denied := newCountingListener(t, "127.0.0.2:0")
	mcp := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://`+denied.Addr().String()+`/.well-known/oauth-protected-resource"`)
		w.WriteHeader(401)
	})
	_, err := testTransport(t).discover(context.Background(), mustURL(t, mcp.URL+"/mcp"), "")
	wantKind(t, err, KindDiscovery, false)
	if !errors.Is(err, egress.ErrDenied) {
		t.Errorf("err %v, want egress.ErrDenied", err)
	}
	var de *egress.DeniedError
	if !errors.As(err, &de) || de.Addr.String() != "127.0.0.2" {
		t.Errorf("err %v, want a refusal of 127.0.0.2", err)
	}
	if n := denied.accepted.Load(); n != 0 {
		t.Errorf("the denied address received %d connections", n)
	}

	t.Run("named issuer denied", func(t *testing.T) {
		_, err := testTransport(t).discover(context.Background(), mustURL(t, mcp.URL+"/mcp"), "http://"+denied.Addr().String())
		wantKind(t, err, KindDiscovery, false)
		if !errors.Is(err, egress.ErrDenied) {
			t.Errorf("err %v, want egress.ErrDenied", err)
		}
		if n := denied.accepted.Load(); n != 0 {
			t.Errorf("the denied address received %d connections", n)
		}
	})
	t.Run("MCP endpoint denied", func(t *testing.T) {
		_, err := testTransport(t).discover(context.Background(), mustURL(t, "http://"+denied.Addr().String()+"/mcp"), "")
		wantKind(t, err, KindDiscovery, false)
		if !errors.Is(err, egress.ErrDenied) {
			t.Errorf("err %v, want egress.ErrDenied", err)
		}
		if n := denied.accepted.Load(); n != 0 {
			t.Errorf("the denied address received %d connections", n)
		}
	})
}

func TestDiscoverUnreachableEndpoint(t *testing.T) {
	l := listenAt(t, "127.0.0.1:0")
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	_, err := testTransport(t).discover(context.Background(), mustURL(t, "http://"+addr+"/mcp"), "")
	// Unreachable may pass: retried, not stalled.
	wantKind(t, err, KindDiscovery, true)
	if !strings.Contains(err.Error(), "probing the MCP endpoint") {
		t.Errorf("err %q", err)
	}
}

func TestPathPrefix(t *testing.T) {
	tests := []struct {
		resource, endpoint string
		want               bool
	}{
		{"", "/mcp", true},
		{"/", "/mcp", true},
		{"/mcp", "/mcp", true},
		{"/mcp/", "/mcp", true},
		{"/mcp", "/mcp/", true},
		{"/a", "/a/b", true},
		{"/a/", "/a/b", true},
		{"/a/b", "/a", false},
		{"/mc", "/mcp", false},
		{"/other", "/mcp", false},
	}
	for _, tt := range tests {
		if got := pathPrefix(tt.resource, tt.endpoint); got != tt.want {
			t.Errorf("pathPrefix(%q, %q) = %v, want %v", tt.resource, tt.endpoint, got, tt.want)
		}
	}
}

func TestBoundScopes(t *testing.T) {
	many := make([]string, 100)
	for i := range many {
		many[i] = "s" + strings.Repeat("x", i%5)
	}
	if got := boundScopes(many); len(got) != maxScopes {
		t.Errorf("%d scopes kept, want %d", len(got), maxScopes)
	}
	got := boundScopes([]string{"ok", "", "with space", `quo"te`, `back\slash`, "tab\t", strings.Repeat("l", 257), "é", "fine:scope"})
	if want := []string{"ok", "fine:scope"}; !slices.Equal(got, want) {
		t.Errorf("boundScopes = %q, want %q", got, want)
	}
}
