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

// Package apigate knows whether the API server can be reached, and makes the operator wait for it
// rather than fail and back off while it cannot.
//
// Without it, an API server outage of a few seconds costs tens of seconds after it ends: every
// reconcile that fails is re-queued with per-item exponential backoff (doubling from 5 ms, so an
// MCPTool that fails for 8 s waits 10 to 20 s more), and every informer whose watch breaks
// retries with the reflector's own backoff (0.8 s doubling to 30 s), so a consumer deleted after
// the API server is back may go unseen for seconds. With the gate, the first request that finds the
// API server unreachable closes it; reconciles and informers then wait at the gate, which one
// prober re-opens the moment the API server answers /readyz. Each item fails at most once per
// outage, and every informer resumes its watch at once.
package apigate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// Defaults for New.
const (
	// DefaultProbeInterval is how often the prober asks /readyz while the gate is closed.
	DefaultProbeInterval = 250 * time.Millisecond
	// DefaultSettle is how long after the gate opens a list or watch answered 401 or 403 is retried
	// (every DefaultSettleRetry) rather than handed to the reflector: a restarted API server
	// answers 403 to every request until its authorization caches have synced, seconds after
	// /readyz says it is ready. The reflector would back off on each, up to 30 s.
	DefaultSettle = 15 * time.Second
	// DefaultSettleRetry is how often such a list or watch is retried.
	DefaultSettleRetry = 200 * time.Millisecond
	// DefaultMaxWait bounds one wait at the gate: a caller then goes ahead and fails (or succeeds)
	// on its own, so a /readyz that stays unready for a reason that does not stop requests cannot
	// stall the operator.
	DefaultMaxWait = time.Minute
)

// Probe reports whether the API server answers: nil when it does.
type Probe func(ctx context.Context) error

// ReadyzProbe asks the API server of cfg for /readyz. Any answer below 500 means the API server
// and its storage serve: a 401 or 403 from an API server that restricts /readyz proves it up too.
func ReadyzProbe(cfg *rest.Config) (Probe, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	readyz := strings.TrimRight(cfg.Host, "/") + "/readyz"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, readyz, nil)
		if err != nil {
			return err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode >= http.StatusInternalServerError {
			return fmt.Errorf("%s answered %s", readyz, resp.Status)
		}
		return nil
	}, nil
}

// Gate is open while the API server is believed reachable and closed from the first request that
// finds it unreachable until a probe succeeds. The zero value is not usable; call New.
type Gate struct {
	probe    Probe
	interval time.Duration
	maxWait  time.Duration
	clock    clock.WithTicker
	log      logr.Logger
	// onChange, when set, is told each time the gate closes (true) or opens (false).
	onChange func(closed bool)

	mu       sync.Mutex
	closed   bool
	since    time.Time
	openedAt time.Time     // when the gate last opened after an outage
	open     chan struct{} // closed while the gate is open
	wake     chan struct{} // tells the prober the gate closed
}

// Options tune a Gate; zero fields take the defaults.
type Options struct {
	ProbeInterval time.Duration
	MaxWait       time.Duration
	Clock         clock.WithTicker
	Log           logr.Logger
	// OnChange is told each time the gate closes (true) or opens (false), e.g. for a metric.
	OnChange func(closed bool)
}

// New returns an open gate that probes with probe while closed. Start must run for a closed gate
// ever to re-open (other than by MaxWait).
func New(probe Probe, opts Options) *Gate {
	g := &Gate{
		probe: probe, interval: opts.ProbeInterval, maxWait: opts.MaxWait, clock: opts.Clock, log: opts.Log,
		onChange: opts.OnChange,
		open:     make(chan struct{}), wake: make(chan struct{}, 1),
	}
	if g.interval <= 0 {
		g.interval = DefaultProbeInterval
	}
	if g.maxWait <= 0 {
		g.maxWait = DefaultMaxWait
	}
	if g.clock == nil {
		g.clock = clock.RealClock{}
	}
	if g.log.GetSink() == nil {
		g.log = logr.Discard()
	}
	close(g.open)
	return g
}

