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
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/apigate"
	"github.com/toolregistry/mcp-registry-operator/internal/consumers"
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/livesync"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/oauth"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

const (
	// maxSyncErrorLength bounds status.lastSyncError (the API allows 1024).
	maxSyncErrorLength = 1000
	// minHeartbeat is how often, at least, lastSyncTime is refreshed while nothing else changes.
	// Refreshing it on every resync would make an idle registry write every syncInterval.
	minHeartbeat = time.Hour
	// maxNamesInMessage bounds the names listed in one event or condition message.
	maxNamesInMessage = 10
	// eventAction is the action of the events this controller emits.
	eventAction = "Reconcile"
)

// MCPServerReconciler syncs MCPServers: it discovers each server's tools over MCP and keeps one
// MCPTool per tool. Deletion is in mcpserver_delete.go.
type MCPServerReconciler struct {
	client.Client
	// APIReader reads Secrets live, so that no Secret data is cached.
	APIReader client.Reader
	// Discoverer talks MCP; tests substitute a fake.
	Discoverer mcp.Discoverer
	// OAuth obtains, renews and revokes OAuth2 tokens (auth.type OAuth2).
	OAuth    *oauth.Manager
	Recorder events.EventRecorder
	Clock    clock.Clock
	// MaxConcurrentReconciles bounds parallel syncs (each may wait on a slow server).
	MaxConcurrentReconciles int
	// Gate makes passes wait while the API server is unreachable (nil: no gate).
	Gate *apigate.Gate
	// Fence, when set, stops passes once the manager running them has stopped.
	Fence *Fence
	// ConsumerKinds are the kinds whose mcp.toolregistry.io/tools annotation is read (watched
	// metadata-only, from --consumer-resources).
	ConsumerKinds []schema.GroupVersionKind
	// Metrics records syncs and deletions.
	Metrics *metrics.Metrics
	// LiveSync keeps notification streams and asks for syncs when a server's tools or prompts
	// change (nil: no live sync, and no status.liveSync). See livesync.go.
	LiveSync *livesync.Manager

	syncs *syncTracker
}

// RBAC, least privilege (reviewed verb by verb; the install bundle test pins it):
//   - MCPServers: read and watch; patch for the cleanup finalizer; status by patch only; update
//     on mcpservers/finalizers, which OwnerReferencesPermissionEnforcement requires to create
//     MCPTools with blockOwnerDeletion.
//   - MCPTools: the operator creates, updates, deletes (one collection call per cascade) them.
//   - Secrets: get a referenced bearer, CA or OAuth2 client Secret; list and watch metadata to
//     notice changes; create the one credentials Secret an OAuth2 server owns (<server>-oauth2)
//     and patch it (never a Secret it does not control); patch to release owned Secrets on
//     orphan; delete only those the server controls (checked by UID before each delete).
//
// +kubebuilder:rbac:groups=mcp.toolregistry.io,resources=mcpservers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=mcp.toolregistry.io,resources=mcpservers/status,verbs=patch
// +kubebuilder:rbac:groups=mcp.toolregistry.io,resources=mcpservers/finalizers,verbs=update
// +kubebuilder:rbac:groups=mcp.toolregistry.io,resources=mcptools,verbs=get;list;watch;create;update;patch;delete;deletecollection
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;list;watch

// Reconcile brings one MCPServer's MCPTools and status in line with what its MCP server offers.
func (r *MCPServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return requeueOnConflict(r.reconcile(ctx, req))
}

