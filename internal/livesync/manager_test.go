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
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
)

// fakeConn is a stream the test ends or watches close.
type fakeConn struct {
	done   chan struct{}
	err    error
	closed chan struct{}
	once   sync.Once
	notify func()
}

func (c *fakeConn) Done() <-chan struct{} { return c.done }
func (c *fakeConn) Err() error            { return c.err }
func (c *fakeConn) Close()                { c.once.Do(func() { close(c.closed) }) }

// drop ends the stream as a server restart would.
func (c *fakeConn) drop(err error) {
	c.err = err
	close(c.done)
}

// fakeDialer hands out fakeConns, or the errors queued for a URL.
type fakeDialer struct {
	mu     sync.Mutex
	errs   map[string][]error
	conns  map[string][]*fakeConn
	tokens []string
	dialed chan string
}

func newFakeDialer() *fakeDialer {
	return &fakeDialer{errs: map[string][]error{}, conns: map[string][]*fakeConn{}, dialed: make(chan string, 100)}
}

func (d *fakeDialer) dial(_ context.Context, ep mcp.Endpoint, notify func()) (Conn, error) {
	d.mu.Lock()
	defer func() { d.dialed <- ep.URL }()
	defer d.mu.Unlock()
	d.tokens = append(d.tokens, ep.BearerToken)
	if errs := d.errs[ep.URL]; len(errs) > 0 {
		d.errs[ep.URL] = errs[1:]
		return nil, errs[0]
	}
	c := &fakeConn{done: make(chan struct{}), closed: make(chan struct{}), notify: notify}
	d.conns[ep.URL] = append(d.conns[ep.URL], c)
	return c, nil
}

func (d *fakeDialer) fail(url string, errs ...error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs[url] = append(d.errs[url], errs...)
}

func (d *fakeDialer) last(url string) *fakeConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	cs := d.conns[url]
	if len(cs) == 0 {
		return nil
	}
	return cs[len(cs)-1]
}

func (d *fakeDialer) count(url string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns[url])
}

func waitDial(t *testing.T, d *fakeDialer, url string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-d.dialed:
			if got == url {
				return
			}
		case <-timeout:
			t.Fatalf("%s was not dialed", url)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func key(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }

func endpoint(name string) mcp.Endpoint {
	return mcp.Endpoint{URL: "http://" + name + ".example/mcp", Timeout: time.Second, BearerToken: "t1"}
}

// start runs a Manager with fast timings; stop stops it and returns when Start has returned.
func start(t *testing.T, d *fakeDialer, maxStreams int) (m *Manager, stop func()) {
	t.Helper()
	return startWith(t, d, maxStreams, nil)
}

// startWith is start with the metrics given.
func startWith(t *testing.T, d *fakeDialer, maxStreams int, metrics *metrics.LiveSync) (m *Manager, stop func()) {
	t.Helper()
	m = New(Options{MaxStreams: maxStreams, Dial: d.dial, Debounce: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond,
		Burst: 3, RefillEvery: time.Hour, Backoff: Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}, Metrics: metrics})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Start(ctx)
	}()
	return m, func() {
		cancel()
		<-done
	}
}

func status(m *Manager, name string) Status {
	st, _ := m.Status(key(name))
	return st
}

func connected(m *Manager, name string) func() bool {
	return func() bool { return status(m, name).State == mcpv1alpha1.LiveSyncConnected }
}

