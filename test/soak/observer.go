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

// Package soak is the randomized soak of the operator (`make soak`, build tag soak) and its
// observer: an independent judge that watches the API and checks the five invariants of the
// delete path continuously. The observer shares no code with the operator: it reads objects as
// unstructured data and knows the contract only from DESIGN.md (references.go). See the "Soak"
// section of docs/reliability.md for what it checks and how it avoids false alarms.
package soak

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The kinds the observer watches.
const (
	KindServer     = "MCPServer"
	KindTool       = "MCPTool"
	KindConsumer   = "Deployment"
	KindSecret     = "Secret"
	KindNamespace  = "Namespace"
	historyToKeep  = 10 * time.Minute
	seriesToKeepBy = 3 // multiples of Bounds.Converge
)

// Invariants, numbered as in the issue.
const (
	InvToolInUse      = 1 // no MCPTool disappears while a counting consumer references it, unless forced
	InvForeign        = 2 // nothing the operator does not own is deleted or modified
	InvLeftBehind     = 3 // a deleted server leaves nothing it owned (Delete) or leaves it released (Orphan)
	InvCount          = 4 // consumerCount and InUse agree with the observer's own count
	InvStuckTerminate = 5 // no server stays Terminating with no counting consumers
)

// InvariantNames are one-line names of the invariants, for reports.
var InvariantNames = map[int]string{
	InvToolInUse:      "MCPTool deleted while in use",
	InvForeign:        "object the operator does not own deleted or modified",
	InvLeftBehind:     "deleted server left owned objects behind / not released",
	InvCount:          "consumerCount or InUse disagrees with the observer's count",
	InvStuckTerminate: "server Terminating with no counting consumers",
}

// Live reads the API server directly (no cache): the observer confirms every suspected violation
// with it before reporting. Get returns nil, nil when the object does not exist.
type Live interface {
	Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error)
	List(ctx context.Context, kind, namespace string) ([]*unstructured.Unstructured, error)
}

// Bounds are the observer's grace windows.
type Bounds struct {
	// Lag is how long a check waits after the event that triggers it, for the watches of other
	// kinds to deliver what happened before it (watches of different kinds lag each other).
	Lag time.Duration
	// Converge is how long the operator has to bring a status in line with the consumers, to
	// finish a delete no consumer blocks, and to be back at work after the manager restarted.
	Converge time.Duration
	// Confirm is how long a check may wait for the observer's history to be complete (its watch to
	// have caught up with the live object) before it is dropped as unjudged.
	Confirm time.Duration
}

// Violation is one broken invariant.
type Violation struct {
	Invariant int
	At        time.Time
	Object    string
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("[%d: %s] %s at %s: %s", v.Invariant, InvariantNames[v.Invariant], v.Object, v.At.Format(time.RFC3339), v.Detail)
}

type key struct{ kind, namespace, name string }

func (k key) String() string {
	if k.namespace == "" {
		return k.kind + " " + k.name
	}
	return k.kind + " " + k.namespace + "/" + k.name
}

// version is one state of an object as the watch delivered it; obj is nil once deleted. rv is the
// resourceVersion: on one etcd it is the global revision, which orders events of every kind (a
// deletion's event carries the revision of the deletion).
type version struct {
	rv  uint64
	obj *unstructured.Unstructured
	at  time.Time
}

type sample struct {
	at    time.Time
	count int
}

// pending is a check that waits for its due time (the Lag grace), then for a complete history.
type pending struct {
	due    time.Time
	giveUp time.Time
	run    func(ctx context.Context) (done bool)
}