func (r *MCPServerReconciler) reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	server := &mcpv1alpha1.MCPServer{}
	if err := r.Get(ctx, req.NamespacedName, server); err != nil {
		if apierrors.IsNotFound(err) {
			r.syncs.forget(req.NamespacedName)
			r.stopLiveSync(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	// Deletion comes before any validation or sync: an invalid spec, a missing Secret or a dead
	// endpoint must never make a server undeletable.
	if !server.DeletionTimestamp.IsZero() {
		r.stopLiveSync(req.NamespacedName)
		return r.reconcileDelete(ctx, server)
	}

	if !controllerutil.ContainsFinalizer(server, mcpv1alpha1.ServerFinalizer) {
		patch := lockedMergeFrom(server.DeepCopy())
		controllerutil.AddFinalizer(server, mcpv1alpha1.ServerFinalizer)
		if err := r.Patch(ctx, server, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("cannot add finalizer: %w", err)
		}
	}

	// A server seen for the first time, or with a generation not yet worked on, says so before the
	// (possibly slow) sync: Reconciling=True at this generation. One write per generation.
	if meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady) == nil {
		before := server.DeepCopy()
		setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionUnknown, mcpv1alpha1.ReasonProgressing, "Syncing with the MCP server")
		setCondition(server, mcpv1alpha1.ConditionReconciling, metav1.ConditionTrue, mcpv1alpha1.ReasonProgressing, "Syncing with the MCP server")
		if err := r.Status().Patch(ctx, server, lockedMergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("cannot set initial conditions: %w", err)
		}
	} else if reconciling := meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReconciling); server.Status.ObservedGeneration != server.Generation &&
		(!isTrue(reconciling) || reconciling.ObservedGeneration != server.Generation) {
		before := server.DeepCopy()
		setCondition(server, mcpv1alpha1.ConditionReconciling, metav1.ConditionTrue, mcpv1alpha1.ReasonProgressing,
			fmt.Sprintf("Syncing generation %d with the MCP server", server.Generation))
		if err := r.Status().Patch(ctx, server, lockedMergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("cannot set Reconciling: %w", err)
		}
	}

	before := server.DeepCopy()
	defer func() {
		if err := r.patchStatus(ctx, before, server); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()
	defer r.updateLiveSync(server) // before the status patch
	return r.reconcileNormal(ctx, server)
}

// reconcileNormal syncs the server. It sets status on server; the caller patches it.
func (r *MCPServerReconciler) reconcileNormal(ctx context.Context, server *mcpv1alpha1.MCPServer) (ctrl.Result, error) {
	existing, err := r.existingTools(ctx, server)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.updateUsage(ctx, server, existing); err != nil {
		return ctrl.Result{}, err
	}

	if ptr.Deref(server.Spec.Suspend, false) {
		// Not contacted; every MCPTool is kept, and the MCPTool controller marks them unavailable.
		r.markSucceededGeneration(server, metav1.ConditionFalse, mcpv1alpha1.ReasonServerSuspended,
			"Suspended: the server is not contacted and its tools are unavailable")
		return ctrl.Result{}, nil
	}

	if err := errors.Join(registry.ValidateToolsSpec(server.Spec.Tools), registry.ValidatePromptsSpec(server.Spec.Prompts)); err != nil {
		r.markStalled(server, mcpv1alpha1.ReasonInvalidSpec, strings.ReplaceAll(err.Error(), "\n", "; "))
		return ctrl.Result{}, nil
	}

	inputs, err := r.syncInputs(ctx, server)
	if err != nil {
		return ctrl.Result{}, err
	}
	due, wait, last := r.syncs.due(server, inputs, r.Clock.Now())
	if !due {
		// Not time to contact the server: re-apply its last discovery (reverting hand edits and
		// re-creating deleted tools) without a network call.
		if last != nil {
			desired, _ := registry.DesiredTools(server, last.Tools)
			if _, err := r.apply(ctx, server, registry.PlanChanges(server, desired, existing)); err != nil {
				return ctrl.Result{}, err
			}
		}
		return resyncIn(wait), nil
	}

	endpoint, err := r.endpoint(ctx, server)
	var oauthReq *oauth.Request
	if err == nil {
		oauthReq, err = r.oauthRequestFor(ctx, server, endpoint)
	}
	if err != nil {
		var stalled *stalledError
		if errors.As(err, &stalled) {
			r.markStalled(server, stalled.reason, stalled.msg)
			return ctrl.Result{}, nil // the Secret watch brings the server back
		}
		return ctrl.Result{}, err
	}
	if oauthReq == nil {
		// No longer OAuth2: what the operator obtained before is revoked and its Secret removed.
		r.retireCredentials(ctx, server)
	}

	start := server.Status.DeepCopy()
	now := metav1.NewTime(r.Clock.Now())
	discovered, err := r.discover(ctx, server, &endpoint, oauthReq)
	if err != nil {
		r.Metrics.ObserveSync(metrics.SyncFailed, r.Clock.Since(now.Time))
		return r.syncFailed(server, inputs, start, now, err)
	}
	r.Metrics.ObserveSync(metrics.SyncSucceeded, r.Clock.Since(now.Time))
	r.syncs.succeeded(server, inputs, now.Time, discovered)
	r.ensureLiveSync(server, endpoint)

	desired, overrideNotes := registry.DesiredTools(server, discovered.Tools)
	// Re-read: a sync can take up to spec.timeout, and the cache moves on meanwhile.
	existing, err = r.existingTools(ctx, server)
	if err != nil {
		return ctrl.Result{}, err
	}
	plan := registry.PlanChanges(server, desired, existing)
	taken, err := r.apply(ctx, server, plan)
	if err != nil {
		return ctrl.Result{}, err
	}

	prompts, promptCount, promptNotes := registry.DesiredPrompts(server.Spec.Prompts, discovered.Prompts)
	notes := append(append(append([]string{}, discovered.Notes...), overrideNotes...), promptNotes...)
	for _, name := range append(plan.Conflicts, taken...) {
		notes = append(notes, fmt.Sprintf("MCPTool %q exists and is not this server's tool of that name: left alone", name))
	}
	sort.Strings(notes)

	wasFailing := isFailure(meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady))
	server.Status.ServerInfo = &discovered.ServerInfo
	server.Status.TTLMs = discovered.TTLMs
	server.Status.ToolCount = int32(len(desired))
	server.Status.PromptCount = int32(promptCount)
	server.Status.Prompts = prompts
	server.Status.LastSyncError = ""
	message := fmt.Sprintf("Synced %d tools", len(desired))
	if len(notes) > 0 {
		message += fmt.Sprintf("; %d notes (see Events)", len(notes))
	}
	changedMessage := readyMessage(server) != message
	r.markSucceededGeneration(server, metav1.ConditionTrue, mcpv1alpha1.ReasonSucceeded, message)
	touchSyncTimes(server, start, now, true)

	if wasFailing {
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "SyncRecovered", eventAction, "Synced again: %d tools", len(desired))
	}
	if changedMessage && len(notes) > 0 {
		r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, "ToolsAdjusted", eventAction, "%s", joinBounded(notes, "; "))
	}
	return resyncIn(jitter(resyncAfter(server, discovered.TTLMs))), nil
}

