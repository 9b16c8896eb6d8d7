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
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/registryapi"
)

// memoryReader reads objects held in memory the way the manager's informer cache does: Get
// deep-copies; List filters by namespace (from a per-namespace index) and label selector, each
// item a shallow copy with client.UnsafeDisableDeepCopy and a deep copy otherwise
// (controller-runtime's CacheReader.List then meta.SetList).
type memoryReader struct {
	servers     []*mcpv1alpha1.MCPServer
	tools       []*mcpv1alpha1.MCPTool
	toolsByNS   map[string][]*mcpv1alpha1.MCPTool
	serverByKey map[client.ObjectKey]*mcpv1alpha1.MCPServer
}

func (m *memoryReader) add(objs ...client.Object) {
	if m.toolsByNS == nil {
		m.toolsByNS, m.serverByKey = map[string][]*mcpv1alpha1.MCPTool{}, map[client.ObjectKey]*mcpv1alpha1.MCPServer{}
	}
	for _, obj := range objs {
		switch o := obj.(type) {
		case *mcpv1alpha1.MCPServer:
			m.servers = append(m.servers, o)
			m.serverByKey[client.ObjectKeyFromObject(o)] = o
		case *mcpv1alpha1.MCPTool:
			m.tools = append(m.tools, o)
			m.toolsByNS[o.Namespace] = append(m.toolsByNS[o.Namespace], o)
		}
	}
}

func (m *memoryReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	s, ok := m.serverByKey[key]
	out, isServer := obj.(*mcpv1alpha1.MCPServer)
	if !isServer {
		return fmt.Errorf("unexpected Get of %T", obj)
	}
	if !ok {
		return apierrors.NewNotFound(mcpv1alpha1.GroupVersion.WithResource("mcpservers").GroupResource(), key.Name)
	}
	s.DeepCopyInto(out)
	return nil
}

func (m *memoryReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := (&client.ListOptions{}).ApplyOptions(opts)
	deep := o.UnsafeDisableDeepCopy == nil || !*o.UnsafeDisableDeepCopy
	var objs []kruntime.Object
	keep := func(obj client.Object) {
		if (o.Namespace != "" && obj.GetNamespace() != o.Namespace) ||
			(o.LabelSelector != nil && !o.LabelSelector.Matches(labels.Set(obj.GetLabels()))) {
			return
		}
		if deep {
			obj = obj.DeepCopyObject().(client.Object)
		}
		objs = append(objs, obj)
	}
	switch list.(type) {
	case *mcpv1alpha1.MCPServerList:
		for _, s := range m.servers {
			keep(s)
		}
	case *mcpv1alpha1.MCPToolList:
		tools := m.tools
		if o.Namespace != "" {
			tools = m.toolsByNS[o.Namespace]
		}
		for _, t := range tools {
			keep(t)
		}
	default:
		return fmt.Errorf("unexpected list %T", list)
	}
	return apimeta.SetList(list, objs)
}

// catalog is servers published MCPServers with tools MCPTools each, as the cache holds them after
// a sync: schemas, managed fields and conditions included.
func catalog(servers, tools int) *memoryReader {
	m := &memoryReader{}
	schema := &apiextensionsv1.JSON{Raw: []byte(`{"type":"object","properties":{"owner":{"type":"string","description":"Repository owner"},` +
		`"repo":{"type":"string","description":"Repository name"},"title":{"type":"string"},"body":{"type":"string"}},"required":["owner","repo","title"]}`)}
	managed := func(d time.Duration) []metav1.ManagedFieldsEntry {
		return []metav1.ManagedFieldsEntry{
			{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, Time: ptrTime(at(d))},
			{Manager: "mcp-registry-operator", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: ptrTime(at(d + time.Hour))},
		}
	}
	for i := range servers {
		s := server(fmt.Sprintf("team-%02d", i%50), fmt.Sprintf("server-%04d", i))
		s.ManagedFields = managed(time.Duration(i) * time.Second)
		m.add(s)
		for j := range tools {
			m.add(tool(s, fmt.Sprintf("tool_%02d", j), func(t *mcpv1alpha1.MCPTool) {
				t.Spec.InputSchema = schema
				t.ManagedFields = managed(time.Duration(i+j) * time.Second)
			}))
		}
	}
	return m
}

func ptrTime(t metav1.Time) *metav1.Time { return &t }

// fakeInformers hands out informers that only record their event handlers: updated sends an
// update event, as an informer does after its cache changed.
type fakeInformers struct {
	handlers map[string][]toolscache.ResourceEventHandler
}

type fakeInformer struct {
	cache.Informer // any other method panics: the handler only adds event handlers
	add            func(toolscache.ResourceEventHandler)
}

func (f fakeInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	f.add(h)
	return nil, nil
}

