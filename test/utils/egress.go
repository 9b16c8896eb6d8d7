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

package utils

import (
	"github.com/toolregistry/mcp-registry-operator/internal/egress"
)

// TestAllowCIDRs is what test suites exempt from the default endpoint policy: 127.0.0.1 only, where
// their MCP servers listen. Every other loopback address (127.0.0.2, ...) stays denied, standing
// for a host the policy refuses.
var TestAllowCIDRs = []string{"127.0.0.1/32"}

// LoopbackEgress is the manager's egress with the default deny list and TestAllowCIDRs.
func LoopbackEgress() *egress.Egress {
	policy, err := egress.NewPolicy(egress.DefaultDenyCIDRs, TestAllowCIDRs)
	if err != nil {
		panic(err) // constant input
	}
	return egress.New(policy, 0, nil)
}
