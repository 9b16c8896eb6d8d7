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

package soak

import (
	"context"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// The observer is proven against the faults it must catch, fed the events a real API would
// deliver, with a fake live API that holds what a live read would return. Each fault case is
// paired with the legitimate sequence closest to it, which must not be reported.

// world is a fake API: it hands out revisions, delivers events to the observer (or holds them
// back, to model a lagging watch), and answers live reads.
type world struct {
	t    *testing.T
	o    *Observer
	now  time.Time
	rv   uint64
	live map[key]*unstructured.Unstructured
	held []func()
}

var testBounds = Bounds{Lag: 2 * time.Second, Converge: 10 * time.Second, Confirm: 5 * time.Second}

func newWorld(t *testing.T) *world {
	w := &world{t: t, now: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), live: map[key]*unstructured.Unstructured{}}
	w.o = NewObserver(w, testBounds, func() time.Time { return w.now })
	return w
}

func (w *world) Get(_ context.Context, kind, ns, name string) (*unstructured.Unstructured, error) {
	if obj := w.live[key{kind, ns, name}]; obj != nil {
		return obj.DeepCopy(), nil
	}
	return nil, nil
}

func (w *world) List(_ context.Context, kind, ns string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for k, obj := range w.live {
		if k.kind == kind && (ns == "" || k.namespace == ns) {
			out = append(out, obj.DeepCopy())
		}
	}
	return out, nil
}

// write stores obj with a new revision and delivers the event (or holds it when lag is set).
func (w *world) write(obj *unstructured.Unstructured, lag bool) *unstructured.Unstructured {
	w.rv++
	obj = obj.DeepCopy()
	obj.SetResourceVersion(strconv.FormatUint(w.rv, 10))
	w.live[keyOf(obj)] = obj
	ev := obj.DeepCopy()
	w.deliver(func() { w.o.Observe(ev.GetKind(), ev, false, false) }, lag)
	return obj
}

// remove deletes obj for good; the event carries the deletion's revision.
func (w *world) remove(obj *unstructured.Unstructured, lag bool) {
	w.rv++
	final := w.live[keyOf(obj)].DeepCopy()
	final.SetResourceVersion(strconv.FormatUint(w.rv, 10))
	delete(w.live, keyOf(obj))
	w.deliver(func() { w.o.Observe(final.GetKind(), final, true, false) }, lag)
}

func (w *world) deliver(ev func(), lag bool) {
	if lag {
		w.held = append(w.held, ev)
		return
	}
	ev()
}

// flush delivers the held events, late.
func (w *world) flush() {
	for _, ev := range w.held {
		ev()
	}
	w.held = nil
}

// advance moves the clock in one-second ticks, running the observer at each.
func (w *world) advance(d time.Duration) {
	for end := w.now.Add(d); w.now.Before(end); {
		w.now = w.now.Add(time.Second)
		w.o.Tick(context.Background())
	}
}

func (w *world) expect(invariant int) {
	w.t.Helper()
	got := w.o.Violations()
	for _, v := range got {
		if v.Invariant == invariant {
			w.t.Logf("caught: %s", v)
		}
	}
	if len(got) != 1 || got[0].Invariant != invariant {
		w.t.Fatalf("want exactly one violation of invariant %d (%s), got %v", invariant, InvariantNames[invariant], got)
	}
}

func (w *world) expectNone() {
	w.t.Helper()
	if got := w.o.Violations(); len(got) != 0 {
		w.t.Fatalf("want no violation, got %v", got)
	}
}

// --- objects ---

func object(kind, apiVersion, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetUID(types.UID(kind + "-" + ns + "-" + name))
	return u
}

func server(ns, name string) *unstructured.Unstructured {
	s := object(KindServer, "mcp.toolregistry.io/v1alpha1", ns, name)
	s.SetFinalizers([]string{"mcp.toolregistry.io/cleanup"})
	_ = unstructured.SetNestedField(s.Object, "http://127.0.0.1:1/mcp", "spec", "url")
	return s
}

func tool(srv *unstructured.Unstructured, toolName string) *unstructured.Unstructured {
	t := object(KindTool, "mcp.toolregistry.io/v1alpha1", srv.GetNamespace(), srv.GetName()+"-"+toolName)
	t.SetLabels(map[string]string{serverLabel: srv.GetName()})
	t.SetFinalizers([]string{"mcp.toolregistry.io/in-use-protection"})
	t.SetOwnerReferences([]metav1.OwnerReference{ownerRef(srv)})
	_ = unstructured.SetNestedField(t.Object, srv.GetName(), "spec", "serverRef", "name")
	_ = unstructured.SetNestedField(t.Object, toolName, "spec", "toolName")
	return t
}

