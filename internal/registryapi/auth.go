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
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	authenticationv1 "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1 "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
)

// Access modes of --registry-auth.
const (
	// AuthNone serves every caller (put an Ingress or a gateway in front).
	AuthNone = "None"
	// AuthKubernetes requires a bearer token the API server authenticates (TokenReview) and
	// authorizes (SubjectAccessReview) for verb get on the request's non-resource URL, as the
	// metrics endpoint does: grant nonResourceURLs ["/v0.1/*"], verbs ["get"]
	// (config/rbac/registry_reader_role.yaml).
	AuthKubernetes = "Kubernetes"
)

// KubernetesAuth returns the middleware of AuthKubernetes. Reviews are cached (a minute for
// tokens, five minutes for allowed and 30 seconds for denied requests), so a client polling the
// registry costs the API server little.
func KubernetesAuth(cfg *rest.Config, httpClient *http.Client, log logr.Logger) (func(http.Handler) http.Handler, error) {
	authn, err := authenticationv1.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationv1.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	backoff := &wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
	authenticator, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserver.AnonymousAuthConfig{Enabled: false},
		CacheTTL:                 time.Minute,
		TokenAccessReviewClient:  authn,
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      backoff,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("cannot create the registry authenticator: %w", err)
	}
	authorizer, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: authz,
		AllowCacheTTL:             5 * time.Minute,
		DenyCacheTTL:              30 * time.Second,
		WebhookRetryBackoff:       backoff,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("cannot create the registry authorizer: %w", err)
	}
	return func(next http.Handler) http.Handler { return authorize(authenticator, authorizer, log, next) }, nil
}

func authorize(authn authenticator.Request, authz authorizer.UnconditionalAuthorizer, log logr.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok, err := authn.AuthenticateRequest(r)
		if err != nil && !ok {
			log.V(4).Info("Registry request not authenticated", "error", err.Error())
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcp-registry"`)
			writeError(w, http.StatusUnauthorized, "Unauthorized: send a Kubernetes bearer token (Authorization: Bearer <token>)")
			return
		}
		verb := "get" // HEAD reads as GET; the write endpoints are refused after authorization
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			verb = map[string]string{http.MethodPost: "post", http.MethodPut: "put", http.MethodPatch: "patch", http.MethodDelete: "delete"}[r.Method]
			if verb == "" {
				verb = "get"
			}
		}
		decision, _, err := authz.Authorize(r.Context(), authorizer.AttributesRecord{User: res.User, Verb: verb, Path: r.URL.Path})
		if err != nil {
			log.Error(err, "Cannot authorize a registry request", "user", res.User.GetName())
			writeError(w, http.StatusServiceUnavailable, "Authorization is unavailable right now; retry shortly")
			return
		}
		if decision != authorizer.DecisionAllow {
			writeError(w, http.StatusForbidden, fmt.Sprintf("Forbidden: user %q may not %s %s", res.User.GetName(), verb, r.URL.Path))
			return
		}
		next.ServeHTTP(w, r)
	})
}
