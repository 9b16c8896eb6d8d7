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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
)

func TestSyncTracker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	server := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "u1", Generation: 1},
		Spec:       mcpv1alpha1.MCPServerSpec{SyncInterval: &metav1.Duration{Duration: time.Minute}},
	}
	inputs := syncInputs{uid: "u1", generation: 1, secrets: "token=100;"}
	result := &mcp.Result{PromptCount: 3}

	type step struct {
		succeed, fail bool          // record an attempt at this time
		ttlMs         int64         // the ttlMs of a successful discovery
		at            time.Duration // since t0
		inputs        *syncInputs   // defaults to inputs
		wantDue       bool
		wantWait      time.Duration // when not due
		wantResult    bool          // when not due: the last discovery is returned
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "never synced", steps: []step{{wantDue: true}}},
		{name: "synced: due again after syncInterval, the discovery re-applied meanwhile", steps: []step{
			{succeed: true, wantDue: true},
			{at: 20 * time.Second, wantWait: 40 * time.Second, wantResult: true},
			{at: time.Minute, wantDue: true},
		}},
		{name: "a new generation is due at once", steps: []step{
			{succeed: true, wantDue: true},
			{at: time.Second, inputs: &syncInputs{uid: "u1", generation: 2, secrets: "token=100;"}, wantDue: true},
		}},
		{name: "a re-created server (new UID) is due at once", steps: []step{
			{succeed: true, wantDue: true},
			{at: time.Second, inputs: &syncInputs{uid: "u2", generation: 1, secrets: "token=100;"}, wantDue: true},
		}},
		{name: "failures back off: 5s, 10s, 20s, 40s, capped at syncInterval", steps: []step{
			{fail: true, wantDue: true},
			{at: 4 * time.Second, wantWait: time.Second},
			{at: 5 * time.Second, fail: true, wantDue: true},
			{at: 14 * time.Second, wantWait: time.Second},
			{at: 15 * time.Second, fail: true, wantDue: true},
			{at: 34 * time.Second, wantWait: time.Second},
			{at: 35 * time.Second, fail: true, wantDue: true},
			{at: 36 * time.Second, wantWait: 39 * time.Second},
			{at: 75 * time.Second, fail: true, wantDue: true},
			{at: 76 * time.Second, wantWait: 59 * time.Second},
		}},
		{name: "a changed Secret is due at once, whatever the backoff", steps: []step{
			{fail: true, wantDue: true},
			{at: 5 * time.Second, fail: true, wantDue: true},
			{at: 15 * time.Second, fail: true, wantDue: true},
			{at: 16 * time.Second, inputs: &syncInputs{uid: "u1", generation: 1, secrets: "token=101;"}, wantDue: true},
		}},
		{name: "a ttlMs shorter than syncInterval makes the next sync due after it", steps: []step{
			{succeed: true, ttlMs: 15000, wantDue: true},
			{at: 5 * time.Second, wantWait: 10 * time.Second, wantResult: true},
			{at: 15 * time.Second, wantDue: true},
		}},
		{name: "a ttlMs under the 10s floor: due after 10s", steps: []step{
			{succeed: true, ttlMs: 500, wantDue: true},
			{at: 9 * time.Second, wantWait: time.Second, wantResult: true},
			{at: 10 * time.Second, wantDue: true},
		}},
		{name: "a ttlMs longer than syncInterval changes nothing", steps: []step{
			{succeed: true, ttlMs: 3_600_000, wantDue: true},
			{at: 59 * time.Second, wantWait: time.Second, wantResult: true},
			{at: time.Minute, wantDue: true},
		}},
		{name: "after a failure the backoff applies, not the ttl", steps: []step{
			{succeed: true, ttlMs: 15000, wantDue: true},
			{at: 15 * time.Second, fail: true, wantDue: true},
			{at: 16 * time.Second, wantWait: 4 * time.Second, wantResult: true},
		}},
		{name: "a failure keeps the last discovery to re-apply", steps: []step{
			{succeed: true, wantDue: true},
			{at: time.Minute, fail: true, wantDue: true},
			{at: time.Minute + time.Second, wantWait: 4 * time.Second, wantResult: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracker := newSyncTracker()
			for i, st := range tt.steps {
				in := inputs
				if st.inputs != nil {
					in = *st.inputs
				}
				now := t0.Add(st.at)
				due, wait, last := tracker.due(server, in, now)
				if due != st.wantDue {
					t.Fatalf("step %d: due = %v, want %v", i, due, st.wantDue)
				}
				if !due && wait != st.wantWait {
					t.Errorf("step %d: wait = %s, want %s", i, wait, st.wantWait)
				}
				if !due && (last != nil) != st.wantResult {
					t.Errorf("step %d: last discovery = %v, want present = %v", i, last, st.wantResult)
				}
				switch {
				case st.succeed:
					res := *result
					res.TTLMs = st.ttlMs
					tracker.succeeded(server, in, now, &res)
				case st.fail:
					tracker.failed(server, in, now)
				}
			}
		})
	}
}

