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

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/registry"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

// workers is the concurrency of every plain-client loop: the manager's
// --max-concurrent-tool-reconciles default, the parallelism of its tool writes.
const workers = 16

func (e *env) namespace(b *testing.B, prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := e.c.Create(context.Background(), ns); err != nil {
		b.Fatal(err)
	}
	return ns.Name
}

// suspendedServer creates a server that needs no MCP endpoint (suspended).
func (e *env) suspendedServer(b *testing.B, ns, name string) *mcpv1alpha1.MCPServer {
	server := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       mcpv1alpha1.MCPServerSpec{URL: "http://127.0.0.1:1/mcp", Suspend: ptr.To(true)},
	}
	if err := e.c.Create(context.Background(), server); err != nil {
		b.Fatal(err)
	}
	return server
}

// waitFinalizer waits until the manager has added its finalizer to the server.
func (e *env) waitFinalizer(b *testing.B, server *mcpv1alpha1.MCPServer) {
	waitFor(b, time.Minute, "the server finalizer", func() bool {
		return e.c.Get(context.Background(), client.ObjectKeyFromObject(server), server) == nil &&
			len(server.Finalizers) > 0
	})
}

// toolsFor returns the MCPTools a sync of server creates for discovered, exactly as the
// operator builds them (labels, controller ownerReference, finalizer, spec).
func toolsFor(server *mcpv1alpha1.MCPServer, discovered []mcp.Tool) []*mcpv1alpha1.MCPTool {
	desired, _ := registry.DesiredTools(server, discovered)
	return desired
}

// namedTools returns n discovered tools named tool-0000, ... without schemas.
func namedTools(n int) []mcp.Tool {
	tools := make([]mcp.Tool, n)
	for i := range tools {
		tools[i] = mcp.Tool{Name: fmt.Sprintf("tool-%04d", i)}
	}
	return tools
}

// discovered converts the test server's tools into what the MCP client reports.
func discovered(tools []mcpserver.Tool) []mcp.Tool {
	out := make([]mcp.Tool, len(tools))
	for i, t := range tools {
		schema, _ := json.Marshal(t.InputSchema)
		out[i] = mcp.Tool{Name: t.Name, Title: t.Title, Description: t.Description, InputSchema: schema}
	}
	return out
}

// createAll creates objects with the plain-client concurrency (setup, not measured).
func (e *env) createAll(b *testing.B, objects []client.Object) {
	parallel(b, len(objects), workers, func(i int) error { return e.c.Create(context.Background(), objects[i]) })
}

