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
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const timeout = 5 * time.Second

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func tokenValues(st *State) []string {
	var out []string
	for _, t := range st.Tokens {
		out = append(out, t.Value)
	}
	return out
}

func TestManagerWithoutEgress(t *testing.T) {
	_, _, err := (&Manager{}).Token(context.Background(), newMemStore(), Request{})
	if err == nil || !strings.Contains(err.Error(), "no Egress") {
		t.Fatalf("err %v", err)
	}
}

func TestTokenReuse(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	req := e.req(basicCreds("c", "c-SECRET"))
	g1, _ := e.token(req)
	g2, _ := e.token(req)
	if g2.AccessToken != g1.AccessToken {
		t.Errorf("second call got %q, want the recorded %q", g2.AccessToken, g1.AccessToken)
	}
	// A restarted manager on the same record reuses it too.
	m2 := &Manager{Egress: testEgress(t), Clock: e.clock}
	g3, _, err := m2.Token(context.Background(), e.store.handle(), req)
	if err != nil || g3.AccessToken != g1.AccessToken {
		t.Fatalf("restarted manager: %+v, %v", g3, err)
	}
	if n := len(e.tokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if n := len(e.mcp.log()); n != 2 {
		t.Errorf("MCP requests %q: discovery repeated", e.mcp.log())
	}
	if n := len(e.as.srv.requests(http.MethodGet, "/.well-known/oauth-authorization-server")); n != 1 {
		t.Errorf("%d metadata reads, want 1", n)
	}

	// Another scope is another token; the one it replaces is revoked.
	req.Scopes = []string{"other"}
	g4, _ := e.token(req)
	if g4.AccessToken == g1.AccessToken {
		t.Fatal("a token for other scopes reused")
	}
	if e.as.revokedCount(g1.AccessToken) != 1 {
		t.Errorf("the superseded token %q not revoked", g1.AccessToken)
	}
	if got := tokenValues(e.store.state(t)); !slices.Equal(got, []string{g4.AccessToken}) {
		t.Errorf("recorded %q", got)
	}
}

func TestTokenRenewal(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	req := e.req(basicCreds("c", "c-SECRET"))
	g1, _ := e.token(req)

	// Lifetime 1 h: renewed within its last tenth (6 min).
	e.clock.Step(50 * time.Minute)
	if g, _ := e.token(req); g.AccessToken != g1.AccessToken {
		t.Fatalf("renewed %v before expiry", g1.ExpiresAt.Sub(e.clock.Now()))
	}
	if n := len(e.tokenRequests()); n != 1 {
		t.Fatalf("%d token requests", n)
	}
	e.clock.Step(5 * time.Minute)
	g2, _ := e.token(req)
	if g2.AccessToken == g1.AccessToken {
		t.Fatal("not renewed 5 min before expiry")
	}
	if !g2.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("new expiry %v", g2.ExpiresAt)
	}
	rv := e.revokeRequests()
	if len(rv) != 1 || rv[0].Form.Get("token") != g1.AccessToken || rv[0].Form.Get("token_type_hint") != "access_token" ||
		rv[0].Authorization != basicAuth("c", "c-SECRET") {
		t.Errorf("revocations %+v, want the superseded token", rv)
	}
	if got := tokenValues(e.store.state(t)); !slices.Equal(got, []string{g2.AccessToken}) {
		t.Errorf("recorded %q", got)
	}
	if n := len(e.mcp.log()); n != 2 {
		t.Errorf("renewal rediscovered: %q", e.mcp.log())
	}
}

func TestTokenWithoutExpiryReused(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	e.as.set(func(a *fakeAS) { a.noExpiry = true })
	req := e.req(basicCreds("c", "c-SECRET"))
	g1, _ := e.token(req)
	e.clock.Step(400 * 24 * time.Hour)
	if g, _ := e.token(req); g.AccessToken != g1.AccessToken || !g.ExpiresAt.IsZero() {
		t.Errorf("got %+v", g)
	}
	p := Pending(e.store.state(t), e.clock.Now())
	if len(p) != 1 || !strings.Contains(p[0], "1 token (valid until revoked)") {
		t.Errorf("pending %q", p)
	}
}

func TestTokenRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("revoked and replaced", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		req := e.req(basicCreds("c", "c-SECRET"))
		g1, _ := e.token(req)
		req.Refused = g1.AccessToken
		g2, _ := e.token(req)
		if g2.AccessToken == g1.AccessToken {
			t.Fatal("the refused token was returned")
		}
		if n := len(e.mcp.requests(http.MethodGet, "/mcp")); n != 2 {
			t.Errorf("%d probes: a refusal rediscovers", n)
		}
		if e.as.revokedCount(g1.AccessToken) != 1 {
			t.Errorf("the refused token not revoked")
		}
		if got := tokenValues(e.store.state(t)); !slices.Equal(got, []string{g2.AccessToken}) {
			t.Errorf("recorded %q", got)
		}
	})

	t.Run("kept when its revocation fails, never reused", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		req := e.req(basicCreds("c", "c-SECRET"))
		g1, _ := e.token(req)
		e.as.set(func(a *fakeAS) { a.revokeStatus = func(string) int { return 500 } })
		req.Refused = g1.AccessToken
		g2, _ := e.token(req)
		st := e.store.state(t)
		if got := tokenValues(st); !slices.Equal(got, []string{g1.AccessToken, g2.AccessToken}) {
			t.Fatalf("recorded %q", got)
		}
		if !st.Tokens[0].Refused || st.Tokens[1].Refused {
			t.Errorf("refused flags %v %v", st.Tokens[0].Refused, st.Tokens[1].Refused)
		}
		req.Refused = ""
		if g, _ := e.token(req); g.AccessToken != g2.AccessToken {
			t.Errorf("got %q, want %q", g.AccessToken, g2.AccessToken)
		}

		e.as.set(func(a *fakeAS) { a.revokeStatus = nil })
		rep, err := e.m.Revoke(ctx, e.store, timeout)
		if err != nil || rep.Revoked != 2 {
			t.Fatalf("revoke %+v, %v", rep, err)
		}
		if e.as.revokedCount(g1.AccessToken) != 1 || e.as.revokedCount(g2.AccessToken) != 1 {
			t.Errorf("revocations %d %d", e.as.revokedCount(g1.AccessToken), e.as.revokedCount(g2.AccessToken))
		}
	})

	t.Run("a token the operator did not issue", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		req := e.req(basicCreds("c", "c-SECRET"))
		g1, _ := e.token(req)
		req.Refused = "someone-elses"
		g2, _ := e.token(req)
		if g2.AccessToken != g1.AccessToken {
			t.Errorf("got %q, want the recorded %q", g2.AccessToken, g1.AccessToken)
		}
		if n := len(e.revokeRequests()); n != 0 {
			t.Errorf("%d revocations", n)
		}
	})
}

func TestTokenClientChangeReleasesTheOldClient(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	gA, _ := e.token(e.req(basicCreds("client-a", "a-SECRET")))
	gB, _ := e.token(e.req(&Credentials{ClientID: "client-b", ClientSecret: "b-SECRET", Method: MethodClientSecretPost}))
	rv := e.revokeRequests()
	if len(rv) != 1 || rv[0].Form.Get("token") != gA.AccessToken || rv[0].Authorization != basicAuth("client-a", "a-SECRET") {
		t.Fatalf("revocations %+v: want client-a's token revoked with client-a's credentials", rv)
	}
	st := e.store.state(t)
	if st.ClientID != "client-b" || st.ClientSecret != "b-SECRET" || !slices.Equal(tokenValues(st), []string{gB.AccessToken}) {
		t.Errorf("state %+v", st)
	}

	// The delete revokes with what is recorded: client-b's credentials, posted.
	rep, err := e.m.Revoke(context.Background(), e.store, timeout)
	if err != nil || rep.Revoked != 1 {
		t.Fatalf("revoke %+v, %v", rep, err)
	}
	rv = e.revokeRequests()
	last := rv[len(rv)-1]
	if last.Form.Get("token") != gB.AccessToken || last.Authorization != "" || last.Form.Get("client_id") != "client-b" || last.Form.Get("client_secret") != "b-SECRET" {
		t.Errorf("revocation %+v", last)
	}
}

func TestTokenSecretRotationKeepsTokens(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	g1, _ := e.token(e.req(basicCreds("c", "old-SECRET")))
	g2, _ := e.token(e.req(basicCreds("c", "new-SECRET")))
	if g2.AccessToken != g1.AccessToken {
		t.Errorf("a rotated secret dropped the token")
	}
	if st := e.store.state(t); st.ClientSecret != "new-SECRET" {
		t.Errorf("recorded secret not updated")
	}
	if _, err := e.m.Revoke(context.Background(), e.store, timeout); err != nil {
		t.Fatal(err)
	}
	if rv := e.revokeRequests(); len(rv) != 1 || rv[0].Authorization != basicAuth("c", "new-SECRET") {
		t.Errorf("revocations %+v", rv)
	}
}

func TestTokenIssuerChange(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	other := newFakeAS(t)
	req := e.req(basicCreds("c", "c-SECRET"))
	req.IssuerURL = e.as.URL()
	g1, _ := e.token(req)
	req.IssuerURL = other.URL()
	g2, _ := e.token(req)
	if e.as.revokedCount(g1.AccessToken) != 1 {
		t.Errorf("the old server's token not revoked there")
	}
	if len(other.srv.requests(http.MethodPost, "/token")) != 1 || g2.Issuer != other.URL() {
		t.Errorf("grant %+v", g2)
	}
	st := e.store.state(t)
	if st.Issuer != other.URL() || st.RevocationEndpoint != other.URL()+"/revoke" || !slices.Equal(tokenValues(st), []string{g2.AccessToken}) {
		t.Errorf("state %+v", st)
	}
}

func TestTokenSaveFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("the new token cannot be recorded: revoked at once", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		e.store.failSave = func(st *State) error {
			if len(st.Tokens) > 0 {
				return errors.New("apiserver unavailable")
			}
			return nil
		}
		g, _, err := e.m.Token(ctx, e.store, e.req(basicCreds("c", "c-SECRET")))
		if g != nil || err == nil || !strings.Contains(err.Error(), "cannot record the new token") {
			t.Fatalf("grant %+v, err %v", g, err)
		}
		e.noSecrets("error", err)
		issued := e.as.issuedTokens()
		if len(issued) != 1 || e.as.revokedCount(issued[0]) != 1 {
			t.Errorf("issued %q, not revoked", issued)
		}
	})
	t.Run("another replica saved meanwhile", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		other := e.store.handle()
		e.store.failSave = func(*State) error {
			if _, err := other.Load(ctx); err != nil {
				return err
			}
			return other.Save(ctx, &State{ClientID: "theirs"})
		}
		_, _, err := e.m.Token(ctx, e.store, e.req(basicCreds("c", "c-SECRET")))
		if !errors.Is(err, errStale) {
			t.Fatalf("err %v, want the store's conflict", err)
		}
		if e.store.state(t).ClientID != "theirs" {
			t.Errorf("the other replica's state overwritten")
		}
	})
	t.Run("a registration that cannot be recorded", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		e.store.failSave = func(st *State) error {
			if st.registered() {
				return errors.New("apiserver unavailable")
			}
			return nil
		}
		_, out, err := e.m.Token(ctx, e.store, e.req(nil))
		if err == nil || !strings.Contains(err.Error(), `registered client "dyn-1"`) || !strings.Contains(err.Error(), "cannot record it") {
			t.Fatalf("err %v", err)
		}
		e.noSecrets("error", err)
		if out.Registered != "dyn-1" {
			t.Errorf("outcome %+v", out)
		}
		if n := len(e.tokenRequests()); n != 0 {
			t.Errorf("%d token requests", n)
		}
		// Not recorded, so de-registered at once.
		if dels := e.as.srv.requests(http.MethodDelete, "/register/dyn-1"); len(dels) != 1 || dels[0].Authorization != "Bearer rat-1-SECRET" {
			t.Errorf("de-registrations %+v", dels)
		}
	})
	t.Run("the state cannot be recorded before registering", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		e.store.failSave = func(*State) error { return errors.New("apiserver unavailable") }
		_, out, err := e.m.Token(ctx, e.store, e.req(nil))
		if err == nil || !strings.Contains(err.Error(), "apiserver unavailable") {
			t.Fatalf("err %v", err)
		}
		if out.Registered != "" || len(e.as.srv.requests(http.MethodPost, "/register")) != 0 {
			t.Errorf("registered %q without a record", out.Registered)
		}
	})
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, mcpOptions{})
	e.as.set(func(a *fakeAS) { a.refresh = true })
	g, _ := e.token(e.req(basicCreds("c", "c-SECRET")))
	issued := e.as.issuedTokens() // access, refresh
	if len(issued) != 2 || g.AccessToken != issued[0] {
		t.Fatalf("issued %q", issued)
	}
	if st := e.store.state(t); len(st.Tokens) != 2 || st.Tokens[1].Hint != "refresh_token" {
		t.Fatalf("recorded %+v", st.Tokens)
	}
	p := Pending(e.store.state(t), e.clock.Now())
	if len(p) != 1 || !strings.Contains(p[0], `revoke 2 tokens (valid until revoked) issued to client "c" by `+e.as.URL()+" at "+e.as.URL()+"/revoke") {
		t.Errorf("pending %q", p)
	}

	rep, err := e.m.Revoke(ctx, e.store, timeout)
	if err != nil {
		t.Fatal(err)
	}
	e.noSecrets("report", rep)
	want := Report{Revoked: 2, RevocationEndpoint: e.as.URL() + "/revoke"}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	rv := e.revokeRequests()
	if len(rv) != 2 {
		t.Fatalf("%d revocations", len(rv))
	}
	for i, hint := range []string{"access_token", "refresh_token"} {
		if rv[i].Form.Get("token") != issued[i] || rv[i].Form.Get("token_type_hint") != hint || rv[i].Authorization != basicAuth("c", "c-SECRET") {
			t.Errorf("revocation %d: %+v", i, rv[i])
		}
	}
	st := e.store.state(t)
	if len(st.Tokens) != 0 || st.ClientSecret != "" {
		t.Errorf("state after revoke %+v", st)
	}
	if p := Pending(st, e.clock.Now()); len(p) != 0 {
		t.Errorf("pending %q", p)
	}

	rep, err = e.m.Revoke(ctx, e.store, timeout)
	if err != nil || rep.Revoked != 0 {
		t.Errorf("second revoke %+v, %v", rep, err)
	}
	if n := len(e.revokeRequests()); n != 2 {
		t.Errorf("%d revocations after a second revoke", n)
	}
}

func TestRevokeNothingRecorded(t *testing.T) {
	m := &Manager{Egress: testEgress(t)}
	rep, err := m.Revoke(context.Background(), newMemStore(), timeout)
	if err != nil || rep != (Report{}) {
		t.Errorf("%+v, %v", rep, err)
	}
	what, err := m.Abandon(context.Background(), newMemStore())
	if err != nil || what != "" {
		t.Errorf("abandon %q, %v", what, err)
	}
}

