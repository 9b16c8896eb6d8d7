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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// ErrUnsupported is matched by errors.Is for a server that offers no notification stream: it does
// not advertise listChanged, or refuses the stream (e.g. HTTP 405 to the standalone GET).
// Reconnecting will not help until the server changes.
var ErrUnsupported = errors.New("no notification stream")

// ErrRefused is matched by errors.Is for a stream the server refused with HTTP 401 or 403: it
// waits for the next successful sync to hand over new credentials.
var ErrRefused = errors.New("the server refused the credentials on the notification stream")

// Conn is one open notification stream.
type Conn interface {
	// Done is closed when the stream ends, by the server or the network.
	Done() <-chan struct{}
	// Err says why the stream ended, once Done is closed.
	Err() error
	// Close ends the stream and its session.
	Close()
}

// DialFunc opens a notification stream to ep; notify is called for every
// notifications/tools/list_changed and notifications/prompts/list_changed. It returns once the
// stream is open (its response headers received), or an error: ErrUnsupported, ErrRefused, or
// any other (retried with backoff).
type DialFunc func(ctx context.Context, ep mcp.Endpoint, notify func()) (Conn, error)

// dialer opens streams with the official Go SDK, through the egress.
type dialer struct {
	egress   *egress.Egress
	version  string
	maxBytes int64
}

func (d *dialer) dial(ctx context.Context, ep mcp.Endpoint, notify func()) (Conn, error) {
	if d.egress == nil {
		return nil, errors.New("livesync has no Egress")
	}
	timeout := ep.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	origin, err := url.Parse(ep.URL)
	if err != nil || (origin.Scheme != "http" && origin.Scheme != "https") || origin.Host == "" {
		return nil, fmt.Errorf("%w: invalid endpoint URL %q", ErrUnsupported, text.Ellipsize(ep.URL, 200))
	}
	w := newWatcher(d.maxBytes)
	opts := egress.ClientOptions{
		Origin: origin, RootCAs: ep.RootCAs, InsecureSkipVerify: ep.InsecureSkipVerify,
		ResponseHeaderTimeout: timeout,
		Wrap:                  func(next http.RoundTripper) http.RoundTripper { w.next = next; return w },
	}
	if ep.BearerToken != "" {
		opts.Authorization = "Bearer " + ep.BearerToken
	}
	httpClient := d.egress.Client(opts)

	var transport sdk.Transport
	switch ep.Transport {
	case mcpv1alpha1.TransportSSE:
		transport = &sdk.SSEClientTransport{Endpoint: ep.URL, HTTPClient: httpClient}
	case mcpv1alpha1.TransportStreamableHTTP, "":
		// No retries inside the SDK: a stream that ends ends the session, and the manager
		// reconnects with its own backoff (and a sync, for what it may have missed).
		transport = &sdk.StreamableClientTransport{Endpoint: ep.URL, HTTPClient: httpClient, MaxRetries: -1}
	default:
		return nil, fmt.Errorf("%w: unsupported transport %q", ErrUnsupported, ep.Transport)
	}

	sessionCtx, cancel := context.WithCancel(ctx)
	watchdog := time.AfterFunc(timeout, cancel)
	client := sdk.NewClient(&sdk.Implementation{Name: "mcp-registry-operator", Version: d.version}, &sdk.ClientOptions{
		ToolListChangedHandler:   func(context.Context, *sdk.ToolListChangedRequest) { notify() },
		PromptListChangedHandler: func(context.Context, *sdk.PromptListChangedRequest) { notify() },
	})
	session, err := client.Connect(sessionCtx, transport, nil)
	if err != nil {
		timedOut := !watchdog.Stop()
		cancel()
		if timedOut {
			err = fmt.Errorf("cannot connect and initialize within %s", timeout)
		}
		return nil, d.explain(origin, w, fmt.Errorf("cannot connect and initialize: %w", err))
	}
	c := &conn{session: session, cancel: cancel, watcher: w, done: make(chan struct{})}
	fail := func(err error) (Conn, error) {
		watchdog.Stop()
		c.Close()
		return nil, err
	}

	caps := &sdk.ServerCapabilities{}
	if init := session.InitializeResult(); init != nil && init.Capabilities != nil {
		caps = init.Capabilities
	}
	if !(caps.Tools != nil && caps.Tools.ListChanged) && !(caps.Prompts != nil && caps.Prompts.ListChanged) {
		return fail(fmt.Errorf("%w: the server does not advertise listChanged for tools or prompts", ErrUnsupported))
	}
	// The standalone GET starts inside Connect; subscriptions/listen (2026-07-28) may still be
	// on its way.
	select {
	case <-w.established:
	case <-w.ended:
		return fail(d.explain(origin, w, fmt.Errorf("the notification stream ended at once: %w", w.err())))
	case <-sessionCtx.Done():
		return fail(fmt.Errorf("the notification stream did not open within %s", timeout))
	}
	watchdog.Stop()
	go func() {
		// A session that ends without its stream ending (the SSE transport's messages) ends it.
		_ = session.Wait()
		w.end(errors.New("the session ended"))
	}()
	go func() {
		<-w.ended
		close(c.done)
	}()
	return c, nil
}

