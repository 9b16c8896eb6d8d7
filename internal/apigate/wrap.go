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
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Reconciler wraps r: each pass first waits at the gate, and a pass that fails because the API
// server is unreachable closes it. The failed pass is still returned as an error, so the workqueue
// retries it with backoff, but that retry then waits at the gate instead of failing again: an item
// fails once per outage, its backoff stays at milliseconds, and it runs the moment the API server
// is back.
func (g *Gate) Reconciler(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		timedOut, err := g.wait(ctx)
		if err != nil {
			return reconcile.Result{}, err
		}
		result, err := r.Reconcile(ctx, req)
		switch {
		case err != nil:
			g.Report(err)
		case timedOut:
			g.served()
		}
		return result, err
	})
}

// ListerWatcher wraps an informer's lister-watcher: a list or watch that finds the API server
// unreachable closes the gate, waits for it to open, and tries once more before the reflector sees
// the error. Without it, the reflector backs off on its own (0.8 s doubling to 30 s, not
// configurable through the informers) and resumes its watch up to that long after the API server
// is back.
func (g *Gate) ListerWatcher(lw toolscache.ListerWatcher) toolscache.ListerWatcher {
	return &gatedListerWatcher{gate: g, lw: toolscache.ToListerWatcherWithContext(lw)}
}

type gatedListerWatcher struct {
	gate *Gate
	lw   toolscache.ListerWatcherWithContext
}

func (l *gatedListerWatcher) List(options metav1.ListOptions) (runtime.Object, error) {
	return l.ListWithContext(context.Background(), options)
}

func (l *gatedListerWatcher) Watch(options metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), options)
}

func (l *gatedListerWatcher) ListWithContext(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
	return retrying(ctx, l.gate, func() (runtime.Object, error) { return l.lw.ListWithContext(ctx, options) })
}

func (l *gatedListerWatcher) WatchWithContext(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
	return retrying(ctx, l.gate, func() (watch.Interface, error) { return l.lw.WatchWithContext(ctx, options) })
}

// retrying calls call, and calls it again (the reflector would instead back off, 0.8 s doubling
// to 30 s): once the gate opens after an error that closed it, and every DefaultSettleRetry while
// the API server refuses with 401 or 403 just after an outage. Any other error, or one that lasts
// beyond the settling time, goes to the reflector.
func retrying[T any](ctx context.Context, g *Gate, call func() (T, error)) (T, error) {
	result, err := call()
	if err != nil && g.Report(err) {
		timedOut, waitErr := g.wait(ctx)
		if waitErr != nil {
			return result, err
		}
		result, err = call()
		if err == nil && timedOut {
			g.served()
		}
	}
	for err != nil && (apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)) && g.Settling() {
		select {
		case <-ctx.Done():
			return result, err
		case <-g.clock.After(DefaultSettleRetry):
		}
		result, err = call()
	}
	if err != nil {
		g.Report(err)
	}
	return result, err
}

// NewInformer is a controller-runtime cache NewInformer hook whose informers list and watch
// through the gate.
func (g *Gate) NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(g.ListerWatcher(lw), obj, resync, indexers)
}

var (
	_ toolscache.ListerWatcher            = &gatedListerWatcher{}
	_ toolscache.ListerWatcherWithContext = &gatedListerWatcher{}
)
