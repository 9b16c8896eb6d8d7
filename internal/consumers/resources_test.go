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

package consumers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseResources(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []schema.GroupResource
		wantErr string
	}{
		{
			name:  "default workload kinds",
			value: DefaultResources,
			want: []schema.GroupResource{
				{Group: "apps", Resource: "deployments"}, {Group: "apps", Resource: "statefulsets"},
				{Group: "apps", Resource: "daemonsets"}, {Group: "batch", Resource: "jobs"},
				{Group: "batch", Resource: "cronjobs"},
			},
		},
		{name: "core group", value: "configmaps", want: []schema.GroupResource{{Resource: "configmaps"}}},
		{
			name:  "custom resource with a dotted group, spaces trimmed",
			value: " deployments.apps , agents.ai.example.com",
			want:  []schema.GroupResource{{Group: "apps", Resource: "deployments"}, {Group: "ai.example.com", Resource: "agents"}},
		},
		{name: "empty", value: " ", wantErr: "no resources given"},
		{name: "empty entry", value: "deployments.apps,,jobs.batch", wantErr: "entry 2 is empty"},
		{name: "kind instead of resource", value: "Deployment.apps", wantErr: `resource "Deployment" is not a lowercase plural resource name`},
		{name: "version included", value: "deployments.v1.apps", wantErr: `leave out the version "v1" and write deployments.apps`},
		{name: "group starting like a version", value: "agents.v2beta1x.example.com", want: []schema.GroupResource{{Group: "v2beta1x.example.com", Resource: "agents"}}},
		{name: "bad group", value: "deployments.Apps_v1", wantErr: `group "Apps_v1" is not a valid API group`},
		{name: "duplicate", value: "jobs.batch,jobs.batch", wantErr: `"jobs.batch" is listed twice`},
		{name: "slash", value: "apps/deployments", wantErr: "is not a lowercase plural resource name"},
		{name: "too many", value: manyResources(33), wantErr: "33 resources listed: at most 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResources(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseResources(%q) error = %v, want it to contain %q", tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseResources(%q) unexpected error: %v", tt.value, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseResources(%q) mismatch (-want +got):\n%s", tt.value, diff)
			}
		})
	}
}

func TestResolveKinds(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	deployment := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	mapper.Add(deployment, meta.RESTScopeNamespace)

	got, err := ResolveKinds(mapper, []schema.GroupResource{{Group: "apps", Resource: "deployments"}})
	if err != nil {
		t.Fatalf("ResolveKinds: %v", err)
	}
	if diff := cmp.Diff([]schema.GroupVersionKind{deployment}, got); diff != "" {
		t.Errorf("ResolveKinds mismatch (-want +got):\n%s", diff)
	}

	_, err = ResolveKinds(mapper, []schema.GroupResource{{Group: "ai.example.com", Resource: "agents"}})
	if err == nil || !strings.Contains(err.Error(), `resource "agents.ai.example.com" is not served by the API server`) {
		t.Errorf("ResolveKinds of an unserved resource: error = %v", err)
	}
}

func manyResources(n int) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = "r" + strings.Repeat("x", i) + ".example.com"
	}
	return strings.Join(entries, ",")
}