// Observer keeps its own history of every watched object and judges the invariants. Feed it
// watch events with Observe, tell it what the soak's driver does (Wrote, WillDelete,
// WillDeleteNamespace, ManagerDown, ManagerUp), and call Tick regularly.
type Observer struct {
	mu     sync.Mutex
	now    func() time.Time
	live   Live
	bounds Bounds

	history   map[key][]version
	watermark map[string]uint64 // highest revision each kind's watch delivered

	foreign      map[key]map[string]bool // the driver's objects, with the fingerprints it wrote
	willDelete   map[key]map[string]bool // by UID
	willDeleteNS map[string]bool
	managerUp    bool
	upSince      time.Time

	pending   []*pending
	series    map[string][]sample  // expected consumer counts over time, by UID (invariant 4)
	reported  map[string]bool      // episodes already reported
	freeSince map[string]time.Time // deleting servers (by UID) with nothing pinning them (invariant 5)

	violations []Violation
	// Judged counts the checks that reached a verdict, per invariant; Unjudged those dropped
	// because the history could not be confirmed complete in time (or a deletion's final state
	// was unknown).
	Judged   map[int]int
	Unjudged map[int]int
}

// NewObserver returns an observer reading live through live, with the manager taken as up.
func NewObserver(live Live, bounds Bounds, now func() time.Time) *Observer {
	if now == nil {
		now = time.Now
	}
	return &Observer{
		now: now, live: live, bounds: bounds,
		history: map[key][]version{}, watermark: map[string]uint64{},
		foreign: map[key]map[string]bool{}, willDelete: map[key]map[string]bool{}, willDeleteNS: map[string]bool{},
		managerUp: true, upSince: now(),
		series: map[string][]sample{}, reported: map[string]bool{}, freeSince: map[string]time.Time{},
		Judged: map[int]int{}, Unjudged: map[int]int{},
	}
}

// Violations returns what was found so far.
func (o *Observer) Violations() []Violation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.violations)
}

// Wrote records that the driver created or updated obj (as the API returned it): the object is
// the driver's, and this content of it is legitimate.
func (o *Observer) Wrote(obj *unstructured.Unstructured) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := keyOf(obj)
	if o.foreign[k] == nil {
		o.foreign[k] = map[string]bool{}
	}
	o.foreign[k][fingerprint(obj)] = true
}

// WillDelete records that the driver is about to delete the object with this UID.
func (o *Observer) WillDelete(kind, namespace, name, uid string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := key{kind, namespace, name}
	if o.willDelete[k] == nil {
		o.willDelete[k] = map[string]bool{}
	}
	o.willDelete[k][uid] = true
}

// WillDeleteNamespace records that the driver is about to delete a namespace: everything in it
// may go.
func (o *Observer) WillDeleteNamespace(namespace string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.willDeleteNS[namespace] = true
}

// NamespaceCreated records that the driver created a namespace again.
func (o *Observer) NamespaceCreated(namespace string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.willDeleteNS, namespace)
}

// ManagerDown records that the manager was killed: nothing is expected to converge meanwhile.
func (o *Observer) ManagerDown() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.managerUp = false
}

// ManagerUp records that the manager answers its readiness probe again; it has Converge from now.
func (o *Observer) ManagerUp() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.managerUp, o.upSince = true, o.now()
}

// Observe records one watch event: obj as delivered, deleted for a deletion (obj is then the
// final state, with the deletion's resourceVersion). A deletion whose final state is unknown
// (after a relist) is passed with obj holding only the identity and finalStateUnknown set.
func (o *Observer) Observe(kind string, obj *unstructured.Unstructured, deleted, finalStateUnknown bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	k := key{kind, obj.GetNamespace(), obj.GetName()}
	rv, _ := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	if rv > o.watermark[kind] {
		o.watermark[kind] = rv
	}
	prev := o.latest(k)
	v := version{rv: rv, obj: obj.DeepCopy(), at: now}
	if deleted {
		v.obj = nil
	}
	o.history[k] = append(o.history[k], v)

	if _, mine := o.foreign[k]; mine {
		o.checkForeign(k, obj, deleted, now)
	}
	if !deleted {
		return
	}
	if finalStateUnknown {
		o.Unjudged[kindInvariant(kind)]++
		return
	}
	switch kind {
	case KindTool:
		if _, mine := o.foreign[k]; !mine && prev != nil {
			o.checkToolDeletion(k, prev, rv, now)
		}
	case KindServer:
		if prev != nil {
			o.checkServerGone(k, prev, now)
		}
	}
}

func kindInvariant(kind string) int {
	switch kind {
	case KindServer:
		return InvLeftBehind
	case KindTool:
		return InvToolInUse
	default:
		return InvForeign
	}
}

