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

// Package mcp discovers what an MCP server offers: it connects with the official Go SDK over
// Streamable HTTP or SSE, initializes, reads every page of tools/list and prompts/list, and returns
// tools and prompts that are valid, unique and bounded in size. Nothing a server sends can make the
// result unbounded: the number of tools and prompts, every description, schema, argument list,
// icon and _meta, what the server says about itself (serverInfo, instructions, capabilities), and
// every HTTP response are capped, and its text sanitized (see metadata.go).
package mcp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"k8s.io/utils/ptr"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
	"github.com/toolregistry/mcp-registry-operator/internal/naming"
	"github.com/toolregistry/mcp-registry-operator/internal/text"
)

// Endpoint is where and how to reach one MCP server.
type Endpoint struct {
	// URL of the MCP endpoint.
	URL string
	// Transport is StreamableHTTP or SSE.
	Transport mcpv1alpha1.Transport
	// BearerToken, when set, is sent as `Authorization: Bearer <token>`. It is never logged or
	// included in an error.
	BearerToken string
	// RootCAs verifies the server's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// InsecureSkipVerify disables certificate verification.
	InsecureSkipVerify bool
	// Timeout bounds connecting and initializing, and each list call.
	Timeout time.Duration
}

// Limits bound what is accepted from a server.
type Limits struct {
	// MaxTools is the most tools a server may offer; more fails the discovery (nothing is pruned).
	MaxTools int
	// MaxDescriptionBytes truncates longer tool descriptions.
	MaxDescriptionBytes int
	// MaxSchemaBytes omits longer input or output schemas (the tool is kept).
	MaxSchemaBytes int
	// MaxResponseBytes caps every HTTP response body from the server.
	MaxResponseBytes int64
}

// DefaultLimits keep every MCPTool far inside etcd's 1.5 MiB object limit.
var DefaultLimits = Limits{
	MaxTools:            1000,
	MaxDescriptionBytes: 8 << 10,
	MaxSchemaBytes:      64 << 10,
	MaxResponseBytes:    16 << 20,
}

// Fixed bounds that are not worth a knob.
const (
	maxTitleBytes   = 256
	maxInfoBytes    = 256
	maxPages        = 1000
	maxNoteNameSize = 64
	// maxPrompts is the most prompts read from one server; more are counted, not kept.
	maxPrompts = 1000
)

// Bounds of a Prompt, those of an MCPServer's status.prompts.
const (
	// MaxPromptDescriptionBytes bounds a prompt's description ("..." marks a cut).
	MaxPromptDescriptionBytes = 1024
	// MaxPromptArguments is the most argument names kept per prompt.
	MaxPromptArguments = 16
	// MaxPromptArgumentBytes bounds an argument name ("..." marks a cut).
	MaxPromptArgumentBytes = 64
)

// Tool is one valid tool as the server describes it.
type Tool struct {
	Name         string
	Title        string
	Description  string
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage
	Annotations  *mcpv1alpha1.ToolAnnotations
	// Icons are the valid icons (see iconSource), at most MaxIcons.
	Icons []mcpv1alpha1.Icon
	// Meta is the tool's _meta, encoded with sorted keys; nil when absent, empty or over
	// MaxMetaBytes.
	Meta json.RawMessage
}

// Prompt is one valid prompt as the server describes it, its text sanitized for display.
type Prompt struct {
	Name        string
	Title       string
	Description string
	// Arguments are the argument names, in the server's order.
	Arguments []string
}

// Result is what a server offers.
type Result struct {
	ServerInfo mcpv1alpha1.ServerInfo
	// Tools are valid and unique, sorted by name.
	Tools []Tool
	// Prompts are valid and unique, sorted by name: the first 1000 the server lists.
	Prompts []Prompt
	// PromptCount is the number of valid, unique prompts the server offers (more than
	// len(Prompts) only past 1000); 0 when the server has no prompts capability.
	PromptCount int
	// TTLMs is the shortest positive ttlMs of the tools/list and prompts/list results (protocol
	// 2026-07-28); 0 when none carried one.
	TTLMs int64
	// Notes say, sorted, what was skipped, truncated or omitted and why.
	Notes []string
}

// Discoverer discovers what an MCP server offers. The controller depends on this interface so that
// tests can substitute a fake.
type Discoverer interface {
	Discover(ctx context.Context, endpoint Endpoint) (*Result, error)
}

