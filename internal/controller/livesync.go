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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcpv1alpha1 "github.com/toolregistry/mcp-registry-operator/api/v1alpha1"
	"github.com/toolregistry/mcp-registry-operator/internal/livesync"
	"github.com/toolregistry/mcp-registry-operator/internal/mcp"
)

// Messages of status.liveSyncMessage the controller decides itself (the others come from
// internal/livesync).
const (
	liveSyncSuspendedMessage = "Suspended: the server is not contacted"
	liveSyncOptedOutMessage  = "spec.liveSync is false: changes are seen at syncInterval"
)

// liveSyncWanted reports whether the server asks for a notification stream.
func liveSyncWanted(server *mcpv1alpha1.MCPServer) bool {
	return ptr.Deref(server.Spec.LiveSync, true) && !ptr.Deref(server.Spec.Suspend, false)
}

// ensureLiveSync hands the stream manager the endpoint, with the credentials, of a successful
// sync.
func (r *MCPServerReconciler) ensureLiveSync(server *mcpv1alpha1.MCPServer, ep mcp.Endpoint) {
	if r.LiveSync != nil && liveSyncWanted(server) {
		r.LiveSync.Ensure(client.ObjectKeyFromObject(server), server.Generation, ep)
	}
}

// updateLiveSync stops the stream of a server that no longer wants one, or was started for a
// spec no sync has succeeded with since, and sets status.liveSync. It runs at the end of every
// pass; the stream manager enqueues the server whenever its status changes, so a connected, idle
// stream causes no pass and no write.
func (r *MCPServerReconciler) updateLiveSync(server *mcpv1alpha1.MCPServer) {
	if r.LiveSync == nil {
		return
	}
	key := client.ObjectKeyFromObject(server)
	var st livesync.Status
	switch {
	case !r.LiveSync.Enabled():
		st, _ = r.LiveSync.Status(key)
	case ptr.Deref(server.Spec.Suspend, false):
		r.LiveSync.Stop(key)
		st = livesync.Status{State: mcpv1alpha1.LiveSyncDisabled, Message: liveSyncSuspendedMessage}
	case !ptr.Deref(server.Spec.LiveSync, true):
		r.LiveSync.Stop(key)
		st = livesync.Status{State: mcpv1alpha1.LiveSyncDisabled, Message: liveSyncOptedOutMessage}
	default:
		r.LiveSync.Retain(key, server.Generation)
		var known bool
		if st, known = r.LiveSync.Status(key); !known {
			return // connecting: nothing new to say yet
		}
	}
	server.Status.LiveSync, server.Status.LiveSyncMessage = st.State, st.Message
}

// stopLiveSync closes the stream of a server being deleted or gone.
func (r *MCPServerReconciler) stopLiveSync(key types.NamespacedName) {
	if r.LiveSync != nil {
		r.LiveSync.Stop(key)
	}
}

// liveChanges is the count of syncs the server's stream asked for (part of the sync inputs).
func (r *MCPServerReconciler) liveChanges(server *mcpv1alpha1.MCPServer) uint64 {
	if r.LiveSync == nil {
		return 0
	}
	return r.LiveSync.Changes(client.ObjectKeyFromObject(server))
}
