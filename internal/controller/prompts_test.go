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
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/test/mcpserver"
)

var _ = Describe("MCPServer prompts", func() {
	var namespace string

	BeforeEach(func() {
		namespace = newNamespace()
	})

	It("reports every page of prompts in status, filtered and overridden, and writes nothing while they stay the same", func() {
		upstream := startMCP(mcpserver.Config{
			Tools: mcpserver.GeneratedTools(2), Prompts: 5, PageSize: 2,
			PromptList: []mcpserver.Prompt{
				{Name: "review", Title: "Review code", Description: "Review a\nchange.", Arguments: []string{"language", "style"}},
				{Name: "summarize", Description: "Sum it up.", Arguments: []string{"text"}},
			},
		})
		createServer(namespace, "prompts", upstream.URL(), func(spec *mcpv1alpha1.MCPServerSpec) {
			spec.Prompts = &mcpv1alpha1.PromptsSpec{
				Exclude: []string{"prompt-00[3-9]"},
				Overrides: []mcpv1alpha1.PromptOverride{
					{Name: "review", Alias: ptr.To("code_review"), Description: ptr.To("Review one change.")},
					{Name: "summarize", Enabled: ptr.To(false)},
					{Name: "prompt-004", Alias: ptr.To("filtered")},
				},
			}
		})

		server := expectReady(namespace, "prompts")
		Expect(server.Status.Prompts).To(Equal([]mcpv1alpha1.Prompt{
			{Name: "prompt-000", Enabled: true},
			{Name: "prompt-001", Enabled: true},
			{Name: "prompt-002", Enabled: true},
			{Name: "review", Title: "Review code", Description: "Review one change.", Alias: "code_review", Enabled: true, Arguments: []string{"language", "style"}},
			{Name: "summarize", Description: "Sum it up.", Enabled: false, Arguments: []string{"text"}},
		}))
		Expect(server.Status.PromptCount).To(Equal(int32(5)), "a disabled prompt counts; an excluded one does not")
		Expect(server.Status.ToolCount).To(Equal(int32(2)))
		Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Message).To(Equal("Synced 2 tools; 1 notes (see Events)"))
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "prompts", "ToolsAdjusted") }).Should(ConsistOf(
			`override for prompt "prompt-004" has no effect: the server does not offer it, or spec.prompts filters it out`))

		By("resyncing an unchanged server without writing it")
		time.Sleep(time.Second) // let the first pass's follow-up reconciles settle
		version := getServer(Default, namespace, "prompts").ResourceVersion
		requests := upstream.Requests()
		Eventually(upstream.Requests, 15*time.Second, 200*time.Millisecond).Should(BeNumerically(">", requests+3),
			"a resync (initialize, tools/list, three pages of prompts/list)")
		time.Sleep(2 * time.Second) // the pass that made them ends
		Expect(getServer(Default, namespace, "prompts").ResourceVersion).To(Equal(version), "status written by an unchanged sync")

		By("changing the filters")
		updateServer(namespace, "prompts", func(s *mcpv1alpha1.MCPServer) {
			s.Spec.Prompts.Include = []string{"r*", "s*"}
			s.Spec.Prompts.Overrides = s.Spec.Prompts.Overrides[:2]
		})
		server = expectReady(namespace, "prompts")
		Expect(server.Status.Prompts).To(HaveLen(2))
		Expect(server.Status.Prompts[0].Name).To(Equal("review"))
		Expect(server.Status.PromptCount).To(Equal(int32(2)))
		Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Message).To(Equal("Synced 2 tools"))

		By("a server that stops offering prompts: none listed, no error")
		upstream.Update(func(c *mcpserver.Config) { c.Prompts, c.PromptList = 0, nil })
		updateServer(namespace, "prompts", func(s *mcpv1alpha1.MCPServer) { s.Spec.Description = "no prompts now" })
		Eventually(func(g Gomega) {
			server := getServer(g, namespace, "prompts")
			g.Expect(server.Status.ObservedGeneration).To(Equal(server.Generation))
			g.Expect(server.Status.Prompts).To(BeEmpty())
			g.Expect(server.Status.PromptCount).To(BeZero())
			g.Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
	})

	It("bounds status.prompts at 256 and says how many there are", func() {
		upstream := startMCP(mcpserver.Config{Tools: mcpserver.GeneratedTools(1), Prompts: 300, PageSize: 100,
			PromptList: []mcpserver.Prompt{{Name: "long", Description: strings.Repeat("é", 2000)}}})
		createServer(namespace, "many", upstream.URL(), nil)

		server := expectReady(namespace, "many")
		Expect(server.Status.PromptCount).To(Equal(int32(301)))
		Expect(server.Status.Prompts).To(HaveLen(256))
		Expect(server.Status.Prompts[0].Name).To(Equal("long"))
		Expect(server.Status.Prompts[0].Description).To(Equal(strings.Repeat("é", 510) + "..."))
		Expect(server.Status.Prompts[255].Name).To(Equal("prompt-254"))
		Expect(condition(server.Status.Conditions, mcpv1alpha1.ConditionReady).Message).To(Equal("Synced 1 tools; 1 notes (see Events)"))
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "many", "ToolsAdjusted") }).Should(ConsistOf(
			"status.prompts lists the first 256 of 301 prompts"))
	})

	It("skips prompts with invalid names and says so", func() {
		upstream := startMCP(mcpserver.Config{PromptList: []mcpserver.Prompt{{Name: "fine"}, {Name: "not fine"}}})
		createServer(namespace, "invalid", upstream.URL(), nil)
		server := expectReady(namespace, "invalid")
		Expect(server.Status.Prompts).To(Equal([]mcpv1alpha1.Prompt{{Name: "fine", Enabled: true}}))
		Expect(server.Status.PromptCount).To(Equal(int32(1)))
		Eventually(func(g Gomega) []string { return eventsFor(g, namespace, "invalid", "ToolsAdjusted") }).Should(ConsistOf(
			`prompt "not fine" skipped: a prompt name is 1 to 128 letters, digits, '_', '-' and '.'`))
	})

	It("stalls with InvalidSpec on a spec.prompts pattern that is not a glob", func() {
		upstream := startMCP(mcpserver.Config{Prompts: 1})
		createServer(namespace, "badglob", upstream.URL(), func(spec *mcpv1alpha1.MCPServerSpec) {
			spec.Prompts = &mcpv1alpha1.PromptsSpec{Exclude: []string{"[a-"}}
		})
		Eventually(func(g Gomega) {
			stalled := condition(getServer(g, namespace, "badglob").Status.Conditions, mcpv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Reason).To(Equal(mcpv1alpha1.ReasonInvalidSpec))
			g.Expect(stalled.Message).To(Equal(`spec.prompts.exclude: "[a-" is not a valid glob pattern: syntax error in pattern`))
		}).Should(Succeed())
		Expect(upstream.Requests()).To(BeZero(), "an invalid spec is not synced")
	})

	DescribeTable("admission rejects an invalid spec.prompts",
		func(prompts, want string) {
			obj := &unstructured.Unstructured{}
			Expect(yaml.Unmarshal([]byte(fmt.Sprintf(`apiVersion: mcp.toolregistry.io/v1alpha1
kind: MCPServer
metadata: {name: s, namespace: %s}
spec:
  url: https://mcp.example.com/mcp
  prompts: %s
`, namespace, prompts)), &obj.Object)).To(Succeed())
			err := k8sClient.Create(ctx, obj)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("an override that changes nothing", "{overrides: [{name: review}]}",
			"an override must set at least one of alias, description or enabled"),
		Entry("one alias twice", "{overrides: [{name: a, alias: x}, {name: b, alias: x}]}",
			"each alias may be used by only one override"),
		Entry("an alias with a space", "{overrides: [{name: a, alias: 'x y'}]}",
			"alias may contain only letters, digits, '_', '-' and '.'"),
		Entry("an override name too long", fmt.Sprintf("{overrides: [{name: %s, enabled: false}]}", strings.Repeat("n", 129)),
			"Too long: may not be more than 128"),
		Entry("an empty pattern", "{include: ['']}", "spec.prompts.include[0]"),
		Entry("too many patterns", fmt.Sprintf("{exclude: [%s]}", patterns(65)),
			"Too many: 65: must have at most 64 items"),
		Entry("an override description too long", fmt.Sprintf("{overrides: [{name: a, description: %s}]}", strings.Repeat("d", 4097)),
			"Too long: may not be more than 4096"),
	)
})

// patterns is a YAML flow list body of n distinct glob patterns.
func patterns(n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("p%d-*", i)
	}
	return strings.Join(p, ", ")
}
