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

// Package registryapi serves the read endpoints of the official MCP Registry API (v0.1) from the
// manager's cache: one entry per MCPServer with spec.registry.publish, built from the server and
// its MCPTools. It reads the cache and writes nothing.
package registryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apiv0 "github.com/modelcontextprotocol/registry/pkg/api/v0"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

// Page sizes of GET /v0.1/servers: the official registry's default and maximum. A larger limit
// is served as MaxLimit.
const (
	DefaultLimit = 30
	MaxLimit     = 100
)

// maxSearch bounds the search parameter.
const maxSearch = 256

// Endpoints, the label of the request metrics.
const (
	EndpointList     = "list"     // GET /v0.1/servers
	EndpointVersions = "versions" // GET /v0.1/servers/{serverName}/versions
	EndpointVersion  = "version"  // GET /v0.1/servers/{serverName}/versions/{version}
	EndpointWrite    = "write"    // the publish, update, delete and status endpoints (refused)
	EndpointOptions  = "options"  // CORS preflight
	EndpointOther    = "other"    // anything else (404)
)

// Observer records one request; internal/metrics implements it.
type Observer interface {
	ObserveRegistryRequest(endpoint string, code int, d time.Duration)
}

// Options configure a Handler.
type Options struct {
	// Reader reads MCPServers and MCPTools: the manager's cache. The handler only reads what it
	// lists and never modifies it, so it lists without deep copies.
	Reader client.Reader
	// NamePrefix is the reverse-DNS prefix of default names (--registry-name-prefix).
	NamePrefix string
	// Auth, when set, wraps every endpoint but the CORS preflight (--registry-auth=Kubernetes).
	Auth func(http.Handler) http.Handler
	// Metrics, when set, records every request.
	Metrics Observer
	// Log receives errors reading the cache.
	Log logr.Logger
}

// New returns the API's handler.
func New(o Options) http.Handler {
	h := &handler{reader: o.Reader, prefix: o.NamePrefix, log: o.Log}
	var inner http.Handler = http.HandlerFunc(h.route)
	if o.Auth != nil {
		inner = o.Auth(inner)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		// What organisation registry policies require, on every answer.
		rec.Header().Set("Access-Control-Allow-Origin", "*")
		rec.Header().Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		rec.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		endpoint := classify(r)
		if r.Method == http.MethodOptions {
			endpoint = EndpointOptions
			rec.Header().Set("Access-Control-Max-Age", "86400")
			rec.WriteHeader(http.StatusNoContent)
		} else {
			inner.ServeHTTP(rec, r)
		}
		if o.Metrics != nil {
			o.Metrics.ObserveRegistryRequest(endpoint, rec.code, time.Since(start))
		}
	})
}

type handler struct {
	reader client.Reader
	prefix string
	log    logr.Logger
}

// recorder keeps the status code for the metrics.
type recorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.written {
		r.code, r.written = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.written = true
	return r.ResponseWriter.Write(b)
}

// route is a request to the API after its path: which endpoint, and the decoded server name and
// version it names.
type route struct {
	endpoint      string
	name, version string
}

const (
	serversPath = "/v0.1/servers"
	publishPath = "/v0.1/publish"
)

// parse maps a path to an endpoint. Names and versions are URL-encoded segments
// (com.example%2Fgithub); an unencoded slash in a name is accepted too, since the path is read
// from its end.
func parse(r *http.Request) route {
	p := r.URL.EscapedPath()
	if p == publishPath {
		return route{endpoint: EndpointWrite}
	}
	rest, ok := strings.CutPrefix(p, serversPath)
	if !ok {
		return route{endpoint: EndpointOther}
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return route{endpoint: EndpointList}
	}
	if !strings.HasPrefix(rest, "/") {
		return route{endpoint: EndpointOther}
	}
	segs := strings.Split(rest[1:], "/")
	n := len(segs)
	name := func(k int) string { return unescape(segs[:k]) }
	switch {
	case r.Method == http.MethodPatch && n >= 4 && segs[n-1] == "status" && segs[n-3] == "versions":
		return route{endpoint: EndpointWrite, name: name(n - 3)}
	case r.Method == http.MethodPatch && n >= 2 && segs[n-1] == "status":
		return route{endpoint: EndpointWrite, name: name(n - 1)}
	case n >= 2 && segs[n-1] == "versions":
		return route{endpoint: EndpointVersions, name: name(n - 1)}
	case n >= 3 && segs[n-2] == "versions":
		v, err := url.PathUnescape(segs[n-1])
		if err != nil {
			return route{endpoint: EndpointOther}
		}
		return route{endpoint: EndpointVersion, name: name(n - 2), version: v}
	}
	return route{endpoint: EndpointOther}
}

// unescape joins decoded segments with '/'; "" when one does not decode.
func unescape(segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil {
			return ""
		}
		out[i] = d
	}
	return strings.Join(out, "/")
}

