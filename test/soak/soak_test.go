//go:build soak

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

package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/toolregistry/mcp-registry-operator/test/localcluster"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

// The bounded pool the soak works on.
var (
	namespaces    = []string{"soak-a", "soak-b", "soak-c"}
	serverNames   = []string{"s0", "s1", "s2"}
	consumerNames = []string{"c0", "c1", "c2", "c3"}
	toolPool      = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"}
)

const (
	token     = "soak-token-value"
	tokenName = "soak-token"
)

// bounds are the observer's grace windows in the soak (see docs/reliability.md, "Soak").
var bounds = Bounds{Lag: 5 * time.Second, Converge: 30 * time.Second, Confirm: 30 * time.Second}

// TestSoak runs random operations for SOAK_DURATION (default 3m) from SOAK_SEED (default random)
// against bin/manager on the local control plane, with the observer judging throughout.
func TestSoak(t *testing.T) {
	duration := 3 * time.Minute
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SOAK_DURATION=%q: %v", v, err)
		}
		duration = d
	}
	seed := rand.Uint64()
	if v := os.Getenv("SOAK_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SOAK_SEED=%q: %v", v, err)
		}
		seed = s
	}
	fmt.Printf("soak: SOAK_SEED=%d SOAK_DURATION=%s\n", seed, duration)

	d := setUp(t, seed, strconv.FormatUint(seed, 10))

	start := time.Now()
	d.lastKill = start
	fmt.Printf("soak: random operations for %s\n", duration)
	printed := 0
	for next := start.Add(time.Minute); time.Since(start) < duration; {
		d.step()
		if time.Now().After(next) {
			next = next.Add(time.Minute)
			violations := d.observer.Violations()
			fmt.Printf("soak: %s: %d operations, %d violations so far\n", time.Since(start).Round(time.Second), d.total(), len(violations))
			for _, v := range violations[printed:] {
				fmt.Printf("soak: violation: %s\n", v)
			}
			printed = len(violations)
		}
		time.Sleep(time.Duration(20+d.rng.IntN(130)) * time.Millisecond)
	}

	fmt.Println("soak: draining: every consumer deleted, then every server; all must go")
	left := d.drain()
	for deadline := time.Now().Add(bounds.Lag + bounds.Confirm + 5*time.Second); time.Now().Before(deadline) && d.observer.Pending() > 0; {
		time.Sleep(500 * time.Millisecond)
	}
	d.report(seed, duration, left)
}

// setUp starts the local control plane, the bundle's RBAC, one test MCP server per server of the
// pool, the observer (watching before anything is written), the pool's namespaces and bin/manager,
// in bin/soak/<name>. Everything stops when the test ends.
func setUp(t *testing.T, seed uint64, name string) *driver {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	root, err := utils.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	assets, err := utils.BinaryAssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	// One directory per seed: runs with different seeds can go side by side (each reaps only the
	// processes its own directory records).
	dir := filepath.Join(root, "bin", "soak", name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, need := range []string{filepath.Join(root, "bin", "manager"), filepath.Join(root, "dist", "install.yaml")} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("missing %s: run 'make build build-installer' (make soak does)", need)
		}
	}

	fmt.Println("soak: starting the local control plane (etcd, kube-apiserver, kube-controller-manager)")
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		AssetsDir: assets, Dir: filepath.Join(dir, "cluster"), Log: os.Stdout,
		CRDDir: filepath.Join(root, "config", "crd", "bases"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	cfg := rest.CopyConfig(cluster.Config)
	cfg.QPS, cfg.Burst = 200, 400 // client-go's default (5 per second) would pace the soak, not the operator
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := applyBundleRBAC(ctx, cluster, client, filepath.Join(root, "dist", "install.yaml"), dir)
	if err != nil {
		t.Fatal(err)
	}

	d := &driver{
		t: t, ctx: ctx, client: client, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		ops: map[string]int{}, failed: map[string]int{}, firstErr: map[string]string{}, upstream: map[string]*mcpserver.Server{},
		uids: map[string]types.UID{},
	}
	for _, ns := range namespaces {
		for _, s := range serverNames {
			tools := d.pick(toolPool, 3+d.rng.IntN(4))
			srv, err := mcpserver.Start("127.0.0.1:0", mcpserver.Config{
				Name: "soak-" + ns + "-" + s, Version: "1.0.0", Token: token, PageSize: 4, Stateful: true, Tools: toolsNamed(tools),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			d.upstream[ns+"/"+s] = srv
		}
	}

	d.observer = NewObserver(liveAPI{client}, bounds, nil)
	if err := watch(ctx, client, d.observer); err != nil {
		t.Fatal(err)
	}
	go func() {
		for tick := time.NewTicker(500 * time.Millisecond); ; {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				d.observer.Tick(ctx)
			}
		}
	}()
	for _, ns := range namespaces {
		if err := d.createNamespace(ns); err != nil {
			t.Fatal(err)
		}
	}

	if d.manager, err = newManager(root, dir, kubeconfig); err != nil {
		t.Fatal(err)
	}
	fmt.Println("soak: starting bin/manager")
	if err := startManager(d.manager); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.manager.Stop() })

	return d
}