// latest is the last known state of k, nil when deleted or unknown.
func (o *Observer) latest(k key) *unstructured.Unstructured {
	h := o.history[k]
	if len(h) == 0 {
		return nil
	}
	return h[len(h)-1].obj
}

// before is the state of k just before revision rv (the last version with a smaller revision).
func (o *Observer) before(k key, rv uint64) *unstructured.Unstructured {
	var at *unstructured.Unstructured
	for _, v := range o.history[k] {
		if v.rv >= rv {
			break
		}
		at = v.obj
	}
	return at
}

func (o *Observer) report(episode string, v Violation) {
	o.Judged[v.Invariant]++
	if o.reported[episode] {
		return
	}
	o.reported[episode] = true
	o.violations = append(o.violations, v)
}

func (o *Observer) schedule(now time.Time, run func(ctx context.Context) bool) {
	o.pending = append(o.pending, &pending{due: now.Add(o.bounds.Lag), giveUp: now.Add(o.bounds.Lag + o.bounds.Confirm), run: run})
}

// Tick runs the checks that are due and the continuous ones (invariants 4 and 5).
func (o *Observer) Tick(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	keep := o.pending[:0]
	for _, p := range o.pending {
		if now.Before(p.due) || !p.run(ctx) {
			keep = append(keep, p)
		}
	}
	o.pending = keep
	o.checkCounts(ctx, now)
	o.checkTerminating(ctx, now)
	o.prune(now)
}

// Pending is the number of checks still waiting.
func (o *Observer) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// --- invariant 2: foreign objects ---------------------------------------------------------------

// fingerprint is what the operator must never change on an object it does not own: everything
// but status and the bookkeeping the API server keeps (resourceVersion, managedFields, generation).
func fingerprint(obj *unstructured.Unstructured) string {
	content := map[string]any{
		"labels": obj.GetLabels(), "annotations": obj.GetAnnotations(),
		"ownerReferences": obj.Object["metadata"].(map[string]any)["ownerReferences"],
		"finalizers":      obj.GetFinalizers(), "deletionTimestamp": obj.GetDeletionTimestamp() != nil,
		"spec": obj.Object["spec"], "data": obj.Object["data"], "type": obj.Object["type"],
	}
	b, _ := json.Marshal(content)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum[:8])
}

func (o *Observer) checkForeign(k key, obj *unstructured.Unstructured, deleted bool, now time.Time) {
	rv, _ := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	nsDeleted := o.willDeleteNS[k.namespace]
	if deleted {
		o.schedule(now, func(context.Context) bool {
			if !o.willDelete[k][string(obj.GetUID())] && !nsDeleted && !o.namespaceGoingAt(k.namespace, rv) {
				o.report(fmt.Sprintf("2/%s/%s", k, obj.GetUID()), Violation{InvForeign, now, k.String(),
					"deleted, and the soak did not delete it nor its namespace"})
				return true
			}
			o.Judged[InvForeign]++
			return true
		})
		return
	}
	fp := fingerprint(obj)
	if o.foreign[k][fp] || o.willDelete[k][string(obj.GetUID())] {
		return // the driver's content, or an object it deleted (a foreground deletion's finalizer)
	}
	// The driver records what the API returned after its write returns: the watch may be faster.
	snapshot := obj.DeepCopy()
	o.schedule(now, func(context.Context) bool {
		if !o.foreign[k][fp] && !nsDeleted && !o.namespaceGoingAt(k.namespace, rv) {
			o.report(fmt.Sprintf("2/%s/%s", k, fp), Violation{InvForeign, now, k.String(),
				fmt.Sprintf("modified by someone other than the soak (resourceVersion %s; labels %v, annotations %v, finalizers %v, ownerReferences %v)",
					snapshot.GetResourceVersion(), snapshot.GetLabels(), snapshot.GetAnnotations(), snapshot.GetFinalizers(), snapshot.GetOwnerReferences())})
			return true
		}
		o.Judged[InvForeign]++
		return true
	})
}