func TestRevokeSkipsExpiredTokens(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	e.token(e.req(basicCreds("c", "c-SECRET")))
	e.clock.Step(time.Hour + clockSkew + time.Second)
	rep, err := e.m.Revoke(context.Background(), e.store, timeout)
	if err != nil || rep.Revoked != 0 {
		t.Errorf("%+v, %v", rep, err)
	}
	if n := len(e.revokeRequests()); n != 0 {
		t.Errorf("%d revocations of an expired token", n)
	}
}

func TestRevokeAuthorizationServerDown(t *testing.T) {
	for _, mode := range []string{"503", "closed"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, mcpOptions{})
			e.as.set(func(a *fakeAS) { a.refresh = true })
			e.token(e.req(basicCreds("c", "c-SECRET")))
			issued := e.as.issuedTokens()
			access, refresh := issued[0], issued[1]
			endpoint := e.as.URL() + "/revoke"

			switch mode {
			case "503":
				e.as.set(func(a *fakeAS) { a.revokeStatus = func(string) int { return 503 } })
			case "closed":
				e.as.srv.Close()
			}
			rep, err := e.m.Revoke(ctx, e.store, timeout)
			if err == nil || !strings.Contains(err.Error(), "revoking credentials at "+endpoint) {
				t.Fatalf("err %v", err)
			}
			wantKind(t, err, KindAuthentication, true)
			e.noSecrets("error", err)
			e.noSecrets("report", rep)
			if rep.Revoked != 0 || !strings.Contains(rep.Remaining, "2 tokens") || !strings.Contains(rep.Remaining, "issued by "+e.as.URL()) {
				t.Errorf("report %+v", rep)
			}
			if got := tokenValues(e.store.state(t)); !slices.Equal(got, []string{access, refresh}) {
				t.Errorf("recorded %q", got)
			}

			// Half-way: the access token revoked, the refresh token refused.
			if mode == "closed" {
				e.as.restart(t)
			}
			e.as.set(func(a *fakeAS) {
				a.revokeStatus = func(tok string) int {
					if tok == refresh {
						return 503
					}
					return 0
				}
			})
			rep, err = e.m.Revoke(ctx, e.store, timeout)
			if err == nil || rep.Revoked != 1 || !strings.Contains(rep.Remaining, "1 token ") {
				t.Fatalf("report %+v, err %v", rep, err)
			}
			if got := tokenValues(e.store.state(t)); !slices.Equal(got, []string{refresh}) {
				t.Errorf("recorded %q", got)
			}

			e.as.set(func(a *fakeAS) { a.revokeStatus = nil })
			rep, err = e.m.Revoke(ctx, e.store, timeout)
			if err != nil || rep.Revoked != 1 || rep.Remaining != "" {
				t.Fatalf("report %+v, err %v", rep, err)
			}
			if e.as.revokedCount(access) != 1 || e.as.revokedCount(refresh) != 1 {
				t.Errorf("revoked access %d, refresh %d times; want once each", e.as.revokedCount(access), e.as.revokedCount(refresh))
			}
			var attempts []string
			for _, r := range e.as.srv.requests(http.MethodPost, "/revoke") {
				attempts = append(attempts, r.Form.Get("token"))
			}
			want := []string{access, refresh, refresh} // after the restart (or through the 503s)
			if mode == "503" {
				want = []string{access, access, refresh, refresh}
			}
			if !slices.Equal(attempts, want) {
				t.Errorf("revocation attempts %q, want %q", attempts, want)
			}
			if st := e.store.state(t); len(st.Tokens) != 0 {
				t.Errorf("recorded %+v", st.Tokens)
			}
		})
	}
}

func TestRevokeWithoutRevocationEndpoint(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	e.as.set(func(a *fakeAS) { a.noRevocation = true })
	req := e.req(basicCreds("c", "c-SECRET"))
	g1, _ := e.token(req)
	// Renewal cannot revoke the old token: it stays recorded.
	e.clock.Step(58 * time.Minute)
	g2, _ := e.token(req)
	if got := tokenValues(e.store.state(t)); !slices.Equal(got, []string{g1.AccessToken, g2.AccessToken}) {
		t.Fatalf("recorded %q", got)
	}
	p := Pending(e.store.state(t), e.clock.Now())
	if len(p) != 1 || !strings.Contains(p[0], "revoke 2 tokens (valid until ") || !strings.Contains(p[0], "(no revocation endpoint: they stay valid until they expire)") {
		t.Errorf("pending %q", p)
	}

	rep, err := e.m.Revoke(context.Background(), e.store, timeout)
	if err != nil {
		t.Fatal(err)
	}
	e.noSecrets("report", rep)
	if rep.Revoked != 0 || rep.RevocationEndpoint != "" || rep.Remaining != "" ||
		!strings.Contains(rep.Unrevocable, "2 tokens (valid until "+g2.ExpiresAt.UTC().Format(time.RFC3339)+" at the latest)") ||
		!strings.Contains(rep.Unrevocable, "offers no revocation endpoint") {
		t.Errorf("report %+v", rep)
	}
	if n := len(e.revokeRequests()); n != 0 {
		t.Errorf("%d revocations", n)
	}
	if st := e.store.state(t); len(st.Tokens) != 0 || Pending(st, e.clock.Now()) != nil {
		t.Errorf("state after revoke %+v", st)
	}
}

