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

package registryapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registryapi"
	"github.com/toolregistry/mcp-registry-operator/internal/registryapi/openapitest"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }

// server is a published, Ready MCPServer reporting version 1.2.3.
func server(namespace, name string, mutate ...func(*mcpv1alpha1.MCPServer)) *mcpv1alpha1.MCPServer {
	s := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name, UID: types.UID(namespace + "-" + name),
			CreationTimestamp: at(0), Finalizers: []string{mcpv1alpha1.ServerFinalizer},
		},
		Spec: mcpv1alpha1.MCPServerSpec{
			URL:         "https://" + name + ".example.com/mcp",
			Description: "The " + name + " server",
			Registry:    &mcpv1alpha1.RegistrySpec{Publish: ptr.To(true)},
		},
		Status: mcpv1alpha1.MCPServerStatus{
			ServerInfo: &mcpv1alpha1.ServerInfo{Name: name, Version: "1.2.3"},
			Conditions: []metav1.Condition{{
				Type: mcpv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: mcpv1alpha1.ReasonSucceeded,
				LastTransitionTime: at(time.Minute),
			}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// tool is a Ready, enabled MCPTool of s.
func tool(s *mcpv1alpha1.MCPServer, name string, mutate ...func(*mcpv1alpha1.MCPTool)) *mcpv1alpha1.MCPTool {
	t := &mcpv1alpha1.MCPTool{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.Namespace, Name: s.Name + "-" + strings.ReplaceAll(name, "_", "-"), Generation: 1,
			Labels:            map[string]string{mcpv1alpha1.ServerLabel: s.Name},
			CreationTimestamp: at(2 * time.Minute),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: mcpv1alpha1.GroupVersion.String(), Kind: "MCPServer", Name: s.Name, UID: s.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: mcpv1alpha1.MCPToolSpec{
			ServerRef: mcpv1alpha1.ServerReference{Name: s.Name}, ToolName: name, Title: strings.ToUpper(name),
			Description: "Does " + name, Enabled: ptr.To(true),
			Annotations: &mcpv1alpha1.ToolAnnotations{ReadOnlyHint: ptr.To(true)},
			Digest:      digest(name), DiscoveredDigest: digest(name),
		},
		Status: mcpv1alpha1.MCPToolStatus{
			Digest: digest(name),
			Conditions: []metav1.Condition{{
				Type: mcpv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: mcpv1alpha1.ReasonSucceeded,
				ObservedGeneration: 1, LastTransitionTime: at(2 * time.Minute),
			}},
		},
	}
	for _, m := range mutate {
		m(t)
	}
	return t
}

func digest(name string) string {
	return "sha256:" + strings.Repeat(fmt.Sprintf("%x", len(name)%16), 64)
}

func newClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := mcpv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&mcpv1alpha1.MCPServer{}, &mcpv1alpha1.MCPTool{}).Build()
}

// api answers requests and validates every answer against the registry module's OpenAPI.
type api struct {
	t       *testing.T
	handler http.Handler
	metrics *fakeMetrics
}

func newAPI(t *testing.T, c client.Reader) *api {
	m := &fakeMetrics{}
	return &api{t: t, metrics: m, handler: registryapi.New(registryapi.Options{Reader: c, NamePrefix: "com.example", Metrics: m})}
}

type fakeMetrics struct{ requests []string }

func (f *fakeMetrics) ObserveRegistryRequest(endpoint string, code int, _ time.Duration) {
	f.requests = append(f.requests, fmt.Sprintf("%s %d", endpoint, code))
}

func (a *api) do(method, target string) (int, []byte) {
	a.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	openapitest.Validate(a.t, req, rec.Code, rec.Header(), body)
	return rec.Code, body
}