// namespaceGoingAt reports whether the namespace was Terminating or gone just before revision rv
// (a namespace deleted and created again since does not excuse what happened before).
func (o *Observer) namespaceGoingAt(namespace string, rv uint64) bool {
	k := key{KindNamespace, "", namespace}
	if len(o.history[k]) == 0 {
		return false
	}
	ns := o.before(k, rv)
	return ns == nil || ns.GetDeletionTimestamp() != nil
}

// --- invariant 1: a tool deleted while in use ---------------------------------------------------

func (o *Observer) checkToolDeletion(k key, last *unstructured.Unstructured, rv uint64, now time.Time) {
	server := last.GetLabels()[serverLabel]
	if s, ok, _ := unstructured.NestedString(last.Object, "spec", "serverRef", "name"); ok && s != "" {
		server = s
	}
	toolName, _, _ := unstructured.NestedString(last.Object, "spec", "toolName")
	o.schedule(now, func(ctx context.Context) bool {
		if last.GetAnnotations()[forceAnnotation] == "true" {
			o.Judged[InvToolInUse]++
			return true
		}
		srv := o.before(key{KindServer, k.namespace, server}, rv)
		if srv != nil && srv.GetDeletionTimestamp() != nil && srv.GetAnnotations()[forceAnnotation] == "true" {
			o.Judged[InvToolInUse]++
			return true
		}
		users, complete := o.usersAt(ctx, rv, func(c *unstructured.Unstructured) bool {
			return counting(c, k.namespace, allowsAll(srv)) && usesTool(c, k.namespace, server, toolName)
		})
		if !complete {
			if o.now().After(o.pendingGiveUp(now)) {
				o.Unjudged[InvToolInUse]++
				return true
			}
			return false
		}
		if len(users) > 0 {
			o.report(fmt.Sprintf("1/%s/%s", k, last.GetUID()), Violation{InvToolInUse, now, k.String(),
				fmt.Sprintf("tool %q of MCPServer %q deleted at revision %d while counting consumers referenced it: %v; history: %s",
					toolName, server, rv, users, o.trace(rv, append([]key{k, {KindServer, k.namespace, server}}, consumerKeys(k.namespace, users)...)...))})
			return true
		}
		o.Judged[InvToolInUse]++
		return true
	})
}

func (o *Observer) pendingGiveUp(scheduled time.Time) time.Time {
	return scheduled.Add(o.bounds.Lag + o.bounds.Confirm)
}

// usersAt returns the consumers for which uses held just before revision rv, and whether the
// observer's history of each of them is known complete up to rv: either the consumers' watch has
// delivered a later revision, or a live read shows nothing happened to it since the last version
// the observer has. A consumer the history lacks would only make a violation missed, never one
// reported, so only the candidates are confirmed.
func (o *Observer) usersAt(ctx context.Context, rv uint64, uses func(*unstructured.Unstructured) bool) ([]string, bool) {
	var users []string
	complete := true
	for k := range o.history {
		if k.kind != KindConsumer {
			continue
		}
		c := o.before(k, rv)
		if c == nil || !uses(c) {
			continue
		}
		users = append(users, k.namespace+"/"+k.name)
		if o.watermark[KindConsumer] >= rv {
			continue
		}
		if !o.historyCurrent(ctx, k) {
			complete = false
		}
	}
	sort.Strings(users)
	return users, complete
}

// historyCurrent reports whether the last version the observer has of k is what the API server
// holds now.
func (o *Observer) historyCurrent(ctx context.Context, k key) bool {
	live, err := o.live.Get(ctx, k.kind, k.namespace, k.name)
	if err != nil {
		return false
	}
	h := o.history[k]
	last := h[len(h)-1]
	if live == nil {
		return last.obj == nil
	}
	return last.obj != nil && live.GetResourceVersion() == strconv.FormatUint(last.rv, 10)
}

func allowsAll(server *unstructured.Unstructured) bool {
	if server == nil {
		return false
	}
	ns, _, _ := unstructured.NestedString(server.Object, "spec", "consumers", "namespaces")
	return ns == "All"
}

// --- invariant 3: what a deleted server leaves ---------------------------------------------------