// syncFailed records a failed discovery. Nothing is pruned or recreated: a flapping server must not
// churn the registry.
func (r *MCPServerReconciler) syncFailed(server *mcpv1alpha1.MCPServer, inputs syncInputs, start *mcpv1alpha1.MCPServerStatus, now metav1.Time, err error) (ctrl.Result, error) {
	// The error may carry what the MCP server answered: one line, no terminal escapes, bounded.
	msg := text.ForMessage(err.Error(), maxSyncErrorLength)
	wasReady := isTrue(meta.FindStatusCondition(server.Status.Conditions, mcpv1alpha1.ConditionReady))
	server.Status.LastSyncError = msg

	reason := mcpv1alpha1.ReasonSyncFailed
	var stalled *stalledError
	if errors.As(err, &stalled) {
		reason = stalled.reason
		r.markStalled(server, reason, stalled.msg)
	} else if why := insufficientScope(err); why != "" && usesOAuth2(server) {
		// Retrying with the same scopes would get the same answer: reported, not looped on.
		reason = mcpv1alpha1.ReasonAuthenticationFailed
		r.markStalled(server, reason, "Authentication failed: "+text.ForMessage(why, maxSyncErrorLength))
	} else if oauthReason, stalled, ok := oauthSyncFailure(err); ok && usesOAuth2(server) {
		reason = oauthReason
		prefix := map[string]string{
			mcpv1alpha1.ReasonDiscoveryFailed:      "Authorization server discovery failed: ",
			mcpv1alpha1.ReasonRegistrationFailed:   "Client registration failed: ",
			mcpv1alpha1.ReasonAuthenticationFailed: "Authentication failed: ",
		}[reason]
		if stalled {
			r.markStalled(server, reason, prefix+msg)
		} else {
			setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, reason, prefix+msg)
			setCondition(server, mcpv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, "Retrying with backoff: the authorization server could not be reached or asked to retry later")
			meta.RemoveStatusCondition(&server.Status.Conditions, mcpv1alpha1.ConditionStalled)
		}
	} else if errors.Is(err, egress.ErrDenied) {
		// The manager's endpoint policy refused the address: no connection was made, and none
		// will be until the URL (or the policy) changes. Retried at the backoff all the same: the
		// name may resolve elsewhere later.
		reason = mcpv1alpha1.ReasonEndpointNotAllowed
		r.markStalled(server, reason, "Endpoint not allowed: "+msg)
	} else if errors.Is(err, mcp.ErrUnauthorized) {
		// Retrying will not help until the credentials change: a change to the Secret makes the
		// sync due at once (syncInputs), whatever the backoff.
		reason = mcpv1alpha1.ReasonAuthenticationFailed
		r.markStalled(server, reason, "Authentication failed: "+msg)
	} else {
		setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, reason, "Sync failed: "+msg)
		setCondition(server, mcpv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, "Retrying with backoff after a failed sync")
		meta.RemoveStatusCondition(&server.Status.Conditions, mcpv1alpha1.ConditionStalled)
	}
	touchSyncTimes(server, start, now, false)
	r.Metrics.CountSyncError(reason)
	if wasReady {
		r.Recorder.Eventf(server, nil, corev1.EventTypeWarning, reason, eventAction, "Sync failed; tools are kept as they were: %s", msg)
	}
	// The failure is recorded in status; the tracker's backoff (doubling from 5s, capped at
	// syncInterval) schedules the retry, never before the server's own Retry-After.
	retry := r.syncs.failed(server, inputs, now.Time)
	var throttled *egress.ThrottledError
	if errors.As(err, &throttled) {
		retry = max(retry, throttled.Until.Sub(now.Time))
	}
	return ctrl.Result{RequeueAfter: retry}, nil
}