func TestLifecycle(t *testing.T) {
	t.Run("a stream starts with the manager, on the leader, and closes when it stops", func(t *testing.T) {
		d := newFakeDialer()
		m := New(Options{MaxStreams: 10, Dial: d.dial})
		if !m.NeedLeaderElection() {
			t.Fatal("streams must only run on the leader")
		}
		m.Ensure(key("a"), 1, endpoint("a"))
		if _, known := m.Status(key("a")); known {
			t.Error("a stream not yet connecting reports a status")
		}
		if d.count(endpoint("a").URL) != 0 {
			t.Fatal("dialed before Start (before leading)")
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = m.Start(ctx) }()
		waitDial(t, d, endpoint("a").URL)
		eventually(t, "Connected", connected(m, "a"))
		cancel() // shutdown, or leader loss: the manager's context ends
		<-done
		if !closed(d.last(endpoint("a").URL).closed) {
			t.Error("the stream was not closed when the manager stopped")
		}
		m.Ensure(key("b"), 1, endpoint("b"))
		time.Sleep(50 * time.Millisecond)
		if d.count(endpoint("b").URL) != 0 {
			t.Error("a stopped manager opened a stream")
		}
	})

	t.Run("stop closes the stream and forgets the server", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 10)
		defer stop()
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "Connected", connected(m, "a"))
		m.Stop(key("a"))
		eventually(t, "closed", func() bool { return closed(d.last(endpoint("a").URL).closed) })
		if st := status(m, "a"); st.Message != MessageWaiting {
			t.Errorf("status after stop = %+v", st)
		}
	})

	t.Run("a notification is debounced into one sync, and enqueues the server", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 10)
		defer stop()
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "Connected", connected(m, "a"))
		drain(m)
		c := d.last(endpoint("a").URL)
		for range 5 {
			c.notify()
			time.Sleep(2 * time.Millisecond)
		}
		eventually(t, "one sync", func() bool { return m.Changes(key("a")) == 1 })
		time.Sleep(60 * time.Millisecond)
		if got := m.Changes(key("a")); got != 1 {
			t.Errorf("changes = %d after one burst, want 1", got)
		}
		if got := drain(m); !slicesContain(got, "ns/a") {
			t.Errorf("enqueued %v, want ns/a", got)
		}
	})

	t.Run("a flood is rate-limited and says so", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 10)
		defer stop()
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "Connected", connected(m, "a"))
		c := d.last(endpoint("a").URL)
		for i := range 10 {
			c.notify()
			eventually(t, fmt.Sprintf("sync %d", i+1), func() bool {
				return m.Changes(key("a")) == uint64(min(i+1, 3)) && (i < 3 || strings.HasPrefix(status(m, "a").Message, "Rate-limited"))
			})
		}
		if st := status(m, "a"); st.State != mcpv1alpha1.LiveSyncConnected || !strings.Contains(st.Message, "Rate-limited") {
			t.Errorf("status = %+v, want Connected and rate-limited", st)
		}
	})

	t.Run("a dropped stream reconnects with backoff and syncs what it may have missed", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 10)
		defer stop()
		url := endpoint("a").URL
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "Connected", connected(m, "a"))
		d.fail(url, errors.New("connection refused"), errors.New("connection refused"))
		d.last(url).drop(errors.New("the server closed the stream"))
		eventually(t, "Polling", func() bool { return status(m, "a").State == mcpv1alpha1.LiveSyncPolling })
		eventually(t, "reconnected", func() bool { return d.count(url) == 2 && status(m, "a").State == mcpv1alpha1.LiveSyncConnected })
		if got := m.Changes(key("a")); got != 1 {
			t.Errorf("changes after a reconnect = %d, want 1 (a sync for what was missed)", got)
		}
	})

	t.Run("refused credentials wait for new ones", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 10)
		defer stop()
		url := endpoint("a").URL
		d.fail(url, fmt.Errorf("%w (HTTP 401)", ErrRefused))
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "refused", func() bool { return status(m, "a").Message == MessageRefused })
		m.Ensure(key("a"), 1, endpoint("a")) // the same token: nothing to try
		time.Sleep(50 * time.Millisecond)
		if d.count(url) != 0 || m.Streams() != 0 {
			t.Fatalf("dialed again with refused credentials (conns %d, streams %d)", d.count(url), m.Streams())
		}
		ep := endpoint("a")
		ep.BearerToken = "t2"
		m.Ensure(key("a"), 1, ep)
		eventually(t, "Connected", connected(m, "a"))
		if last := d.tokens[len(d.tokens)-1]; last != "t2" {
			t.Errorf("token used = %q, want the new one", last)
		}
	})

	t.Run("a server without a stream polls, and is not retried on every sync", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 10)
		defer stop()
		url := endpoint("a").URL
		d.fail(url, fmt.Errorf("%w: the server does not advertise listChanged for tools or prompts", ErrUnsupported))
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "Polling", func() bool { return status(m, "a").State == mcpv1alpha1.LiveSyncPolling })
		if msg := status(m, "a").Message; msg != "No notification stream (the server does not advertise listChanged for tools or prompts): changes are seen at syncInterval" {
			t.Errorf("message = %q", msg)
		}
		m.Ensure(key("a"), 1, endpoint("a"))
		time.Sleep(50 * time.Millisecond)
		if d.count(url) != 0 {
			t.Error("dialed again at once")
		}
		moved := endpoint("a")
		moved.URL = "http://a.example/v2/mcp"
		m.Ensure(key("a"), 2, moved)
		eventually(t, "Connected at the new URL", connected(m, "a"))
	})

	t.Run("a new URL reopens the stream; a stale generation stops it", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 10)
		defer stop()
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "Connected", connected(m, "a"))
		first := d.last(endpoint("a").URL)
		moved := endpoint("a")
		moved.URL = "http://a.example/v2/mcp"
		m.Ensure(key("a"), 2, moved)
		eventually(t, "old closed, new open", func() bool { return closed(first.closed) && d.count(moved.URL) == 1 })
		renewed := moved
		renewed.BearerToken = "t2"
		m.Ensure(key("a"), 2, renewed) // new credentials: kept for the next connection
		time.Sleep(30 * time.Millisecond)
		if d.count(moved.URL) != 1 || closed(d.last(moved.URL).closed) {
			t.Error("new credentials reopened a connected stream")
		}
		m.Retain(key("a"), 2)
		if closed(d.last(moved.URL).closed) {
			t.Error("Retain at the stream's generation stopped it")
		}
		m.Retain(key("a"), 3)
		eventually(t, "stopped", func() bool { return closed(d.last(moved.URL).closed) })
	})

	t.Run("past --max-live-streams a server polls until a slot frees", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 1)
		defer stop()
		m.Ensure(key("a"), 1, endpoint("a"))
		eventually(t, "a Connected", connected(m, "a"))
		m.Ensure(key("b"), 1, endpoint("b"))
		if st := status(m, "b"); st.State != mcpv1alpha1.LiveSyncPolling || st.Message != MessageLimit {
			t.Errorf("b = %+v, want Polling at the limit", st)
		}
		m.Stop(key("a"))
		eventually(t, "b Connected", connected(m, "b"))
	})

	t.Run("--max-live-streams=0 disables live sync", func(t *testing.T) {
		d := newFakeDialer()
		m, stop := start(t, d, 0)
		defer stop()
		m.Ensure(key("a"), 1, endpoint("a"))
		time.Sleep(30 * time.Millisecond)
		if d.count(endpoint("a").URL) != 0 {
			t.Error("dialed with live sync off")
		}
		if st, _ := m.Status(key("a")); st.State != mcpv1alpha1.LiveSyncDisabled || st.Message != MessageOff {
			t.Errorf("status = %+v", st)
		}
	})
}

// drain returns the servers enqueued so far.
func drain(m *Manager) []string {
	var out []string
	for {
		select {
		case e := <-m.events:
			out = append(out, e.Object.GetNamespace()+"/"+e.Object.GetName())
		default:
			return out
		}
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