func controllerUID(obj *unstructured.Unstructured) string {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Kind == KindServer && ref.Controller != nil && *ref.Controller {
			return string(ref.UID)
		}
	}
	return ""
}

func ownedBy(obj *unstructured.Unstructured, uid string) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if string(ref.UID) == uid {
			return true
		}
	}
	return false
}

func orphans(server *unstructured.Unstructured) bool {
	policy, _, _ := unstructured.NestedString(server.Object, "spec", "deletionPolicy")
	return policy == "Orphan" || slices.Contains(server.GetFinalizers(), orphanFinalizer)
}

func (o *Observer) checkServerGone(k key, last *unstructured.Unstructured, now time.Time) {
	uid := string(last.GetUID())
	orphan := orphans(last)
	// What the server owned when its deletion started (Orphan: each must stay, released).
	var startRV uint64
	for _, v := range o.history[k] {
		if v.obj != nil && string(v.obj.GetUID()) == uid && v.obj.GetDeletionTimestamp() != nil {
			startRV = v.rv
			break
		}
	}
	var ownedAtStart []key
	if orphan && startRV > 0 {
		for ok := range o.history {
			if (ok.kind != KindTool && ok.kind != KindSecret) || ok.namespace != k.namespace {
				continue
			}
			if obj := o.before(ok, startRV+1); obj != nil && obj.GetDeletionTimestamp() == nil && ownedBy(obj, uid) {
				ownedAtStart = append(ownedAtStart, ok)
			}
		}
	}
	o.schedule(now, func(ctx context.Context) bool {
		var left []string
		present := map[key]bool{}
		for _, kind := range []string{KindTool, KindSecret} {
			items, err := o.live.List(ctx, kind, k.namespace)
			if err != nil {
				return o.now().After(o.pendingGiveUp(now)) && o.unjudged(InvLeftBehind)
			}
			for _, it := range items {
				present[keyOf(it)] = true
				if ownedBy(it, uid) {
					left = append(left, kind+" "+it.GetName())
				}
			}
		}
		sort.Strings(left)
		what := "left behind by a server with deletionPolicy Delete"
		if orphan {
			what = "still owned by a server deleted with deletionPolicy Orphan (not released)"
		}
		if len(left) > 0 {
			o.report("3/"+uid, Violation{InvLeftBehind, now, k.String(), fmt.Sprintf("%s: %v", what, left)})
			return true
		}
		if orphan {
			again, err := o.live.Get(ctx, KindServer, k.namespace, k.name)
			if err != nil {
				return o.now().After(o.pendingGiveUp(now)) && o.unjudged(InvLeftBehind)
			}
			var gone []string
			for _, ok := range ownedAtStart {
				if present[ok] || again != nil {
					continue
				}
				h := o.history[ok]
				last := h[len(h)-1]
				if last.obj != nil && !o.now().After(o.pendingGiveUp(now)) {
					return false // the observer has not seen it go yet: wait for its deletion's revision
				}
				if last.obj == nil && o.namespaceGoingAt(ok.namespace, last.rv) {
					continue // its namespace was being deleted
				}
				if o.adoptedSince(ok, startRV, uid) {
					continue // a server of the same name adopted it since: what it does with it is its own story
				}
				gone = append(gone, ok.String())
			}
			if len(gone) > 0 {
				o.report("3/"+uid, Violation{InvLeftBehind, now, k.String(),
					fmt.Sprintf("deletionPolicy Orphan, yet what it owned when its deletion started is gone: %v", gone)})
				return true
			}
		}
		o.Judged[InvLeftBehind]++
		return true
	})
}

// adoptedSince reports whether another MCPServer controlled k at some revision after rv.
func (o *Observer) adoptedSince(k key, rv uint64, uid string) bool {
	for _, v := range o.history[k] {
		if v.rv > rv && v.obj != nil {
			if c := controllerUID(v.obj); c != "" && c != uid {
				return true
			}
		}
	}
	return false
}

func (o *Observer) unjudged(inv int) bool {
	o.Unjudged[inv]++
	return true
}

func keyOf(obj *unstructured.Unstructured) key {
	return key{obj.GetKind(), obj.GetNamespace(), obj.GetName()}
}

