//go:build e2e

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

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toolregistry/mcp-registry-operator/internal/registryapi"
	"github.com/toolregistry/mcp-registry-operator/internal/registryapi/openapitest"
)

// registryGet GETs path (encoded) from the manager's MCP Registry API with token ("" for none),
// validates the answer against the pinned OpenAPI and returns the status code and body.
func registryGet(t *testing.T, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+suite.manager.registry+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	openapitest.Validate(t, req, resp.StatusCode, resp.Header, body)
	return resp.StatusCode, body
}

// registryList GETs a list page, which must answer 200.
func registryList(t *testing.T, path string) registryapi.ListResponse {
	t.Helper()
	code, body := registryGet(t, path, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var page registryapi.ListResponse
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if page.Metadata.Count != len(page.Servers) {
		t.Errorf("GET %s: count %d for %d servers", path, page.Metadata.Count, len(page.Servers))
	}
	return page
}

func namesOf(page registryapi.ListResponse) []string {
	var names []string
	for _, s := range page.Servers {
		names = append(names, s.Server.Name)
	}
	return names
}

// 15. The MCP Registry API: server-everything registered and published (over both transports,
// and once more under a second name), a server not published; the manager's registry URL answers
// the calls an IDE makes: the probe ?limit=1, the list ?limit=50&version=latest, cursors followed
// (also appended unencoded with search dropped, as one IDE does), /versions/latest. Every answer
// is validated against the pinned OpenAPI. Then, with --registry-auth=Kubernetes: no token 401, a
// token without the registry-reader role 403, with it 200.
func TestRegistryAPI(t *testing.T) {
	if err := waitListening(suite.manager.registry, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, "e2e-registry")
	publish := []string{"registry:", "  publish: true"}
	u.apply(serverManifest("everything-http", suite.everythingHTTP, "StreamableHTTP", append(publish, "  title: Everything")...))
	u.apply(serverManifest("everything-sse", suite.everythingSSE, "SSE", publish...))
	u.apply(serverManifest("everything-again", suite.everythingHTTP, "StreamableHTTP", publish...))
	u.apply(serverManifest("unlisted", suite.everythingHTTP, "StreamableHTTP"))
	u.waitReady(60*time.Second, "mcpserver/everything-http", "mcpserver/everything-sse", "mcpserver/everything-again", "mcpserver/unlisted")
	prefix := "local.cluster." + u.ns + "/"
	want := []string{prefix + "everything-again", prefix + "everything-http", prefix + "everything-sse"}
	version := u.jsonpath("mcpserver/everything-http", "{.status.serverInfo.version}")
	tools := u.toolsOf("everything-http")
	if version == "" || len(tools) == 0 {
		t.Fatalf("server-everything reported version %q and tools %v", version, tools)
	}

	// The probe: one entry and a cursor.
	u.eventually(30*time.Second, "the registry lists the published servers", func() string {
		page := registryList(t, "/v0.1/servers?limit=50&version=latest&search="+url.QueryEscape(u.ns))
		if got := namesOf(page); !slices.Equal(got, want) {
			return fmt.Sprint(got)
		}
		for _, s := range page.Servers {
			if len(s.Meta.Registry.Tools) != len(tools) {
				return fmt.Sprintf("%s: %d tools published, want %d", s.Server.Name, len(s.Meta.Registry.Tools), len(tools))
			}
		}
		return ""
	})
	probe := registryList(t, "/v0.1/servers?limit=1")
	if len(probe.Servers) != 1 || probe.Metadata.NextCursor == "" {
		t.Errorf("probe ?limit=1: %d servers, next cursor %q", len(probe.Servers), probe.Metadata.NextCursor)
	}

	// The IDE's list, then its cursors at a page size of one: search dropped, cursor unencoded.
	list := registryList(t, "/v0.1/servers?limit=50&version=latest")
	for _, name := range want {
		if !slices.Contains(namesOf(list), name) {
			t.Errorf("?limit=50&version=latest: %s missing from %v", name, namesOf(list))
		}
	}
	if slices.Contains(namesOf(list), prefix+"unlisted") {
		t.Errorf("the unpublished server is listed")
	}
	var followed []string
	path := "/v0.1/servers?limit=1&version=latest&search=" + url.QueryEscape(u.ns)
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages")
		}
		page := registryList(t, path)
		followed = append(followed, namesOf(page)...)
		if page.Metadata.NextCursor == "" {
			break
		}
		path = "/v0.1/servers?limit=1&version=latest&cursor=" + page.Metadata.NextCursor
	}
	if !slices.Equal(followed, want) {
		t.Errorf("cursors followed without search: %v, want %v", followed, want)
	}

	// The IDE's look-up of each server's latest version.
	for _, name := range want {
		code, body := registryGet(t, "/v0.1/servers/"+url.PathEscape(name)+"/versions/latest", "")
		if code != http.StatusOK {
			t.Fatalf("%s/versions/latest: %d %s", name, code, body)
		}
		var e registryapi.Response
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		official := e.Meta.Official
		if e.Server.Version != version || official == nil || string(official.Status) != "active" || !official.IsLatest {
			t.Errorf("%s: version %q (want %q), official %+v", name, e.Server.Version, version, official)
		}
		if e.Meta.Registry.Namespace != u.ns {
			t.Errorf("%s: _meta namespace %q", name, e.Meta.Registry.Namespace)
		}
	}
	var e registryapi.Response
	_, body := registryGet(t, "/v0.1/servers/"+url.PathEscape(prefix+"everything-http")+"/versions/latest", "")
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Server.Title != "Everything" || len(e.Server.Remotes) != 1 || e.Server.Remotes[0].URL != suite.everythingHTTP ||
		e.Server.Remotes[0].Type != "streamable-http" {
		t.Errorf("everything-http: title %q, remotes %+v", e.Server.Title, e.Server.Remotes)
	}
	for _, tool := range e.Meta.Registry.Tools {
		if !slices.Contains(tools, tool.Name) || !strings.HasPrefix(tool.Digest, "sha256:") {
			t.Errorf("published tool %+v: not an MCPTool of the server, or no digest", tool)
		}
	}
	if code, _ := registryGet(t, "/v0.1/servers/"+url.PathEscape(prefix+"unlisted")+"/versions/latest", ""); code != http.StatusNotFound {
		t.Errorf("the unpublished server: %d, want 404", code)
	}

	t.Run("Kubernetes authentication and authorization", func(t *testing.T) {
		restartManager(t, "--registry-auth=Kubernetes")
		u.run("create", "serviceaccount", "ide")
		u.run("create", "serviceaccount", "stranger")
		u.run("create", "clusterrolebinding", "e2e-registry-ide", "--clusterrole=mcp-registry-operator-registry-reader",
			"--serviceaccount="+u.ns+":ide")
		t.Cleanup(func() {
			_, _ = runKubectl("", "delete", "clusterrolebinding", "e2e-registry-ide", "--ignore-not-found")
		})
		const probe = "/v0.1/servers?limit=1"
		if code, body := registryGet(t, probe, ""); code != http.StatusUnauthorized {
			t.Errorf("no token: %d %s, want 401", code, body)
		}
		if code, body := registryGet(t, probe, strings.TrimSpace(u.run("create", "token", "stranger"))); code != http.StatusForbidden {
			t.Errorf("a token without the registry-reader role: %d %s, want 403", code, body)
		}
		u.eventually(30*time.Second, "the IDE's ServiceAccount reads the registry", func() string {
			token := strings.TrimSpace(u.run("create", "token", "ide"))
			if code, body := registryGet(t, probe, token); code != http.StatusOK {
				return fmt.Sprintf("%d %s", code, body)
			}
			path := "/v0.1/servers/" + url.PathEscape(prefix+"everything-http") + "/versions/latest"
			if code, body := registryGet(t, path, token); code != http.StatusOK {
				return fmt.Sprintf("%s: %d %s", path, code, body)
			}
			return ""
		})
	})
}

// restartManager restarts the suite's manager with extra flags, for the test, and restarts it
// with its own flags afterwards.
func restartManager(t *testing.T, extra ...string) {
	t.Helper()
	m := suite.manager
	args := m.Args
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	m.Args = append(slices.Clone(args), extra...)
	t.Cleanup(func() {
		_ = m.Stop()
		m.Args = args
		if err := m.Start(); err != nil {
			t.Errorf("cannot restart the suite's manager: %v", err)
		}
	})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitListening(m.registry, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("manager restarted: bin/manager %s", strings.Join(m.Args, " "))
}
