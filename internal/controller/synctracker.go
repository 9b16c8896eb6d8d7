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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
)

// firstFailureRetry is the first retry delay after a failed sync; it doubles per consecutive
// failure, up to syncInterval.
const firstFailureRetry = 5 * time.Second

// syncTracker remembers, per server, the last sync attempt and the last successful discovery. It
// separates contacting the MCP server (a sync, due every syncInterval, on a spec change, or with
// backoff after a failure) from reconciling (re-applying the last discovery, which reverts hand
// edits and updates consumers, with no network call). It is in memory: after a restart the first
// pass of every server syncs.
type syncTracker struct {
	mu      sync.Mutex
	records map[types.NamespacedName]*syncRecord
	// collectionDeletes remembers when each server's MCPTools were last deleted with one
	// collection call, so that passes seeing a cache still catching up do not repeat it.
	collectionDeletes map[types.UID]time.Time
}

type syncRecord struct {
	inputs   syncInputs
	attempt  time.Time
	failures int
	// result is the last successful discovery for these inputs; nil until one succeeds.
	result *mcp.Result
}

// syncInputs is what a sync depends on besides time: the server object, its spec, and the Secrets it
// reads. When any of them changes, the last attempt says nothing about the next one.
type syncInputs struct {
	uid        types.UID
	generation int64
	// secrets identifies the versions of the referenced Secrets (see MCPServerReconciler.secretVersions).
	secrets string
	// liveChanges counts the syncs the server's notification stream asked for (livesync): a
	// notification makes the next pass contact the server.
	liveChanges uint64
}

func newSyncTracker() *syncTracker {
	return &syncTracker{records: map[types.NamespacedName]*syncRecord{}, collectionDeletes: map[types.UID]time.Time{}}
}

// due reports whether the server must be synced now (never synced with these inputs, or its
// interval or failure backoff has passed), and otherwise how long until it must, with the last
// discovery to re-apply meanwhile (nil if none).
func (t *syncTracker) due(server *mcpv1alpha1.MCPServer, inputs syncInputs, now time.Time) (bool, time.Duration, *mcp.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.records[client.ObjectKeyFromObject(server)]
	if rec == nil || rec.inputs != inputs {
		return true, 0, nil
	}
	wait := retryAfter(server, rec.failures)
	if rec.failures == 0 && rec.result != nil {
		wait = resyncAfter(server, rec.result.TTLMs)
	}
	if elapsed := now.Sub(rec.attempt); elapsed < wait {
		return false, wait - elapsed, rec.result
	}
	return true, 0, nil
}

// succeeded records a successful discovery.
func (t *syncTracker) succeeded(server *mcpv1alpha1.MCPServer, inputs syncInputs, now time.Time, result *mcp.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.records[client.ObjectKeyFromObject(server)] = &syncRecord{inputs: inputs, attempt: now, result: result}
}

// failed records a failed sync attempt and returns when to retry. A previous discovery with the
// same inputs is kept, so hand edits are still reverted while the server is down.
func (t *syncTracker) failed(server *mcpv1alpha1.MCPServer, inputs syncInputs, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := client.ObjectKeyFromObject(server)
	rec := t.records[key]
	if rec == nil || rec.inputs != inputs {
		rec = &syncRecord{inputs: inputs}
		t.records[key] = rec
	}
	rec.attempt = now
	rec.failures++
	return retryAfter(server, rec.failures)
}

// minResync is the shortest wait between successful syncs: spec.syncInterval's minimum, and the
// floor under a server's ttlMs.
const minResync = 10 * time.Second

// resyncAfter is the wait after a successful sync: syncInterval, or the ttlMs of the server's list
// results when shorter (it says they may be stale after it), never below minResync.
func resyncAfter(server *mcpv1alpha1.MCPServer, ttlMs int64) time.Duration {
	interval := syncInterval(server)
	if ttlMs <= 0 || ttlMs >= interval.Milliseconds() {
		return interval
	}
	return max(minResync, time.Duration(ttlMs)*time.Millisecond)
}

// retryAfter is the wait after failures consecutive failed syncs: syncInterval after a success,
// else firstFailureRetry doubling per failure, capped at syncInterval.
func retryAfter(server *mcpv1alpha1.MCPServer, failures int) time.Duration {
	if failures == 0 {
		return syncInterval(server)
	}
	return min(syncInterval(server), firstFailureRetry<<min(failures-1, 10))
}

// collectionDeleteDue reports whether the server's MCPTools should be deleted with a collection
// call now: not if one was issued within the last `within` (the cache is still catching up with it).
// When due, it records now as the time of the call.
func (t *syncTracker) collectionDeleteDue(uid types.UID, now time.Time, within time.Duration) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.collectionDeletes[uid]; ok && now.Sub(last) < within {
		return false, within - now.Sub(last)
	}
	t.collectionDeletes[uid] = now
	return true, 0
}

// collectionDeleteFailed forgets a collection delete that failed (for example because the API
// server went away in the middle of it, leaving some MCPTools unmarked): the next pass issues
// it again at once.
func (t *syncTracker) collectionDeleteFailed(uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.collectionDeletes, uid)
}

// forget drops what is known about a server (it was deleted).
func (t *syncTracker) forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec := t.records[key]; rec != nil {
		delete(t.collectionDeletes, rec.inputs.uid)
	}
	delete(t.records, key)
}