// get answers a GET that must succeed, decoded into out.
func (a *api) get(target string, out any) {
	a.t.Helper()
	code, body := a.do(http.MethodGet, target)
	if code != http.StatusOK {
		a.t.Fatalf("GET %s: %d %s", target, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		a.t.Fatalf("GET %s: %v", target, err)
	}
}

// list follows every cursor of a list and returns the names and the number of pages.
func (a *api) list(query string) ([]string, int) {
	a.t.Helper()
	var names []string
	pages := 0
	target := "/v0.1/servers?" + query
	for {
		var page registryapi.ListResponse
		a.get(target, &page)
		pages++
		if page.Metadata.Count != len(page.Servers) {
			a.t.Errorf("GET %s: count %d for %d servers", target, page.Metadata.Count, len(page.Servers))
		}
		for _, s := range page.Servers {
			names = append(names, s.Server.Name)
		}
		if page.Metadata.NextCursor == "" {
			return names, pages
		}
		if pages > 100 {
			a.t.Fatal("more than 100 pages")
		}
		// Like one well-known IDE: drop search, append the cursor without encoding it.
		target = "/v0.1/servers?limit=" + limitOf(query) + "&cursor=" + page.Metadata.NextCursor
	}
}

func limitOf(query string) string {
	v, _ := url.ParseQuery(query)
	if l := v.Get("limit"); l != "" {
		return l
	}
	return "30"
}

func TestEntryMapping(t *testing.T) {
	s := server("tools", "github", func(s *mcpv1alpha1.MCPServer) {
		s.Spec.URL = "https://user:secret@github.example.com/mcp"
		s.Spec.Transport = mcpv1alpha1.TransportSSE
		s.Spec.Description = strings.Repeat("é", 60) // 120 bytes
		s.Spec.Registry = &mcpv1alpha1.RegistrySpec{
			Publish: ptr.To(true), Name: "com.example/github", Title: "GitHub", WebsiteURL: "https://docs.example.com",
			Icons:   []mcpv1alpha1.RegistryIcon{{Src: "https://example.com/i.png", MIMEType: "image/png", Sizes: []string{"48x48"}, Theme: "dark"}},
			Headers: []mcpv1alpha1.RegistryHeader{{Name: "Authorization", Description: "A GitHub token", IsRequired: true, IsSecret: true}},
		}
		s.Spec.Tools = &mcpv1alpha1.ToolsSpec{
			Exclude: []string{"excluded"},
			Overrides: []mcpv1alpha1.ToolOverride{
				{Name: "pinned", Digest: digest("pinned")},
				{Name: "drifted", Digest: digest("drifted")},
			},
		}
	})
	objs := []client.Object{s,
		tool(s, "create_issue", func(t *mcpv1alpha1.MCPTool) { t.Spec.Alias = "new_issue" }),
		tool(s, "pinned"),
		tool(s, "drifted", func(t *mcpv1alpha1.MCPTool) {
			// The server now reports another definition; the MCPTool keeps the approved one.
			t.Spec.DiscoveredDigest, t.Status.Digest = digest("xx"), digest("xx")
			t.Status.Conditions[0].Status, t.Status.Conditions[0].Reason = metav1.ConditionFalse, mcpv1alpha1.ReasonDefinitionChanged
		}),
		tool(s, "disabled", func(t *mcpv1alpha1.MCPTool) {
			t.Spec.Enabled = ptr.To(false)
			t.Status.Conditions[0].Status, t.Status.Conditions[0].Reason = metav1.ConditionFalse, mcpv1alpha1.ReasonToolDisabled
		}),
		tool(s, "stale", func(t *mcpv1alpha1.MCPTool) { t.Generation = 2 }), // Ready is about generation 1
		tool(s, "excluded"),
		tool(s, "foreign", func(t *mcpv1alpha1.MCPTool) { t.OwnerReferences[0].UID = "other" }),
	}
	a := newAPI(t, newClient(t, objs...))

	var got registryapi.Response
	a.get("/v0.1/servers/"+url.PathEscape("com.example/github")+"/versions/latest", &got)
	raw := map[string]any{}
	_, body := a.do(http.MethodGet, "/v0.1/servers/com.example%2Fgithub/versions/1.2.3")
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}

	if got.Server.Description != strings.Repeat("é", 48)+"..." {
		t.Errorf("description %q: want it cut at 100 bytes on a character boundary", got.Server.Description)
	}
	if got.Server.Version != "1.2.3" || got.Server.Title != "GitHub" || got.Server.WebsiteURL != "https://docs.example.com" {
		t.Errorf("server: %+v", got.Server)
	}
	r := got.Server.Remotes
	if len(r) != 1 || r[0].Type != "sse" || r[0].URL != "https://github.example.com/mcp" {
		t.Errorf("remotes %+v: want one sse remote without the user information", r)
	}
	if len(r) == 1 && (len(r[0].Headers) != 1 || r[0].Headers[0].Name != "Authorization" || !r[0].Headers[0].IsSecret ||
		!r[0].Headers[0].IsRequired || r[0].Headers[0].Value != "") {
		t.Errorf("headers %+v", r[0].Headers)
	}
	if strings.Contains(string(body), "secret@") {
		t.Errorf("the URL's credentials were published: %s", body)
	}
	official := got.Meta.Official
	if official == nil || official.Status != "active" || !official.IsLatest || !official.PublishedAt.Equal(t0) ||
		!official.StatusChangedAt.Equal(t0.Add(time.Minute)) || official.StatusMessage != nil {
		t.Errorf("official _meta %+v", official)
	}
	want := []registryapi.Tool{
		{Name: "create_issue", Alias: "new_issue", Title: "CREATE_ISSUE", Description: "Does create_issue",
			Annotations: &mcpv1alpha1.ToolAnnotations{ReadOnlyHint: ptr.To(true)}, Digest: digest("create_issue")},
		{Name: "pinned", Title: "PINNED", Description: "Does pinned",
			Annotations: &mcpv1alpha1.ToolAnnotations{ReadOnlyHint: ptr.To(true)}, Digest: digest("pinned")},
	}
	if diff := cmp.Diff(&registryapi.ObjectMeta{Namespace: "tools", Name: "github", Tools: want}, got.Meta.Registry); diff != "" {
		t.Errorf("our _meta (-want +got):\n%s", diff)
	}
	if m, _ := raw["_meta"].(map[string]any); m == nil || m[mcpv1alpha1.RegistryMetaKey] == nil || m["io.modelcontextprotocol.registry/official"] == nil {
		t.Errorf("_meta keys: %v", raw["_meta"])
	}
}

