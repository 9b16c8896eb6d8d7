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

package apigate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestUnavailable(t *testing.T) {
	tool := schema.GroupResource{Group: "mcp.toolregistry.io", Resource: "mcptools"}
	refused := &url.Error{Op: "Patch", URL: "https://127.0.0.1:6443/apis", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", refused, true},
		{"connection refused, wrapped by the reconciler", fmt.Errorf("cannot patch status: %w", refused), true},
		{"connection refused, joined", errors.Join(errors.New("cannot delete"), refused), true},
		{"connection reset", &url.Error{Op: "Get", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"unexpected EOF", &url.Error{Op: "Get", Err: io.ErrUnexpectedEOF}, true},
		{"i/o timeout", &url.Error{Op: "Get", Err: &net.OpError{Op: "read", Err: timeoutErr{}}}, true},
		{"503", apierrors.NewServiceUnavailable("etcd is down"), true},
		{"504 timeout", apierrors.NewTimeoutError("request did not complete", 0), true},
		{"server timeout", apierrors.NewServerTimeout(tool, "patch", 1), true},
		{"500 (etcd request timed out)", apierrors.NewInternalError(errors.New("etcdserver: request timed out")), true},
		{"conflict", apierrors.NewConflict(tool, "t", errors.New("changed")), false},
		{"not found", apierrors.NewNotFound(tool, "t"), false},
		{"forbidden", apierrors.NewForbidden(tool, "t", errors.New("no verb")), false},
		{"too many requests (APF answers; the workqueue backs off)", apierrors.NewTooManyRequests("slow down", 1), false},
		{"invalid", apierrors.NewBadRequest("no"), false},
		{"context canceled (the manager stops)", fmt.Errorf("list: %w", context.Canceled), false},
		{"a plain error", errors.New("MCPServer has no such tool"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Unavailable(tc.err); got != tc.want {
				t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// switchProbe answers as the API server would: failing while down.
type switchProbe struct {
	down  atomic.Bool
	calls atomic.Int64
}

func (p *switchProbe) probe(context.Context) error {
	p.calls.Add(1)
	if p.down.Load() {
		return errors.New("connection refused")
	}
	return nil
}

func startGate(t *testing.T, p *switchProbe, opts Options) *Gate {
	t.Helper()
	if opts.ProbeInterval == 0 {
		opts.ProbeInterval = 5 * time.Millisecond
	}
	g := New(p.probe, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = g.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return g
}

var refusedErr = &url.Error{Op: "Patch", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

func TestGateClosesOnOutageAndOpensOnProbe(t *testing.T) {
	p := &switchProbe{}
	var changes []bool
	g := startGate(t, p, Options{OnChange: func(closed bool) { changes = append(changes, closed) }})

	if g.Report(apierrors.NewConflict(schema.GroupResource{Resource: "mcptools"}, "t", errors.New("x"))) || g.Closed() {
		t.Fatal("a conflict closed the gate")
	}
	if err := g.Wait(context.Background()); err != nil {
		t.Fatalf("Wait on an open gate: %v", err)
	}
	if p.calls.Load() != 0 {
		t.Fatalf("the open gate probed %d times", p.calls.Load())
	}

	p.down.Store(true)
	if !g.Report(refusedErr) || !g.Closed() {
		t.Fatal("a refused connection did not close the gate")
	}
	waited := make(chan error, 1)
	go func() { waited <- g.Wait(context.Background()) }()
	// The closed gate probes again and again (every 5 ms here); Wait holds meanwhile. Bounded in
	// time only to end the test on a starved machine, not to measure the interval.
	deadline := time.Now().Add(5 * time.Second)
	for p.calls.Load() < 3 {
		select {
		case err := <-waited:
			t.Fatalf("Wait returned (%v) while the API server is down", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed gate probed %d times in 5 s", p.calls.Load())
		}
	}

	p.down.Store(false)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the API server came back")
	}
	if g.Closed() {
		t.Fatal("the gate is still closed")
	}
	// A probe already under way when it opened may still finish; after that, none.
	time.Sleep(20 * time.Millisecond)
	calls := p.calls.Load()
	time.Sleep(100 * time.Millisecond)
	if got := p.calls.Load(); got != calls {
		t.Fatalf("the re-opened gate keeps probing: %d probes in 100 ms", got-calls)
	}
	if fmt.Sprint(changes) != "[true false]" {
		t.Fatalf("OnChange saw %v, want [true false]", changes)
	}
}

func TestGateWaitIsBounded(t *testing.T) {
	p := &switchProbe{}
	p.down.Store(true)
	g := startGate(t, p, Options{MaxWait: 30 * time.Millisecond})
	g.Report(refusedErr)
	start := time.Now()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if time.Since(start) < 30*time.Millisecond || !g.Closed() {
		t.Fatal("Wait returned early, or the gate opened with the API server down")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New(p.probe, Options{}).Wait(ctx); err != nil {
		t.Fatalf("an open gate refused a cancelled context: %v", err)
	}
	g2 := startGate(t, p, Options{})
	g2.Report(refusedErr)
	if err := g2.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context on a closed gate = %v", err)
	}
}

func TestReconcilerFailsOncePerOutage(t *testing.T) {
	p := &switchProbe{}
	g := startGate(t, p, Options{})
	var passes atomic.Int64
	inner := reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
		passes.Add(1)
		if p.down.Load() {
			return reconcile.Result{}, fmt.Errorf("cannot patch status: %w", refusedErr)
		}
		return reconcile.Result{}, nil
	})
	r := g.Reconciler(inner)

	p.down.Store(true)
	if _, err := r.Reconcile(context.Background(), reconcile.Request{}); err == nil {
		t.Fatal("the failed pass was not returned as an error")
	}
	// The retry waits at the gate instead of failing again.
	done := make(chan error, 1)
	go func() { _, err := r.Reconcile(context.Background(), reconcile.Request{}); done <- err }()
	time.Sleep(50 * time.Millisecond)
	if n := passes.Load(); n != 1 {
		t.Fatalf("%d passes ran during the outage, want 1", n)
	}
	p.down.Store(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the pass after the outage: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting pass did not run after the outage")
	}
	if n := passes.Load(); n != 2 {
		t.Fatalf("%d passes, want 2", n)
	}
}

// fakeLW fails while down, like a lister-watcher whose API server refuses connections.
type fakeLW struct {
	p              *switchProbe
	lists, watches atomic.Int64
}

func (f *fakeLW) List(metav1.ListOptions) (runtime.Object, error) {
	f.lists.Add(1)
	if f.p.down.Load() {
		return nil, refusedErr
	}
	return &metav1.List{}, nil
}

func (f *fakeLW) Watch(metav1.ListOptions) (watch.Interface, error) {
	f.watches.Add(1)
	if f.p.down.Load() {
		return nil, refusedErr
	}
	return watch.NewFake(), nil
}

func TestListerWatcherWaitsForTheAPIServer(t *testing.T) {
	p := &switchProbe{}
	g := startGate(t, p, Options{})
	lw := &fakeLW{p: p}
	gated := toolscache.ToListerWatcherWithContext(g.ListerWatcher(lw))

	p.down.Store(true)
	type result struct {
		w   watch.Interface
		err error
	}
	done := make(chan result, 1)
	go func() {
		w, err := gated.WatchWithContext(context.Background(), metav1.ListOptions{})
		done <- result{w, err}
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the watch returned (%v) while the API server is down: the reflector would back off", r.err)
	default:
	}
	p.down.Store(false)
	select {
	case r := <-done:
		if r.err != nil || r.w == nil {
			t.Fatalf("watch after the outage: %v", r.err)
		}
		r.w.Stop()
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not resume after the outage")
	}
	if n := lw.watches.Load(); n != 2 {
		t.Fatalf("%d watch calls, want 2 (the refused one and one after the outage)", n)
	}
	if _, err := gated.ListWithContext(context.Background(), metav1.ListOptions{}); err != nil || lw.lists.Load() != 1 {
		t.Fatalf("list with the API server up: %v (%d calls)", err, lw.lists.Load())
	}

	// Just after the outage, the API server refuses with 403 until its authorization caches
	// sync: retried, not handed to the reflector's backoff.
	settling := &forbiddenLW{forbiddenFor: 3}
	if _, err := toolscache.ToListerWatcherWithContext(g.ListerWatcher(settling)).ListWithContext(context.Background(), metav1.ListOptions{}); err != nil || settling.calls != 4 {
		t.Fatalf("a list refused while the API server settles: %v after %d calls", err, settling.calls)
	}

	// A refusal (403) from an API server that had no outage goes straight to the reflector.
	forbidden := &forbiddenLW{forbiddenFor: 1000}
	fresh := startGate(t, &switchProbe{}, Options{})
	if _, err := toolscache.ToListerWatcherWithContext(fresh.ListerWatcher(forbidden)).ListWithContext(context.Background(), metav1.ListOptions{}); !apierrors.IsForbidden(err) || forbidden.calls != 1 {
		t.Fatalf("a forbidden list: %v after %d calls", err, forbidden.calls)
	}
}

// forbiddenLW refuses its first forbiddenFor lists with 403.
type forbiddenLW struct{ calls, forbiddenFor int }

func (f *forbiddenLW) List(metav1.ListOptions) (runtime.Object, error) {
	f.calls++
	if f.calls <= f.forbiddenFor {
		return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no list"))
	}
	return &metav1.List{}, nil
}

func (f *forbiddenLW) Watch(metav1.ListOptions) (watch.Interface, error) {
	return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no watch"))
}

// A /readyz that keeps failing for a reason that does not stop requests must not slow every pass
// by MaxWait: the first pass that goes through after a wait re-opens the gate.
func TestGateOpensWhenRequestsGoThroughDespiteTheProbe(t *testing.T) {
	p := &switchProbe{}
	p.down.Store(true) // /readyz fails throughout
	g := startGate(t, p, Options{MaxWait: 20 * time.Millisecond})
	g.Report(refusedErr)
	ok := reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return reconcile.Result{}, nil })
	if _, err := g.Reconciler(ok).Reconcile(context.Background(), reconcile.Request{}); err != nil {
		t.Fatal(err)
	}
	if g.Closed() {
		t.Fatal("a pass that went through left the gate closed")
	}

	g.Report(refusedErr)
	lw := &fakeLW{p: &switchProbe{}} // answers
	if _, err := toolscache.ToListerWatcherWithContext(g.ListerWatcher(&flakyLW{fakeLW: lw})).ListWithContext(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if g.Closed() {
		t.Fatal("a list that went through after the wait left the gate closed")
	}
}

// flakyLW refuses its first list, then answers.
type flakyLW struct {
	*fakeLW
	failed bool
}

func (f *flakyLW) List(o metav1.ListOptions) (runtime.Object, error) {
	if !f.failed {
		f.failed = true
		return nil, refusedErr
	}
	return f.fakeLW.List(o)
}

// Recheck waits until the API server answers, whether or not a request found it down.
func TestRecheck(t *testing.T) {
	p := &switchProbe{}
	p.down.Store(true)
	g := startGate(t, p, Options{})
	done := make(chan error, 1)
	go func() { done <- g.Recheck(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Recheck returned (%v) with the API server down", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.down.Store(false)
	select {
	case err := <-done:
		if err != nil || g.Closed() {
			t.Fatalf("Recheck: %v, closed %v", err, g.Closed())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recheck did not return after the API server came back")
	}
}
