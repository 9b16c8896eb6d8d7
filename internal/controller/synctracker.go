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
	uid        types.UID
	generation int64
	attempt    time.Time
	failures   int
	// result is the last successful discovery at this generation; nil until one succeeds.
	result *mcp.Result
}

func newSyncTracker() *syncTracker {
	return &syncTracker{records: map[types.NamespacedName]*syncRecord{}, collectionDeletes: map[types.UID]time.Time{}}
}

// due reports whether the server must be synced now, and otherwise how long until it must, with the
// last discovery to re-apply meanwhile (nil if none).
func (t *syncTracker) due(server *mcpv1alpha1.MCPServer, now time.Time) (bool, time.Duration, *mcp.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.records[types.NamespacedName{Namespace: server.Namespace, Name: server.Name}]
	if rec == nil || rec.uid != server.UID || rec.generation != server.Generation {
		return true, 0, nil
	}
	wait := syncInterval(server)
	if rec.failures > 0 {
		wait = min(wait, firstFailureRetry<<min(rec.failures-1, 10))
	}
	if elapsed := now.Sub(rec.attempt); elapsed < wait {
		return false, wait - elapsed, rec.result
	}
	return true, 0, nil
}

// succeeded records a successful discovery.
func (t *syncTracker) succeeded(server *mcpv1alpha1.MCPServer, now time.Time, result *mcp.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.records[types.NamespacedName{Namespace: server.Namespace, Name: server.Name}] = &syncRecord{
		uid: server.UID, generation: server.Generation, attempt: now, result: result,
	}
}

// failed records a failed sync attempt and returns when to retry. A previous discovery at the same
// generation is kept, so hand edits are still reverted while the server is down.
func (t *syncTracker) failed(server *mcpv1alpha1.MCPServer, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := types.NamespacedName{Namespace: server.Namespace, Name: server.Name}
	rec := t.records[key]
	if rec == nil || rec.uid != server.UID || rec.generation != server.Generation {
		rec = &syncRecord{uid: server.UID, generation: server.Generation}
		t.records[key] = rec
	}
	rec.attempt = now
	rec.failures++
	return min(syncInterval(server), firstFailureRetry<<min(rec.failures-1, 10))
}

// collectionDeleteDue reports whether the server's MCPTools should be deleted with a collection
// call now: not if one was issued within the last `within` (the cache is still catching up with it).
// When due, it records now as the time of the call.
func (t *syncTracker) collectionDeleteDue(uid types.UID, now time.Time, within time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.collectionDeletes[uid]; ok && now.Sub(last) < within {
		return false
	}
	t.collectionDeletes[uid] = now
	return true
}

// forget drops what is known about a server (it was deleted).
func (t *syncTracker) forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec := t.records[key]; rec != nil {
		delete(t.collectionDeletes, rec.uid)
	}
	delete(t.records, key)
}
