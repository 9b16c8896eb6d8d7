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
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
)

// TestDeleteLogTellsTheStory walks one delete pass by pass, as the controllers would drive it,
// and checks the manager's info-level log: each transition said once, with who is in the way,
// and nothing said again on a pass that changes nothing.
func TestDeleteLogTellsTheStory(t *testing.T) {
	const ns = "agents"
	now := metav1.Now()
	server := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{
		Name: "github", Namespace: ns, UID: "server-uid",
		Finalizers: []string{mcpv1alpha1.ServerFinalizer}, DeletionTimestamp: &now,
	}, Spec: mcpv1alpha1.MCPServerSpec{URL: "https://mcp.example.com"}}
	desired, _ := registry.DesiredTools(server, generatedMCPTools(3))
	objects := []client.Object{server}
	for _, d := range desired {
		objects = append(objects, d)
	}
	agent := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns,
		Annotations: map[string]string{mcpv1alpha1.ToolsAnnotation: "github:tool-01"}}}
	owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "issued", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
		APIVersion: mcpv1alpha1.GroupVersion.String(), Kind: "MCPServer", Name: "github", UID: "server-uid", Controller: ptr.To(true),
	}}}}
	objects = append(objects, agent, owned)
	c, live := deleteFixture(t, objects, nil, nil, nil)
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := &MCPServerReconciler{
		Client: c, APIReader: live, Recorder: events.NewFakeRecorder(100), Clock: clock.RealClock{},
		ConsumerKinds: []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}}, Metrics: m, syncs: newSyncTracker(),
	}

	var lines []string
	logger := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{Verbosity: 0})
	ctx := logf.IntoContext(context.Background(), logger)
	pass := func() []string {
		t.Helper()
		lines = nil
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(server)}); err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		var msgs []string
		for _, l := range lines {
			// The message, and whom it names, are enough to tell the story.
			msg := strings.SplitN(strings.SplitN(l, `"msg"="`, 2)[1], `"`, 2)[0]
			if _, after, ok := strings.Cut(l, `"consumers"="`); ok {
				msg += ": " + strings.SplitN(after, `"`, 2)[0]
			}
			msgs = append(msgs, msg)
		}
		return msgs
	}
	expect := func(step string, got []string, want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: log (-want +got):\n%s", step, diff)
		}
	}
	update := func(in client.Client, obj client.Object, change func()) {
		t.Helper()
		if err := in.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		change()
		if err := in.Update(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	expect("in use", pass(), "Deletion blocked: Deployment agents/agent")
	expect("still in use, a pass with nothing new", pass())

	// The consumer drops its annotation, in the cache and live.
	update(c, agent, func() { agent.Annotations = nil })
	update(live.(client.Client), agent, func() { agent.Annotations = nil })
	expect("unused", pass(), "Deletion unblocked: no consumer holds it any more", "Cascade started: deleting MCPTools")
	expect("the MCPTools go", pass())

	// The MCPTool controller releases each tool's protection; the tools are gone.
	for _, d := range desired {
		tool := &mcpv1alpha1.MCPTool{}
		tool.Namespace, tool.Name = d.Namespace, d.Name
		update(c, tool, func() { tool.Finalizers = nil })
	}
	expect("tools gone", pass(), "MCPTools deleted", "Deleted Secret")
	expect("the Secret gone", pass(), "Removed finalizer")
}