func TestRevokeDynamicClient(t *testing.T) {
	for _, tt := range []struct {
		status int
		// cannot: the server does not let the client delete itself (reported, not retried).
		cannot bool
	}{{204, false}, {200, false}, {401, false}, {404, false}, {410, false}, {403, true}, {405, true}} {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			e := newEnv(t, mcpOptions{})
			g, _ := e.token(e.req(nil))
			e.as.set(func(a *fakeAS) { a.deregStatus = tt.status })
			rep, err := e.m.Revoke(context.Background(), e.store, timeout)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Revoked != 1 || e.as.revokedCount(g.AccessToken) != 1 || rep.Remaining != "" {
				t.Errorf("report %+v", rep)
			}
			switch {
			case tt.cannot && (rep.Deregistered != "" || !strings.Contains(rep.Unrevocable, `client "dyn-1"`) || !strings.Contains(rep.Unrevocable, "cannot be de-registered")):
				t.Errorf("report %+v", rep)
			case !tt.cannot && (rep.Deregistered != "dyn-1" || rep.Unrevocable != ""):
				t.Errorf("report %+v", rep)
			}
			e.noSecrets("report", rep)
			if st := e.store.state(t); st.registered() || st.RegistrationAccessToken != "" || st.ClientSecret != "" {
				t.Errorf("state %+v", st)
			}
		})
	}

	t.Run("de-registration fails, then succeeds", func(t *testing.T) {
		ctx := context.Background()
		e := newEnv(t, mcpOptions{})
		g, _ := e.token(e.req(nil))
		e.as.set(func(a *fakeAS) { a.deregStatus = 500 })
		rep, err := e.m.Revoke(ctx, e.store, timeout)
		if err == nil || !strings.Contains(err.Error(), `de-registering client "dyn-1" at `+e.as.URL()+"/register/dyn-1") {
			t.Fatalf("err %v", err)
		}
		e.noSecrets("error", err)
		e.noSecrets("report", rep)
		if rep.Revoked != 1 || rep.Deregistered != "" || !strings.Contains(rep.Remaining, `client "dyn-1" not de-registered`) || strings.Contains(rep.Remaining, "token") {
			t.Errorf("report %+v", rep)
		}
		st := e.store.state(t)
		if len(st.Tokens) != 0 || !st.registered() || st.RegistrationAccessToken == "" {
			t.Errorf("state %+v", st)
		}
		if p := Pending(st, e.clock.Now()); len(p) != 1 || !strings.Contains(p[0], "de-register dynamic client") {
			t.Errorf("pending %q", p)
		}

		e.as.set(func(a *fakeAS) { a.deregStatus = 0 })
		rep, err = e.m.Revoke(ctx, e.store, timeout)
		if err != nil || rep.Revoked != 0 || rep.Deregistered != "dyn-1" {
			t.Fatalf("report %+v, err %v", rep, err)
		}
		if e.as.revokedCount(g.AccessToken) != 1 || len(e.revokeRequests()) != 1 {
			t.Errorf("the token revoked again")
		}
		if n := len(e.as.srv.requests(http.MethodDelete, "/register/dyn-1")); n != 2 {
			t.Errorf("%d de-registrations", n)
		}
	})
}

func TestAbandon(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, mcpOptions{})
	e.token(e.req(nil))
	e.as.set(func(a *fakeAS) { a.revokeStatus = func(string) int { return 503 } })
	rep, err := e.m.Revoke(ctx, e.store, timeout)
	if err == nil {
		t.Fatal("revoke succeeded with the server down")
	}
	what, err := e.m.Abandon(ctx, e.store)
	if err != nil {
		t.Fatal(err)
	}
	if what != rep.Remaining || !strings.Contains(what, "1 token (valid until ") || !strings.Contains(what, `client "dyn-1" not de-registered at `+e.as.URL()+"/register/dyn-1") {
		t.Errorf("abandoned %q; remaining was %q", what, rep.Remaining)
	}
	e.noSecrets("abandon", what)
	st := e.store.state(t)
	if len(st.Tokens) != 0 || st.RegistrationAccessToken != "" || st.ClientSecret != "" || st.Source != "" {
		t.Errorf("state after abandon %+v", st)
	}
	if p := Pending(st, e.clock.Now()); p != nil {
		t.Errorf("pending %q", p)
	}
	before := len(e.as.srv.log())
	if rep, err := e.m.Revoke(ctx, e.store, timeout); err != nil || rep.Revoked != 0 || rep.Deregistered != "" {
		t.Errorf("revoke after abandon %+v, %v", rep, err)
	}
	if n := len(e.as.srv.log()) - before; n != 0 {
		t.Errorf("%d requests after abandon", n)
	}
}

