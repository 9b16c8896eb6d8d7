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

package mcpserver

import (
	"net/http"
	"reflect"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// liveServer is the one SDK server of a Stateful test server. Its sessions outlive requests, so
// a change to the configuration reaches them as notifications/tools/list_changed (or prompts):
// the SDK sends one, 10 ms after the last of a burst of changes, to every session that listens.
type liveServer struct {
	server *sdk.Server
	// stateless is true for 2026-07-28, which has no sessions over HTTP: its notifications go
	// to the streams of subscriptions/listen requests.
	stateless bool
}

// liveServer returns the server's live SDK server, built on the first call, or nil when the
// server is not Stateful.
func (s *Server) liveServer() *liveServer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.Stateful {
		return nil
	}
	if s.live == nil {
		cfg := s.cfg
		cfg.Tools = append([]Tool(nil), s.cfg.Tools...)
		cfg.PromptList = append([]Prompt(nil), s.cfg.PromptList...)
		s.live = &liveServer{server: buildServer(cfg), stateless: cfg.ProtocolVersion == Protocol20260728}
	}
	return s.live
}

// buildServer is newMCPServer for a configuration already copied (the lock is held).
func buildServer(cfg Config) *sdk.Server {
	s := &Server{cfg: cfg}
	return s.newMCPServer(nil)
}

// handle serves Streamable HTTP on /mcp and SSE on /sse from the live server.
func (l *liveServer) handle(mux *http.ServeMux) {
	get := func(*http.Request) *sdk.Server { return l.server }
	// The SDK speaks 2026-07-28 over HTTP only statelessly; every other version keeps sessions
	// (and the standalone GET stream) on the server.
	mux.Handle("/mcp", sdk.NewStreamableHTTPHandler(get, &sdk.StreamableHTTPOptions{Stateless: l.stateless, JSONResponse: true}))
	mux.Handle("/sse", sdk.NewSSEHandler(get, nil))
}

// apply makes the live server offer what cfg offers, changing only what differs from old.
func (l *liveServer) apply(old, cfg Config) {
	before := map[string]Tool{}
	for _, t := range old.Tools {
		before[t.Name] = t
	}
	after := map[string]bool{}
	for _, t := range cfg.Tools {
		after[t.Name] = true
		if prev, ok := before[t.Name]; !ok || !reflect.DeepEqual(prev, t) {
			addTool(l.server, t)
		}
	}
	var removed []string
	for name := range before {
		if !after[name] {
			removed = append(removed, name)
		}
	}
	if len(removed) > 0 {
		l.server.RemoveTools(removed...)
	}

	prompts := map[string]Prompt{}
	for _, p := range old.PromptList {
		prompts[p.Name] = p
	}
	keep := map[string]bool{}
	for _, p := range cfg.PromptList {
		keep[p.Name] = true
		if prev, ok := prompts[p.Name]; !ok || !reflect.DeepEqual(prev, p) {
			addPrompt(l.server, p)
		}
	}
	var gone []string
	for name := range prompts {
		if !keep[name] {
			gone = append(gone, name)
		}
	}
	for i := cfg.Prompts; i < old.Prompts; i++ {
		gone = append(gone, generatedPromptName(i))
	}
	for i := old.Prompts; i < cfg.Prompts; i++ {
		l.server.AddPrompt(&sdk.Prompt{Name: generatedPromptName(i)}, getPrompt)
	}
	if len(gone) > 0 {
		l.server.RemovePrompts(gone...)
	}
}

// closeSessions ends every session (and so every stream) of the live server.
func (l *liveServer) closeSessions() {
	for ss := range l.server.Sessions() {
		_ = ss.Close()
	}
}

// NotifyToolsChanged sends notifications/tools/list_changed to the connected sessions of a
// Stateful server without changing its tools (it replaces the first tool with itself); it does
// nothing when the server is not Stateful or has no tools.
func (s *Server) NotifyToolsChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live != nil && len(s.cfg.Tools) > 0 {
		addTool(s.live.server, s.cfg.Tools[0])
	}
}

// Sessions is the number of sessions of a Stateful server connected now (for 2026-07-28, the
// requests in flight, such as subscriptions/listen streams); 0 when not Stateful.
func (s *Server) Sessions() int {
	s.mu.Lock()
	live := s.live
	s.mu.Unlock()
	if live == nil {
		return 0
	}
	n := 0
	for range live.server.Sessions() {
		n++
	}
	return n
}
