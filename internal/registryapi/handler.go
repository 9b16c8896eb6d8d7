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
	// Informers, when set (the manager's cache), tell the handler which servers' entries changed:
	// it then keeps every entry, encoded, between requests and rebuilds only those. Without it,
	// every request builds the catalog from Reader.
	Informers Informers
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
	h := &handler{index: newIndex(o.Reader, o.NamePrefix), log: o.Log}
	if o.Informers != nil {
		if err := h.index.watch(context.Background(), o.Informers); err != nil {
			// Still correct, only slower: every request builds the catalog from the reader.
			o.Log.Error(err, "Cannot watch MCPServers and MCPTools; the registry builds every answer from the cache")
		}
	}
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
	index *index
	log   logr.Logger
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
	entries, err := h.index.snapshot(r.Context())
	if err != nil {
		h.unavailable(w, err)
		return
	}
	search := strings.ToLower(q.search)
	start := 0
	if q.after != "" {
		start = sort.Search(len(entries), func(i int) bool { return entries[i].name > q.after })
	}
	var page []*entry
	next := ""
	for _, e := range entries[start:] {
		if q.version != "" && q.version != "latest" && e.version != q.version {
			continue
		}
		if search != "" && !strings.Contains(e.lowerName, search) && !strings.Contains(e.lowerDescr, search) {
			continue
		}
		if q.updatedSince != nil && e.updatedAt.Before(*q.updatedSince) {
			continue
		}
		if len(page) == q.limit {
			next = q.next(page[len(page)-1].name)
			break
		}
		page = append(page, e)
	}
	writeEntries(w, page, next)
}

func (h *handler) versions(w http.ResponseWriter, r *http.Request, name string) {
	if _, err := parseIncludeDeleted(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	e, ok := h.lookup(w, r, name)
	if !ok {
		return
	}
	// One version per server: the current one.
	writeEntries(w, []*entry{e}, "")
}

func (h *handler) version(w http.ResponseWriter, r *http.Request, name, version string) {
	if _, err := parseIncludeDeleted(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	e, ok := h.lookup(w, r, name)
	if !ok {
		return
	}
	if version != "latest" && version != e.version {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Server version not found: %s has version %s only (or latest)", name, e.version))
		return
	}
	writeBody(w, http.StatusOK, append(e.json[:len(e.json):len(e.json)], '\n'))
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
func (h *handler) lookup(w http.ResponseWriter, r *http.Request, name string) (*entry, bool) {
	entries, err := h.index.snapshot(r.Context())
	if err != nil {
		h.unavailable(w, err)
		return nil, false
	}
	e := entries.find(name)
	if e == nil {
		writeError(w, http.StatusNotFound, "Server not found: "+strconv.Quote(name))
		return nil, false
	}
	return e, true
}

// writeEntries writes a ServerList of precomputed entries.
func writeEntries(w http.ResponseWriter, page []*entry, next string) {
	size := 64 + len(next)
	for _, e := range page {
		size += len(e.json) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.WriteString(`{"servers":[`)
	for i, e := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e.json)
	}
	meta, _ := json.Marshal(apiv0.Metadata{NextCursor: next, Count: len(page)}) // a string and an int
	buf.WriteString(`],"metadata":`)
	buf.Write(meta)
	buf.WriteString("}\n")
	writeBody(w, http.StatusOK, buf.Bytes())
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
	b, err := encode(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the response"}`)
	}
	writeBody(w, code, append(b, '\n'))
}

func writeBody(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
