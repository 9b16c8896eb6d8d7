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

package livesync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoff(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Minute}
	for _, tc := range []struct {
		attempt  int
		r        float64
		min, max time.Duration
	}{
		{attempt: 0, r: 0, min: 500 * time.Millisecond, max: 500 * time.Millisecond},
		{attempt: 0, r: 0.999, min: 999 * time.Millisecond, max: time.Second},
		{attempt: 1, r: 0.5, min: 1500 * time.Millisecond, max: 1500 * time.Millisecond},
		{attempt: 3, r: 0, min: 4 * time.Second, max: 4 * time.Second},
		{attempt: 6, r: 0.999, min: 59 * time.Second, max: time.Minute},
		{attempt: 1000, r: 0, min: 30 * time.Second, max: 30 * time.Second}, // capped, no overflow
	} {
		if d := b.Delay(tc.attempt, tc.r); d < tc.min || d > tc.max {
			t.Errorf("Delay(%d, %v) = %s, want in [%s, %s]", tc.attempt, tc.r, d, tc.min, tc.max)
		}
	}
}

// TestLimiter plays notifications and timer firings against the debounce and the token bucket.
func TestLimiter(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		ms     int
		notify bool // else fire
	}
	n := func(ms int) step { return step{ms: ms, notify: true} }
	f := func(ms int) step { return step{ms: ms} }
	for _, tc := range []struct {
		name  string
		burst int
		steps []step
		// fired lists the times (ms) at which fire triggered a sync.
		fired   []int
		limited bool
		nextMS  int // when next() says to fire again (-1: nothing to do)
	}{
		{name: "one notification syncs after the debounce", burst: 3,
			steps: []step{n(0), f(499), f(500)}, fired: []int{500}, nextMS: -1},
		{name: "a burst is one sync, quiet for the debounce", burst: 3,
			steps: []step{n(0), n(200), n(400), f(500), f(900)}, fired: []int{900}, nextMS: -1},
		{name: "a steady stream still syncs by maxDelay", burst: 3,
			steps: []step{n(0), n(400), n(800), n(1200), n(1600), n(1999), f(2000)}, fired: []int{2000}, nextMS: -1},
		{name: "past the burst, syncs wait for a token, and say so", burst: 2,
			steps: []step{n(0), f(500), n(600), f(1100), n(1200), f(1700)}, fired: []int{500, 1100}, limited: true,
			// Two tokens spent by 1.1 s; refilled one per 10 s from the first spend.
			nextMS: 10500},
		{name: "the limit lifts when the bucket is full again", burst: 1,
			steps: []step{n(0), f(500), n(600), f(1100), f(10500), f(20500)}, fired: []int{500, 10500}, nextMS: -1},
		{name: "no notification, nothing to do", burst: 3, steps: []step{f(100)}, nextMS: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(500*time.Millisecond, 2*time.Second, tc.burst, 10*time.Second, t0)
			var fired []int
			for _, s := range tc.steps {
				if s.notify {
					l.notify(at(s.ms))
				} else if l.fire(at(s.ms)) {
					fired = append(fired, s.ms)
				}
			}
			if diff := cmp.Diff(tc.fired, fired); diff != "" {
				t.Errorf("syncs (-want +got):\n%s", diff)
			}
			if l.limited != tc.limited {
				t.Errorf("limited = %v, want %v", l.limited, tc.limited)
			}
			next, ok := l.next()
			switch {
			case tc.nextMS < 0 && ok:
				t.Errorf("next = %s, want nothing", next.Sub(t0))
			case tc.nextMS >= 0 && (!ok || next.Sub(t0) != time.Duration(tc.nextMS)*time.Millisecond):
				t.Errorf("next = %s (%v), want %dms", next.Sub(t0), ok, tc.nextMS)
			}
		})
	}
}
