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

package registryapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

type tokens map[string]string // token → user

func (t tokens) AuthenticateRequest(r *http.Request) (*authenticator.Response, bool, error) {
	name, ok := t[r.Header.Get("Authorization")]
	if !ok {
		return nil, false, errors.New("invalid bearer token")
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: name}}, true, nil
}

type allow struct {
	user, verb, path string
	err              error
}

func (a allow) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.err != nil {
		return authorizer.DecisionNoOpinion, "", a.err
	}
	if attrs.GetUser().GetName() == a.user && attrs.GetVerb() == a.verb && attrs.GetPath() == a.path && !attrs.IsResourceRequest() {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func TestKubernetesAuth(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	authn := tokens{"Bearer good": "alice", "Bearer other": "bob"}
	for _, tc := range []struct {
		name, token string
		authz       allow
		want        int
	}{
		{"no token", "", allow{user: "alice", verb: "get", path: "/v0.1/servers"}, http.StatusUnauthorized},
		{"bad token", "Bearer bad", allow{user: "alice", verb: "get", path: "/v0.1/servers"}, http.StatusUnauthorized},
		{"allowed", "Bearer good", allow{user: "alice", verb: "get", path: "/v0.1/servers"}, http.StatusOK},
		{"not allowed", "Bearer other", allow{user: "alice", verb: "get", path: "/v0.1/servers"}, http.StatusForbidden},
		{"authorizer down", "Bearer good", allow{err: errors.New("timeout")}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Options{Reader: nil, Auth: func(next http.Handler) http.Handler {
				return authorize(authn, tc.authz, logr.Discard(), next)
			}})
			direct := authorize(authn, tc.authz, logr.Discard(), ok)
			req := httptest.NewRequest(http.MethodGet, "/v0.1/servers", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", tc.token)
			}
			rec := httptest.NewRecorder()
			direct.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			if tc.want == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			// The preflight is answered without a token.
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodOptions, "/v0.1/servers", nil))
			if rec.Code != http.StatusNoContent {
				t.Errorf("OPTIONS: %d, want 204", rec.Code)
			}
		})
	}
}