func classify(r *http.Request) string { return parse(r).endpoint }

func (h *handler) route(w http.ResponseWriter, r *http.Request) {
	rt := parse(r)
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case rt.endpoint == EndpointOther:
		writeError(w, http.StatusNotFound, "Not found: this registry serves GET /v0.1/servers, /v0.1/servers/{serverName}/versions and /v0.1/servers/{serverName}/versions/{version}")
	case rt.endpoint == EndpointWrite || (rt.endpoint == EndpointVersion && (r.Method == http.MethodPut || r.Method == http.MethodDelete)):
		h.refuseWrite(w, r)
	case !read:
		w.Header().Set("Allow", "GET, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed: this registry is read-only")
	case rt.endpoint == EndpointList:
		h.list(w, r)
	case rt.endpoint == EndpointVersions:
		h.versions(w, r, rt.name)
	default:
		h.version(w, r, rt.name, rt.version)
	}
}

// refuseWrite answers the write endpoints as the OpenAPI allows a read-only registry: 501 for
// publish, update and delete, 403 for the status updates (which list no 501).
func (h *handler) refuseWrite(w http.ResponseWriter, r *http.Request) {
	const why = "this registry is read-only: it serves the MCPServers that set spec.registry.publish, and an entry changes with its MCPServer"
	switch {
	case r.Method == http.MethodPatch:
		writeError(w, http.StatusForbidden, "Status updates are not supported: "+why+" (status deprecated while it is suspended or being deleted)")
	case r.Method == http.MethodPost && r.URL.EscapedPath() == publishPath:
		writeError(w, http.StatusNotImplemented, "Publishing is not supported by this registry: "+why)
	case r.Method == http.MethodPut:
		writeError(w, http.StatusNotImplemented, "Updates are not supported by this registry: "+why)
	case r.Method == http.MethodDelete:
		writeError(w, http.StatusNotImplemented, "Deletion is not supported by this registry: "+why)
	default:
		w.Header().Set("Allow", "OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed: "+why)
	}
}

// query holds the validated parameters of a list.
type query struct {
	limit          int
	search         string
	updatedSince   *time.Time
	version        string
	includeDeleted bool
	after          string
}

// parseQuery validates the parameters of GET /v0.1/servers; the error is the 400 message. The
// cursor's filters win over the query's, so a client that drops one on later pages still gets
// the rest of the result it started.
func parseQuery(raw string) (query, error) {
	q := query{limit: DefaultLimit}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("malformed query string: %v", err)
	}
	if v := values.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return q, fmt.Errorf("limit must be a positive integer (at most %d), not %q", MaxLimit, v)
		}
		q.limit = min(n, MaxLimit)
	}
	q.search = values.Get("search")
	if len(q.search) > maxSearch {
		return q, fmt.Errorf("search must be at most %d bytes", maxSearch)
	}
	q.version = values.Get("version")
	since := values.Get("updated_since")
	if v := values.Get("include_deleted"); v != "" {
		if q.includeDeleted, err = strconv.ParseBool(v); err != nil {
			return q, fmt.Errorf("include_deleted must be true or false, not %q", v)
		}
	}
	if v := values.Get("cursor"); v != "" {
		c, err := decodeCursor(v)
		if err != nil {
			return q, err
		}
		q.after, q.search, q.version, q.includeDeleted, since = c.After, c.Search, c.Version, c.IncludeDeleted, c.UpdatedSince
	}
	if since != "" {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return q, fmt.Errorf("updated_since must be an RFC 3339 date-time such as 2025-08-07T13:15:04Z, not %q", since)
		}
		q.updatedSince = &t
	}
	return q, nil
}

func (q query) next(after string) string {
	c := cursor{After: after, Search: q.search, Version: q.version, IncludeDeleted: q.includeDeleted}
	if q.updatedSince != nil {
		c.UpdatedSince = q.updatedSince.Format(time.RFC3339Nano)
	}
	return c.encode()
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	servers, err := h.catalog(r.Context())
	if err != nil {
		h.unavailable(w, err)
		return
	}
	tools, err := h.allTools(r.Context())
	if err != nil {
		h.unavailable(w, err)
		return
	}
	search := strings.ToLower(q.search)
	out := ListResponse{Servers: []Response{}}
	for _, s := range servers {
		if q.after != "" && s.name <= q.after {
			continue
		}
		if q.version != "" && q.version != "latest" && Version(s.server) != q.version {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(s.name), search) &&
			!strings.Contains(strings.ToLower(description(s.server)), search) {
			continue
		}
		entry := NewResponse(s.name, s.server, tools[toolsKey(s.server.Namespace, s.server.Name)])
		if q.updatedSince != nil && entry.Meta.Official.UpdatedAt.Before(*q.updatedSince) {
			continue
		}
		if len(out.Servers) == q.limit {
			out.Metadata.NextCursor = q.next(out.Servers[len(out.Servers)-1].Server.Name)
			break
		}
		out.Servers = append(out.Servers, entry)
	}
	out.Metadata.Count = len(out.Servers)
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) versions(w http.ResponseWriter, r *http.Request, name string) {
	if _, err := parseIncludeDeleted(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	entry, ok := h.lookup(w, r, name)
	if !ok {
		return
	}
	// One version per server: the current one.
	writeJSON(w, http.StatusOK, ListResponse{Servers: []Response{entry}, Metadata: apiv0.Metadata{Count: 1}})
}

func (h *handler) version(w http.ResponseWriter, r *http.Request, name, version string) {
	if _, err := parseIncludeDeleted(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	entry, ok := h.lookup(w, r, name)
	if !ok {
		return
	}
	if version != "latest" && version != entry.Server.Version {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Server version not found: %s has version %s only (or latest)", name, entry.Server.Version))
		return
	}
	writeJSON(w, http.StatusOK, entry)
}

// parseIncludeDeleted validates include_deleted. A deleted server is gone from the cluster, so
// there is nothing more to include: it only has to be well-formed.
func parseIncludeDeleted(r *http.Request) (bool, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return false, fmt.Errorf("malformed query string: %v", err)
	}
	v := values.Get("include_deleted")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("include_deleted must be true or false, not %q", v)
	}
	return b, nil
}