// markSucceededGeneration records that this pass did what the current generation asks.
func (r *MCPServerReconciler) markSucceededGeneration(server *mcpv1alpha1.MCPServer, status metav1.ConditionStatus, reason, msg string) {
	setCondition(server, mcpv1alpha1.ConditionReady, status, reason, msg)
	meta.RemoveStatusCondition(&server.Status.Conditions, mcpv1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(&server.Status.Conditions, mcpv1alpha1.ConditionStalled)
	server.Status.ObservedGeneration = server.Generation
}

// markStalled records that no retry will help until something changes.
func (r *MCPServerReconciler) markStalled(server *mcpv1alpha1.MCPServer, reason, msg string) {
	setCondition(server, mcpv1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	setCondition(server, mcpv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(&server.Status.Conditions, mcpv1alpha1.ConditionReconciling)
	// The operator did all it can for this generation; kstatus then reads Stalled as Failed.
	server.Status.ObservedGeneration = server.Generation
}

// touchSyncTimes records a sync attempt at now in lastSyncTime (and lastSuccessfulSyncTime on
// success) when the status differs from start, the status at the beginning of the pass, or when
// the last refresh is older than the heartbeat. So an idle registry makes no writes between
// heartbeats, and a change is always written with the time of the sync that found it.
func touchSyncTimes(server *mcpv1alpha1.MCPServer, start *mcpv1alpha1.MCPServerStatus, now metav1.Time, success bool) {
	last := start.LastSyncTime
	heartbeat := max(minHeartbeat, syncInterval(server))
	due := last == nil || now.Sub(last.Time) >= heartbeat
	if !due && equality.Semantic.DeepEqual(*start, server.Status) {
		return
	}
	server.Status.LastSyncTime = &now
	if success {
		server.Status.LastSuccessfulSyncTime = &now
	}
}

// patchStatus writes the status once, only when it changed.
func (r *MCPServerReconciler) patchStatus(ctx context.Context, before, server *mcpv1alpha1.MCPServer) error {
	if equality.Semantic.DeepEqual(before.Status, server.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, server, lockedMergeFrom(before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("cannot patch status: %w", err)
	}
	return nil
}

// syncInputs identifies what a sync of the server depends on besides time: the object, its
// generation, and the versions of the Secrets it references, read from the metadata cache (no API
// call). A Secret that appears or changes therefore makes a sync due at once.
func (r *MCPServerReconciler) syncInputs(ctx context.Context, server *mcpv1alpha1.MCPServer) (syncInputs, error) {
	var versions strings.Builder
	for _, name := range secretNames(server) {
		secret := &metav1.PartialObjectMetadata{}
		secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		err := r.Get(ctx, types.NamespacedName{Namespace: server.Namespace, Name: name}, secret)
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(&versions, "%s=absent;", name)
		case err != nil:
			return syncInputs{}, fmt.Errorf("cannot read Secret %q from the cache: %w", name, err)
		default:
			fmt.Fprintf(&versions, "%s=%s;", name, secret.ResourceVersion)
		}
	}
	return syncInputs{uid: server.UID, generation: server.Generation, secrets: versions.String(), liveChanges: r.liveChanges(server)}, nil
}

// discover lists what the server offers. An OAuth2 server's token is obtained first; when the
// server refuses it (401), one new token is obtained, after discovering the authorization server
// afresh, and tried once: not a loop. ep ends with the token used (the live stream uses it too).
func (r *MCPServerReconciler) discover(ctx context.Context, server *mcpv1alpha1.MCPServer, ep *mcp.Endpoint, req *oauth.Request) (*mcp.Result, error) {
	if req == nil {
		server.Status.OAuth2 = nil
		return r.Discoverer.Discover(ctx, *ep)
	}
	token, err := r.authorize(ctx, server, req, "")
	if err != nil {
		return nil, err
	}
	ep.BearerToken = token
	result, err := r.Discoverer.Discover(ctx, *ep)
	var refused *mcp.RefusedError
	if errors.As(err, &refused) && refused.Status == http.StatusUnauthorized {
		logf.FromContext(ctx).Info("The MCP server refused the OAuth token: obtaining a new one, once")
		if token, err = r.authorize(ctx, server, req, token); err != nil {
			return nil, err
		}
		ep.BearerToken = token
		result, err = r.Discoverer.Discover(ctx, *ep)
	}
	return result, err
}

// oauthRequestFor is the OAuth2 token request of the server, nil when it does not use OAuth2.
func (r *MCPServerReconciler) oauthRequestFor(ctx context.Context, server *mcpv1alpha1.MCPServer, ep mcp.Endpoint) (*oauth.Request, error) {
	if !usesOAuth2(server) {
		return nil, nil
	}
	if r.OAuth == nil {
		return nil, errors.New("the manager has no OAuth client")
	}
	return r.oauthRequest(ctx, server, ep)
}

// stalledError is an error that retrying cannot fix until the user changes something.
type stalledError struct{ reason, msg string }

func (e *stalledError) Error() string { return e.msg }

// endpoint resolves the server's connection settings, reading referenced Secrets live.
func (r *MCPServerReconciler) endpoint(ctx context.Context, server *mcpv1alpha1.MCPServer) (mcp.Endpoint, error) {
	ep := mcp.Endpoint{
		URL:       server.Spec.URL,
		Transport: server.Spec.Transport,
		Timeout:   ptr.Deref(server.Spec.Timeout, metav1.Duration{Duration: 30 * time.Second}).Duration,
	}
	if a := server.Spec.Auth; a != nil && a.Type == mcpv1alpha1.AuthBearer && a.Bearer != nil {
		token, err := r.secretValue(ctx, server.Namespace, a.Bearer.SecretRef, "auth.bearer.secretRef")
		if err != nil {
			return ep, err
		}
		ep.BearerToken = strings.TrimSpace(string(token))
	}
	if t := server.Spec.TLS; t != nil {
		ep.InsecureSkipVerify = ptr.Deref(t.InsecureSkipVerify, false)
		if t.CASecretRef != nil {
			pem, err := r.secretValue(ctx, server.Namespace, *t.CASecretRef, "tls.caSecretRef")
			if err != nil {
				return ep, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return ep, &stalledError{mcpv1alpha1.ReasonInvalidSpec, fmt.Sprintf(
					"tls.caSecretRef: key %q of Secret %q holds no PEM certificate", t.CASecretRef.Key, t.CASecretRef.Name)}
			}
			ep.RootCAs = pool
		}
	}
	return ep, nil
}

// secretValue reads one key of a Secret with a live, namespaced read.
func (r *MCPServerReconciler) secretValue(ctx context.Context, namespace string, ref mcpv1alpha1.SecretKeyReference, field string) ([]byte, error) {
	secret, err := r.readSecret(ctx, namespace, ref.Name, field)
	if err != nil {
		return nil, err
	}
	return secretKeyOf(secret, ref.Key, field)
}

// readSecret reads a Secret live (Secret data is never cached); a missing one stalls the server.
func (r *MCPServerReconciler) readSecret(ctx context.Context, namespace, name, field string) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &stalledError{mcpv1alpha1.ReasonSecretNotFound, fmt.Sprintf("%s: Secret %q not found", field, name)}
		}
		return nil, fmt.Errorf("cannot read Secret %q: %w", name, err)
	}
	return secret, nil
}