// A collection delete is not repeated while the cache catches up, the pass learns when it may be,
// and one that failed (cut short by an API server outage) may be repeated at once.
func TestCollectionDeleteRepeat(t *testing.T) {
	tr := newSyncTracker()
	now := time.Now()
	if due, _ := tr.collectionDeleteDue("uid", now, 10*time.Second); !due {
		t.Fatal("the first collection delete is not due")
	}
	if due, wait := tr.collectionDeleteDue("uid", now.Add(4*time.Second), 10*time.Second); due || wait != 6*time.Second {
		t.Fatalf("4 s later: due %v, wait %s; want not due, 6s", due, wait)
	}
	if due, _ := tr.collectionDeleteDue("uid", now.Add(10*time.Second), 10*time.Second); !due {
		t.Fatal("10 s later the collection delete is not due again")
	}
	tr.collectionDeleteFailed("uid")
	if due, _ := tr.collectionDeleteDue("uid", now.Add(11*time.Second), 10*time.Second); !due {
		t.Fatal("a failed collection delete is not due again at once")
	}
}

func TestResyncAfter(t *testing.T) {
	server := func(interval time.Duration) *mcpv1alpha1.MCPServer {
		return &mcpv1alpha1.MCPServer{Spec: mcpv1alpha1.MCPServerSpec{SyncInterval: &metav1.Duration{Duration: interval}}}
	}
	tests := []struct {
		interval time.Duration
		ttlMs    int64
		want     time.Duration
	}{
		{5 * time.Minute, 0, 5 * time.Minute},       // no hint
		{5 * time.Minute, -1, 5 * time.Minute},      // nonsense is no hint
		{5 * time.Minute, 60_000, time.Minute},      // shorter: taken
		{5 * time.Minute, 1, 10 * time.Second},      // never below the floor
		{5 * time.Minute, 10_000, 10 * time.Second}, // the floor itself
		{5 * time.Minute, 300_000, 5 * time.Minute}, // equal
		{5 * time.Minute, 1 << 50, 5 * time.Minute}, // longer: syncInterval
		{10 * time.Second, 1000, 10 * time.Second},  // syncInterval at its minimum
		{time.Minute, 30_500, 30*time.Second + 500*time.Millisecond},
	}
	for _, tt := range tests {
		if got := resyncAfter(server(tt.interval), tt.ttlMs); got != tt.want {
			t.Errorf("resyncAfter(syncInterval %s, ttlMs %d) = %s, want %s", tt.interval, tt.ttlMs, got, tt.want)
		}
	}
	if got := resyncAfter(&mcpv1alpha1.MCPServer{}, 90_000); got != 90*time.Second {
		t.Errorf("default syncInterval, ttlMs 90000: %s, want 1m30s", got)
	}
}