// --- invariants 4 and 5: counts, and servers stuck Terminating ----------------------------------

// state is a view of the objects of one namespace (plus every consumer, for servers that count
// consumers of all namespaces) from which counts are computed: the observer's history, or a live
// read.
type state struct {
	servers   map[string]*unstructured.Unstructured
	tools     []*unstructured.Unstructured
	consumers []*unstructured.Unstructured
}

func (o *Observer) current() map[string]*state {
	byNS := map[string]*state{}
	get := func(ns string) *state {
		if byNS[ns] == nil {
			byNS[ns] = &state{servers: map[string]*unstructured.Unstructured{}}
		}
		return byNS[ns]
	}
	var consumers []*unstructured.Unstructured
	for k, h := range o.history {
		obj := h[len(h)-1].obj
		if obj == nil {
			continue
		}
		switch k.kind {
		case KindServer:
			get(k.namespace).servers[k.name] = obj
		case KindTool:
			get(k.namespace).tools = append(get(k.namespace).tools, obj)
		case KindConsumer:
			consumers = append(consumers, obj)
		}
	}
	for _, s := range byNS {
		s.consumers = consumers
	}
	return byNS
}

// toolNames are the MCP names of the tools the server controls, Terminating ones included.
func (s *state) toolNames(server *unstructured.Unstructured) map[string]bool {
	names := map[string]bool{}
	for _, t := range s.tools {
		if controllerUID(t) == string(server.GetUID()) {
			name, _, _ := unstructured.NestedString(t.Object, "spec", "toolName")
			names[name] = true
		}
	}
	return names
}

func (s *state) serverCount(server *unstructured.Unstructured) int {
	has := s.toolNames(server)
	n := 0
	for _, c := range s.consumers {
		if counting(c, server.GetNamespace(), allowsAll(server)) && usesServer(c, server.GetNamespace(), server.GetName(), has) {
			n++
		}
	}
	return n
}

func (s *state) toolCount(tool, server *unstructured.Unstructured) int {
	name, _, _ := unstructured.NestedString(tool.Object, "spec", "toolName")
	n := 0
	for _, c := range s.consumers {
		if counting(c, tool.GetNamespace(), allowsAll(server)) && usesTool(c, tool.GetNamespace(), server.GetName(), name) {
			n++
		}
	}
	return n
}

// reported returns an object's status.consumerCount and whether its InUse condition is True.
func reportedUsage(obj *unstructured.Unstructured) (int, bool) {
	count, _, _ := unstructured.NestedInt64(obj.Object, "status", "consumerCount")
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	inUse := false
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == "InUse" {
			inUse = m["status"] == "True"
		}
	}
	return int(count), inUse
}

// counted are the objects whose counts invariant 4 checks in st: servers not being deleted, and
// the tools they control, not being deleted (a cascading server's tools are not updated).
func (st *state) counted() []struct{ obj, server *unstructured.Unstructured } {
	var out []struct{ obj, server *unstructured.Unstructured }
	for _, s := range st.servers {
		if s.GetDeletionTimestamp() == nil {
			out = append(out, struct{ obj, server *unstructured.Unstructured }{s, s})
		}
	}
	for _, t := range st.tools {
		server := st.servers[t.GetLabels()[serverLabel]]
		if t.GetDeletionTimestamp() == nil && server != nil && server.GetDeletionTimestamp() == nil && controllerUID(t) == string(server.GetUID()) {
			out = append(out, struct{ obj, server *unstructured.Unstructured }{t, server})
		}
	}
	return out
}

func expected(st *state, obj, server *unstructured.Unstructured) int {
	if obj.GetKind() == KindServer {
		return st.serverCount(obj)
	}
	return st.toolCount(obj, server)
}

func (o *Observer) settling(now time.Time) bool {
	return !o.managerUp || now.Before(o.upSince.Add(o.bounds.Converge))
}