func TestPinningRequired(t *testing.T) {
	s := server("tools", "strict", func(s *mcpv1alpha1.MCPServer) {
		s.Spec.Tools = &mcpv1alpha1.ToolsSpec{Pinning: mcpv1alpha1.PinningRequired,
			Overrides: []mcpv1alpha1.ToolOverride{{Name: "pinned", Digest: digest("pinned")}}}
	})
	a := newAPI(t, newClient(t, s, tool(s, "pinned"), tool(s, "unpinned")))
	var got registryapi.Response
	a.get("/v0.1/servers/com.example.tools%2Fstrict/versions/latest", &got)
	if len(got.Meta.Registry.Tools) != 1 || got.Meta.Registry.Tools[0].Name != "pinned" {
		t.Errorf("tools %+v: want only the pinned one", got.Meta.Registry.Tools)
	}
}

func TestListFiltersAndPagination(t *testing.T) {
	var objs []client.Object
	for i := range 25 {
		s := server(fmt.Sprintf("ns%d", i%3), fmt.Sprintf("srv-%02d", i), func(s *mcpv1alpha1.MCPServer) {
			if i%2 == 0 {
				s.Spec.Description = "Weather FORECASTS number " + fmt.Sprint(i)
			}
			if i == 7 {
				s.Status.ServerInfo = nil // never synced
			}
			if i >= 20 {
				// Changed later: Ready changed after the others.
				s.Status.Conditions[0].LastTransitionTime = at(time.Hour)
			}
		})
		objs = append(objs, s, tool(s, "echo"))
	}
	objs = append(objs,
		server("other", "unpublished", func(s *mcpv1alpha1.MCPServer) { s.Spec.Registry = nil }),
		server("other", "opted-out", func(s *mcpv1alpha1.MCPServer) { s.Spec.Registry.Publish = ptr.To(false) }))
	a := newAPI(t, newClient(t, objs...))

	all, pages := a.list("limit=7")
	if len(all) != 25 || pages != 4 {
		t.Fatalf("listed %d servers in %d pages, want 25 in 4", len(all), pages)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] >= all[i] {
			t.Fatalf("not sorted by name: %v", all)
		}
	}
	if all[0] != "com.example.ns0/srv-00" {
		t.Errorf("first name %q: want the default <prefix>.<namespace>/<name>", all[0])
	}

	// search matches the description, case-insensitively, and the cursor keeps it.
	found, pages := a.list("limit=4&search=weather%20forecasts")
	if len(found) != 13 || pages != 4 {
		t.Errorf("search found %d in %d pages, want 13 in 4: %v", len(found), pages, found)
	}
	// search matches the name too.
	if found, _ := a.list("search=SRV-1"); len(found) != 10 {
		t.Errorf("search by name found %v", found)
	}

	if found, _ := a.list("limit=2&updated_since=" + url.QueryEscape(t0.Add(30*time.Minute).Format(time.RFC3339))); len(found) != 5 {
		t.Errorf("updated_since found %v, want the 5 servers changed after it", found)
	}
	if found, _ := a.list("version=latest&limit=50"); len(found) != 25 {
		t.Errorf("version=latest found %d", len(found))
	}
	if found, _ := a.list("version=0.0.0"); len(found) != 1 || found[0] != "com.example.ns1/srv-07" {
		t.Errorf("version=0.0.0 found %v, want the server that never reported a version", found)
	}
	if found, _ := a.list("version=9.9.9"); len(found) != 0 {
		t.Errorf("version=9.9.9 found %v", found)
	}
	if found, _ := a.list("include_deleted=true&limit=1000"); len(found) != 25 {
		t.Errorf("include_deleted with a limit over the maximum found %d", len(found))
	}
	var page registryapi.ListResponse
	a.get("/v0.1/servers?limit=1000", &page)
	if len(page.Servers) != 25 {
		t.Errorf("limit=1000 served %d", len(page.Servers))
	}
	a.get("/v0.1/servers", &page)
	if len(page.Servers) != 25 || page.Metadata.NextCursor != "" {
		t.Errorf("default page: %d servers, cursor %q", len(page.Servers), page.Metadata.NextCursor)
	}
	a.get("/v0.1/servers?search=nothing-matches", &page)
	if page.Servers == nil || len(page.Servers) != 0 {
		t.Errorf("an empty result must be servers: [], got %v", page.Servers)
	}
}

