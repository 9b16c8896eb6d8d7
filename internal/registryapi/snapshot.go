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

package registryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

// Informers is what the API needs of the manager's cache to keep its entries current: the
// informers of MCPServer and MCPTool, to learn which server's entry an event changes.
type Informers interface {
	GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error)
}

// entry is one published server, precomputed: what the filters compare and its encoded
// ServerResponse. Entries are never modified once built.
type entry struct {
	name                  string
	lowerName, lowerDescr string
	version               string
	updatedAt             time.Time
	// key (namespace/name) and created break ties between servers sharing a name.
	key     string
	created metav1.Time
	json    []byte
}

// snapshot is the catalog at one moment: published entries sorted by name, one per name.
type snapshot []*entry

// find returns the entry named name, or nil.
func (s snapshot) find(name string) *entry {
	i := sort.Search(len(s), func(i int) bool { return s[i].name >= name })
	if name == "" || i == len(s) || s[i].name != name {
		return nil
	}
	return s[i]
}

// index keeps the snapshot. Fed by informer events, it rebuilds only the entries of the servers
// an event touched (a server's own events and its tools', by the tools' server label), when a
// request comes; without informers every request builds the catalog from the reader.
type index struct {
	reader client.Reader
	prefix string

	mu      sync.Mutex
	live    bool                // events arrive: keep entries between requests
	all     bool                // rebuild everything (at start, and after a failed read)
	dirty   map[string]struct{} // namespace/name of servers whose entry may have changed
	byKey   map[string]*entry   // published servers' entries by namespace/name
	current snapshot
}

func newIndex(reader client.Reader, prefix string) *index {
	return &index{reader: reader, prefix: prefix, all: true, dirty: map[string]struct{}{}}
}

// watch subscribes the index to the informers' events. It must be called before the
// informers start (or at least before the first request), so that no change goes unseen.
func (x *index) watch(ctx context.Context, informers Informers) error {
	serverKey := func(obj client.Object) string { return obj.GetNamespace() + "/" + obj.GetName() }
	toolKey := func(obj client.Object) string {
		return obj.GetNamespace() + "/" + obj.GetLabels()[mcpv1alpha1.ServerLabel]
	}
	for _, w := range []struct {
		obj client.Object
		key func(client.Object) string
	}{{&mcpv1alpha1.MCPServer{}, serverKey}, {&mcpv1alpha1.MCPTool{}, toolKey}} {
		informer, err := informers.GetInformer(ctx, w.obj)
		if err != nil {
			return fmt.Errorf("cannot watch %T for the registry: %w", w.obj, err)
		}
		mark := func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if o, ok := obj.(client.Object); ok {
				if key := w.key(o); !strings.HasSuffix(key, "/") { // a tool without the server label is no one's
					x.markDirty(key)
				}
			}
		}
		if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    mark,
			UpdateFunc: func(old, obj any) { mark(old); mark(obj) },
			DeleteFunc: mark,
		}); err != nil {
			return fmt.Errorf("cannot watch %T for the registry: %w", w.obj, err)
		}
	}
	x.mu.Lock()
	x.live = true
	x.mu.Unlock()
	return nil
}

func (x *index) markDirty(key string) {
	x.mu.Lock()
	x.dirty[key] = struct{}{}
	x.mu.Unlock()
}

// snapshot returns the current catalog, rebuilding what changed since the last request.
func (x *index) snapshot(ctx context.Context) (snapshot, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.live {
		byKey, err := x.build(ctx)
		if err != nil {
			return nil, err
		}
		return sorted(byKey), nil
	}
	switch {
	case x.all:
		byKey, err := x.build(ctx)
		if err != nil {
			return nil, err
		}
		x.byKey, x.all, x.dirty = byKey, false, map[string]struct{}{}
	case len(x.dirty) > 0:
		dirty := x.dirty
		x.dirty = map[string]struct{}{}
		for key := range dirty {
			if err := x.rebuild(ctx, key); err != nil {
				x.all = true
				return nil, err
			}
		}
	default:
		return x.current, nil
	}
	x.current = sorted(x.byKey)
	return x.current, nil
}

// build makes every entry from one list of the servers and one of the tools.
func (x *index) build(ctx context.Context) (map[string]*entry, error) {
	servers := &mcpv1alpha1.MCPServerList{}
	if err := x.reader.List(ctx, servers, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("cannot list MCPServers: %w", err)
	}
	tools := &mcpv1alpha1.MCPToolList{}
	if err := x.reader.List(ctx, tools, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("cannot list MCPTools: %w", err)
	}
	toolsOf := map[string][]*mcpv1alpha1.MCPTool{}
	for i := range tools.Items {
		t := &tools.Items[i]
		if server := t.Labels[mcpv1alpha1.ServerLabel]; server != "" {
			k := t.Namespace + "/" + server
			toolsOf[k] = append(toolsOf[k], t)
		}
	}
	out := map[string]*entry{}
	for i := range servers.Items {
		s := &servers.Items[i]
		if Published(s) {
			key := s.Namespace + "/" + s.Name
			e, err := x.newEntry(key, s, toolsOf[key])
			if err != nil {
				return nil, err
			}
			out[key] = e
		}
	}
	return out, nil
}

// rebuild makes the entry of the server at key again from the reader, or drops it.
func (x *index) rebuild(ctx context.Context, key string) error {
	namespace, name, _ := strings.Cut(key, "/")
	server := &mcpv1alpha1.MCPServer{}
	if err := x.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, server); err != nil {
		if apierrors.IsNotFound(err) {
			delete(x.byKey, key)
			return nil
		}
		return fmt.Errorf("cannot read MCPServer %s: %w", key, err)
	}
	if !Published(server) {
		delete(x.byKey, key)
		return nil
	}
	tools := &mcpv1alpha1.MCPToolList{}
	if err := x.reader.List(ctx, tools, client.InNamespace(namespace),
		client.MatchingLabels{mcpv1alpha1.ServerLabel: name}, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("cannot list the MCPTools of %s: %w", key, err)
	}
	ptrs := make([]*mcpv1alpha1.MCPTool, len(tools.Items))
	for i := range tools.Items {
		ptrs[i] = &tools.Items[i]
	}
	e, err := x.newEntry(key, server, ptrs)
	if err != nil {
		return err
	}
	x.byKey[key] = e
	return nil
}

func (x *index) newEntry(key string, server *mcpv1alpha1.MCPServer, tools []*mcpv1alpha1.MCPTool) (*entry, error) {
	name := Name(x.prefix, server)
	r := NewResponse(name, server, tools)
	b, err := encode(r)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the entry of MCPServer %s: %w", key, err)
	}
	return &entry{
		name: name, lowerName: strings.ToLower(name), lowerDescr: strings.ToLower(r.Server.Description),
		version: r.Server.Version, updatedAt: r.Meta.Official.UpdatedAt,
		key: key, created: server.CreationTimestamp, json: b,
	}, nil
}

// sorted orders entries by name; of entries sharing a name, the oldest (then the first by
// namespace/name) is kept and the others are left out.
func sorted(byKey map[string]*entry) snapshot {
	out := make(snapshot, 0, len(byKey))
	for _, e := range byKey {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if !a.created.Equal(&b.created) {
			return a.created.Before(&b.created)
		}
		return a.key < b.key
	})
	dedup := out[:0]
	for _, e := range out {
		if len(dedup) > 0 && dedup[len(dedup)-1].name == e.name {
			continue
		}
		dedup = append(dedup, e)
	}
	return dedup
}

// encode is v as JSON without a trailing newline, '<', '>' and '&' as they are (descriptions are
// text, not HTML).
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
