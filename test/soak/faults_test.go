//go:build soak

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
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// TestSoakObserverCatchesInjectedFaults injects one fault of each kind into the real API, with
// the real manager, and requires the observer to report each of the five invariants: the proof
// on real watches (real resourceVersions, real lag between kinds) that TestObserver* give on a
// fake one.
func TestSoakObserverCatchesInjectedFaults(t *testing.T) {
	d := setUp(t, 1, "faults")
	ns, other := namespaces[0], namespaces[1]
	for _, s := range []struct{ ns, name string }{{ns, "s0"}, {ns, "s1"}, {other, "s0"}, {other, "s1"}} {
		if err := d.createServerWith(s.ns, s.name, "Delete"); err != nil {
			t.Fatal(err)
		}
	}
	tools := map[string][]*unstructured.Unstructured{}
	d.eventually(t, time.Minute, "every server has its MCPTools", func() string {
		for _, s := range []struct{ ns, name string }{{ns, "s0"}, {ns, "s1"}, {other, "s0"}, {other, "s1"}} {
			items, err := (liveAPI{d.client}).List(d.ctx, KindTool, s.ns)
			if err != nil {
				return err.Error()
			}
			var owned []*unstructured.Unstructured
			for _, it := range items {
				if it.GetLabels()[serverLabel] == s.name && controllerUID(it) != "" {
					owned = append(owned, it)
				}
			}
			if len(owned) == 0 {
				return s.ns + "/" + s.name + " has no MCPTool yet"
			}
			tools[s.ns+"/"+s.name] = owned
		}
		return ""
	})
	target := tools[ns+"/s0"][0]
	toolName, _, _ := unstructured.NestedString(target.Object, "spec", "toolName")
	if err := d.createConsumer(ns, "c0"); err != nil {
		t.Fatal(err)
	}
	// c0 references s0's first tool, and every tool of s1.
	if err := d.patchForeign(KindConsumer, ns, "c0", fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, toolsAnnotation, "s0:"+toolName+",s1")); err != nil {
		t.Fatal(err)
	}
	d.eventually(t, time.Minute, "the server counts its consumer", func() string {
		s, err := (liveAPI{d.client}).Get(d.ctx, KindServer, ns, "s1")
		if err != nil || s == nil {
			return fmt.Sprint(err)
		}
		if n, _ := reportedUsage(s); n != 1 {
			return fmt.Sprintf("consumerCount %d", n)
		}
		return ""
	})

	// 1. An MCPTool in use removed by hand: finalizer stripped, then deleted.
	d.must(t, d.patch(KindTool, ns, target.GetName(), `{"metadata":{"finalizers":null}}`))
	d.must(t, d.res(KindTool, ns).Delete(d.ctx, target.GetName(), metav1.DeleteOptions{}))
	// 2. A user Secret modified behind the soak's back.
	d.must(t, d.patch(KindSecret, ns, "bystander", `{"metadata":{"labels":{"tampered":"true"}}}`))
	// 3. A server whose finalizer is stripped: it goes at once, its tools (in use) are left.
	d.must(t, d.patch(KindServer, ns, "s1", `{"metadata":{"finalizers":null}}`))
	d.must(t, d.res(KindServer, ns).Delete(d.ctx, "s1", metav1.DeleteOptions{}))
	// 4 and 5. The manager dies without the observer being told: a new consumer is never counted
	// and an unused server stays Terminating.
	d.must(t, d.manager.Kill())
	if err := d.createConsumer(other, "c0"); err != nil {
		t.Fatal(err)
	}
	d.must(t, d.patchForeign(KindConsumer, other, "c0", fmt.Sprintf(`{"metadata":{"annotations":{%q:"s0"}}}`, toolsAnnotation)))
	d.must(t, d.res(KindServer, other).Delete(d.ctx, "s1", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: uidOf(tools[other+"/s1"][0])}}))

	found := map[int]bool{}
	deadline := time.Now().Add(bounds.Lag + bounds.Converge + bounds.Confirm + 30*time.Second)
	for ; time.Now().Before(deadline) && len(found) < 5; time.Sleep(time.Second) {
		for _, v := range d.observer.Violations() {
			if !found[v.Invariant] {
				found[v.Invariant] = true
				fmt.Printf("FAULT caught: %s\n", v)
			}
		}
	}
	for inv := InvToolInUse; inv <= InvStuckTerminate; inv++ {
		if !found[inv] {
			t.Errorf("the observer did not report invariant %d (%s); it reported %v", inv, InvariantNames[inv], d.observer.Violations())
		}
	}
}

// uidOf is the UID of the MCPServer controlling tool.
func uidOf(tool *unstructured.Unstructured) *types.UID {
	uid := types.UID(controllerUID(tool))
	return &uid
}

func (d *driver) must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually retries check every 500 ms until it returns "", failing after timeout.
func (d *driver) eventually(t *testing.T, timeout time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %s: %s", what, timeout, msg)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