func TestBadInput(t *testing.T) {
	s := server("tools", "github")
	a := newAPI(t, newClient(t, s))
	for _, tc := range []struct {
		method, target string
		code           int
	}{
		{http.MethodGet, "/v0.1/servers?limit=0", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?limit=ten", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?limit=-1", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?cursor=not-a-cursor", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?cursor=" + strings.Repeat("A", 5000), http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?updated_since=yesterday", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?include_deleted=maybe", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?search=" + strings.Repeat("x", 300), http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers?search=%zz", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers/com.example.tools%2Fgithub/versions?include_deleted=2", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers/com.example.tools%2Fgithub/versions/latest?include_deleted=x", http.StatusBadRequest},
		{http.MethodGet, "/v0.1/servers/com.example%2Funknown/versions", http.StatusNotFound},
		{http.MethodGet, "/v0.1/servers/com.example%2Funknown/versions/latest", http.StatusNotFound},
		{http.MethodGet, "/v0.1/servers/com.example.tools%2Fgithub/versions/2.0.0", http.StatusNotFound},
		{http.MethodGet, "/v0.1/servers/com.example.tools%2Fgithub", http.StatusNotFound},
		{http.MethodGet, "/v0/servers", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodPost, "/v0.1/publish", http.StatusNotImplemented},
		{http.MethodPut, "/v0.1/servers/com.example.tools%2Fgithub/versions/1.2.3", http.StatusNotImplemented},
		{http.MethodDelete, "/v0.1/servers/com.example.tools%2Fgithub/versions/1.2.3", http.StatusNotImplemented},
		{http.MethodPatch, "/v0.1/servers/com.example.tools%2Fgithub/versions/1.2.3/status", http.StatusForbidden},
		{http.MethodPatch, "/v0.1/servers/com.example.tools%2Fgithub/status", http.StatusForbidden},
		{http.MethodPost, "/v0.1/servers", http.StatusMethodNotAllowed},
		{http.MethodGet, "/v0.1/publish", http.StatusMethodNotAllowed},
		{http.MethodOptions, "/v0.1/servers", http.StatusNoContent},
		{http.MethodOptions, "/v0.1/servers/com.example.tools%2Fgithub/versions/latest", http.StatusNoContent},
	} {
		code, body := a.do(tc.method, tc.target)
		if code != tc.code {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.target, code, body, tc.code)
		}
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodOptions, "/v0.1/servers", nil))
	for header, want := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "GET, OPTIONS",
		"Access-Control-Allow-Headers": "Authorization, Content-Type",
	} {
		if got := rec.Header().Get(header); got != want {
			t.Errorf("OPTIONS: %s %q, want %q", header, got, want)
		}
	}
	if got := a.metrics.requests[0]; got != "list 400" {
		t.Errorf("first request recorded as %q, want list 400", got)
	}
}

