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
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/metrics"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// maxMessageError bounds the error quoted in a status message.
const maxMessageError = 600

// stream is one run of a server's stream: connect, serve notifications, reconnect with backoff
// when the stream drops, until ctx ends (stopped, or the manager stopped) or the server offers
// no stream or refuses the credentials (the run goes idle until the next Ensure).
func (m *Manager) stream(ctx context.Context, e *entry, run int) {
	defer m.wg.Done()
	log := m.opts.Log.WithValues("mcpserver", klog.KRef(e.key.Namespace, e.key.Name))
	notes := make(chan struct{}, 1)
	notify := func() {
		m.opts.Metrics.CountNotification()
		select {
		case notes <- struct{}{}:
		default:
		}
	}
	lim := newLimiter(m.opts.Debounce, m.opts.MaxDelay, m.opts.Burst, m.opts.RefillEvery, m.opts.Clock.Now())
	attempt, dropped := 0, false
	for {
		conn, err := m.dial(ctx, m.endpoint(e), notify)
		if ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			return
		}
		if err != nil {
			switch {
			case errors.Is(err, ErrUnsupported):
				log.V(1).Info("The MCP server offers no notification stream", "reason", err.Error())
				m.set(e, run, Status{State: mcpv1alpha1.LiveSyncPolling, Message: unsupportedMessage(err)})
				m.idle(e, run, err)
				return
			case errors.Is(err, ErrRefused):
				log.Info("The MCP server refused the credentials on the notification stream", "reason", err.Error())
				m.set(e, run, Status{State: mcpv1alpha1.LiveSyncPolling, Message: MessageRefused})
				m.idle(e, run, err)
				return
			}
			log.V(1).Info("Cannot open the notification stream", "error", err.Error(), "attempt", attempt)
			m.opts.Metrics.CountFailure()
			m.set(e, run, Status{State: mcpv1alpha1.LiveSyncPolling,
				Message: "Cannot open the notification stream, retrying with backoff: " + text.ForMessage(err.Error(), maxMessageError)})
			dropped = true
			if !m.sleep(ctx, m.opts.Backoff.Delay(attempt, jitter())) {
				return
			}
			attempt++
			continue
		}

		log.V(1).Info("Notification stream open")
		connectedAt := m.opts.Clock.Now()
		m.set(e, run, m.connected(lim))
		if dropped {
			// Notifications may have been missed while the stream was down.
			m.trigger(e, metrics.LiveSyncReconnect)
		}
		err = m.serve(ctx, e, run, conn, notes, lim)
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		dropped = true
		if m.opts.Clock.Since(connectedAt) >= m.opts.StableAfter {
			attempt = 0
		}
		if errors.Is(err, ErrRefused) {
			log.Info("The MCP server refused the credentials on the notification stream", "reason", err.Error())
			m.set(e, run, Status{State: mcpv1alpha1.LiveSyncPolling, Message: MessageRefused})
			m.idle(e, run, err)
			return
		}
		log.V(1).Info("Notification stream lost", "error", err.Error(), "attempt", attempt)
		m.opts.Metrics.CountFailure()
		m.set(e, run, Status{State: mcpv1alpha1.LiveSyncPolling,
			Message: "Notification stream lost, reconnecting with backoff: " + text.ForMessage(err.Error(), maxMessageError)})
		if !m.sleep(ctx, m.opts.Backoff.Delay(attempt, jitter())) {
			return
		}
		attempt++
	}
}

// serve turns the notifications of an open stream into syncs until the stream ends (its error is
// returned) or ctx ends (nil).
func (m *Manager) serve(ctx context.Context, e *entry, run int, conn Conn, notes <-chan struct{}, lim *limiter) error {
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var fire <-chan time.Time
		if at, ok := lim.next(); ok {
			if timer != nil {
				timer.Stop()
			}
			timer = m.opts.Clock.NewTimer(max(at.Sub(m.opts.Clock.Now()), 0))
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-conn.Done():
			return conn.Err()
		case <-notes:
			lim.notify(m.opts.Clock.Now())
		case <-fire:
			wasLimited := lim.limited
			if lim.fire(m.opts.Clock.Now()) {
				m.trigger(e, metrics.LiveSyncNotification)
			}
			if lim.limited && !wasLimited {
				m.opts.Metrics.CountRateLimited()
			}
			m.set(e, run, m.connected(lim))
		}
	}
}

// connected is the status of an open stream: rate-limited or not.
func (m *Manager) connected(lim *limiter) Status {
	if lim.limited {
		return Status{State: mcpv1alpha1.LiveSyncConnected, Message: fmt.Sprintf(MessageRateLimitF, m.opts.Burst, m.opts.RefillEvery)}
	}
	return Status{State: mcpv1alpha1.LiveSyncConnected}
}

// unsupportedMessage says why a server has no stream.
func unsupportedMessage(err error) string {
	why := strings.TrimPrefix(err.Error(), ErrUnsupported.Error()+": ")
	return "No notification stream (" + text.ForMessage(why, maxMessageError) + "): changes are seen at syncInterval"
}
