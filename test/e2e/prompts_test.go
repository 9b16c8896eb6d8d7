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
	"strings"
	"testing"
	"time"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

// The prompts the pinned server-everything offers (its dist/prompts), with their argument names in
// its order: the suite checks membership, so a later version that adds prompts still passes.
var everythingPrompts = map[string][]string{
	"simple-prompt":      nil,
	"args-prompt":        {"city", "state"},
	"completable-prompt": {"department", "name"},
	"resource-prompt":    {"resourceType", "resourceId"},
}

// server-everything's real prompts reach status.prompts, over both transports; spec.prompts
// filters and overrides them; kubectl mcp tools --prompts and export show them.
func TestServerEverythingPrompts(t *testing.T) {
	u := newUser(t, "e2e-prompts")
	u.apply(serverManifest("everything-http", suite.everythingHTTP, "StreamableHTTP"))
	u.apply(serverManifest("everything-sse", suite.everythingSSE, "SSE"))
	u.waitReady(60*time.Second, "mcpserver/everything-http", "mcpserver/everything-sse")

	for _, name := range []string{"everything-http", "everything-sse"} {
		status := u.serverStatus(name)
		got := map[string]mcpv1alpha1.Prompt{}
		for _, p := range status.Prompts {
			got[p.Name] = p
		}
		for prompt, args := range everythingPrompts {
			p, ok := got[prompt]
			if !ok {
				t.Fatalf("%s: status.prompts lacks %q: %+v", name, prompt, status.Prompts)
			}
			if strings.Join(p.Arguments, ",") != strings.Join(args, ",") || !p.Enabled || p.Title == "" || p.Description == "" {
				t.Fatalf("%s: prompt %q is %+v, want arguments %v, enabled, a title and a description", name, prompt, p, args)
			}
		}
		if int(status.PromptCount) != len(status.Prompts) {
			t.Fatalf("%s: promptCount %d, %d prompts listed", name, status.PromptCount, len(status.Prompts))
		}
	}

	u.apply(serverManifest("everything-http", suite.everythingHTTP, "StreamableHTTP",
		"prompts:",
		"  exclude: [completable-*]",
		"  overrides:",
		"  - {name: args-prompt, alias: weather, description: Ask about the weather in a city.}",
		"  - {name: simple-prompt, enabled: false}",
	))
	generation := u.jsonpath("mcpserver/everything-http", "{.metadata.generation}")
	u.run("wait", "--for=jsonpath={.status.observedGeneration}="+generation, "--timeout=60s", "mcpserver/everything-http")
	u.waitReady(60*time.Second, "mcpserver/everything-http")
	status := u.serverStatus("everything-http")
	for _, p := range status.Prompts {
		switch p.Name {
		case "completable-prompt":
			t.Fatalf("an excluded prompt is listed: %+v", status.Prompts)
		case "args-prompt":
			if p.Alias != "weather" || p.Description != "Ask about the weather in a city." || !p.Enabled {
				t.Fatalf("args-prompt override not applied: %+v", p)
			}
		case "simple-prompt":
			if p.Enabled {
				t.Fatalf("simple-prompt not disabled: %+v", p)
			}
		}
	}
	if int(status.PromptCount) != len(status.Prompts) || len(status.Prompts) < len(everythingPrompts)-1 {
		t.Fatalf("after filters: promptCount %d, prompts %+v", status.PromptCount, status.Prompts)
	}

	out := u.plugin("tools", "--prompts")
	for _, want := range []string{"SERVER", "PROMPT", "ARGUMENTS",
		"everything-http   args-prompt", "weather", "city,state", "everything-sse    completable-prompt"} {
		if !strings.Contains(out, want) {
			t.Fatalf("kubectl mcp tools --prompts lacks %q:\n%s", want, out)
		}
	}
	if out := u.plugin("export", "everything-http"); !strings.Contains(out, "#   args-prompt (alias weather; arguments: city, state)") ||
		!strings.Contains(out, "#   simple-prompt (disabled)") || !strings.Contains(out, "exclude:\n      - completable-*") {
		t.Fatalf("export lacks the prompts or spec.prompts:\n%s", out)
	}
}

// serverStatus reads an MCPServer's status.
func (u *user) serverStatus(name string) mcpv1alpha1.MCPServerStatus {
	u.t.Helper()
	var server mcpv1alpha1.MCPServer
	if err := json.Unmarshal([]byte(u.run("get", "mcpserver", name, "-o", "json")), &server); err != nil {
		u.t.Fatalf("mcpserver %s: %v", name, err)
	}
	return server.Status
}