func TestNames(t *testing.T) {
	s := server("tools", "gh", func(s *mcpv1alpha1.MCPServer) { s.Spec.Registry.Name = "io.github.acme/gh.server_v2" })
	dup := server("other", "gh-copy", func(s *mcpv1alpha1.MCPServer) {
		s.Spec.Registry.Name = "io.github.acme/gh.server_v2"
		s.CreationTimestamp = at(time.Hour) // younger: not served
		s.Spec.Description = "the copy"
	})
	a := newAPI(t, newClient(t, s, dup))
	var got registryapi.Response
	for _, target := range []string{
		"/v0.1/servers/io.github.acme%2Fgh.server_v2/versions/latest",
		"/v0.1/servers/io.github.acme%2fgh.server_v2/versions/1.2.3", // lower-case escape
		"/v0.1/servers/io.github.acme/gh.server_v2/versions/latest",  // not encoded at all
	} {
		a.get(target, &got)
		if got.Meta.Registry.Namespace != "tools" {
			t.Errorf("%s served %s/%s, want the older tools/gh", target, got.Meta.Registry.Namespace, got.Meta.Registry.Name)
		}
	}
	var versions registryapi.ListResponse
	a.get("/v0.1/servers/io.github.acme%2Fgh.server_v2/versions", &versions)
	if len(versions.Servers) != 1 || versions.Metadata.Count != 1 || !versions.Servers[0].Meta.Official.IsLatest {
		t.Errorf("versions: %+v", versions)
	}
	// A version with build metadata, URL-encoded.
	s2 := server("tools", "built", func(s *mcpv1alpha1.MCPServer) { s.Status.ServerInfo.Version = "1.0.0+20130313144700" })
	a = newAPI(t, newClient(t, s2))
	a.get("/v0.1/servers/com.example.tools%2Fbuilt/versions/1.0.0%2B20130313144700", &got)
	if got.Server.Version != "1.0.0+20130313144700" {
		t.Errorf("version %q", got.Server.Version)
	}
}

func TestStatusTransitions(t *testing.T) {
	ctx := context.Background()
	s := server("tools", "github")
	c := newClient(t, s, tool(s, "echo"))
	a := newAPI(t, c)
	const target = "/v0.1/servers/com.example.tools%2Fgithub/versions/latest"
	var got registryapi.Response
	a.get(target, &got)
	if got.Meta.Official.Status != "active" {
		t.Fatalf("status %q, want active", got.Meta.Official.Status)
	}

	// Suspended: deprecated, saying why, and still listed.
	cur := &mcpv1alpha1.MCPServer{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(s), cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Suspend = ptr.To(true)
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	cur.Status.Conditions[0] = metav1.Condition{Type: mcpv1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: mcpv1alpha1.ReasonServerSuspended, LastTransitionTime: at(3 * time.Hour)}
	if err := c.Status().Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	a.get(target, &got)
	if o := got.Meta.Official; o.Status != "deprecated" || o.StatusMessage == nil || !strings.Contains(*o.StatusMessage, "suspended") ||
		!o.StatusChangedAt.Equal(t0.Add(3*time.Hour)) || o.UpdatedAt.Before(o.StatusChangedAt) {
		t.Errorf("suspended: %+v", o)
	}
	if names, _ := a.list(""); len(names) != 1 {
		t.Errorf("a suspended server is still listed, got %v", names)
	}

	// Delete blocked by a consumer: deprecated, naming it.
	cur.Spec.Suspend = nil
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(s), cur); err != nil {
		t.Fatal(err)
	}
	cur.Status.Conditions = append(cur.Status.Conditions, metav1.Condition{Type: mcpv1alpha1.ConditionDeletionBlocked,
		Status: metav1.ConditionTrue, Reason: mcpv1alpha1.ReasonToolsInUse, LastTransitionTime: at(4 * time.Hour),
		Message: "Deletion waits for 1 consumer: Deployment tools/agent"})
	if err := c.Status().Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	a.get(target, &got)
	if o := got.Meta.Official; o.Status != "deprecated" || o.StatusMessage == nil ||
		!strings.Contains(*o.StatusMessage, "Deployment tools/agent") || !o.StatusChangedAt.Equal(cur.DeletionTimestamp.UTC()) {
		t.Errorf("delete blocked: %+v (message %q)", o, ptr.Deref(o.StatusMessage, ""))
	}

	// Gone: 404, and no longer listed.
	cur.Finalizers = nil
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if code, body := a.do(http.MethodGet, target); code != http.StatusNotFound {
		t.Errorf("gone: %d %s, want 404", code, body)
	}
	if code, _ := a.do(http.MethodGet, "/v0.1/servers/com.example.tools%2Fgithub/versions"); code != http.StatusNotFound {
		t.Errorf("gone: versions %d, want 404", code)
	}
	if names, _ := a.list(""); len(names) != 0 {
		t.Errorf("gone but listed: %v", names)
	}
}

