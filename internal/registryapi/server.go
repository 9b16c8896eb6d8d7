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
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Server serves the API on its own listener for the life of one manager. It is a
// manager.Runnable that does not need leader election: every replica serves, a standby too, from
// its own cache, which the manager has synced before it starts the server.
type Server struct {
	// Addr is the listen address (--registry-bind-address).
	Addr    string
	Handler http.Handler
	Log     logr.Logger
	// Certs, when set (--registry-cert-path), make the server serve HTTPS with the watched
	// certificate, reloaded when its files change.
	Certs *certwatcher.CertWatcher
	// HTTP2 offers HTTP/2 over TLS (--enable-http2); off, HTTP/1.1 only, as the metrics server.
	HTTP2 bool
}

// NeedLeaderElection is false: the registry is read from the cache, which every replica keeps.
func (s *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx ends. The manager that ran before this one (after a lost lease) may
// still hold the port for a moment, so binding is retried for up to 30 seconds.
func (s *Server) Start(ctx context.Context) error {
	listener, err := listen(ctx, s.Addr, 30*time.Second)
	if err != nil {
		return fmt.Errorf("cannot serve the MCP Registry API on --registry-bind-address %s: %w", s.Addr, err)
	}
	server := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	scheme := "http"
	if s.Certs != nil {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			if err := s.Certs.Start(ctx); err != nil {
				s.Log.Error(err, "Registry certificate watcher stopped")
			}
		}()
		config := &tls.Config{GetCertificate: s.Certs.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
		if s.HTTP2 {
			config.NextProtos = []string{"h2", "http/1.1"}
		}
		server.TLSConfig = config
		listener, scheme = tls.NewListener(listener, config), "https"
	}
	s.Log.Info("Serving the MCP Registry API", "url", scheme+"://"+listener.Addr().String()+serversPath)
	done := make(chan error, 1)
	go func() { done <- server.Serve(listener) }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
		return nil
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

func listen(ctx context.Context, addr string, patience time.Duration) (net.Listener, error) {
	deadline := time.Now().Add(patience)
	for {
		l, err := net.Listen("tcp", addr)
		inUse := err != nil && (errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use"))
		if !inUse || time.Now().After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