// parallel runs do(0..n-1) on w workers and fails the benchmark on the first error.
func parallel(b *testing.B, n, w int, do func(int) error) {
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for i := range jobs {
				if err := do(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func asObjects(tools []*mcpv1alpha1.MCPTool) []client.Object {
	out := make([]client.Object, len(tools))
	for i, t := range tools {
		out[i] = t
	}
	return out
}

// toolWatch follows the MCPTools of a namespace through one watch (a List every few milliseconds
// would load the API server more than what is measured). A watch the API server closes (it drops
// a watcher that falls behind) is listed and watched again, as an informer does.
type toolWatch struct {
	e     *env
	ns    string
	w     watch.Interface
	tools map[string]*mcpv1alpha1.MCPTool
}

func (e *env) watchTools(b *testing.B, ns string) *toolWatch {
	tw := &toolWatch{e: e, ns: ns}
	tw.relist(b)
	return tw
}

// relist lists the namespace's MCPTools afresh and watches from there.
func (tw *toolWatch) relist(b *testing.B) {
	list := &mcpv1alpha1.MCPToolList{}
	if err := tw.e.c.List(context.Background(), list, client.InNamespace(tw.ns)); err != nil {
		b.Fatal(err)
	}
	w, err := tw.e.c.Watch(context.Background(), &mcpv1alpha1.MCPToolList{}, client.InNamespace(tw.ns),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		b.Fatal(err)
	}
	tw.w = w
	tw.tools = map[string]*mcpv1alpha1.MCPTool{}
	for i := range list.Items {
		tw.tools[list.Items[i].Name] = &list.Items[i]
	}
}

// next returns the next event, watching again when the API server closed the watch.
func (tw *toolWatch) next(b *testing.B, deadline <-chan time.Time, what string) watch.Event {
	for {
		select {
		case ev, ok := <-tw.w.ResultChan():
			if ok {
				return ev
			}
			tw.relist(b)
			return watch.Event{Type: watch.Bookmark}
		case <-deadline:
			b.Fatalf("timed out waiting for %s (%d MCPTools seen)", what, len(tw.tools))
		}
	}
}

// until applies events until done holds for the tools seen, or fails after timeout.
func (tw *toolWatch) until(b *testing.B, timeout time.Duration, what string, done func(map[string]*mcpv1alpha1.MCPTool) bool) {
	defer func() { tw.w.Stop() }()
	deadline := time.After(timeout)
	for !done(tw.tools) {
		ev := tw.next(b, deadline, what)
		t, isTool := ev.Object.(*mcpv1alpha1.MCPTool)
		if !isTool {
			continue
		}
		if ev.Type == watch.Deleted {
			delete(tw.tools, t.Name)
		} else {
			tw.tools[t.Name] = t
		}
	}
}

func none(tools map[string]*mcpv1alpha1.MCPTool) bool { return len(tools) == 0 }

// readyCount counts the tools whose Ready condition is status (any status when empty).
func readyCount(tools map[string]*mcpv1alpha1.MCPTool, status metav1.ConditionStatus) int {
	n := 0
	for _, t := range tools {
		if c := meta.FindStatusCondition(t.Status.Conditions, mcpv1alpha1.ConditionReady); c != nil && (status == "" || c.Status == status) {
			n++
		}
	}
	return n
}

// waitServerGone waits until the server is gone.
func (e *env) waitServerGone(b *testing.B, server *mcpv1alpha1.MCPServer, timeout time.Duration) {
	waitFor(b, timeout, "MCPServer "+server.Name+" to go", func() bool {
		return apierrors.IsNotFound(e.c.Get(context.Background(), client.ObjectKeyFromObject(server), &mcpv1alpha1.MCPServer{}))
	})
}

// waitFor polls cond every 20 ms until it holds, failing after timeout.
func waitFor(b *testing.B, timeout time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// releasePatch is the patch the tool controller's finalizer release sends (removeFinalizer in
// internal/controller): the remaining finalizers, with the resourceVersion as a precondition.
func releasePatch(t *mcpv1alpha1.MCPTool) client.Patch {
	var remaining []string
	for _, f := range t.Finalizers {
		if f != mcpv1alpha1.ToolFinalizer {
			remaining = append(remaining, f)
		}
	}
	data, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": append([]string{}, remaining...), "resourceVersion": t.ResourceVersion,
	}})
	return client.RawPatch(types.MergePatchType, data)
}

// deleteAndRelease deletes the MCPTools of ns with one DeleteCollection and releases their
// finalizers with a bare loop: workers goroutines fed by one watch, sending the tool
// controller's patch. It returns when every tool is gone: the floor of a cascade.
func (e *env) deleteAndRelease(b *testing.B, ns string) time.Duration {
	ctx := context.Background()
	tw := e.watchTools(b, ns)
	defer func() { tw.w.Stop() }()
	n := len(tw.tools)
	start := time.Now()
	// The loop releases what the collection call has marked while it still runs, as the tool
	// controller does in a cascade.
	deleted := make(chan error, 1)
	go func() { deleted <- e.c.DeleteAllOf(ctx, &mcpv1alpha1.MCPTool{}, client.InNamespace(ns)) }()
	defer func() {
		if err := <-deleted; err != nil {
			b.Errorf("DeleteCollection: %v", err)
		}
	}()
	marked := make(chan *mcpv1alpha1.MCPTool, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for t := range marked {
				target := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace, Name: t.Name}}
				target.SetGroupVersionKind(mcpv1alpha1.GroupVersion.WithKind("MCPTool"))
				if err := e.c.Patch(ctx, target, releasePatch(t)); client.IgnoreNotFound(err) != nil {
					b.Error(err)
				}
			}
		})
	}
	released := map[string]bool{}
	deadline := time.After(5 * time.Minute)
	for len(tw.tools) > 0 {
		ev := tw.next(b, deadline, "the release loop")
		t, isTool := ev.Object.(*mcpv1alpha1.MCPTool)
		switch {
		case ev.Type == watch.Bookmark:
			// Watched again: release what the list shows marked and not yet released.
			for _, t := range tw.tools {
				if t.DeletionTimestamp != nil && !released[t.Name] {
					released[t.Name] = true
					marked <- t
				}
			}
		case !isTool:
		case ev.Type == watch.Deleted:
			delete(tw.tools, t.Name)
		case t.DeletionTimestamp != nil && !released[t.Name]:
			released[t.Name] = true
			marked <- t
		}
	}
	elapsed := time.Since(start)
	close(marked)
	wg.Wait()
	return elapsed
}
