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

package controller

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/oauth"
)

// credentialsSecretType is the type of the Secret the operator owns for an OAuth2 MCPServer.
const credentialsSecretType corev1.SecretType = "mcp.toolregistry.io/oauth2-credentials"

// credentialsSecretName is the name of the Secret the operator owns for an OAuth2 MCPServer: its
// dynamic client, and what revoking its tokens needs.
func credentialsSecretName(server *mcpv1alpha1.MCPServer) string {
	return server.Name + "-oauth2"
}

// credentialsStore keeps an MCPServer's OAuth state in the Secret it owns, read live (Secret data
// is never cached) and written with optimistic concurrency.
type credentialsStore struct {
	client client.Client
	reader client.Reader
	server *mcpv1alpha1.MCPServer
	clock  func() time.Time
	// loaded is the Secret as last read; nil when absent.
	loaded *corev1.Secret
}

var _ oauth.Store = &credentialsStore{}

func (r *MCPServerReconciler) credentialsStore(server *mcpv1alpha1.MCPServer) *credentialsStore {
	return &credentialsStore{client: r.Client, reader: r.APIReader, server: server, clock: r.Clock.Now}
}

// errNotOwned is a Secret of the credentials Secret's name that this server does not control.
type errNotOwned struct{ name string }

func (e *errNotOwned) Error() string {
	return fmt.Sprintf("Secret %q exists and is not this MCPServer's: the operator keeps an OAuth2 MCPServer's credentials in a Secret of that name, "+
		"and never touches a Secret it does not own; rename or remove it", e.name)
}

func (s *credentialsStore) Load(ctx context.Context) (*oauth.State, error) {
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: s.server.Namespace, Name: credentialsSecretName(s.server)}
	if err := s.reader.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			s.loaded = nil
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read Secret %q: %w", key.Name, err)
	}
	if !metav1.IsControlledBy(secret, s.server) {
		return nil, &errNotOwned{key.Name}
	}
	s.loaded = secret
	st, err := oauth.StateFromData(secret.Data)
	if err != nil {
		return nil, fmt.Errorf("Secret %q holds an unreadable OAuth state: %w", key.Name, err)
	}
	return st, nil
}

func (s *credentialsStore) Save(ctx context.Context, st *oauth.State) error {
	data, err := st.Data()
	if err != nil {
		return err
	}
	pending := strings.Join(oauth.Pending(st, s.clock()), "; ")
	if s.loaded == nil {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: s.server.Namespace, Name: credentialsSecretName(s.server),
				Labels: map[string]string{mcpv1alpha1.ServerLabel: s.server.Name},
			},
			Type: credentialsSecretType,
			Data: data,
		}
		secret.Finalizers = []string{mcpv1alpha1.CredentialsFinalizer}
		setPending(secret, pending)
		if err := controllerutil.SetControllerReference(s.server, secret, s.client.Scheme()); err != nil {
			return err
		}
		if err := s.client.Create(ctx, secret); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("cannot create Secret %q: it appeared meanwhile (retrying): %w", secret.Name, err)
			}
			return fmt.Errorf("cannot create Secret %q: %w", secret.Name, err)
		}
		s.loaded = secret
		return nil
	}
	before := s.loaded.DeepCopy()
	s.loaded.Data = data
	setPending(s.loaded, pending)
	if s.loaded.DeletionTimestamp.IsZero() {
		controllerutil.AddFinalizer(s.loaded, mcpv1alpha1.CredentialsFinalizer)
	}
	if err := s.client.Patch(ctx, s.loaded, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("cannot update Secret %q: %w", s.loaded.Name, err)
	}
	return nil
}

// release removes the operator's finalizer from the credentials Secret, once nothing it records
// needs revoking (the Secret as this store last read or wrote it; absent: nothing to do).
func (s *credentialsStore) release(ctx context.Context) error {
	secret := s.loaded // as the last Load or Save left it: no other read
	if secret == nil || !controllerutil.ContainsFinalizer(secret, mcpv1alpha1.CredentialsFinalizer) {
		return nil
	}
	before := secret.DeepCopy()
	controllerutil.RemoveFinalizer(secret, mcpv1alpha1.CredentialsFinalizer)
	if err := s.client.Patch(ctx, secret, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("cannot remove the finalizer of Secret %q: %w", secret.Name, err)
	}
	return nil
}