// secretKeyOf is one key of secret, which must be present and not empty.
func secretKeyOf(secret *corev1.Secret, key, field string) ([]byte, error) {
	value, ok := secret.Data[key]
	if !ok || len(value) == 0 {
		return nil, &stalledError{mcpv1alpha1.ReasonSecretNotFound, fmt.Sprintf("%s: Secret %q has no key %q", field, secret.Name, key)}
	}
	return value, nil
}

// existingTools returns the MCPTools whose spec.serverRef names this server, from the cache index.
func (r *MCPServerReconciler) existingTools(ctx context.Context, server *mcpv1alpha1.MCPServer) ([]*mcpv1alpha1.MCPTool, error) {
	list := &mcpv1alpha1.MCPToolList{}
	if err := r.List(ctx, list, client.InNamespace(server.Namespace), client.MatchingFields{toolServerIndex: server.Name}); err != nil {
		return nil, fmt.Errorf("cannot list MCPTools of MCPServer %q: %w", server.Name, err)
	}
	out := make([]*mcpv1alpha1.MCPTool, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// apply performs the plan and emits one event per kind of change. It returns the names it could
// not create because another object (not in this server's index) holds them.
func (r *MCPServerReconciler) apply(ctx context.Context, server *mcpv1alpha1.MCPServer, plan registry.Plan) (taken []string, err error) {
	log := logf.FromContext(ctx)
	var created, removed []string
	for _, tool := range plan.Create {
		if err := r.Create(ctx, tool); err != nil {
			if apierrors.IsAlreadyExists(err) {
				taken = append(taken, tool.Name)
				continue
			}
			return nil, fmt.Errorf("cannot create MCPTool %q: %w", tool.Name, err)
		}
		log.V(1).Info("Created MCPTool", "mcptool", klog.KObj(tool))
		created = append(created, tool.Spec.ToolName)
	}
	for _, tool := range plan.Update {
		if err := r.Update(ctx, tool); err != nil {
			return nil, fmt.Errorf("cannot update MCPTool %q: %w", tool.Name, err)
		}
		log.V(1).Info("Updated MCPTool", "mcptool", klog.KObj(tool))
	}
	for _, tool := range plan.Prune {
		// The UID precondition makes sure the object pruned is the one planned.
		if err := r.Delete(ctx, tool, client.Preconditions{UID: &tool.UID}); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("cannot delete MCPTool %q: %w", tool.Name, err)
		}
		log.V(1).Info("Deleted MCPTool", "mcptool", klog.KObj(tool))
		removed = append(removed, tool.Spec.ToolName)
	}
	sort.Strings(created)
	sort.Strings(removed)
	if len(created) > 0 {
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "ToolsAdded", eventAction, "Added %d tools: %s", len(created), joinBounded(created, ", "))
	}
	if len(removed) > 0 {
		r.Recorder.Eventf(server, nil, corev1.EventTypeNormal, "ToolsRemoved", eventAction, "Removed %d tools no longer offered or selected: %s", len(removed), joinBounded(removed, ", "))
	}
	return taken, nil
}

