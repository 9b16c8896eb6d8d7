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

// Package argocd runs the Argo CD health checks in config/argocd/resource_customizations the way
// Argo CD does: each health.lua in a fresh gopher-lua state with only the libraries Argo CD opens,
// the object as the global table obj, and a table with status and message as the result. Every
// case of every health_test.yaml (Argo CD's own test format) must match, and every file in
// testdata must be used by a case.
package argocd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"

	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// healthTests is Argo CD's health_test.yaml.
type healthTests struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

// The health statuses Argo CD knows.
var statuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

func TestHealthChecks(t *testing.T) {
	root, err := utils.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := filepath.Glob(filepath.Join(root, "config", "argocd", "resource_customizations", "*", "*", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, script := range scripts {
		kinds = append(kinds, filepath.Base(filepath.Dir(script)))
	}
	if !slices.Equal(kinds, []string{"MCPServer", "MCPTool"}) {
		t.Fatalf("health checks found for %v, want MCPServer and MCPTool", kinds)
	}
	for _, script := range scripts {
		dir := filepath.Dir(script)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			source, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var cases healthTests
			if err := yaml.UnmarshalStrict(data, &cases); err != nil {
				t.Fatalf("health_test.yaml: %v", err)
			}
			used := map[string]bool{}
			for _, tc := range cases.Tests {
				used[filepath.Clean(tc.InputPath)] = true
				t.Run(tc.InputPath, func(t *testing.T) {
					input, err := os.ReadFile(filepath.Join(dir, tc.InputPath))
					if err != nil {
						t.Fatal(err)
					}
					var obj map[string]any
					if err := yaml.Unmarshal(input, &obj); err != nil {
						t.Fatal(err)
					}
					status, message, err := runHealth(string(source), obj)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Contains(statuses, status) {
						t.Fatalf("status %q is not an Argo CD health status", status)
					}
					if status != tc.HealthStatus.Status || message != tc.HealthStatus.Message {
						t.Fatalf("got %s %q, want %s %q", status, message, tc.HealthStatus.Status, tc.HealthStatus.Message)
					}
				})
			}
			files, _ := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
			for _, f := range files {
				rel, _ := filepath.Rel(dir, f)
				if !used[rel] {
					t.Errorf("%s is used by no case of health_test.yaml", rel)
				}
			}
		})
	}
}

// runHealth runs a health script against obj as Argo CD does.
func runHealth(source string, obj map[string]any) (status, message string, err error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", err
		}
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(source); err != nil {
		return "", "", err
	}
	result, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", l.Get(-1).Type())
	}
	s, ok := result.RawGetString("status").(lua.LString)
	if !ok {
		return "", "", fmt.Errorf("the result has no string status")
	}
	m, _ := result.RawGetString("message").(lua.LString)
	return string(s), string(m), nil
}

// toLua converts a decoded YAML/JSON value into Lua values: objects and arrays become tables
// (arrays 1-based), numbers LNumber, as Argo CD's conversion does.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case map[string]any:
		t := l.NewTable()
		for k, item := range v {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	case []any:
		t := l.NewTable()
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	default:
		return lua.LString(fmt.Sprint(v))
	}
}

// TestGitOpsDocEmbedsTheScripts checks that docs/gitops.md's argocd-cm snippet carries each
// health.lua byte for byte, so the page users copy from never drifts from the tested scripts.
func TestGitOpsDocEmbedsTheScripts(t *testing.T) {
	root, err := utils.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "gitops.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(doc), "\n")
	for _, kind := range []string{"MCPServer", "MCPTool"} {
		script, err := os.ReadFile(filepath.Join(root, "config", "argocd", "resource_customizations", "mcp.toolregistry.io", kind, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		key := "  resource.customizations.health.mcp.toolregistry.io_" + kind + ": |"
		start := slices.Index(lines, key)
		if start < 0 {
			t.Fatalf("docs/gitops.md has no %q", key)
		}
		var embedded []string
		for _, l := range lines[start+1:] {
			if l != "" && !strings.HasPrefix(l, "    ") {
				break
			}
			embedded = append(embedded, strings.TrimPrefix(l, "    "))
		}
		got := strings.TrimRight(strings.Join(embedded, "\n"), "\n") + "\n"
		if got != string(script) {
			t.Errorf("docs/gitops.md embeds a %s script that differs from health.lua; paste the file again", kind)
		}
	}
}
