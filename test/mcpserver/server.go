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

// Package mcpserver is a small MCP server, built on the official Go SDK, for tests and for the
// README walkthrough. Its tool set, prompt count and page size can be changed while it runs, it
// can check a bearer token or act as an OAuth 2.0 protected resource (see OAuth), and it can be
// told to fail: answer HTTP errors, answer slowly, answer garbage. It serves Streamable HTTP on
// /mcp and SSE on /sse.
package mcpserver

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tool describes one tool the server offers.
type Tool struct {
	Name         string
	Title        string
	Description  string
	InputSchema  map[string]any
	OutputSchema map[string]any
	Annotations  *sdk.ToolAnnotations
	// Icons and Meta are sent as the tool's icons and _meta.
	Icons []sdk.Icon
	Meta  map[string]any
}

// Prompt describes one prompt the server offers besides the generated ones.
type Prompt struct {
	Name        string
	Title       string
	Description string
	// Arguments are the names of its arguments, in this order.
	Arguments []string
}

// Failure is how the server misbehaves.
type Failure string

const (
	// FailNone answers normally.
	FailNone Failure = ""
	// FailError answers every request with HTTP 500.
	FailError Failure = "error"
	// FailMalformed answers every request with HTTP 200 and a body that is not JSON-RPC.
	FailMalformed Failure = "malformed"
	// FailThrottled answers every request with HTTP 429 and Retry-After: 60.
	FailThrottled Failure = "throttled"
)

// Config is the server's behaviour; every field can be changed while it runs.
type Config struct {
	// Name and Version are reported in serverInfo.
	Name, Version string
	// Title, Description, WebsiteURL and Icons are reported in serverInfo too, Instructions in
	// the initialize (or server/discover) result. See metadata.go.
	Title, Description, WebsiteURL string
	Icons                          []sdk.Icon
	Instructions                   string
	// Capabilities, when set, are the capabilities declared (the SDK still adds tools and
	// prompts when the server has them); nil: the SDK's defaults.
	Capabilities *sdk.ServerCapabilities
	// TTLMs, when positive, is the ttlMs of every list result (and of server/discover); the
	// stateless 2026-07-28 protocol carries it.
	TTLMs int
	// Tools are the tools offered, in this order.
	Tools []Tool
	// Prompts is the number of generated prompts offered (prompt-000, prompt-001, ...).
	Prompts int
	// PromptList are prompts offered besides the generated ones. With neither, the server has
	// no prompts capability.
	PromptList []Prompt
	// PageSize is the most items per tools/list or prompts/list page; 0 means the SDK's default.
	PageSize int
	// Token, when set, must be presented as `Authorization: Bearer <Token>`; otherwise HTTP 401.
	Token string
	// OAuth, when set, makes the server an OAuth 2.0 protected resource (see OAuth); Token is
	// then ignored.
	OAuth *OAuth
	// Failure makes the server misbehave.
	Failure Failure
	// Delay is added before every answer.
	Delay time.Duration
	// ProtocolVersion, when set, is the one MCP protocol version the server speaks (one of
	// ProtocolVersions), over that version's transport only (see SSEOnly); it is read when each
	// session (each request, over Streamable HTTP) starts.
	ProtocolVersion string
	// Stateful, read once when the server starts, keeps one SDK server for the server's life, with
	// sessions (Streamable HTTP with the standalone GET stream; the SSE stream; for 2026-07-28,
	// subscriptions/listen): every change Update makes to Tools, PromptList or Prompts is sent as
	// notifications/tools/list_changed (or prompts) to the connected sessions. The default builds
	// a new SDK server per request (stateless) and never notifies. See stateful.go.
	Stateful bool
}

// Server is a running test MCP server.
type Server struct {
	mu       sync.Mutex
	cfg      Config
	requests atomic.Int64
	auth     authState
	live     *liveServer

	listener net.Listener
	http     *http.Server
	tls      *httptest.Server
}

