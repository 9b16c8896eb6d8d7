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
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
)

// Defaults of Options.
const (
	// DefaultMaxStreams is the default of --max-live-streams.
	DefaultMaxStreams  = 1000
	defaultDebounce    = 500 * time.Millisecond
	defaultMaxDelay    = 2 * time.Second
	defaultBurst       = 10
	defaultRefillEvery = 30 * time.Second
	defaultStableAfter = 30 * time.Second
	defaultRecheck     = 30 * time.Minute
	defaultMaxBytes    = 16 << 20
	// shutdownGrace bounds how long Start waits for streams to close.
	shutdownGrace = 10 * time.Second
)

// Options configure a Manager; zero fields take the defaults.
type Options struct {
	// Egress is the way out for every stream. Required unless Dial is set.
	Egress *egress.Egress
	// MaxStreams is the most streams open at once; 0 turns live sync off (every server reports
	// Disabled). --max-live-streams.
	MaxStreams int
	// Version is reported to servers as the client implementation's version.
	Version string
	Log     logr.Logger
	Clock   clock.Clock
	// Debounce is how long a server must be quiet after a notification before its sync;
	// MaxDelay caps the wait after the first notification of a burst.
	Debounce, MaxDelay time.Duration
	// Burst syncs may follow notifications at once; then one per RefillEvery.
	Burst       int
	RefillEvery time.Duration
	// Backoff spaces reconnects; a stream that stayed up StableAfter starts again from Min.
	Backoff     Backoff
	StableAfter time.Duration
	// RecheckAfter is how long a server that offers no stream is left alone before the next
	// successful sync tries again.
	RecheckAfter time.Duration
	// MaxStreamBytes caps what one connection may send (every response body); past it, the
	// stream reconnects.
	MaxStreamBytes int64
	// Dial opens streams; nil means the official Go SDK through Egress. Tests substitute one.
	Dial DialFunc
	// Metrics, when set, count notifications, syncs, failures and rate limits, and report this
	// manager's streams by state.
	Metrics *metrics.LiveSync
}

// Status is what the manager knows of one server's live sync.
type Status struct {
	State   mcpv1alpha1.LiveSyncState
	Message string
}

// Messages of Status (stable: a status is only written when it changes).
const (
	MessageOff        = "Live sync is off for this manager (--max-live-streams=0): changes are seen at syncInterval"
	MessageWaiting    = "Waiting for a successful sync before opening the notification stream"
	MessageLimit      = "The manager keeps --max-live-streams streams already: changes are seen at syncInterval"
	MessageRefused    = "The server refused the credentials on the notification stream: the next successful sync hands over new ones"
	MessageRateLimitF = "Rate-limited: the server sends list_changed notifications faster than %d syncs at once and one per %s; syncing at that pace"
)

// Manager keeps the notification streams of the servers the controller hands it. It is a
// controller-runtime Runnable that needs leader election: streams run only while this process
// leads, and all close when the manager stops.
type Manager struct {
	opts   Options
	dial   DialFunc
	events chan event.GenericEvent

	mu      sync.Mutex
	entries map[types.NamespacedName]*entry
	ctx     context.Context // set by Start; nil before
	stopped bool
	wg      sync.WaitGroup
}

var _ manager.LeaderElectionRunnable = &Manager{}

// entry is one server the manager was handed.
type entry struct {
	key        types.NamespacedName
	generation int64
	ep         mcp.Endpoint
	status     Status
	known      bool
	// changes counts the syncs the server's notifications asked for.
	changes atomic.Uint64

	run     int                // the current run's number; a run only reports for itself
	cancel  context.CancelFunc // of the running stream; nil when idle
	idle    error              // why it stopped by itself (ErrUnsupported, ErrRefused), if it did
	idledAt time.Time
	waiting bool // over MaxStreams, waiting for a slot
}