// ErrUnauthorized is wrapped by discovery errors caused by the server refusing the credentials
// (HTTP 401 or 403).
var ErrUnauthorized = errors.New("the server rejected the credentials")

// Client discovers MCP servers with the official Go SDK.
type Client struct {
	// Egress is the way out: the endpoint policy, credentials only to the endpoint's origin, the
	// per-host limit and Retry-After. Required.
	Egress *egress.Egress
	// Limits bound what is accepted; zero fields take DefaultLimits.
	Limits Limits
	// Version is reported to servers as the client implementation's version.
	Version string
}

var _ Discoverer = &Client{}

// Discover connects to the endpoint, lists every tool and prompt, and closes the session.
func (c *Client) Discover(ctx context.Context, ep Endpoint) (_ *Result, err error) {
	limits := c.limits()
	if ep.Timeout <= 0 {
		return nil, errors.New("timeout must be positive")
	}
	if c.Egress == nil {
		return nil, errors.New("mcp.Client has no Egress")
	}
	origin, err := url.Parse(ep.URL)
	if err != nil || (origin.Scheme != "http" && origin.Scheme != "https") || origin.Host == "" {
		return nil, fmt.Errorf("invalid endpoint URL %q: want http or https with a host", text.Ellipsize(ep.URL, 200))
	}
	tracker := &statusTracker{}
	opts := egress.ClientOptions{
		Origin: origin, RootCAs: ep.RootCAs, InsecureSkipVerify: ep.InsecureSkipVerify,
		ResponseHeaderTimeout: ep.Timeout,
		Wrap: func(next http.RoundTripper) http.RoundTripper {
			return &roundTripper{next: next, maxBytes: limits.MaxResponseBytes, tracker: tracker}
		},
		Refused: tracker.refused,
	}
	if ep.BearerToken != "" {
		opts.Authorization = "Bearer " + ep.BearerToken
	}
	httpClient := c.Egress.Client(opts)
	defer func() {
		if err != nil {
			err = &cleanError{err: c.Egress.Explain(origin, err)}
		}
	}()

	var transport sdk.Transport
	switch ep.Transport {
	case mcpv1alpha1.TransportSSE:
		transport = &sdk.SSEClientTransport{Endpoint: ep.URL, HTTPClient: httpClient}
	case mcpv1alpha1.TransportStreamableHTTP, "":
		transport = &sdk.StreamableClientTransport{
			Endpoint: ep.URL, HTTPClient: httpClient, MaxRetries: -1, DisableStandaloneSSE: true,
		}
	default:
		return nil, fmt.Errorf("unsupported transport %q", ep.Transport)
	}

	// The session context lives as long as the discovery: an SSE stream is bound to the context it
	// was opened with. A watchdog enforces the timeout on connecting and initializing.
	sessionCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchdog := time.AfterFunc(ep.Timeout, cancel)
	client := sdk.NewClient(&sdk.Implementation{Name: "mcp-registry-operator", Version: c.Version}, nil)
	session, err := client.Connect(sessionCtx, transport, nil)
	timedOut := !watchdog.Stop()
	if err != nil {
		if timedOut {
			return nil, tracker.wrap(fmt.Errorf("cannot connect and initialize within %s", ep.Timeout))
		}
		return nil, tracker.wrap(fmt.Errorf("cannot connect and initialize: %w", err))
	}
	defer func() { _ = session.Close() }()

	init := session.InitializeResult()
	result := &Result{}
	listedInfo, err := c.listTools(sessionCtx, session, ep.Timeout, limits, result)
	if err != nil {
		return nil, tracker.wrap(err)
	}
	var infoNotes []string
	result.ServerInfo, infoNotes = serverInfo(init, listedInfo)
	result.Notes = append(result.Notes, infoNotes...)
	if init != nil && init.Capabilities != nil && init.Capabilities.Prompts != nil {
		if err := listPrompts(sessionCtx, session, ep.Timeout, result); err != nil {
			return nil, tracker.wrap(err)
		}
	}
	sort.Strings(result.Notes)
	return result, nil
}

func (c *Client) limits() Limits {
	l := c.Limits
	if l.MaxTools <= 0 {
		l.MaxTools = DefaultLimits.MaxTools
	}
	if l.MaxDescriptionBytes <= 0 {
		l.MaxDescriptionBytes = DefaultLimits.MaxDescriptionBytes
	}
	if l.MaxSchemaBytes <= 0 {
		l.MaxSchemaBytes = DefaultLimits.MaxSchemaBytes
	}
	if l.MaxResponseBytes <= 0 {
		l.MaxResponseBytes = DefaultLimits.MaxResponseBytes
	}
	return l
}