func ownerRef(srv *unstructured.Unstructured) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "mcp.toolregistry.io/v1alpha1", Kind: KindServer, Name: srv.GetName(), UID: srv.GetUID(), Controller: &yes, BlockOwnerDeletion: &yes}
}

func consumer(ns, name, refs string) *unstructured.Unstructured {
	c := object(KindConsumer, "apps/v1", ns, name)
	if refs != "" {
		c.SetAnnotations(map[string]string{toolsAnnotation: refs})
	}
	_ = unstructured.SetNestedField(c.Object, int64(1), "spec", "replicas")
	return c
}

func secret(ns, name string) *unstructured.Unstructured {
	s := object(KindSecret, "v1", ns, name)
	_ = unstructured.SetNestedField(s.Object, map[string]any{"token": "dG9rZW4="}, "data")
	return s
}

func deleting(obj *unstructured.Unstructured) *unstructured.Unstructured {
	obj = obj.DeepCopy()
	now := metav1.NewTime(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	obj.SetDeletionTimestamp(&now)
	return obj
}

func withStatus(obj *unstructured.Unstructured, count int) *unstructured.Unstructured {
	obj = obj.DeepCopy()
	inUse := "False"
	if count > 0 {
		inUse = "True"
	}
	_ = unstructured.SetNestedField(obj.Object, int64(count), "status", "consumerCount")
	_ = unstructured.SetNestedSlice(obj.Object, []any{map[string]any{"type": "InUse", "status": inUse}}, "status", "conditions")
	return obj
}

func annotate(obj *unstructured.Unstructured, k, v string) *unstructured.Unstructured {
	obj = obj.DeepCopy()
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[k] = v
	obj.SetAnnotations(a)
	return obj
}

// driverWrites writes an object as the soak's driver does: the observer is told.
func (w *world) driverWrites(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := w.write(obj, false)
	w.o.Wrote(out)
	return out
}

// --- invariant 1 ---

func TestObserverToolDeletedWhileInUse(t *testing.T) {
	for _, tc := range []struct {
		name string
		refs string
	}{{"by tool name", "s1:read"}, {"by the whole server", "s1"}, {"by *", "s1:*"}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			srv := w.write(withStatus(server("a", "s1"), 1), false)
			tl := w.write(tool(srv, "read"), false)
			w.driverWrites(consumer("a", "agent", tc.refs))
			w.advance(3 * time.Second)
			// The fault: the MCPTool removed (finalizer stripped) while the consumer stands.
			w.remove(tl, false)
			w.advance(5 * time.Second)
			w.expect(InvToolInUse)
		})
	}
}

func TestObserverToolDeletionLegitimate(t *testing.T) {
	t.Run("consumer unannotated just before, its event late", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		tl := w.write(tool(srv, "read"), false)
		c := w.driverWrites(consumer("a", "agent", "s1:read"))
		w.advance(2 * time.Second)
		un := c.DeepCopy()
		un.SetAnnotations(nil)
		w.write(un, true) // the Deployment watch lags behind the MCPTool watch
		w.remove(tl, false)
		w.advance(time.Second)
		w.flush()
		w.o.Wrote(w.live[keyOf(un)])
		w.advance(10 * time.Second)
		w.expectNone()
	})
	t.Run("forced server", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		tl := w.write(tool(srv, "read"), false)
		w.driverWrites(consumer("a", "agent", "s1"))
		w.write(deleting(annotate(srv, forceAnnotation, "true")), false)
		w.remove(tl, false)
		w.advance(10 * time.Second)
		w.expectNone()
	})
	t.Run("consumer in another namespace, or being deleted, or naming another tool", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		tl := w.write(tool(srv, "read"), false)
		w.driverWrites(consumer("b", "tenant", "a/s1:read"))
		w.driverWrites(deleting(consumer("a", "going", "s1")))
		w.driverWrites(consumer("a", "other", "s1:write,s2"))
		w.remove(tl, false)
		w.advance(10 * time.Second)
		w.expectNone()
	})
	t.Run("history not confirmed: unjudged, not reported", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		tl := w.write(tool(srv, "read"), false)
		c := w.driverWrites(consumer("a", "agent", "s1:read"))
		un := c.DeepCopy()
		un.SetAnnotations(nil)
		w.write(un, true) // never delivered: the live object is newer than the history
		w.remove(tl, false)
		w.advance(20 * time.Second)
		w.expectNone()
		if w.o.Unjudged[InvToolInUse] != 1 {
			t.Fatalf("want the deletion unjudged, got judged %v unjudged %v", w.o.Judged, w.o.Unjudged)
		}
	})
}