// setPending records, without secrets, what a delete would revoke.
func setPending(secret *corev1.Secret, pending string) {
	if pending == "" {
		delete(secret.Annotations, mcpv1alpha1.RevocationPendingAnnotation)
		return
	}
	if secret.Annotations == nil {
		secret.Annotations = map[string]string{}
	}
	secret.Annotations[mcpv1alpha1.RevocationPendingAnnotation] = pending
}

// oauthRequest builds the token request of an OAuth2 server, reading the user's Secrets live.
func (r *MCPServerReconciler) oauthRequest(ctx context.Context, server *mcpv1alpha1.MCPServer, ep mcp.Endpoint) (*oauth.Request, error) {
	cfg := server.Spec.Auth.OAuth2
	endpoint, err := url.Parse(server.Spec.URL)
	if err != nil {
		return nil, &stalledError{mcpv1alpha1.ReasonInvalidSpec, fmt.Sprintf("url: %v", err)}
	}
	if endpoint.Scheme != "https" && !oauth.LoopbackHost(endpoint.Hostname()) {
		return nil, &stalledError{mcpv1alpha1.ReasonInvalidSpec, "auth.type OAuth2 needs an https url (http only for a loopback host): access tokens never travel in clear text"}
	}
	req := &oauth.Request{
		Endpoint:  endpoint,
		Resource:  cfg.Resource,
		IssuerURL: cfg.IssuerURL,
		Scopes:    cfg.Scopes,
		Timeout:   ep.Timeout,
		// spec.tls verifies the endpoint's own origin (the probe and its metadata) too.
		TLS: &oauth.EndpointTLS{Origin: endpoint, RootCAs: ep.RootCAs, InsecureSkipVerify: ep.InsecureSkipVerify},
		// Shown in the authorization server's client list: who registered it, for what.
		ClientName: fmt.Sprintf("mcp-registry-operator %s/%s", server.Namespace, server.Name),
	}
	if req.Resource == "" {
		req.Resource = canonicalResource(endpoint)
	}
	switch {
	case cfg.ClientSecretRef != nil:
		field := "auth.oauth2.clientSecretRef"
		secret, err := r.readSecret(ctx, server.Namespace, cfg.ClientSecretRef.Name, field)
		if err != nil {
			return nil, err
		}
		id, err := secretKeyOf(secret, oauth.KeyClientID, field)
		if err != nil {
			return nil, err
		}
		clientSecret, err := secretKeyOf(secret, oauth.KeyClientSecret, field)
		if err != nil {
			return nil, err
		}
		method := string(cfg.TokenEndpointAuthMethod)
		if method == "" {
			method = oauth.MethodClientSecretBasic
		}
		req.Client = &oauth.Credentials{ClientID: strings.TrimSpace(string(id)), ClientSecret: strings.TrimSpace(string(clientSecret)), Method: method}
	case cfg.PrivateKeyRef != nil:
		field := "auth.oauth2.privateKeyRef"
		secret, err := r.readSecret(ctx, server.Namespace, cfg.PrivateKeyRef.Name, field)
		if err != nil {
			return nil, err
		}
		id, err := secretKeyOf(secret, oauth.KeyClientID, field)
		if err != nil {
			return nil, err
		}
		pemBytes, err := secretKeyOf(secret, oauth.KeyPrivateKey, field)
		if err != nil {
			return nil, err
		}
		key, err := oauth.ParseSigningKey(pemBytes, strings.TrimSpace(string(secret.Data[oauth.KeyKeyID])))
		if err != nil {
			return nil, &stalledError{mcpv1alpha1.ReasonInvalidSpec, fmt.Sprintf(
				"%s: key %q of Secret %q: %v", field, oauth.KeyPrivateKey, cfg.PrivateKeyRef.Name, err)}
		}
		req.Client = &oauth.Credentials{ClientID: strings.TrimSpace(string(id)), Method: oauth.MethodPrivateKeyJWT, Key: key, KeyPEM: pemBytes}
	default:
		if ref := cfg.InitialAccessTokenRef; ref != nil {
			token, err := r.secretValue(ctx, server.Namespace, *ref, "auth.oauth2.initialAccessTokenRef")
			if err != nil {
				return nil, err
			}
			req.InitialAccessToken = strings.TrimSpace(string(token))
		}
	}
	return req, nil
}

