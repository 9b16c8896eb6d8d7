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

package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/toolregistry/mcp-registry-operator/internal/registryapi"
)

// defaultRegistryNamePrefix is --registry-name-prefix's default: the reverse of the cluster DNS
// domain, for a cluster that has not named its organisation.
const defaultRegistryNamePrefix = "local.cluster"

// maxRegistryNamePrefix keeps every default name within the official 200 characters:
// <prefix>.<namespace, at most 63>/<name, at most 63>.
const maxRegistryNamePrefix = 200 - 1 - 63 - 1 - 63

// registryNamePrefix is the part of the official name pattern before the slash.
var registryNamePrefix = regexp.MustCompile(`^[a-zA-Z0-9.-]+$`)

// validateRegistry checks the --registry-* flags.
func validateRegistry(opts options) error {
	if opts.registryAuth != registryapi.AuthNone && opts.registryAuth != registryapi.AuthKubernetes {
		return fmt.Errorf("invalid --registry-auth %q: must be %s or %s", opts.registryAuth, registryapi.AuthNone, registryapi.AuthKubernetes)
	}
	p := opts.registryNamePrefix
	if len(p) > maxRegistryNamePrefix || !registryNamePrefix.MatchString(p) {
		return fmt.Errorf("invalid --registry-name-prefix %q: must be 1 to %d letters, digits, '.' and '-' (reverse DNS, e.g. com.example)",
			p, maxRegistryNamePrefix)
	}
	return nil
}

// addRegistryAPI adds the MCP Registry API server to mgr, unless --registry-bind-address is 0.
func addRegistryAPI(mgr ctrl.Manager, opts options, shared sharedParts) error {
	if opts.registryAddr == "0" || opts.registryAddr == "" {
		return nil
	}
	log := ctrl.Log.WithName("registryapi")
	var auth func(http.Handler) http.Handler
	if opts.registryAuth == registryapi.AuthKubernetes {
		var err error
		if auth, err = registryapi.KubernetesAuth(shared.restConfig, mgr.GetHTTPClient(), log); err != nil {
			return err
		}
	}
	handler := registryapi.New(registryapi.Options{
		Reader: mgr.GetCache(), Informers: mgr.GetCache(), NamePrefix: opts.registryNamePrefix, Auth: auth,
		Metrics: shared.registryMetrics, Log: log,
	})
	server := &registryapi.Server{Addr: opts.registryAddr, Handler: handler, Log: log}
	if opts.registryCertPath != "" {
		// Loaded now, so that a bad certificate fails the start; reloaded when it is renewed.
		certs, err := certwatcher.New(
			filepath.Join(opts.registryCertPath, opts.registryCertName),
			filepath.Join(opts.registryCertPath, opts.registryCertKey))
		if err != nil {
			return fmt.Errorf("cannot load the registry certificate from --registry-cert-path %s: %w", opts.registryCertPath, err)
		}
		server.Certs = certs
		server.HTTP2 = opts.enableHTTP2
	}
	if err := mgr.Add(server); err != nil {
		return fmt.Errorf("cannot add the MCP Registry API server: %w", err)
	}
	return nil
}