func TestUpdatedAt(t *testing.T) {
	s := server("tools", "github")
	spec := func(d time.Duration, subresource string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: "m", Operation: metav1.ManagedFieldsOperationUpdate, Time: ptr.To(at(d)), Subresource: subresource}
	}
	// The status write (lastSyncTime at every sync) is left out; a spec write counts.
	s.ManagedFields = []metav1.ManagedFieldsEntry{spec(time.Hour, ""), spec(5*time.Hour, "status")}
	got := registryapi.NewResponse("com.example/github", s, nil).Meta.Official.UpdatedAt
	if !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("updatedAt %v, want the spec write at %v", got, t0.Add(time.Hour))
	}
	// A tool whose definition changed later moves it.
	tl := tool(s, "echo", func(t *mcpv1alpha1.MCPTool) { t.ManagedFields = []metav1.ManagedFieldsEntry{spec(2*time.Hour, "")} })
	got = registryapi.NewResponse("com.example/github", s, []*mcpv1alpha1.MCPTool{tl}).Meta.Official.UpdatedAt
	if !got.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("updatedAt %v, want the tool's change at %v", got, t0.Add(2*time.Hour))
	}
}

// With informers, entries are kept between requests and rebuilt when an event names their server
// (its own or one of its tools'): without the event the kept entry is served.
func TestEntriesFollowEvents(t *testing.T) {
	a, b := server("tools", "a"), server("tools", "b")
	ta := tool(a, "search")
	c := newClient(t, a, b, ta)
	informers := &fakeInformers{}
	api := &api{t: t, metrics: &fakeMetrics{}, handler: registryapi.New(registryapi.Options{Reader: c, Informers: informers, NamePrefix: "com.example"})}
	entry := func() registryapi.Response {
		var e registryapi.Response
		api.get("/v0.1/servers/com.example.tools%2Fa/versions/latest", &e)
		return e
	}
	if e := entry(); e.Server.Title != "" || len(e.Meta.Registry.Tools) != 1 {
		t.Fatalf("first answer: title %q, tools %v", e.Server.Title, e.Meta.Registry.Tools)
	}
	ctx := context.Background()
	a.Spec.Registry.Title = "A"
	if err := c.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if e := entry(); e.Server.Title != "" {
		t.Errorf("without an event: title %q, want the kept entry", e.Server.Title)
	}
	informers.updated(a)
	if e := entry(); e.Server.Title != "A" {
		t.Errorf("after the server's event: title %q, want A", e.Server.Title)
	}
	ta.Spec.Enabled = ptr.To(false)
	if err := c.Update(ctx, ta); err != nil {
		t.Fatal(err)
	}
	informers.updated(ta)
	if e := entry(); len(e.Meta.Registry.Tools) != 0 {
		t.Errorf("after the tool's event: tools %v, want none (disabled)", e.Meta.Registry.Tools)
	}
	b.Spec.Registry.Publish = ptr.To(false)
	if err := c.Update(ctx, b); err != nil {
		t.Fatal(err)
	}
	informers.updated(b)
	if names, _ := api.list(""); !cmp.Equal(names, []string{"com.example.tools/a"}) {
		t.Errorf("after b stopped publishing: %v", names)
	}
	a.Finalizers = nil
	if err := c.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	informers.updated(a)
	if code, body := api.do(http.MethodGet, "/v0.1/servers/com.example.tools%2Fa/versions/latest"); code != http.StatusNotFound {
		t.Errorf("after the delete: %d %s, want 404", code, body)
	}
}