// New returns a Manager.
func New(opts Options) *Manager {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Debounce <= 0 {
		opts.Debounce = defaultDebounce
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = defaultMaxDelay
	}
	if opts.Burst <= 0 {
		opts.Burst = defaultBurst
	}
	if opts.RefillEvery <= 0 {
		opts.RefillEvery = defaultRefillEvery
	}
	if opts.Backoff.Min <= 0 || opts.Backoff.Max < opts.Backoff.Min {
		opts.Backoff = DefaultBackoff
	}
	if opts.StableAfter <= 0 {
		opts.StableAfter = defaultStableAfter
	}
	if opts.RecheckAfter <= 0 {
		opts.RecheckAfter = defaultRecheck
	}
	if opts.MaxStreamBytes <= 0 {
		opts.MaxStreamBytes = defaultMaxBytes
	}
	m := &Manager{opts: opts, dial: opts.Dial, events: make(chan event.GenericEvent, 1024),
		entries: map[types.NamespacedName]*entry{}}
	if m.dial == nil {
		d := &dialer{egress: opts.Egress, version: opts.Version, maxBytes: opts.MaxStreamBytes}
		m.dial = d.dial
	}
	opts.Metrics.SetStreams(m.streamCounts)
	return m
}

// Enabled reports whether the manager keeps streams at all (MaxStreams > 0).
func (m *Manager) Enabled() bool { return m.opts.MaxStreams > 0 }

// Source enqueues a server whose notifications ask for a sync or whose Status changed. Watch it
// from the MCPServer controller.
func (m *Manager) Source() source.Source {
	return source.Channel(m.events, &handler.EnqueueRequestForObject{})
}

// NeedLeaderElection makes streams run only on the leader.
func (m *Manager) NeedLeaderElection() bool { return true }

// Start runs the streams handed over before and after it, until ctx ends; then it closes them
// all and waits (a bounded time) for them to close.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	for _, e := range m.entries {
		if e.cancel == nil && e.idle == nil {
			m.startLocked(e)
		}
	}
	m.mu.Unlock()

	<-ctx.Done()
	m.mu.Lock()
	m.stopped = true
	for _, e := range m.entries {
		if e.cancel != nil {
			e.cancel()
			e.cancel = nil
		}
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		m.opts.Log.Info("Some notification streams did not close in time", "grace", shutdownGrace)
	}
	return nil
}

// Ensure keeps a stream to the server at key, with ep, the endpoint (and credentials) of its
// last successful sync at generation. A new URL, transport or TLS setting reopens the stream; new
// credentials are used from the next connection, and wake a stream the server refused.
func (m *Manager) Ensure(key types.NamespacedName, generation int64, ep mcp.Endpoint) {
	if !m.Enabled() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e == nil {
		e = &entry{key: key, generation: generation, ep: ep}
		m.entries[key] = e
		m.startLocked(e)
		return
	}
	moved := !sameTarget(e.ep, ep)
	newCredentials := e.ep.BearerToken != ep.BearerToken
	e.generation, e.ep = generation, ep
	switch {
	case e.cancel != nil && moved:
		e.cancel()
		e.cancel = nil
		m.startLocked(e)
	case e.cancel != nil, e.waiting:
	case e.idle == nil, moved,
		errors.Is(e.idle, ErrRefused) && newCredentials,
		errors.Is(e.idle, ErrUnsupported) && m.opts.Clock.Since(e.idledAt) >= m.opts.RecheckAfter:
		e.idle = nil
		m.startLocked(e)
	}
}

// Retain stops the stream of the server at key when it was started for another generation than
// generation (the spec changed and no sync succeeded since).
func (m *Manager) Retain(key types.NamespacedName, generation int64) {
	m.mu.Lock()
	e := m.entries[key]
	stale := e != nil && e.generation != generation
	m.mu.Unlock()
	if stale {
		m.Stop(key)
	}
}

// Stop closes the stream of the server at key (suspended, deleted, or opted out) and forgets it.
func (m *Manager) Stop(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e == nil {
		return
	}
	delete(m.entries, key)
	if e.cancel != nil {
		e.cancel()
		e.cancel = nil
		m.admitWaitingLocked()
	}
}