// driver performs the random operations, and tells the observer what it does.
type driver struct {
	t        *testing.T
	ctx      context.Context
	client   dynamic.Interface
	rng      *rand.Rand
	observer *Observer
	manager  *localcluster.Manager
	upstream map[string]*mcpserver.Server // by namespace/server
	uids     map[string]types.UID         // the consumers the driver created, by namespace/name
	ops      map[string]int
	failed   map[string]int
	firstErr map[string]string
	lastKill time.Time
}

func (d *driver) total() int {
	n := 0
	for _, c := range d.ops {
		n += c
	}
	return n
}

func (d *driver) done(op string, err error) {
	if err != nil {
		if d.failed[op] == 0 {
			d.firstErr[op] = err.Error()
		}
		d.failed[op]++
		return
	}
	d.ops[op]++
}

func (d *driver) pick(from []string, n int) []string {
	c := slices.Clone(from)
	d.rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c[:min(n, len(c))]
}

func toolsNamed(names []string) []mcpserver.Tool {
	tools := make([]mcpserver.Tool, len(names))
	for i, n := range names {
		tools[i] = mcpserver.Tool{Name: n, Description: "Soak tool " + n + ".", InputSchema: map[string]any{"type": "object"}}
	}
	return tools
}

func (d *driver) res(kind, ns string) dynamic.ResourceInterface {
	return liveAPI{d.client}.resource(kind, ns)
}

// step performs one random operation.
func (d *driver) step() {
	ns := namespaces[d.rng.IntN(len(namespaces))]
	if obj, _ := (liveAPI{d.client}).Get(d.ctx, KindNamespace, "", ns); obj == nil {
		d.done("namespace.create", d.createNamespace(ns))
		return
	} else if obj.GetDeletionTimestamp() != nil {
		return
	}
	switch r := d.rng.IntN(1000); {
	case r < 300:
		d.serverOp(ns, serverNames[d.rng.IntN(len(serverNames))])
	case r < 500:
		d.upstreamOp(ns, serverNames[d.rng.IntN(len(serverNames))])
	case r < 940:
		d.consumerOp(ns, consumerNames[d.rng.IntN(len(consumerNames))])
	case r < 975:
		d.done("secret.update", d.updateSecret(ns))
	case r < 985:
		d.done("namespace.delete", d.deleteNamespace(ns))
	default:
		// At most one SIGKILL every 40 to 80 seconds: the rest of the time the manager works.
		if time.Since(d.lastKill) > time.Duration(40+d.rng.IntN(40))*time.Second {
			d.done("manager.kill-restart", d.restartManager())
			d.lastKill = time.Now()
		}
	}
}

func (d *driver) createNamespace(ns string) error {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("v1")
	obj.SetKind(KindNamespace)
	obj.SetName(ns)
	if _, err := d.res(KindNamespace, "").Create(d.ctx, obj, metav1.CreateOptions{}); err != nil {
		return err
	}
	d.observer.NamespaceCreated(ns)
	for _, name := range []string{tokenName, "bystander"} {
		if err := d.create(secretObject(ns, name, map[string]any{"token": token})); err != nil {
			return err
		}
	}
	// A foreign MCPTool: labelled for s0, named like a tool, owned by nobody. The operator must
	// leave it alone (its status is the operator's on every MCPTool).
	ft := newObject(KindTool, "mcp.toolregistry.io/v1alpha1", ns, "handmade")
	ft.SetLabels(map[string]string{serverLabel: "s0"})
	_ = unstructured.SetNestedField(ft.Object, map[string]any{"serverRef": map[string]any{"name": "s0"}, "toolName": "handmade"}, "spec")
	return d.create(ft)
}

