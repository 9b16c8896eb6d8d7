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
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/livesync"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// runLiveSyncManager runs the MCPServer and MCPTool controllers with a live sync manager of at
// most maxStreams streams (fast reconnects); stop stops it and waits.
func runLiveSyncManager(t testing.TB, cfg *rest.Config, scheme *runtime.Scheme, maxStreams int) (stop func()) {
	t.Helper()
	// The test's log (shown with -v or on failure); none in benchmarks.
	log := zap.New(zap.WriteTo(io.Discard))
	if tt, ok := t.(*testing.T); ok {
		log = testr.New(tt)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 log,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "Deployment"}}
	if err := SetupIndexes(ctx, mgr, kinds); err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	live := livesync.New(livesync.Options{
		Egress: utils.LoopbackEgress(), MaxStreams: maxStreams, Version: "test", Log: log.WithName("livesync"),
		Backoff: livesync.Backoff{Min: 200 * time.Millisecond, Max: 2 * time.Second},
	})
	if err := (&MCPServerReconciler{
		Client: OperatorClient(mgr), APIReader: mgr.GetAPIReader(), Discoverer: &mcp.Client{Egress: utils.LoopbackEgress(), Version: "test"},
		Recorder: mgr.GetEventRecorder("livesync-test"), Clock: clock.RealClock{}, MaxConcurrentReconciles: 4,
		ConsumerKinds: kinds, Metrics: m, LiveSync: live,
	}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := (&MCPToolReconciler{Client: OperatorClient(mgr), APIReader: mgr.GetAPIReader(), ConsumerKinds: kinds, MaxConcurrentReconciles: 16}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Error(err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// liveEnv is what the live sync tests share.
type liveEnv struct {
	t  *testing.T
	c  client.Client
	ns string
}

func (e *liveEnv) eventually(what string, within time.Duration, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			e.t.Fatalf("not within %s: %s (last: %s)", within, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *liveEnv) server(name string) *mcpv1alpha1.MCPServer {
	s := &mcpv1alpha1.MCPServer{}
	if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		e.t.Fatal(err)
	}
	return s
}

func (e *liveEnv) create(name, url string, mutate func(*mcpv1alpha1.MCPServerSpec)) {
	e.t.Helper()
	s := &mcpv1alpha1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}, Spec: mcpv1alpha1.MCPServerSpec{
		URL: url, SyncInterval: &metav1.Duration{Duration: time.Hour}, Timeout: &metav1.Duration{Duration: 5 * time.Second},
	}}
	if mutate != nil {
		mutate(&s.Spec)
	}
	if err := e.c.Create(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *liveEnv) update(name string, change func(*mcpv1alpha1.MCPServer)) {
	e.t.Helper()
	for range 20 {
		s := e.server(name)
		change(s)
		err := e.c.Update(context.Background(), s)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			e.t.Fatal(err)
		}
	}
	e.t.Fatalf("cannot update %s", name)
}

func (e *liveEnv) delete(name string) {
	e.t.Helper()
	if s := e.server(name); s != nil {
		if err := e.c.Delete(context.Background(), s); client.IgnoreNotFound(err) != nil {
			e.t.Fatal(err)
		}
	}
	e.eventually("the server is gone", 30*time.Second, func() (bool, string) { return e.server(name) == nil, "" })
}

// liveState is the server's status.liveSync and message.
func (e *liveEnv) liveState(name string) (mcpv1alpha1.LiveSyncState, string) {
	s := e.server(name)
	if s == nil {
		return "", "gone"
	}
	return s.Status.LiveSync, s.Status.LiveSyncMessage
}

func (e *liveEnv) waitLive(name string, want mcpv1alpha1.LiveSyncState, within time.Duration) {
	e.t.Helper()
	e.eventually(fmt.Sprintf("%s is %s", name, want), within, func() (bool, string) {
		state, msg := e.liveState(name)
		return state == want, fmt.Sprintf("%s %q", state, msg)
	})
}

// tools maps a server's MCPTools' tool names to their descriptions.
func (e *liveEnv) tools(name string) map[string]string {
	list := &mcpv1alpha1.MCPToolList{}
	if err := e.c.List(context.Background(), list, client.InNamespace(e.ns), client.MatchingLabels{mcpv1alpha1.ServerLabel: name}); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, t := range list.Items {
		out[t.Spec.ToolName] = t.Spec.Description
	}
	return out
}

func (e *liveEnv) waitTools(name string, within time.Duration, cond func(map[string]string) bool) {
	e.t.Helper()
	e.eventually("the MCPTools of "+name, within, func() (bool, string) {
		tools := e.tools(name)
		return cond(tools), fmt.Sprint(tools)
	})
}

func startStateful(t *testing.T, addr string, cfg mcpserver.Config) *mcpserver.Server {
	t.Helper()
	cfg.Stateful = true
	s, err := mcpserver.Start(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func hostPort(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestLiveSync walks a live server through the stream's lifecycle on envtest, with the real
// controllers and the in-repo test server keeping sessions. syncInterval is 1h throughout: every
// change seen is seen through the stream.
func TestLiveSync(t *testing.T) {
	env := utils.StartEnvtest(t)
	stop := runLiveSyncManager(t, env.Config, env.Scheme, 2)
	defer stop()
	newEnv := func(t *testing.T) *liveEnv {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "live-"}}
		if err := env.Client.Create(context.Background(), ns); err != nil {
			t.Fatal(err)
		}
		return &liveEnv{t: t, c: env.Client, ns: ns.Name}
	}
	const bound = 5 * time.Second // well before syncInterval (1h); the benchmark measures it

	t.Run("a runtime tool change is reflected at once, and an idle stream writes nothing", func(t *testing.T) {
		e := newEnv(t)
		upstream := startStateful(t, "127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(2)})
		e.create("live", upstream.URL(), nil)
		e.waitLive("live", mcpv1alpha1.LiveSyncConnected, 15*time.Second)
		e.waitTools("live", bound, func(m map[string]string) bool { return len(m) == 2 })

		upstream.Update(func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(3) })
		e.waitTools("live", bound, func(m map[string]string) bool { _, ok := m["tool-002"]; return ok })

		upstream.Update(func(c *mcpserver.Config) { c.Tools[0].Description = "changed upstream" })
		e.waitTools("live", bound, func(m map[string]string) bool { return m["tool-000"] == "changed upstream" })

		upstream.Update(func(c *mcpserver.Config) { c.Tools = c.Tools[:1] })
		e.waitTools("live", bound, func(m map[string]string) bool { return len(m) == 1 })

		time.Sleep(2 * time.Second) // the last sync's follow-up passes
		before := e.server("live").ResourceVersion
		requests := upstream.Requests()
		time.Sleep(3 * time.Second)
		if after := e.server("live").ResourceVersion; after != before {
			t.Errorf("an idle connected stream wrote the server: %s -> %s", before, after)
		}
		if got := upstream.Requests() - requests; got != 0 {
			t.Errorf("an idle connected stream made %d requests", got)
		}
		if state, msg := e.liveState("live"); state != mcpv1alpha1.LiveSyncConnected || msg != "" {
			t.Errorf("liveSync = %s %q", state, msg)
		}
		e.delete("live")
	})

	t.Run("suspend disables the stream; resume reconnects", func(t *testing.T) {
		e := newEnv(t)
		upstream := startStateful(t, "127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(1)})
		e.create("suspended", upstream.URL(), nil)
		e.waitLive("suspended", mcpv1alpha1.LiveSyncConnected, 15*time.Second)
		e.update("suspended", func(s *mcpv1alpha1.MCPServer) { s.Spec.Suspend = ptr.To(true) })
		e.waitLive("suspended", mcpv1alpha1.LiveSyncDisabled, bound)
		if _, msg := e.liveState("suspended"); msg != liveSyncSuspendedMessage {
			t.Errorf("message = %q", msg)
		}
		e.eventually("the stream is closed", bound, func() (bool, string) { return upstream.Sessions() == 0, fmt.Sprint(upstream.Sessions()) })
		e.update("suspended", func(s *mcpv1alpha1.MCPServer) { s.Spec.Suspend = nil })
		e.waitLive("suspended", mcpv1alpha1.LiveSyncConnected, 15*time.Second)
		e.delete("suspended")
		e.eventually("deleting closes the stream", bound, func() (bool, string) { return upstream.Sessions() == 0, fmt.Sprint(upstream.Sessions()) })
	})

	t.Run("spec.liveSync false polls only", func(t *testing.T) {
		e := newEnv(t)
		upstream := startStateful(t, "127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(1)})
		e.create("optout", upstream.URL(), nil)
		e.waitLive("optout", mcpv1alpha1.LiveSyncConnected, 15*time.Second)
		e.update("optout", func(s *mcpv1alpha1.MCPServer) { s.Spec.LiveSync = ptr.To(false) })
		e.waitLive("optout", mcpv1alpha1.LiveSyncDisabled, bound)
		if _, msg := e.liveState("optout"); msg != liveSyncOptedOutMessage {
			t.Errorf("message = %q", msg)
		}
		e.eventually("the stream is closed", bound, func() (bool, string) { return upstream.Sessions() == 0, fmt.Sprint(upstream.Sessions()) })
		upstream.Update(func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(2) })
		time.Sleep(2 * time.Second)
		if got := e.tools("optout"); len(got) != 1 {
			t.Errorf("a server without live sync changed before its syncInterval: %v", got)
		}
		e.delete("optout")
	})

	t.Run("a server restarted mid-stream is reconnected, and what changed meanwhile synced", func(t *testing.T) {
		e := newEnv(t)
		upstream := startStateful(t, "127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(1)})
		addr := hostPort(t, upstream.URL())
		e.create("restart", upstream.URL(), nil)
		e.waitLive("restart", mcpv1alpha1.LiveSyncConnected, 15*time.Second)
		_ = upstream.Close()
		e.waitLive("restart", mcpv1alpha1.LiveSyncPolling, bound)
		_, msg := e.liveState("restart")
		t.Logf("while down: %s", msg)
		startStateful(t, addr, mcpserver.Config{Tools: mcpserver.GeneratedTools(4)})
		e.waitLive("restart", mcpv1alpha1.LiveSyncConnected, 15*time.Second)
		e.waitTools("restart", bound, func(m map[string]string) bool { return len(m) == 4 })
		e.delete("restart")
	})

	t.Run("past --max-live-streams a server polls, and says so", func(t *testing.T) {
		e := newEnv(t)
		var upstreams []*mcpserver.Server
		for i := range 3 {
			upstreams = append(upstreams, startStateful(t, "127.0.0.1:0", mcpserver.Config{Tools: mcpserver.GeneratedTools(1)}))
			e.create(fmt.Sprintf("s%d", i), upstreams[i].URL(), nil)
			if i < 2 {
				e.waitLive(fmt.Sprintf("s%d", i), mcpv1alpha1.LiveSyncConnected, 15*time.Second)
			}
		}
		e.waitLive("s2", mcpv1alpha1.LiveSyncPolling, 15*time.Second)
		if _, msg := e.liveState("s2"); msg != livesync.MessageLimit {
			t.Errorf("message = %q, want the limit's", msg)
		}
		e.delete("s0")
		e.waitLive("s2", mcpv1alpha1.LiveSyncConnected, 15*time.Second)
		upstreams[2].Update(func(c *mcpserver.Config) { c.Tools = mcpserver.GeneratedTools(2) })
		e.waitTools("s2", bound, func(m map[string]string) bool { return len(m) == 2 })
		e.delete("s1")
		e.delete("s2")
	})
}