// listTools reads every page of tools/list, following cursors, and keeps the valid, unique tools
// and the shortest ttlMs. It returns the serverInfo in the first page's _meta (2026-07-28), if any.
func (c *Client) listTools(ctx context.Context, session *sdk.ClientSession, timeout time.Duration, limits Limits, result *Result) (*sdk.Implementation, error) {
	var info *sdk.Implementation
	seen := map[string]bool{}
	cursors := map[string]bool{}
	cursor := ""
	offered := 0
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("tools/list returned more than %d pages", maxPages)
		}
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		res, err := session.ListTools(callCtx, &sdk.ListToolsParams{Cursor: cursor})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("tools/list (page %d): %w", page+1, err)
		}
		if page == 0 {
			info = metaServerInfo(res.Meta)
		}
		result.TTLMs = minTTL(result.TTLMs, res.TTLMs)
		for _, t := range res.Tools {
			if t == nil {
				continue
			}
			offered++
			if offered > limits.MaxTools {
				return nil, fmt.Errorf("the server offers more than %d tools, the limit set by --max-tools-per-server", limits.MaxTools)
			}
			tool, notes, ok := convertTool(t, seen, limits)
			result.Notes = append(result.Notes, notes...)
			if ok {
				result.Tools = append(result.Tools, tool)
			}
		}
		if res.NextCursor == "" {
			break
		}
		if cursors[res.NextCursor] {
			return nil, errors.New("tools/list returned a cursor it had returned before")
		}
		cursors[res.NextCursor] = true
		cursor = res.NextCursor
	}
	sort.Slice(result.Tools, func(i, j int) bool { return result.Tools[i].Name < result.Tools[j].Name })
	return info, nil
}

// convertTool validates one tool and bounds its fields. It returns notes for anything skipped,
// truncated or omitted, and ok=false when the tool is skipped.
func convertTool(t *sdk.Tool, seen map[string]bool, limits Limits) (tool Tool, notes []string, ok bool) {
	if !naming.ValidToolName(t.Name) {
		return Tool{}, []string{fmt.Sprintf("tool %q skipped: a tool name is 1 to 128 letters, digits, '_', '-' and '.'",
			text.Truncate(t.Name, maxNoteNameSize))}, false
	}
	if seen[t.Name] {
		return Tool{}, []string{fmt.Sprintf("tool %q skipped: listed more than once", t.Name)}, false
	}
	seen[t.Name] = true

	tool = Tool{Name: t.Name, Title: text.Truncate(text.Sanitize(t.Title), maxTitleBytes)}
	if t.Title == "" && t.Annotations != nil {
		tool.Title = text.Truncate(text.Sanitize(t.Annotations.Title), maxTitleBytes)
	}
	tool.Description = text.Truncate(t.Description, limits.MaxDescriptionBytes)
	if len(tool.Description) < len(t.Description) {
		notes = append(notes, fmt.Sprintf("tool %q: description truncated from %d to %d bytes", t.Name, len(t.Description), len(tool.Description)))
	}
	var note string
	if tool.InputSchema, note = boundSchema(t.Name, "inputSchema", t.InputSchema, limits.MaxSchemaBytes); note != "" {
		notes = append(notes, note)
	}
	if tool.OutputSchema, note = boundSchema(t.Name, "outputSchema", t.OutputSchema, limits.MaxSchemaBytes); note != "" {
		notes = append(notes, note)
	}
	if a := t.Annotations; a != nil {
		tool.Annotations = &mcpv1alpha1.ToolAnnotations{
			ReadOnlyHint:    ptr.To(a.ReadOnlyHint),
			DestructiveHint: a.DestructiveHint,
			IdempotentHint:  ptr.To(a.IdempotentHint),
			OpenWorldHint:   a.OpenWorldHint,
		}
	}
	var dropped int
	if tool.Icons, dropped = convertIcons(t.Icons); dropped > 0 {
		notes = append(notes, fmt.Sprintf("tool %q: %d of %d icons dropped (at most %d are kept, each an https URL or a data:image/ URL)",
			t.Name, dropped, len(t.Icons), MaxIcons))
	}
	if tool.Meta, note = boundMeta(t.Name, t.Meta); note != "" {
		notes = append(notes, note)
	}
	return tool, notes, true
}