// --- invariant 2 ---

func TestObserverForeignObjects(t *testing.T) {
	t.Run("user Secret modified", func(t *testing.T) {
		w := newWorld(t)
		s := w.driverWrites(secret("a", "token"))
		changed := s.DeepCopy()
		changed.SetOwnerReferences([]metav1.OwnerReference{ownerRef(server("a", "s1"))})
		w.write(changed, false)
		w.advance(5 * time.Second)
		w.expect(InvForeign)
	})
	t.Run("consumer deleted", func(t *testing.T) {
		w := newWorld(t)
		c := w.driverWrites(consumer("a", "agent", "s1"))
		w.remove(c, false)
		w.advance(5 * time.Second)
		w.expect(InvForeign)
	})
	t.Run("foreign MCPTool deleted", func(t *testing.T) {
		w := newWorld(t)
		ft := object(KindTool, "mcp.toolregistry.io/v1alpha1", "a", "handmade")
		ft.SetLabels(map[string]string{serverLabel: "s1"})
		ft = w.driverWrites(ft)
		w.remove(ft, false)
		w.advance(5 * time.Second)
		w.expect(InvForeign)
	})
	t.Run("legitimate: the driver's own writes, seen before it records them; its deletes; a namespace deleted", func(t *testing.T) {
		w := newWorld(t)
		s := w.driverWrites(secret("a", "token"))
		edited := annotate(s, "team", "x")
		edited = w.write(edited, false) // the watch is faster than the driver's bookkeeping
		w.advance(time.Second)
		w.o.Wrote(edited)
		c := w.driverWrites(consumer("a", "agent", "s1"))
		w.o.WillDelete(KindConsumer, "a", "agent", string(c.GetUID()))
		w.remove(c, false)
		w.driverWrites(consumer("a", "agent", "s2")) // the same name again at once
		other := w.driverWrites(secret("b", "token"))
		w.o.WillDeleteNamespace("b")
		w.remove(other, false)
		// Status is the operator's on every MCPTool.
		ft := object(KindTool, "mcp.toolregistry.io/v1alpha1", "a", "handmade")
		ft = w.driverWrites(ft)
		w.write(withStatus(ft, 0), false)
		w.advance(10 * time.Second)
		w.expectNone()
	})
}

// --- invariant 3 ---

func TestObserverServerLeavesBehind(t *testing.T) {
	t.Run("Delete policy, an owned MCPTool left", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		w.write(tool(srv, "read"), false)
		srv = w.write(deleting(srv), false)
		w.remove(srv, false)
		w.advance(5 * time.Second)
		w.expect(InvLeftBehind)
	})
	t.Run("Delete policy, an owned Secret left", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		sec := secret("a", "issued")
		sec.SetOwnerReferences([]metav1.OwnerReference{ownerRef(srv)})
		w.write(sec, false)
		srv = w.write(deleting(srv), false)
		w.remove(srv, false)
		w.advance(5 * time.Second)
		w.expect(InvLeftBehind)
	})
	t.Run("Orphan policy, not released", func(t *testing.T) {
		w := newWorld(t)
		s := server("a", "s1")
		_ = unstructured.SetNestedField(s.Object, "Orphan", "spec", "deletionPolicy")
		srv := w.write(s, false)
		w.write(tool(srv, "read"), false)
		srv = w.write(deleting(srv), false)
		w.remove(srv, false)
		w.advance(5 * time.Second)
		w.expect(InvLeftBehind)
	})
	t.Run("Orphan policy, released then deleted", func(t *testing.T) {
		w := newWorld(t)
		s := server("a", "s1")
		_ = unstructured.SetNestedField(s.Object, "Orphan", "spec", "deletionPolicy")
		srv := w.write(s, false)
		tl := w.write(tool(srv, "read"), false)
		srv = w.write(deleting(srv), false)
		tl.SetOwnerReferences(nil)
		tl = w.write(tl, false)
		w.remove(srv, false)
		w.remove(tl, false)
		w.advance(5 * time.Second)
		w.expect(InvLeftBehind)
	})
	t.Run("legitimate: Delete cascaded (events late), Orphan released, a tool removed upstream just before", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		tl := w.write(tool(srv, "read"), false)
		srv = w.write(deleting(srv), false)
		w.remove(tl, true) // the MCPTool watch lags: the server's deletion is seen first
		w.remove(srv, false)
		w.advance(time.Second)
		w.flush()

		o := server("a", "s2")
		_ = unstructured.SetNestedField(o.Object, "Orphan", "spec", "deletionPolicy")
		o = w.write(o, false)
		kept := w.write(tool(o, "read"), false)
		gone := w.write(tool(o, "write"), false)
		w.write(deleting(gone), false) // removed upstream, then the server deleted
		o = w.write(deleting(o), false)
		w.remove(gone, false)
		kept.SetOwnerReferences(nil)
		w.write(kept, false)
		w.remove(o, false)
		w.advance(10 * time.Second)
		w.expectNone()
	})
}

