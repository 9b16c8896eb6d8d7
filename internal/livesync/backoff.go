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

import "time"

// Backoff is the wait before a reconnect: Min doubling per failed attempt up to Max, jittered.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff waits 1 s, 2 s, 4 s ... up to 5 minutes between reconnects.
var DefaultBackoff = Backoff{Min: time.Second, Max: 5 * time.Minute}

// Delay is the wait before reconnect attempt (0 for the first retry), with "equal jitter": half
// the exponential delay, plus r (in [0, 1)) times the other half. Streams dropped together (a
// server restart, a network blip) so do not reconnect together.
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	base := b.Min
	for i := 0; i < attempt && base < b.Max; i++ {
		base *= 2
	}
	base = min(base, b.Max)
	half := base / 2
	return half + time.Duration(r*float64(base-half))
}