// explain classifies a failure from what the watcher saw.
func (d *dialer) explain(origin *url.URL, w *watcher, err error) error {
	w.mu.Lock()
	status, unsupported := w.refusedStatus, w.unsupported
	w.mu.Unlock()
	switch {
	case status != 0:
		return fmt.Errorf("%w (HTTP %d)", ErrRefused, status)
	case unsupported != "":
		return fmt.Errorf("%w: %s", ErrUnsupported, unsupported)
	}
	return d.egress.Explain(origin, err)
}

// conn is a session with its stream.
type conn struct {
	session *sdk.ClientSession
	cancel  context.CancelFunc
	watcher *watcher
	done    chan struct{}
	once    sync.Once
}

func (c *conn) Done() <-chan struct{} { return c.done }

func (c *conn) Err() error {
	c.watcher.mu.Lock()
	status := c.watcher.refusedStatus
	c.watcher.mu.Unlock()
	if status != 0 {
		return fmt.Errorf("%w (HTTP %d)", ErrRefused, status)
	}
	return c.watcher.err()
}

func (c *conn) Close() {
	c.once.Do(func() {
		c.watcher.closing()
		// Close ends the streams and, over Streamable HTTP, deletes the session (bounded by the
		// response header timeout); the context ends whatever remains.
		done := make(chan struct{})
		go func() {
			_ = c.session.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		c.cancel()
	})
}

// watcher is the round tripper below the egress' credentials layer that finds the notification
// stream among a session's requests: the GET of the standalone stream (Streamable HTTP) or of the
// SSE transport, or the POST of subscriptions/listen (2026-07-28). It records when the stream's
// response arrives and when its body ends, HTTP 401 and 403, and caps every response body.
type watcher struct {
	next     http.RoundTripper
	maxBytes int64

	established chan struct{}
	ended       chan struct{}

	mu            sync.Mutex
	isEstablished bool
	isEnded       bool
	isClosing     bool
	endErr        error
	refusedStatus int
	unsupported   string
}

func newWatcher(maxBytes int64) *watcher {
	return &watcher{maxBytes: maxBytes, established: make(chan struct{}), ended: make(chan struct{})}
}

func (w *watcher) RoundTrip(req *http.Request) (*http.Response, error) {
	stream := req.Method == http.MethodGet || (req.Method == http.MethodPost && isListen(req))
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		if stream {
			w.end(err)
		}
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		w.mu.Lock()
		w.refusedStatus = resp.StatusCode
		w.mu.Unlock()
		if stream {
			w.end(fmt.Errorf("HTTP %d", resp.StatusCode))
		}
		return resp, nil
	}
	body := &cappedBody{body: resp.Body, remaining: w.maxBytes, max: w.maxBytes}
	resp.Body = body
	if !stream {
		return resp, nil
	}
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode == http.StatusOK && media == "text/event-stream" {
		body.onEnd = w.end
		w.establish()
		return resp, nil
	}
	reason := fmt.Sprintf("HTTP %d to the stream request", resp.StatusCode)
	if resp.StatusCode == http.StatusOK {
		reason = fmt.Sprintf("the stream request was answered with %q, not an event stream", text.Truncate(media, 64))
	}
	w.mu.Lock()
	if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		w.unsupported = reason
	}
	w.mu.Unlock()
	w.end(errors.New(reason))
	return resp, nil
}

// isListen reports whether a POST carries subscriptions/listen (the SDK's bodies are re-readable).
func isListen(req *http.Request) bool {
	if req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	defer func() { _ = body.Close() }()
	head, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	return bytes.Contains(head, []byte(`"subscriptions/listen"`))
}

func (w *watcher) establish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.isEstablished && !w.isEnded {
		w.isEstablished = true
		close(w.established)
	}
}

// end records that the stream ended with err (the first cause wins).
func (w *watcher) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.isEnded {
		return
	}
	w.isEnded = true
	if err == nil || errors.Is(err, io.EOF) {
		err = errors.New("the server closed the stream")
	}
	w.endErr = err
	close(w.ended)
}

// closing marks the end that follows as the operator's own.
func (w *watcher) closing() {
	w.mu.Lock()
	w.isClosing = true
	w.mu.Unlock()
	w.end(errors.New("closed by the operator"))
}

func (w *watcher) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.endErr == nil {
		return errors.New("the stream ended")
	}
	return w.endErr
}

// cappedBody fails a read past max bytes, and reports the end of the body (EOF, error or close).
type cappedBody struct {
	body      io.ReadCloser
	remaining int64
	max       int64
	onEnd     func(error)
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 {
		return 0, b.ended(fmt.Errorf("response body exceeds %d bytes", b.max))
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	if b.remaining < 0 {
		return n, b.ended(fmt.Errorf("response body exceeds %d bytes", b.max))
	}
	if err != nil {
		b.ended(err)
	}
	return n, err
}

func (b *cappedBody) ended(err error) error {
	if b.onEnd != nil {
		b.onEnd(err)
	}
	return err
}

func (b *cappedBody) Close() error {
	b.ended(errors.New("the stream was closed"))
	return b.body.Close()
}
