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
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
)

// TestConditionInvariants applies every status transition of the MCPServer controller to every
// starting status, and checks the rules Flux's condition checks (fluxcd/pkg/runtime/conditions/check)
// and kstatus rely on:
//
//   - Ready is always present;
//   - Reconciling and Stalled are never both True;
//   - Ready=True only when nothing is Stalled or Reconciling and status.observedGeneration is the
//     object's generation;
//   - every condition's observedGeneration is at most the object's generation, and the ones a
//     transition sets carry the current generation;
//   - status.observedGeneration advances to the generation exactly when the operator is done with
//     it (success, suspend, stalled), never on a failure it retries;
//   - messages are one line.
func TestConditionInvariants(t *testing.T) {
	registry := prometheus.NewRegistry()
	m, err := metrics.New(registry)
	if err != nil {
		t.Fatal(err)
	}
	r := &MCPServerReconciler{Recorder: events.NewFakeRecorder(100), Clock: clock.RealClock{}, Metrics: m, syncs: newSyncTracker()}

	type transition struct {
		name string
		// done: the operator finished this generation (observedGeneration advances).
		done  bool
		apply func(s *mcpv1alpha1.MCPServer)
	}
	transitions := []transition{
		{"synced", true, func(s *mcpv1alpha1.MCPServer) {
			r.markSucceededGeneration(s, metav1.ConditionTrue, mcpv1alpha1.ReasonSucceeded, "Synced 3 tools")
		}},
		{"suspended", true, func(s *mcpv1alpha1.MCPServer) {
			r.markSucceededGeneration(s, metav1.ConditionFalse, mcpv1alpha1.ReasonServerSuspended, "Suspended")
		}},
		{"secret missing", true, func(s *mcpv1alpha1.MCPServer) {
			r.markStalled(s, mcpv1alpha1.ReasonSecretNotFound, `Secret "x" not found`)
		}},
		{"invalid spec", true, func(s *mcpv1alpha1.MCPServer) {
			r.markStalled(s, mcpv1alpha1.ReasonInvalidSpec, "bad glob\nsecond line")
		}},
		{"sync failed", false, func(s *mcpv1alpha1.MCPServer) {
			_, _ = r.syncFailed(s, syncInputs{uid: s.UID, generation: s.Generation}, s.Status.DeepCopy(), metav1.Now(), errors.New("connection refused"))
		}},
		{"authentication failed", true, func(s *mcpv1alpha1.MCPServer) {
			_, _ = r.syncFailed(s, syncInputs{uid: s.UID, generation: s.Generation}, s.Status.DeepCopy(), metav1.Now(), fmt.Errorf("401: %w", mcp.ErrUnauthorized))
		}},
	}

	// Starting points: a new object (first-visit conditions at generation 1), and the result of
	// every transition at generation 1, then bumped to generation 2 by a spec change.
	type start struct {
		name   string
		server func() *mcpv1alpha1.MCPServer
	}
	fresh := func() *mcpv1alpha1.MCPServer {
		s := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u", Generation: 1}}
		s.Status.ObservedGeneration = -1
		setCondition(s, mcpv1alpha1.ConditionReady, metav1.ConditionUnknown, mcpv1alpha1.ReasonProgressing, "Syncing with the MCP server")
		setCondition(s, mcpv1alpha1.ConditionReconciling, metav1.ConditionTrue, mcpv1alpha1.ReasonProgressing, "Syncing with the MCP server")
		return s
	}
	starts := []start{{"new object", fresh}}
	for _, tr := range transitions {
		starts = append(starts, start{"after " + tr.name + ", spec changed", func() *mcpv1alpha1.MCPServer {
			s := fresh()
			tr.apply(s)
			s.Generation = 2
			return s
		}})
	}

	for _, st := range starts {
		for _, tr := range transitions {
			t.Run(st.name+" -> "+tr.name, func(t *testing.T) {
				s := st.server()
				before := s.Status.ObservedGeneration
				tr.apply(s)
				checkInvariants(t, s)
				switch {
				case tr.done && s.Status.ObservedGeneration != s.Generation:
					t.Errorf("observedGeneration %d after %s, want %d", s.Status.ObservedGeneration, tr.name, s.Generation)
				case !tr.done && s.Status.ObservedGeneration != before:
					t.Errorf("observedGeneration moved from %d to %d on a failure the operator retries", before, s.Status.ObservedGeneration)
				}
			})
		}
	}
}

func checkInvariants(t *testing.T, s *mcpv1alpha1.MCPServer) {
	t.Helper()
	conds := s.Status.Conditions
	ready := meta.FindStatusCondition(conds, mcpv1alpha1.ConditionReady)
	reconciling := isTrue(meta.FindStatusCondition(conds, mcpv1alpha1.ConditionReconciling))
	stalled := isTrue(meta.FindStatusCondition(conds, mcpv1alpha1.ConditionStalled))
	if ready == nil {
		t.Fatal("Ready is missing")
	}
	if reconciling && stalled {
		t.Error("Reconciling and Stalled are both True")
	}
	if ready.Status == metav1.ConditionTrue && (reconciling || stalled || s.Status.ObservedGeneration != s.Generation) {
		t.Errorf("Ready=True with Reconciling=%v, Stalled=%v, observedGeneration %d of %d", reconciling, stalled, s.Status.ObservedGeneration, s.Generation)
	}
	if ready.ObservedGeneration != s.Generation {
		t.Errorf("Ready carries generation %d, not the current %d", ready.ObservedGeneration, s.Generation)
	}
	for _, c := range conds {
		if c.ObservedGeneration > s.Generation {
			t.Errorf("%s carries generation %d, beyond %d", c.Type, c.ObservedGeneration, s.Generation)
		}
		if c.Reason == "" || c.LastTransitionTime.IsZero() {
			t.Errorf("%s has no reason or transition time", c.Type)
		}
		for _, ch := range c.Message {
			if ch == '\n' || ch == '\r' {
				t.Errorf("%s message is not one line: %q", c.Type, c.Message)
				break
			}
		}
	}
	if s.Status.ObservedGeneration > s.Generation {
		t.Errorf("status.observedGeneration %d beyond generation %d", s.Status.ObservedGeneration, s.Generation)
	}
}