// SetupWithManager watches MCPServers, the MCPTools they own (spec changes and deletions, to revert
// hand edits and re-create what is missing) and, metadata only, the Secrets they reference and the
// consumers that reference them.
func (r *MCPServerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.syncs == nil {
		r.syncs = newSyncTracker()
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&mcpv1alpha1.MCPServer{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Owns(&mcpv1alpha1.MCPTool{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}, r.cascadeProgress())).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.serversForSecret), builder.OnlyMetadata).
		// A namespace's labels decide whether its consumers count for a Selector policy.
		Watches(namespaceObject(), handler.EnqueueRequestsFromMapFunc(r.serversForNamespace),
			builder.OnlyMetadata, builder.WithPredicates(namespaceLabelsChanged)).
		WithOptions(controllerOptions(r.MaxConcurrentReconciles)).
		Named("mcpserver")
	if r.LiveSync != nil {
		// The streams run on the leader only, and tell the controller "sync this server now".
		if err := mgr.Add(r.LiveSync); err != nil {
			return fmt.Errorf("cannot add the live sync manager: %w", err)
		}
		b = b.WatchesRawSource(r.LiveSync.Source())
	}
	for _, gvk := range r.ConsumerKinds {
		b = b.Watches(consumerObject(gvk), handler.EnqueueRequestsFromMapFunc(serversForConsumer), builder.OnlyMetadata)
	}
	return b.Complete(gated(r.Gate, r.Fence, r))
}