// lookup finds the entry named name, answering 404 (or 503) itself when there is none.
func (h *handler) lookup(w http.ResponseWriter, r *http.Request, name string) (Response, bool) {
	servers, err := h.catalog(r.Context())
	if err != nil {
		h.unavailable(w, err)
		return Response{}, false
	}
	i := sort.Search(len(servers), func(i int) bool { return servers[i].name >= name })
	if name == "" || i == len(servers) || servers[i].name != name {
		writeError(w, http.StatusNotFound, "Server not found: "+strconv.Quote(name))
		return Response{}, false
	}
	s := servers[i].server
	tools := &mcpv1alpha1.MCPToolList{}
	if err := h.reader.List(r.Context(), tools, client.InNamespace(s.Namespace),
		client.MatchingLabels{mcpv1alpha1.ServerLabel: s.Name}, client.UnsafeDisableDeepCopy); err != nil {
		h.unavailable(w, err)
		return Response{}, false
	}
	ptrs := make([]*mcpv1alpha1.MCPTool, len(tools.Items))
	for i := range tools.Items {
		ptrs[i] = &tools.Items[i]
	}
	return NewResponse(servers[i].name, s, ptrs), true
}

// named is a published server and its registry name.
type named struct {
	name   string
	server *mcpv1alpha1.MCPServer
}

// catalog lists the published servers, sorted by name. Of servers sharing a name, the oldest
// (then the first by namespace/name) is served and the others are left out.
func (h *handler) catalog(ctx context.Context) ([]named, error) {
	list := &mcpv1alpha1.MCPServerList{}
	if err := h.reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("cannot list MCPServers: %w", err)
	}
	var out []named
	for i := range list.Items {
		s := &list.Items[i]
		if Published(s) {
			out = append(out, named{name: Name(h.prefix, s), server: s})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if !a.server.CreationTimestamp.Equal(&b.server.CreationTimestamp) {
			return a.server.CreationTimestamp.Before(&b.server.CreationTimestamp)
		}
		return a.server.Namespace+"/"+a.server.Name < b.server.Namespace+"/"+b.server.Name
	})
	dedup := out[:0]
	for _, s := range out {
		if len(dedup) > 0 && dedup[len(dedup)-1].name == s.name {
			continue
		}
		dedup = append(dedup, s)
	}
	return dedup, nil
}

func toolsKey(namespace, server string) string { return namespace + "/" + server }

// allTools lists every MCPTool once, by namespace/server label.
func (h *handler) allTools(ctx context.Context) (map[string][]*mcpv1alpha1.MCPTool, error) {
	list := &mcpv1alpha1.MCPToolList{}
	if err := h.reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("cannot list MCPTools: %w", err)
	}
	out := map[string][]*mcpv1alpha1.MCPTool{}
	for i := range list.Items {
		t := &list.Items[i]
		if server := t.Labels[mcpv1alpha1.ServerLabel]; server != "" {
			k := toolsKey(t.Namespace, server)
			out[k] = append(out[k], t)
		}
	}
	return out, nil
}

// unavailable answers 503 when the cache cannot be read (not synced yet, or the request ended).
func (h *handler) unavailable(w http.ResponseWriter, err error) {
	if !errors.Is(err, context.Canceled) {
		h.log.Error(err, "Cannot read the registry from the cache")
	}
	writeError(w, http.StatusServiceUnavailable, "The registry cannot be read right now; retry shortly")
}

// errorBody is the error object of the official OpenAPI ({"error": "..."}).
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// writeJSON writes v as JSON, '<', '>' and '&' as they are (descriptions are text, not HTML).
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"cannot encode the response"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
