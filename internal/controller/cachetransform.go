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
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
)

// lastAppliedAnnotation is where `kubectl apply` (client-side) keeps a copy of the whole object.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// TrimForCache is the manager's cache transform (cache.Options.DefaultTransform): before an
// object is stored in an informer it drops what no controller reads and what can be the larger
// part of it: the field sets of managedFields (each entry's manager, operation, subresource and
// time are kept: the registry API's updatedAt reads them) and kubectl's last-applied annotation.
// Writes are unaffected: the operator patches what it changed (merge patches computed from two
// trimmed copies leave both alone) and updates only MCPTools, which it owns.
func TrimForCache(obj any) (any, error) {
	if _, isTombstone := obj.(toolscache.DeletedFinalStateUnknown); isTombstone {
		return obj, nil
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil // not an object: stored as it is
	}
	if fields := accessor.GetManagedFields(); len(fields) > 0 {
		for i := range fields {
			fields[i].FieldsV1 = nil
		}
		accessor.SetManagedFields(fields)
	}
	if annotations := accessor.GetAnnotations(); annotations[lastAppliedAnnotation] != "" {
		delete(annotations, lastAppliedAnnotation)
		accessor.SetAnnotations(annotations)
	}
	return obj, nil
}