// Status is the live sync status of the server at key; false while its stream is connecting for
// the first time (nothing new to say).
func (m *Manager) Status(key types.NamespacedName) (Status, bool) {
	if !m.Enabled() {
		return Status{State: mcpv1alpha1.LiveSyncDisabled, Message: MessageOff}, true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e == nil {
		return Status{State: mcpv1alpha1.LiveSyncPolling, Message: MessageWaiting}, true
	}
	return e.status, e.known
}

// Changes counts the syncs the server's notifications asked for: when it moves, the next pass
// contacts the server.
func (m *Manager) Changes(key types.NamespacedName) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[key]; e != nil {
		return e.changes.Load()
	}
	return 0
}

// Streams is the number of streams running (connected, connecting or waiting to reconnect).
func (m *Manager) Streams() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runningLocked()
}

// streamCounts counts the streams by state, for the metrics.
func (m *Manager) streamCounts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	counts := map[string]int{}
	for _, e := range m.entries {
		switch {
		case e.waiting:
			counts[metrics.StreamWaiting]++
		case e.cancel == nil:
		case e.known && e.status.State == mcpv1alpha1.LiveSyncConnected:
			counts[metrics.StreamConnected]++
		default:
			counts[metrics.StreamConnecting]++
		}
	}
	return counts
}

func (m *Manager) runningLocked() int {
	n := 0
	for _, e := range m.entries {
		if e.cancel != nil {
			n++
		}
	}
	return n
}

// startLocked runs e's stream, when the manager has started and a slot is free.
func (m *Manager) startLocked(e *entry) {
	if m.ctx == nil || m.stopped {
		return // Start starts it
	}
	if m.runningLocked() >= m.opts.MaxStreams {
		e.waiting = true
		m.setLocked(e, Status{State: mcpv1alpha1.LiveSyncPolling, Message: MessageLimit})
		return
	}
	e.waiting = false
	e.run++
	ctx, cancel := context.WithCancel(m.ctx)
	e.cancel = cancel
	m.wg.Add(1)
	go m.stream(ctx, e, e.run)
}

// admitWaitingLocked starts a waiting stream now that a slot is free.
func (m *Manager) admitWaitingLocked() {
	for _, e := range m.entries {
		if e.waiting {
			m.startLocked(e)
			return
		}
	}
}

// set records a run's status and, when it changed, enqueues the server so the controller
// writes it.
func (m *Manager) set(e *entry, run int, st Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.run == run && m.entries[e.key] == e {
		m.setLocked(e, st)
	}
}

func (m *Manager) setLocked(e *entry, st Status) {
	if e.known && e.status == st {
		return
	}
	e.status, e.known = st, true
	m.enqueue(e.key)
}

// idle records that a run stopped by itself for why, freeing its slot.
func (m *Manager) idle(e *entry, run int, why error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.run != run || m.entries[e.key] != e {
		return
	}
	e.cancel, e.idle, e.idledAt = nil, why, m.opts.Clock.Now()
	m.admitWaitingLocked()
}

// trigger asks for a sync of e's server, for reason.
func (m *Manager) trigger(e *entry, reason string) {
	m.opts.Metrics.CountSync(reason)
	e.changes.Add(1)
	m.enqueue(e.key)
}

// enqueue hands the server to the controller without blocking: the buffer holds 1024 servers,
// and a server dropped from a full buffer is synced at its next pass all the same (its change
// counter moved).
func (m *Manager) enqueue(key types.NamespacedName) {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetNamespace(key.Namespace)
	obj.SetName(key.Name)
	select {
	case m.events <- event.GenericEvent{Object: obj}:
	default:
	}
}

func (m *Manager) endpoint(e *entry) mcp.Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return e.ep
}

// sleep waits d on the manager's clock, false when ctx ended first.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	t := m.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// sameTarget reports whether two endpoints reach the same server the same way (credentials
// aside).
func sameTarget(a, b mcp.Endpoint) bool {
	if a.URL != b.URL || a.Transport != b.Transport || a.InsecureSkipVerify != b.InsecureSkipVerify || a.Timeout != b.Timeout {
		return false
	}
	if (a.RootCAs == nil) != (b.RootCAs == nil) {
		return false
	}
	return a.RootCAs == nil || a.RootCAs.Equal(b.RootCAs)
}

// jitter is a random number in [0, 1) for the backoff.
func jitter() float64 { return rand.Float64() }
