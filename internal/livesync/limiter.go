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
	"math"
	"time"
)

// ceil rounds a duration in nanoseconds up, so a timer never fires before a token is there.
func ceil(ns float64) time.Duration { return time.Duration(math.Ceil(ns - epsilon)) }

// limiter turns a server's notifications into syncs: debounced (a sync waits until the server
// has been quiet for debounce, but never more than maxDelay after the first notification of a
// burst) and rate-limited (a token bucket of burst syncs, refilled one per every). A server that
// needs the bucket to refill is "limited" until the bucket is full again with nothing pending.
// It holds no clock: every method takes the time.
type limiter struct {
	debounce, maxDelay time.Duration
	burst              float64
	every              time.Duration

	tokens  float64
	updated time.Time

	pending     bool
	first, last time.Time
	limited     bool
}

// epsilon absorbs the rounding of fractional tokens.
const epsilon = 1e-6

func newLimiter(debounce, maxDelay time.Duration, burst int, every time.Duration, now time.Time) *limiter {
	return &limiter{debounce: debounce, maxDelay: maxDelay, burst: float64(burst), every: every,
		tokens: float64(burst), updated: now}
}

// refill adds the tokens earned since the last update.
func (l *limiter) refill(now time.Time) {
	if now.After(l.updated) {
		l.tokens = min(l.burst, l.tokens+float64(now.Sub(l.updated))/float64(l.every))
		l.updated = now
	}
}

// notify records a notification received at now.
func (l *limiter) notify(now time.Time) {
	if !l.pending {
		l.pending, l.first = true, now
	}
	l.last = now
}

// next is when fire should be called next: when the pending sync is due (debounced, and a
// token available), or, when limited with nothing pending, when the bucket is full again.
func (l *limiter) next() (time.Time, bool) {
	full := l.updated.Add(ceil((l.burst - l.tokens) * float64(l.every)))
	if !l.pending {
		return full, l.limited
	}
	at := l.last.Add(l.debounce)
	if capped := l.first.Add(l.maxDelay); capped.Before(at) {
		at = capped
	}
	if l.tokens < 1-epsilon && l.limited {
		// (Not yet limited: fire at the debounce says so, then waits for the token.)
		if token := l.updated.Add(ceil((1 - l.tokens) * float64(l.every))); token.After(at) {
			at = token
		}
	}
	return at, true
}

// fire reports whether a sync is to be triggered at now, and takes a token when it is.
func (l *limiter) fire(now time.Time) bool {
	l.refill(now)
	if l.pending {
		at := l.last.Add(l.debounce)
		if capped := l.first.Add(l.maxDelay); capped.Before(at) {
			at = capped
		}
		if now.Before(at) {
			return false
		}
		if l.tokens >= 1-epsilon {
			l.tokens = max(0, l.tokens-1)
			l.pending = false
			return true
		}
		l.limited = true
		return false
	}
	if l.limited && l.tokens >= l.burst-epsilon {
		l.limited = false
	}
	return false
}