// Start serves cfg on addr (e.g. 127.0.0.1:0, or 127.0.0.2:0 as "another host") until Close.
func Start(addr string, cfg Config) (*Server, error) {
	if host, _, err := net.SplitHostPort(addr); err != nil || (host != "localhost" && !isLoopback(host)) {
		return nil, fmt.Errorf("address %q: the test server only listens on the loopback interface", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	s := &Server{cfg: cfg, listener: l}
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(l) }()
	return s, nil
}

// New returns a server that listens nowhere: serve its Handler yourself (for example behind a
// handler that counts requests). URL, SSEURL and Close are for servers started by Start.
func New(cfg Config) *Server { return &Server{cfg: cfg} }

// StartTLS serves cfg over HTTPS on a loopback port, with a self-signed certificate valid for
// 127.0.0.1 (see CACertPEM).
func StartTLS(cfg Config) *Server {
	s := &Server{cfg: cfg}
	s.tls = httptest.NewUnstartedServer(s.Handler())
	s.tls.StartTLS()
	s.listener = s.tls.Listener
	return s
}

// CACertPEM is the PEM certificate a client must trust to reach a server started with StartTLS.
func (s *Server) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw})
}

func (s *Server) scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// URL is the Streamable HTTP endpoint.
func (s *Server) URL() string { return s.scheme() + "://" + s.listener.Addr().String() + "/mcp" }

// SSEURL is the SSE endpoint.
func (s *Server) SSEURL() string { return s.scheme() + "://" + s.listener.Addr().String() + "/sse" }

// Close stops the server.
func (s *Server) Close() error {
	defer s.closeIntrospectionClient()
	if s.live != nil {
		s.live.closeSessions()
	}
	if s.tls != nil {
		s.tls.CloseClientConnections()
		s.tls.Close()
		return nil
	}
	if s.live != nil {
		// Long-lived streams would hold a graceful shutdown for its whole timeout: a stateful
		// server stops at once, as a crashed one would.
		return s.http.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.http.Close()
	}
	return err
}

// Update changes the configuration under the server's lock.
func (s *Server) Update(change func(*Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cfg
	old.Tools = append([]Tool(nil), s.cfg.Tools...)
	old.PromptList = append([]Prompt(nil), s.cfg.PromptList...)
	change(&s.cfg)
	if s.live != nil {
		s.live.apply(old, s.cfg)
	}
}

// Config returns a copy of the current configuration.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.cfg
	cfg.Tools = append([]Tool(nil), s.cfg.Tools...)
	cfg.PromptList = append([]Prompt(nil), s.cfg.PromptList...)
	cfg.OAuth = s.cfg.OAuth.clone()
	return cfg
}