func (o *Observer) checkCounts(ctx context.Context, now time.Time) {
	for _, st := range o.current() {
		for _, c := range st.counted() {
			k := keyOf(c.obj)
			uid := string(c.obj.GetUID())
			want := expected(st, c.obj, c.server)
			s := o.series[uid]
			if len(s) == 0 || s[len(s)-1].count != want {
				o.series[uid] = append(s, sample{now, want})
			}
			if o.settling(now) {
				continue
			}
			o.Judged[InvCount]++
			count, inUse := reportedUsage(c.obj)
			if count == want && inUse == (want > 0) {
				continue
			}
			if o.heldWithin(uid, now, count, inUse) {
				continue
			}
			// Confirm live: the object, its namespace's tools and every consumer, read now.
			if v, ok := o.confirmCount(ctx, c.obj, now); ok {
				o.report(fmt.Sprintf("4/%s/%s/%d", k, c.obj.GetUID(), v.count), Violation{InvCount, now, k.String(), v.detail})
			}
		}
	}
}

// heldWithin reports whether (count, inUse) was the right answer at some moment of the last
// Converge: a status lagging the consumers by less than the bound is no violation.
func (o *Observer) heldWithin(uid string, now time.Time, count int, inUse bool) bool {
	s := o.series[uid]
	if len(s) > 0 && s[0].at.After(now.Add(-o.bounds.Converge)) {
		return true // seen for less than the bound: its first status may still be on its way
	}
	if inUse != (count > 0) {
		return false
	}
	for i, smp := range s {
		validUntil := now
		if i+1 < len(s) {
			validUntil = s[i+1].at
		}
		if smp.count == count && !validUntil.Before(now.Add(-o.bounds.Converge)) {
			return true
		}
	}
	return false
}

type countMismatch struct {
	count  int
	detail string
}

func (o *Observer) confirmCount(ctx context.Context, obj *unstructured.Unstructured, now time.Time) (countMismatch, bool) {
	live, err := o.live.Get(ctx, obj.GetKind(), obj.GetNamespace(), obj.GetName())
	if err != nil || live == nil || live.GetUID() != obj.GetUID() || live.GetDeletionTimestamp() != nil {
		return countMismatch{}, false
	}
	st, err := o.liveState(ctx, obj.GetNamespace())
	if err != nil {
		return countMismatch{}, false
	}
	server := live
	if live.GetKind() == KindTool {
		server = st.servers[live.GetLabels()[serverLabel]]
		if server == nil || server.GetDeletionTimestamp() != nil {
			return countMismatch{}, false
		}
	}
	want := expected(st, live, server)
	count, inUse := reportedUsage(live)
	if count == want && inUse == (want > 0) || o.heldWithin(string(live.GetUID()), now, count, inUse) {
		return countMismatch{}, false
	}
	var users []string
	for _, c := range st.consumers {
		if live.GetKind() == KindServer && counting(c, live.GetNamespace(), allowsAll(server)) && usesServer(c, live.GetNamespace(), live.GetName(), st.toolNames(live)) ||
			live.GetKind() == KindTool && st.toolCount(live, server) > 0 && usesTool(c, live.GetNamespace(), server.GetName(), fmt.Sprint(live.Object["spec"].(map[string]any)["toolName"])) && counting(c, live.GetNamespace(), allowsAll(server)) {
			users = append(users, fmt.Sprintf("%s/%s (rv %s: %q)", c.GetNamespace(), c.GetName(), c.GetResourceVersion(), c.GetAnnotations()[toolsAnnotation]))
		}
	}
	return countMismatch{count, fmt.Sprintf("status (rv %s) says consumerCount %d, InUse %t; the consumers (read live) give %d %v, and no count the observer saw in the last %s was %d (observed series %v)",
		live.GetResourceVersion(), count, inUse, want, users, o.bounds.Converge, count, o.series[string(live.GetUID())])}, true
}

func (o *Observer) liveState(ctx context.Context, namespace string) (*state, error) {
	st := &state{servers: map[string]*unstructured.Unstructured{}}
	servers, err := o.live.List(ctx, KindServer, namespace)
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		st.servers[s.GetName()] = s
	}
	if st.tools, err = o.live.List(ctx, KindTool, namespace); err != nil {
		return nil, err
	}
	if st.consumers, err = o.live.List(ctx, KindConsumer, ""); err != nil {
		return nil, err
	}
	return st, nil
}

