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
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
)

// Cache field indexes: reverse lookups never list everything and filter.
const (
	// toolServerIndex indexes MCPTools by spec.serverRef.name.
	toolServerIndex = "spec.serverRef.name"
	// serverSecretIndex indexes MCPServers by the names of the Secrets their spec references.
	serverSecretIndex = "spec.secretRefs"
)

// SetupIndexes registers the field indexes the controllers use.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &mcpv1alpha1.MCPTool{}, toolServerIndex, func(o client.Object) []string {
		return []string{o.(*mcpv1alpha1.MCPTool).Spec.ServerRef.Name}
	}); err != nil {
		return fmt.Errorf("cannot index MCPTools by server: %w", err)
	}
	if err := indexer.IndexField(ctx, &mcpv1alpha1.MCPServer{}, serverSecretIndex, func(o client.Object) []string {
		return secretNames(o.(*mcpv1alpha1.MCPServer))
	}); err != nil {
		return fmt.Errorf("cannot index MCPServers by Secret: %w", err)
	}
	return nil
}

// secretNames lists the Secrets a server's spec references.
func secretNames(server *mcpv1alpha1.MCPServer) []string {
	var names []string
	if a := server.Spec.Auth; a != nil && a.Bearer != nil {
		names = append(names, a.Bearer.SecretRef.Name)
	}
	if t := server.Spec.TLS; t != nil && t.CASecretRef != nil {
		names = append(names, t.CASecretRef.Name)
	}
	return names
}