// --- invariant 4 ---

func TestObserverCounts(t *testing.T) {
	t.Run("a wrong consumerCount that stays", func(t *testing.T) {
		w := newWorld(t)
		w.write(withStatus(server("a", "s1"), 0), false)
		w.driverWrites(consumer("a", "agent", "s1"))
		w.driverWrites(consumer("a", "other", "s1:missing")) // names a tool s1 does not have: no count
		w.advance(15 * time.Second)
		w.expect(InvCount)
	})
	t.Run("a tool's count", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(withStatus(server("a", "s1"), 1), false)
		w.write(withStatus(tool(srv, "read"), 2), false)
		w.driverWrites(consumer("a", "agent", "s1:read"))
		w.advance(15 * time.Second)
		w.expect(InvCount)
	})
	t.Run("legitimate: a status lagging less than the bound, an unused server", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(withStatus(server("a", "s1"), 0), false)
		w.write(withStatus(server("a", "s2"), 0), false)
		tl := w.write(withStatus(tool(srv, "read"), 0), false)
		w.driverWrites(consumer("a", "agent", "s1:read"))
		w.driverWrites(consumer("b", "tenant", "a/s1"))
		w.advance(7 * time.Second)
		w.write(withStatus(srv, 1), false)
		w.write(withStatus(tl, 1), false)
		w.advance(20 * time.Second)
		w.expectNone()
	})
	t.Run("legitimate: the manager down", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(withStatus(server("a", "s1"), 0), false)
		w.o.ManagerDown()
		w.driverWrites(consumer("a", "agent", "s1"))
		w.advance(30 * time.Second)
		w.o.ManagerUp()
		w.advance(5 * time.Second)
		w.write(withStatus(srv, 1), false)
		w.advance(20 * time.Second)
		w.expectNone()
	})
}

// --- invariant 5 ---

func TestObserverStuckTerminating(t *testing.T) {
	t.Run("no consumer, still Terminating", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		w.write(deleting(srv), false)
		w.advance(15 * time.Second)
		w.expect(InvStuckTerminate)
	})
	t.Run("its last consumer gone, still Terminating", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		w.write(tool(srv, "read"), false)
		c := w.driverWrites(consumer("a", "agent", "s1:read"))
		w.write(deleting(srv), false)
		w.advance(20 * time.Second)
		w.expectNone()
		w.o.WillDelete(KindConsumer, "a", "agent", string(c.GetUID()))
		w.remove(c, false)
		w.advance(15 * time.Second)
		w.expect(InvStuckTerminate)
	})
	t.Run("legitimate: blocked by a consumer; gone within the bound; manager down", func(t *testing.T) {
		w := newWorld(t)
		srv := w.write(server("a", "s1"), false)
		w.write(tool(srv, "read"), false)
		w.driverWrites(consumer("a", "agent", "s1:read"))
		w.write(deleting(srv), false)
		s2 := w.write(server("a", "s2"), false)
		s2 = w.write(deleting(s2), false)
		w.advance(5 * time.Second)
		w.remove(s2, false)
		s3 := w.write(server("a", "s3"), false)
		w.o.ManagerDown()
		s3 = w.write(deleting(s3), false)
		w.advance(30 * time.Second)
		w.o.ManagerUp()
		w.advance(5 * time.Second)
		w.remove(s3, false)
		w.advance(20 * time.Second)
		w.expectNone()
	})
}

func TestReferences(t *testing.T) {
	c := consumer("ns", "x", " s1 , s2:read, other/s3:*, bad:, :t, s4:write:x ,a/b/c")
	got := references(c)
	want := []reference{{"ns", "s1", ""}, {"ns", "s2", "read"}, {"other", "s3", ""}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
