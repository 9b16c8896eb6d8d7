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
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
)

// A closed fence waits for the pass in flight and runs no new one: the controllers of a manager
// that lost its lease never overlap with those of the manager started after it.
func TestFenceClosesOffAStoppedManager(t *testing.T) {
	fence := &Fence{}
	release := make(chan struct{})
	var runs atomic.Int64
	r := gated(nil, fence, reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
		runs.Add(1)
		<-release
		return reconcile.Result{}, nil
	}))
	go func() { _, _ = r.Reconcile(context.Background(), reconcile.Request{}) }()
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { fence.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a pass was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the pass ended")
	}
	if _, err := r.Reconcile(context.Background(), reconcile.Request{}); err != nil || runs.Load() != 1 {
		t.Fatalf("a pass after Close: err %v, %d runs; want it dropped", err, runs.Load())
	}
}

// A failed sync whose host asked to wait is retried no earlier than the wait, whatever the
// backoff says; another failure keeps the backoff.
func TestSyncFailedWaitsForRetryAfter(t *testing.T) {
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := &MCPServerReconciler{Recorder: events.NewFakeRecorder(10), Metrics: m, syncs: newSyncTracker()}
	server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "busy"}}
	now := metav1.Now()
	throttled := fmt.Errorf("tools/list: %w", &egress.ThrottledError{Host: "mcp.example.com", Code: 429, Until: now.Add(90 * time.Second)})
	result, err := r.syncFailed(server, syncInputs{}, server.Status.DeepCopy(), now, throttled)
	if err != nil || result.RequeueAfter < 90*time.Second {
		t.Fatalf("throttled: requeue after %s (%v), want at least 90s", result.RequeueAfter, err)
	}
	result, _ = r.syncFailed(server, syncInputs{}, server.Status.DeepCopy(), now, errors.New("connection refused"))
	if result.RequeueAfter >= 90*time.Second {
		t.Fatalf("another failure: requeue after %s, want the backoff", result.RequeueAfter)
	}
}