// canonicalResource is the MCP server's canonical URI (RFC 8707, MCP authorization): scheme and
// host in lowercase, no fragment.
func canonicalResource(u *url.URL) string {
	c := *u
	c.Scheme = strings.ToLower(c.Scheme)
	c.Host = strings.ToLower(c.Host)
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// authorize obtains the OAuth2 token for a sync (refused, when set, is a token the MCP server
// just refused) and records in status what a person needs to know of it.
func (r *MCPServerReconciler) authorize(ctx context.Context, server *mcpv1alpha1.MCPServer, req *oauth.Request, refused string) (string, error) {
	req.Refused = refused
	grant, outcome, err := r.OAuth.Token(ctx, r.credentialsStore(server), *req)
	if outcome.Abandoned != "" {
		logf.FromContext(ctx).Info("Moved to another authorization server; the old one could not revoke everything", "notRevoked", outcome.Abandoned)
		r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, "CredentialsNotRevoked", eventAction,
			"Moved to another authorization server (spec.auth.oauth2.issuerURL); the previous one could not revoke: %s", outcome.Abandoned)
	}
	if outcome.Registered != "" {
		logf.FromContext(ctx).Info("Registered an OAuth client", "clientID", outcome.Registered)
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "ClientRegistered", eventAction,
			"Registered OAuth client %q with the authorization server (RFC 7591); it is de-registered when the MCPServer is deleted", outcome.Registered)
	}
	if err != nil {
		var notOwned *errNotOwned
		if errors.As(err, &notOwned) {
			return "", &stalledError{mcpv1alpha1.ReasonInvalidSpec, err.Error()}
		}
		return "", err
	}
	st := &mcpv1alpha1.OAuth2Status{Issuer: grant.Issuer, ClientID: grant.ClientID}
	if !grant.ExpiresAt.IsZero() {
		st.TokenExpiresAt = ptr.To(metav1.NewTime(grant.ExpiresAt.Truncate(time.Second)))
	}
	server.Status.OAuth2 = st
	return grant.AccessToken, nil
}

// usesOAuth2 reports whether the server's spec asks for OAuth2.
func usesOAuth2(server *mcpv1alpha1.MCPServer) bool {
	a := server.Spec.Auth
	return a != nil && a.Type == mcpv1alpha1.AuthOAuth2 && a.OAuth2 != nil
}

// oauthSyncFailure classifies a failure of an OAuth2 server's sync: the reason to report, and
// whether it is final until something changes (Stalled). ok is false when err is no OAuth
// failure.
func oauthSyncFailure(err error) (reason string, stalled, ok bool) {
	if kind, transient := oauth.KindOf(err); kind != "" {
		return string(kind), !transient, true
	}
	var refused *mcp.RefusedError
	if errors.As(err, &refused) {
		return mcpv1alpha1.ReasonAuthenticationFailed, true, true
	}
	return "", false, false
}

// insufficientScope explains a 403 insufficient_scope answer, "" when err is not one.
func insufficientScope(err error) string {
	var refused *mcp.RefusedError
	if !errors.As(err, &refused) || refused.Status != 403 {
		return ""
	}
	c, ok := oauth.ParseChallenge(refused.Challenge)
	if !ok || c.Error != "insufficient_scope" {
		return ""
	}
	msg := "the MCP server answered 403 insufficient_scope"
	if c.Scope != "" {
		msg += fmt.Sprintf(": it needs scope %q", c.Scope)
	}
	return msg + "; grant it to the client, or list it in spec.auth.oauth2.scopes"
}