// create creates a foreign object (the driver's own) and tells the observer.
func (d *driver) create(obj *unstructured.Unstructured) error {
	out, err := d.res(obj.GetKind(), obj.GetNamespace()).Create(d.ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	out.SetKind(obj.GetKind())
	d.observer.Wrote(out)
	return nil
}

func newObject(kind, apiVersion, ns, name string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{}}
	obj.SetAPIVersion(apiVersion)
	obj.SetKind(kind)
	obj.SetNamespace(ns)
	obj.SetName(name)
	return obj
}

func secretObject(ns, name string, data map[string]any) *unstructured.Unstructured {
	s := newObject(KindSecret, "v1", ns, name)
	_ = unstructured.SetNestedField(s.Object, data, "stringData")
	return s
}

func (d *driver) updateSecret(ns string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"soak/edited":"%d"}}}`, d.rng.IntN(1000))
	return d.patchForeign(KindSecret, ns, "bystander", patch)
}

func (d *driver) patchForeign(kind, ns, name, patch string) error {
	out, err := d.res(kind, ns).Patch(d.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return err
	}
	out.SetKind(kind)
	d.observer.Wrote(out)
	return nil
}

func (d *driver) deleteNamespace(ns string) error {
	d.observer.WillDeleteNamespace(ns)
	return d.res(KindNamespace, "").Delete(d.ctx, ns, metav1.DeleteOptions{})
}

func (d *driver) restartManager() error {
	d.observer.ManagerDown()
	if err := d.manager.Kill(); err != nil {
		return err
	}
	time.Sleep(time.Duration(d.rng.IntN(3000)) * time.Millisecond)
	if err := startManager(d.manager); err != nil {
		d.t.Fatalf("bin/manager does not start again: %v\n%s", err, tail(d.manager.Log, 40))
	}
	d.observer.ManagerUp()
	return nil
}

// --- servers ---

func (d *driver) serverOp(ns, name string) {
	live, err := (liveAPI{d.client}).Get(d.ctx, KindServer, ns, name)
	if err != nil {
		d.done("server.read", err)
		return
	}
	if live == nil {
		d.done("server.create", d.createServer(ns, name))
		return
	}
	if live.GetDeletionTimestamp() != nil {
		if d.rng.IntN(4) == 0 {
			d.done("server.force-while-terminating", d.patch(KindServer, ns, name, `{"metadata":{"annotations":{"`+forceAnnotation+`":"true"}}}`))
		}
		return
	}
	switch r := d.rng.IntN(100); {
	case r < 30:
		d.done("server.update", d.patch(KindServer, ns, name, fmt.Sprintf(`{"spec":{"description":"revision %d","tools":%s}}`,
			d.rng.IntN(1000), d.toolFilter())))
	case r < 50:
		suspended, _, _ := unstructured.NestedBool(live.Object, "spec", "suspend")
		op := "server.suspend"
		if suspended {
			op = "server.resume"
		}
		d.done(op, d.patch(KindServer, ns, name, fmt.Sprintf(`{"spec":{"suspend":%t}}`, !suspended)))
	default:
		d.deleteServer(ns, name, live)
	}
}

// toolFilter is a random spec.tools: nothing, or an exclude that hides some tools.
func (d *driver) toolFilter() string {
	if d.rng.IntN(2) == 0 {
		return "null"
	}
	return fmt.Sprintf(`{"exclude":[%q]}`, toolPool[d.rng.IntN(len(toolPool))][:1]+"*")
}

func (d *driver) createServer(ns, name string) error {
	policy := "Delete"
	if d.rng.IntN(3) == 0 {
		policy = "Orphan"
	}
	return d.createServerWith(ns, name, policy)
}

func (d *driver) createServerWith(ns, name, policy string) error {
	s := newObject(KindServer, "mcp.toolregistry.io/v1alpha1", ns, name)
	spec := map[string]any{
		"url": d.upstream[ns+"/"+name].URL(), "transport": "StreamableHTTP", "syncInterval": "10s", "timeout": "5s", "deletionPolicy": policy,
		"auth": map[string]any{"type": "Bearer", "bearer": map[string]any{"secretRef": map[string]any{"name": tokenName, "key": "token"}}},
	}
	_ = unstructured.SetNestedField(s.Object, spec, "spec")
	out, err := d.res(KindServer, ns).Create(d.ctx, s, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if d.rng.IntN(3) == 0 {
		// A Secret the server controls, as the credentials the operator issues for it.
		issued := secretObject(ns, name+"-issued", map[string]any{"client-secret": "issued"})
		issued.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "mcp.toolregistry.io/v1alpha1", Kind: KindServer,
			Name: name, UID: out.GetUID(), Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}})
		_, err := d.res(KindSecret, ns).Create(d.ctx, issued, metav1.CreateOptions{})
		d.done("secret.create-owned", err)
	}
	return nil
}

func (d *driver) deleteServer(ns, name string, live *unstructured.Unstructured) {
	op := "server.delete"
	if p, _, _ := unstructured.NestedString(live.Object, "spec", "deletionPolicy"); p == "Orphan" {
		op += ".policy-orphan"
	}
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptrTo(live.GetUID())}}
	switch r := d.rng.IntN(10); {
	case r < 2:
		if err := d.patch(KindServer, ns, name, `{"metadata":{"annotations":{"`+forceAnnotation+`":"true"}}}`); err != nil {
			d.done(op+".forced", err)
			return
		}
		op += ".forced"
	case r < 3:
		opts.PropagationPolicy = ptrTo(metav1.DeletePropagationOrphan) // kubectl delete --cascade=orphan
		op += ".cascade-orphan"
	}
	d.done(op, d.res(KindServer, ns).Delete(d.ctx, name, opts))
}

func (d *driver) patch(kind, ns, name, patch string) error {
	_, err := d.res(kind, ns).Patch(d.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// --- upstream tools ---

func (d *driver) upstreamOp(ns, name string) {
	srv := d.upstream[ns+"/"+name]
	have := map[string]bool{}
	for _, t := range srv.Config().Tools {
		have[t.Name] = true
	}
	var absent []string
	for _, n := range toolPool {
		if !have[n] {
			absent = append(absent, n)
		}
	}
	current := make([]string, 0, len(have))
	for n := range have {
		current = append(current, n)
	}
	sort.Strings(current)
	op := []string{"upstream.add", "upstream.remove", "upstream.rename"}[d.rng.IntN(3)]
	var drop, add string
	switch {
	case op == "upstream.add" && len(absent) > 0:
		add = absent[d.rng.IntN(len(absent))]
	case op == "upstream.remove" && len(current) > 1:
		drop = current[d.rng.IntN(len(current))]
	case op == "upstream.rename" && len(current) > 0 && len(absent) > 0:
		drop, add = current[d.rng.IntN(len(current))], absent[d.rng.IntN(len(absent))]
	default:
		return
	}
	srv.Update(func(c *mcpserver.Config) {
		c.Tools = slices.DeleteFunc(c.Tools, func(t mcpserver.Tool) bool { return t.Name == drop })
		if add != "" {
			c.Tools = append(c.Tools, toolsNamed([]string{add})...)
		}
	})
	d.done(op, nil)
}

// --- consumers ---

func (d *driver) consumerOp(ns, name string) {
	live, err := (liveAPI{d.client}).Get(d.ctx, KindConsumer, ns, name)
	if err != nil {
		d.done("consumer.read", err)
		return
	}
	if live == nil {
		d.done("consumer.create", d.createConsumer(ns, name))
		return
	}
	if live.GetDeletionTimestamp() != nil {
		return
	}
	_, annotated := live.GetAnnotations()[toolsAnnotation]
	switch r := d.rng.IntN(100); {
	case r < 45:
		op := "consumer.reannotate"
		if !annotated {
			op = "consumer.annotate"
		}
		d.done(op, d.patchForeign(KindConsumer, ns, name, fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, toolsAnnotation, d.references(ns))))
	case r < 65:
		d.done("consumer.unannotate", d.patchForeign(KindConsumer, ns, name, fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, toolsAnnotation)))
	default:
		op := "consumer.delete"
		opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptrTo(live.GetUID())}}
		if d.rng.IntN(4) == 0 {
			op += ".foreground"
			opts.PropagationPolicy = ptrTo(metav1.DeletePropagationForeground)
		}
		d.observer.WillDelete(KindConsumer, ns, name, string(live.GetUID()))
		d.done(op, d.res(KindConsumer, ns).Delete(d.ctx, name, opts))
	}
}

// references is a random annotation value: whole servers, `*`, tools offered, tools not (or no
// longer) offered, and references into other namespaces (which never count there).
func (d *driver) references(ns string) string {
	var refs []string
	for range 1 + d.rng.IntN(3) {
		s := serverNames[d.rng.IntN(len(serverNames))]
		target := ns
		prefix := ""
		if d.rng.IntN(6) == 0 {
			target = namespaces[d.rng.IntN(len(namespaces))]
			prefix = target + "/"
		}
		var offered []string
		for _, t := range d.upstream[target+"/"+s].Config().Tools {
			offered = append(offered, t.Name)
		}
		switch r := d.rng.IntN(10); {
		case r < 2:
			refs = append(refs, prefix+s)
		case r < 3:
			refs = append(refs, prefix+s+":*")
		case r < 8 && len(offered) > 0:
			refs = append(refs, prefix+s+":"+offered[d.rng.IntN(len(offered))])
		default:
			refs = append(refs, prefix+s+":"+toolPool[d.rng.IntN(len(toolPool))])
		}
	}
	return strings.Join(refs, ",")
}

func (d *driver) createConsumer(ns, name string) error {
	c := newObject(KindConsumer, "apps/v1", ns, name)
	c.SetAnnotations(map[string]string{toolsAnnotation: d.references(ns)})
	var spec map[string]any
	_ = json.Unmarshal([]byte(fmt.Sprintf(`{"replicas":1,"selector":{"matchLabels":{"app":%[1]q}},
		"template":{"metadata":{"labels":{"app":%[1]q}},"spec":{"containers":[{"name":"agent","image":"example.com/agent:1.0"}]}}}`, name)), &spec)
	_ = unstructured.SetNestedField(c.Object, spec, "spec")
	return d.create(c)
}

// --- the end ---

// drain deletes every consumer, then every server, and waits for the servers to go; it returns
// those left.
func (d *driver) drain() []string {
	for _, ns := range namespaces {
		items, err := (liveAPI{d.client}).List(d.ctx, KindConsumer, ns)
		if err != nil {
			continue
		}
		for _, c := range items {
			d.observer.WillDelete(KindConsumer, ns, c.GetName(), string(c.GetUID()))
			_ = d.res(KindConsumer, ns).Delete(d.ctx, c.GetName(), metav1.DeleteOptions{})
		}
	}
	for _, ns := range namespaces {
		for _, s := range serverNames {
			if err := d.res(KindServer, ns).Delete(d.ctx, s, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				d.t.Logf("cannot delete MCPServer %s/%s: %v", ns, s, err)
			}
		}
	}
	var left []string
	for deadline := time.Now().Add(bounds.Converge + time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		left = nil
		for _, ns := range namespaces {
			items, err := (liveAPI{d.client}).List(d.ctx, KindServer, ns)
			if err != nil {
				left = append(left, ns+": "+err.Error())
				continue
			}
			for _, s := range items {
				left = append(left, ns+"/"+s.GetName())
			}
		}
		if len(left) == 0 {
			return nil
		}
	}
	return left
}

func (d *driver) report(seed uint64, duration time.Duration, left []string) {
	var kinds []string
	for k := range d.ops {
		kinds = append(kinds, k)
	}
	for k := range d.failed {
		if _, ok := d.ops[k]; !ok {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "SOAK seed %d, duration %s, %d operations, %d manager runs\n", seed, duration, d.total(), d.manager.Runs)
	for _, k := range kinds {
		fmt.Fprintf(&b, "SOAK   %-40s %6d", k, d.ops[k])
		if d.failed[k] > 0 {
			fmt.Fprintf(&b, "   (%d refused by the API; the first: %s)", d.failed[k], d.firstErr[k])
		}
		b.WriteString("\n")
	}
	o := d.observer
	o.mu.Lock()
	for inv := InvToolInUse; inv <= InvStuckTerminate; inv++ {
		fmt.Fprintf(&b, "SOAK   invariant %d (%s): %d checks judged, %d unjudged\n", inv, InvariantNames[inv], o.Judged[inv], o.Unjudged[inv])
	}
	o.mu.Unlock()
	violations := o.Violations()
	fmt.Fprintf(&b, "SOAK violations: %d\n", len(violations))
	for _, v := range violations {
		fmt.Fprintf(&b, "SOAK   %s\n", v)
	}
	fmt.Print(b.String())
	if len(violations) > 0 || len(left) > 0 {
		d.t.Errorf("soak failed (SOAK_SEED=%d): %d violations; servers left after the drain: %v\nend of the manager log (%s):\n%s",
			seed, len(violations), left, d.manager.Log, tail(d.manager.Log, 60))
	}
}
