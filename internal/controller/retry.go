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
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/toolregistry/mcp-registry-operator/internal/apigate"
)

// How every controller of the operator retries, in one place.
const (
	// retryBase is the first retry delay of an item whose pass failed; it doubles per failure.
	retryBase = 5 * time.Millisecond
	// retryMax caps that delay. controller-runtime's default cap is 1000 s: an MCPTool whose
	// status patch failed a dozen times in a row (an API server outage of 8 s is enough) would
	// wait up to 17 minutes. A minute keeps a persistent failure (Forbidden, a webhook refusing)
	// from spinning while still retrying it often enough to notice the fix. Outages themselves
	// are handled by the API server gate, so items do not pile up failures while it is down.
	retryMax = time.Minute
)

// rateLimiter is the per-item exponential backoff every controller uses. There is no overall
// token bucket on top (controller-runtime's priority queue has none either): the API server
// protects itself with priority and fairness, and a bucket shared by all items turns a burst of
// failures into retries spread tens of seconds into the future.
func rateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](retryBase, retryMax)
}

// controllerOptions are the options of every controller: its concurrency and the rate limiter.
// Names are not checked for uniqueness in the process: a manager that lost its lease is replaced
// by a new one in the same process, with the same controllers.
func controllerOptions(concurrency int) controller.Options {
	return controller.Options{
		MaxConcurrentReconciles: max(1, concurrency), RateLimiter: rateLimiter(), SkipNameValidation: ptr.To(true),
	}
}

// gated makes r wait at the API server gate, when there is one (the manager always has one;
// tests may not), and run only while its fence is open, when it has one.
func gated(gate *apigate.Gate, fence *Fence, r reconcile.Reconciler) reconcile.Reconciler {
	if gate != nil {
		r = gate.Reconciler(r)
	}
	if fence != nil {
		r = fence.reconciler(r)
	}
	return r
}

// Fence closes off the controllers of one manager. A manager that loses its lease stops without
// waiting for its reconciles to finish (controller-runtime expects the process to exit); before a
// new manager is started in the same process, Close refuses new passes of the old controllers and
// waits for those in flight, so that no two passes of two managers ever overlap.
type Fence struct {
	mu       sync.Mutex
	closed   bool
	inFlight sync.WaitGroup
}

// Close refuses every new pass and waits until the passes in flight have returned.
func (f *Fence) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.inFlight.Wait()
}

func (f *Fence) reconciler(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return reconcile.Result{}, nil // the manager that owned this controller is gone
		}
		f.inFlight.Add(1)
		f.mu.Unlock()
		defer f.inFlight.Done()
		return r.Reconcile(ctx, req)
	})
}