func TestPending(t *testing.T) {
	now := t0
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	tok := func(v string, exp *time.Time) IssuedToken {
		return IssuedToken{Value: v, Hint: "access_token", ClientID: "c", IssuedAt: now.Add(-time.Hour), ExpiresAt: exp}
	}
	base := State{Issuer: "https://as.example.com", RevocationEndpoint: "https://as.example.com/revoke", ClientID: "c", ClientSecret: "s-SECRET"}
	with := func(f func(s *State)) *State { s := base; f(&s); return &s }
	tests := []struct {
		name  string
		state *State
		want  []string
	}{
		{name: "nil", state: nil, want: nil},
		{name: "empty", state: &State{}, want: nil},
		{name: "no tokens", state: with(func(*State) {}), want: nil},
		{
			name:  "one token",
			state: with(func(s *State) { s.Tokens = []IssuedToken{tok("t1-SECRET", at(time.Hour))} }),
			want:  []string{`revoke 1 token (valid until 2026-01-02T04:04:05Z at the latest) issued to client "c" by https://as.example.com at https://as.example.com/revoke`},
		},
		{
			name: "the latest expiry",
			state: with(func(s *State) {
				s.Tokens = []IssuedToken{tok("t1-SECRET", at(2*time.Hour)), tok("t2-SECRET", at(time.Hour))}
			}),
			want: []string{`revoke 2 tokens (valid until 2026-01-02T05:04:05Z at the latest) issued to client "c" by https://as.example.com at https://as.example.com/revoke`},
		},
		{
			name:  "one without expiry",
			state: with(func(s *State) { s.Tokens = []IssuedToken{tok("t1-SECRET", at(time.Hour)), tok("t2-SECRET", nil)} }),
			want:  []string{`revoke 2 tokens (valid until revoked) issued to client "c" by https://as.example.com at https://as.example.com/revoke`},
		},
		{
			name:  "expired beyond the clock skew: nothing",
			state: with(func(s *State) { s.Tokens = []IssuedToken{tok("t1-SECRET", at(-2*clockSkew))} }),
			want:  nil,
		},
		{
			name:  "expired within the clock skew: still listed",
			state: with(func(s *State) { s.Tokens = []IssuedToken{tok("t1-SECRET", at(-clockSkew/2))} }),
			want:  []string{`revoke 1 token issued to client "c" by https://as.example.com at https://as.example.com/revoke`},
		},
		{
			name:  "no revocation endpoint",
			state: with(func(s *State) { s.RevocationEndpoint = ""; s.Tokens = []IssuedToken{tok("t1-SECRET", nil)} }),
			want:  []string{`revoke 1 token (valid until revoked) issued to client "c" by https://as.example.com (no revocation endpoint: they stay valid until they expire)`},
		},
		{
			name: "dynamic client, its URI redacted",
			state: with(func(s *State) {
				s.Source, s.ClientID, s.RegistrationAccessToken = SourceDynamic, "dyn", "rat-SECRET"
				s.RegistrationClientURI = "https://user:pw-SECRET@as.example.com/register/dyn?access=q-SECRET#f"
			}),
			want: []string{`de-register dynamic client "dyn" at https://as.example.com/register/dyn`},
		},
		{
			name: "dynamic client without a registration access token: nothing to de-register",
			state: with(func(s *State) {
				s.Source, s.ClientID, s.RegistrationClientURI = SourceDynamic, "dyn", "https://as.example.com/register/dyn"
			}),
			want: nil,
		},
		{
			name: "tokens and a dynamic client",
			state: with(func(s *State) {
				s.Source, s.ClientID, s.RegistrationAccessToken = SourceDynamic, "dyn", "rat-SECRET"
				s.RegistrationClientURI = "https://as.example.com/register/dyn"
				s.Tokens = []IssuedToken{tok("t1-SECRET", nil)}
			}),
			want: []string{
				`revoke 1 token (valid until revoked) issued to client "dyn" by https://as.example.com at https://as.example.com/revoke`,
				`de-register dynamic client "dyn" at https://as.example.com/register/dyn`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Pending(tt.state, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Pending (-want +got):\n%s", diff)
			}
			assertNoSecrets(t, "pending", strings.Join(got, "\n"), "SECRET")
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name  string
		state State
		keys  []string
	}{
		{name: "empty", state: State{}, keys: nil},
		{
			name: "pre-registered, with tokens",
			state: State{
				Issuer: "https://as.example.com", TokenEndpoint: "https://as.example.com/token", RevocationEndpoint: "https://as.example.com/revoke",
				Endpoint: "https://mcp.example.com/mcp", DiscoveredScopes: []string{"a", "b:c"},
				Source: SourceSecret, ClientID: "c", ClientSecret: "s", Method: MethodClientSecretPost,
				Tokens: []IssuedToken{
					{Value: "t1", Hint: "access_token", ClientID: "c", Resource: "https://mcp.example.com/mcp", Scope: "a b:c", IssuedAt: t0, ExpiresAt: &exp, Refused: true},
					{Value: "t2", Hint: "refresh_token", ClientID: "c", IssuedAt: t0},
				},
			},
			keys: []string{KeyIssuer, KeyTokenEndpoint, KeyRevocationEndpoint, KeyEndpoint, KeyDiscoveredScopes, KeyClientSource, KeyClientID, KeyClientSecret, KeyAuthMethod, KeyTokens},
		},
		{
			name: "private key",
			state: State{
				Issuer: "https://as.example.com", TokenEndpoint: "https://as.example.com/token",
				Source: SourcePrivateKey, ClientID: "c", Method: MethodPrivateKeyJWT,
				KeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), KeyID: "kid",
			},
			keys: []string{KeyIssuer, KeyTokenEndpoint, KeyClientSource, KeyClientID, KeyAuthMethod, KeyPrivateKey, KeyKeyID},
		},
		{
			name: "dynamic",
			state: State{
				Issuer: "https://as.example.com", TokenEndpoint: "https://as.example.com/token", RegistrationEndpoint: "https://as.example.com/register",
				Source: SourceDynamic, ClientID: "dyn", ClientSecret: "s", Method: MethodClientSecretBasic,
				RegistrationAccessToken: "rat", RegistrationClientURI: "https://as.example.com/register/dyn",
			},
			keys: []string{KeyIssuer, KeyTokenEndpoint, KeyRegistrationEndpoint, KeyClientSource, KeyClientID, KeyClientSecret, KeyAuthMethod,
				KeyRegistrationAccessToken, KeyRegistrationClientURI},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.state.Data()
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			want := slices.Clone(tt.keys)
			slices.Sort(want)
			if !slices.Equal(keys, want) {
				t.Errorf("keys %q, want %q", keys, want)
			}
			got, err := StateFromData(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.state, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("unreadable tokens", func(t *testing.T) {
		_, err := StateFromData(map[string][]byte{KeyTokens: []byte("{not json")})
		if err == nil || !strings.Contains(err.Error(), KeyTokens) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("nil data", func(t *testing.T) {
		st, err := StateFromData(nil)
		if err != nil || st == nil || st.ClientID != "" || len(st.Tokens) != 0 {
			t.Errorf("%+v, %v", st, err)
		}
	})
}

func TestStatePrune(t *testing.T) {
	mk := func(n int) *State {
		st := &State{}
		exp := t0.Add(time.Hour)
		for i := range n {
			// Recorded newest first: prune sorts them.
			st.Tokens = append(st.Tokens, IssuedToken{Value: "t" + strconv.Itoa(n-1-i), Hint: "access_token", IssuedAt: t0.Add(time.Duration(n-1-i) * time.Second), ExpiresAt: &exp})
		}
		expired := t0.Add(-time.Hour)
		st.Tokens = append(st.Tokens, IssuedToken{Value: "old", IssuedAt: t0.Add(-2 * time.Hour), ExpiresAt: &expired})
		return st
	}

	st := mk(maxRecordedTokens + 3)
	overflow := st.prune(t0)
	if len(st.Tokens) != maxRecordedTokens+3 || len(overflow) != 3 {
		t.Fatalf("kept %d, overflow %d: the overflow stays recorded until revoked", len(st.Tokens), len(overflow))
	}
	for i, o := range overflow {
		if o.Value != "t"+strconv.Itoa(i) {
			t.Errorf("overflow %d = %q: want the oldest", i, o.Value)
		}
	}
	for i, k := range st.Tokens {
		if k.Value == "old" {
			t.Error("expired token kept")
		}
		if k.Value != "t"+strconv.Itoa(i) {
			t.Errorf("token %d = %q: not oldest first", i, k.Value)
		}
	}
	if st.cap() {
		t.Error("cap dropped tokens below the hard bound")
	}

	st = mk(hardMaxTokens + 2)
	st.prune(t0)
	if !st.cap() || len(st.Tokens) != hardMaxTokens || st.Tokens[0].Value != "t2" {
		t.Errorf("after cap: %d tokens, oldest %q", len(st.Tokens), st.Tokens[0].Value)
	}
}

// switchableMCP is a protected MCP endpoint whose metadata names the authorization server asURL
// currently holds.
func switchableMCP(t *testing.T, first string) (*recServer, func(string)) {
	var mu sync.Mutex
	asURL := first
	srv := newRecServer(t, func(s *recServer, w http.ResponseWriter, r *http.Request, _ recorded) {
		mu.Lock()
		as := asURL
		mu.Unlock()
		switch r.URL.Path {
		case "/mcp":
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+s.URL+`/.well-known/oauth-protected-resource/mcp"`)
			w.WriteHeader(401)
		case "/.well-known/oauth-protected-resource/mcp":
			writeJSON(w, 200, map[string]any{"resource": s.URL + "/mcp", "authorization_servers": []string{as}})
		default:
			http.NotFound(w, r)
		}
	})
	return srv, func(u string) { mu.Lock(); asURL = u; mu.Unlock() }
}

func TestTokenDiscoveredIssuerChangeRefused(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	other := newFakeAS(t)
	mcp, point := switchableMCP(t, e.as.URL())
	e.mcp = mcp
	req := e.req(basicCreds("c", "c-SECRET"))
	g1, _ := e.token(req)

	// The MCP server now names another authorization server: the client's credentials do not
	// follow it there.
	point(other.URL())
	req.Refused = g1.AccessToken
	_, _, err := e.m.Token(context.Background(), e.store, req)
	wantKind(t, err, KindDiscovery, false)
	if !strings.Contains(err.Error(), "issuerURL") || !strings.Contains(err.Error(), other.URL()) {
		t.Errorf("err %q", err)
	}
	e.noSecrets("error", err)
	for _, path := range []string{"/token", "/revoke", "/register"} {
		if n := len(other.srv.requests(http.MethodPost, path)); n != 0 {
			t.Errorf("%d requests to the new server's %s", n, path)
		}
	}
	st := e.store.state(t)
	if st.Issuer != e.as.URL() || len(st.Tokens) != 1 || !st.Tokens[0].Refused {
		t.Errorf("state %+v", st)
	}

	// Named on purpose, the move happens: the old token revoked at the old server.
	req.IssuerURL = other.URL()
	g2, out := e.token(req)
	if g2.Issuer != other.URL() || out.Abandoned != "" || e.as.revokedCount(g1.AccessToken) != 1 {
		t.Errorf("grant %+v, outcome %+v", g2, out)
	}
}

func TestTokenIssuerMoveAbandons(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	other := newFakeAS(t)
	req := e.req(basicCreds("c", "c-SECRET"))
	req.IssuerURL = e.as.URL()
	e.token(req)
	e.as.set(func(a *fakeAS) { a.revokeStatus = func(string) int { return 503 } })
	req.IssuerURL = other.URL()
	g, out := e.token(req)
	if g.Issuer != other.URL() {
		t.Errorf("grant %+v", g)
	}
	if !strings.Contains(out.Abandoned, "1 token (valid until ") || !strings.Contains(out.Abandoned, "issued by "+e.as.URL()) {
		t.Errorf("abandoned %q", out.Abandoned)
	}
	e.noSecrets("outcome", out)
	if got := tokenValues(e.store.state(t)); !slices.Equal(got, []string{g.AccessToken}) {
		t.Errorf("recorded %q", got)
	}
}

func TestTokenClientSwitchWaitsForRevocation(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	gA, _ := e.token(e.req(basicCreds("client-a", "a-SECRET")))
	e.as.set(func(a *fakeAS) { a.revokeStatus = func(string) int { return 503 } })
	reqB := e.req(basicCreds("client-b", "b-SECRET"))
	_, _, err := e.m.Token(context.Background(), e.store, reqB)
	wantKind(t, err, KindAuthentication, true)
	if !strings.Contains(err.Error(), `from "client-a" to "client-b"`) {
		t.Errorf("err %q", err)
	}
	e.noSecrets("error", err)
	if n := len(e.tokenRequests()); n != 1 {
		t.Errorf("%d token requests: the new client used before the old one is released", n)
	}
	st := e.store.state(t)
	if st.ClientID != "client-a" || st.ClientSecret != "a-SECRET" || !slices.Equal(tokenValues(st), []string{gA.AccessToken}) {
		t.Errorf("state %+v: the old client forgotten", st)
	}

	e.as.set(func(a *fakeAS) { a.revokeStatus = nil })
	gB, _ := e.token(reqB)
	if gB.ClientID != "client-b" || e.as.revokedCount(gA.AccessToken) != 1 {
		t.Errorf("grant %+v", gB)
	}
}

func TestRevokeUnsupportedTokenType(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	e.as.set(func(a *fakeAS) { a.refresh = true })
	e.token(e.req(basicCreds("c", "c-SECRET")))
	issued := e.as.issuedTokens()
	e.as.set(func(a *fakeAS) {
		a.revokeBody = `{"error":"unsupported_token_type"}`
		a.revokeStatus = func(tok string) int {
			if tok == issued[1] {
				return 400
			}
			return 0
		}
	})
	rep, err := e.m.Revoke(context.Background(), e.store, timeout)
	if err != nil {
		t.Fatal(err)
	}
	e.noSecrets("report", rep)
	if rep.Revoked != 1 || !strings.Contains(rep.Unrevocable, "1 token") || !strings.Contains(rep.Unrevocable, "unsupported_token_type") || rep.Remaining != "" {
		t.Errorf("report %+v", rep)
	}
	if st := e.store.state(t); len(st.Tokens) != 0 {
		t.Errorf("recorded %+v", st.Tokens)
	}

	t.Run("another 400 is a failure", func(t *testing.T) {
		e := newEnv(t, mcpOptions{})
		e.token(e.req(basicCreds("c", "c-SECRET")))
		e.as.set(func(a *fakeAS) {
			a.revokeBody = `{"error":"invalid_request"}`
			a.revokeStatus = func(string) int { return 400 }
		})
		rep, err := e.m.Revoke(context.Background(), e.store, timeout)
		wantKind(t, err, KindAuthentication, false)
		if !strings.Contains(err.Error(), "invalid_request") || rep.Remaining == "" {
			t.Errorf("report %+v, err %v", rep, err)
		}
		e.noSecrets("error", err)
	})
}

func TestRevoke204(t *testing.T) {
	e := newEnv(t, mcpOptions{})
	e.token(e.req(basicCreds("c", "c-SECRET")))
	e.as.set(func(a *fakeAS) { a.revokeStatus = func(string) int { return 204 } })
	if rep, err := e.m.Revoke(context.Background(), e.store, timeout); err != nil || rep.Revoked != 1 {
		t.Errorf("report %+v, err %v", rep, err)
	}
}