// boundSchema encodes a schema deterministically (sorted keys), or omits it with a note when it is
// not a JSON object or is larger than max bytes.
func boundSchema(tool, field string, schema any, max int) (json.RawMessage, string) {
	if schema == nil {
		return nil, ""
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Sprintf("tool %q: %s omitted: %v", tool, field, err)
	}
	if string(raw) == "null" {
		return nil, ""
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Sprintf("tool %q: %s omitted: not a JSON object", tool, field)
	}
	if len(raw) > max {
		return nil, fmt.Sprintf("tool %q: %s omitted: %d bytes, over the %d-byte limit", tool, field, len(raw), max)
	}
	return raw, ""
}

// listPrompts reads every page of prompts/list, following cursors, and keeps the valid, unique
// prompts.
func listPrompts(ctx context.Context, session *sdk.ClientSession, timeout time.Duration, result *Result) error {
	seen := map[string]bool{}
	cursors := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page == maxPages {
			return fmt.Errorf("prompts/list returned more than %d pages", maxPages)
		}
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		res, err := session.ListPrompts(callCtx, &sdk.ListPromptsParams{Cursor: cursor})
		cancel()
		if err != nil {
			return fmt.Errorf("prompts/list (page %d): %w", page+1, err)
		}
		result.TTLMs = minTTL(result.TTLMs, res.TTLMs)
		for _, p := range res.Prompts {
			if p == nil {
				continue
			}
			prompt, notes, ok := convertPrompt(p, seen)
			result.Notes = append(result.Notes, notes...)
			if !ok {
				continue
			}
			result.PromptCount++
			if len(result.Prompts) < maxPrompts {
				result.Prompts = append(result.Prompts, prompt)
			}
		}
		if res.NextCursor == "" {
			break
		}
		if cursors[res.NextCursor] {
			return errors.New("prompts/list returned a cursor it had returned before")
		}
		cursors[res.NextCursor] = true
		cursor = res.NextCursor
	}
	if result.PromptCount > len(result.Prompts) {
		result.Notes = append(result.Notes, fmt.Sprintf("the server offers %d prompts: only the first %d listed are read",
			result.PromptCount, len(result.Prompts)))
	}
	sort.Slice(result.Prompts, func(i, j int) bool { return result.Prompts[i].Name < result.Prompts[j].Name })
	return nil
}

// convertPrompt validates one prompt and bounds its fields: the name follows the tool-name rules,
// title, description and argument names are sanitized for display and cut (on a rune boundary) to
// their bounds. It returns notes for anything skipped or dropped, and ok=false when the prompt is
// skipped.
func convertPrompt(p *sdk.Prompt, seen map[string]bool) (prompt Prompt, notes []string, ok bool) {
	if !naming.ValidToolName(p.Name) {
		return Prompt{}, []string{fmt.Sprintf("prompt %q skipped: a prompt name is 1 to 128 letters, digits, '_', '-' and '.'",
			text.Truncate(text.Sanitize(p.Name), maxNoteNameSize))}, false
	}
	if seen[p.Name] {
		return Prompt{}, []string{fmt.Sprintf("prompt %q skipped: listed more than once", p.Name)}, false
	}
	seen[p.Name] = true

	prompt = Prompt{
		Name:        p.Name,
		Title:       text.Truncate(text.Sanitize(p.Title), maxTitleBytes),
		Description: text.Ellipsize(text.Sanitize(p.Description), MaxPromptDescriptionBytes),
	}
	offered := 0
	for _, a := range p.Arguments {
		if a == nil {
			continue
		}
		name := text.Ellipsize(text.Sanitize(a.Name), MaxPromptArgumentBytes)
		if name == "" {
			continue
		}
		offered++
		if len(prompt.Arguments) < MaxPromptArguments {
			prompt.Arguments = append(prompt.Arguments, name)
		}
	}
	if offered > len(prompt.Arguments) {
		notes = append(notes, fmt.Sprintf("prompt %q: %d arguments, only the first %d listed", p.Name, offered, len(prompt.Arguments)))
	}
	return prompt, notes, true
}

// maxErrorBytes bounds a discovery error's message.
const maxErrorBytes = 4096

// cleanError is a discovery error whose message, which may quote what the server sent, is one
// bounded line of valid UTF-8 without terminal escapes; errors.Is and errors.As see the cause.
type cleanError struct{ err error }

func (e *cleanError) Error() string { return text.ForMessage(e.err.Error(), maxErrorBytes) }
func (e *cleanError) Unwrap() error { return e.err }