// Unavailable reports whether err says the API server (or its storage) could not be reached, as
// opposed to an answer about the request itself: refused, reset or dropped connections, timeouts,
// 503 and the 500 and 504 answers an API server gives when etcd is down. The probe has the last
// word: an error classified here that was not an outage re-opens the gate on the first probe.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsInternalError(err) {
		return true
	}
	if errors.As(err, new(apierrors.APIStatus)) {
		return false // any other answer came from a reachable API server
	}
	if utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// Report tells the gate about a failed request: when err says the API server is unreachable, the
// gate closes (if open) and Report returns true.
func (g *Gate) Report(err error) bool {
	if !Unavailable(err) {
		return false
	}
	g.close(err)
	return true
}

// close closes the gate, if open, because of err.
func (g *Gate) close(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed, g.since = true, g.clock.Now()
	g.open = make(chan struct{})
	select {
	case g.wake <- struct{}{}:
	default:
	}
	if err == errRecheck {
		return // a check, not an outage: nothing to report
	}
	g.log.Info("API server unreachable: reconciles and watches wait until it answers again", "error", err.Error())
	if g.onChange != nil {
		g.onChange(true)
	}
}

// errRecheck closes the gate for Recheck.
var errRecheck = errors.New("checking that the API server answers")

// Recheck closes the gate (if open) and waits until the prober finds the API server answering,
// MaxWait passes (the caller then tries anyway), or ctx ends: for a caller about to need the API
// server, such as a manager starting again.
func (g *Gate) Recheck(ctx context.Context) error {
	g.close(errRecheck)
	_, err := g.wait(ctx)
	return err
}

// Closed reports whether the gate is closed.
func (g *Gate) Closed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Wait returns at once while the gate is open; while it is closed, it waits until it opens, ctx
// ends (its error is returned), or MaxWait passes (nil: go ahead).
func (g *Gate) Wait(ctx context.Context) error {
	_, err := g.wait(ctx)
	return err
}

// wait is Wait, also reporting whether MaxWait passed with the gate still closed.
func (g *Gate) wait(ctx context.Context) (timedOut bool, err error) {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return false, nil
	default:
	}
	timeout := g.clock.NewTimer(g.maxWait)
	defer timeout.Stop()
	select {
	case <-open:
		return false, nil
	case <-timeout.C():
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// served tells the gate that a request went through after a wait timed out: the API server
// serves although the probe says otherwise (a /readyz check failing for a reason that does not
// stop requests), so nothing should wait for the probe any longer.
func (g *Gate) served() {
	g.reopen("a request went through although /readyz still fails")
}

// Settling reports whether the gate opened after an outage less than DefaultSettle ago: the API
// server may still refuse requests it will soon accept.
func (g *Gate) Settling() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.closed && !g.openedAt.IsZero() && g.clock.Since(g.openedAt) < DefaultSettle
}

// Start runs the prober until ctx ends: while the gate is closed, it probes every interval and
// opens the gate on the first success. It implements manager.Runnable.
func (g *Gate) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.wake:
		}
		g.probeUntilOpen(ctx)
	}
}

// NeedLeaderElection is false: standbys' informers wait at the gate too.
func (g *Gate) NeedLeaderElection() bool { return false }

func (g *Gate) probeUntilOpen(ctx context.Context) {
	ticker := g.clock.NewTicker(g.interval)
	defer ticker.Stop()
	for {
		probeCtx, cancel := context.WithTimeout(ctx, max(g.interval*4, time.Second))
		err := g.probe(probeCtx)
		cancel()
		if err == nil {
			g.reopen("/readyz answers")
			return
		}
		if !g.Closed() {
			return // re-opened meanwhile by a request that went through
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}

func (g *Gate) reopen(why string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		return
	}
	g.log.Info("API server answers again: reconciles and watches resume", "why", why,
		"unreachableFor", g.clock.Since(g.since).Round(time.Millisecond).String())
	g.closed, g.openedAt = false, g.clock.Now()
	close(g.open)
	if g.onChange != nil {
		g.onChange(false)
	}
}