// revokeCredentials is the delete's first destructive step for an OAuth2 server: revoke every
// token the operator obtained that may still be valid, then de-register a dynamic client. It
// reports done=false, with the server's Ready saying why, while the authorization server cannot
// be reached; a forced delete tries once and says what it leaves.
func (r *MCPServerReconciler) revokeCredentials(ctx context.Context, server *mcpv1alpha1.MCPServer, secrets []*metav1.PartialObjectMetadata) error {
	// A server that uses OAuth2 is always checked live (its Secret may be too new for the cache);
	// another only when the cache shows a credentials Secret, Terminating ones included (a
	// foreground or namespace delete may have marked it; the finalizer holds it for this).
	cached := slices.ContainsFunc(secrets, func(s *metav1.PartialObjectMetadata) bool { return s.Name == credentialsSecretName(server) })
	if !cached && !usesOAuth2(server) {
		return nil
	}
	if r.OAuth == nil {
		return errors.New("the manager has no OAuth client to revoke credentials with")
	}
	store := r.credentialsStore(server)
	report, err := r.OAuth.Revoke(ctx, store, ptr.Deref(server.Spec.Timeout, metav1.Duration{Duration: 30 * time.Second}).Duration)
	var notOwned *errNotOwned
	if errors.As(err, &notOwned) {
		return nil // not ours: nothing the operator obtained is in it
	}
	if err != nil && forced(server) {
		what, abandonErr := r.OAuth.Abandon(ctx, store)
		if abandonErr != nil {
			return abandonErr
		}
		logf.FromContext(ctx).Info("Forced delete: credentials left unrevoked", "notRevoked", what, "error", err.Error())
		r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, "CredentialsNotRevoked", "Delete",
			"Deleted with %s: not revoked: %s (%v)", mcpv1alpha1.ForceDeleteAnnotation, what, err)
		return store.release(ctx)
	}
	if err != nil {
		if msg := err.Error(); !strings.HasPrefix(msg, "revoking") && !strings.HasPrefix(msg, "de-registering") {
			err = fmt.Errorf("revoking credentials: %w", err)
		}
		return err
	}
	if report.Revoked > 0 {
		logf.FromContext(ctx).Info("Revoked OAuth tokens", "count", report.Revoked, "endpoint", report.RevocationEndpoint)
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "CredentialsRevoked", "Delete",
			"Revoked %d OAuth %s at %s (RFC 7009)", report.Revoked, plural(report.Revoked, "token", "tokens"), report.RevocationEndpoint)
	}
	if report.Unrevocable != "" {
		r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, "CredentialsNotRevoked", "Delete", "Cannot revoke %s", report.Unrevocable)
	}
	if report.Deregistered != "" {
		logf.FromContext(ctx).Info("De-registered the OAuth client", "clientID", report.Deregistered)
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "ClientDeregistered", "Delete",
			"De-registered OAuth client %q (RFC 7592)", report.Deregistered)
	}
	return store.release(ctx)
}

// retireCredentials revokes and removes the credentials Secret of a server that no longer uses
// OAuth2 (found through the metadata cache: no API call when there is none). A failure is logged
// and retried at the next sync; the delete revokes whatever is left in any case.
func (r *MCPServerReconciler) retireCredentials(ctx context.Context, server *mcpv1alpha1.MCPServer) {
	secrets, err := r.ownedSecrets(ctx, server)
	if err != nil || r.OAuth == nil {
		return
	}
	for _, s := range secrets {
		if s.Name != credentialsSecretName(server) || !s.DeletionTimestamp.IsZero() {
			continue
		}
		log := logf.FromContext(ctx)
		store := r.credentialsStore(server)
		report, err := r.OAuth.Revoke(ctx, store, ptr.Deref(server.Spec.Timeout, metav1.Duration{Duration: 30 * time.Second}).Duration)
		if err != nil {
			log.Info("auth.type is no longer OAuth2, but the credentials obtained before cannot be revoked yet; retrying at the next sync", "error", err.Error())
			return
		}
		if err := store.release(ctx); err != nil {
			log.Info("Cannot release the credentials Secret", "secret", s.Name, "error", err.Error())
			return
		}
		uid := s.UID
		if err := r.Delete(ctx, s, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			log.Info("Cannot delete the credentials Secret", "secret", s.Name, "error", err.Error())
			return
		}
		log.Info("auth.type is no longer OAuth2: revoked the credentials obtained before and deleted their Secret", "revoked", report.Revoked, "secret", s.Name)
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "CredentialsRevoked", eventAction,
			"auth.type is no longer OAuth2: revoked %d OAuth %s%s and deleted Secret %s", report.Revoked, plural(report.Revoked, "token", "tokens"),
			map[bool]string{true: ", de-registered client " + strconv.Quote(report.Deregistered), false: ""}[report.Deregistered != ""], s.Name)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// revocationFailed records that the delete waits for the authorization server, with one Warning
// Event when it starts waiting, and retries with backoff.
func (r *MCPServerReconciler) revocationFailed(ctx context.Context, before, server *mcpv1alpha1.MCPServer, err error) error {
	msg := "Deleting, retrying: " + err.Error()
	if !strings.HasPrefix(readyMessage(before), "Deleting, retrying: revoking") && !strings.HasPrefix(readyMessage(before), "Deleting, retrying: de-registering") {
		r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, "RevocationFailed", "Delete",
			"%s; the delete waits for the authorization server (set %s: \"true\" to delete without revoking)", err, mcpv1alpha1.ForceDeleteAnnotation)
	}
	setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, mcpv1alpha1.ReasonDeleting, msg)
	return errors.Join(err, r.patchStatus(ctx, before, server))
}
