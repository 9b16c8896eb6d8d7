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

package controller

import (
	"context"
	"sort"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
	"github.com/toolregistry/mcp-registry-operator/test/utils"
)

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ctrl-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// startMCP starts a test MCP server on loopback for the current spec.
func startMCP(cfg mcpserver.Config) *mcpserver.Server {
	s, err := mcpserver.Start("127.0.0.1:0", cfg)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(s.Close)
	return s
}

// createServer creates an MCPServer with the given URL, after mutate.
func createServer(namespace, name, url string, mutate func(*mcpv1alpha1.MCPServerSpec)) *mcpv1alpha1.MCPServer {
	server := &mcpv1alpha1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: mcpv1alpha1.MCPServerSpec{
			URL:          url,
			SyncInterval: &metav1.Duration{Duration: 10 * time.Second},
			Timeout:      &metav1.Duration{Duration: 5 * time.Second},
		},
	}
	if mutate != nil {
		mutate(&server.Spec)
	}
	Expect(k8sClient.Create(ctx, server)).To(Succeed())
	return server
}

func getServer(g Gomega, namespace, name string) *mcpv1alpha1.MCPServer {
	server := &mcpv1alpha1.MCPServer{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, server)).To(Succeed())
	return server
}

// updateServer changes a server's spec, retrying on conflicts, and returns the server as the
// update left it.
func updateServer(namespace, name string, change func(*mcpv1alpha1.MCPServer)) *mcpv1alpha1.MCPServer {
	var server *mcpv1alpha1.MCPServer
	Eventually(func(g Gomega) {
		server = getServer(g, namespace, name)
		change(server)
		g.Expect(k8sClient.Update(ctx, server)).To(Succeed())
	}).Should(Succeed())
	return server
}

// toolsOf lists a server's MCPTools by label, sorted by tool name.
func toolsOf(g Gomega, namespace, server string) []mcpv1alpha1.MCPTool {
	list := &mcpv1alpha1.MCPToolList{}
	g.Expect(k8sClient.List(ctx, list, client.InNamespace(namespace),
		client.MatchingLabels{mcpv1alpha1.ServerLabel: server})).To(Succeed())
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Spec.ToolName < list.Items[j].Spec.ToolName })
	return list.Items
}

func toolNamesOf(tools []mcpv1alpha1.MCPTool) []string {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Spec.ToolName
	}
	return names
}

func condition(conds []metav1.Condition, t string) *metav1.Condition {
	return meta.FindStatusCondition(conds, t)
}

// expectReady asserts the server is Ready for its current generation and returns it.
func expectReady(namespace, name string) *mcpv1alpha1.MCPServer {
	var server *mcpv1alpha1.MCPServer
	Eventually(func(g Gomega) {
		server = getServer(g, namespace, name)
		ready := condition(server.Status.Conditions, mcpv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "Ready: %s: %s", ready.Reason, ready.Message)
		g.Expect(server.Status.ObservedGeneration).To(Equal(server.Generation))
	}).Should(Succeed())
	return server
}

// kstatusOf computes the kstatus of an object, as Flux, kpt and Argo CD's kstatus users do.
func kstatusOf(obj client.Object) status.Status {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// eventsFor returns the notes of the events with reason about the named object, oldest first.
func eventsFor(g Gomega, namespace, name, reason string) []string {
	notes, err := eventNotes(k8sClient, namespace, name, reason)
	g.Expect(err).NotTo(HaveOccurred())
	return notes
}

// eventNotes lists the notes of the Events about the object called name with reason, oldest
// first.
func eventNotes(c client.Client, namespace, name, reason string) ([]string, error) {
	list := &eventsv1.EventList{}
	if err := c.List(context.Background(), list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].CreationTimestamp.Before(&list.Items[j].CreationTimestamp) })
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes, nil
}

// metricValue sums a metric family from the operator's registry: gauge and counter values, or the
// sample count of a histogram.
func metricValue(g Gomega, name string) float64 {
	total, _, err := utils.MetricSum(testRegistry, name, nil)
	g.Expect(err).NotTo(HaveOccurred())
	return total
}