func (f *fakeInformers) GetInformer(_ context.Context, obj client.Object, _ ...cache.InformerGetOption) (cache.Informer, error) {
	if f.handlers == nil {
		f.handlers = map[string][]toolscache.ResourceEventHandler{}
	}
	kind := fmt.Sprintf("%T", obj)
	return fakeInformer{add: func(h toolscache.ResourceEventHandler) { f.handlers[kind] = append(f.handlers[kind], h) }}, nil
}

func (f *fakeInformers) updated(obj client.Object) {
	kind := fmt.Sprintf("%T", obj)
	for _, h := range f.handlers[kind] {
		h.OnUpdate(obj, obj)
	}
}

// BenchmarkRegistryList answers GET /v0.1/servers from the real handler over 1,000 published
// servers with 20 tools each held in memory, against serving the same bytes from a static file in
// the same process (http.ServeContent). Both are measured in the same run, interleaved; the
// ratio is what to compare across machines. Run it with
//
//	go test ./internal/registryapi/ -run '^$' -bench BenchmarkRegistryList -benchtime=1x
func BenchmarkRegistryList(b *testing.B) {
	const servers, tools, requests = 1000, 20, 300
	reader := catalog(servers, tools)
	informers := &fakeInformers{}
	handler := registryapi.New(registryapi.Options{Reader: reader, Informers: informers, NamePrefix: "com.example"})
	// Before every request one server changes (an event for it, as at every sync's status
	// write): its entry is rebuilt, the others are kept.
	changed := 0
	changing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		informers.updated(reader.servers[changed%servers])
		changed++
		handler.ServeHTTP(w, r)
	})
	// Without informers every request builds the catalog from the reader.
	rebuilding := registryapi.New(registryapi.Options{Reader: reader, NamePrefix: "com.example"})
	const firstPage = "/v0.1/servers?limit=50&version=latest"
	for _, bc := range []struct {
		name    string
		handler http.Handler
		target  string
	}{
		{"first-page-limit-50", handler, firstPage},
		{"first-page-limit-100", handler, "/v0.1/servers?limit=100"},
		{"search-one", handler, "/v0.1/servers?search=server-0999"},
		{"lookup-latest", handler, "/v0.1/servers/com.example.team-07%2Fserver-0507/versions/latest"},
		{"first-page-limit-50-one-change-per-request", changing, firstPage},
		{"first-page-limit-50-without-informers", rebuilding, firstPage},
	} {
		b.Run(bc.name, func(b *testing.B) {
			handler := bc.handler
			served := serve(b, handler, bc.target)
			if served.Code != http.StatusOK {
				b.Fatalf("GET %s: %d %s", bc.target, served.Code, served.Body)
			}
			static := staticFile(served.Body.Bytes())
			for b.Loop() {
				live, liveAllocs := measure(b, handler, bc.target, requests)
				file, fileAllocs := measure(b, static, bc.target, requests)
				b.ReportMetric(float64(percentile(live, 50).Microseconds()), "handler-p50-µs")
				b.ReportMetric(float64(percentile(live, 99).Microseconds()), "handler-p99-µs")
				b.ReportMetric(float64(percentile(file, 50).Microseconds()), "static-p50-µs")
				b.ReportMetric(float64(percentile(file, 99).Microseconds()), "static-p99-µs")
				b.ReportMetric(float64(percentile(live, 50))/float64(percentile(file, 50)), "p50-ratio")
				b.ReportMetric(float64(percentile(live, 99))/float64(percentile(file, 99)), "p99-ratio")
				b.ReportMetric(liveAllocs, "handler-allocs/req")
				b.ReportMetric(fileAllocs, "static-allocs/req")
				b.ReportMetric(float64(served.Body.Len()), "body-bytes")
			}
		})
	}
}

// staticFile serves body as a file would be: http.ServeContent with a fixed modification time.
func staticFile(body []byte) http.Handler {
	modified := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "servers.json", modified, bytes.NewReader(body))
	})
}

func serve(b *testing.B, h http.Handler, target string) *httptest.ResponseRecorder {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// measure answers n requests and returns their latencies, sorted, and the allocations per request.
func measure(b *testing.B, h http.Handler, target string, n int) ([]time.Duration, float64) {
	b.Helper()
	latencies := make([]time.Duration, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		start := time.Now()
		if rec := serve(b, h, target); rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", target, rec.Code)
		}
		latencies[i] = time.Since(start)
	}
	runtime.ReadMemStats(&after)
	slices.Sort(latencies)
	return latencies, float64(after.Mallocs-before.Mallocs) / float64(n)
}

// percentile returns the p-th percentile (nearest rank) of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	return sorted[max(0, (len(sorted)*p+99)/100-1)]
}
