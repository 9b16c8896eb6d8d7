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

// Package openapitest validates MCP Registry API responses against the OpenAPI of the pinned
// github.com/modelcontextprotocol/registry module (go.mod), read from the module cache, with
// kin-openapi. The unit tests, the envtest suite and the e2e scenarios share it; only tests import
// it.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// T is what a check needs of its test: testing.TB and Ginkgo's GinkgoT() both have it.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// The OpenAPI of the pinned registry module, loaded once.
var (
	specOnce sync.Once
	spec     *openapi3.T
	specErr  error
)

// Spec returns the pinned OpenAPI document, failing t when it cannot be read.
func Spec(t T) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		var out []byte
		out, specErr = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/modelcontextprotocol/registry").Output()
		if specErr != nil {
			return
		}
		path := filepath.Join(strings.TrimSpace(string(out)), "docs", "reference", "api", "openapi.yaml")
		spec, specErr = openapi3.NewLoader().LoadFromFile(path)
	})
	if specErr != nil {
		t.Fatalf("cannot load the registry module's OpenAPI: %v", specErr)
	}
	return spec
}

// templates map a request path (names URL-encoded, or with an unencoded slash) to its OpenAPI
// path.
var templates = []struct {
	re       *regexp.Regexp
	template string
}{
	{regexp.MustCompile(`^/v0\.1/servers/?$`), "/v0.1/servers"},
	{regexp.MustCompile(`^/v0\.1/servers/.+/versions$`), "/v0.1/servers/{serverName}/versions"},
	{regexp.MustCompile(`^/v0\.1/servers/.+/versions/[^/]+$`), "/v0.1/servers/{serverName}/versions/{version}"},
	{regexp.MustCompile(`^/v0\.1/publish$`), "/v0.1/publish"},
}

// Validate checks a response against the operation of its request: status, headers (CORS,
// Content-Type) and body. A status the operation does not list (400, 401, 405, 503) must carry
// the OpenAPI's error object, the schema of the read endpoints' 404.
func Validate(t T, req *http.Request, code int, header http.Header, body []byte) {
	t.Helper()
	doc := Spec(t)
	if got := header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("%s %s: Access-Control-Allow-Origin %q, want *", req.Method, req.URL, got)
	}
	if req.Method == http.MethodOptions {
		return
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL, ct)
	}
	var op *openapi3.Operation
	var item *openapi3.PathItem
	var template string
	for _, tm := range templates {
		if tm.re.MatchString(req.URL.EscapedPath()) {
			template = tm.template
			item = doc.Paths.Find(template)
			op = item.GetOperation(req.Method)
			break
		}
	}
	if op == nil || op.Responses.Status(code) == nil {
		errSchema := doc.Paths.Find("/v0.1/servers/{serverName}/versions").Get.Responses.Status(404).Value.
			Content.Get("application/json").Schema.Value
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s %s: %d body is not JSON: %v\n%s", req.Method, req.URL, code, err, body)
		}
		if err := errSchema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s %s: %d body is not the OpenAPI error object: %v\n%s", req.Method, req.URL, code, err, body)
		}
		if m, _ := v.(map[string]any); m == nil || m["error"] == nil || m["error"] == "" {
			t.Errorf("%s %s: %d body has no error message: %s", req.Method, req.URL, code, body)
		}
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: doc, Path: template, PathItem: item, Method: req.Method, Operation: op},
		},
		Status:  code,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Errorf("%s %s: %d response does not match the OpenAPI: %v\n%s", req.Method, req.URL, code, err, body)
	}
}