func (o *Observer) checkTerminating(ctx context.Context, now time.Time) {
	seen := map[string]bool{}
	for _, st := range o.current() {
		for _, s := range st.servers {
			if s.GetDeletionTimestamp() == nil {
				continue
			}
			uid := string(s.GetUID())
			seen[uid] = true
			if pinned(st, s) {
				delete(o.freeSince, uid)
				continue
			}
			since, ok := o.freeSince[uid]
			if !ok {
				o.freeSince[uid] = now
				continue
			}
			if !o.managerUp || now.Before(since.Add(o.bounds.Converge)) || now.Before(o.upSince.Add(o.bounds.Converge)) {
				continue
			}
			live, err := o.live.Get(ctx, KindServer, s.GetNamespace(), s.GetName())
			if err != nil || live == nil || string(live.GetUID()) != uid {
				continue
			}
			lst, err := o.liveState(ctx, s.GetNamespace())
			if err != nil {
				continue
			}
			if pinned(lst, live) {
				delete(o.freeSince, uid)
				continue
			}
			o.report("5/"+uid, Violation{InvStuckTerminate, now, keyOf(s).String(),
				fmt.Sprintf("Terminating, and nothing has pinned it for %s (policy Orphan: %t, forced: %t, finalizers %v)",
					now.Sub(since).Round(time.Second), orphans(live), live.GetAnnotations()[forceAnnotation] == "true", live.GetFinalizers())})
		}
	}
	for uid := range o.freeSince {
		if !seen[uid] {
			delete(o.freeSince, uid)
			o.Judged[InvStuckTerminate]++
		}
	}
}

// pinned reports whether a deleting server may legitimately stay: deletionPolicy Delete, not
// forced, and a counting consumer uses it or one of its tools.
func pinned(st *state, server *unstructured.Unstructured) bool {
	if orphans(server) || server.GetAnnotations()[forceAnnotation] == "true" {
		return false
	}
	return st.serverCount(server) > 0
}

// prune forgets versions older than historyToKeep (keeping each object's last) and old samples.
func (o *Observer) prune(now time.Time) {
	cut := now.Add(-historyToKeep)
	for k, h := range o.history {
		i := 0
		for i < len(h)-1 && h[i].at.Before(cut) {
			i++
		}
		h = h[i:]
		if len(h) == 1 && h[0].obj == nil && h[0].at.Before(cut) {
			delete(o.history, k)
			continue
		}
		o.history[k] = h
	}
	alive := map[string]bool{}
	for _, h := range o.history {
		if obj := h[len(h)-1].obj; obj != nil {
			alive[string(obj.GetUID())] = true
		}
	}
	seriesCut := now.Add(-seriesToKeepBy * o.bounds.Converge)
	for uid, s := range o.series {
		i := 0
		for i < len(s)-1 && s[i+1].at.Before(seriesCut) {
			i++
		}
		if !alive[uid] {
			delete(o.series, uid)
			continue
		}
		o.series[uid] = s[i:]
	}
}

func consumerKeys(namespace string, names []string) []key {
	out := make([]key, len(names))
	for i, n := range names {
		ns, name, _ := strings.Cut(n, "/")
		out[i] = key{KindConsumer, ns, name}
	}
	return out
}

// trace summarises the versions of keys around revision rv, for a violation's report.
func (o *Observer) trace(rv uint64, keys ...key) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "[%s:", k)
		for _, v := range o.history[k] {
			if v.rv+200 < rv {
				continue
			}
			seen := v.at.Format("15:04:05.000")
			if v.obj == nil {
				fmt.Fprintf(&b, " %d (seen %s) deleted;", v.rv, seen)
				continue
			}
			fmt.Fprintf(&b, " %d (seen %s) uid=%s deleting=%t fin=%v ann=%v;", v.rv, seen, v.obj.GetUID(), v.obj.GetDeletionTimestamp() != nil, v.obj.GetFinalizers(), v.obj.GetAnnotations())
		}
		b.WriteString("] ")
	}
	return b.String()
}

func (s sample) String() string {
	return fmt.Sprintf("%d since %s", s.count, s.at.Format("15:04:05.000"))
}