// Requests is the number of HTTP requests received, whatever their outcome.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Handler serves Streamable HTTP on /mcp and SSE on /sse, and with OAuth the protected resource
// metadata under /.well-known/oauth-protected-resource.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if live := s.liveServer(); live != nil {
		live.handle(mux)
	} else {
		mux.Handle("/mcp", sdk.NewStreamableHTTPHandler(s.newMCPServer, &sdk.StreamableHTTPOptions{Stateless: true, JSONResponse: true}))
		mux.Handle("/sse", sdk.NewSSEHandler(s.newMCPServer, nil))
	}
	mux.HandleFunc(wellKnownPRM, s.serveMetadata)
	mux.HandleFunc(wellKnownPRM+"/", s.serveMetadata)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		cfg := s.Config()
		if cfg.Delay > 0 {
			select {
			case <-time.After(cfg.Delay):
			case <-r.Context().Done():
				return
			}
		}
		s.noteToken(r)
		if cfg.OAuth != nil {
			if isEndpoint(r.URL.Path) && !s.authorizeOAuth(w, r, cfg.OAuth) {
				return
			}
		} else if cfg.Token != "" && r.Header.Get("Authorization") != "Bearer "+cfg.Token {
			s.auth.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcp-test-server"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		if refuseVersionTransport(w, r, cfg) {
			return
		}
		switch cfg.Failure {
		case FailError:
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		case FailThrottled:
			w.Header().Set("Retry-After", "60")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		case FailMalformed:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"jsonrpc": "2.0", "id": ` + strings.Repeat("[", 64)))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// newMCPServer builds an SDK server from the current configuration, so every session sees the
// tools as they are now.
func (s *Server) newMCPServer(*http.Request) *sdk.Server {
	cfg := s.Config()
	name, version := cfg.Name, cfg.Version
	if name == "" {
		name = "mcp-test-server"
	}
	if version == "" {
		version = "1.0.0"
	}
	server := sdk.NewServer(implementation(cfg, name, version), serverOptions(cfg))
	for _, t := range cfg.Tools {
		addTool(server, t)
	}
	for i := range cfg.Prompts {
		server.AddPrompt(&sdk.Prompt{Name: generatedPromptName(i)}, getPrompt)
	}
	for _, p := range cfg.PromptList {
		addPrompt(server, p)
	}
	return server
}

// addTool adds (or replaces) t on server.
func addTool(server *sdk.Server, t Tool) {
	input := t.InputSchema
	if input == nil {
		input = map[string]any{"type": "object"}
	}
	tool := &sdk.Tool{
		Name: t.Name, Title: t.Title, Description: t.Description,
		InputSchema: input, Annotations: t.Annotations,
	}
	if t.OutputSchema != nil {
		tool.OutputSchema = t.OutputSchema
	}
	tool.Icons, tool.Meta = t.Icons, t.Meta
	server.AddTool(tool, func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "called " + req.Params.Name}}}, nil
	})
}

// addPrompt adds (or replaces) p on server.
func addPrompt(server *sdk.Server, p Prompt) {
	prompt := &sdk.Prompt{Name: p.Name, Title: p.Title, Description: p.Description}
	for _, a := range p.Arguments {
		prompt.Arguments = append(prompt.Arguments, &sdk.PromptArgument{Name: a})
	}
	server.AddPrompt(prompt, getPrompt)
}

func getPrompt(context.Context, *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
	return &sdk.GetPromptResult{}, nil
}

func generatedPromptName(i int) string { return fmt.Sprintf("prompt-%03d", i) }

// GeneratedTools returns n tools named tool-000, tool-001, ... with a small schema each.
func GeneratedTools(n int) []Tool {
	tools := make([]Tool, n)
	for i := range tools {
		tools[i] = Tool{
			Name:        fmt.Sprintf("tool-%03d", i),
			Description: fmt.Sprintf("Generated tool number %d.", i),
			InputSchema: map[string]any{
				"type":       "object",
				"properties": map[string]any{"input": map[string]any{"type": "string"}},
			},
		}
	}
	return tools
}

// SampleTools are the tools of the README walkthrough: a GitHub-like server matching
// config/samples (create_issue is aliased there, merge_pull_request disabled, delete_* excluded).
func SampleTools() []Tool {
	readOnly := &sdk.ToolAnnotations{ReadOnlyHint: true}
	repo := map[string]any{"type": "string", "description": "owner/name of the repository"}
	return []Tool{
		{Name: "create_issue", Title: "Create issue", Description: "Create an issue in a repository.",
			InputSchema: map[string]any{"type": "object", "required": []any{"repository", "title"},
				"properties": map[string]any{"repository": repo, "title": map[string]any{"type": "string"}, "body": map[string]any{"type": "string"}}}},
		{Name: "search_issues", Title: "Search issues", Description: "Search issues and pull requests.", Annotations: readOnly,
			InputSchema: map[string]any{"type": "object", "required": []any{"query"},
				"properties": map[string]any{"query": map[string]any{"type": "string"}}}},
		{Name: "get_pull_request", Title: "Get pull request", Description: "Read one pull request.", Annotations: readOnly,
			InputSchema: map[string]any{"type": "object", "properties": map[string]any{"repository": repo, "number": map[string]any{"type": "integer"}}}},
		{Name: "merge_pull_request", Title: "Merge pull request", Description: "Merge a pull request.",
			InputSchema: map[string]any{"type": "object", "properties": map[string]any{"repository": repo, "number": map[string]any{"type": "integer"}}}},
		{Name: "delete_repository", Title: "Delete repository", Description: "Delete a repository.",
			Annotations: &sdk.ToolAnnotations{DestructiveHint: boolPtr(true)},
			InputSchema: map[string]any{"type": "object", "properties": map[string]any{"repository": repo}}},
	}
}

func boolPtr(b bool) *bool { return &b }

// isLoopback reports whether host is an address in 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
