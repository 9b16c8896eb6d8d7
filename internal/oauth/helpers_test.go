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

package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/internal/egress"
)

// testEgress reaches 127.0.0.1 only: the rest of loopback stays denied.
func testEgress(t *testing.T) *egress.Egress {
	t.Helper()
	policy, err := egress.NewPolicy(egress.DefaultDenyCIDRs, []string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	return egress.New(policy, 0, nil)
}

func testTransport(t *testing.T) *transport {
	return &transport{egress: testEgress(t), timeout: 5 * time.Second}
}

// recorded is one request a fake server received.
type recorded struct {
	Method, Path, Authorization, ContentType string
	Form                                     url.Values
	Body                                     []byte
}

func (r recorded) String() string { return r.Method + " " + r.Path }

// recServer is an httptest server on 127.0.0.1 that records every request.
type recServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recHandler func(s *recServer, w http.ResponseWriter, r *http.Request, rec recorded)

func listenAt(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	return l
}

func newRecServer(t *testing.T, h recHandler) *recServer {
	t.Helper()
	return newRecServerOn(t, listenAt(t, "127.0.0.1:0"), h)
}

func newRecServerOn(t *testing.T, l net.Listener, h recHandler) *recServer {
	t.Helper()
	s := &recServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rec := recorded{
			Method: r.Method, Path: r.URL.EscapedPath(), Authorization: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Body: body,
		}
		if strings.HasPrefix(rec.ContentType, "application/x-www-form-urlencoded") {
			rec.Form, _ = url.ParseQuery(string(body))
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
		h(s, w, r, rec)
	}))
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// log is the "METHOD path" of every request so far.
func (s *recServer) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for _, r := range s.reqs {
		out = append(out, r.String())
	}
	return out
}

// requests are those to path.
func (s *recServer) requests(method, path string) []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []recorded
	for _, r := range s.reqs {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (s *recServer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// countingListener counts the connections accepted on a raw listener, closing each at once.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
	done     chan struct{}
}

func newCountingListener(t *testing.T, addr string) *countingListener {
	t.Helper()
	c := &countingListener{Listener: listenAt(t, addr), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			conn, err := c.Accept()
			if err != nil {
				return // closed
			}
			c.accepted.Add(1)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		<-c.done
	})
	return c
}

// memStore is a Store over a shared backend holding the state as Secret data (so every Save
// goes through Data and every Load through StateFromData), with an optimistic version check: a
// Save fails when another handle saved since this one's last Load or Save.
type memStore struct {
	b    *memBackend
	seen int
	// failSave, when set, is asked before each Save; an error fails it.
	failSave func(st *State) error
}

type memBackend struct {
	mu      sync.Mutex
	data    map[string][]byte
	version int
	saves   int
}

var errStale = errors.New("conflict: the state was saved since it was loaded")

func newMemStore() *memStore { return &memStore{b: &memBackend{}} }

// handle is another store over the same backend (another replica, or a restarted manager).
func (s *memStore) handle() *memStore { return &memStore{b: s.b} }

func (s *memStore) Load(context.Context) (*State, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.seen = s.b.version
	if s.b.data == nil {
		return nil, nil
	}
	return StateFromData(copyData(s.b.data))
}

func (s *memStore) Save(_ context.Context, st *State) error {
	if s.failSave != nil {
		if err := s.failSave(st); err != nil {
			return err
		}
	}
	data, err := st.Data()
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.seen != s.b.version {
		return errStale
	}
	s.b.data = copyData(data)
	s.b.version++
	s.b.saves++
	s.seen = s.b.version
	return nil
}

// state is the recorded state, nil when none.
func (s *memStore) state(t *testing.T) *State {
	t.Helper()
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.data == nil {
		return nil
	}
	st, err := StateFromData(copyData(s.b.data))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func copyData(d map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(d))
	for k, v := range d {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// assertNoSecrets fails when s shows any of secrets.
func assertNoSecrets(t *testing.T, what, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%s shows a secret %q: %s", what, secret, s)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func wantKind(t *testing.T, err error, kind Kind, transient bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got none", kind)
	}
	k, tr := KindOf(err)
	if k != kind || tr != transient {
		t.Fatalf("KindOf = (%q, transient %v), want (%q, %v); err: %v", k, tr, kind, transient, err)
	}
}

func TestMemStoreStaleSave(t *testing.T) {
	ctx := context.Background()
	a := newMemStore()
	b := a.handle()
	if _, err := a.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, &State{ClientID: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx, &State{ClientID: "a"}); !errors.Is(err, errStale) {
		t.Fatalf("stale save: %v, want %v", err, errStale)
	}
	if got := a.state(t).ClientID; got != "b" {
		t.Fatalf("client %q, want b", got)
	}
	if err := b.Save(ctx, &State{ClientID: "b2"}); err != nil {
		t.Fatalf("a second save by the same handle: %v", err)
	}
}