// cascadeProgress lets through every MCPTool event but those of a cascade in progress: while its
// server is being deleted, a tool marked for deletion (the server marked it) or deleted with
// others still left changes nothing the server's next pass would do. Only the last one going
// re-queues the server, which then removes its finalizer; a thousand passes, each reading a
// thousand tools, would compete with the API server for the CPU the cascade needs. The server's
// own recheck (RequeueAfter) covers a tool that is held or cut short.
func (r *MCPServerReconciler) cascadeProgress() predicate.Predicate {
	matters := func(tool client.Object, deleted bool) bool {
		owner := metav1.GetControllerOf(tool)
		if owner == nil || owner.Kind != "MCPServer" {
			return true
		}
		ctx := context.Background()
		server := &mcpv1alpha1.MCPServer{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: tool.GetNamespace(), Name: owner.Name}, server); err != nil ||
			server.UID != owner.UID || server.DeletionTimestamp.IsZero() {
			return true
		}
		if !deleted {
			return false
		}
		left := &mcpv1alpha1.MCPToolList{}
		if err := r.List(ctx, left, client.InNamespace(tool.GetNamespace()), client.MatchingFields{toolServerIndex: owner.Name},
			client.UnsafeDisableDeepCopy); err != nil {
			return true
		}
		return len(left.Items) == 0
	}
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool { return matters(e.ObjectNew, false) },
		DeleteFunc: func(e event.DeleteEvent) bool { return matters(e.Object, true) },
	}
}

// serversForNamespace maps a namespace whose labels changed to the servers with a Selector policy.
func (r *MCPServerReconciler) serversForNamespace(ctx context.Context, _ client.Object) []reconcile.Request {
	var requests []reconcile.Request
	for _, s := range selectorServers(ctx, r.Client) {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&s)})
	}
	return requests
}

// serversForConsumer maps a consumer (before and after a change) to the servers it references.
func serversForConsumer(_ context.Context, obj client.Object) []reconcile.Request {
	seen := map[types.NamespacedName]bool{}
	var requests []reconcile.Request
	for _, ref := range consumers.References(obj) {
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Server}
		if !seen[key] {
			seen[key] = true
			requests = append(requests, reconcile.Request{NamespacedName: key})
		}
	}
	return requests
}

// updateUsage records who uses the server: bare and `:*` references, and references to one of
// tools, its MCPTools as the cache has them.
func (r *MCPServerReconciler) updateUsage(ctx context.Context, server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool) error {
	users, err := r.consumerIndex().serverUsage(ctx, server, tools, nil)
	if err != nil {
		return err
	}
	setUsage(server, users)
	return nil
}

func (r *MCPServerReconciler) consumerIndex() consumerIndex {
	return consumerIndex{reader: r.Client, kinds: r.ConsumerKinds}
}

// serversForSecret maps a Secret to the MCPServers in its namespace that reference it, and to the
// MCPServer that owns it (whose deletion waits for it to go).
func (r *MCPServerReconciler) serversForSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	requests := requestsFromIndex(ctx, r.Client, &mcpv1alpha1.MCPServerList{}, serverSecretIndex, secret)
	if ref := metav1.GetControllerOf(secret); ref != nil && ref.Kind == "MCPServer" && ref.APIVersion == mcpv1alpha1.GroupVersion.String() {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: secret.GetNamespace(), Name: ref.Name}})
	}
	return requests
}

// resyncIn requeues a server for its next periodic sync at low priority: a pass an event asks for
// (a consumer let go of a server being deleted, a spec change) goes first, however many servers
// are due for their resync; an event for a server waiting here raises its priority.
func resyncIn(after time.Duration) ctrl.Result {
	return ctrl.Result{RequeueAfter: after, Priority: ptr.To(handler.LowPriority)}
}

func syncInterval(server *mcpv1alpha1.MCPServer) time.Duration {
	return ptr.Deref(server.Spec.SyncInterval, metav1.Duration{Duration: 5 * time.Minute}).Duration
}

// jitter spreads resyncs over +0 to +10% of the interval, so servers created together do not
// sync together forever.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
